// Sliding replay window over a ring bitmap (RFC 3711 §3.3.2). Split in two so unprotect can
// check before authenticating and commit only after: `replayCheck` reads, `replayCommit` writes.
// The ring has `ringBits` positions (a power of two ≥ the window); bit (idx & (ringBits-1))
// tells whether idx was accepted. `top` is the highest accepted index.
import { ST_OK, ST_REPLAY_DUPLICATE, ST_REPLAY_OLD } from '../abi';

@inline function bitWord(bitmap: usize, ringBits: u64, idx: u64): usize {
  return bitmap + <usize>(((idx & (ringBits - 1)) >> 6) << 3);
}

/** ST_OK when idx may be accepted; never writes. `initialized` false means nothing seen yet. */
@inline export function replayCheck(bitmap: usize, ringBits: u64, window: u64, initialized: bool, top: u64, idx: u64): i32 {
  if (!initialized || idx > top) return ST_OK;
  if (top - idx >= window) return ST_REPLAY_OLD;
  const w = load<u64>(bitWord(bitmap, ringBits, idx));
  if ((w >> (idx & 63)) & 1) return ST_REPLAY_DUPLICATE;
  return ST_OK;
}

/** Records idx as accepted; returns the new top. Call only after replayCheck said ST_OK and
 *  the packet authenticated. */
export function replayCommit(bitmap: usize, ringBits: u64, initialized: bool, top: u64, idx: u64): u64 {
  if (!initialized) {
    memory.fill(bitmap, 0, <usize>(ringBits >> 3));
  } else if (idx > top) {
    const shift = idx - top;
    if (shift >= ringBits) {
      memory.fill(bitmap, 0, <usize>(ringBits >> 3));
    } else {
      // Clear the positions top+1 .. idx, which may still hold bits from a lap ago.
      let pos = top + 1;
      while (pos <= idx) {
        if ((pos & 63) == 0 && idx - pos >= 63) {
          store<u64>(bitWord(bitmap, ringBits, pos), 0);
          pos += 64;
        } else {
          const p = bitWord(bitmap, ringBits, pos);
          store<u64>(p, load<u64>(p) & ~(<u64>1 << (pos & 63)));
          pos++;
        }
      }
    }
  }
  const p = bitWord(bitmap, ringBits, idx);
  store<u64>(p, load<u64>(p) | (<u64>1 << (idx & 63)));
  return !initialized || idx > top ? idx : top;
}

/**
 * Marks every index ≤ floor as seen (a takeover floor, see ctxApplyFloor) and returns the new
 * top. Control path only: at most ringBits bit writes.
 */
export function replayMarkThrough(bitmap: usize, ringBits: u64, initialized: bool, top: u64, floor: u64): u64 {
  if (!initialized || floor >= top) {
    // Every ring position then stands for an index ≤ floor.
    memory.fill(bitmap, 0xff, <usize>(ringBits >> 3));
    return floor;
  }
  // Below top: only positions still inside a window (less than ringBits behind top) matter.
  let idx = floor;
  while (top - idx < ringBits) {
    const p = bitWord(bitmap, ringBits, idx);
    store<u64>(p, load<u64>(p) | (<u64>1 << (idx & 63)));
    if (idx == 0) break;
    idx--;
  }
  return top;
}
