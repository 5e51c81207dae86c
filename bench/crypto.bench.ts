// npm run bench: packets/s per suite for protect and unprotect, RTP and RTCP, 160- and
// 1200-byte payloads, for srtpgate's WASM core (SIMD and scalar) and — measured in the same
// run — node:crypto (new cipher + HMAC object per packet), @noble/ciphers + @noble/hashes,
// and native libsrtp2 through the C harness. Also the cost of rejecting a forged packet.
// Medians (p50 of batch latency). Writes bench/results/crypto-<timestamp>.json.
//   BENCH_TIME=ms per task (default 400); BENCH_QUICK=1 for 160-byte AES_CM_128_HMAC_SHA1_80 only.
import { Bench } from 'tinybench';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ctr } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { CryptoCore, type CoreBuild } from '../src/crypto/CryptoCore.ts';
import { SUITES, type CryptoSuite } from '../src/crypto/suites.ts';

const TIME = Number(process.env.BENCH_TIME ?? 400);
const QUICK = process.env.BENCH_QUICK === '1';
const BATCH = 256;
const PAYLOADS = QUICK ? [160] : [160, 1200];
const suites = SUITES.filter((s) => (QUICK ? s.name === 'AES_CM_128_HMAC_SHA1_80' : true));

interface Row { impl: string; suite: string; payload: number; op: string; pps: number }
const rows: Row[] = [];

function rtpPacket(seq: number, payload: number): Uint8Array {
  const p = new Uint8Array(12 + payload);
  p[0] = 0x80; p[1] = 0; p[2] = seq >> 8; p[3] = seq & 0xff;
  p.set([0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe], 4);
  p.fill(0xab, 12);
  return p;
}
function rtcpPacket(payload: number): Uint8Array {
  const p = new Uint8Array(8 + payload);
  p[0] = 0x80; p[1] = 201; p[2] = ((p.length / 4 - 1) >> 8) & 0xff; p[3] = (p.length / 4 - 1) & 0xff;
  p.set([0xca, 0xfe, 0xba, 0xbe], 4);
  return p;
}


function ppsOf(bench: Bench, name: string): number {
  const t = bench.getTask(name);
  const r = t?.result;
  if (!r || !('latency' in r)) return 0;
  return (BATCH * 1000) / r.latency.p50;
}

