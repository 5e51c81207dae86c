// Topology hiding in RTCP (RFC 6404 §4.10): SDES items carry host names and addresses
// (a CNAME is typically `user@10.1.2.3`), so a call that crosses interfaces must not forward
// them as they are. The relay replaces the text of every SDES item with an opaque token of
// the same length, in place, so no length field and no SRTCP trailer position changes.
//
// The token is an HMAC of the item (type and text) under a per-relay secret: the same CNAME
// always gives the same token, so it stays stable for an SSRC over the call and streams that
// shared a CNAME (audio and video of one endpoint, RFC 3550 §6.5.1) still share one.
//
// The walk trusts nothing: every length field is checked against the packet and the
// compound's end before it is used. Malformed input is reported (the caller drops and counts
// it), never thrown.
import { createHmac } from 'node:crypto';

/** RTCP packet type of SDES (RFC 3550 §6.5). */
export const RTCP_SDES = 202;
/** SDES item type PRIV (RFC 3550 §6.5.8): its first text byte is a prefix length, kept. */
export const SDES_PRIV = 8;

/** Called for each SDES item: its chunk's SSRC/CSRC, type (1..255) and text position in the buffer. */
export type SdesItemVisitor = (ssrc: number, type: number, textStart: number, textLength: number) => void;

/**
 * Visits every SDES item of the compound RTCP packet in buf[0, len). Returns the number of
 * items, or -1 when the compound is malformed (bad version, a length running past the end,
 * padding larger than its packet, a chunk without its end item, non-null octets after an SDES
 * packet's last declared chunk). Items before the fault have
 * been visited by then, so a caller that modifies the packet validates first (visit = null).
 */
export function walkSdes(buf: Uint8Array, len: number, visit: SdesItemVisitor | null): number {
  if (len > buf.length || len < 4) return -1;
  let items = 0;
  let off = 0;
  while (off < len) {
    if (off + 4 > len) return -1;
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) return -1;
    const size = (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
    const pktEnd = off + size;
    if (pktEnd > len) return -1;
    let end = pktEnd;
    if ((b0 & 0x20) !== 0) {
      // RFC 3550 §6.4.1: the last octet counts the padding, itself included.
      const pad = buf[pktEnd - 1]!;
      if (pad === 0 || pad > size - 4) return -1;
      end = pktEnd - pad;
    }
    if (buf[off + 1] === RTCP_SDES) {
      const n = walkChunks(buf, off, end, b0 & 0x1f, visit);
      if (n < 0) return -1;
      items += n;
    }
    off = pktEnd;
  }
  return items;
}

/** The `count` chunks of one SDES packet starting at `off`, items ending before `end`. */
function walkChunks(buf: Uint8Array, off: number, end: number, count: number, visit: SdesItemVisitor | null): number {
  let items = 0;
  let pos = off + 4;
  for (let c = 0; c < count; c++) {
    if (pos + 4 > end) return -1;
    const ssrc = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
    pos += 4;
    for (;;) {
      if (pos >= end) return -1;
      const type = buf[pos]!;
      if (type === 0) {
        // The END item, then null octets up to the next 32-bit boundary of the packet.
        pos = off + ((pos - off + 4) & ~3);
        if (pos > end) return -1;
        break;
      }
      if (pos + 2 > end) return -1;
      const length = buf[pos + 1]!;
      if (pos + 2 + length > end) return -1;
      visit?.(ssrc, type, pos + 2, length);
      items++;
      pos += 2 + length;
    }
  }
  // Octets past the declared chunks (a count too small for the packet) are never rewritten:
  // any but null octets could carry a name, so such a packet is malformed.
  for (; pos < end; pos++) if (buf[pos] !== 0) return -1;
  return items;
}

export interface SdesRewriterOptions {
  /** Tokens kept for reuse; the cache is emptied when full. Default 4096. */
  cacheEntries?: number;
}

/** Token characters: lower-case letters and digits, so a token is valid in any SDES item. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Rewrites SDES item text in place. One per media host (the secret is the relay's); shared
 * by every stream of a call that crosses interfaces.
 */
export class SdesRewriter {
  readonly #secret: Uint8Array;
  /** Tokens by a hash of (type, text); the entry keeps the text to rule out collisions. */
  readonly #cache = new Map<number, { readonly type: number; readonly text: Uint8Array; readonly token: Uint8Array }>();
  readonly #cacheEntries: number;

  constructor(secret: Uint8Array, options: SdesRewriterOptions = {}) {
    if (secret.length < 16) throw new RangeError('SdesRewriter secret must be at least 16 bytes');
    this.#secret = new Uint8Array(secret);
    this.#cacheEntries = options.cacheEntries ?? 4096;
  }

  /**
   * Replaces the text of every SDES item of the compound in buf[0, len). Returns false, with
   * the buffer untouched, when the compound is malformed.
   */
  rewrite(buf: Uint8Array, len: number): boolean {
    // Validate the whole compound before changing a byte of it.
    const n = walkSdes(buf, len, null);
    if (n < 0) return false;
    if (n === 0) return true;
    this.#buf = buf;
    walkSdes(buf, len, this.#replaceItem);
    this.#buf = null;
    return true;
  }

  /** The packet being rewritten, for #replaceItem (one visitor made once, not per packet). */
  #buf: Uint8Array | null = null;

  readonly #replaceItem: SdesItemVisitor = (_ssrc, type, start, length) => {
    const buf = this.#buf!;
    // PRIV keeps its prefix-length octet, so the item still parses; the prefix text and value are replaced.
    const from = type === SDES_PRIV && length > 0 ? start + 1 : start;
    const textLen = start + length - from;
    if (textLen > 0) buf.set(this.#token(type, buf, from, textLen), from);
  };

  /**
   * The same-length token for one item text. Cached, and a hit allocates nothing: RTCP repeats
   * the same SDES every few seconds, and this runs on the packet path.
   */
  #token(type: number, buf: Uint8Array, from: number, length: number): Uint8Array {
    const key = fnv1a(type, buf, from, length);
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.type === type && equalAt(hit.text, buf, from, length)) return hit.token;
    // A copy: the slot (a Node Buffer, whose slice() is a view) is reused by the next packet.
    const text = new Uint8Array(buf.subarray(from, from + length));
    const out = new Uint8Array(text.length);
    let filled = 0;
    for (let block = 0; filled < out.length; block++) {
      const h = createHmac('sha256', this.#secret).update(Uint8Array.of(type, block)).update(text).digest();
      for (let i = 0; i < h.length && filled < out.length; i++) out[filled++] = ALPHABET.charCodeAt(h[i]! & 31);
    }
    if (this.#cache.size >= this.#cacheEntries) this.#cache.clear();
    this.#cache.set(key, { type, text, token: out });
    return out;
  }

  /** Forgets the cached tokens and zeroes the secret (the host is closing). */
  close(): void {
    this.#cache.clear();
    this.#secret.fill(0);
  }
}

/** FNV-1a over the item type and text: a cache key, not a security function (the HMAC is). */
function fnv1a(type: number, buf: Uint8Array, from: number, length: number): number {
  let h = Math.imul(0x811c9dc5 ^ type, 0x01000193);
  for (let i = from; i < from + length; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

/** text equals buf[from, from + length). */
function equalAt(text: Uint8Array, buf: Uint8Array, from: number, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (text[i] !== buf[from + i]) return false;
  return true;
}
