// A slow, obvious SRTP/SRTCP (RFC 3711) written to be read next to the RFC, used as the
// test oracle for the WASM core. Speed does not matter here; every step is spelled out and
// numbers are bigint where the RFC's arithmetic is wider than 32 bits.
//
// Covered: AES-CM (128 and 256, RFC 6188) and NULL ciphers with HMAC-SHA1 (80/32-bit RTP
// tags; SRTCP always 80 bits, RFC 4568 §6.2), the §4.3 key derivation with any key
// derivation rate, the §4.1.1 counter, the Appendix A index estimate, sender ROC tracking,
// SRTCP's E flag and 31-bit index. Not covered: MKI, AES-f8, AEAD suites.
//
// The suite facts below duplicate src/crypto/suites.ts on purpose: an oracle that read the
// table under test could not catch a wrong length in it. refSrtp.test.ts checks that every
// suite of that table is here with the same facts. (Style rule 2 keeps suite names in one
// table; the oracle is the one deliberate exception, and it has no switch over them.)
import { ecb } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';

export type RefSuiteName =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'NULL_HMAC_SHA1_80'
  | 'NULL_HMAC_SHA1_32';

export interface RefSuite {
  readonly name: RefSuiteName;
  /** AES-CM with a key of `keyLen` bytes, or no encryption at all. */
  readonly cipher: 'AES_CM' | 'NULL';
  /** Master key length = session encryption key length (bytes). NULL suites derive as AES-128. */
  readonly keyLen: number;
  /** Master and session salt length: 112 bits (RFC 3711 §8.2). */
  readonly saltLen: number;
  /** Session authentication key length: 160 bits for HMAC-SHA1 (RFC 3711 §8.2). */
  readonly authKeyLen: number;
  /** SRTP tag length in bytes. */
  readonly rtpTagLen: number;
  /** SRTCP tag length: always 80 bits (RFC 4568 §6.2, RFC 3711 §5.2). */
  readonly rtcpTagLen: number;
}

const ref = (name: RefSuiteName, cipher: 'AES_CM' | 'NULL', keyLen: number, rtpTagLen: number): RefSuite =>
  Object.freeze({ name, cipher, keyLen, saltLen: 14, authKeyLen: 20, rtpTagLen, rtcpTagLen: 10 });

/** RFC 4568 §6.2 (AES-128, NULL; 80/32-bit RTP tags), RFC 6188 §3 (AES-192, AES-256). */
export const REF_SUITES: Readonly<Record<RefSuiteName, RefSuite>> = Object.freeze({
  AES_CM_128_HMAC_SHA1_80: ref('AES_CM_128_HMAC_SHA1_80', 'AES_CM', 16, 10),
  AES_CM_128_HMAC_SHA1_32: ref('AES_CM_128_HMAC_SHA1_32', 'AES_CM', 16, 4),
  AES_192_CM_HMAC_SHA1_80: ref('AES_192_CM_HMAC_SHA1_80', 'AES_CM', 24, 10),
  AES_192_CM_HMAC_SHA1_32: ref('AES_192_CM_HMAC_SHA1_32', 'AES_CM', 24, 4),
  AES_256_CM_HMAC_SHA1_80: ref('AES_256_CM_HMAC_SHA1_80', 'AES_CM', 32, 10),
  AES_256_CM_HMAC_SHA1_32: ref('AES_256_CM_HMAC_SHA1_32', 'AES_CM', 32, 4),
  NULL_HMAC_SHA1_80: ref('NULL_HMAC_SHA1_80', 'NULL', 16, 10),
  NULL_HMAC_SHA1_32: ref('NULL_HMAC_SHA1_32', 'NULL', 16, 4),
});

export const REF_SUITE_NAMES = Object.keys(REF_SUITES) as RefSuiteName[];

/** The reference's facts for a suite name; throws for a suite the reference does not know. */
export function refSuite(name: string): RefSuite {
  if (!Object.prototype.hasOwnProperty.call(REF_SUITES, name)) {
    throw new RefSrtpError('E_BAD_PARAM', `the reference does not implement suite ${name}`);
  }
  return REF_SUITES[name as RefSuiteName];
}

