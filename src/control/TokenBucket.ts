// Token bucket for control commands: `rate` tokens per second, at most `burst` saved up.
// Refilled lazily from a monotonic clock on each take(), so it needs no timer.

export interface TokenBucketOptions {
  /** Tokens added per second; 0 disables the limit (take() always succeeds). */
  rate: number;
  /** Largest number of tokens held, i.e. the longest burst allowed. Default: max(1, rate). */
  burst?: number;
  /** Monotonic clock in ms (injectable for tests). Default performance.now. */
  now?: () => number;
}

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.rate >= 0) || !Number.isFinite(options.rate)) throw new RangeError('TokenBucket: rate must be a finite number >= 0');
    this.rate = options.rate;
    this.burst = options.burst ?? Math.max(1, options.rate);
    if (!(this.burst >= 1)) throw new RangeError('TokenBucket: burst must be >= 1');
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
    this.#last = this.#now();
  }

  /** Takes one token; false when none is left (the caller refuses the command). */
  take(): boolean {
    if (this.rate === 0) return true;
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
