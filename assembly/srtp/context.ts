// Context slots: one per direction of a stream — the state RFC 3711 calls a cryptographic
// context. A context holds one or more master keys (selected by MKI on the wire), each with
// its derived session keys and usage counters, and a table of per-SSRC state (ROC, highest
// index, replay windows) shared by those keys.
// All slots live in one arena sized by coreInit; a handle carries a generation so a handle
// to a destroyed slot is refused (ST_BAD_CTX) instead of touching whoever reuses the slot.
import { AES_RK_BYTES, aesExpandKey, aesEncryptBlock } from '../aes';
import { GHASH_KEY_BYTES, ghashSetKey } from '../ghash';
import { HMAC_STATE_BYTES, hmacSha1Init } from '../hmacSha1';
import {
  ST_OK, ST_BAD_CTX, ST_BAD_PARAM, ST_NO_SLOT, ST_NOT_SUPPORTED, ST_SSRC_TABLE_FULL, ST_UNKNOWN_MKI,
  CIPHER_NULL, CIPHER_AES_CM, CIPHER_AES_GCM, CIPHER_AES_F8, FLAG_ALLOW_NULL_CIPHER, FLAG_OUTBOUND,
  MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW,
} from '../abi';
import { replayMarkThrough } from './replay';
import {
  kdfBegin, kdfDerive, kdfEnd, LABEL_RTP_ENC, LABEL_RTP_AUTH, LABEL_RTP_SALT,
  LABEL_RTCP_ENC, LABEL_RTCP_AUTH, LABEL_RTCP_SALT,
} from './kdf';
import { f8MaskKey } from './f8';

// ---- slot header ----
export const C_GEN: usize = 0;        // u32 generation, bumped on destroy
export const C_IN_USE: usize = 4;     // u32
export const C_CIPHER: usize = 8;     // i32 CIPHER_*
export const C_KEY_LEN: usize = 12;   // i32 master (and session) key length
export const C_RTP_TAG: usize = 16;   // i32 SRTP tag length
export const C_RTCP_TAG: usize = 20;  // i32 SRTCP tag length
export const C_FLAGS: usize = 24;     // i32 FLAG_*
export const C_WINDOW: usize = 28;    // i32 replay window (indices)
export const C_EVENTS: usize = 32;    // i32 EV_* bits, cleared when read
export const C_KDR: usize = 36;       // i32 log2 of the key derivation rate, -1 = derive once
export const C_SSRC_COUNT: usize = 40;// i32 entries in use
export const C_MKI_LEN: usize = 44;   // i32 MKI bytes on the wire (0 = no MKI)
export const C_KEY_COUNT: usize = 48; // i32 master keys in use
export const C_TX_KEY: usize = 52;    // i32 index of the key protect uses
export const C_SALT_LEN: usize = 56;  // i32 master salt length
export const C_HEADER_BYTES: usize = 64;

// ---- session key block, once for SRTP and once for SRTCP of each master key ----
export const K_RK: usize = 0;
export const K_SALT: usize = <usize>AES_RK_BYTES;         // session salt, 16 bytes (14 or 12 used)
export const K_AUTH: usize = K_SALT + 16;                // HMAC midstates, or GHASH's key powers
export const K_AUTH_BYTES: usize = <usize>(GHASH_KEY_BYTES > HMAC_STATE_BYTES ? GHASH_KEY_BYTES : HMAC_STATE_BYTES);
export const K_BYTES: usize = (K_AUTH + K_AUTH_BYTES + 63) & ~<usize>63;
/** AES-f8's masked key k_e XOR m (16 bytes): an f8 key block has HMAC midstates and no GHASH
 *  key powers, so it fits in the auth area's unused tail and the slot does not grow. */
export const K_F8_MASK: usize = K_AUTH + <usize>HMAC_STATE_BYTES;

