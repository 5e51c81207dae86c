// mulberry32: a small seeded generator, so a failing randomized test can be replayed from its
// seed. One implementation for the interop, DTLS and fuzz tests.
export class SeededRng {
  #s: number;
  constructor(seed: number) { this.#s = seed >>> 0; }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  u32(): number { return Math.floor(this.next() * 4294967296) >>> 0; }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
  pick<T>(xs: readonly T[]): T {
    const x = xs[Math.floor(this.next() * xs.length)];
    if (x === undefined) throw new Error('pick from an empty list');
    return x;
  }
}

/** With an inclusive integer range. */
export class Rng extends SeededRng {
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
}
