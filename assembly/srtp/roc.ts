// RFC 3711 §3.3.1 / Appendix A: estimate a packet's 48-bit index from its 16-bit sequence
// number and the highest index seen so far. Pure: reads nothing else, writes nothing.

/** Returns the estimated index, or -1 when the guess would need a negative ROC. */
@inline export function estimateIndex(top: u64, seq: u32): i64 {
  const roc = <i64>(top >> 16);
  const sl = <i32>(top & 0xffff);
  const s = <i32>seq;
  let v = roc;
  if (sl < 32768) {
    if (s - sl > 32768) v = roc - 1;
  } else {
    if (sl - 32768 > s) v = roc + 1;
  }
  if (v < 0 || v > 0xffffffff) return -1;
  return (v << 16) | <i64>s;
}
