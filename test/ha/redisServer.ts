// A throw-away redis-server for the replication tests: Debian's binary on a free loopback
// port, no persistence (--save "" --appendonly no), stopped, paused, killed and restarted on
// the same port by the tests. `RedisServer.start()` resolves null when redis-server is not
// installed (the caller skips, or fails under CI=true, with REDIS_INSTALL).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_INSTALL = 'apt-get install -y redis-server';
export const REDIS_SKIP = `redis-server not installed; install with: ${REDIS_INSTALL}`;

const live = new Set<RedisServer>();
process.once('exit', () => { for (const r of live) r.kill(); });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout: String(stdout) });
    });
  });
}

export class RedisServer {
  readonly port: number;
  #child: ChildProcess | null = null;
  readonly #dir: string;

  private constructor(port: number) {
    this.port = port;
    this.#dir = mkdtempSync(join(tmpdir(), 'srtpgate-redis-'));
  }

  /** A running server, or null when redis-server is not installed. */
  static async start(): Promise<RedisServer | null> {
    if ((await run('redis-server', ['--version'])).code !== 0) return null;
    const r = new RedisServer(await freePort());
    live.add(r);
    await r.restart();
    return r;
  }

  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  get pid(): number { return this.#child?.pid ?? -1; }

  /** (Re)starts on the same port, empty (no persistence); waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null) throw new Error('redis-server still running');
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.#dir, '--protected-mode', 'yes'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while ((await this.cli('PING')).trim() !== 'PONG') {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** redis-cli against this server; stdout (raw mode). */
  async cli(...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), '--raw', ...args])).stdout;
  }

  /** Every key and its value (strings; other types by DUMP), for the leak check. */
  async dump(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const keys = (await this.cli('--scan')).split('\n').filter((k) => k.length > 0);
    for (const k of keys) {
      const type = (await this.cli('TYPE', k)).trim();
      out.set(k, type === 'string' ? await this.cli('GET', k) : await this.cli('DUMP', k));
    }
    return out;
  }

  pause(): void { this.#child?.kill('SIGSTOP'); }
  resume(): void { this.#child?.kill('SIGCONT'); }

  /** SIGKILL and wait for the exit. */
  async killAndWait(): Promise<void> {
    const c = this.#child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await exited;
  }

  kill(): void {
    this.#child?.kill('SIGCONT');
    this.#child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.killAndWait();
    live.delete(this);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