/** RFC 3711 §4.3.1 / §4.3.2 key derivation labels. */
export const LABEL = {
  RTP_ENCRYPTION: 0x00,
  RTP_AUTH: 0x01,
  RTP_SALT: 0x02,
  RTCP_ENCRYPTION: 0x03,
  RTCP_AUTH: 0x04,
  RTCP_SALT: 0x05,
} as const;

export type RefErrorCode =
  | 'E_TOO_SHORT'
  | 'E_BAD_HEADER'
  | 'E_AUTH_FAIL'
  | 'E_REPLAY_DUPLICATE'
  | 'E_REPLAY_OLD'
  | 'E_BAD_PARAM'
  | 'E_UNKNOWN_MKI';

/** Thrown by the reference; codes follow the names srtpgate's SrtpError uses. */
export class RefSrtpError extends Error {
  readonly code: RefErrorCode;
  constructor(code: RefErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RefSrtpError';
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Big-endian bytes of a non-negative integer, `len` bytes wide. */
function beBytes(value: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = value;
  for (let i = len - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

function beBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function u16(b: Uint8Array, o: number): number { return (b[o]! << 8) | b[o + 1]!; }
function u32(b: Uint8Array, o: number): number { return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0; }

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new Error('xor of unequal lengths');
  return a.map((x, i) => x ^ b[i]!);
}

/** Constant-time-ish comparison; the oracle does not need it, but it costs nothing. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

// ---------------------------------------------------------------------------------------
// Primitives: AES in counter mode (RFC 3711 §4.1.1) and HMAC-SHA1 (§4.2.1)
// ---------------------------------------------------------------------------------------

/** The 128-bit counter block `iv + j` (big-endian addition modulo 2^128). */
function counterBlock(iv: Uint8Array, j: number): Uint8Array {
  return beBytes((beBigint(iv) + BigInt(j)) % (1n << 128n), 16);
}

/**
 * The AES-CM keystream of `len` bytes starting at counter `iv`:
 * E(k, IV) || E(k, IV + 1) || E(k, IV + 2) || ... truncated to `len`.
 */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, len: number): Uint8Array {
  if (iv.length !== 16) throw new Error('AES-CM IV is 16 bytes');
  const blocks = Math.ceil(len / 16);
  const counters = new Uint8Array(blocks * 16);
  for (let j = 0; j < blocks; j++) counters.set(counterBlock(iv, j), 16 * j);
  // ECB over the counter blocks is exactly the list of E(k, IV + j).
  const stream = ecb(key, { disablePadding: true }).encrypt(counters);
  return stream.slice(0, len);
}

export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha1, key, data);
}

// ---------------------------------------------------------------------------------------
// Key derivation (RFC 3711 §4.3, RFC 6188 §5.1 for AES-256)
// ---------------------------------------------------------------------------------------

/**
 * The SRTP PRF: AES-CM keyed with the master key, IV = (master_salt XOR key_id) * 2^16,
 * where key_id = label || r, r = index DIV kdr (0 when kdr = 0), right-aligned with the
 * salt. r is 48 bits wide for SRTP and SRTCP alike (the 31-bit SRTCP index fits).
 */
export function srtpPrf(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, r: bigint, outLen: number): Uint8Array {
  if (masterKey.length !== 16 && masterKey.length !== 24 && masterKey.length !== 32) throw new Error('bad master key length');
  return aesCmKeystream(masterKey, prfIv(masterSalt, label, r), outLen);
}

/** The PRF's first counter block: (master_salt XOR (label || r)) * 2^16. */
export function prfIv(masterSalt: Uint8Array, label: number, r: bigint): Uint8Array {
  if (masterSalt.length !== 14) throw new Error('master salt is 112 bits');
  const keyId = beBytes((BigInt(label) << 48n) | (r & 0xffff_ffff_ffffn), 7);
  const x = xor(masterSalt, concat(new Uint8Array(7), keyId));
  return concat(x, new Uint8Array(2));
}

/** r = index DIV key_derivation_rate, with r = 0 for a rate of 0 (§4.3.1). */
export function kdfR(kdr: bigint, index: bigint): bigint {
  return kdr === 0n ? 0n : index / kdr;
}

