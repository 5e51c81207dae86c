// DTLS 1.2 record layer (RFC 6347 §4.1): record framing, AES-128-GCM protection
// (RFC 5288 as used by DTLS), and the per-epoch anti-replay window (§4.1.2.6).
//
// The layer is deliberately forgiving on input and strict on output: a record that does not
// parse, fails authentication or is a replay is dropped silently (RFC 6347 §4.1.2.7 — an
// attacker who can inject datagrams must not be able to kill the association), and the caller
// only sees counts. Replay state is checked before decryption and committed only after the
// tag verified, so a forged record cannot advance the window (check now, commit later).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Reader, Writer } from './wire.ts';

export const ContentType = Object.freeze({
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const);

/** On-the-wire DTLS versions (one's complement of the TLS ones). */
export const DTLS_1_2 = 0xfefd;
export const DTLS_1_0 = 0xfeff;

export const RECORD_HEADER_LEN = 13;
/** 2^48 - 1: the last record sequence number of an epoch. */
export const MAX_RECORD_SEQ = 0xffff_ffff_ffff;
/** RFC 5246 §6.2.3: ciphertext may exceed 2^14 by at most 2048. */
export const MAX_CIPHERTEXT = 16384 + 2048;
export const MAX_PLAINTEXT = 16384;

const GCM_EXPLICIT_NONCE_LEN = 8;
const GCM_TAG_LEN = 16;
/** Bytes a protected record adds to its plaintext: explicit nonce + tag. */
export const GCM_OVERHEAD = GCM_EXPLICIT_NONCE_LEN + GCM_TAG_LEN;

export interface DtlsRecord {
  readonly type: number;
  readonly version: number;
  readonly epoch: number;
  /** 48-bit record sequence number. */
  readonly seq: number;
  /** The record body: plaintext in epoch 0, nonce || ciphertext || tag in epoch 1. A view. */
  readonly fragment: Uint8Array;
}

/**
 * Splits a datagram into records. A datagram may carry several (RFC 6347 §4.1.1); when one is
 * truncated or claims an impossible length, the rest of the datagram cannot be framed and is
 * dropped, but the records before it are kept.
 */
export function parseRecords(datagram: Uint8Array): DtlsRecord[] {
  const out: DtlsRecord[] = [];
  let pos = 0;
  while (datagram.length - pos >= RECORD_HEADER_LEN) {
    const r = new Reader(datagram, 'record', pos);
    const type = r.u8();
    const version = r.u16();
    const epoch = r.u16();
    const seq = r.u48();
    const length = r.u16();
    if (length > MAX_CIPHERTEXT || length > r.remaining) break;
    out.push({ type, version, epoch, seq, fragment: r.bytes(length) });
    pos = r.position;
  }
  return out;
}

export function encodeRecord(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array {
  return new Writer().u8(type).u16(version).u16(epoch).u48(seq).u16(fragment.length).bytes(fragment).finish();
}

/** The 8-byte seq_num of the AEAD additional data and explicit nonce: epoch || 48-bit sequence. */
function epochSeq(epoch: number, seq: number): Uint8Array {
  return new Writer().u16(epoch).u48(seq).finish();
}

function additionalData(epoch: number, seq: number, type: number, version: number, plaintextLen: number): Uint8Array {
  return new Writer().bytes(epochSeq(epoch, seq)).u8(type).u16(version).u16(plaintextLen).finish();
}

/**
 * AES-128-GCM record protection for one direction of one epoch. The explicit nonce is the
 * record's epoch || sequence number: unique per key by construction, so nonce reuse would
 * need a sequence number reuse, which the writer never does (it stops at 2^48 - 1).
 */
export class GcmRecordProtection {
  readonly #key: Uint8Array;
  /** The 4-byte implicit part of the nonce (client/server_write_IV). */
  readonly #salt: Uint8Array;

  constructor(key: Uint8Array, implicitIv: Uint8Array) {
    if (key.length !== 16 || implicitIv.length !== 4) throw new RangeError('AES-128-GCM needs a 16-byte key and a 4-byte IV');
    this.#key = Uint8Array.from(key);
    this.#salt = Uint8Array.from(implicitIv);
  }

  /** Protects `plaintext` and returns the whole record. */
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const explicit = epochSeq(epoch, seq);
    const nonce = new Uint8Array(12);
    nonce.set(this.#salt, 0);
    nonce.set(explicit, 4);
    const c = createCipheriv('aes-128-gcm', this.#key, nonce, { authTagLength: GCM_TAG_LEN });
    c.setAAD(additionalData(epoch, seq, type, version, plaintext.length));
    const body = new Writer().bytes(explicit).bytes(c.update(plaintext)).bytes(c.final()).bytes(c.getAuthTag()).finish();
    return encodeRecord(type, version, epoch, seq, body);
  }

  /** Returns the plaintext, or null when the record is too short or its tag does not verify. */
  open(record: DtlsRecord): Uint8Array | null {
    const f = record.fragment;
    if (f.length < GCM_OVERHEAD) return null;
    const plainLen = f.length - GCM_OVERHEAD;
    if (plainLen > MAX_PLAINTEXT) return null;
    const nonce = new Uint8Array(12);
    nonce.set(this.#salt, 0);
    nonce.set(f.subarray(0, GCM_EXPLICIT_NONCE_LEN), 4);
    const d = createDecipheriv('aes-128-gcm', this.#key, nonce, { authTagLength: GCM_TAG_LEN });
    d.setAAD(additionalData(record.epoch, record.seq, record.type, record.version, plainLen));
    d.setAuthTag(f.subarray(f.length - GCM_TAG_LEN));
    const out = d.update(f.subarray(GCM_EXPLICIT_NONCE_LEN, f.length - GCM_TAG_LEN));
    try {
      d.final();
    } catch {
      // Authentication failure. Release nothing: `out` is unauthenticated and discarded.
      out.fill(0);
      return null;
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  wipe(): void {
    this.#key.fill(0);
    this.#salt.fill(0);
  }
}

const WINDOW = 64n;
const WINDOW_MASK = (1n << WINDOW) - 1n;

/**
 * RFC 6347 §4.1.2.6 sliding window of 64 record sequence numbers for one epoch. `check` has
 * no side effects; `commit` is called only once the record authenticated.
 */
export class ReplayWindow {
  /** Highest sequence number committed; -1 before the first. */
  #max = -1;
  /** Bit i set: sequence number #max - i was seen. */
  #seen = 0n;

  /** True when `seq` is new and not too old to judge. */
  check(seq: number): boolean {
    if (seq > this.#max) return true;
    const age = this.#max - seq;
    if (age >= 64) return false;
    return ((this.#seen >> BigInt(age)) & 1n) === 0n;
  }

  commit(seq: number): void {
    if (seq > this.#max) {
      const shift = seq - this.#max;
      this.#seen = shift >= 64 ? 1n : ((this.#seen << BigInt(shift)) | 1n) & WINDOW_MASK;
      this.#max = seq;
    } else {
      this.#seen |= 1n << BigInt(this.#max - seq);
    }
  }

  get highest(): number { return this.#max; }
}
