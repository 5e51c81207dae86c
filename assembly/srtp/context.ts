// Context slots: one per (direction, master key) — the state RFC 3711 calls a
// cryptographic context, minus the master key once session keys are derived.
// All slots live in one arena sized by coreInit; a handle carries a generation so a handle
// to a destroyed slot is refused (ST_BAD_CTX) instead of touching whoever reuses the slot.
import { AES_RK_BYTES, aesExpandKey } from '../aes';
import { HMAC_STATE_BYTES, hmacSha1Init } from '../hmacSha1';
import {
  ST_OK, ST_BAD_CTX, ST_BAD_PARAM, ST_NO_SLOT, ST_NOT_SUPPORTED, ST_SSRC_TABLE_FULL,
  CIPHER_NULL, CIPHER_AES_CM, FLAG_ALLOW_NULL_CIPHER, MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW,
} from '../abi';
import {
  kdfBegin, kdfDerive, kdfEnd, LABEL_RTP_ENC, LABEL_RTP_AUTH, LABEL_RTP_SALT,
  LABEL_RTCP_ENC, LABEL_RTCP_AUTH, LABEL_RTCP_SALT,
} from './kdf';

// ---- slot header ----
export const C_GEN: usize = 0;        // u32 generation, bumped on destroy
export const C_IN_USE: usize = 4;     // u32
export const C_CIPHER: usize = 8;     // i32 CIPHER_*
export const C_KEY_LEN: usize = 12;   // i32
export const C_RTP_TAG: usize = 16;   // i32 SRTP tag length
export const C_RTCP_TAG: usize = 20;  // i32 SRTCP tag length
export const C_FLAGS: usize = 24;     // i32 FLAG_*
export const C_WINDOW: usize = 28;    // i32 replay window (indices)
export const C_EVENTS: usize = 32;    // i32 EV_* bits, cleared when read
export const C_KDR: usize = 36;       // i32 key derivation rate as a power of two exponent (0 = none)
export const C_SSRC_COUNT: usize = 40;// i32 entries in use
export const C_SRTP_COUNT: usize = 48;  // u64 SRTP packets processed under this master key
export const C_SRTCP_COUNT: usize = 56; // u64 SRTCP packets processed under this master key
export const C_MASTER_KEY: usize = 64;  // 32 bytes (kept for KDR re-keying; zeroed on destroy)
export const C_MASTER_SALT: usize = 96; // 16 bytes
export const C_HEADER_BYTES: usize = 128;

// ---- session key block, once for SRTP and once for SRTCP ----
export const K_RK: usize = 0;
export const K_SALT: usize = <usize>AES_RK_BYTES;                       // 16 bytes (14 used)
export const K_HMAC: usize = K_SALT + 16;                               // HMAC midstates
export const K_BYTES: usize = (K_HMAC + <usize>HMAC_STATE_BYTES + 63) & ~<usize>63;
export const C_SRTP_KEYS: usize = C_HEADER_BYTES;
export const C_SRTCP_KEYS: usize = C_HEADER_BYTES + K_BYTES;
export const C_SSRC_TABLE: usize = C_HEADER_BYTES + 2 * K_BYTES;

// ---- per-SSRC entry ----
export const S_SSRC: usize = 0;       // u32
export const S_STATE: usize = 4;      // u32 SS_* bits
export const S_RTP_TOP: usize = 8;    // u64 highest SRTP index accepted (in) / sent (out)
export const S_RTCP_TOP: usize = 16;  // u32 highest SRTCP index accepted (in) / next to send (out)
export const S_PRESET_ROC: usize = 20;// u32 ROC given out of band before the first packet
export const S_HEADER: usize = 32;
export const SS_USED: u32 = 1;
export const SS_RTP_INIT: u32 = 2;
export const SS_RTCP_INIT: u32 = 4;
export const SS_ROC_PRESET: u32 = 8;

// Session keys pass through here between the PRF and their expanded forms; wiped after.
const KEY_STAGE: usize = memory.data(64, 64);

// ---- arena, fixed at coreInit ----
let arenaBase: usize = 0;
let maxContexts: i32 = 0;
let maxSsrcs: i32 = 0;
let ringBits: i32 = 0;      // bitmap positions per window, power of two
let ringBytes: usize = 0;
let entryBytes: usize = 0;
let slotBytes: usize = 0;

@inline export function ctxRingBits(): u64 { return <u64>ringBits; }
@inline export function ctxMaxSsrcs(): i32 { return maxSsrcs; }
@inline export function ctxEntryBytes(): usize { return entryBytes; }
@inline export function entryRtpBitmap(e: usize): usize { return e + S_HEADER; }
@inline export function entryRtcpBitmap(e: usize): usize { return e + S_HEADER + ringBytes; }

