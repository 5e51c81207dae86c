// Bencode codec for the ng control protocol (rtpengine / Kamailio).
//
// Decisions (documented here because every ng consumer depends on them):
// - Byte strings decode to `string` when they are well-formed UTF-8 (ng carries UTF-8 text,
//   SDP bodies included) and to a fresh `Uint8Array` copy otherwise, so nothing is lost or
//   silently replaced with U+FFFD. A BOM is kept (ignoreBOM), again so nothing is lost.
// - Integers decode to `number` and must be safe integers; there is no bigint branch because
//   nothing in ng needs more than 2^53 and a second numeric type would leak into every caller.
// - Dictionary keys must be UTF-8 text. Input keys may come in any order (Kamailio does not
//   sort them, contrary to the bencode spec) but a repeated key is rejected: two values for one
//   key is ambiguous, and a parser differential is how request smuggling starts.
// - Decoding is iterative (explicit stack): a hostile nesting depth cannot overflow the JS stack.
//   Limits are applied before parsing (size) and while parsing (depth, element count), and
//   every failure is a RelayError('E_BAD_BENCODE') carrying the byte offset.
// - Encoding sorts dictionary keys by their raw UTF-8 bytes (bencode canonical order) and skips
//   `undefined` dict values so reply objects with optional fields encode directly.
import { RelayError } from '../errors.ts';

/** A decoded bencode value. */
export type BValue = string | number | Uint8Array | BValue[] | BDict;
/** A decoded bencode dictionary. Keys are own, enumerable properties (including `__proto__`). */
export interface BDict {
  [key: string]: BValue;
}
/** What `encodeBencode` accepts: a `BValue`, read-only containers, `undefined` dict values (skipped). */
export type BEncodable =
  | string
  | number
  | Uint8Array
  | readonly BEncodable[]
  | { readonly [key: string]: BEncodable | undefined };

export interface BDecodeOptions {
  /** Largest input accepted, in bytes; checked before any parsing. Default 65536 (64 KiB). */
  readonly maxBytes?: number;
  /** Deepest nesting of lists and dicts; the outermost container is depth 1. Default 32. */
  readonly maxDepth?: number;
  /** Most values (integers, strings, lists, dicts; dict keys not counted) in one input. Default 4096. */
  readonly maxElements?: number;
}

export interface BEncodeOptions {
  /** Deepest nesting of lists and dicts accepted (also stops cyclic values). Default 32. */
  readonly maxDepth?: number;
}

export const BENCODE_DEFAULTS = Object.freeze({ maxBytes: 65536, maxDepth: 32, maxElements: 4096 });

const CH_I = 0x69; // 'i'
const CH_L = 0x6c; // 'l'
const CH_D = 0x64; // 'd'
const CH_E = 0x65; // 'e'
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;
/** Digits of Number.MAX_SAFE_INTEGER (9007199254740991): more digits cannot be safe. */
const MAX_INT_DIGITS = 16;
/** Length prefixes longer than this cannot fit any input we accept. */
const MAX_LEN_DIGITS = 10;

// One decoder instance: a full, non-streaming decode() keeps no state between calls.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fail(message: string, offset: number): never {
  throw new RelayError('E_BAD_BENCODE', message, { offset });
}

interface ListFrame {
  readonly list: BValue[];
  readonly dict: null;
}
interface DictFrame {
  readonly list: null;
  readonly dict: BDict;
  /** Key awaiting its value; null while the next item must be a key or 'e'. */
  key: string | null;
}
type Frame = ListFrame | DictFrame;

