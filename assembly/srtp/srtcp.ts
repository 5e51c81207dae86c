// SRTCP protect / unprotect (RFC 3711 §3.4): E flag and 31-bit index in the trailer,
// the tag over packet || E || index, a replay window per SSRC of its own. Authentication is
// never optional. A clear E flag is refused unless the context was created with the
// insecure FLAG_ALLOW_UNENCRYPTED_SRTCP, so an attacker cannot switch encryption off (the
// flag is authenticated anyway, but policy is checked first and independently).
import {
  ST_BAD_CTX, ST_TOO_SHORT, ST_BAD_HEADER, ST_AUTH_FAIL, ST_KEY_EXPIRED, ST_SSRC_TABLE_FULL,
  ST_NO_ROOM, ST_UNENCRYPTED_SRTCP, ST_OK, CIPHER_NULL, FLAG_ALLOW_UNENCRYPTED_SRTCP,
  EV_SRTCP_SOFT_LIMIT,
} from '../abi';
import { aesCtrXor } from '../aes';
import { hmacSha1Two } from '../hmacSha1';
import { ctEqual, ld32be, st32be } from '../bytes';
import {
  slotOf, findEntry, addEntry, ctxRingBits, entryRtcpBitmap,
  C_CIPHER, C_RTCP_TAG, C_FLAGS, C_WINDOW, C_EVENTS, C_SRTCP_COUNT, C_SRTCP_KEYS,
  K_RK, K_SALT, K_HMAC, S_STATE, S_RTCP_TOP, SS_RTCP_INIT,
} from './context';
import { replayCheck, replayCommit } from './replay';
import { buildCmIv, cmIvPtr, inBounds } from './srtp';

const SRTCP_HARD_LIMIT: u64 = <u64>1 << 31;
const SRTCP_SOFT_LIMIT: u64 = SRTCP_HARD_LIMIT - (<u64>1 << 16);
const MAC: usize = memory.data(32, 16);

@inline function countPacket(p: usize): void {
  const n = load<u64>(p, C_SRTCP_COUNT) + 1;
  store<u64>(p, n, C_SRTCP_COUNT);
  if (n == SRTCP_SOFT_LIMIT) store<i32>(p, load<i32>(p, C_EVENTS) | EV_SRTCP_SOFT_LIMIT, C_EVENTS);
}

/** Protects the compound RTCP packet at ptr. Returns the SRTCP length. */
export function srtcpProtect(handle: i32, ptr: usize, len: i32, cap: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, cap) || len > cap) return ST_NO_ROOM;
  if (len < 8) return ST_TOO_SHORT;
  if ((load<u8>(ptr) >> 6) != 2) return ST_BAD_HEADER;
  const tagLen = load<i32>(p, C_RTCP_TAG);
  if (len + 4 + tagLen > cap) return ST_NO_ROOM;
  if (load<u64>(p, C_SRTCP_COUNT) >= SRTCP_HARD_LIMIT) return ST_KEY_EXPIRED;

  const ssrc = ld32be(ptr + 4);
  let e = findEntry(p, ssrc);
  if (e == 0) {
    e = addEntry(p, ssrc);
    if (e == 0) return ST_SSRC_TABLE_FULL;
  }
  // Outbound: S_RTCP_TOP is the next index to use.
  const index = load<u32>(e, S_RTCP_TOP);
  if (index >= <u32>SRTCP_HARD_LIMIT) return ST_KEY_EXPIRED;

  const keys = p + C_SRTCP_KEYS;
  let eFlag: u32 = 0;
  if (load<i32>(p, C_CIPHER) != CIPHER_NULL) {
    buildCmIv(keys + K_SALT, ssrc, <u64>index);
    aesCtrXor(keys + K_RK, cmIvPtr(), ptr + 8, len - 8);
    eFlag = 0x80000000;
  }
  st32be(ptr + <usize>len, eFlag | index);
  hmacSha1Two(keys + K_HMAC, ptr, len + 4, 0, 0, MAC);
  memory.copy(ptr + <usize>(len + 4), MAC, <usize>tagLen);

  store<u32>(e, index + 1, S_RTCP_TOP);
  store<u32>(e, load<u32>(e, S_STATE) | SS_RTCP_INIT, S_STATE);
  countPacket(p);
  return len + 4 + tagLen;
}

/** Authenticates and (if E is set) decrypts the SRTCP packet at ptr. Returns the RTCP length. */
export function srtcpUnprotect(handle: i32, ptr: usize, len: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (!inBounds(ptr, len)) return ST_NO_ROOM;
  const tagLen = load<i32>(p, C_RTCP_TAG);
  const rtcpLen = len - tagLen - 4;
  if (rtcpLen < 8) return ST_TOO_SHORT;
  if ((load<u8>(ptr) >> 6) != 2) return ST_BAD_HEADER;
  if (load<u64>(p, C_SRTCP_COUNT) >= SRTCP_HARD_LIMIT) return ST_KEY_EXPIRED;

  const trailer = ld32be(ptr + <usize>rtcpLen);
  const encrypted = (trailer >>> 31) != 0;
  const index = <u64>(trailer & 0x7fffffff);
  const cipher = load<i32>(p, C_CIPHER);
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

  const keys = p + C_SRTCP_KEYS;
  hmacSha1Two(keys + K_HMAC, ptr, rtcpLen + 4, 0, 0, MAC);
  if (!ctEqual(MAC, ptr + <usize>(rtcpLen + 4), tagLen)) return ST_AUTH_FAIL;

  if (encrypted && cipher != CIPHER_NULL) {
    buildCmIv(keys + K_SALT, ssrc, index);
    aesCtrXor(keys + K_RK, cmIvPtr(), ptr + 8, rtcpLen - 8);
  }

  let entry = e;
  if (entry == 0) {
    entry = addEntry(p, ssrc);
    if (entry == 0) return ST_SSRC_TABLE_FULL;
  }
  store<u32>(entry, <u32>replayCommit(entryRtcpBitmap(entry), ctxRingBits(), init, top, index), S_RTCP_TOP);
  store<u32>(entry, load<u32>(entry, S_STATE) | SS_RTCP_INIT, S_STATE);
  countPacket(p);
  return rtcpLen;
}