export interface SessionKeys {
  rtpKey: Uint8Array;
  rtpAuthKey: Uint8Array;
  rtpSalt: Uint8Array;
  rtcpKey: Uint8Array;
  rtcpAuthKey: Uint8Array;
  rtcpSalt: Uint8Array;
}

/**
 * All six session keys for `index` (used for both the SRTP and the SRTCP labels) under key
 * derivation rate `kdr` (0 = derive once).
 */
export function deriveSessionKeys(
  suite: RefSuite | string, masterKey: Uint8Array, masterSalt: Uint8Array,
  kdr: bigint | number = 0n, index: bigint | number = 0n,
): SessionKeys {
  const s = typeof suite === 'string' ? refSuite(suite) : suite;
  if (masterKey.length !== s.keyLen) throw new RefSrtpError('E_BAD_PARAM', `master key must be ${s.keyLen} bytes`);
  if (masterSalt.length !== s.saltLen) throw new RefSrtpError('E_BAD_PARAM', `master salt must be ${s.saltLen} bytes`);
  const r = kdfR(BigInt(kdr), BigInt(index));
  const d = (label: number, len: number) => srtpPrf(masterKey, masterSalt, label, r, len);
  return {
    rtpKey: d(LABEL.RTP_ENCRYPTION, s.keyLen),
    rtpAuthKey: d(LABEL.RTP_AUTH, s.authKeyLen),
    rtpSalt: d(LABEL.RTP_SALT, s.saltLen),
    rtcpKey: d(LABEL.RTCP_ENCRYPTION, s.keyLen),
    rtcpAuthKey: d(LABEL.RTCP_AUTH, s.authKeyLen),
    rtcpSalt: d(LABEL.RTCP_SALT, s.saltLen),
  };
}

/** RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16). */
export function aesCmIv(sessionSalt: Uint8Array, ssrc: number, index: bigint): Uint8Array {
  const ks = beBigint(sessionSalt) << 16n;
  const iv = ks ^ (BigInt(ssrc >>> 0) << 64n) ^ ((index & 0xffff_ffff_ffffn) << 16n);
  return beBytes(iv, 16);
}

// ---------------------------------------------------------------------------------------
// Packet parsing
// ---------------------------------------------------------------------------------------

export interface RtpHeaderInfo {
  version: number;
  padding: boolean;
  extension: boolean;
  cc: number;
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  /** Bytes of fixed header + CSRCs + extension: where the encrypted payload starts. */
  headerLen: number;
}

/** Parses an RTP header (RFC 3550 §5.1/§5.3.1); `minTrailer` bytes must follow it. */
export function parseRtpHeader(p: Uint8Array, minTrailer = 0): RtpHeaderInfo {
  if (p.length < 12 + minTrailer) throw new RefSrtpError('E_TOO_SHORT', `RTP packet of ${p.length} bytes`);
  const version = p[0]! >> 6;
  if (version !== 2) throw new RefSrtpError('E_BAD_HEADER', `RTP version ${version}`);
  const cc = p[0]! & 0x0f;
  const extension = (p[0]! & 0x10) !== 0;
  let headerLen = 12 + 4 * cc;
  if (extension) {
    if (p.length < headerLen + 4 + minTrailer) throw new RefSrtpError('E_BAD_HEADER', 'extension header past the end');
    headerLen += 4 + 4 * u16(p, headerLen + 2);
  }
  if (p.length < headerLen + minTrailer) throw new RefSrtpError('E_BAD_HEADER', 'header longer than the packet');
  return {
    version, padding: (p[0]! & 0x20) !== 0, extension, cc,
    marker: (p[1]! & 0x80) !== 0, pt: p[1]! & 0x7f,
    seq: u16(p, 2), ts: u32(p, 4), ssrc: u32(p, 8), headerLen,
  };
}

// ---------------------------------------------------------------------------------------
// Index estimation (RFC 3711 §3.3.1 and Appendix A)
// ---------------------------------------------------------------------------------------

/**
 * Appendix A: the ROC guess v for sequence number `seq` given the highest accepted
 * sequence number `sL` and rollover counter `roc`. May return -1 (a packet from before
 * ROC 0, which has no index).
 */
