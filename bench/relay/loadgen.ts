// Driver for the C load generator and sink (bench/relay/loadgen.c): compiles it on demand
// with gcc + pkg-config libsrtp2 into bench/relay/bin/ (gitignored), then speaks its line
// protocol. One process serves one configuration: N calls, each a sender and a receiver
// socket, configured once, then any number of trials.
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineChild } from './lineChild.ts';
import type { SrtpKey } from './types.ts';
import { niced } from './nice.ts';

const SOURCE = fileURLToPath(new URL('./loadgen.c', import.meta.url));
const BIN_DIR = fileURLToPath(new URL('./bin/', import.meta.url));
const BINARY = fileURLToPath(new URL('./bin/loadgen', import.meta.url));

export const LOADGEN_INSTALL = 'apt-get install -y gcc libc6-dev pkg-config libsrtp2-dev';

/** One trial's counters, as loadgen.c prints them. */
export interface TrialResult {
  /** Offered aggregate rate, packets/s. */
  rate: number;
  /** What the sender managed (falls short when the generator itself runs out of CPU). */
  achievedRate: number;
  seconds: number;
  sent: number;
  received: number;
  /** Received more than 50 ms after sending (a relay queueing instead of dropping). */
  late: number;
  lossPct: number;
  /** Kernel-receive minus send timestamp, after the warm-up; -1 without samples. */
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  samples: number;
  /** Packets of an earlier trial that arrived late. */
  stale: number;
  /** Failed libsrtp2 authentication at the sink (a forged packet the relay forwarded). */
  authFail: number;
  otherFail: number;
  /** Plain-RTP payloads without the generator's magic (garbage the relay produced). */
  badPayload: number;
  /** Datagrams the sink's own sockets dropped (SO_RXQ_OVFL): loss not due to the relay. */
  sinkOverflow: number;
  forgedSent: number;
  /** Packets the sender skipped because it fell more than 20 ms behind its clock. */
  behind: number;
  sendErrors: number;
  /** CPU seconds of the sender thread, the receiver thread, and the whole process. */
  genCpuS: number;
  sinkCpuS: number;
  procCpuS: number;
}

function run(cmd: string, args: readonly string[]): Promise<{ code: number; out: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, out: `${String(stdout)}${String(stderr)}`, missing: err?.code === 'ENOENT' });
    });
  });
}

function mtime(path: string): number | null {
  try { return statSync(path).mtimeMs; } catch { return null; }
}

/** Path of the compiled generator (rebuilt when loadgen.c is newer); throws with the install hint. */
export async function buildLoadgen(): Promise<string> {
  const bin = mtime(BINARY);
  const src = mtime(SOURCE);
  if (src === null) throw new Error(`${SOURCE} is missing`);
  if (bin !== null && bin >= src) return BINARY;
  const flags = await run('pkg-config', ['--cflags', '--libs', 'libsrtp2']);
  if (flags.code !== 0) {
    throw new Error(`${flags.missing ? 'pkg-config is not installed' : 'pkg-config cannot find libsrtp2'}; install with: ${LOADGEN_INSTALL}`);
  }
  mkdirSync(BIN_DIR, { recursive: true });
  // Build to a private name and rename, so a concurrent run never executes half a binary.
  const tmp = `${BINARY}.${process.pid}.tmp`;
  const cc = await run('gcc', ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-o', tmp, SOURCE, ...flags.out.trim().split(/\s+/).filter(Boolean), '-lpthread']);
  if (cc.code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(cc.missing ? `gcc is not installed; install with: ${LOADGEN_INSTALL}` : `gcc failed: ${cc.out.trim().split('\n').slice(0, 6).join(' | ')}`);
  }
  renameSync(tmp, BINARY);
  return BINARY;
}

export interface TrialOptions {
  rate: number;
  ms: number;
  warmupMs: number;
  drainMs: number;
  /** Send a forged copy before every n-th packet of each call; 0 = none. */
  forgeEvery?: number;
}

export class Loadgen {
  readonly ports: readonly { send: number; recv: number }[];
  readonly #child: LineChild;

  private constructor(child: LineChild, ports: { send: number; recv: number }[]) {
    this.#child = child;
    this.ports = ports;
  }

  static async start(calls: number, nice = 0): Promise<Loadgen> {
    const bin = await buildLoadgen();
    const child = new LineChild('loadgen', ...niced(bin, [], nice));
    const line = await child.request(`calls ${calls}`, 10_000);
    const v: unknown = JSON.parse(line);
    const raw = typeof v === 'object' && v !== null && 'ports' in v && Array.isArray(v.ports) ? (v.ports as unknown[]) : null;
    if (!raw || raw.length !== calls) { await child.stop(); throw new Error(`loadgen: bad ports reply ${line.slice(0, 200)}`); }
    const ports = raw.map((p) => {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') throw new Error('loadgen: bad port pair');
      return { send: p[0], recv: p[1] };
    });
    return new Loadgen(child, ports);
  }

  get pid(): number | undefined { return this.#child.pid; }

  async #ok(line: string): Promise<void> {
    const reply = await this.#child.request(line, 10_000);
    if (reply !== '{"ok":true}') throw new Error(`loadgen: ${reply}`);
  }

  /** Call i sends to `dstPort` with `key` and SSRC `ssrc`. */
  configureSender(i: number, dstPort: number, ssrc: number, key: SrtpKey): Promise<void> {
    return this.#ok(`tx ${i} ${dstPort} ${ssrc >>> 0} ${key.suite} ${key.key}${key.salt}`);
  }

  /** Call i's sink unprotects with `key`, or reads plain RTP when null. */
  configureReceiver(i: number, key: SrtpKey | null): Promise<void> {
    return this.#ok(key ? `rx ${i} ${key.suite} ${key.key}${key.salt}` : `rx ${i} none -`);
  }

  async trial(o: TrialOptions): Promise<TrialResult> {
    const line = await this.#child.request(
      `trial ${Math.round(o.rate)} ${Math.round(o.ms)} ${Math.round(o.warmupMs)} ${Math.round(o.drainMs)} ${o.forgeEvery ?? 0}`,
      o.ms + o.drainMs + 30_000);
    return JSON.parse(line) as TrialResult;
  }

  async close(): Promise<void> {
    await this.#child.stop();
  }

  killNow(): void { this.#child.killNow(); }
}
