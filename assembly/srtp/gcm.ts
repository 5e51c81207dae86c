// AEAD_AES_128_GCM / AEAD_AES_256_GCM for SRTP and SRTCP (RFC 7714). The tag is GHASH over
// AAD and ciphertext, masked with E_K(J0); AAD is the RTP header (SRTP) or the first eight
// bytes of RTCP plus E||index (SRTCP). Callers do index, replay and commit; these functions
// only seal (encrypt + tag) and open (verify, then decrypt — nothing is decrypted before the
// tag has been checked in constant time).
import { aesCtrXor, aesEncryptBlock } from '../aes';
import { ghashInit, ghashUpdate, ghashLengths } from '../ghash';
import { ctEqual, ld32be, st32be } from '../bytes';
import { K_RK, K_SALT, K_AUTH } from './context';

export const GCM_TAG: i32 = 16;

const J: usize = memory.data(16, 16);     // J0, then the counter block J0 + 1
const ACC: usize = memory.data(16, 16);   // GHASH accumulator
const EJ0: usize = memory.data(16, 16);
const AAD: usize = memory.data(16, 16);   // SRTCP AAD: header (8) || E||index (4)
const TAG: usize = memory.data(16, 16);   // received tag, kept while the packet is rearranged
const SAVE: usize = memory.data(16, 16);  // the 16 bytes borrowed in front of the payload

/**
 * Sealing: E_K(J0) and the payload's keystream from ONE aesCtrXor call starting at J0, run
 * over the payload and the 16 bytes in front of it (borrowed: saved, zeroed, then restored).
 * Bitsliced AES works in batches of 8 (SIMD) or 4 blocks, so a separate E_K(J0) would cost
 * a whole extra batch per packet. Opening keeps them apart: the tag is checked before a
 * single byte is decrypted, which also keeps forged packets cheap to reject.
 */
@inline function sealCtr(keys: usize, data: usize, n: i32): void {
  const pre = data - 16;
  memory.copy(SAVE, pre, 16);
  memory.fill(pre, 0, 16);
  st32be(J + 12, 1);
  aesCtrXor(keys + K_RK, J, pre, n + 16);
  memory.copy(EJ0, pre, 16);
  memory.copy(pre, SAVE, 16);
}

/** ACC = GHASH(AAD, C) XOR EJ0, with EJ0 already computed. */
@inline function finishTag(keys: usize, aad: usize, aadLen: i32, ct: usize, ctLen: i32): void {
  const gk = keys + K_AUTH;
  ghashInit(ACC);
  ghashUpdate(gk, ACC, aad, aadLen);
  ghashUpdate(gk, ACC, ct, ctLen);
  ghashLengths(gk, ACC, <u64>aadLen << 3, <u64>ctLen << 3);
  store<u64>(ACC, load<u64>(ACC) ^ load<u64>(EJ0));
  store<u64>(ACC, load<u64>(ACC, 8) ^ load<u64>(EJ0, 8), 8);
}

/** IV = salt XOR (0x0000 || SSRC || w1 || w2), big-endian; J0 = IV || 0x00000001. */
@inline function buildJ0(keys: usize, ssrc: u32, w1: u32, w2: u32): void {
  const salt = keys + K_SALT;
  store<u16>(J, load<u16>(salt));
  st32be(J + 2, ld32be(salt + 2) ^ ssrc);
  st32be(J + 6, ld32be(salt + 6) ^ w1);
  store<u16>(J, load<u16>(salt, 10), 10);
  store<u8>(J + 10, load<u8>(J + 10) ^ <u8>(w2 >> 8));
  store<u8>(J + 11, load<u8>(J + 11) ^ <u8>w2);
  st32be(J + 12, 1);
}

/** Computes the expected tag into ACC for AAD aad[0..aadLen) and ciphertext ct[0..ctLen). */
@inline function computeTag(keys: usize, aad: usize, aadLen: i32, ct: usize, ctLen: i32): void {
  aesEncryptBlock(keys + K_RK, J, EJ0);
  finishTag(keys, aad, aadLen, ct, ctLen);
}

