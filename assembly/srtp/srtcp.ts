// SRTCP protect / unprotect (RFC 3711 §3.4): E flag and 31-bit index in the trailer, then
// the optional MKI, then the tag over packet || E || index. Authentication is never
// optional. A clear E flag is refused unless the context was created with the insecure
// FLAG_ALLOW_UNENCRYPTED_SRTCP, so an attacker cannot switch encryption off (the flag is
// authenticated anyway, but policy is checked first and independently).
import {
  ST_BAD_CTX, ST_TOO_SHORT, ST_BAD_HEADER, ST_AUTH_FAIL, ST_KEY_EXPIRED, ST_SSRC_TABLE_FULL,
  ST_NO_ROOM, ST_UNENCRYPTED_SRTCP, ST_OK, ST_UNKNOWN_MKI, CIPHER_NULL, CIPHER_AES_GCM, CIPHER_AES_F8, FLAG_ALLOW_UNENCRYPTED_SRTCP,
  EV_SRTCP_SOFT_LIMIT,
} from '../abi';
import { aesCtrXor } from '../aes';
import { hmacSha1Two } from '../hmacSha1';
import { ctEqual, ld32be, st32be } from '../bytes';
import {
  slotOf, findEntry, addEntry, ctxRingBits, entryRtcpBitmap, keySet, findKey, keysFor, commitKeys,
  dropKeys, readMki, writeMki, SRTCP_MAX_PACKETS,
  C_CIPHER, C_KEY_LEN, C_RTCP_TAG, C_FLAGS, C_WINDOW, C_EVENTS, C_MKI_LEN, C_TX_KEY,
  K_RK, K_SALT, K_AUTH, K_F8_MASK, KS_MKI, KS_SRTCP_COUNT, KS_SRTCP_LIMIT, S_STATE, S_RTCP_TOP, SS_RTCP_INIT,
} from './context';
import { replayCheck, replayCommit } from './replay';
import { buildCmIv, cmIvPtr, inBounds, softLimitOf } from './srtp';
import { gcmSealRtcp, gcmOpenRtcp } from './gcm';
import { f8XorRtcp } from './f8';

const MAC: usize = memory.data(32, 16);

@inline function countPacket(p: usize, ks: usize): void {
  const n = load<u64>(ks, KS_SRTCP_COUNT) + 1;
  store<u64>(ks, n, KS_SRTCP_COUNT);
  if (n == softLimitOf(load<u64>(ks, KS_SRTCP_LIMIT))) store<i32>(p, load<i32>(p, C_EVENTS) | EV_SRTCP_SOFT_LIMIT, C_EVENTS);
}

/** Protects the compound RTCP packet at ptr. Returns the SRTCP length. */
export function srtcpProtect(handle: i32, ptr: usize, len: i32, cap: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, cap) || len > cap) return ST_NO_ROOM;
  if (len < 8) return ST_TOO_SHORT;
  if ((load<u8>(ptr) >> 6) != 2) return ST_BAD_HEADER;
  const tagLen = load<i32>(p, C_RTCP_TAG);
  const mkiLen = load<i32>(p, C_MKI_LEN);
  if (len + 4 + mkiLen + tagLen > cap) return ST_NO_ROOM;
  const ks = keySet(p, load<i32>(p, C_TX_KEY));
  if (load<u64>(ks, KS_SRTCP_COUNT) >= load<u64>(ks, KS_SRTCP_LIMIT)) return ST_KEY_EXPIRED;

  const ssrc = ld32be(ptr + 4);
  let e = findEntry(p, ssrc);
  if (e == 0) {
    e = addEntry(p, ssrc);
    if (e == 0) return ST_SSRC_TABLE_FULL;
  }
  // Outbound: S_RTCP_TOP is the next index to use (RFC 3711 §3.4: the first is 0).
  const index = load<u32>(e, S_RTCP_TOP);
  if (<u64>index >= SRTCP_MAX_PACKETS) return ST_KEY_EXPIRED;

  const keys = keysFor(p, ks, <u64>index, true);
  const cipher = load<i32>(p, C_CIPHER);
  if (cipher == CIPHER_AES_GCM) {
    // RFC 7714 §9: header | ciphertext | tag | E||index | MKI.
    gcmSealRtcp(keys, ssrc, index, ptr, len);
    if (mkiLen > 0) writeMki(ptr + <usize>(len + tagLen + 4), mkiLen, load<u32>(ks, KS_MKI));
  } else {
    let eFlag: u32 = 0;
    if (cipher == CIPHER_AES_F8) {
      eFlag = 0x80000000; // f8's IV carries E || index
      f8XorRtcp(keys + K_RK, keys + K_F8_MASK, load<i32>(p, C_KEY_LEN), ptr, len, eFlag | index);
    } else if (cipher != CIPHER_NULL) {
      buildCmIv(keys + K_SALT, ssrc, <u64>index);
      aesCtrXor(keys + K_RK, cmIvPtr(), ptr + 8, len - 8);
      eFlag = 0x80000000;
    }
    st32be(ptr + <usize>len, eFlag | index);
    hmacSha1Two(keys + K_AUTH, ptr, len + 4, 0, 0, MAC);
    if (mkiLen > 0) writeMki(ptr + <usize>(len + 4), mkiLen, load<u32>(ks, KS_MKI));
    memory.copy(ptr + <usize>(len + 4 + mkiLen), MAC, <usize>tagLen);
  }

  commitKeys(p, ks, keys, <u64>index, true);
  store<u32>(e, index + 1, S_RTCP_TOP);
  store<u32>(e, load<u32>(e, S_STATE) | SS_RTCP_INIT, S_STATE);
  countPacket(p, ks);
  return len + 4 + mkiLen + tagLen;
}

