// SRTP protect / unprotect (RFC 3711 §3.3), in place on a packet in linear memory.
// Unprotect order is fixed: length → MKI → index estimate → replay check → constant-time tag
// check → decrypt → commit ROC, replay and (KDR) re-derived keys. Nothing in the context
// changes before the tag verifies, and an unknown SSRC gets an entry only after it does.
import {
  ST_BAD_CTX, ST_TOO_SHORT, ST_BAD_HEADER, ST_AUTH_FAIL, ST_KEY_EXPIRED, ST_SSRC_TABLE_FULL,
  ST_BAD_PADDING, ST_NO_ROOM, ST_INDEX_REUSE, ST_REPLAY_OLD, ST_REPLAY_DUPLICATE, ST_OK,
  ST_UNKNOWN_MKI, CIPHER_NULL, CIPHER_AES_GCM, CIPHER_AES_F8, FLAG_ALLOW_REPEAT_TX, EV_SRTP_SOFT_LIMIT,
} from '../abi';
import { aesCtrXor } from '../aes';
import { hmacSha1Two } from '../hmacSha1';
import { ctEqual, ld16be, ld32be, st32be } from '../bytes';
import {
  slotOf, findEntry, addEntry, ctxRingBits, entryRtpBitmap, keySet, findKey, keysFor, commitKeys,
  dropKeys, readMki, writeMki,
  C_CIPHER, C_KEY_LEN, C_RTP_TAG, C_FLAGS, C_WINDOW, C_EVENTS, C_MKI_LEN, C_TX_KEY,
  K_RK, K_SALT, K_AUTH, K_F8_MASK, KS_MKI, KS_SRTP_COUNT, KS_SRTP_LIMIT,
  S_STATE, S_RTP_TOP, S_PRESET_ROC, S_RTP_FLOOR, SS_RTP_INIT, SS_ROC_PRESET, SS_FLOOR,
} from './context';
import { estimateIndex } from './roc';
import { replayCheck, replayCommit, replayMarkThrough } from './replay';
import { rtpHeaderLen, paddingOk } from './rtpHeader';
import { gcmSealRtp, gcmOpenRtp } from './gcm';
import { f8XorRtp } from './f8';

const IV: usize = memory.data(16, 16);
const ROC_BUF: usize = memory.data(8, 8);
const MAC: usize = memory.data(32, 16);

@inline export function inBounds(ptr: usize, n: i32): bool {
  return n >= 0 && ptr + <usize>n <= (<usize>memory.size() << 16);
}

/** AES-CM IV (RFC 3711 §4.1.1): (salt << 16) ^ (SSRC << 64) ^ (index << 16). */
@inline export function buildCmIv(saltPtr: usize, ssrc: u32, index: u64): void {
  memory.copy(IV, saltPtr, 14);
  store<u16>(IV, 0, 14);
  st32be(IV + 4, ld32be(IV + 4) ^ ssrc);
  // index occupies bytes 8..13.
  st32be(IV + 8, ld32be(IV + 8) ^ <u32>(index >> 16));
  store<u8>(IV + 12, load<u8>(IV + 12) ^ <u8>(index >> 8));
  store<u8>(IV + 13, load<u8>(IV + 13) ^ <u8>index);
}
export function cmIvPtr(): usize { return IV; }

/** Soft limit: 2^16 packets before the hard one (half of it for tiny SDES lifetimes). */
@inline export function softLimitOf(limit: u64): u64 {
  return limit > (<u64>1 << 17) ? limit - (<u64>1 << 16) : limit >> 1;
}

/** Index for the sender: the same estimate as the receiver, against what this context sent. */
@inline function senderIndex(e: usize, seq: u32): i64 {
  const state = load<u32>(e, S_STATE);
  if (state & SS_RTP_INIT) return estimateIndex(load<u64>(e, S_RTP_TOP), seq);
  const roc: u64 = state & SS_ROC_PRESET ? <u64>load<u32>(e, S_PRESET_ROC) : 0;
  return <i64>((roc << 16) | <u64>seq);
}

@inline function countPacket(p: usize, ks: usize): void {
  const n = load<u64>(ks, KS_SRTP_COUNT) + 1;
  store<u64>(ks, n, KS_SRTP_COUNT);
  if (n == softLimitOf(load<u64>(ks, KS_SRTP_LIMIT))) store<i32>(p, load<i32>(p, C_EVENTS) | EV_SRTP_SOFT_LIMIT, C_EVENTS);
}

