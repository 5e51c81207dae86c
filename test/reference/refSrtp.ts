// A slow, obvious SRTP/SRTCP (RFC 3711) written to be read next to the RFC, used as the
// test oracle for the WASM core. Speed does not matter here; every step is spelled out and
// numbers are bigint where the RFC's arithmetic is wider than 32 bits.
//
// Covered: AES-CM (128, 192 and 256, RFC 6188), AES-f8 (RFC 3711 §4.1.2) and NULL ciphers
// with HMAC-SHA1 (80/32-bit RTP tags; SRTCP always 80 bits, RFC 4568 §6.2); AEAD_AES_128_GCM
// and AEAD_AES_256_GCM (RFC 7714, SRTCP with E = 1 and E = 0); the §4.3 key derivation with
// any key derivation rate; the §4.1.1 counter; the Appendix A index estimate; sender ROC
// tracking; SRTCP's E flag and 31-bit index; one MKI. The primitives are in refPrimitives.ts.
//
// The suite facts below duplicate src/crypto/suites.ts on purpose: an oracle that read the
// table under test could not catch a wrong length in it. refSrtp.test.ts checks that every
// suite of that table is here with the same facts. (Style rule 2 keeps suite names in one
// table; the oracle is the one deliberate exception, and it has no switch over them.)
import {
  aesCmIv, aesCmKeystream, beBytes, concat, equalBytes, f8IvRtcp, f8IvRtp, f8Keystream, gcmIvRtcp,
  gcmIvRtp, gcmOpen, gcmSeal, hmacSha1, kdfR, srtpPrf, u16, u32, xor,
} from './refPrimitives.ts';

export {
  aesBlock, aesCmIv, aesCmKeystream, f8IvPrime, f8IvRtcp, f8IvRtp, f8KeyMask, f8Keystream, gcmIvRtcp,
  gcmIvRtp, gcmOpen, gcmSeal, hex, hmacSha1, kdfR, prfIv, srtpPrf, toHex,
} from './refPrimitives.ts';

export type RefSuiteName =
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM'
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'F8_128_HMAC_SHA1_80'
  | 'F8_128_HMAC_SHA1_32'
  | 'NULL_HMAC_SHA1_80'
  | 'NULL_HMAC_SHA1_32';

/** How the payload is transformed: AES counter mode, AES-f8, AES-GCM (an AEAD), or not at all. */
export type RefCipher = 'AES_CM' | 'AES_F8' | 'AES_GCM' | 'NULL';

export interface RefSuite {
  readonly name: RefSuiteName;
  readonly cipher: RefCipher;
  /** Master key length = session encryption key length (bytes). NULL suites derive as AES-128. */
  readonly keyLen: number;
  /** Master and session salt length: 112 bits (RFC 3711 §8.2), 96 bits for GCM (RFC 7714 §12). */
  readonly saltLen: number;
  /** Session authentication key length: 160 bits for HMAC-SHA1 (RFC 3711 §8.2); none for GCM. */
  readonly authKeyLen: number;
  /** SRTP tag length in bytes. */
  readonly rtpTagLen: number;
  /** SRTCP tag length: 80 bits for HMAC-SHA1 (RFC 4568 §6.2, RFC 3711 §5.2), 128 for GCM. */
  readonly rtcpTagLen: number;
  /** The payload is encrypted (every cipher but NULL). */
  readonly encrypts: boolean;
  /**
   * RFC 7714 layout: the tag is part of the AEAD output, the MKI comes last (SRTP
   * header | ciphertext | tag | MKI; SRTCP header | ciphertext | tag | E||index | MKI) and the
   * ROC is in the IV instead of the authenticated data.
   */
  readonly aead: boolean;
}

const hmacSuite = (name: RefSuiteName, cipher: 'AES_CM' | 'AES_F8' | 'NULL', keyLen: number, rtpTagLen: number): RefSuite =>
  Object.freeze({ name, cipher, keyLen, saltLen: 14, authKeyLen: 20, rtpTagLen, rtcpTagLen: 10, encrypts: cipher !== 'NULL', aead: false });
const gcmSuite = (name: RefSuiteName, keyLen: number): RefSuite =>
  Object.freeze({ name, cipher: 'AES_GCM', keyLen, saltLen: 12, authKeyLen: 0, rtpTagLen: 16, rtcpTagLen: 16, encrypts: true, aead: true });