export function estimateRoc(roc: number, sL: number, seq: number): number {
  if (sL < 32768) return seq - sL > 32768 ? roc - 1 : roc;
  return sL - 32768 > seq ? roc + 1 : roc;
}

/** The 48-bit packet index i = 2^16 * ROC + SEQ (or null when ROC would be negative). */
export function estimateIndex(roc: number, sL: number, seq: number): bigint | null {
  const v = estimateRoc(roc, sL, seq);
  if (v < 0) return null;
  return (BigInt(v >>> 0) << 16n) | BigInt(seq);
}

// ---------------------------------------------------------------------------------------
// The context
// ---------------------------------------------------------------------------------------

export interface RefSrtpOptions {
  /** Suite name as RFC 4568 / RFC 6188 spell it (must be one of REF_SUITES). */
  suite: string;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  /** Key derivation rate (0 = keys derived once). Default 0. */
  kdr?: bigint | number;
  /** Replay window in packets, for SRTP and SRTCP. Default 1024. 0 disables replay checks. */
  replayWindow?: number;
  /** First SRTCP index a new outbound SSRC uses. Default 0 (RFC 3711 §3.4). */
  srtcpIndexStart?: number;
  /** MKI bytes (RFC 3711 §3.1) carried between the payload / SRTCP index and the tag. The
   *  MKI is not authenticated. Default: none. One master key only: a packet with another
   *  MKI is refused with E_UNKNOWN_MKI. */
  mki?: Uint8Array;
}

/** Per-SSRC sender state. */
interface OutStream {
  /** Highest index sent so far (2^16 * ROC + s_l); null until the first packet. */
  highest: bigint | null;
  /** ROC forced by setRoc before the first packet, or after a reset. */
  roc: number;
  srtcpIndex: number;
}

/** Per-SSRC receiver state: highest index and the naive set of accepted indices. */
interface InStream {
  highest: bigint | null;
  roc: number;
  seen: Set<bigint>;
  rtcpHighest: bigint | null;
  rtcpSeen: Set<bigint>;
}

export interface RtcpUnprotectResult {
  packet: Uint8Array;
  index: number;
  encrypted: boolean;
}

export type Direction = 'out' | 'in' | 'both';

export class RefSrtpContext {
  readonly suite: RefSuite;
  readonly #masterKey: Uint8Array;
  readonly #masterSalt: Uint8Array;
  readonly #kdr: bigint;
  readonly #window: number;
  readonly #srtcpIndexStart: number;
  readonly #mki: Uint8Array;
  readonly #out = new Map<number, OutStream>();
  readonly #in = new Map<number, InStream>();
  readonly #keyCache = new Map<bigint, SessionKeys>();

  constructor(opts: RefSrtpOptions) {
    this.suite = refSuite(opts.suite);
    if (opts.masterKey.length !== this.suite.keyLen || opts.masterSalt.length !== this.suite.saltLen) {
      throw new RefSrtpError('E_BAD_PARAM', 'master key or salt of the wrong length');
    }
    this.#masterKey = opts.masterKey.slice();
    this.#masterSalt = opts.masterSalt.slice();
    this.#kdr = BigInt(opts.kdr ?? 0);
    this.#window = opts.replayWindow ?? 1024;
    this.#srtcpIndexStart = opts.srtcpIndexStart ?? 0;
    this.#mki = (opts.mki ?? new Uint8Array(0)).slice();
  }

