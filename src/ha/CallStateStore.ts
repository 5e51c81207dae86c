// Where replicated call state goes: a key/value space with expiry and change notifications.
// Writes are fire-and-forget (the packet path and signalling replies never wait for them);
// the store coalesces and retries them itself and reports faults through `observer`.
import { EventEmitter } from 'node:events';

export type KeyEvent = 'set' | 'del' | 'expired';

export interface CallStateStoreEvents {
  /** The store became reachable (again): everything written from now on lands. */
  up: [];
  /** The store became unreachable; writes queue (bounded) and are retried. */
  down: [{ reason: string }];
  /** A batch of writes failed (counted; logged by the owner once per up/down change). */
  writeerror: [{ reason: string; keys: number }];
  /** A write was refused because the queue was full. */
  overflow: [];
}

export interface WriteOptions {
  /** Expiry of the key, ms. Default: none. */
  readonly ttlMs?: number;
  /** Called once the value (or a newer one for the same key) is stored. */
  readonly onWritten?: () => void;
}

export interface CallStateStore {
  readonly observer: EventEmitter<CallStateStoreEvents>;
  /** Whether the store is reachable now. */
  readonly up: boolean;
  /** Stores `value` under `key`, replacing any queued value of the key. Never throws, never waits. */
  write(key: string, value: string, options?: WriteOptions): void;
  /** Removes the key (queued like a write). */
  remove(key: string): void;
  /** Reads a key (null: absent). Rejects when the store is unreachable. */
  get(key: string): Promise<string | null>;
  /**
   * Removes the key now and resolves true only for the one caller that removed it (of every
   * relay sharing the store). Rejects when the store is unreachable. A store without it cannot
   * arbitrate: every follower of a releasing relay then takes its calls.
   */
  claim?(key: string): Promise<boolean>;
  /** Every key starting with `prefix`. Rejects when the store is unreachable. */
  keys(prefix: string): Promise<string[]>;
  /** Calls `onChange` for every change of a key starting with `prefix`, from any writer. */
  watch(prefix: string, onChange: (key: string, event: KeyEvent) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded store: one process's memory. Nothing leaves the process; two replicators
 * sharing one instance see each other's writes (what the in-process tests use).
 */
export class MemoryStateStore implements CallStateStore {
  readonly observer = new EventEmitter<CallStateStoreEvents>();
  readonly #data = new Map<string, { value: string; timer: NodeJS.Timeout | null }>();
  readonly #watchers: { prefix: string; fn: (key: string, event: KeyEvent) => void }[] = [];

  get up(): boolean { return true; }

  write(key: string, value: string, options: WriteOptions = {}): void {
    const old = this.#data.get(key);
    if (old?.timer) clearTimeout(old.timer);
    let timer: NodeJS.Timeout | null = null;
    if (options.ttlMs !== undefined) {
      timer = setTimeout(() => { this.#data.delete(key); this.#notify(key, 'expired'); }, options.ttlMs);
      timer.unref();
    }
    this.#data.set(key, { value, timer });
    this.#notify(key, 'set');
    options.onWritten?.();
  }

  remove(key: string): void {
    const old = this.#data.get(key);
    if (old === undefined) return;
    if (old.timer) clearTimeout(old.timer);
    this.#data.delete(key);
    this.#notify(key, 'del');
  }

  async get(key: string): Promise<string | null> {
    return this.#data.get(key)?.value ?? null;
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.#data.keys()].filter((k) => k.startsWith(prefix));
  }

  async claim(key: string): Promise<boolean> {
    if (!this.#data.has(key)) return false;
    this.remove(key);
    return true;
  }

  async watch(prefix: string, onChange: (key: string, event: KeyEvent) => void): Promise<void> {
    this.#watchers.push({ prefix, fn: onChange });
  }

  async close(): Promise<void> {
    for (const e of this.#data.values()) if (e.timer) clearTimeout(e.timer);
    this.#data.clear();
    this.#watchers.length = 0;
  }

  #notify(key: string, event: KeyEvent): void {
    // Like keyspace notifications: delivered after the write, never inside it.
    for (const w of this.#watchers) if (key.startsWith(w.prefix)) queueMicrotask(() => w.fn(key, event));
  }
}