@inline function ctrFromJ0(): void { st32be(J + 12, 2); }

// ---- SRTP: IV = salt ^ (0000 || SSRC || ROC || SEQ) ----

@inline function rtpJ0(keys: usize, ssrc: u32, index: u64): void {
  // bytes 6..9 = ROC, 10..11 = SEQ
  buildJ0(keys, ssrc, <u32>(index >> 16), <u32>(index & 0xffff));
}

/** Encrypts payload [hdr, len) and writes the 16-byte tag at ptr + len. */
export function gcmSealRtp(keys: usize, ssrc: u32, index: u64, ptr: usize, hdr: i32, len: i32): void {
  rtpJ0(keys, ssrc, index);
  sealCtr(keys, ptr + <usize>hdr, len - hdr);
  finishTag(keys, ptr, hdr, ptr + <usize>hdr, len - hdr);
  memory.copy(ptr + <usize>len, ACC, 16);
}

/** Verifies the tag at ptr + ctEnd over header [0, hdr) and ciphertext [hdr, ctEnd), then
 *  decrypts. False (and nothing decrypted) when the tag is wrong. */
export function gcmOpenRtp(keys: usize, ssrc: u32, index: u64, ptr: usize, hdr: i32, ctEnd: i32): bool {
  rtpJ0(keys, ssrc, index);
  computeTag(keys, ptr, hdr, ptr + <usize>hdr, ctEnd - hdr);
  if (!ctEqual(ACC, ptr + <usize>ctEnd, 16)) return false;
  ctrFromJ0();
  aesCtrXor(keys + K_RK, J, ptr + <usize>hdr, ctEnd - hdr);
  return true;
}

// ---- SRTCP: IV = salt ^ (0000 || SSRC || 0000 || 0 || index31) ----

@inline function rtcpJ0(keys: usize, ssrc: u32, index: u32): void {
  // bytes 6..7 = 0, 8..11 = 0 || index: w1 covers bytes 6..9, w2 bytes 10..11.
  buildJ0(keys, ssrc, index >>> 16, index & 0xffff);
}

/** Seals an RTCP packet of len bytes with E = 1: header | ciphertext | tag | E||index. */
export function gcmSealRtcp(keys: usize, ssrc: u32, index: u32, ptr: usize, len: i32): void {
  rtcpJ0(keys, ssrc, index);
  memory.copy(AAD, ptr, 8);
  st32be(AAD + 8, 0x80000000 | index);
  sealCtr(keys, ptr + 8, len - 8);
  finishTag(keys, AAD, 12, ptr + 8, len - 8);
  memory.copy(ptr + <usize>len, ACC, 16);
  st32be(ptr + <usize>(len + 16), 0x80000000 | index);
}

/** Opens header | body | tag(at tagPos) | E||index. With E = 1 the body is ciphertext; with
 *  E = 0 (only when policy allows) the whole packet and E||index are AAD and nothing is
 *  decrypted. False when the tag is wrong. */
export function gcmOpenRtcp(keys: usize, ssrc: u32, index: u32, encrypted: bool, ptr: usize, tagPos: i32): bool {
  rtcpJ0(keys, ssrc, index);
  if (encrypted) {
    memory.copy(AAD, ptr, 8);
    st32be(AAD + 8, 0x80000000 | index);
    computeTag(keys, AAD, 12, ptr + 8, tagPos - 8);
    if (!ctEqual(ACC, ptr + <usize>tagPos, 16)) return false;
    ctrFromJ0();
    aesCtrXor(keys + K_RK, J, ptr + 8, tagPos - 8);
    return true;
  }
  // AAD must be one contiguous run: move E||index over the tag, which is kept aside.
  memory.copy(TAG, ptr + <usize>tagPos, 16);
  st32be(ptr + <usize>tagPos, index);
  computeTag(keys, ptr, tagPos + 4, 0, 0);
  return ctEqual(ACC, TAG, 16) != 0;
}
