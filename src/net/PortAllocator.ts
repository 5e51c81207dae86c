// Media port pairs from a configured range: RTP on an even port, RTCP on the next odd one
// (RFC 3550 §11). Ports are handed out round-robin so a just-released port is not reused
// at once (late packets of the old call would land in the new one).
import { RelayError } from '../errors.ts';

export interface PortRange {
  /** Lowest port, inclusive; rounded up to even. Default 30000. */
  min: number;
  /** Highest port, inclusive. Default 40000. */
  max: number;
}

export class PortAllocator {
  readonly #min: number;
  readonly #pairs: number;
  readonly #used: Uint8Array;
  #next = 0;
  #inUse = 0;

  constructor(range: PortRange) {
    const min = range.min + (range.min & 1);
    if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || min < 1024 || range.max > 65535 || range.max < min + 1) {
      throw new RelayError('E_BAD_REQUEST', 'invalid media port range', { min: range.min, max: range.max });
    }
    this.#min = min;
    this.#pairs = Math.floor((range.max - min + 1) / 2);
    this.#used = new Uint8Array(this.#pairs);
  }

  get capacity(): number { return this.#pairs; }
  get inUse(): number { return this.#inUse; }

  /** Reserves a free pair and returns its even (RTP) port. Throws E_PORTS_EXHAUSTED. */
  allocate(): number {
    for (let i = 0; i < this.#pairs; i++) {
      const k = (this.#next + i) % this.#pairs;
      if (this.#used[k] === 0) {
        this.#used[k] = 1;
        this.#inUse++;
        this.#next = (k + 1) % this.#pairs;
        return this.#min + 2 * k;
      }
    }
    throw new RelayError('E_PORTS_EXHAUSTED', 'Ran out of ports', { capacity: this.#pairs });
  }

  /**
   * Reserves the pair starting at `rtpPort` exactly (rebinding a call on the same port, e.g.
   * on takeover from a failed relay). Throws E_BAD_REQUEST for an odd port or one outside the
   * range, E_PORTS_EXHAUSTED when the pair is in use.
   */
  reserve(rtpPort: number): void {
    const k = (rtpPort - this.#min) / 2;
    if (!Number.isInteger(k) || k < 0 || k >= this.#pairs) {
      throw new RelayError('E_BAD_REQUEST', 'port is not an even port of the media range', { port: rtpPort });
    }
    if (this.#used[k] !== 0) throw new RelayError('E_PORTS_EXHAUSTED', 'port in use', { port: rtpPort });
    this.#used[k] = 1;
    this.#inUse++;
  }

  /** Frees a pair (ignored when it is not in use). */
  release(rtpPort: number): void {
    const k = (rtpPort - this.#min) / 2;
    if (!Number.isInteger(k) || k < 0 || k >= this.#pairs || this.#used[k] === 0) return;
    this.#used[k] = 0;
    this.#inUse--;
  }
}