/** Sizes the arena once: the only memory.grow the core ever does. Returns 0 or a status. */
export function coreInit(contexts: i32, ssrcsPerContext: i32, windowBits: i32): i32 {
  if (arenaBase != 0) return ST_BAD_PARAM;
  if (contexts < 1 || contexts > 32767 || ssrcsPerContext < 1 || ssrcsPerContext > 64) return ST_BAD_PARAM;
  if (windowBits < MIN_REPLAY_WINDOW || windowBits > MAX_REPLAY_WINDOW || (windowBits & (windowBits - 1)) != 0) return ST_BAD_PARAM;
  maxContexts = contexts;
  maxSsrcs = ssrcsPerContext;
  ringBits = windowBits;
  ringBytes = <usize>(windowBits >> 3);
  entryBytes = (S_HEADER + 2 * ringBytes + 63) & ~<usize>63;
  slotBytes = (C_SSRC_TABLE + <usize>ssrcsPerContext * entryBytes + 63) & ~<usize>63;
  const base = (__heap_base + 63) & ~<usize>63;
  const end = base + <usize>contexts * slotBytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return ST_NO_SLOT;
  }
  memory.fill(base, 0, end - base);
  arenaBase = base;
  return ST_OK;
}

export function ctxSlotBytes(): i32 { return <i32>slotBytes; }

/** Resolves a handle to its slot pointer, or 0 when the handle is not live. */
@inline export function slotOf(handle: i32): usize {
  const idx = handle & 0xffff;
  if (handle < 0 || idx >= maxContexts) return 0;
  const p = arenaBase + <usize>idx * slotBytes;
  if (load<u32>(p, C_IN_USE) == 0 || load<u32>(p, C_GEN) != <u32>(handle >>> 16)) return 0;
  return p;
}

export function ctxSlotPtr(handle: i32): usize { return slotOf(handle); }

function deriveKeys(p: usize, cipher: i32, keyLen: i32, base: usize, lEnc: i32, lAuth: i32, lSalt: i32): void {
  const kb = p + base;
  const stage = KEY_STAGE;
  if (cipher != CIPHER_NULL) {
    kdfDerive(p + C_MASTER_SALT, lEnc, 0, stage, keyLen);
    aesExpandKey(stage, keyLen, kb + K_RK);
  }
  kdfDerive(p + C_MASTER_SALT, lAuth, 0, stage, 20);
  hmacSha1Init(stage, 20, kb + K_HMAC);
  kdfDerive(p + C_MASTER_SALT, lSalt, 0, kb + K_SALT, 14);
  memory.fill(stage, 0, 64);
}

/** Creates a context from the master key and salt at keyPtr/saltPtr (which it then zeroes).
 *  Returns a handle ≥ 0 or a negative status. */
export function ctxCreate(cipher: i32, keyPtr: usize, keyLen: i32, saltPtr: usize, saltLen: i32,
  rtpTagLen: i32, rtcpTagLen: i32, window: i32, flags: i32, kdr: i32): i32 {
  let st = validate(cipher, keyLen, saltLen, rtpTagLen, rtcpTagLen, window, flags, kdr);
  if (st == ST_OK) {
    // Find a free slot.
    let idx = -1;
    for (let i = 0; i < maxContexts; i++) {
      if (load<u32>(arenaBase + <usize>i * slotBytes, C_IN_USE) == 0) { idx = i; break; }
    }
    if (idx < 0) st = ST_NO_SLOT;
    else {
      const p = arenaBase + <usize>idx * slotBytes;
      const gen = load<u32>(p, C_GEN);
      memory.fill(p, 0, slotBytes);
      store<u32>(p, gen, C_GEN);
      store<u32>(p, 1, C_IN_USE);
      store<i32>(p, cipher, C_CIPHER);
      store<i32>(p, keyLen, C_KEY_LEN);
      store<i32>(p, rtpTagLen, C_RTP_TAG);
      store<i32>(p, rtcpTagLen, C_RTCP_TAG);
      store<i32>(p, flags, C_FLAGS);
      store<i32>(p, window, C_WINDOW);
      store<i32>(p, kdr, C_KDR);
      memory.copy(p + C_MASTER_KEY, keyPtr, <usize>keyLen);
      memory.copy(p + C_MASTER_SALT, saltPtr, <usize>saltLen);
      // The PRF is AES-CM keyed with the master key for every suite, NULL included.
      kdfBegin(p + C_MASTER_KEY, keyLen);
      deriveKeys(p, cipher, keyLen, C_SRTP_KEYS, LABEL_RTP_ENC, LABEL_RTP_AUTH, LABEL_RTP_SALT);
      deriveKeys(p, cipher, keyLen, C_SRTCP_KEYS, LABEL_RTCP_ENC, LABEL_RTCP_AUTH, LABEL_RTCP_SALT);
      kdfEnd();
      st = <i32>((gen << 16) | <u32>idx);
    }
  }
  // The caller's copy of the key material is wiped whether or not creation succeeded.
  if (keyLen > 0 && keyLen <= 32) memory.fill(keyPtr, 0, <usize>keyLen);
  if (saltLen > 0 && saltLen <= 16) memory.fill(saltPtr, 0, <usize>saltLen);
  return st;
}