/** Authenticates and (if E is set) decrypts the SRTCP packet at ptr. Returns the RTCP length. */
export function srtcpUnprotect(handle: i32, ptr: usize, len: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, len)) return ST_NO_ROOM;
  const tagLen = load<i32>(p, C_RTCP_TAG);
  const mkiLen = load<i32>(p, C_MKI_LEN);
  const rtcpLen = len - tagLen - mkiLen - 4;
  if (rtcpLen < 8) return ST_TOO_SHORT;
  if ((load<u8>(ptr) >> 6) != 2) return ST_BAD_HEADER;
  const cipher = load<i32>(p, C_CIPHER);
  const gcm = cipher == CIPHER_AES_GCM;
  // HMAC suites: RTCP | E||index | MKI | tag. GCM: RTCP' | tag | E||index | MKI.
  const trailerPos = gcm ? rtcpLen + tagLen : rtcpLen;
  let ks = keySet(p, 0);
  if (mkiLen > 0) {
    ks = findKey(p, readMki(ptr + <usize>(trailerPos + 4), mkiLen));
    if (ks == 0) return ST_UNKNOWN_MKI;
  }
  if (load<u64>(ks, KS_SRTCP_COUNT) >= load<u64>(ks, KS_SRTCP_LIMIT)) return ST_KEY_EXPIRED;

  const trailer = ld32be(ptr + <usize>trailerPos);
  const encrypted = (trailer >>> 31) != 0;
  const index = <u64>(trailer & 0x7fffffff);
  if (cipher != CIPHER_NULL && !encrypted && (load<i32>(p, C_FLAGS) & FLAG_ALLOW_UNENCRYPTED_SRTCP) == 0) {
    return ST_UNENCRYPTED_SRTCP;
  }

  const ssrc = ld32be(ptr + 4);
  const e = findEntry(p, ssrc);
  let init = false;
  let top: u64 = 0;
  if (e != 0) {
    init = (load<u32>(e, S_STATE) & SS_RTCP_INIT) != 0;
    top = <u64>load<u32>(e, S_RTCP_TOP);
    const rc = replayCheck(entryRtcpBitmap(e), ctxRingBits(), <u64>load<i32>(p, C_WINDOW), init, top, index);
    if (rc != ST_OK) return rc;
  }

  const keys = keysFor(p, ks, index, true);
  if (gcm) {
    if (!gcmOpenRtcp(keys, ssrc, <u32>index, encrypted, ptr, rtcpLen)) { dropKeys(keys); return ST_AUTH_FAIL; }
  } else {
    hmacSha1Two(keys + K_AUTH, ptr, rtcpLen + 4, 0, 0, MAC);
    if (!ctEqual(MAC, ptr + <usize>(rtcpLen + 4 + mkiLen), tagLen)) { dropKeys(keys); return ST_AUTH_FAIL; }
    if (encrypted && cipher == CIPHER_AES_F8) {
      f8XorRtcp(keys + K_RK, keys + K_F8_MASK, load<i32>(p, C_KEY_LEN), ptr, rtcpLen, trailer);
    } else if (encrypted && cipher != CIPHER_NULL) {
      buildCmIv(keys + K_SALT, ssrc, index);
      aesCtrXor(keys + K_RK, cmIvPtr(), ptr + 8, rtcpLen - 8);
    }
  }

  let entry = e;
  if (entry == 0) {
    entry = addEntry(p, ssrc);
    if (entry == 0) { dropKeys(keys); return ST_SSRC_TABLE_FULL; }
  }
  commitKeys(p, ks, keys, index, true);
  store<u32>(entry, <u32>replayCommit(entryRtcpBitmap(entry), ctxRingBits(), init, top, index), S_RTCP_TOP);
  store<u32>(entry, load<u32>(entry, S_STATE) | SS_RTCP_INIT, S_STATE);
  countPacket(p, ks);
  return rtcpLen;
}
