// Cookie → reply cache, so a retransmitted ng request gets the first reply again instead of
// being executed twice (Kamailio resends the same datagram up to 5 times, 1 s apart; rtpengine
// keeps replies 30–60 s). A re-executed `offer` would allocate ports and keys a second time.
//
// Expiry is lazy: no timer is ever started, so nothing keeps the process alive and there is
// nothing to leak if close() is forgotten. A Map keeps insertion order and every entry lives
// the same TTL, so the oldest entry is always first: expiring and evicting both pop from the
// front, O(1) per entry removed.

export interface ReplyCacheOptions<T> {
  /** How long a reply is replayed, in milliseconds. Default 30_000. */
  readonly ttlMs?: number;
  /** Most entries kept; the oldest is evicted first. Default 10_000. */
  readonly maxEntries?: number;
  /** Most bytes kept, summed with `sizeOf`; the oldest are evicted first. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Size of one reply in bytes. Default: byteLength of a Uint8Array, length of a string, else 0. */
  readonly sizeOf?: (reply: T) => number;
  /** Monotonic clock in milliseconds (injectable for tests). Default performance.now. */
  readonly now?: () => number;
}

export const REPLY_CACHE_DEFAULTS = Object.freeze({ ttlMs: 30_000, maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 });

interface Entry<T> {
  readonly reply: T;
  readonly expiresAt: number;
  readonly size: number;
}

function defaultSizeOf(reply: unknown): number {
  if (reply instanceof Uint8Array) return reply.byteLength;
  if (typeof reply === 'string') return reply.length;
  return 0;
}

/** Replay cache for ng replies, keyed by cookie (or any string the caller composes). */
export class ReplyCache<T = Uint8Array> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (reply: T) => number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry<T>>();
  #bytes = 0;
  #closed = false;

  constructor(options: ReplyCacheOptions<T> = {}) {
    this.#ttlMs = options.ttlMs ?? REPLY_CACHE_DEFAULTS.ttlMs;
    this.#maxEntries = options.maxEntries ?? REPLY_CACHE_DEFAULTS.maxEntries;
    this.#maxBytes = options.maxBytes ?? REPLY_CACHE_DEFAULTS.maxBytes;
    this.#sizeOf = options.sizeOf ?? defaultSizeOf;
    this.#now = options.now ?? (() => performance.now());
    if (!(this.#ttlMs > 0) || !(this.#maxEntries >= 1) || !(this.#maxBytes >= 0)) {
      throw new RangeError('ReplyCache: ttlMs > 0, maxEntries >= 1 and maxBytes >= 0 are required');
    }
  }

  /** The cached reply for `cookie`, or undefined when absent or expired. */
  get(cookie: string): T | undefined {
    if (this.#closed) return undefined;
    this.#expire(this.#now());
    return this.#entries.get(cookie)?.reply;
  }

  /**
   * Caches `reply` for `cookie` for one TTL from now. Setting an existing cookie replaces the
   * reply and restarts its TTL. A reply larger than maxBytes is not cached at all.
   */
  set(cookie: string, reply: T): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#expire(now);
    this.#remove(cookie);
    const size = this.#sizeOf(reply);
    if (size > this.#maxBytes) return;
    while (this.#entries.size >= this.#maxEntries || this.#bytes + size > this.#maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#remove(oldest.value);
    }
    this.#entries.set(cookie, { reply, expiresAt: now + this.#ttlMs, size });
    this.#bytes += size;
  }

  /** Forgets one cookie; true when it was cached. */
  delete(cookie: string): boolean {
    return this.#remove(cookie);
  }

  /** Entries currently held (expired ones may still count until the next get/set). */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes currently held, as counted by `sizeOf`. */
  get bytes(): number {
    return this.#bytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Drops every entry; later get() misses and set() is ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#entries.clear();
    this.#bytes = 0;
  }

  #remove(cookie: string): boolean {
    const e = this.#entries.get(cookie);
    if (e === undefined) return false;
    this.#entries.delete(cookie);
    this.#bytes -= e.size;
    return true;
  }

  #expire(now: number): void {
    for (const [cookie, e] of this.#entries) {
      if (e.expiresAt > now) break; // insertion order = expiry order (one TTL for all)
      this.#remove(cookie);
    }
  }
}