function validate(cipher: i32, keyLen: i32, saltLen: i32, rtpTagLen: i32, rtcpTagLen: i32, window: i32, flags: i32, kdr: i32): i32 {
  if (arenaBase == 0) return ST_BAD_PARAM;
  if (cipher != CIPHER_NULL && cipher != CIPHER_AES_CM) return ST_NOT_SUPPORTED;
  if (cipher == CIPHER_NULL && (flags & FLAG_ALLOW_NULL_CIPHER) == 0) return ST_BAD_PARAM;
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return ST_BAD_PARAM;
  if (cipher == CIPHER_NULL && keyLen != 16) return ST_BAD_PARAM;
  if (saltLen != 14) return ST_BAD_PARAM;
  if (rtpTagLen < 4 || rtpTagLen > 20 || rtcpTagLen < 4 || rtcpTagLen > 20) return ST_BAD_PARAM;
  if (window < MIN_REPLAY_WINDOW || window > ringBits) return ST_BAD_PARAM;
  if (kdr != 0) return ST_NOT_SUPPORTED;
  return ST_OK;
}

/** Zeroes the slot (keys included) and bumps its generation. */
export function ctxDestroy(handle: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const gen = (load<u32>(p, C_GEN) + 1) & 0x7fff;
  memory.fill(p, 0, slotBytes);
  store<u32>(p, gen, C_GEN);
  return ST_OK;
}

/** Finds the entry for ssrc, or 0. */
export function findEntry(p: usize, ssrc: u32): usize {
  const n = load<i32>(p, C_SSRC_COUNT);
  let e = p + C_SSRC_TABLE;
  for (let i = 0; i < n; i++) {
    if (load<u32>(e, S_SSRC) == ssrc) return e;
    e += entryBytes;
  }
  return 0;
}

/** Adds an entry for ssrc; returns 0 when the table is full. */
export function addEntry(p: usize, ssrc: u32): usize {
  const n = load<i32>(p, C_SSRC_COUNT);
  if (n >= maxSsrcs) return 0;
  const e = p + C_SSRC_TABLE + <usize>n * entryBytes;
  memory.fill(e, 0, entryBytes);
  store<u32>(e, ssrc, S_SSRC);
  store<u32>(e, SS_USED, S_STATE);
  store<i32>(p, n + 1, C_SSRC_COUNT);
  return e;
}

/** Sets the ROC for ssrc out of band (RFC 3711 §3.3.1: e.g. a late joiner, RFC 4771).
 *  Before the first packet it seeds the index; afterwards it moves the highest index to
 *  roc:s_l and restarts the replay window there. */
export function ctxSetRoc(handle: i32, ssrc: u32, roc: u32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  let e = findEntry(p, ssrc);
  if (e == 0) e = addEntry(p, ssrc);
  if (e == 0) return ST_SSRC_TABLE_FULL;
  const state = load<u32>(e, S_STATE);
  if (state & SS_RTP_INIT) {
    const top = load<u64>(e, S_RTP_TOP);
    store<u64>(e, (<u64>roc << 16) | (top & 0xffff), S_RTP_TOP);
    memory.fill(entryRtpBitmap(e), 0, ringBytes);
    const bit = (top & 0xffff) & (<u64>ringBits - 1);
    const w = entryRtpBitmap(e) + <usize>((bit >> 6) << 3);
    store<u64>(w, <u64>1 << (bit & 63));
  } else {
    store<u32>(e, roc, S_PRESET_ROC);
    store<u32>(e, state | SS_ROC_PRESET, S_STATE);
  }
  return ST_OK;
}

/** The ROC of ssrc's highest index, or -1 when ssrc is unknown. */
export function ctxGetRoc(handle: i32, ssrc: u32): i64 {
  const p = slotOf(handle);
  if (p == 0) return <i64>ST_BAD_CTX;
  const e = findEntry(p, ssrc);
  if (e == 0) return -1;
  const state = load<u32>(e, S_STATE);
  if (state & SS_RTP_INIT) return <i64>(load<u64>(e, S_RTP_TOP) >> 16);
  if (state & SS_ROC_PRESET) return <i64>load<u32>(e, S_PRESET_ROC);
  return -1;
}

/** Returns and clears the context's pending EV_* bits. */
export function ctxTakeEvents(handle: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const ev = load<i32>(p, C_EVENTS);
  store<i32>(p, 0, C_EVENTS);
  return ev;
}

/** Test hook: pretend this many packets were already processed under the master key. */
export function ctxSetPacketCounts(handle: i32, srtp: u64, srtcp: u64): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  store<u64>(p, srtp, C_SRTP_COUNT);
  store<u64>(p, srtcp, C_SRTCP_COUNT);
  return ST_OK;
}