// ---- master key set ----
export const KS_MKI: usize = 0;          // u32 MKI value (when C_MKI_LEN > 0)
export const KS_SRTP_COUNT: usize = 8;   // u64 SRTP packets under this master key
export const KS_SRTCP_COUNT: usize = 16; // u64 SRTCP packets under this master key
export const KS_SRTP_LIMIT: usize = 24;  // u64 hard limit (lifetime, at most 2^48)
export const KS_SRTCP_LIMIT: usize = 32; // u64 hard limit (lifetime, at most 2^31)
export const KS_SRTP_R: usize = 40;      // u64 index DIV KDR the SRTP session keys were derived for
export const KS_SRTCP_R: usize = 48;     // u64 the same for SRTCP
export const KS_MASTER_KEY: usize = 64;  // 32 bytes, kept for KDR re-derivation; zeroed on destroy
export const KS_MASTER_SALT: usize = 96; // 16 bytes
export const KS_SRTP_KEYS: usize = 128;
export const KS_SRTCP_KEYS: usize = 128 + K_BYTES;
export const KS_BYTES: usize = 128 + 2 * K_BYTES;

export const SRTP_MAX_PACKETS: u64 = <u64>1 << 48;
export const SRTCP_MAX_PACKETS: u64 = <u64>1 << 31;

// ---- per-SSRC entry ----
export const S_SSRC: usize = 0;       // u32
export const S_STATE: usize = 4;      // u32 SS_* bits
export const S_RTP_TOP: usize = 8;    // u64 highest SRTP index accepted (in) / sent (out)
export const S_RTCP_TOP: usize = 16;  // u32 highest SRTCP index accepted (in) / next to send (out)
export const S_PRESET_ROC: usize = 20;// u32 ROC given out of band before the first packet
export const S_RTP_FLOOR: usize = 24; // u64 takeover floor (SS_FLOOR): no SRTP index ≤ it is protected or accepted
export const S_HEADER: usize = 32;
export const SS_USED: u32 = 1;
export const SS_RTP_INIT: u32 = 2;
export const SS_RTCP_INIT: u32 = 4;
export const SS_ROC_PRESET: u32 = 8;
export const SS_FLOOR: u32 = 16;

// Session keys pass through here between the PRF and their expanded forms; wiped after.
const KEY_STAGE: usize = memory.data(64, 64);
/** Session keys derived for a packet whose index DIV KDR differs from the cached ones. They
 *  replace the cache only after the packet authenticates. */
const KDR_SCRATCH: usize = memory.data(<i32>K_BYTES, 64);

// ---- arena, fixed at coreInit ----
let arenaBase: usize = 0;
let maxContexts: i32 = 0;
let maxSsrcs: i32 = 0;
let maxKeys: i32 = 0;
let ringBits: i32 = 0;      // bitmap positions per window, power of two
let ringBytes: usize = 0;
let entryBytes: usize = 0;
let ssrcTableOffset: usize = 0;
let slotBytes: usize = 0;

@inline export function ctxRingBits(): u64 { return <u64>ringBits; }
@inline export function entryRtpBitmap(e: usize): usize { return e + S_HEADER; }
@inline export function entryRtcpBitmap(e: usize): usize { return e + S_HEADER + ringBytes; }
@inline export function keySet(p: usize, i: i32): usize { return p + C_HEADER_BYTES + <usize>i * KS_BYTES; }

