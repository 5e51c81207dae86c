// RTP header bounds (RFC 3550 §5.1, §5.3.1): every length field is checked against the
// bytes actually present before anything is read past the fixed header.

/** Length of the RTP header (fixed + CSRCs + extension) within len bytes, or -1 if it
 *  does not fit or the version is not 2. */
@inline export function rtpHeaderLen(p: usize, len: i32): i32 {
  if (len < 12) return -1;
  const b0 = <i32>load<u8>(p);
  if ((b0 >> 6) != 2) return -1;
  let h = 12 + ((b0 & 0x0f) << 2);
  if (b0 & 0x10) {
    if (h + 4 > len) return -1;
    const words = (<i32>load<u8>(p + <usize>h + 2) << 8) | <i32>load<u8>(p + <usize>h + 3);
    h += 4 + (words << 2);
  }
  if (h > len) return -1;
  return h;
}

/** True when the padding count (last byte) is possible for a payload of payloadLen bytes
 *  ending at end. Only meaningful when the P bit is set. */
@inline export function paddingOk(p: usize, end: i32, payloadLen: i32): bool {
  if (payloadLen < 1) return false;
  const n = <i32>load<u8>(p + <usize>(end - 1));
  return n >= 1 && n <= payloadLen;
}
