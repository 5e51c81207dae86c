// Minimal bencode for the bench's ng client. Deliberately separate from src/control/bencode.ts:
// the bench must be able to drive rtpengine (and, later, srtpgate's ng server) without trusting
// the code under test to format the requests it is measured with.
// Strings decode to UTF-8 text: everything an ng reply carries (SDP, flags, error text) is text.

export type BValue = string | number | BValue[] | { [key: string]: BValue };

/** Encodes a value; dictionary keys are sorted by their bytes as bencode requires. */
export function bencode(value: BValue): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts);
  return Buffer.concat(parts);
}

function encodeInto(value: BValue, parts: Buffer[]): void {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    parts.push(Buffer.from(`${bytes.length}:`), bytes);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode integers only: ${value}`);
    parts.push(Buffer.from(`i${value}e`));
  } else if (Array.isArray(value)) {
    parts.push(Buffer.from('l'));
    for (const v of value) encodeInto(v, parts);
    parts.push(Buffer.from('e'));
  } else {
    parts.push(Buffer.from('d'));
    const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of keys) {
      encodeInto(k, parts);
      encodeInto(value[k]!, parts);
    }
    parts.push(Buffer.from('e'));
  }
}

/** Decodes exactly one value spanning the whole buffer; throws on anything malformed. */
export function bdecode(buf: Buffer): BValue {
  const [value, end] = decodeAt(buf, 0, 0);
  if (end !== buf.length) throw new Error(`bencode: ${buf.length - end} trailing bytes`);
  return value;
}

// Replies are small and come from a peer we started ourselves, so plain recursion with a
// depth cap is enough here.
const MAX_DEPTH = 32;

function decodeAt(buf: Buffer, pos: number, depth: number): [BValue, number] {
  if (depth > MAX_DEPTH) throw new Error('bencode: nested too deeply');
  const c = buf[pos];
  if (c === undefined) throw new Error('bencode: truncated');
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65 /* e */, pos + 1);
    if (end < 0) throw new Error('bencode: unterminated integer');
    const text = buf.toString('latin1', pos + 1, end);
    if (!/^-?(0|[1-9][0-9]*)$/.test(text)) throw new Error(`bencode: bad integer ${text}`);
    return [Number(text), end + 1];
  }
  if (c === 0x6c /* l */) {
    const list: BValue[] = [];
    let p = pos + 1;
    while (buf[p] !== 0x65) {
      const [v, next] = decodeAt(buf, p, depth + 1);
      list.push(v);
      p = next;
    }
    return [list, p + 1];
  }
  if (c === 0x64 /* d */) {
    const dict: { [key: string]: BValue } = {};
    let p = pos + 1;
    while (buf[p] !== 0x65) {
      const [k, afterKey] = decodeAt(buf, p, depth + 1);
      if (typeof k !== 'string') throw new Error('bencode: dictionary key is not a string');
      const [v, afterValue] = decodeAt(buf, afterKey, depth + 1);
      dict[k] = v;
      p = afterValue;
    }
    return [dict, p + 1];
  }
  if (c >= 0x30 && c <= 0x39) {
    const colon = buf.indexOf(0x3a /* : */, pos);
    if (colon < 0) throw new Error('bencode: string without length');
    const len = Number(buf.toString('latin1', pos, colon));
    if (!Number.isSafeInteger(len) || colon + 1 + len > buf.length) throw new Error('bencode: bad string length');
    return [buf.toString('utf8', colon + 1, colon + 1 + len), colon + 1 + len];
  }
  throw new Error(`bencode: unexpected byte 0x${c.toString(16)} at ${pos}`);
}