/** Protects the RTP packet at ptr (len bytes, cap bytes of room). Returns the new length. */
export function srtpProtect(handle: i32, ptr: usize, len: i32, cap: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, cap) || len > cap) return ST_NO_ROOM;
  const hdr = rtpHeaderLen(ptr, len);
  if (hdr < 0) return len < 12 ? ST_TOO_SHORT : ST_BAD_HEADER;
  if ((load<u8>(ptr) & 0x20) && !paddingOk(ptr, len, len - hdr)) return ST_BAD_PADDING;
  const tagLen = load<i32>(p, C_RTP_TAG);
  const mkiLen = load<i32>(p, C_MKI_LEN);
  if (len + mkiLen + tagLen > cap) return ST_NO_ROOM;
  const ks = keySet(p, load<i32>(p, C_TX_KEY));
  if (load<u64>(ks, KS_SRTP_COUNT) >= load<u64>(ks, KS_SRTP_LIMIT)) return ST_KEY_EXPIRED;

  const ssrc = ld32be(ptr + 8);
  let e = findEntry(p, ssrc);
  if (e == 0) {
    e = addEntry(p, ssrc);
    if (e == 0) return ST_SSRC_TABLE_FULL;
  }
  const est = senderIndex(e, ld16be(ptr + 2));
  if (est < 0) return ST_REPLAY_OLD;
  const index = <u64>est;
  const state = load<u32>(e, S_STATE);
  // A takeover floor holds whatever else says yes: after ctxSetRoc, and with FLAG_ALLOW_REPEAT_TX.
  if ((state & SS_FLOOR) != 0 && index <= load<u64>(e, S_RTP_FLOOR)) return ST_INDEX_REUSE;
  const init = (state & SS_RTP_INIT) != 0;
  const top = load<u64>(e, S_RTP_TOP);
  if ((load<i32>(p, C_FLAGS) & FLAG_ALLOW_REPEAT_TX) == 0) {
    const rc = replayCheck(entryRtpBitmap(e), ctxRingBits(), <u64>load<i32>(p, C_WINDOW), init, top, index);
    if (rc == ST_REPLAY_DUPLICATE) return ST_INDEX_REUSE;
    if (rc != ST_OK) return rc;
  }

  const keys = keysFor(p, ks, index, false);
  const cipher = load<i32>(p, C_CIPHER);
  if (cipher == CIPHER_AES_GCM) {
    // RFC 7714: header | ciphertext | tag | MKI.
    gcmSealRtp(keys, ssrc, index, ptr, hdr, len);
    if (mkiLen > 0) writeMki(ptr + <usize>(len + tagLen), mkiLen, load<u32>(ks, KS_MKI));
  } else {
    if (cipher == CIPHER_AES_F8) {
      f8XorRtp(keys + K_RK, keys + K_F8_MASK, load<i32>(p, C_KEY_LEN), ptr, hdr, len, <u32>(index >> 16));
    } else if (cipher != CIPHER_NULL) {
      buildCmIv(keys + K_SALT, ssrc, index);
      aesCtrXor(keys + K_RK, IV, ptr + <usize>hdr, len - hdr);
    }
    // The MKI is not authenticated (RFC 3711 §3.1): the tag covers header, payload and ROC.
    st32be(ROC_BUF, <u32>(index >> 16));
    hmacSha1Two(keys + K_AUTH, ptr, len, ROC_BUF, 4, MAC);
    if (mkiLen > 0) writeMki(ptr + <usize>len, mkiLen, load<u32>(ks, KS_MKI));
    memory.copy(ptr + <usize>(len + mkiLen), MAC, <usize>tagLen);
  }

  commitKeys(p, ks, keys, index, false);
  store<u64>(e, replayCommit(entryRtpBitmap(e), ctxRingBits(), init, top, index), S_RTP_TOP);
  store<u32>(e, state | SS_RTP_INIT, S_STATE);
  countPacket(p, ks);
  return len + mkiLen + tagLen;
}