/** srtpgate: the relay's path — copy the packet into WASM memory, one call, in place. */
function addSrtpgate(bench: Bench, core: CryptoCore, suite: CryptoSuite, payload: number, label: string): string[] {
  const key = randomBytes(suite.keyLen), salt = randomBytes(suite.saltLen);
  const insecure = { insecureAllowNullCipher: !suite.encrypts };
  const ctx = (direction: 'inbound' | 'outbound') => core.createContext({ suite, direction, masterKey: key, masterSalt: salt, ...insecure });
  const names: string[] = [];
  const io = core.io;
  // RTP protect: a fresh seq each packet (the context refuses to reuse an index).
  {
    let out = ctx('outbound'); let seq = 0; const pkt = rtpPacket(0, payload);
    const n = `${label}|${suite.name}|${payload}|rtpProtect`;
    bench.add(n, () => {
      for (let i = 0; i < BATCH; i++) {
        io.set(pkt, 0); io[2] = (seq >> 8) & 0xff; io[3] = seq & 0xff;
        if (core.srtpProtect(out, pkt.length) < 0) throw new Error('protect failed');
        if (++seq === 65536) { seq = 0; core.destroyContext(out); out = ctx('outbound'); }
      }
    });
    names.push(n);
  }
  // RTP unprotect: a ring of pre-protected packets; the receiver is re-created each lap so
  // every packet is fresh to it (the re-creation is amortised over 8192 packets).
  {
    const RING = 8192; const tx = ctx('outbound');
    const ring: Uint8Array[] = [];
    for (let s = 0; s < RING; s++) {
      io.set(rtpPacket(s, payload), 0);
      const m = core.srtpProtect(tx, 12 + payload);
      ring.push(io.slice(0, m));
    }
    core.destroyContext(tx);
    let rx = ctx('inbound'); let k = 0;
    const n = `${label}|${suite.name}|${payload}|rtpUnprotect`;
    bench.add(n, () => {
      for (let i = 0; i < BATCH; i++) {
        const p = ring[k]!; io.set(p, 0);
        if (core.srtpUnprotect(rx, p.length) < 0) throw new Error('unprotect failed');
        if (++k === RING) { k = 0; core.destroyContext(rx); rx = ctx('inbound'); }
      }
    });
    names.push(n);
    // Rejection cost: the same packet with a flipped tag byte (what a forged flood costs).
    const forged = ring[0]!.slice(); forged[forged.length - 1]! ^= 1;
    const rj = ctx('inbound');
    const nr = `${label}|${suite.name}|${payload}|rtpRejectForged`;
    bench.add(nr, () => {
      for (let i = 0; i < BATCH; i++) {
        io.set(forged, 0);
        if (core.srtpUnprotect(rj, forged.length) >= 0) throw new Error('forged accepted');
      }
    });
    names.push(nr);
  }
  {
    let out = ctx('outbound'); const pkt = rtcpPacket(payload); let count = 0;
    const n = `${label}|${suite.name}|${payload}|rtcpProtect`;
    bench.add(n, () => {
      for (let i = 0; i < BATCH; i++) {
        io.set(pkt, 0);
        if (core.srtcpProtect(out, pkt.length) < 0) throw new Error('srtcp protect failed');
        if (++count === 1 << 20) { count = 0; core.destroyContext(out); out = ctx('outbound'); }
      }
    });
    names.push(n);
    const RING = 8192; const tx = ctx('outbound'); const ring: Uint8Array[] = [];
    for (let s = 0; s < RING; s++) { io.set(pkt, 0); ring.push(io.slice(0, core.srtcpProtect(tx, pkt.length))); }
    core.destroyContext(tx);
    let rx = ctx('inbound'); let k = 0;
    const nu = `${label}|${suite.name}|${payload}|rtcpUnprotect`;
    bench.add(nu, () => {
      for (let i = 0; i < BATCH; i++) {
        const p = ring[k]!; io.set(p, 0);
        if (core.srtcpUnprotect(rx, p.length) < 0) throw new Error('srtcp unprotect failed');
        if (++k === RING) { k = 0; core.destroyContext(rx); rx = ctx('inbound'); }
      }
    });
    names.push(nu);
  }
  return names;
}

/** node:crypto as a Node relay would use it without a WASM core: new objects per packet. */
function addNodeCrypto(bench: Bench, payload: number): string {
  const encKey = randomBytes(16), authKey = randomBytes(20), iv = randomBytes(16);
  const pkt = rtpPacket(1, payload); const roc = Buffer.alloc(4);
  const n = `node:crypto|AES_CM_128_HMAC_SHA1_80|${payload}|rtpProtect`;
  bench.add(n, () => {
    for (let i = 0; i < BATCH; i++) {
      const c = createCipheriv('aes-128-ctr', encKey, iv);
      const body = c.update(pkt.subarray(12));
      const out = Buffer.concat([pkt.subarray(0, 12), body]);
      const tag = createHmac('sha1', authKey).update(out).update(roc).digest().subarray(0, 10);
      if (tag.length !== 10) throw new Error('x');
    }
  });
  return n;
}

function addNoble(bench: Bench, payload: number): string {
  const encKey = randomBytes(16), authKey = randomBytes(20), iv = randomBytes(16);
  const pkt = rtpPacket(1, payload); const out = new Uint8Array(12 + payload + 4);
  const n = `noble|AES_CM_128_HMAC_SHA1_80|${payload}|rtpProtect`;
  bench.add(n, () => {
    for (let i = 0; i < BATCH; i++) {
      const body = ctr(encKey, iv).encrypt(pkt.subarray(12));
      out.set(pkt.subarray(0, 12), 0); out.set(body, 12);
      const tag = hmac(sha1, authKey, out).subarray(0, 10);
      if (tag.length !== 10) throw new Error('x');
    }
  });
  return n;
}

