// The Redis store (ioredis). Writes go to a per-key coalescing queue that one flusher drains
// in pipelines: a slow or absent Redis costs a bounded map in memory, never a wait on the
// packet path or in a signalling reply. Failed batches are put back (unless a newer value of
// the key arrived meanwhile) and retried with exponential back-off. Change notifications come
// from Redis keyspace notifications on a second connection (a subscribed connection cannot
// issue commands); the relay turns them on with CONFIG SET when Redis allows it.
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { CallStateStore, CallStateStoreEvents, KeyEvent, WriteOptions } from './CallStateStore.ts';

export interface RedisStateStoreOptions {
  /** redis://[user:password@]host:port[/db] */
  readonly url: string;
  /** Keys waiting to be written at most; writes of further keys are refused (counted). Default 100000. */
  readonly maxPending?: number;
  /** A command (or pipeline) not answered within this is an error, ms. Default 1000. */
  readonly commandTimeoutMs?: number;
  /** Operational warnings (notification set-up). */
  readonly warn?: (msg: string, context?: Record<string, unknown>) => void;
}

interface Pending {
  value: string | null;
  ttlMs: number | undefined;
  callbacks: (() => void)[];
}

const BATCH = 512;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2000;
/** Keyspace events the watchers need: K keyspace channel, g generic (del), $ strings, x expired. */
const NOTIFY_FLAGS = 'Kg$x';

const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

export class RedisStateStore implements CallStateStore {
  readonly observer = new EventEmitter<CallStateStoreEvents>();
  readonly #client: Redis;
  readonly #db: number;
  readonly #maxPending: number;
  readonly #warn: (msg: string, context?: Record<string, unknown>) => void;
  readonly #pending = new Map<string, Pending>();
  #subscriber: Redis | null = null;
  #notifications = false;
  #up = false;
  #flushing = false;
  #timer: NodeJS.Timeout | null = null;
  #backoffMs = 0;
  #closed = false;

