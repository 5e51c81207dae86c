// The batched native UDP backend (native/udpbatch.c through BatchedIo / BatchedMediaPort):
// loopback v4 and v6, bit-exact payloads, source addresses as node reports them, a 10,000
// datagram burst with every ring slot accounted for, backlog and oversize drops, close
// semantics, errors through `done`, and the fallback when the addon is unavailable.
// Without the addon these tests skip (build: node scripts/build-native.mjs); under CI=true
// they fail instead.
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { CryptoCore } from '../../../src/crypto/CryptoCore.ts';
import { DataPath } from '../../../src/media/DataPath.ts';
import { BatchedIo } from '../../../src/net/native/BatchedIo.ts';
import type { BatchedMediaPort, BatchedPortHandler, PortDropReason } from '../../../src/net/native/BatchedMediaPort.ts';
import { NativeIoError } from '../../../src/net/native/NativeIoError.ts';
import { RelayError } from '../../../src/errors.ts';
import { UdpPeer } from '../../helpers/udp.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const unavailable = BatchedIo.available() ? null
  : `batched I/O unavailable (${BatchedIo.unavailableReason() ?? ''}); build it with: ${BatchedIo.buildCommand}`;
// Locally a missing addon skips; in CI it is a failure (the suite runs and BatchedIo.create throws).
const skip = unavailable !== null && process.env.CI !== 'true' ? unavailable : false;

interface Received { data: Buffer; address: string; port: number }

/** A handler that copies each datagram out and gives its slot back (unless told to hold it). */
function collector(dp: DataPath, hold = false) {
  const got: Received[] = [];
  const held: number[] = [];
  const drops: Record<PortDropReason, number> = { backlog: 0, tooLarge: 0 };
  const handler: BatchedPortHandler = {
    packet(slot, len, address, port) {
      got.push({ data: Buffer.from(dp.core.slots[slot]!.subarray(0, len)), address, port });
      if (hold) held.push(slot); else dp.ring.release(slot);
    },
    drop(reason) { drops[reason]++; },
  };
  return { got, held, drops, handler };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic payload i of length len: the index, then a pattern of it. */
function payload(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  if (len >= 4) b.writeUInt32BE(i, 0);
  for (let k = 4; k < len; k++) b[k] = (i * 31 + k * 7) & 255;
  return b;
}

function sendDone(p: BatchedMediaPort, buf: Buffer, len: number, port: number, address: string): Promise<Error | null> {
  return new Promise((resolve) => p.send(buf, len, port, address, resolve));
}

async function canBindV6(): Promise<boolean> {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  try {
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, '::1', () => resolve()); });
    return true;
  } catch { return false; } finally { s.close(); }
}

