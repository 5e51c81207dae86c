// Bounds-checked big-endian reader and a small writer for TLS presentation-language
// structures. Every read past the end throws E_DTLS_DECODE, so codecs can be written as
// straight-line code and a truncated or lying length field can never read out of bounds.
import { decodeError } from './DtlsError.ts';

export class Reader {
  readonly #buf: Uint8Array;
  readonly #end: number;
  readonly #what: string;
  #pos: number;

  /** `what` names the structure in error messages ("ClientHello"). */
  constructor(buf: Uint8Array, what: string, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#what = what;
  }

  get remaining(): number { return this.#end - this.#pos; }
  get position(): number { return this.#pos; }

  #need(n: number): void {
    if (n > this.#end - this.#pos) throw decodeError(this.#what, { need: n, left: this.#end - this.#pos });
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#pos++] as number;
  }

  u16(): number {
    this.#need(2);
    const b = this.#buf;
    const v = ((b[this.#pos] as number) << 8) | (b[this.#pos + 1] as number);
    this.#pos += 2;
    return v;
  }

  u24(): number {
    this.#need(3);
    const b = this.#buf;
    const v = ((b[this.#pos] as number) << 16) | ((b[this.#pos + 1] as number) << 8) | (b[this.#pos + 2] as number);
    this.#pos += 3;
    return v;
  }

  /** 48-bit unsigned (record sequence numbers); exact in a JS number. */
  u48(): number {
    const hi = this.u16();
    const lo = this.#u32();
    return hi * 0x1_0000_0000 + lo;
  }

  #u32(): number {
    this.#need(4);
    const b = this.#buf;
    const v = ((b[this.#pos] as number) * 0x100_0000) + (((b[this.#pos + 1] as number) << 16) | ((b[this.#pos + 2] as number) << 8) | (b[this.#pos + 3] as number));
    this.#pos += 4;
    return v;
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** opaque x<min..2^8-1> */
  vec8(min = 0): Uint8Array { return this.#vec(this.u8(), min); }
  /** opaque x<min..2^16-1> */
  vec16(min = 0): Uint8Array { return this.#vec(this.u16(), min); }
  /** opaque x<min..2^24-1> */
  vec24(min = 0): Uint8Array { return this.#vec(this.u24(), min); }

  #vec(len: number, min: number): Uint8Array {
    if (len < min) throw decodeError(this.#what, { vectorLength: len, min });
    return this.bytes(len);
  }

  /** Reads the rest; the structure must end exactly here. */
  rest(): Uint8Array { return this.bytes(this.remaining); }

  /** Throws unless every byte was consumed: trailing bytes mean a length field lied. */
  end(): void {
    if (this.#pos !== this.#end) throw decodeError(this.#what, { trailing: this.#end - this.#pos });
  }
}

/** A list of uint16 values inside a vector (cipher suites, groups, signature schemes, profiles). */
export function readU16List(body: Uint8Array, what: string): number[] {
  if (body.length % 2 !== 0) throw decodeError(what, { length: body.length });
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push(((body[i] as number) << 8) | (body[i + 1] as number));
  return out;
}

/** Appends big-endian fields; `finish()` concatenates once. */
export class Writer {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  get length(): number { return this.#length; }

  #push(b: Uint8Array): this {
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  u8(v: number): this { return this.#push(Uint8Array.of(v & 0xff)); }
  u16(v: number): this { return this.#push(Uint8Array.of((v >>> 8) & 0xff, v & 0xff)); }
  u24(v: number): this { return this.#push(Uint8Array.of((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff)); }

  u48(v: number): this {
    const hi = Math.floor(v / 0x1_0000_0000);
    const lo = v >>> 0;
    return this.#push(Uint8Array.of((hi >>> 8) & 0xff, hi & 0xff, (lo >>> 24) & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff));
  }

  bytes(b: Uint8Array): this { return this.#push(b); }

  vec8(b: Uint8Array): this { checkLen(b, 0xff); return this.u8(b.length).bytes(b); }
  vec16(b: Uint8Array): this { checkLen(b, 0xffff); return this.u16(b.length).bytes(b); }
  vec24(b: Uint8Array): this { checkLen(b, 0xffffff); return this.u24(b.length).bytes(b); }

  u16List(values: readonly number[]): this {
    const w = new Writer();
    for (const v of values) w.u16(v);
    return this.vec16(w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let o = 0;
    for (const p of this.#parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

// Encoding our own structures: an over-long vector is a bug on our side, not a peer's.
function checkLen(b: Uint8Array, max: number): void {
  if (b.length > max) throw new RangeError(`vector of ${b.length} bytes exceeds ${max}`);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