// defineProperty, not assignment: assigning obj['__proto__'] would set the prototype instead
// of creating a key, letting a request change what every later property lookup sees.
function defineKey(dict: BDict, key: string, value: BValue): void {
  Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Decodes one bencode value that must span the whole input.
 * Throws only RelayError('E_BAD_BENCODE') with an `[offset:n]` context.
 */
export function decodeBencode(input: Uint8Array | string, options: BDecodeOptions = {}): BValue {
  const maxBytes = options.maxBytes ?? BENCODE_DEFAULTS.maxBytes;
  const maxDepth = options.maxDepth ?? BENCODE_DEFAULTS.maxDepth;
  const maxElements = options.maxElements ?? BENCODE_DEFAULTS.maxElements;

  // A UTF-16 string has at least as many UTF-8 bytes as code units: reject before converting.
  if (typeof input === 'string' && input.length > maxBytes) fail('input too large', maxBytes);
  const buf = typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'utf8')) : input;
  const len = buf.length;
  if (len > maxBytes) fail('input too large', maxBytes);
  if (len === 0) fail('empty input', 0);

  let pos = 0;
  let elements = 0;
  const stack: Frame[] = [];
  let root: BValue | undefined;
  let done = false;

  // Reads `<len>:<bytes>` at pos; returns [start, end) of the payload.
  const readStringBounds = (): [number, number] => {
    const start = pos;
    let n = 0;
    let digits = 0;
    while (pos < len && buf[pos]! >= CH_0 && buf[pos]! <= CH_9) {
      if (digits === 1 && n === 0) fail('leading zero in string length', start);
      if (++digits > MAX_LEN_DIGITS) fail('string length too long', start);
      n = n * 10 + (buf[pos]! - CH_0);
      pos++;
    }
    if (pos >= len) fail('truncated input', pos);
    if (buf[pos] !== CH_COLON) fail("expected ':' after string length", pos);
    pos++;
    if (n > len - pos) fail('truncated input: string runs past the end', start);
    const s = pos;
    pos += n;
    return [s, pos];
  };

  const readInt = (): number => {
    const start = pos;
    pos++; // 'i'
    const negative = pos < len && buf[pos] === CH_MINUS;
    if (negative) pos++;
    const digitsStart = pos;
    while (pos < len && buf[pos]! >= CH_0 && buf[pos]! <= CH_9) {
      if (pos - digitsStart >= MAX_INT_DIGITS) fail('integer out of safe range', start);
      pos++;
    }
    const digits = pos - digitsStart;
    if (pos >= len) fail('truncated input', pos);
    if (buf[pos] !== CH_E) fail("expected 'e' after integer digits", pos);
    if (digits === 0) fail('integer without digits', start);
    if (digits > 1 && buf[digitsStart] === CH_0) fail('leading zero in integer', start);
    if (negative && digits === 1 && buf[digitsStart] === CH_0) fail('negative zero', start);
    let n = 0;
    for (let i = digitsStart; i < pos; i++) n = n * 10 + (buf[i]! - CH_0);
    pos++; // 'e'
    if (!Number.isSafeInteger(n)) fail('integer out of safe range', start);
    return negative ? -n : n;
  };

  const attach = (value: BValue): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      root = value;
      done = true;
    } else if (top.list !== null) {
      top.list.push(value);
    } else {
      defineKey(top.dict, top.key as string, value);
      top.key = null;
    }
  };

  const open = (frame: Frame, value: BValue, at: number): void => {
    if (stack.length + 1 > maxDepth) fail('nesting too deep', at);
    attach(value);
    done = false; // a container at the root is not complete until its 'e'
    stack.push(frame);
  };

  while (!done) {
    if (pos >= len) fail('truncated input', pos);
    const top = stack[stack.length - 1];
    const c = buf[pos]!;

    if (top !== undefined && c === CH_E && (top.list !== null || top.key === null)) {
      pos++;
      stack.pop();
      if (stack.length === 0) done = true;
      continue;
    }

    if (top !== undefined && top.dict !== null && top.key === null) {
      const at = pos;
      if (c < CH_0 || c > CH_9) fail('dictionary key must be a byte string', at);
      const [s, e] = readStringBounds();
      let key: string;
      try {
        key = utf8.decode(buf.subarray(s, e));
      } catch {
        fail('dictionary key is not valid UTF-8', at);
      }
      if (Object.prototype.hasOwnProperty.call(top.dict, key)) fail('duplicate dictionary key', at);
      top.key = key;
      continue;
    }

    if (++elements > maxElements) fail('too many elements', pos);
    if (c === CH_I) {
      attach(readInt());
    } else if (c >= CH_0 && c <= CH_9) {
      const [s, e] = readStringBounds();
      const bytes = buf.subarray(s, e);
      let value: BValue;
      try {
        value = utf8.decode(bytes);
      } catch {
        // Not text: keep the exact bytes, in a copy that does not alias the caller's buffer.
        const copy = new Uint8Array(bytes.length);
        copy.set(bytes);
        value = copy;
      }
      attach(value);
    } else if (c === CH_L) {
      const list: BValue[] = [];
      open({ list, dict: null }, list, pos);
      pos++;
    } else if (c === CH_D) {
      const dict: BDict = {};
      open({ list: null, dict, key: null }, dict, pos);
      pos++;
    } else {
      fail('unexpected byte', pos);
    }
  }

  if (pos !== len) fail('trailing data after value', pos);
  return root as BValue;
}