/** Sizes the arena once: the only memory.grow the core ever does. Returns 0 or a status. */
export function coreInit(contexts: i32, ssrcsPerContext: i32, windowBits: i32, keysPerContext: i32): i32 {
  if (arenaBase != 0) return ST_BAD_PARAM;
  if (contexts < 1 || contexts > 32767 || ssrcsPerContext < 1 || ssrcsPerContext > 64) return ST_BAD_PARAM;
  if (keysPerContext < 1 || keysPerContext > 16) return ST_BAD_PARAM;
  if (windowBits < MIN_REPLAY_WINDOW || windowBits > MAX_REPLAY_WINDOW || (windowBits & (windowBits - 1)) != 0) return ST_BAD_PARAM;
  maxContexts = contexts;
  maxSsrcs = ssrcsPerContext;
  maxKeys = keysPerContext;
  ringBits = windowBits;
  ringBytes = <usize>(windowBits >> 3);
  entryBytes = (S_HEADER + 2 * ringBytes + 63) & ~<usize>63;
  ssrcTableOffset = C_HEADER_BYTES + <usize>keysPerContext * KS_BYTES;
  slotBytes = (ssrcTableOffset + <usize>ssrcsPerContext * entryBytes + 63) & ~<usize>63;
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

/** Derives one direction's session keys (labels lEnc/lAuth/lSalt) for r = index DIV KDR
 *  from the master key of key set ks into the key block kb. */
export function deriveSessionKeys(p: usize, ks: usize, kb: usize, r: u64, rtcp: bool): void {
  const cipher = load<i32>(p, C_CIPHER);
  const keyLen = load<i32>(p, C_KEY_LEN);
  const lEnc = rtcp ? LABEL_RTCP_ENC : LABEL_RTP_ENC;
  const lAuth = rtcp ? LABEL_RTCP_AUTH : LABEL_RTP_AUTH;
  const lSalt = rtcp ? LABEL_RTCP_SALT : LABEL_RTP_SALT;
  // The PRF is AES-CM keyed with the master key for every suite, NULL included.
  // GCM's 12-byte master salt is used zero-padded to 14 bytes (the slot was zeroed), as
  // libsrtp does; its session salt is 12 bytes and it has no auth key (RFC 7714 §11).
  kdfBegin(ks + KS_MASTER_KEY, keyLen);
  if (cipher != CIPHER_NULL) {
    kdfDerive(ks + KS_MASTER_SALT, lEnc, r, KEY_STAGE, keyLen);
    aesExpandKey(KEY_STAGE, keyLen, kb + K_RK);
  }
  if (cipher == CIPHER_AES_GCM) {
    memory.fill(KEY_STAGE, 0, 16);
    aesEncryptBlock(kb + K_RK, KEY_STAGE, KEY_STAGE); // H = E_K(0^128)
    ghashSetKey(KEY_STAGE, kb + K_AUTH);
    memory.fill(kb + K_SALT, 0, 16);
    kdfDerive(ks + KS_MASTER_SALT, lSalt, r, kb + K_SALT, 12);
  } else {
    kdfDerive(ks + KS_MASTER_SALT, lAuth, r, KEY_STAGE, 20);
    hmacSha1Init(KEY_STAGE, 20, kb + K_AUTH);
    kdfDerive(ks + KS_MASTER_SALT, lSalt, r, kb + K_SALT, 14);
  }
  if (cipher == CIPHER_AES_F8) {
    // k_e once more (KEY_STAGE now holds the auth key), masked with the session salt.
    kdfDerive(ks + KS_MASTER_SALT, lEnc, r, KEY_STAGE, keyLen);
    f8MaskKey(KEY_STAGE, keyLen, kb + K_SALT, 14, kb + K_F8_MASK);
  }
  kdfEnd();
  memory.fill(KEY_STAGE, 0, 64);
}

/**
 * The session key block to use for a packet of index `index` under key set ks: the cached
 * one, or (KDR ≠ 0 and a different index DIV KDR) a fresh derivation in KDR_SCRATCH that the
 * caller commits with commitKeys() once the packet is accepted.
 */
@inline export function keysFor(p: usize, ks: usize, index: u64, rtcp: bool): usize {
  const kb = ks + (rtcp ? KS_SRTCP_KEYS : KS_SRTP_KEYS);
  const kdr = load<i32>(p, C_KDR);
  if (kdr < 0) return kb;
  const r = index >> <u64>kdr;
  if (r == load<u64>(ks + (rtcp ? KS_SRTCP_R : KS_SRTP_R))) return kb;
  deriveSessionKeys(p, ks, KDR_SCRATCH, r, rtcp);
  return KDR_SCRATCH;
}

/** Makes a scratch derivation from keysFor() the cached keys of key set ks. */
export function commitKeys(p: usize, ks: usize, used: usize, index: u64, rtcp: bool): void {
  if (used != KDR_SCRATCH) return;
  const kdr = load<i32>(p, C_KDR);
  memory.copy(ks + (rtcp ? KS_SRTCP_KEYS : KS_SRTP_KEYS), KDR_SCRATCH, K_BYTES);
  store<u64>(ks + (rtcp ? KS_SRTCP_R : KS_SRTP_R), index >> <u64>kdr);
  memory.fill(KDR_SCRATCH, 0, K_BYTES);
}

/** Wipes a scratch derivation that was not committed (rejected packet). */
export function dropKeys(used: usize): void {
  if (used == KDR_SCRATCH) memory.fill(KDR_SCRATCH, 0, K_BYTES);
}

function initKeySet(p: usize, ks: usize, keyPtr: usize, saltPtr: usize, mki: u32): void {
  const keyLen = load<i32>(p, C_KEY_LEN);
  const saltLen = load<i32>(p, C_SALT_LEN);
  memory.fill(ks, 0, KS_BYTES);
  store<u32>(ks, mki, KS_MKI);
  store<u64>(ks, SRTP_MAX_PACKETS, KS_SRTP_LIMIT);
  store<u64>(ks, SRTCP_MAX_PACKETS, KS_SRTCP_LIMIT);
  memory.copy(ks + KS_MASTER_KEY, keyPtr, <usize>keyLen);
  memory.copy(ks + KS_MASTER_SALT, saltPtr, <usize>saltLen);
  deriveSessionKeys(p, ks, ks + KS_SRTP_KEYS, 0, false);
  deriveSessionKeys(p, ks, ks + KS_SRTCP_KEYS, 0, true);
}

/**
 * Creates a context from a master key and salt at keyPtr/saltPtr (which it then zeroes).
 * kdrLog2: -1 derives session keys once; n in 0..24 re-derives every 2^n packets.
 * mkiLen: 0 (no MKI) to 4 bytes; mki is this first key's MKI value.
 * Returns a handle ≥ 0 or a negative status.
 */
export function ctxCreate(cipher: i32, keyPtr: usize, keyLen: i32, saltPtr: usize, saltLen: i32,
  rtpTagLen: i32, rtcpTagLen: i32, window: i32, flags: i32, kdrLog2: i32, mkiLen: i32, mki: u32): i32 {
  let st = validate(cipher, keyLen, saltLen, rtpTagLen, rtcpTagLen, window, flags, kdrLog2, mkiLen, mki);
  if (st == ST_OK) {
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
      store<i32>(p, saltLen, C_SALT_LEN);
      store<i32>(p, rtpTagLen, C_RTP_TAG);
      store<i32>(p, rtcpTagLen, C_RTCP_TAG);
      store<i32>(p, flags, C_FLAGS);
      store<i32>(p, window, C_WINDOW);
      store<i32>(p, kdrLog2, C_KDR);
      store<i32>(p, mkiLen, C_MKI_LEN);
      store<i32>(p, 1, C_KEY_COUNT);
      initKeySet(p, keySet(p, 0), keyPtr, saltPtr, mki);
      st = <i32>((gen << 16) | <u32>idx);
    }
  }
  // The caller's copy of the key material is wiped whether or not creation succeeded.
  if (keyLen > 0 && keyLen <= 32) memory.fill(keyPtr, 0, <usize>keyLen);
  if (saltLen > 0 && saltLen <= 16) memory.fill(saltPtr, 0, <usize>saltLen);
  return st;
}

