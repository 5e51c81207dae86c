// A child process spoken to in lines: each request line gets exactly one reply line, in
// order. Used for the load generator and for srtpgate's embedding server.
import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptionsWithoutStdio } from 'node:child_process';
import { createInterface } from 'node:readline';

interface Waiter {
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class LineChild {
  readonly name: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiters: Waiter[] = [];
  readonly #early: string[] = [];
  #stderr = '';
  #exit: Error | null = null;
  readonly exited: Promise<void>;

  constructor(name: string, cmd: string, args: readonly string[], options: SpawnOptionsWithoutStdio = {}) {
    this.name = name;
    this.#child = spawn(cmd, args, { ...options, stdio: 'pipe' });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const w = this.#waiters.shift();
      if (w) { clearTimeout(w.timer); w.resolve(line); } else this.#early.push(line);
    });
    this.#child.stderr.on('data', (d: Buffer) => {
      // Keep the tail: it is what explains a crash.
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#child.stdin.on('error', () => { /* reported by 'exit' */ });
    this.exited = new Promise((resolve) => {
      const fail = (why: string): void => {
        this.#exit ??= new Error(`${name} ${why}${this.#stderr ? `: ${this.#stderr.trim().split('\n').slice(-6).join(' | ')}` : ''}`);
        for (const w of this.#waiters.splice(0)) { clearTimeout(w.timer); w.reject(this.#exit); }
        resolve();
      };
      this.#child.on('error', (e) => fail(`failed to start (${e.message})`));
      this.#child.on('exit', (code, signal) => fail(`exited (code ${String(code)}, signal ${String(signal)})`));
    });
  }

  get pid(): number | undefined { return this.#child.pid; }
  get stderrTail(): string { return this.#stderr; }

  /** The next line the child prints (a reply, or an unsolicited first line such as "ready"). */
  next(timeoutMs: number): Promise<string> {
    const early = this.#early.shift();
    if (early !== undefined) return Promise.resolve(early);
    if (this.#exit) return Promise.reject(this.#exit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`${this.name}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const w: Waiter = { resolve, reject, timer };
      this.#waiters.push(w);
    });
  }

  /** Writes one line and waits for its reply line. */
  request(line: string, timeoutMs: number): Promise<string> {
    const reply = this.next(timeoutMs);
    this.#child.stdin.write(`${line}\n`);
    return reply;
  }

  /** Closes stdin, then escalates to SIGTERM and SIGKILL if the child lingers. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exit) return;
    this.#child.stdin.end();
    const timeout = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
    if (await Promise.race([this.exited.then(() => 'exited' as const), timeout(graceMs)]) === 'exited') return;
    this.#child.kill('SIGTERM');
    if (await Promise.race([this.exited.then(() => 'exited' as const), timeout(graceMs)]) === 'exited') return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Synchronous last resort for process 'exit' handlers. */
  killNow(): void {
    if (!this.#exit) this.#child.kill('SIGKILL');
  }
}
