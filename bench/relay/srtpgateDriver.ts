// srtpgate as a RelayUnderTest: a child process running bench/relay/srtpgateServer.ts.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LineChild } from './lineChild.ts';
import { niced } from './nice.ts';
import type { ServerReply, ServerRequest } from './srtpgateProtocol.ts';
import type { CallPlan, CallSetup, CpuTimes, RelayUnderTest } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = fileURLToPath(new URL('./srtpgateServer.ts', import.meta.url));

export interface SrtpgateOptions {
  /** Name in the report (e.g. 'srtpgate-dgram' for a second instance on node:dgram). */
  name: string;
  portMin: number;
  portMax: number;
  /** Relay `io` option: 'auto' (the batched addon when it loads) or a forced backend. */
  io: 'auto' | 'dgram' | 'native';
  /** Relay `workers` option: media worker threads, 0 = media in the main thread (default). */
  workers: number;
  /** nice value for the relay process (0: unchanged). */
  nice: number;
}

function gitDescribe(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    return 'unknown';
  }
}

export class SrtpgateRelay implements RelayUnderTest {
  readonly name: string;
  readonly version: string;
  readonly #child: LineChild;

  private constructor(name: string, child: LineChild, version: string) {
    this.name = name;
    this.#child = child;
    this.version = version;
  }

  static async start(o: SrtpgateOptions): Promise<SrtpgateRelay> {
    // tsx only transpiles at load; the relay's hot path runs as plain JS afterwards.
    const child = new LineChild('srtpgate server', ...niced(process.execPath,
      ['--import', 'tsx', SERVER, '--port-min', String(o.portMin), '--port-max', String(o.portMax), '--io', o.io, '--workers', String(o.workers)], o.nice), { cwd: ROOT });
    const ready = parseReply(await child.next(30_000));
    if (!ready.ok || ready.op !== 'ready') {
      await child.stop();
      throw new Error(`srtpgate server did not start: ${ready.ok ? ready.op : ready.error}`);
    }
    return new SrtpgateRelay(o.name, child, `${ready.version} (${gitDescribe()}, ${ready.core} core, ${ready.io} I/O, node ${process.version})`);
  }

  get pid(): number | undefined { return this.#child.pid; }

  async #call(req: ServerRequest, timeoutMs = 30_000): Promise<ServerReply> {
    const reply = parseReply(await this.#child.request(JSON.stringify(req), timeoutMs));
    if (!reply.ok) throw new Error(`srtpgate ${req.op}: ${reply.error}`);
    return reply;
  }

  async setupCalls(calls: readonly CallPlan[]): Promise<CallSetup[]> {
    const r = await this.#call({ op: 'setup', calls: [...calls] }, 60_000);
    if (!r.ok || r.op !== 'setup') throw new Error('srtpgate setup: unexpected reply');
    return r.calls;
  }

  async teardownCalls(calls: readonly CallPlan[]): Promise<void> {
    await this.#call({ op: 'teardown', callIds: calls.map((c) => c.callId) });
  }

  async cpu(): Promise<CpuTimes> {
    const r = await this.#call({ op: 'cpu' });
    if (!r.ok || r.op !== 'cpu') throw new Error('srtpgate cpu: unexpected reply');
    return { user: r.user, system: r.system };
  }

  async diagnostics(): Promise<Record<string, number>> {
    const r = await this.#call({ op: 'stats' });
    if (!r.ok || r.op !== 'stats') throw new Error('srtpgate stats: unexpected reply');
    // Zero counters are noise in the results file.
    return Object.fromEntries(Object.entries(r.stats).filter(([, v]) => v !== 0));
  }

  async close(): Promise<void> {
    try {
      await this.#call({ op: 'quit' }, 5000);
    } catch { /* stop() escalates */ }
    await this.#child.stop();
  }

  killNow(): void { this.#child.killNow(); }
}

function parseReply(line: string): ServerReply {
  const v: unknown = JSON.parse(line);
  if (typeof v !== 'object' || v === null || !('ok' in v)) throw new Error(`srtpgate server: bad reply ${line.slice(0, 200)}`);
  return v as ServerReply;
}