function validate(cipher: i32, keyLen: i32, saltLen: i32, rtpTagLen: i32, rtcpTagLen: i32, window: i32,
  flags: i32, kdrLog2: i32, mkiLen: i32, mki: u32): i32 {
  if (arenaBase == 0) return ST_BAD_PARAM;
  if (cipher != CIPHER_NULL && cipher != CIPHER_AES_CM && cipher != CIPHER_AES_GCM && cipher != CIPHER_AES_F8) return ST_NOT_SUPPORTED;
  // Folds to a constant: the f8 masked key must fit the auth area (see K_F8_MASK).
  if (cipher == CIPHER_AES_F8 && K_F8_MASK + 16 > K_AUTH + K_AUTH_BYTES) return ST_NOT_SUPPORTED;
  if (cipher == CIPHER_NULL && (flags & FLAG_ALLOW_NULL_CIPHER) == 0) return ST_BAD_PARAM;
  if (keyLen != 16 && keyLen != 24 && keyLen != 32) return ST_BAD_PARAM;
  // NULL derives as AES-128; f8 is registered for 128-bit keys only (RFC 4568 §6.2).
  if ((cipher == CIPHER_NULL || cipher == CIPHER_AES_F8) && keyLen != 16) return ST_BAD_PARAM;
  if (cipher == CIPHER_AES_GCM) {
    if (keyLen == 24 || saltLen != 12 || rtpTagLen != 16 || rtcpTagLen != 16) return ST_BAD_PARAM;
  } else {
    if (saltLen != 14) return ST_BAD_PARAM;
    if (rtpTagLen < 4 || rtpTagLen > 20 || rtcpTagLen < 4 || rtcpTagLen > 20) return ST_BAD_PARAM;
  }
  if (window < MIN_REPLAY_WINDOW || window > ringBits) return ST_BAD_PARAM;
  if (kdrLog2 < -1 || kdrLog2 > 24) return ST_BAD_PARAM;
  if (!mkiFits(mkiLen, mki)) return ST_BAD_PARAM;
  return ST_OK;
}