async function libsrtpRows(): Promise<void> {
  let run: typeof import('../test/interop/libsrtp.ts').runLibsrtpBench;
  try {
    ({ runLibsrtpBench: run } = await import('../test/interop/libsrtp.ts'));
  } catch (e) {
    console.log(`libsrtp2: skipped (${(e as Error).message})`);
    return;
  }
  for (const s of suites) {
    for (const payload of PAYLOADS) {
      try {
        const r = await run(s.name as Parameters<typeof run>[0], payload, Math.max(200, TIME));
        rows.push({ impl: 'libsrtp2 (Debian, C)', suite: s.name, payload, op: 'rtpProtect', pps: r.rtpProtect });
        rows.push({ impl: 'libsrtp2 (Debian, C)', suite: s.name, payload, op: 'rtpUnprotect', pps: r.rtpUnprotect });
        rows.push({ impl: 'libsrtp2 (Debian, C)', suite: s.name, payload, op: 'rtcpProtect', pps: r.rtcpProtect });
        rows.push({ impl: 'libsrtp2 (Debian, C)', suite: s.name, payload, op: 'rtcpUnprotect', pps: r.rtcpUnprotect });
      } catch (e) {
        console.log(`libsrtp2 ${s.name} ${payload}: skipped (${(e as Error).message.split('\n')[0]})`);
      }
    }
  }
}

async function main(): Promise<void> {
  const builds: CoreBuild[] = ['simd', 'scalar'];
  for (const build of builds) {
    const core = CryptoCore.loadSync({ build, maxContexts: 1024 });
    for (const suite of suites) {
      for (const payload of PAYLOADS) {
        const bench = new Bench({ time: TIME, warmup: true, warmupTime: 100 });
        const names = addSrtpgate(bench, core, suite, payload, `srtpgate wasm ${build}`);
        await bench.run();
        for (const n of names) {
          const [impl, s, p, op] = n.split('|') as [string, string, string, string];
          rows.push({ impl, suite: s, payload: Number(p), op, pps: ppsOf(bench, n) });
        }
      }
    }
  }
  for (const payload of PAYLOADS) {
    const bench = new Bench({ time: TIME, warmup: true, warmupTime: 100 });
    const names = [addNodeCrypto(bench, payload), addNoble(bench, payload)];
    await bench.run();
    for (const n of names) {
      const [impl, s, p, op] = n.split('|') as [string, string, string, string];
      rows.push({ impl, suite: s, payload: Number(p), op, pps: ppsOf(bench, n) });
    }
  }
  await libsrtpRows();

  const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
  console.log(`\nsrtpgate crypto benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'}, ${os.cpus().length} cores; medians, packets/s, one thread`);
  const keys = [...new Set(rows.map((r) => `${r.suite}|${r.payload}`))];
  for (const k of keys) {
    const [suite, payload] = k.split('|');
    console.log(`\n${suite}, ${payload}-byte payload`);
    const ops = [...new Set(rows.filter((r) => `${r.suite}|${r.payload}` === k).map((r) => r.op))];
    const impls = [...new Set(rows.filter((r) => `${r.suite}|${r.payload}` === k).map((r) => r.impl))];
    console.log(`  ${'implementation'.padEnd(24)}${ops.map((o) => o.padStart(16)).join('')}`);
    for (const impl of impls) {
      const cells = ops.map((o) => {
        const r = rows.find((x) => x.impl === impl && `${x.suite}|${x.payload}` === k && x.op === o);
        return (r ? fmt(r.pps) : '-').padStart(16);
      });
      console.log(`  ${impl.padEnd(24)}${cells.join('')}`);
    }
  }
  const ref = (impl: string) => rows.find((r) => r.impl === impl && r.suite === 'AES_CM_128_HMAC_SHA1_80' && r.payload === 160 && r.op === 'rtpProtect')?.pps;
  const ours = ref('srtpgate wasm simd');
  const lib = ref('libsrtp2 (Debian, C)');
  const node = ref('node:crypto');
  if (ours) {
    console.log('\nAES_CM_128_HMAC_SHA1_80 protect, 160 B:');
    if (lib) console.log(`  srtpgate / libsrtp2   = ${(ours / lib).toFixed(2)}x  (target >= 1.5x)`);
    if (node) console.log(`  srtpgate / node:crypto = ${(ours / node).toFixed(2)}x  (target >= 4x)`);
    console.log(`  srtpgate absolute      = ${fmt(ours)} pkt/s (goal >= 1.2M)`);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/crypto-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, rows }, null, 2));
  console.log(`\nwrote ${file.pathname}`);
}

await main();