describe('BatchedIo: native batched UDP', { skip }, () => {
  let core: CryptoCore;
  let dp: DataPath;
  let io: BatchedIo;
  before(() => { core = CryptoCore.loadSync({ maxContexts: 16 }); });
  beforeEach(() => { dp = new DataPath(core); io = BatchedIo.create(dp); });
  afterEach(() => {
    io.close();
    assert.equal(dp.ring.available, core.ringSlots, 'every ring slot is back after close');
  });

  it('IPv4: receives bit-exact datagrams straight into slots, with the source node would report', async () => {
    const c = collector(dp);
    const port = io.bind('IPv4', '127.0.0.1', 0, c.handler);
    const peer = await UdpPeer.open();
    try {
      assert.ok(port.port > 0);
      const lens = [0, 1, 12, 172, 1000, dp.maxPacket];
      for (const [i, len] of lens.entries()) await peer.send(payload(i, len), port.port);
      await until(() => c.got.length === lens.length);
      for (const [i, len] of lens.entries()) {
        assert.deepEqual(c.got[i]!.data, payload(i, len));
        assert.equal(c.got[i]!.address, '127.0.0.1');
        assert.equal(c.got[i]!.port, peer.port);
      }
    } finally { port.close(); await peer.close(); }
  });

  it('IPv4: sends from a ring slot (in place) and from any other Buffer (copied), bit-exact; done runs after the flush', async () => {
    const port = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    const peer = await UdpPeer.open();
    try {
      const slot = dp.ring.acquire();
      const a = payload(1, 172);
      a.copy(dp.core.slots[slot]!);
      let sync = true;
      const pa = new Promise<Error | null>((resolve) => port.send(dp.core.slots[slot]!, 172, peer.port, '127.0.0.1', (err) => {
        assert.equal(sync, false, 'done must not run inside send()');
        dp.ring.release(slot);
        resolve(err);
      }));
      sync = false;
      const b = payload(2, 1200);
      const pb = sendDone(port, b, b.length, peer.port, '127.0.0.1');
      assert.equal(await pa, null);
      assert.equal(await pb, null);
      const got = await peer.waitFor(2);
      assert.deepEqual(got[0], a);
      assert.deepEqual(got[1], b);
      assert.equal(peer.received[0]!.port, port.port);
      assert.equal(io.queuedSends, 0);
    } finally { port.close(); await peer.close(); }
  });

  it('IPv6 (::1): receive and send, bit-exact, addresses formatted as node formats them', async (t) => {
    if (!(await canBindV6())) return t.skip('no IPv6 loopback here');
    const c = collector(dp);
    const port = io.bind('IPv6', '::1', 0, c.handler);
    const peer = await UdpPeer.open('::1');
    try {
      for (let i = 0; i < 5; i++) await peer.send(payload(i, 100 + i), port.port, '::1');
      await until(() => c.got.length === 5);
      c.got.forEach((g, i) => {
        assert.deepEqual(g.data, payload(i, 100 + i));
        assert.equal(g.address, peer.address);
        assert.equal(g.port, peer.port);
      });
      assert.equal(await sendDone(port, payload(9, 300), 300, peer.port, '::1'), null);
      assert.equal(await sendDone(port, payload(10, 20), 20, peer.port, '0:0:0:0:0:0:0:1'), null);
      const got = await peer.waitFor(2);
      assert.deepEqual(got[0], payload(9, 300));
      assert.deepEqual(got[1], payload(10, 20));
      assert.equal(peer.received[0]!.address, '::1');
      assert.equal(peer.received[0]!.port, port.port);
    } finally { port.close(); await peer.close(); }
  });

  it('a burst of 10,000 datagrams is forwarded in batches, bit-exact and in order; every slot comes back', async () => {
    const N = 10_000, LEN = 172;
    const sink = await UdpPeer.open();
    sink.socket.setRecvBufferSize(4 << 20);
    let out: BatchedMediaPort | null = null;
    let bad = 0;
    const ingress = io.bind('IPv4', '127.0.0.1', 0, {
      packet: (slot, len) => {
        if (out === null || len !== LEN) { bad++; dp.ring.release(slot); return; }
        out.send(dp.core.slots[slot]!, len, sink.port, '127.0.0.1', dp.ring.onSent[slot]!);
      },
      drop: () => { bad++; },
    });
    out = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    ingress.setBufferSizes(4 << 20);
    out.setBufferSizes(4 << 20);
    const blaster = dgram.createSocket('udp4');
    try {
      // Chunks of 200 sent back to back (they queue in the socket, so the addon reads
      // batches), with a pause between chunks so no buffer on the path overflows.
      for (let i = 0; i < N; i += 200) {
        for (let k = i; k < i + 200; k++) blaster.send(payload(k, LEN), ingress.port, '127.0.0.1');
        await sleep(1);
      }
      await until(() => sink.received.length === N, 10_000);
      assert.equal(bad, 0);
      for (let k = 0; k < N; k++) assert.ok(sink.received[k]!.msg.equals(payload(k, LEN)), `datagram ${k}`);
      const st = io.stats;
      assert.ok(st.rxPackets >= N && st.txPackets >= N);
      assert.ok(st.rxSyscalls < st.rxPackets / 2, `recvmmsg batches: ${st.rxSyscalls} calls for ${st.rxPackets}`);
      assert.ok(st.wakeups < st.rxPackets / 2, `JS calls: ${st.wakeups} for ${st.rxPackets}`);
      await until(() => io.queuedSends === 0);
      assert.equal(dp.ring.available + io.stashedSlots, core.ringSlots, 'slots in use after the burst');
    } finally { ingress.close(); out.close(); blaster.close(); await sink.close(); }
  });

  it('no free slot: datagrams are still read, counted as backlog drops, and reception resumes', async () => {
    const c = collector(dp, true);
    const port = io.bind('IPv4', '127.0.0.1', 0, c.handler);
    const peer = await UdpPeer.open();
    const taken: number[] = [];
    try {
      for (let s = dp.ring.acquire(); s >= 0; s = dp.ring.acquire()) taken.push(s);
      const stash = io.stashedSlots;
      for (let i = 0; i < stash + 20; i++) await peer.send(payload(i, 50), port.port);
      await until(() => c.got.length + c.drops.backlog === stash + 20);
      assert.equal(c.got.length, stash);
      assert.equal(c.drops.backlog, 20);
      c.got.forEach((g, i) => assert.deepEqual(g.data, payload(i, 50)));
      for (const s of [...taken, ...c.held.splice(0)]) dp.ring.release(s);
      io.flush(); // refills the stash now that slots are free
      await peer.send(payload(99, 60), port.port);
      await until(() => c.got.length === stash + 1);
      assert.deepEqual(c.got[stash]!.data, payload(99, 60));
      for (const s of c.held.splice(0)) dp.ring.release(s);
    } finally { port.close(); await peer.close(); }
  });

  it('a datagram longer than maxPacket is dropped as tooLarge, its slot returned', async () => {
    const c = collector(dp);
    const port = io.bind('IPv4', '127.0.0.1', 0, c.handler);
    const peer = await UdpPeer.open();
    try {
      await peer.send(payload(1, dp.maxPacket + 1), port.port);
      await peer.send(payload(2, 3000), port.port);  // larger than a slot: truncated by the kernel
      await peer.send(payload(3, dp.maxPacket), port.port);
      await until(() => c.got.length + c.drops.tooLarge === 3);
      assert.equal(c.drops.tooLarge, 2);
      assert.deepEqual(c.got[0]!.data, payload(3, dp.maxPacket));
      assert.equal(dp.ring.available + io.stashedSlots, core.ringSlots);
    } finally { port.close(); await peer.close(); }
  });

  it('close: synchronous and idempotent, the port binds again at once, later sends fail through done', async () => {
    const port = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    const n = port.port;
    port.close();
    port.close();
    assert.equal(port.closed, true);
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind({ port: n, address: '127.0.0.1', exclusive: true }, () => resolve()); });
    s.close();
    const err = await sendDone(port, Buffer.from('x'), 1, 9, '127.0.0.1');
    assert.ok(err instanceof NativeIoError && err instanceof RelayError);
    assert.equal(err.errno, 'EBADF');
    // Closing the io closes its ports; closing it twice is harmless; binding after is refused.
    const p2 = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    io.close();
    io.close();
    assert.equal(p2.closed, true);
    assert.throws(() => io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler), (e: unknown) => e instanceof RelayError && e.code === 'E_INVALID_STATE');
    assert.equal((await sendDone(p2, Buffer.from('y'), 1, 9, '127.0.0.1')) instanceof NativeIoError, true);
  });

  it('a send queued just before close() still goes out', async () => {
    const port = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    const peer = await UdpPeer.open();
    try {
      const done = sendDone(port, payload(5, 40), 40, peer.port, '127.0.0.1');
      port.close();
      assert.equal(await done, null);
      assert.deepEqual((await peer.waitFor(1))[0], payload(5, 40));
    } finally { await peer.close(); }
  });

  it('bind errors are NativeIoError (a RelayError) with the errno name', async () => {
    const taken = await UdpPeer.open();
    try {
      assert.throws(() => io.bind('IPv4', '127.0.0.1', taken.port, collector(dp).handler),
        (e: unknown) => e instanceof NativeIoError && e instanceof RelayError && e.errno === 'EADDRINUSE' && /EADDRINUSE/.test(e.message));
      assert.throws(() => io.bind('IPv4', 'not-an-address', 0, collector(dp).handler),
        (e: unknown) => e instanceof NativeIoError && e.errno === 'EINVAL');
    } finally { await taken.close(); }
  });

  it('bad destinations fail through done with an errno, never throw', async () => {
    const port = io.bind('IPv4', '127.0.0.1', 0, collector(dp).handler);
    try {
      const cases: [string, number, string][] = [
        ['localhost', 9, 'EAFNOSUPPORT'],   // IP literals only: no DNS on the data path
        ['::1', 9, 'EAFNOSUPPORT'],         // wrong family for this socket
        ['127.0.0.1', 0, 'EINVAL'],
        ['127.0.0.1', 70000, 'EINVAL'],
      ];
      for (const [address, p, errno] of cases) {
        const err = await sendDone(port, Buffer.from('z'), 1, p, address);
        assert.ok(err instanceof NativeIoError, `${address}:${p}`);
        assert.equal(err.errno, errno, `${address}:${p}`);
      }
      assert.equal(io.stats.txRejected, cases.length);
    } finally { port.close(); }
  });

  it('EAGAIN: a full socket buffer defers sends until EPOLLOUT, in order; close() fails what is left', (t) => {
    // A real full send buffer: a private network namespace whose loopback is throttled by a
    // token bucket (tbf), so datagrams wait in the qdisc and hold the sender's buffer. Plain
    // loopback never returns EAGAIN (delivery frees the buffer within the send call).
    const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && tc qdisc add dev lo root tbf rate 8mbit burst 4k latency 2s'], { encoding: 'utf8' });
    if (probe.status !== 0) return t.skip(`needs unshare -n and tc tbf (root): ${(probe.stderr || probe.error?.message || '').trim()}`);
    const script = `
      import dgram from 'node:dgram';
      import { CryptoCore } from ${JSON.stringify(`${ROOT}src/crypto/CryptoCore.ts`)};
      import { DataPath } from ${JSON.stringify(`${ROOT}src/media/DataPath.ts`)};
      import { BatchedIo } from ${JSON.stringify(`${ROOT}src/net/native/BatchedIo.ts`)};
      const core = CryptoCore.loadSync({ maxContexts: 4 });
      const dp = new DataPath(core);
      const io = BatchedIo.create(dp);
      const sink = dgram.createSocket('udp4');
      const got = [];
      sink.on('message', (m) => got.push(m));
      await new Promise((r) => sink.bind(0, '127.0.0.1', r));
      sink.setRecvBufferSize(4 << 20);
      const port = io.bind('IPv4', '127.0.0.1', 0, { packet: (s) => dp.ring.release(s), drop: () => {} });
      port.setBufferSizes(1); // the kernel's minimum: a few datagrams fill it
      const pkt = (i) => { const b = Buffer.alloc(1000, i & 255); b.writeUInt32BE(i, 0); return b; };
      const sendAll = (from, n) => { const dones = []; for (let i = from; i < from + n; i++) {
        const slot = dp.ring.acquire(); pkt(i).copy(core.slots[slot]);
        dones.push(new Promise((resolve) => port.send(core.slots[slot], 1000, sink.address().port, '127.0.0.1', (err) => { dp.ring.release(slot); resolve(err); })));
      } return dones; };
      const errs = await Promise.all(sendAll(0, 300));
      const eagain = io.stats.txEagain;
      const deadline = Date.now() + 5000;
      while (got.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const first = got.length;
      const inOrder = got.every((m, i) => m.equals(pkt(i)));
      // Now queue more than the buffer takes and close while some are still deferred.
      const later = sendAll(1000, 200);
      await new Promise((r) => setImmediate(r));
      const deferred = io.queuedSends;
      port.close();
      const laterErrs = await Promise.all(later);
      io.close();
      sink.close();
      console.log(JSON.stringify({ ok: errs.every((e) => e === null), eagain, got: first, inOrder, deferred,
        laterOk: laterErrs.filter((e) => e === null).length, laterBadf: laterErrs.filter((e) => e && e.errno === 'EBADF').length,
        slots: dp.ring.available, total: core.ringSlots }));
    `;
    const r = spawnSync('unshare', ['-n', 'sh', '-c',
      'ip link set lo up && tc qdisc add dev lo root tbf rate 8mbit burst 4k latency 2s && exec "$NODE" --import tsx --input-type=module -e "$SCRIPT"'],
    { encoding: 'utf8', timeout: 30_000, cwd: ROOT, env: { ...process.env, NODE: process.execPath, SCRIPT: script } });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | boolean>;
    assert.equal(o.ok, true, 'every deferred send completes with success');
    assert.ok((o.eagain as number) > 0, 'the send buffer filled (EAGAIN seen)');
    assert.equal(o.got, 300);
    assert.equal(o.inOrder, true, 'deferred sends keep their order');
    assert.ok((o.deferred as number) > 0, 'sends were waiting when the port closed');
    assert.equal((o.laterOk as number) + (o.laterBadf as number), 200, 'every send gets its done: sent, or EBADF at close');
    assert.ok((o.laterBadf as number) > 0);
    assert.equal(o.slots, o.total, 'every slot back');
  });

  it('a worker thread that exits or is terminated with ports open does not take the process down', () => {
    // Regression: node closes a worker's loop (and unloads the addon) at teardown; the poll
    // handle must be closed, and its close callback run, before that.
    const addonPath = `${ROOT}native/build/Release/udpbatch.node`;
    const worker = `
      const a = require(${JSON.stringify(addonPath)});
      const ctx = a.create(new ArrayBuffer(65536), 0, 2048, 16, 1985, new Int32Array(1), new Int32Array(8),
        new Int32Array(8 * 9), new Int32Array(8 * 9), new Int32Array(8), new Float64Array(8), () => {});
      const out = new Int32Array(2);
      a.bind(ctx, 4, '127.0.0.1', 0, out);
      a.bind(ctx, 4, '127.0.0.1', 0, out);
      require('node:worker_threads').parentPort.postMessage(out[1]);
      if (require('node:worker_threads').workerData === 'exit') setTimeout(() => process.exit(0), 20);
    `;
    const main = `
      const { Worker } = require('node:worker_threads');
      let exits = 0;
      for (const how of ['exit', 'terminate']) {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: how });
        w.on('message', () => { if (how === 'terminate') w.terminate(); });
        w.on('exit', () => { if (++exits === 2) console.log('both workers gone'); });
      }
    `;
    const r = spawnSync(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
    assert.match(r.stdout, /both workers gone/);
  });

  it('an open port keeps the process alive; closing the last one lets it exit', () => {
    const script = `
      import { CryptoCore } from ${JSON.stringify(`${ROOT}src/crypto/CryptoCore.ts`)};
      import { DataPath } from ${JSON.stringify(`${ROOT}src/media/DataPath.ts`)};
      import { BatchedIo } from ${JSON.stringify(`${ROOT}src/net/native/BatchedIo.ts`)};
      const dp = new DataPath(CryptoCore.loadSync({ maxContexts: 4 }));
      const io = BatchedIo.create(dp);
      const p = io.bind('IPv4', '127.0.0.1', 0, { packet: (s) => dp.ring.release(s), drop: () => {} });
      let ticks = 0;
      const t = setInterval(() => { ticks++; }, 10); t.unref();
      setTimeout(() => { p.close(); console.log('closed after', ticks > 0 ? 'ticks' : 'none'); }, 200);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /closed after ticks/);
  });

  it('a handler that throws is an uncaught exception (as with dgram); the rest of its batch gets its slots back', () => {
    const script = `
      import dgram from 'node:dgram';
      import { CryptoCore } from ${JSON.stringify(`${ROOT}src/crypto/CryptoCore.ts`)};
      import { DataPath } from ${JSON.stringify(`${ROOT}src/media/DataPath.ts`)};
      import { BatchedIo } from ${JSON.stringify(`${ROOT}src/net/native/BatchedIo.ts`)};
      const core = CryptoCore.loadSync({ maxContexts: 4 });
      const dp = new DataPath(core);
      const io = BatchedIo.create(dp);
      let seen = 0, uncaught = 0;
      process.on('uncaughtException', () => { uncaught++; });
      const p = io.bind('IPv4', '127.0.0.1', 0, { packet: (s) => { seen++; dp.ring.release(s); if (seen === 3) throw new Error('boom'); }, drop: () => {} });
      const s = dgram.createSocket('udp4');
      for (let i = 0; i < 10; i++) s.send(Buffer.alloc(20, i), p.port, '127.0.0.1');
      setTimeout(() => {
        s.close(); p.close();
        console.log(JSON.stringify({ seen, uncaught, slots: dp.ring.available + io.stashedSlots, total: core.ringSlots }));
        io.close();
      }, 300);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seen: number; uncaught: number; slots: number; total: number };
    assert.equal(o.uncaught, 1);
    assert.ok(o.seen >= 3);
    assert.equal(o.slots, o.total, 'slots after a throwing handler');
  });
});