@inline function mkiFits(mkiLen: i32, mki: u32): bool {
  if (mkiLen < 0 || mkiLen > 4) return false;
  return mkiLen == 4 || (<u64>mki >> (<u64>mkiLen << 3)) == 0;
}

/** Adds another master key (RFC 3711 MKI re-keying). Its material at keyPtr/saltPtr is
 *  wiped. Returns the key's index or a negative status. */
export function ctxAddKey(handle: i32, keyPtr: usize, saltPtr: usize, mki: u32): i32 {
  const p = slotOf(handle);
  let st = ST_OK;
  if (p == 0) st = ST_BAD_CTX;
  else if (load<i32>(p, C_MKI_LEN) == 0 || !mkiFits(load<i32>(p, C_MKI_LEN), mki)) st = ST_BAD_PARAM;
  else if (findKey(p, mki) != 0) st = ST_BAD_PARAM;
  else if (load<i32>(p, C_KEY_COUNT) >= maxKeys) st = ST_NO_SLOT;
  if (st == ST_OK) {
    const n = load<i32>(p, C_KEY_COUNT);
    initKeySet(p, keySet(p, n), keyPtr, saltPtr, mki);
    store<i32>(p, n + 1, C_KEY_COUNT);
    st = n;
  }
  memory.fill(keyPtr, 0, 32);
  memory.fill(saltPtr, 0, 16);
  return st;
}

/** Makes the key with this MKI the one protect uses. */
export function ctxSetTxKey(handle: i32, mki: u32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const n = load<i32>(p, C_KEY_COUNT);
  for (let i = 0; i < n; i++) {
    if (load<u32>(keySet(p, i), KS_MKI) == mki) { store<i32>(p, i, C_TX_KEY); return ST_OK; }
  }
  return ST_UNKNOWN_MKI;
}