  /** Session keys in force for packet index `index`. */
  keysFor(index: bigint): SessionKeys {
    const r = kdfR(this.#kdr, index);
    let k = this.#keyCache.get(r);
    if (!k) {
      k = deriveSessionKeys(this.suite, this.#masterKey, this.#masterSalt, this.#kdr, index);
      this.#keyCache.set(r, k);
    }
    return k;
  }

  /** Sets the ROC of `ssrc` for the sender, the receiver, or both (default). */
  setRoc(ssrc: number, roc: number, direction: Direction = 'both'): void {
    const key = ssrc >>> 0;
    if (direction !== 'in') {
      const o = this.#outStream(key);
      o.roc = roc >>> 0;
      o.highest = null;
    }
    if (direction !== 'out') {
      const i = this.#inStream(key);
      i.roc = roc >>> 0;
      i.highest = null;
      i.seen.clear();
    }
  }

  /** Sets the SRTCP index the next protectRtcp for `ssrc` uses. */
  setSrtcpIndex(ssrc: number, index: number): void {
    this.#outStream(ssrc >>> 0).srtcpIndex = index & 0x7fff_ffff;
  }

  /** The sender's current ROC for `ssrc` (0 if never sent). */
  outRoc(ssrc: number): number {
    const o = this.#out.get(ssrc >>> 0);
    if (!o) return 0;
    return o.highest === null ? o.roc : Number(o.highest >> 16n);
  }

  #outStream(ssrc: number): OutStream {
    let o = this.#out.get(ssrc);
    if (!o) { o = { highest: null, roc: 0, srtcpIndex: this.#srtcpIndexStart }; this.#out.set(ssrc, o); }
    return o;
  }

  #inStream(ssrc: number): InStream {
    let s = this.#in.get(ssrc);
    if (!s) { s = { highest: null, roc: 0, seen: new Set(), rtcpHighest: null, rtcpSeen: new Set() }; this.#in.set(ssrc, s); }
    return s;
  }

  /** Encrypts (AES-CM) or passes through (NULL) `data` with the keystream for (ssrc, index). */
  #cipher(key: Uint8Array, salt: Uint8Array, ssrc: number, index: bigint, data: Uint8Array): Uint8Array {
    if (this.suite.cipher === 'NULL') return data.slice();
    return xor(data, aesCmKeystream(key, aesCmIv(salt, ssrc, index), data.length));
  }

  // ----- SRTP ------------------------------------------------------------------------

  /** RFC 3711 §3.3: the sender's index is estimated against its own highest index, as a receiver would. */
  #senderIndex(o: OutStream, seq: number): bigint {
    if (o.highest === null) return (BigInt(o.roc) << 16n) | BigInt(seq);
    const roc = Number(o.highest >> 16n);
    const sL = Number(o.highest & 0xffffn);
    const idx = estimateIndex(roc, sL, seq);
    if (idx === null) throw new RefSrtpError('E_BAD_PARAM', 'sequence number before ROC 0');
    return idx;
  }

  protectRtp(p: Uint8Array): Uint8Array {
    const h = parseRtpHeader(p);
    const o = this.#outStream(h.ssrc);
    const index = this.#senderIndex(o, h.seq);
    const k = this.keysFor(index);
    const roc = Number(index >> 16n);
    const encrypted = concat(p.subarray(0, h.headerLen), this.#cipher(k.rtpKey, k.rtpSalt, h.ssrc, index, p.subarray(h.headerLen)));
    const tag = hmacSha1(k.rtpAuthKey, concat(encrypted, beBytes(BigInt(roc), 4))).slice(0, this.suite.rtpTagLen);
    if (o.highest === null || index > o.highest) o.highest = index;
    return concat(encrypted, this.#mki, tag);
  }

  /** The index the receiver would assign to `seq` of `ssrc` right now (no state change). */
  receiverIndex(ssrc: number, seq: number): bigint | null {
    const s = this.#in.get(ssrc >>> 0);
    if (!s || s.highest === null) return (BigInt(s?.roc ?? 0) << 16n) | BigInt(seq);
    return estimateIndex(Number(s.highest >> 16n), Number(s.highest & 0xffffn), seq);
  }

  #replayCheck(seen: Set<bigint>, highest: bigint | null, index: bigint): void {
    if (this.#window === 0 || highest === null) return;
    if (seen.has(index)) throw new RefSrtpError('E_REPLAY_DUPLICATE', `index ${index}`);
    if (index <= highest - BigInt(this.#window)) throw new RefSrtpError('E_REPLAY_OLD', `index ${index}, highest ${highest}`);
  }

  /** Checks and removes the MKI in front of the last `tagLen` bytes; returns packet || tag. */
  #stripMki(p: Uint8Array, tagLen: number): Uint8Array {
    const m = this.#mki.length;
    if (m === 0) return p;
    const at = p.length - tagLen - m;
    if (!equalBytes(p.subarray(at, at + m), this.#mki)) throw new RefSrtpError('E_UNKNOWN_MKI', 'MKI of another master key');
    return concat(p.subarray(0, at), p.subarray(at + m));
  }

  unprotectRtp(packet: Uint8Array): Uint8Array {
    const tagLen = this.suite.rtpTagLen;
    parseRtpHeader(packet, tagLen + this.#mki.length);
    const p = this.#stripMki(packet, tagLen);
    const h = parseRtpHeader(p, tagLen);
    const index = this.receiverIndex(h.ssrc, h.seq);
    if (index === null) throw new RefSrtpError('E_REPLAY_OLD', 'index before ROC 0');
    const existing = this.#in.get(h.ssrc);
    this.#replayCheck(existing?.seen ?? new Set(), existing?.highest ?? null, index);
    const k = this.keysFor(index);
    const body = p.subarray(0, p.length - tagLen);
    const tag = p.subarray(p.length - tagLen);
    const roc = Number(index >> 16n);
    const expected = hmacSha1(k.rtpAuthKey, concat(body, beBytes(BigInt(roc), 4))).slice(0, tagLen);
    if (!equalBytes(tag, expected)) throw new RefSrtpError('E_AUTH_FAIL', `ssrc ${h.ssrc} seq ${h.seq}`);
    const plain = concat(body.subarray(0, h.headerLen), this.#cipher(k.rtpKey, k.rtpSalt, h.ssrc, index, body.subarray(h.headerLen)));
    // Commit only after the tag verified.
    const s = this.#inStream(h.ssrc);
    s.seen.add(index);
    if (s.highest === null || index > s.highest) s.highest = index;
    return plain;
  }

  // ----- SRTCP -----------------------------------------------------------------------

  /**
   * RFC 3711 §3.4: encrypt everything after the first 8 bytes, append E || 31-bit index,
   * then the 80-bit tag over packet || E || index. E is set when the suite encrypts.
   */
  protectRtcp(p: Uint8Array, opts: { encrypt?: boolean } = {}): Uint8Array {
    if (p.length < 8) throw new RefSrtpError('E_TOO_SHORT', `RTCP packet of ${p.length} bytes`);
    if (p[0]! >> 6 !== 2) throw new RefSrtpError('E_BAD_HEADER', 'RTCP version');
    const ssrc = u32(p, 4);
    const o = this.#outStream(ssrc);
    const index = o.srtcpIndex;
    const encrypt = opts.encrypt ?? this.suite.cipher !== 'NULL';
    const k = this.keysFor(BigInt(index));
    const body = encrypt
      ? concat(p.subarray(0, 8), this.#cipher(k.rtcpKey, k.rtcpSalt, ssrc, BigInt(index), p.subarray(8)))
      : p.slice();
    const eIndex = beBytes(BigInt(((encrypt ? 0x8000_0000 : 0) | index) >>> 0), 4);
    const authed = concat(body, eIndex);
    const tag = hmacSha1(k.rtcpAuthKey, authed).slice(0, this.suite.rtcpTagLen);
    o.srtcpIndex = (index + 1) & 0x7fff_ffff;
    return concat(authed, this.#mki, tag);
  }

  unprotectRtcpDetailed(packet: Uint8Array): RtcpUnprotectResult {
    const tagLen = this.suite.rtcpTagLen;
    if (packet.length < 8 + 4 + this.#mki.length + tagLen) throw new RefSrtpError('E_TOO_SHORT', `SRTCP packet of ${packet.length} bytes`);
    const p = this.#stripMki(packet, tagLen);
    if (p[0]! >> 6 !== 2) throw new RefSrtpError('E_BAD_HEADER', 'RTCP version');
    const ssrc = u32(p, 4);
    const trailerAt = p.length - tagLen - 4;
    const eIndex = u32(p, trailerAt);
    const encrypted = (eIndex & 0x8000_0000) !== 0;
    const index = eIndex & 0x7fff_ffff;
    const existing = this.#in.get(ssrc);
    this.#replayCheck(existing?.rtcpSeen ?? new Set(), existing?.rtcpHighest ?? null, BigInt(index));
    const k = this.keysFor(BigInt(index));
    const authed = p.subarray(0, p.length - tagLen);
    const expected = hmacSha1(k.rtcpAuthKey, authed).slice(0, tagLen);
    if (!equalBytes(p.subarray(p.length - tagLen), expected)) throw new RefSrtpError('E_AUTH_FAIL', `SRTCP ssrc ${ssrc} index ${index}`);
    const body = p.subarray(0, trailerAt);
    const plain = encrypted
      ? concat(body.subarray(0, 8), this.#cipher(k.rtcpKey, k.rtcpSalt, ssrc, BigInt(index), body.subarray(8)))
      : body.slice();
    const s = this.#inStream(ssrc);
    s.rtcpSeen.add(BigInt(index));
    if (s.rtcpHighest === null || BigInt(index) > s.rtcpHighest) s.rtcpHighest = BigInt(index);
    return { packet: plain, index, encrypted };
  }

  unprotectRtcp(p: Uint8Array): Uint8Array {
    return this.unprotectRtcpDetailed(p).packet;
  }
}

/** The SRTCP index srtpgate (or anyone) wrote into a protected SRTCP packet. */
export function srtcpTrailer(p: Uint8Array, tagLen = 10, mkiLen = 0): { encrypted: boolean; index: number } {
  const v = u32(p, p.length - tagLen - mkiLen - 4);
  return { encrypted: (v & 0x8000_0000) !== 0, index: v & 0x7fff_ffff };
}

// ---------------------------------------------------------------------------------------
// Packet builders for tests
// ---------------------------------------------------------------------------------------

export interface RtpFields {
  ssrc: number;
  seq: number;
  ts?: number;
  pt?: number;
  marker?: boolean;
  csrcs?: number[];
  /** Header extension: 16-bit profile and its body (a multiple of 4 bytes). */
  extension?: { profile: number; data: Uint8Array };
  payload: Uint8Array;
  /** Padding bytes to append (1..255); sets P and ends the packet with the count. */
  padding?: number;
}

/** Builds an RTP packet (RFC 3550 §5.1) from its fields. */
export function buildRtp(f: RtpFields): Uint8Array {
  const csrcs = f.csrcs ?? [];
  if (csrcs.length > 15) throw new Error('at most 15 CSRCs');
  if (f.extension && f.extension.data.length % 4 !== 0) throw new Error('extension body is whole words');
  const ext = f.extension ? 4 + f.extension.data.length : 0;
  const pad = f.padding ?? 0;
  if (pad < 0 || pad > 255) throw new Error('padding is 0..255 bytes');
  const hdr = 12 + 4 * csrcs.length + ext;
  const p = new Uint8Array(hdr + f.payload.length + pad);
  const v = new DataView(p.buffer);
  p[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (f.extension ? 0x10 : 0) | csrcs.length;
  p[1] = (f.marker ? 0x80 : 0) | ((f.pt ?? 96) & 0x7f);
  v.setUint16(2, f.seq & 0xffff);
  v.setUint32(4, (f.ts ?? 0) >>> 0);
  v.setUint32(8, f.ssrc >>> 0);
  csrcs.forEach((c, i) => v.setUint32(12 + 4 * i, c >>> 0));
  if (f.extension) {
    const at = 12 + 4 * csrcs.length;
    v.setUint16(at, f.extension.profile & 0xffff);
    v.setUint16(at + 2, f.extension.data.length / 4);
    p.set(f.extension.data, at + 4);
  }
  p.set(f.payload, hdr);
  if (pad > 0) p[p.length - 1] = pad;
  return p;
}

/** Builds one RTCP packet (RFC 3550 §6.4): header, sender SSRC, then `body` (whole words). */
export function buildRtcp(ssrc: number, body: Uint8Array, pt = 200, count = 0): Uint8Array {
  if (body.length % 4 !== 0) throw new Error('RTCP body is whole words');
  const p = new Uint8Array(8 + body.length);
  const v = new DataView(p.buffer);
  p[0] = 0x80 | (count & 0x1f);
  p[1] = pt & 0xff;
  v.setUint16(2, p.length / 4 - 1);
  v.setUint32(4, ssrc >>> 0);
  p.set(body, 8);
  return p;
}
