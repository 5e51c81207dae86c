// I/O benchmark: a plain UDP forwarder on loopback (receive on port A → send to a sink),
// node:dgram against the batched native addon (BatchedIo), and the same two backends under
// the whole relay pipeline (Relay with two plain-RTP legs: demux, source check, latch,
// stats, send). 172-byte datagrams. The load comes from a small C generator + sink
// (native/bench/udpload.c: sendmmsg paced in batches of 32; sink on a second thread) so the
// generator is not the bottleneck. For each backend the rate climbs a ladder until loss
// reaches 0.5% (a failed step is retried once: the VM is noisy), then bisects twice. A
// datagram counts as lost unless it reached the sink within 100 ms of the last send (deep
// socket buffers would otherwise hide a forwarder that falls behind), and a trial only
// counts if the generator kept 97% of the asked rate.
// CPU per packet = process.cpuUsage() (user + system, all threads of this process) over the
// trial / datagrams forwarded; the generator and sink are another process.
//
//   node --import tsx bench/io.bench.ts        (run alone; needs gcc and the addon built)
//   IO_BENCH_SECONDS=2 per trial, IO_BENCH_BUDGET=480 s in all (the search stops there),
//   IO_BENCH_MODES=c-mmsg,dgram,native,relay-dgram,relay-native,relay-dgram-x100,relay-native-x100
// Writes bench/results/io-<timestamp>.json.
//
// Results, 2026-11-24, this 2-core AMD EPYC VM (node 20.20.2, kernel 6.18); generator, sink
// and forwarder share both cores, and other sessions' builds and benchmarks were running
// (load average 2-7), so absolute rates moved by 2-3x between runs; the modes run in
// lockstep, so each run compares them under the same load. Least loaded run (13:50; the
// x100 rows from the 14:00 run, the first with the 100 ms "timely" rule that stops deep
// buffers from hiding a forwarder that falls behind):
//
//   backend                         max pkt/s   µs CPU/pkt at max   µs CPU/pkt at 40k (now 20k)
//   C recvmmsg/sendmmsg (c-mmsg)      108,000          5.2                 7.5
//   forwarder, node:dgram              40,000         14.1                14.1
//   forwarder, native batched         130,000          5.1                 9.6
//   relay 1 call, node:dgram           60,000         16.6                21.2
//   relay 1 call, native batched      100,000          6.3                11.1
//   relay 100 calls, node:dgram        40,000         19.2                19.2
//   relay 100 calls, native batched    95,000          6.9                12.1
//
// Across five runs the native forwarder always reached the C reference's rate (both 28k to
// 130k depending on the background load; in the two most loaded runs every mode, C
// included, stalled at 28k-38k, a ceiling of the shared cores, not of the forwarders);
// whenever the C reference reached 80k or more, node:dgram stayed at or below 40k. CPU per
// packet near saturation: 5-6 µs native vs 14-17 µs dgram (whole relay: 6-10 vs 16-23). Of the native forwarder's CPU, user space is 0.1-0.9 µs
// per packet at full batches (recvmmsg/sendmmsg of ~60, one JS call per batch); perf puts
// 81% of its CPU in the kernel's UDP path even at 20k pkt/s, where batches are 2-4 datagrams
// and each wakeup's syscalls and context switch dominate (hence 9-12 µs at 20-40k).
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CryptoCore } from '../src/crypto/CryptoCore.ts';
import { DataPath } from '../src/media/DataPath.ts';
import { BatchedIo } from '../src/net/native/BatchedIo.ts';
import type { BatchedMediaPort } from '../src/net/native/BatchedMediaPort.ts';
import { Relay, type RelayIo } from '../src/session/Relay.ts';
import { linkStreams } from '../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../src/session/MediaStreamHandle.ts';

const SECONDS = Number(process.env.IO_BENCH_SECONDS ?? 2);
const BUDGET_MS = Number(process.env.IO_BENCH_BUDGET ?? 480) * 1000;
const SIZE = 172;
const MAX_LOSS = 0.005;
const LADDER = [20_000, 30_000, 40_000, 60_000, 80_000, 100_000, 130_000, 160_000, 200_000, 250_000, 300_000, 375_000, 450_000, 550_000, 700_000];
const BUFFER_BYTES = 4 << 20;