/** Lowers the packet limits of the key with this MKI (an SDES lifetime). */
export function ctxSetKeyLimit(handle: i32, mki: u32, srtpLimit: u64, srtcpLimit: u64): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const ks = load<i32>(p, C_MKI_LEN) == 0 ? keySet(p, 0) : findKey(p, mki);
  if (ks == 0) return ST_UNKNOWN_MKI;
  store<u64>(ks, min(srtpLimit, SRTP_MAX_PACKETS), KS_SRTP_LIMIT);
  store<u64>(ks, min(srtcpLimit, SRTCP_MAX_PACKETS), KS_SRTCP_LIMIT);
  return ST_OK;
}

/** The key set with this MKI value, or 0. */
export function findKey(p: usize, mki: u32): usize {
  const n = load<i32>(p, C_KEY_COUNT);
  for (let i = 0; i < n; i++) {
    const ks = keySet(p, i);
    if (load<u32>(ks, KS_MKI) == mki) return ks;
  }
  return 0;
}

/** Reads the MKI (big-endian, mkiLen bytes) at ptr. */
@inline export function readMki(ptr: usize, mkiLen: i32): u32 {
  let v: u32 = 0;
  for (let i = 0; i < mkiLen; i++) v = (v << 8) | <u32>load<u8>(ptr + <usize>i);
  return v;
}

@inline export function writeMki(ptr: usize, mkiLen: i32, v: u32): void {
  for (let i = mkiLen - 1; i >= 0; i--) { store<u8>(ptr + <usize>i, <u8>v); v >>= 8; }
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
  let e = p + ssrcTableOffset;
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
  const e = p + ssrcTableOffset + <usize>n * entryBytes;
  memory.fill(e, 0, entryBytes);
  store<u32>(e, ssrc, S_SSRC);
  store<u32>(e, SS_USED, S_STATE);
  store<i32>(p, n + 1, C_SSRC_COUNT);
  return e;
}

/** Sets the ROC for ssrc out of band (RFC 3711 §3.3.1: e.g. a late joiner, RFC 4771).
 *  The next packet of ssrc then starts the stream afresh at index roc:SEQ with an empty
 *  replay window — a deliberate control-plane act, never triggered by a packet. */
export function ctxSetRoc(handle: i32, ssrc: u32, roc: u32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  let e = findEntry(p, ssrc);
  if (e == 0) e = addEntry(p, ssrc);
  if (e == 0) return ST_SSRC_TABLE_FULL;
  store<u32>(e, roc, S_PRESET_ROC);
  store<u32>(e, (load<u32>(e, S_STATE) & ~SS_RTP_INIT) | SS_ROC_PRESET, S_STATE);
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

/**
 * Takeover floor for ssrc (a high-water mark another relay persisted before using the indexes
 * below it under the same key). Raises, never lowers:
 * - SRTP (rtcp = 0), either direction: the highest index becomes at least `floor` with every
 *   index ≤ floor marked seen, so index estimation continues from the floor's ROC; unprotect
 *   rejects ≤ floor as a replay and protect refuses it (ST_INDEX_REUSE), also after ctxSetRoc.
 * - SRTCP inbound: the same for the 31-bit index. SRTCP outbound: the next index sent is at
 *   least floor + 1 (floor 2^31-1 leaves none: protect then returns ST_KEY_EXPIRED).
 * Creates the entry if needed (a control-plane act, like ctxSetRoc). Returns ST_OK or a status.
 */
export function ctxApplyFloor(handle: i32, ssrc: u32, rtcp: i32, floor: u64): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  if (rtcp != 0 && rtcp != 1) return ST_BAD_PARAM;
  if (floor >= (rtcp ? SRTCP_MAX_PACKETS : SRTP_MAX_PACKETS)) return ST_BAD_PARAM;
  let e = findEntry(p, ssrc);
  if (e == 0) e = addEntry(p, ssrc);
  if (e == 0) return ST_SSRC_TABLE_FULL;
  const state = load<u32>(e, S_STATE);
  const rb = <u64>ringBits;
  if (rtcp == 0) {
    const f = state & SS_FLOOR ? max(floor, load<u64>(e, S_RTP_FLOOR)) : floor;
    store<u64>(e, f, S_RTP_FLOOR);
    const init = (state & SS_RTP_INIT) != 0;
    store<u64>(e, replayMarkThrough(entryRtpBitmap(e), rb, init, load<u64>(e, S_RTP_TOP), f), S_RTP_TOP);
    store<u32>(e, state | SS_RTP_INIT | SS_FLOOR, S_STATE);
  } else if (load<i32>(p, C_FLAGS) & FLAG_OUTBOUND) {
    // Outbound S_RTCP_TOP is the next index to send.
    if (<u64>load<u32>(e, S_RTCP_TOP) <= floor) store<u32>(e, <u32>floor + 1, S_RTCP_TOP);
    store<u32>(e, state | SS_RTCP_INIT, S_STATE);
  } else {
    const init = (state & SS_RTCP_INIT) != 0;
    const top = replayMarkThrough(entryRtcpBitmap(e), rb, init, <u64>load<u32>(e, S_RTCP_TOP), floor);
    store<u32>(e, <u32>top, S_RTCP_TOP);
    store<u32>(e, state | SS_RTCP_INIT, S_STATE);
  }
  return ST_OK;
}

