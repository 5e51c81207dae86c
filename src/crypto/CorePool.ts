// Cores for standalone SrtpSessions: created on demand, one more whenever all are full, so
// the convenience API has no fixed session limit. The relay sizes its own cores instead.
import { CryptoCore, type CryptoCoreOptions } from './CryptoCore.ts';

export class CorePool {
  readonly #options: CryptoCoreOptions;
  readonly #cores: CryptoCore[] = [];

  constructor(options: CryptoCoreOptions) {
    this.#options = options;
  }

  /** A core with at least `slots` free context slots. */
  acquire(slots: number): CryptoCore {
    for (const c of this.#cores) if (c.maxContexts - c.liveContexts >= slots) return c;
    const core = CryptoCore.loadSync(this.#options);
    this.#cores.push(core);
    return core;
  }
}

const pools = new Map<number, CorePool>();

/** The shared pool whose cores allow replay windows up to `window`. */
export function poolForWindow(window: number): CorePool {
  // Two size classes keep the common case small: a 32768-packet ring costs 8 KiB per SSRC.
  const ring = window <= 1024 ? 1024 : 32768;
  let pool = pools.get(ring);
  if (!pool) {
    pool = new CorePool({ maxContexts: ring === 1024 ? 512 : 64, maxSsrcsPerContext: 8, maxReplayWindow: ring });
    pools.set(ring, pool);
  }
  return pool;
}
