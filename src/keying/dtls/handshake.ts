// DTLS handshake framing (RFC 6347 §4.2.2–4.2.3): the 12-byte handshake header, splitting a
// message into fragments that fit the path MTU, and reassembling the peer's fragments in
// message_seq order whatever order, overlap or duplication the network delivers them in.
//
// Epoch-0 handshake records are unauthenticated, so the reassembler bounds what a spoofer can
// make us hold: a small window of future messages, a per-message size cap and a total byte
// budget. A fragment that disagrees with the first one seen for its message (type, length,
// epoch) is dropped rather than trusted; the Finished exchange catches any tampering that
// survives, because it covers the whole transcript.
import { Reader, Writer } from './wire.ts';

export const HandshakeType = Object.freeze({
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  helloVerifyRequest: 3,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
} as const);

export const HANDSHAKE_HEADER_LEN = 12;

export interface HandshakeFragment {
  readonly msgType: number;
  /** Length of the whole message body. */
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  /** This fragment's bytes (a view). */
  readonly body: Uint8Array;
}

/** A complete, reassembled handshake message. */
export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Uint8Array;
  /** Record epoch it arrived in (Finished must come in epoch 1, everything else in 0). */
  readonly epoch: number;
}

/**
 * Splits a handshake record body into fragments (one record may carry several). Returns null
 * when the body does not frame exactly: such a record is dropped whole.
 */
export function parseHandshakeFragments(recordBody: Uint8Array): HandshakeFragment[] | null {
  const out: HandshakeFragment[] = [];
  const r = new Reader(recordBody, 'handshake fragment');
  try {
    while (r.remaining > 0) {
      const msgType = r.u8();
      const length = r.u24();
      const messageSeq = r.u16();
      const fragmentOffset = r.u24();
      const fragmentLength = r.u24();
      if (fragmentOffset + fragmentLength > length) return null;
      out.push({ msgType, length, messageSeq, fragmentOffset, body: r.bytes(fragmentLength) });
    }
  } catch {
    return null;
  }
  return out;
}

export function encodeHandshakeFragment(msgType: number, length: number, messageSeq: number, offset: number, piece: Uint8Array): Uint8Array {
  return new Writer().u8(msgType).u24(length).u16(messageSeq).u24(offset).u24(piece.length).bytes(piece).finish();
}

/**
 * A whole message with offset 0 and fragment_length = length: the form that goes into the
 * transcript hash (RFC 6347 §4.2.6), whatever fragmentation was used on the wire.
 */
export function encodeHandshakeMessage(msgType: number, messageSeq: number, body: Uint8Array): Uint8Array {
  return encodeHandshakeFragment(msgType, body.length, messageSeq, 0, body);
}

/** Fragments (header included) of at most `maxPiece` body bytes each; an empty body is one fragment. */
export function fragmentHandshake(msgType: number, messageSeq: number, body: Uint8Array, maxPiece: number): Uint8Array[] {
  if (maxPiece < 1) throw new RangeError('MTU too small for a handshake fragment');
  const out: Uint8Array[] = [];
  let off = 0;
  do {
    const piece = body.subarray(off, Math.min(body.length, off + maxPiece));
    out.push(encodeHandshakeFragment(msgType, body.length, messageSeq, off, piece));
    off += piece.length;
  } while (off < body.length);
  return out;
}

export interface ReassemblerOptions {
  /** Largest handshake message accepted, in bytes. Default 32 KiB (a certificate chain fits easily). */
  maxMessageLength?: number;
  /** How many messages beyond the next expected one may be buffered. Default 8 (more than a flight). */
  window?: number;
  /** Bytes held across all partial messages. Default 64 KiB. */
  maxBufferedBytes?: number;
}

export type AddResult = 'accepted' | 'old' | 'dropped';

interface Partial {
  readonly msgType: number;
  readonly epoch: number;
  readonly data: Uint8Array;
  /** Received byte ranges [start, end), sorted and merged. */
  ranges: [number, number][];
}

export class HandshakeReassembler {
  readonly #maxLen: number;
  readonly #window: number;
  readonly #maxBuffered: number;
  readonly #partial = new Map<number, Partial>();
  #buffered = 0;
  #next = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.#maxLen = options.maxMessageLength ?? 32 * 1024;
    this.#window = options.window ?? 8;
    this.#maxBuffered = options.maxBufferedBytes ?? 64 * 1024;
  }

  /** message_seq of the next message to be delivered. */
  get nextSeq(): number { return this.#next; }

  /** Restarts delivery at `seq`, forgetting everything buffered (server after a cookie exchange). */
  resetTo(seq: number): void {
    this.#partial.clear();
    this.#buffered = 0;
    this.#next = seq;
  }

  /**
   * Takes one fragment. 'old' means the message was already delivered: the peer is
   * retransmitting, which the caller uses to resend its own last flight.
   */
  add(frag: HandshakeFragment, epoch: number): AddResult {
    if (frag.messageSeq < this.#next) return 'old';
    if (frag.messageSeq >= this.#next + this.#window) return 'dropped';
    if (frag.length > this.#maxLen) return 'dropped';
    let p = this.#partial.get(frag.messageSeq);
    if (p === undefined) {
      if (this.#buffered + frag.length > this.#maxBuffered) return 'dropped';
      p = { msgType: frag.msgType, epoch, data: new Uint8Array(frag.length), ranges: [] };
      this.#partial.set(frag.messageSeq, p);
      this.#buffered += frag.length;
    } else if (p.msgType !== frag.msgType || p.data.length !== frag.length || p.epoch !== epoch) {
      return 'dropped';
    }
    const start = frag.fragmentOffset;
    const end = start + frag.body.length;
    if (end > start) {
      p.data.set(frag.body, start);
      p.ranges = mergeRange(p.ranges, start, end);
    }
    return 'accepted';
  }

  /** Pops the next message in order when it is complete. */
  next(): HandshakeMessage | undefined {
    const p = this.#partial.get(this.#next);
    if (p === undefined || !isComplete(p)) return undefined;
    this.#partial.delete(this.#next);
    this.#buffered -= p.data.length;
    const msg: HandshakeMessage = { msgType: p.msgType, messageSeq: this.#next, body: p.data, epoch: p.epoch };
    this.#next++;
    return msg;
  }
}

function isComplete(p: Partial): boolean {
  if (p.data.length === 0) return true;
  const first = p.ranges[0];
  return p.ranges.length === 1 && first !== undefined && first[0] === 0 && first[1] === p.data.length;
}

function mergeRange(ranges: readonly [number, number][], start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (const [rs, re] of ranges) {
    if (re < s) {
      out.push([rs, re]);
    } else if (rs > e) {
      if (!placed) { out.push([s, e]); placed = true; }
      out.push([rs, re]);
    } else {
      s = Math.min(s, rs);
      e = Math.max(e, re);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}