/** Authenticates and decrypts the SRTP packet at ptr in place. Returns the RTP length. */
export function srtpUnprotect(handle: i32, ptr: usize, len: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, len)) return ST_NO_ROOM;
  const tagLen = load<i32>(p, C_RTP_TAG);
  const mkiLen = load<i32>(p, C_MKI_LEN);
  const authLen = len - tagLen - mkiLen;
  if (authLen < 12) return ST_TOO_SHORT;
  const hdr = rtpHeaderLen(ptr, authLen);
  if (hdr < 0) return ST_BAD_HEADER;
  const cipher = load<i32>(p, C_CIPHER);
  const gcm = cipher == CIPHER_AES_GCM;
  let ks = keySet(p, 0);
  if (mkiLen > 0) {
    // HMAC suites: header | payload | MKI | tag. GCM: header | ciphertext | tag | MKI.
    ks = findKey(p, readMki(ptr + <usize>(gcm ? len - mkiLen : authLen), mkiLen));
    if (ks == 0) return ST_UNKNOWN_MKI;
  }
  if (load<u64>(ks, KS_SRTP_COUNT) >= load<u64>(ks, KS_SRTP_LIMIT)) return ST_KEY_EXPIRED;

  const ssrc = ld32be(ptr + 8);
  const seq = ld16be(ptr + 2);
  const e = findEntry(p, ssrc);
  let init = false;
  let top: u64 = 0;
  let index: u64;
  if (e != 0) {
    const state = load<u32>(e, S_STATE);
    init = (state & SS_RTP_INIT) != 0;
    top = load<u64>(e, S_RTP_TOP);
    if (init) {
      const est = estimateIndex(top, seq);
      if (est < 0) return ST_REPLAY_OLD;
      index = <u64>est;
      const rc = replayCheck(entryRtpBitmap(e), ctxRingBits(), <u64>load<i32>(p, C_WINDOW), true, top, index);
      if (rc != ST_OK) return rc;
    } else {
      const roc: u64 = state & SS_ROC_PRESET ? <u64>load<u32>(e, S_PRESET_ROC) : 0;
      index = (roc << 16) | <u64>seq;
      // ctxSetRoc restarted the window; a takeover floor still holds.
      if ((state & SS_FLOOR) != 0 && index <= load<u64>(e, S_RTP_FLOOR)) return ST_REPLAY_OLD;
    }
  } else {
    index = <u64>seq;
  }

  const keys = keysFor(p, ks, index, false);
  if (gcm) {
    if (!gcmOpenRtp(keys, ssrc, index, ptr, hdr, authLen)) { dropKeys(keys); return ST_AUTH_FAIL; }
  } else {
    st32be(ROC_BUF, <u32>(index >> 16));
    hmacSha1Two(keys + K_AUTH, ptr, authLen, ROC_BUF, 4, MAC);
    if (!ctEqual(MAC, ptr + <usize>(authLen + mkiLen), tagLen)) { dropKeys(keys); return ST_AUTH_FAIL; }
    if (cipher == CIPHER_AES_F8) {
      f8XorRtp(keys + K_RK, keys + K_F8_MASK, load<i32>(p, C_KEY_LEN), ptr, hdr, authLen, <u32>(index >> 16));
    } else if (cipher != CIPHER_NULL) {
      buildCmIv(keys + K_SALT, ssrc, index);
      aesCtrXor(keys + K_RK, IV, ptr + <usize>hdr, authLen - hdr);
    }
  }
  if ((load<u8>(ptr) & 0x20) && !paddingOk(ptr, authLen, authLen - hdr)) { dropKeys(keys); return ST_BAD_PADDING; }

  let entry = e;
  if (entry == 0) {
    entry = addEntry(p, ssrc);
    if (entry == 0) { dropKeys(keys); return ST_SSRC_TABLE_FULL; }
  }
  commitKeys(p, ks, keys, index, false);
  let newTop = replayCommit(entryRtpBitmap(entry), ctxRingBits(), init, top, index);
  // A fresh window after ctxSetRoc must still count everything ≤ the floor as seen.
  if (!init && (load<u32>(entry, S_STATE) & SS_FLOOR) != 0) {
    newTop = replayMarkThrough(entryRtpBitmap(entry), ctxRingBits(), true, newTop, load<u64>(entry, S_RTP_FLOOR));
  }
  store<u64>(entry, newTop, S_RTP_TOP);
  store<u32>(entry, load<u32>(entry, S_STATE) | SS_RTP_INIT, S_STATE);
  countPacket(p, ks);
  return authLen;
}