const root = fileURLToPath(new URL('..', import.meta.url));
const LOAD_SRC = `${root}native/bench/udpload.c`;
const LOAD_BIN = `${root}native/build/udpload`;
const FWD_SRC = `${root}native/bench/udpfwd.c`;
const FWD_BIN = `${root}native/build/udpfwd`;
const deadline = Date.now() + BUDGET_MS;

/** A forwarder under test: datagrams to `port` go to the sink set by setSink. */
interface Forwarder {
  /** Where the generator sends (round robin when several). */
  readonly ports: readonly number[];
  forwarded(): number;
  setSink(port: number): Promise<void>;
  /** For a forwarder in another process: stops it, returns its count and CPU time. */
  stop?(): Promise<{ forwarded: number; cpuUs: number; userUs: number }>;
  close(): Promise<void>;
}

type Mode = 'c-mmsg' | 'dgram' | 'native' | 'relay-dgram' | 'relay-native' | 'relay-dgram-x100' | 'relay-native-x100';
const MODES: Record<Mode, () => Promise<Forwarder>> = {
  'c-mmsg': cForwarder,
  'dgram': dgramForwarder,
  'native': nativeForwarder,
  'relay-dgram': () => relayForwarder('dgram', 1),
  'relay-native': () => relayForwarder('native', 1),
  // 100 calls sharing the load: few datagrams per socket per wakeup, as in a real relay.
  'relay-dgram-x100': () => relayForwarder('dgram', 100),
  'relay-native-x100': () => relayForwarder('native', 100),
};

function buildC(src: string, bin: string): void {
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return;
  mkdirSync(`${root}native/build`, { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-pthread', '-o', bin, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build ${src} (gcc): ${r.error?.message ?? r.stderr}`);
}

/** The C reference (native/bench/udpfwd.c), in its own process: the ceiling on this machine. */
async function cForwarder(): Promise<Forwarder> {
  const child = spawn(FWD_BIN, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = (await lines.next()).value as string | undefined;
  const m = /^port (\d+)$/.exec(first ?? '');
  if (!m) throw new Error(`udpfwd said: ${first}`);
  let result = { forwarded: 0, cpuUs: 0, userUs: 0 };
  return {
    ports: [Number(m[1])],
    forwarded: () => result.forwarded,
    setSink: async (port) => { child.stdin.write(`${port}\n`); },
    stop: async () => {
      child.stdin.end();
      const last = (await lines.next()).value as string | undefined;
      const r = /^forwarded (\d+) cpu_us (\d+) user_us (\d+)$/.exec(last ?? '');
      if (!r) throw new Error(`udpfwd said: ${last}`);
      result = { forwarded: Number(r[1]), cpuUs: Number(r[2]), userUs: Number(r[3]) };
      return result;
    },
    close: async () => { child.kill(); },
  };
}

function bindDgram(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.setRecvBufferSize(BUFFER_BYTES);
      s.setSendBufferSize(BUFFER_BYTES);
      resolve(s);
    });
  });
}

/** node:dgram at its best: receive, send on a connected socket (no per-send address lookup). */
async function dgramForwarder(): Promise<Forwarder> {
  const a = await bindDgram(), b = await bindDgram();
  let n = 0;
  a.on('message', (msg) => { n++; b.send(msg); });
  b.on('error', () => {});
  return {
    ports: [a.address().port],
    forwarded: () => n,
    setSink: (port) => new Promise((resolve) => b.connect(port, '127.0.0.1', () => resolve())),
    close: async () => { a.close(); b.close(); },
  };
}

let sharedCore: CryptoCore | null = null;

/** The batched addon: recvmmsg into ring slots, send from the slot, release on completion. */
async function nativeForwarder(): Promise<Forwarder> {
  sharedCore ??= CryptoCore.loadSync({ maxContexts: 16 });
  const core = sharedCore;
  const dp = new DataPath(core);
  const io = BatchedIo.create(dp);
  let sink = 0, n = 0;
  let out: BatchedMediaPort | null = null;
  const a = io.bind('IPv4', '127.0.0.1', 0, {
    packet: (slot, len) => {
      n++;
      out!.send(core.slots[slot]!, len, sink, '127.0.0.1', dp.ring.onSent[slot]!);
    },
    drop: () => {},
  });
  out = io.bind('IPv4', '127.0.0.1', 0, { packet: (slot) => dp.ring.release(slot), drop: () => {} });
  a.setBufferSizes(BUFFER_BYTES);
  out.setBufferSizes(BUFFER_BYTES);
  return {
    ports: [a.port],
    forwarded: () => n,
    setSink: async (port) => { sink = port; },
    close: async () => { io.close(); },
  };
}