/** RFC 4568 §6.2 (AES-128, F8, NULL; 80/32-bit RTP tags), RFC 6188 §3 (AES-192, AES-256),
 *  RFC 7714 §12 (GCM). F8_128_HMAC_SHA1_32 is the 32-bit-tag form srtpgate offers for interop. */
export const REF_SUITES: Readonly<Record<RefSuiteName, RefSuite>> = Object.freeze({
  AEAD_AES_128_GCM: gcmSuite('AEAD_AES_128_GCM', 16),
  AEAD_AES_256_GCM: gcmSuite('AEAD_AES_256_GCM', 32),
  AES_CM_128_HMAC_SHA1_80: hmacSuite('AES_CM_128_HMAC_SHA1_80', 'AES_CM', 16, 10),
  AES_CM_128_HMAC_SHA1_32: hmacSuite('AES_CM_128_HMAC_SHA1_32', 'AES_CM', 16, 4),
  AES_192_CM_HMAC_SHA1_80: hmacSuite('AES_192_CM_HMAC_SHA1_80', 'AES_CM', 24, 10),
  AES_192_CM_HMAC_SHA1_32: hmacSuite('AES_192_CM_HMAC_SHA1_32', 'AES_CM', 24, 4),
  AES_256_CM_HMAC_SHA1_80: hmacSuite('AES_256_CM_HMAC_SHA1_80', 'AES_CM', 32, 10),
  AES_256_CM_HMAC_SHA1_32: hmacSuite('AES_256_CM_HMAC_SHA1_32', 'AES_CM', 32, 4),
  F8_128_HMAC_SHA1_80: hmacSuite('F8_128_HMAC_SHA1_80', 'AES_F8', 16, 10),
  F8_128_HMAC_SHA1_32: hmacSuite('F8_128_HMAC_SHA1_32', 'AES_F8', 16, 4),
  NULL_HMAC_SHA1_80: hmacSuite('NULL_HMAC_SHA1_80', 'NULL', 16, 10),
  NULL_HMAC_SHA1_32: hmacSuite('NULL_HMAC_SHA1_32', 'NULL', 16, 4),
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
// Key derivation (RFC 3711 §4.3, RFC 6188 §5.1 for AES-256, RFC 7714 §11 for GCM)
// ---------------------------------------------------------------------------------------

export interface SessionKeys {
  rtpKey: Uint8Array;
  /** Empty for GCM (RFC 7714 §11: the AEAD needs no separate authentication key). */
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
  // The PRF's input block is built from a 112-bit salt. GCM's 96-bit master salt enters it
  // followed by two zero bytes, as libsrtp2 does (its KDF takes key || salt from a zeroed
  // buffer); RFC 7714 publishes no KDF vector, and interop with libsrtp2 is what is checked.
  const prfSalt = concat(masterSalt, new Uint8Array(14 - s.saltLen));
  const d = (label: number, len: number) => srtpPrf(masterKey, prfSalt, label, r, len);
  return {
    rtpKey: d(LABEL.RTP_ENCRYPTION, s.keyLen),
    rtpAuthKey: d(LABEL.RTP_AUTH, s.authKeyLen),
    rtpSalt: d(LABEL.RTP_SALT, s.saltLen),
    rtcpKey: d(LABEL.RTCP_ENCRYPTION, s.keyLen),
    rtcpAuthKey: d(LABEL.RTCP_AUTH, s.authKeyLen),
    rtcpSalt: d(LABEL.RTCP_SALT, s.saltLen),
  };
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

interface RefSrtpCommon {
  /** Suite name as RFC 4568 / RFC 6188 / RFC 7714 spell it (must be one of REF_SUITES). */
  suite: string;
  /** Key derivation rate (0 = keys derived once). Default 0. */
  kdr?: bigint | number;
  /** Replay window in packets, for SRTP and SRTCP. Default 1024. 0 disables replay checks. */
  replayWindow?: number;
  /** First SRTCP index a new outbound SSRC uses. Default 0 (RFC 3711 §3.4). */
  srtcpIndexStart?: number;
  /** MKI bytes (RFC 3711 §3.1): between the payload / SRTCP index and the tag for HMAC
   *  suites, after everything else for GCM (RFC 7714 §8, §9). The MKI is not authenticated.
   *  Default: none. One master key only: a packet with another MKI is refused with
   *  E_UNKNOWN_MKI. */
  mki?: Uint8Array;
}

/** From a master key and salt (normal use), or straight from session keys: test vectors such
 *  as RFC 7714 §16–17 and RFC 3711 B.1 publish session keys and no master key. */
export type RefSrtpOptions = RefSrtpCommon & (
  | { masterKey: Uint8Array; masterSalt: Uint8Array; sessionKeys?: undefined }
  | { sessionKeys: SessionKeys; masterKey?: undefined; masterSalt?: undefined });

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

const E_FLAG = 0x8000_0000;

export class RefSrtpContext {
  readonly suite: RefSuite;
  readonly #masterKey: Uint8Array;
  readonly #masterSalt: Uint8Array;
  readonly #sessionKeys: SessionKeys | null;
  readonly #kdr: bigint;
  readonly #window: number;
  readonly #srtcpIndexStart: number;
  readonly #mki: Uint8Array;
  readonly #out = new Map<number, OutStream>();
  readonly #in = new Map<number, InStream>();
  readonly #keyCache = new Map<bigint, SessionKeys>();

  constructor(opts: RefSrtpOptions) {
    this.suite = refSuite(opts.suite);
    if (opts.sessionKeys !== undefined) {
      const k = opts.sessionKeys;
      // Salts may be shorter than the suite's (RFC 3711 B.1 uses a 32-bit f8 salt); f8's key
      // mask needs them no longer than the key.
      if (k.rtpKey.length !== this.suite.keyLen || k.rtcpKey.length !== this.suite.keyLen
        || k.rtpSalt.length > this.suite.keyLen || k.rtcpSalt.length > this.suite.keyLen) {
        throw new RefSrtpError('E_BAD_PARAM', 'session key or salt of the wrong length');
      }
      this.#sessionKeys = { ...k };
      this.#masterKey = new Uint8Array(0);
      this.#masterSalt = new Uint8Array(0);
    } else {
      if (opts.masterKey.length !== this.suite.keyLen || opts.masterSalt.length !== this.suite.saltLen) {
        throw new RefSrtpError('E_BAD_PARAM', 'master key or salt of the wrong length');
      }
      this.#sessionKeys = null;
      this.#masterKey = opts.masterKey.slice();
      this.#masterSalt = opts.masterSalt.slice();
    }
    this.#kdr = BigInt(opts.kdr ?? 0);
    this.#window = opts.replayWindow ?? 1024;
    this.#srtcpIndexStart = opts.srtcpIndexStart ?? 0;
    this.#mki = (opts.mki ?? new Uint8Array(0)).slice();
  }

  /** Session keys in force for packet index `index`. */
  keysFor(index: bigint): SessionKeys {
    if (this.#sessionKeys) return this.#sessionKeys;
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

  /** The RTP payload encrypted or decrypted (the same XOR) for the HMAC suites: AES-CM,
   *  AES-f8 or the identity (NULL). `header` is the packet's first 12 bytes. */
  #rtpKeystreamXor(k: SessionKeys, header: Uint8Array, ssrc: number, index: bigint, payload: Uint8Array): Uint8Array {
    switch (this.suite.cipher) {
      case 'AES_CM': return xor(payload, aesCmKeystream(k.rtpKey, aesCmIv(k.rtpSalt, ssrc, index), payload.length));
      case 'AES_F8': return xor(payload, f8Keystream(k.rtpKey, k.rtpSalt, f8IvRtp(header, Number(index >> 16n)), payload.length));
      case 'NULL': return payload.slice();
      case 'AES_GCM': throw new Error('GCM is not a keystream XOR here');
    }
  }

  /** The same for an SRTCP body (everything after the first 8 bytes); eIndex = E || index. */
  #rtcpKeystreamXor(k: SessionKeys, header: Uint8Array, ssrc: number, eIndex: number, body: Uint8Array): Uint8Array {
    switch (this.suite.cipher) {
      case 'AES_CM': return xor(body, aesCmKeystream(k.rtcpKey, aesCmIv(k.rtcpSalt, ssrc, BigInt(eIndex & 0x7fff_ffff)), body.length));
      case 'AES_F8': return xor(body, f8Keystream(k.rtcpKey, k.rtcpSalt, f8IvRtcp(header, eIndex), body.length));
      case 'NULL': return body.slice();
      case 'AES_GCM': throw new Error('GCM is not a keystream XOR here');
    }
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
    const header = p.subarray(0, h.headerLen);
    const payload = p.subarray(h.headerLen);
    let out: Uint8Array;
    if (this.suite.aead) {
      // RFC 7714 §8.2: AAD = the whole RTP header (CSRCs and extension included); the
      // sealed payload carries the tag; the MKI goes last.
      out = concat(header, gcmSeal(k.rtpKey, gcmIvRtp(k.rtpSalt, h.ssrc, index), header, payload), this.#mki);
    } else {
      const encrypted = concat(header, this.#rtpKeystreamXor(k, p, h.ssrc, index, payload));
      const roc = Number(index >> 16n);
      const tag = hmacSha1(k.rtpAuthKey, concat(encrypted, beBytes(BigInt(roc), 4))).slice(0, this.suite.rtpTagLen);
      out = concat(encrypted, this.#mki, tag);
    }
    if (o.highest === null || index > o.highest) o.highest = index;
    return out;
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

  /** Checks and removes the MKI in front of the last `after` bytes (the tag for HMAC suites,
   *  nothing for GCM, whose MKI is last). */
  #stripMki(p: Uint8Array, after: number): Uint8Array {
    const m = this.#mki.length;
    if (m === 0) return p;
    const at = p.length - after - m;
    if (!equalBytes(p.subarray(at, at + m), this.#mki)) throw new RefSrtpError('E_UNKNOWN_MKI', 'MKI of another master key');
    return concat(p.subarray(0, at), p.subarray(at + m));
  }

  unprotectRtp(packet: Uint8Array): Uint8Array {
    const tagLen = this.suite.rtpTagLen;
    parseRtpHeader(packet, tagLen + this.#mki.length);
    const p = this.#stripMki(packet, this.suite.aead ? 0 : tagLen);
    const h = parseRtpHeader(p, tagLen);
    const index = this.receiverIndex(h.ssrc, h.seq);
    if (index === null) throw new RefSrtpError('E_REPLAY_OLD', 'index before ROC 0');
    const existing = this.#in.get(h.ssrc);
    this.#replayCheck(existing?.seen ?? new Set(), existing?.highest ?? null, index);
    const k = this.keysFor(index);
    const header = p.subarray(0, h.headerLen);
    let plain: Uint8Array;
    if (this.suite.aead) {
      const payload = gcmOpen(k.rtpKey, gcmIvRtp(k.rtpSalt, h.ssrc, index), header, p.subarray(h.headerLen));
      if (payload === null) throw new RefSrtpError('E_AUTH_FAIL', `ssrc ${h.ssrc} seq ${h.seq}`);
      plain = concat(header, payload);
    } else {
      const body = p.subarray(0, p.length - tagLen);
      const tag = p.subarray(p.length - tagLen);
      const roc = Number(index >> 16n);
      const expected = hmacSha1(k.rtpAuthKey, concat(body, beBytes(BigInt(roc), 4))).slice(0, tagLen);
      if (!equalBytes(tag, expected)) throw new RefSrtpError('E_AUTH_FAIL', `ssrc ${h.ssrc} seq ${h.seq}`);
      plain = concat(header, this.#rtpKeystreamXor(k, p, h.ssrc, index, body.subarray(h.headerLen)));
    }
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
   * RFC 7714 §9 (GCM): header || AEAD(body) || E||index with AAD = header || E||index; with
   * E = 0, AAD = the whole packet || E||index and the AEAD output is the tag alone.
   */
  protectRtcp(p: Uint8Array, opts: { encrypt?: boolean } = {}): Uint8Array {
    if (p.length < 8) throw new RefSrtpError('E_TOO_SHORT', `RTCP packet of ${p.length} bytes`);
    if (p[0]! >> 6 !== 2) throw new RefSrtpError('E_BAD_HEADER', 'RTCP version');
    const ssrc = u32(p, 4);
    const o = this.#outStream(ssrc);
    const index = o.srtcpIndex;
    const encrypt = opts.encrypt ?? this.suite.encrypts;
    const eIndex = ((encrypt ? E_FLAG : 0) | index) >>> 0;
    const eIndexBytes = beBytes(BigInt(eIndex), 4);
    const k = this.keysFor(BigInt(index));
    const header = p.subarray(0, 8);
    let out: Uint8Array;
    if (this.suite.aead) {
      const iv = gcmIvRtcp(k.rtcpSalt, ssrc, index);
      out = encrypt
        ? concat(header, gcmSeal(k.rtcpKey, iv, concat(header, eIndexBytes), p.subarray(8)), eIndexBytes, this.#mki)
        : concat(p, gcmSeal(k.rtcpKey, iv, concat(p, eIndexBytes), new Uint8Array(0)), eIndexBytes, this.#mki);
    } else {
      const body = encrypt ? concat(header, this.#rtcpKeystreamXor(k, header, ssrc, eIndex, p.subarray(8))) : p.slice();
      const authed = concat(body, eIndexBytes);
      const tag = hmacSha1(k.rtcpAuthKey, authed).slice(0, this.suite.rtcpTagLen);
      out = concat(authed, this.#mki, tag);
    }
    o.srtcpIndex = (index + 1) & 0x7fff_ffff;
    return out;
  }

  unprotectRtcpDetailed(packet: Uint8Array): RtcpUnprotectResult {
    const tagLen = this.suite.rtcpTagLen;
    if (packet.length < 8 + 4 + this.#mki.length + tagLen) throw new RefSrtpError('E_TOO_SHORT', `SRTCP packet of ${packet.length} bytes`);
    const p = this.#stripMki(packet, this.suite.aead ? 0 : tagLen);
    if (p[0]! >> 6 !== 2) throw new RefSrtpError('E_BAD_HEADER', 'RTCP version');
    const ssrc = u32(p, 4);
    // HMAC suites: RTCP || E||index || tag. GCM: RTCP' || tag || E||index.
    const trailerAt = this.suite.aead ? p.length - 4 : p.length - tagLen - 4;
    const eIndex = u32(p, trailerAt);
    const encrypted = (eIndex & E_FLAG) !== 0;
    const index = eIndex & 0x7fff_ffff;
    const existing = this.#in.get(ssrc);
    this.#replayCheck(existing?.rtcpSeen ?? new Set(), existing?.rtcpHighest ?? null, BigInt(index));
    const k = this.keysFor(BigInt(index));
    const header = p.subarray(0, 8);
    let plain: Uint8Array;
    if (this.suite.aead) {
      const eIndexBytes = p.subarray(trailerAt);
      const iv = gcmIvRtcp(k.rtcpSalt, ssrc, index);
      const sealed = p.subarray(encrypted ? 8 : trailerAt - tagLen, trailerAt);
      const clear = p.subarray(0, trailerAt - tagLen);
      const opened = encrypted
        ? gcmOpen(k.rtcpKey, iv, concat(header, eIndexBytes), sealed)
        : gcmOpen(k.rtcpKey, iv, concat(clear, eIndexBytes), sealed);
      if (opened === null) throw new RefSrtpError('E_AUTH_FAIL', `SRTCP ssrc ${ssrc} index ${index}`);
      plain = encrypted ? concat(header, opened) : clear.slice();
    } else {
      const authed = p.subarray(0, p.length - tagLen);
      const expected = hmacSha1(k.rtcpAuthKey, authed).slice(0, tagLen);
      if (!equalBytes(p.subarray(p.length - tagLen), expected)) throw new RefSrtpError('E_AUTH_FAIL', `SRTCP ssrc ${ssrc} index ${index}`);
      const body = p.subarray(0, trailerAt);
      plain = encrypted ? concat(header, this.#rtcpKeystreamXor(k, header, ssrc, eIndex, body.subarray(8))) : body.slice();
    }
    const s = this.#inStream(ssrc);
    s.rtcpSeen.add(BigInt(index));
    if (s.rtcpHighest === null || BigInt(index) > s.rtcpHighest) s.rtcpHighest = BigInt(index);
    return { packet: plain, index, encrypted };
  }

  unprotectRtcp(p: Uint8Array): Uint8Array {
    return this.unprotectRtcpDetailed(p).packet;
  }
}

/**
 * The E flag and SRTCP index in a protected SRTCP packet. The second argument is the
 * suite (its layout decides where the trailer is) or, for HMAC suites, the tag length.
 */
export function srtcpTrailer(p: Uint8Array, suiteOrTagLen: RefSuite | number = 10, mkiLen = 0): { encrypted: boolean; index: number } {
  const afterTrailer = typeof suiteOrTagLen === 'number' ? suiteOrTagLen + mkiLen
    : suiteOrTagLen.aead ? mkiLen : suiteOrTagLen.rtcpTagLen + mkiLen;
  const v = u32(p, p.length - afterTrailer - 4);
  return { encrypted: (v & E_FLAG) !== 0, index: v & 0x7fff_ffff };
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