/** SSRC entries in the context (some may carry no index yet), or a negative status. */
export function ctxSsrcCount(handle: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  return load<i32>(p, C_SSRC_COUNT);
}

@inline function entryAt(p: usize, i: i32): usize {
  if (i < 0 || i >= load<i32>(p, C_SSRC_COUNT)) return 0;
  return p + ssrcTableOffset + <usize>i * entryBytes;
}

/** The SSRC of entry i, or a negative status. */
export function ctxEntrySsrc(handle: i32, i: i32): i64 {
  const p = slotOf(handle);
  if (p == 0) return <i64>ST_BAD_CTX;
  const e = entryAt(p, i);
  if (e == 0) return <i64>ST_BAD_PARAM;
  return <i64>load<u32>(e, S_SSRC);
}

/**
 * Entry i's highest SRTP (rtcp = 0) or SRTCP (rtcp = 1) index accepted (inbound) or sent
 * (outbound) — a floor counts as used — *plus one*: 0 means none yet, < 0 is a status.
 */
export function ctxEntryIndex(handle: i32, i: i32, rtcp: i32): i64 {
  const p = slotOf(handle);
  if (p == 0) return <i64>ST_BAD_CTX;
  const e = entryAt(p, i);
  if (e == 0 || (rtcp != 0 && rtcp != 1)) return <i64>ST_BAD_PARAM;
  const state = load<u32>(e, S_STATE);
  if (rtcp == 0) return state & SS_RTP_INIT ? <i64>load<u64>(e, S_RTP_TOP) + 1 : 0;
  if ((state & SS_RTCP_INIT) == 0) return 0;
  const top = <i64>load<u32>(e, S_RTCP_TOP);
  // Outbound keeps the next index to send, inbound the highest accepted.
  return load<i32>(p, C_FLAGS) & FLAG_OUTBOUND ? top : top + 1;
}

/** Returns and clears the context's pending EV_* bits. */
export function ctxTakeEvents(handle: i32): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const ev = load<i32>(p, C_EVENTS);
  store<i32>(p, 0, C_EVENTS);
  return ev;
}

/** Test hook: pretend this many packets were already processed under every master key. */
export function ctxSetPacketCounts(handle: i32, srtp: u64, srtcp: u64): i32 {
  const p = slotOf(handle);
  if (p == 0) return ST_BAD_CTX;
  const n = load<i32>(p, C_KEY_COUNT);
  for (let i = 0; i < n; i++) {
    store<u64>(keySet(p, i), srtp, KS_SRTP_COUNT);
    store<u64>(keySet(p, i), srtcp, KS_SRTCP_COUNT);
  }
  return ST_OK;
}
