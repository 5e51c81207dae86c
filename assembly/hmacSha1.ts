// HMAC-SHA1 (RFC 2104) with the inner and outer midstates precomputed once per key, so a
// tag costs the message blocks plus one outer block: for a 172-byte SRTP packet, 4 compressions.
import { sha1Compress } from './sha1Compress';
import { st32be } from './bytes';

/** State layout: inner midstate (20 bytes) at 0, outer midstate (20 bytes) at 32. */
export const HMAC_STATE_BYTES: i32 = 64;

// One 64-byte block for the message tail and padding, one for the outer hash input, and a
// 20-byte working state. Static: nothing is allocated per packet.
const TAIL: usize = memory.data(128, 64);
const OUTER: usize = memory.data(64, 64);
const WSTATE: usize = memory.data(32, 64);
const KEYBLOCK: usize = memory.data(64, 64);

@inline function sha1InitState(p: usize): void {
  store<u32>(p, 0x67452301, 0);
  store<u32>(p, 0xefcdab89, 4);
  store<u32>(p, 0x98badcfe, 8);
  store<u32>(p, 0x10325476, 12);
  store<u32>(p, 0xc3d2e1f0, 16);
}

@inline function copyState(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u32>(dst, load<u32>(src, 16), 16);
}

/** Hashes a||b into the running state at `st` whose `prefix` bytes (a multiple of 64) were
 *  already absorbed, then pads. Result stays in `st` as five host-order words. */
function sha1Finish2(st: usize, prefix: i32, a: usize, aLen: i32, b: usize, bLen: i32): void {
  let off = 0;
  // Full blocks straight from a.
  for (; off + 64 <= aLen; off += 64) sha1Compress(st, a + <usize>off);
  let rem = aLen - off;
  memory.copy(TAIL, a + <usize>off, <usize>rem);
  // b is short (4 bytes of ROC, or empty) in every SRTP use, but handle any length.
  let bOff = 0;
  while (bOff < bLen) {
    const take = min(64 - rem, bLen - bOff);
    memory.copy(TAIL + <usize>rem, b + <usize>bOff, <usize>take);
    rem += take; bOff += take;
    if (rem == 64) { sha1Compress(st, TAIL); rem = 0; }
  }
  const total: u64 = <u64>(prefix + aLen + bLen) << 3;
  store<u8>(TAIL + <usize>rem, 0x80);
  rem++;
  if (rem > 56) {
    memory.fill(TAIL + <usize>rem, 0, <usize>(64 - rem));
    sha1Compress(st, TAIL);
    rem = 0;
  }
  memory.fill(TAIL + <usize>rem, 0, <usize>(56 - rem));
  store<u64>(TAIL, bswap<u64>(total), 56);
  sha1Compress(st, TAIL);
}

@inline function storeDigest(st: usize, out: usize): void {
  for (let i = 0; i < 5; i++) st32be(out + <usize>(i * 4), load<u32>(st + <usize>(i * 4)));
}

/** SHA-1 of data, 20 bytes to out. Control path and tests only. */
export function sha1Digest(dataPtr: usize, len: i32, outPtr: usize): void {
  sha1InitState(WSTATE);
  sha1Finish2(WSTATE, 0, dataPtr, len, 0, 0);
  storeDigest(WSTATE, outPtr);
}

/** Precomputes the HMAC midstates for a key of any length into statePtr. */
export function hmacSha1Init(keyPtr: usize, keyLen: i32, statePtr: usize): void {
  memory.fill(KEYBLOCK, 0, 64);
  if (keyLen > 64) sha1Digest(keyPtr, keyLen, KEYBLOCK);
  else memory.copy(KEYBLOCK, keyPtr, <usize>keyLen);
  for (let i = 0; i < 64; i++) store<u8>(TAIL + <usize>i, load<u8>(KEYBLOCK + <usize>i) ^ 0x36);
  sha1InitState(statePtr);
  sha1Compress(statePtr, TAIL);
  for (let i = 0; i < 64; i++) store<u8>(TAIL + <usize>i, load<u8>(KEYBLOCK + <usize>i) ^ 0x5c);
  sha1InitState(statePtr + 32);
  sha1Compress(statePtr + 32, TAIL);
  memory.fill(KEYBLOCK, 0, 64);
  memory.fill(TAIL, 0, 128);
}

/** HMAC over a||b with precomputed state; writes the 20-byte MAC to outPtr. */
export function hmacSha1Two(statePtr: usize, a: usize, aLen: i32, b: usize, bLen: i32, outPtr: usize): void {
  copyState(WSTATE, statePtr);
  sha1Finish2(WSTATE, 64, a, aLen, b, bLen);
  // Outer: the 20-byte inner digest plus padding fits one block after the ipad block.
  storeDigest(WSTATE, OUTER);
  store<u8>(OUTER, 0x80, 20);
  memory.fill(OUTER + 21, 0, 35);
  store<u64>(OUTER, bswap<u64>(<u64>(64 + 20) << 3), 56);
  copyState(WSTATE, statePtr + 32);
  sha1Compress(WSTATE, OUTER);
  storeDigest(WSTATE, outPtr);
}

export function hmacSha1Compute(statePtr: usize, dataPtr: usize, len: i32, outPtr: usize): void {
  hmacSha1Two(statePtr, dataPtr, len, 0, 0, outPtr);
}