describe('BatchedIo fallback', () => {
  it('without the addon: available() is false with a reason; Relay io auto logs once and uses dgram; io native is refused', () => {
    const script = `
      import { BatchedIo } from ${JSON.stringify(`${ROOT}src/net/native/BatchedIo.ts`)};
      import { Relay } from ${JSON.stringify(`${ROOT}src/session/Relay.ts`)};
      const a = await Relay.create({ ports: { min: 46000, max: 46009 } });
      const b = await Relay.create({ ports: { min: 46010, max: 46019 }, io: 'auto' });
      const s = a.createSession('x');
      const st = await s.addStream(s.createLeg('a'), { rtcpMux: true });
      let refused = '';
      try { await Relay.create({ io: 'native' }); } catch (e) { refused = e.code; }
      console.log(JSON.stringify({ available: BatchedIo.available(), reason: BatchedIo.unavailableReason(),
        io: [a.batchedIo, b.batchedIo], port: st.rtpPort.port, refused }));
      a.close(); b.close();
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000, cwd: ROOT, env: { ...process.env, SRTPGATE_NO_NATIVE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { available: boolean; reason: string; io: unknown[]; port: number; refused: string };
    assert.equal(o.available, false);
    assert.match(o.reason, /SRTPGATE_NO_NATIVE/);
    assert.deepEqual(o.io, [null, null]);
    assert.ok(o.port >= 46000 && o.port <= 46009);
    assert.equal(o.refused, 'E_INTERNAL');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('batched I/O unavailable'));
    assert.deepEqual(warnings, ['batched I/O unavailable (disabled by SRTPGATE_NO_NATIVE=1); using node:dgram']);
  });
});
