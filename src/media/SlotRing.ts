// Free list over the core's packet slots. A slot is taken when a datagram arrives and given
// back by the send callback, so a buffer is never overwritten while the kernel may still
// read it. The callbacks are made once per slot: nothing is allocated per packet.
export class SlotRing {
  readonly #free: Int32Array;
  #top: number;
  readonly onSent: ReadonlyArray<(err: Error | null) => void>;
  sendErrors = 0;

  constructor(slots: number) {
    this.#free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.#free[i] = slots - 1 - i;
    this.#top = slots;
    const cbs: ((err: Error | null) => void)[] = [];
    for (let i = 0; i < slots; i++) {
      cbs.push((err) => {
        if (err) this.sendErrors++;
        this.release(i);
      });
    }
    this.onSent = cbs;
  }

  get available(): number { return this.#top; }

  /** A free slot index, or -1 when every slot is waiting on a send. */
  acquire(): number {
    return this.#top === 0 ? -1 : this.#free[--this.#top]!;
  }

  release(slot: number): void {
    this.#free[this.#top++] = slot;
  }
}