/** The whole relay, `calls` sessions of two plain-RTP legs: A's far end is the generator,
 *  B's is the sink. */
async function relayForwarder(io: RelayIo, calls: number): Promise<Forwarder> {
  // No rate limits: the generator is one source sending far above any per-stream budget.
  const relay = await Relay.create({ io, ports: { min: 47000, max: 48999 }, socketBufferBytes: BUFFER_BYTES, core: { maxContexts: 16 }, rateLimits: false });
  const pairs: { a: MediaStreamHandle; b: MediaStreamHandle }[] = [];
  for (let i = 0; i < calls; i++) {
    const s = relay.createSession(`bench-${i}`);
    const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
    const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
    linkStreams(a, b);
    for (const st of [a, b]) { st.setInboundCrypto(null); st.setOutboundCrypto(null); }
    pairs.push({ a, b });
  }
  return {
    ports: pairs.map((p) => p.a.rtpPort.port),
    forwarded: () => pairs.reduce((n, p) => n + p.b.stats.packetsOut, 0),
    setSink: async (port) => { for (const p of pairs) p.b.setRemote({ address: '127.0.0.1', port }); },
    close: async () => { relay.close(); },
  };
}

interface Trial {
  rate: number; sent: number; received: number; forwarded: number; loss: number;
  /** Rate the generator actually achieved; below the target rate the trial says nothing. */
  offered: number;
  cpuUsPerPkt: number;
  /** The user-space part of cpuUsPerPkt (the rest is the kernel's UDP path). */
  userUsPerPkt: number;
}

async function trial(make: () => Promise<Forwarder>, rate: number): Promise<Trial> {
  const fwd = await make();
  const child = spawn(LOAD_BIN, [fwd.ports.join(','), String(rate), String(SECONDS), String(SIZE)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    const first = (await lines.next()).value as string | undefined;
    const sink = /^sink (\d+)$/.exec(first ?? '');
    if (!sink) throw new Error(`udpload said: ${first}`);
    await fwd.setSink(Number(sink[1]));
    // Let the loop settle (GC of the previous trial, JIT of this forwarder) before measuring.
    await new Promise((r) => setTimeout(r, 100));
    const cpu0 = process.cpuUsage();
    child.stdin.write('go\n');
    const last = (await lines.next()).value as string | undefined;
    const cpu = process.cpuUsage(cpu0);
    const m = /^sent (\d+) received (\d+) send_errors (\d+) send_seconds ([\d.]+) timely (\d+)/.exec(last ?? '');
    if (!m) throw new Error(`udpload said: ${last}`);
    // Loss counts what had not arrived 100 ms after the last send: with deep socket buffers
    // a forwarder that falls behind would otherwise look lossless, only late.
    const sent = Number(m[1]), received = Number(m[5]);
    const external = fwd.stop ? await fwd.stop() : null;
    const forwarded = external?.forwarded ?? fwd.forwarded();
    const cpuUs = external?.cpuUs ?? cpu.user + cpu.system;
    const userUs = external?.userUs ?? cpu.user;
    return {
      rate, sent, received, forwarded, loss: sent > 0 ? 1 - received / sent : 1,
      offered: sent / Number(m[4]), cpuUsPerPkt: cpuUs / Math.max(1, forwarded), userUsPerPkt: userUs / Math.max(1, forwarded),
    };
  } finally {
    child.kill();
    await fwd.close();
  }
}

const fmt = (t: Trial) => `${String(t.rate).padStart(7)} pkt/s (offered ${Math.round(t.offered).toString().padStart(7)}) → loss ${(t.loss * 100).toFixed(2).padStart(6)}%  ${t.cpuUsPerPkt.toFixed(2).padStart(6)} µs CPU/pkt (user ${t.userUsPerPkt.toFixed(2)})`;

/** The generator kept (nearly) the rate asked of it. */
const offeredOk = (t: Trial) => t.offered >= 0.97 * t.rate;

/** The rate at which every backend is compared for CPU per packet (all pass it). */
const FIXED_RATE = 20_000;

interface ModeResult { mode: Mode; maxRate: number; generatorLimited: boolean; atMax: Trial | null; atFixed: Trial | null; trials: Trial[] }

/** One mode's search state. */
class Search {
  readonly trials: Trial[] = [];
  best: Trial | null = null;
  failedAt = 0;
  generatorLimited = false;
  constructor(readonly mode: Mode) {}

  async #run(rate: number): Promise<Trial> {
    const t = await trial(MODES[this.mode], rate);
    this.trials.push(t);
    console.log(`  ${this.mode.padEnd(17)} ${fmt(t)}`);
    return t;
  }

  /** Whether `rate` passes (one retry on loss or a generator shortfall: the VM is noisy). */
  async passes(rate: number): Promise<boolean> {
    let t = await this.#run(rate);
    if ((t.loss >= MAX_LOSS || !offeredOk(t)) && Date.now() < deadline) t = await this.#run(rate);
    if (t.loss < MAX_LOSS && !offeredOk(t)) this.generatorLimited = true;
    if (t.loss < MAX_LOSS && offeredOk(t)) { this.best = t; return true; }
    if (!this.generatorLimited) this.failedAt = rate;
    return false;
  }

  result(): ModeResult {
    const atFixed = this.trials.find((t) => t.rate === FIXED_RATE && t.loss < MAX_LOSS) ?? null;
    return { mode: this.mode, maxRate: this.best?.rate ?? 0, generatorLimited: this.generatorLimited, atMax: this.best, atFixed, trials: this.trials };
  }
}