  constructor(o: RedisStateStoreOptions) {
    this.#maxPending = o.maxPending ?? 100_000;
    this.#warn = o.warn ?? (() => {});
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: o.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      // Reconnect for ever, backing off to 2 s: the relay keeps serving from memory meanwhile.
      retryStrategy: (times: number) => Math.min(BACKOFF_MAX_MS, 50 * 2 ** Math.min(times, 6)),
    };
    this.#client = new Redis(o.url, common);
    this.#db = this.#client.options.db ?? 0;
    this.#client.on('ready', () => {
      // A restarted Redis forgot the CONFIG SET: turn notifications on again at every connect.
      if (this.#notifications) void this.#enableNotifications();
      this.#setUp(true, 'ready');
    });
    this.#client.on('close', () => this.#setUp(false, 'connection closed'));
    // ioredis reports every failed reconnect as 'error'; 'close' already marks the state.
    this.#client.on('error', () => {});
  }

  get up(): boolean { return this.#up; }

  write(key: string, value: string, options: WriteOptions = {}): void {
    this.#queue(key, value, options.ttlMs, options.onWritten);
  }

  remove(key: string): void {
    this.#queue(key, null, undefined, undefined);
  }

  async get(key: string): Promise<string | null> {
    return this.#client.get(key);
  }

  /** DEL is atomic: of two relays claiming one key, one sees 1. */
  async claim(key: string): Promise<boolean> {
    return (await this.#client.del(key)) === 1;
  }

  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  }

  async watch(prefix: string, onChange: (key: string, event: KeyEvent) => void): Promise<void> {
    this.#notifications = true;
    if (this.#up) await this.#enableNotifications();
    const channelPrefix = `__keyspace@${this.#db}__:`;
    // The subscription is queued until the connection is up, and ioredis re-subscribes after
    // every reconnect by itself.
    this.#subscriber ??= this.#client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      if (!channel.startsWith(channelPrefix)) return;
      const key = channel.slice(channelPrefix.length);
      if (!key.startsWith(prefix)) return;
      if (message === 'set' || message === 'del' || message === 'expired') onChange(key, message);
    });
    await this.#subscriber.psubscribe(`${channelPrefix}${globEscape(prefix)}*`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    // A last attempt to land what is queued (bounded by the command timeout), then go.
    if (this.#up && this.#pending.size > 0 && !this.#flushing) await this.#flush();
    this.#subscriber?.disconnect();
    this.#client.disconnect();
  }

  /** Turns keyspace notifications on, keeping flags already set; warns when Redis refuses. */
  async #enableNotifications(): Promise<void> {
    try {
      const [, current] = (await this.#client.config('GET', 'notify-keyspace-events')) as [string, string];
      const merged = [...new Set([...(current ?? ''), ...NOTIFY_FLAGS])].join('');
      if (![...NOTIFY_FLAGS].every((f) => (current ?? '').includes(f) || (f !== 'K' && current?.includes('A')))) {
        await this.#client.config('SET', 'notify-keyspace-events', merged);
      }
    } catch (e) {
      this.#warn('cannot enable Redis keyspace notifications: set "notify-keyspace-events Kg$x" in redis.conf', { reason: (e as Error).message });
    }
  }

  #queue(key: string, value: string | null, ttlMs: number | undefined, cb: (() => void) | undefined): void {
    if (this.#closed) return;
    // Counted as it happens, so the error counter moves while Redis is away; the write itself
    // stays queued and lands when Redis is back.
    if (!this.#up) this.observer.emit('writeerror', { reason: 'redis unavailable', keys: 1 });
    const p = this.#pending.get(key);
    if (p !== undefined) {
      p.value = value;
      p.ttlMs = ttlMs;
      if (cb) p.callbacks.push(cb);
    } else {
      if (this.#pending.size >= this.#maxPending) { this.observer.emit('overflow'); return; }
      this.#pending.set(key, { value, ttlMs, callbacks: cb ? [cb] : [] });
    }
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#flushing || this.#timer !== null || !this.#up || this.#closed) return;
    this.#timer = setTimeout(() => { this.#timer = null; void this.#flush(); }, delayMs);
    this.#timer.unref();
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#pending.size === 0) return;
    this.#flushing = true;
    const batch: [string, Pending][] = [];
    for (const e of this.#pending) {
      batch.push(e);
      if (batch.length >= BATCH) break;
    }
    for (const [k] of batch) this.#pending.delete(k);
    let failed: string | null = null;
    try {
      const pipe = this.#client.pipeline();
      for (const [k, p] of batch) {
        if (p.value === null) pipe.del(k);
        else if (p.ttlMs !== undefined) pipe.set(k, p.value, 'PX', p.ttlMs);
        else pipe.set(k, p.value);
      }
      const results = await pipe.exec();
      const err = results?.find(([e]) => e !== null)?.[0];
      if (results === null || err) failed = err?.message ?? 'pipeline aborted';
    } catch (e) {
      failed = (e as Error).message;
    }
    this.#flushing = false;
    if (failed !== null) {
      // Put back whatever no newer write replaced, in front of the queue order it had.
      for (const [k, p] of batch) {
        const newer = this.#pending.get(k);
        if (newer === undefined) this.#pending.set(k, p);
        else newer.callbacks.unshift(...p.callbacks);
      }
      this.observer.emit('writeerror', { reason: failed, keys: batch.length });
      this.#backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.#backoffMs * 2));
      this.#schedule(this.#backoffMs);
      return;
    }
    this.#backoffMs = 0;
    for (const [, p] of batch) for (const cb of p.callbacks) cb();
    if (this.#pending.size > 0) this.#schedule(0);
  }

  #setUp(up: boolean, reason: string): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) {
      this.observer.emit('up');
      this.#schedule(0);
    } else {
      this.observer.emit('down', { reason });
    }
  }
}
