// AES-f8 (RFC 3711 §4.1.2) for SRTP and SRTCP: F8_128_HMAC_SHA1_80 / _32. Kept for interop
// with endpoints from the 3GPP era only; policy leaves it off unless allowF8 is set.
//
//   m   = k_s || 0x55..55            (as long as the key)
//   IV' = E(k_e XOR m, IV)
//   S(j) = E(k_e, IV' XOR j XOR S(j-1)),  S(-1) = 0,  j a 128-bit big-endian counter
//
// Each keystream block feeds the next, so f8 cannot use the batched CTR path: it costs one
// full call of the (4- or 8-lane) bitsliced block function per 16 bytes. Constant time as
// the AES below it: nothing branches on or indexes by key or data, only lengths do.
//
// The masked key k_e XOR m is kept raw (16 bytes, in the key block's spare auth space, see
// K_F8_MASK in context.ts) and expanded per packet into MASKED_RK, which is wiped at once.
// Keeping its expansion would take another AES_RK_BYTES (964 or 1924 bytes) in every key
// block of every context for a suite almost nobody negotiates; one extra key expansion per
// packet is the cheaper trade for an interop-only mode.
import { AES_RK_BYTES, aesExpandKey, aesEncryptBlock } from '../aes';
import { ld32be, st32be } from '../bytes';

const MASKED_RK: usize = memory.data(AES_RK_BYTES, 64);
const IV: usize = memory.data(16, 16); // IV, then IV'
const S: usize = memory.data(16, 16);  // S(j-1), then S(j)

/** out = k_e XOR m, m = k_s || 0x55..55 as long as the key (RFC 3711 §4.1.2.1). */
export function f8MaskKey(keyPtr: usize, keyLen: i32, saltPtr: usize, saltLen: i32, outPtr: usize): void {
  for (let i = 0; i < keyLen; i++) {
    const m: u8 = i < saltLen ? load<u8>(saltPtr + <usize>i) : 0x55;
    store<u8>(outPtr + <usize>i, load<u8>(keyPtr + <usize>i) ^ m);
  }
}

/** data ^= the f8 keystream for the IV in IV. rkPtr: expanded k_e; maskedPtr: raw k_e XOR m. */
function f8Xor(rkPtr: usize, maskedPtr: usize, keyLen: i32, data: usize, len: i32): void {
  aesExpandKey(maskedPtr, keyLen, MASKED_RK);
  aesEncryptBlock(MASKED_RK, IV, IV);
  memory.fill(MASKED_RK, 0, <usize>AES_RK_BYTES);
  store<u64>(S, 0);
  store<u64>(S, 0, 8);
  let j: u32 = 0;
  for (let off = 0; off < len; off += 16) {
    store<u64>(S, load<u64>(S) ^ load<u64>(IV));
    store<u32>(S, load<u32>(S, 8) ^ load<u32>(IV, 8), 8);
    st32be(S + 12, ld32be(S + 12) ^ ld32be(IV + 12) ^ j); // j < 2^32: a packet is at most MAX_PACKET bytes
    aesEncryptBlock(rkPtr, S, S);
    const p = data + <usize>off;
    if (len - off >= 16) {
      store<u64>(p, load<u64>(p) ^ load<u64>(S));
      store<u64>(p, load<u64>(p, 8) ^ load<u64>(S, 8), 8);
    } else {
      for (let i = 0; i < len - off; i++) store<u8>(p + <usize>i, load<u8>(p + <usize>i) ^ load<u8>(S + <usize>i));
    }
    j++;
  }
  memory.fill(IV, 0, 16);
  memory.fill(S, 0, 16);
}

/** SRTP (§4.1.2.2): IV = 0x00 || M || PT || SEQ || TS || SSRC || ROC; transforms the payload
 *  [hdr, len) of the RTP packet at ptr in place (encryption and decryption are the same). */
export function f8XorRtp(rkPtr: usize, maskedPtr: usize, keyLen: i32, ptr: usize, hdr: i32, len: i32, roc: u32): void {
  memory.copy(IV, ptr, 12);
  store<u8>(IV, 0);
  st32be(IV + 12, roc);
  f8Xor(rkPtr, maskedPtr, keyLen, ptr + <usize>hdr, len - hdr);
}

/** SRTCP (§4.1.2.3): IV = 0 (32 bits) || E || SRTCP index || V P RC PT length SSRC;
 *  transforms [8, len) of the RTCP packet at ptr in place. eIndex is E || index. */
export function f8XorRtcp(rkPtr: usize, maskedPtr: usize, keyLen: i32, ptr: usize, len: i32, eIndex: u32): void {
  store<u32>(IV, 0);
  st32be(IV + 4, eIndex);
  memory.copy(IV + 8, ptr, 8);
  f8Xor(rkPtr, maskedPtr, keyLen, ptr + 8, len - 8);
}