/**
 * Climbs the ladder with every mode in lockstep (each rate is tried on every mode still in
 * the race before the next rate), so a change in background load hits all modes alike;
 * then two bisection steps per mode between its last pass and its first failure.
 */
async function measure(modes: readonly Mode[]): Promise<ModeResult[]> {
  const searches = modes.map((m) => new Search(m));
  let racing = [...searches];
  for (const rate of LADDER) {
    if (racing.length === 0 || Date.now() > deadline) break;
    const next: Search[] = [];
    for (const s of racing) if (await s.passes(rate)) next.push(s);
    racing = next;
  }
  for (const s of searches) {
    let lo = s.best?.rate ?? 0, hi = s.generatorLimited ? 0 : s.failedAt;
    for (let i = 0; i < 2 && hi > 0 && lo > 0 && Date.now() < deadline; i++) {
      const mid = Math.round((lo + hi) / 2 / 1000) * 1000;
      if (await s.passes(mid)) lo = mid; else hi = mid;
    }
  }
  return searches.map((s) => s.result());
}

async function main(): Promise<void> {
  buildC(LOAD_SRC, LOAD_BIN);
  buildC(FWD_SRC, FWD_BIN);
  const wanted = (process.env.IO_BENCH_MODES ?? Object.keys(MODES).join(',')).split(',') as Mode[];
  const modes = wanted.filter((m) => {
    if (!(m in MODES)) throw new Error(`unknown mode ${m}`);
    if (m.includes('native') && !BatchedIo.available()) {
      console.log(`skipping ${m}: ${BatchedIo.unavailableReason() ?? ''} (build: ${BatchedIo.buildCommand})`);
      return false;
    }
    return true;
  });
  console.log(`io bench: ${SIZE}-byte datagrams, ${SECONDS} s per trial, loss < ${MAX_LOSS * 100}%, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`);
  const results = await measure(modes);
  console.log(`\nbackend           max pkt/s  µs CPU/pkt at max  µs CPU/pkt at ${FIXED_RATE / 1000}k   (≥: the generator was the limit)`);
  for (const r of results) {
    console.log(`${r.mode.padEnd(17)} ${`${r.generatorLimited ? '≥' : ''}${r.maxRate}`.padStart(9)}  ${(r.atMax?.cpuUsPerPkt.toFixed(2) ?? '-').padStart(17)}  ${(r.atFixed?.cpuUsPerPkt.toFixed(2) ?? '-').padStart(17)}`);
  }
  if (Date.now() > deadline) console.log(`(stopped early: IO_BENCH_BUDGET of ${BUDGET_MS / 1000} s reached)`);
  mkdirSync(`${root}bench/results`, { recursive: true });
  const file = `${root}bench/results/io-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model, size: SIZE, seconds: SECONDS, results }, null, 2));
  console.log(`wrote ${file}`);
}

await main();