// Lone surrogates cannot be encoded as UTF-8 without loss (they become U+FFFD), which would
// break the round trip and could make two distinct keys collide; with the u flag a proper
// surrogate pair is one code point and does not match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function encodeFail(message: string, path: string): never {
  throw new RelayError('E_BAD_BENCODE', message, { path });
}

function utf8Bytes(s: string, path: string): Buffer {
  if (LONE_SURROGATE.test(s)) encodeFail('string is not well-formed UTF-16', path);
  return Buffer.from(s, 'utf8');
}

/**
 * Encodes a value as bencode. Dictionary keys are emitted in raw-byte order; `undefined` dict
 * values are skipped. Throws RelayError('E_BAD_BENCODE') on anything bencode cannot carry
 * (non-integer or unsafe numbers, booleans, null, lone surrogates, nesting past maxDepth).
 */
export function encodeBencode(value: BEncodable, options: BEncodeOptions = {}): Buffer {
  const maxDepth = options.maxDepth ?? BENCODE_DEFAULTS.maxDepth;
  const chunks: Uint8Array[] = [];
  // Recursion is bounded by maxDepth, so this cannot overflow the stack.
  const walk = (v: unknown, depth: number, path: string): void => {
    if (typeof v === 'string') {
      const b = utf8Bytes(v, path);
      chunks.push(Buffer.from(`${b.length}:`, 'latin1'), b);
    } else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) encodeFail('number is not a safe integer', path);
      chunks.push(Buffer.from(`i${v}e`, 'latin1'));
    } else if (v instanceof Uint8Array) {
      chunks.push(Buffer.from(`${v.length}:`, 'latin1'), v);
    } else if (Array.isArray(v)) {
      if (depth >= maxDepth) encodeFail('nesting too deep', path);
      chunks.push(Buffer.from('l', 'latin1'));
      v.forEach((item: unknown, i) => walk(item, depth + 1, `${path}[${i}]`));
      chunks.push(Buffer.from('e', 'latin1'));
    } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
      if (depth >= maxDepth) encodeFail('nesting too deep', path);
      const entries: { key: Buffer; value: unknown; name: string }[] = [];
      for (const name of Object.keys(v)) {
        const item: unknown = (v as Record<string, unknown>)[name];
        if (item === undefined) continue;
        entries.push({ key: utf8Bytes(name, path), value: item, name });
      }
      entries.sort((a, b) => Buffer.compare(a.key, b.key));
      chunks.push(Buffer.from('d', 'latin1'));
      for (const e of entries) {
        chunks.push(Buffer.from(`${e.key.length}:`, 'latin1'), e.key);
        walk(e.value, depth + 1, `${path}.${e.name.slice(0, 32)}`);
      }
      chunks.push(Buffer.from('e', 'latin1'));
    } else {
      encodeFail(`cannot encode ${v === null ? 'null' : typeof v}`, path);
    }
  };
  walk(value, 0, '$');
  return Buffer.concat(chunks);
}
