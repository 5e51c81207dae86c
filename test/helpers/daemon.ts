// Spawns srtpgate daemons (`node --import tsx src/cli.ts --config <file>`) for e2e tests: a
// config object in, a handle out with the bound ng/HTTP addresses read from the start-up log
// line, the JSON log lines parsed, and stop/kill that never leave a process behind.
//
//   const d = await DaemonProcess.start({ ng: { port: 0 }, media: { address: '127.0.0.11' } });
//   ... d.ng.port, d.http?.port, d.waitForLog('session closed') ...
//   await d.stop();            // SIGTERM, bounded; SIGKILL if it hangs
//   d.kill();                  // SIGKILL now (a relay dying mid-test)
//
// Every instance is tracked so `DaemonProcess.killAll()` in after() cleans up even when a test
// failed half-way; a process exit hook does the same if the runner itself is torn down.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface DaemonLogLine {
  readonly level: string;
  readonly ts: string;
  readonly msg: string;
  readonly context: Record<string, unknown>;
}

export interface DaemonStartOptions {
  /** Extra environment (PATH and HOME are passed through). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for "srtpgate started". Default 30 s (tsx compiles on first start). */
  readonly startTimeoutMs?: number;
  /** Extra command-line arguments after --config. */
  readonly args?: readonly string[];
}

type Address = { address: string; port: number };

const live = new Set<DaemonProcess>();
process.once('exit', () => { for (const d of live) d.kill(); });

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: DaemonLogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = '';
  stderr = '';
  /** Set once started: where the ng socket and the HTTP API listen. */
  ng: Address = { address: '', port: 0 };
  http: Address | null = null;
  readonly #dir: string;
  #waiters: (() => void)[] = [];

  private constructor(config: object, options: DaemonStartOptions) {
    this.#dir = mkdtempSync(join(tmpdir(), 'srtpgate-daemon-'));
    const file = join(this.#dir, 'config.json');
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', file, ...(options.args ?? [])], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as DaemonLogLine);
        } catch {
          this.lines.push({ level: 'raw', ts: '', msg: line, context: {} });
        }
      }
      this.#wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      live.delete(this);
      rmSync(this.#dir, { recursive: true, force: true });
      resolve({ code, signal });
      this.#wake();
    }));
  }

  /** Starts a daemon and waits until it serves; kills it and rejects (with its output) otherwise. */
  static async start(config: object, options: DaemonStartOptions = {}): Promise<DaemonProcess> {
    const d = new DaemonProcess(config, options);
    try {
      const line = await d.waitForLog('srtpgate started', options.startTimeoutMs ?? 30_000);
      const ng = line.context.ng as Address | undefined;
      if (ng === undefined) throw new Error('start-up log line has no ng address');
      d.ng = ng;
      d.http = (line.context.http as Address | null | undefined) ?? null;
      return d;
    } catch (e) {
      d.kill();
      throw e;
    }
  }

  /** Spawns a daemon without waiting for it to serve: for runs that exit by design (--help, a bad configuration). */
  static spawn(config: object, options: DaemonStartOptions = {}): DaemonProcess {
    return new DaemonProcess(config, options);
  }

  /** SIGKILLs every daemon still running (for after() hooks). */
  static killAll(): void {
    for (const d of live) d.kill();
  }

  get pid(): number { return this.child.pid ?? -1; }
  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The first log line with this msg (and matching `where`), waiting up to `timeoutMs`. */
  async waitForLog(msg: string, timeoutMs: number, where: (l: DaemonLogLine) => boolean = () => true): Promise<DaemonLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => l.msg === msg && where(l));
      if (line) return line;
      if (!this.running || Date.now() > deadline) {
        throw new Error(`no "${msg}" log line (exit ${this.child.exitCode ?? this.child.signalCode}); stdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr.slice(-4000)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Sends a signal without waiting (SIGUSR2 toggles drain mode). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL now: the relay dies with no goodbye, as in a crash. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** `signal` (default SIGTERM), then waits for the exit; SIGKILLs and rejects after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === null) {
      this.kill();
      throw new Error(`daemon ${this.pid} did not exit within ${timeoutMs} ms after ${signal}`);
    }
    return r;
  }
}
