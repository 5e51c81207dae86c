// What the per-packet code needs from its relay, gathered in one object so the hot path
// makes no chain of lookups: the crypto core, the slot ring, and a coarse clock.
import type { CryptoCore } from '../crypto/CryptoCore.ts';
import { SlotRing } from './SlotRing.ts';

export class DataPath {
  readonly core: CryptoCore;
  readonly ring: SlotRing;
  /** Room left in a slot for the largest trailer a protect may add. */
  readonly maxPacket: number;
  /** Coarse clock in ms, advanced by the relay's timer, read per packet for free. */
  now = Date.now();

  constructor(core: CryptoCore) {
    this.core = core;
    this.ring = new SlotRing(core.ringSlots);
    this.maxPacket = core.slotBytes - 64;
  }
}
