// One ng datagram in, one typed request out: the schema edge of the control path.
//
// Everything an SBE sends is checked here, once; inner code trusts the NgRequest types.
// - `parseNgRequest` never throws: a bad datagram becomes `{ ok: false, error }`, with the
//   cookie when one could be read so the caller can send an error reply instead of making
//   Kamailio retransmit five times. Only a programming error could escape (and the fuzz
//   properties look for exactly that).
// - Keys are matched the way rtpengine matches them: case-insensitively with spaces,
//   underscores and hyphens interchangeable (`call id` = `call-id` = `Call_ID`).
// - Unknown keys are ignored with a warning; a known key with a wrong type or value is an
//   E_BAD_REQUEST: guessing what a malformed security option meant is how bid-downs happen.
// - The same setting given twice with different values (say `transport-protocol` and an
//   `rtpp-flags` token) is an error rather than "last one wins", for the same reason.
// - Error messages and warnings never contain the SDP or other values, only key names
//   (escaped and truncated), so nothing secret reaches a log.
import { isIPv4, isIPv6 } from 'node:net';
import { RelayError } from '../errors.ts';
import { decodeBencode, encodeBencode, BENCODE_DEFAULTS, type BDecodeOptions } from './bencode.ts';

export const NG_COMMANDS = ['ping', 'offer', 'answer', 'delete', 'query', 'list', 'statistics'] as const;
export type NgCommand = (typeof NG_COMMANDS)[number];
export type NgFormat = 'bencode' | 'json';

export const TRANSPORT_PROTOCOLS = [
  'RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF',
] as const;
export type TransportProtocol = (typeof TRANSPORT_PROTOCOLS)[number];
/** `accept` (answers only, rtpengine): go along with the answerer's protocol change. */
export type TransportProtocolOption = TransportProtocol | 'accept';

export const ICE_MODES = ['remove', 'force', 'default', 'force-relay', 'optional'] as const;
export type IceMode = (typeof ICE_MODES)[number];
/** `off` also stands for rtpengine's synonyms `no` and `disable`. */
export type DtlsMode = 'off' | 'passive' | 'active';
export const RTCP_MUX_OPTIONS = ['offer', 'require', 'demux', 'accept', 'reject'] as const;
export type RtcpMuxOption = (typeof RTCP_MUX_OPTIONS)[number];
export const REPLACE_OPTIONS = [
  'origin', 'origin-full', 'session-connection', 'session-name', 'sdp-version',
  'force-increment-sdp-ver', 'username', 'zero-address',
] as const;
export type ReplaceOption = (typeof REPLACE_OPTIONS)[number];
export type AddressFamily = 'IP4' | 'IP6';
export type SipMessageType = 'request' | 'reply';

/** Fields every request may carry. Absent scalars are `undefined`; absent lists are empty. */
export interface NgRequestBase {
  readonly command: NgCommand;
  readonly callId: string | undefined;
  /** Tag of whoever sent *this* SDP (REFERENCE §3). */
  readonly fromTag: string | undefined;
  readonly toTag: string | undefined;
  readonly viaBranch: string | undefined;
  /** SDP body, line ends untouched (CRLF from Kamailio). */
  readonly sdp: string | undefined;
  /** Bare flags not mapped to a key, lower-case and hyphenated (`trust-address`). */
  readonly flags: readonly string[];
  readonly replace: readonly ReplaceOption[];
  readonly transportProtocol: TransportProtocolOption | undefined;
  readonly ice: IceMode | undefined;
  readonly dtls: DtlsMode | undefined;
  /**
   * SDES options: `off`, `no-<SUITE>`, `only-<SUITE>` (suite spelled as sent, unvalidated:
   * the suite table decides), and other rtpengine options lower-cased (`pad`, `nonew`, ...).
   */
  readonly sdes: readonly string[];
  readonly rtcpMux: readonly RtcpMuxOption[];
  /** Logical interface names, at most two: [from, to]. */
  readonly direction: readonly string[];
  readonly receivedFrom: readonly [AddressFamily, string] | undefined;
  readonly addressFamily: AddressFamily | undefined;
  readonly recordCall: boolean | undefined;
  readonly supports: readonly string[];
  readonly sipMessageType: SipMessageType | undefined;
  /** Ignored input, one line each (unknown keys, keys not allowed in rtpp-flags). */
  readonly warnings: readonly string[];
}
export interface NgSimpleRequest extends NgRequestBase {
  readonly command: 'ping' | 'list' | 'statistics';
}
export interface NgOfferRequest extends NgRequestBase {
  readonly command: 'offer';
  readonly callId: string;
  readonly fromTag: string;
  readonly sdp: string;
}
export interface NgAnswerRequest extends NgRequestBase {
  readonly command: 'answer';
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  readonly sdp: string;
}
export interface NgCallRequest extends NgRequestBase {
  readonly command: 'delete' | 'query';
  readonly callId: string;
}
/** A validated request; the command narrows which fields are guaranteed present. */
export type NgRequest = NgSimpleRequest | NgOfferRequest | NgAnswerRequest | NgCallRequest;

export type NgParseResult =
  | { readonly ok: true; readonly cookie: string; readonly request: NgRequest; readonly format: NgFormat }
  | {
      readonly ok: false;
      /** null when no valid cookie could be read: then no reply can be matched, drop it. */
      readonly cookie: string | null;
      readonly format: NgFormat;
      readonly error: RelayError;
    };

export interface NgParseOptions {
  /** Largest datagram accepted, in bytes (cookie included). Default 65536. */
  readonly maxDatagramBytes?: number;
  /** Limits for the bencode decoder (depth, element count); its maxBytes is set from the datagram. */
  readonly bencode?: Omit<BDecodeOptions, 'maxBytes'>;
}

export type NgResult = 'ok' | 'error' | 'pong' | 'load limit';
export type NgReplyValue =
  | string
  | number
  | readonly NgReplyValue[]
  | { readonly [key: string]: NgReplyValue | undefined };
export interface NgReply {
  readonly result: NgResult;
  readonly 'error-reason'?: string;
  readonly warning?: string;
  readonly [key: string]: NgReplyValue | undefined;
}

export const NG_DEFAULTS = Object.freeze({ maxDatagramBytes: BENCODE_DEFAULTS.maxBytes });
export const MAX_COOKIE_LENGTH = 128;
/** SIP Call-IDs and tags are short tokens; this bounds what a session key can cost. */
const MAX_ID_LENGTH = 512;
const MAX_LIST_ITEMS = 64;
const MAX_ITEM_LENGTH = 256;
const MAX_WARNINGS = 32;
const MAX_RTPP_DEPTH = 4;

const SP = 0x20;

function bad(message: string, context?: Readonly<Record<string, string | number>>): never {
  throw new RelayError('E_BAD_REQUEST', message, context);
}

/** Escaped, truncated rendering of untrusted text for messages (no control chars, bounded). */
function describe(s: string): string {
  return JSON.stringify(s.length > 48 ? `${s.slice(0, 48)}…` : s);
}

function isCookie(s: string): boolean {
  return s.length >= 1 && s.length <= MAX_COOKIE_LENGTH && /^[\x21-\x7e]+$/.test(s);
}

/** rtpengine's key matching: case-insensitive, ' ' / '_' / '-' interchangeable. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[ _]/g, '-');
}

// ---------------------------------------------------------------- value checks

function text(v: unknown, key: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) bad('value is not valid UTF-8 text', { key });
  return bad('value must be a string', { key });
}

/** Call-ID, tags, branch: non-empty printable ASCII without spaces. */
function identifier(v: unknown, key: string): string {
  const s = text(v, key);
  if (s.length === 0 || s.length > MAX_ID_LENGTH) bad('value has a bad length', { key, length: s.length });
  if (!/^[\x21-\x7e]+$/.test(s)) bad('value must be printable ASCII without spaces', { key });
  return s;
}

/** List item: printable ASCII, spaces allowed (`load limit`, `session connection`). */
function item(v: unknown, key: string): string {
  const s = text(v, key);
  if (s.length === 0 || s.length > MAX_ITEM_LENGTH) bad('list item has a bad length', { key });
  if (!/^[\x20-\x7e]+$/.test(s)) bad('list item must be printable ASCII', { key });
  return s;
}

function list(v: unknown, key: string, allowScalar: boolean): string[] {
  if (allowScalar && typeof v === 'string') return [item(v, key)];
  if (!Array.isArray(v)) bad('value must be a list', { key });
  if (v.length > MAX_LIST_ITEMS) bad('list too long', { key, length: v.length });
  return v.map((x: unknown) => item(x, key));
}

function oneOf<T extends string>(value: string, allowed: readonly T[], key: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) bad('unsupported value', { key, value: describe(value) });
  return found;
}

function addressFamily(v: string, key: string): AddressFamily {
  return oneOf(v.toUpperCase(), ['IP4', 'IP6'] as const, key);
}

function normalizeSdes(v: string, key: string): string {
  if (!/^[A-Za-z0-9_:;.\-]+$/.test(v)) bad('malformed SDES option', { key, value: describe(v) });
  const lower = v.toLowerCase();
  if (lower === 'off' || lower === 'no' || lower === 'disable') return 'off';
  // Keep the suite part as sent: the suite table, not this parser, knows suite names.
  if (lower.startsWith('no-')) return `no-${v.slice(3)}`;
  if (lower.startsWith('only-')) return `only-${v.slice(5)}`;
  return lower;
}

function normalizeFlag(v: string, key: string): string {
  const f = v.toLowerCase().replace(/[ _]/g, '-');
  if (f.length === 0 || f.length > MAX_ITEM_LENGTH || !/^[\x21-\x7e]+$/.test(f)) {
    bad('malformed flag', { key, value: describe(v) });
  }
  return f;
}

// ---------------------------------------------------------------- rtpp-flags tokens

/** A parsed rtpp-flags value: a word or a bracketed list (nested lists are kept opaque). */
type RtppValue = string | RtppValue[];
interface RtppToken {
  readonly key: string;
  readonly value: RtppValue | null;
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isBracket = (c: string | undefined): boolean => c === '[' || c === ']';

/**
 * Splits a Kamailio rtpp-flags string: space-separated `word`, `key=value`, `key=[a b ...]`.
 * Nested lists (codec dictionaries) are tokenised but only flat lists are ever used.
 */
export function tokenizeRtppFlags(s: string): RtppToken[] {
  const tokens: RtppToken[] = [];
  let i = 0;
  const n = s.length;
  const word = (): string => {
    const start = i;
    while (i < n && !isSpace(s[i]) && !isBracket(s[i])) i++;
    return s.slice(start, i);
  };
  const afterValue = (): void => {
    if (i < n && !isSpace(s[i])) bad('rtpp-flags: unexpected bracket', { offset: i });
  };
  const parseList = (depth: number): RtppValue[] => {
    if (depth > MAX_RTPP_DEPTH) bad('rtpp-flags: lists nested too deep', { offset: i });
    i++; // '['
    const items: RtppValue[] = [];
    for (;;) {
      while (i < n && isSpace(s[i])) i++;
      if (i >= n) bad('rtpp-flags: unterminated list', { offset: i });
      if (s[i] === ']') {
        i++;
        return items;
      }
      if (s[i] === '[') items.push(parseList(depth + 1));
      else items.push(word());
      if (items.length > MAX_LIST_ITEMS) bad('rtpp-flags: list too long', { offset: i });
    }
  };
  for (;;) {
    while (i < n && isSpace(s[i])) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(s[i]) && !isBracket(s[i]) && s[i] !== '=') i++;
    const key = s.slice(start, i);
    if (key.length === 0) bad('rtpp-flags: token without a name', { offset: start });
    let value: RtppValue | null = null;
    if (s[i] === '=') {
      i++;
      value = s[i] === '[' ? parseList(1) : word();
      // `key=` with nothing after it means the bare flag, as in rtpengine.
      if (value === '') value = null;
    }
    afterValue();
    tokens.push({ key, value });
    if (tokens.length > MAX_LIST_ITEMS * 4) bad('rtpp-flags: too many tokens', { offset: i });
  }
  return tokens;
}

// ---------------------------------------------------------------- the builder

type Source = 'dict' | 'rtpp-flags';
type Scalars = {
  command: NgCommand;
  callId: string;
  fromTag: string;
  toTag: string;
  viaBranch: string;
  sdp: string;
  transportProtocol: TransportProtocolOption;
  ice: IceMode;
  dtls: DtlsMode;
  receivedFrom: readonly [AddressFamily, string];
  addressFamily: AddressFamily;
  recordCall: boolean;
  sipMessageType: SipMessageType;
};

/** Transport parts as rtpengine's flag words set them (RTP/SRTP, AVP/AVPF, DTLS). */
interface TransportParts {
  srtp?: boolean;
  avpf?: boolean;
  dtls?: boolean;
}

// A Map, not an object literal: a flag named `constructor` must not find Object.prototype's.
const TRANSPORT_WORDS: ReadonlyMap<string, TransportParts> = new Map([
  ['RTP', { srtp: false }],
  ['SRTP', { srtp: true }],
  ['AVP', { avpf: false }],
  ['AVPF', { avpf: true }],
  ['DTLS', { dtls: true }],
]);

function transportParts(p: TransportProtocol): TransportParts {
  return { dtls: p.startsWith('UDP/TLS/'), srtp: p.includes('SAVP'), avpf: p.endsWith('F') };
}

/** The transport parts a bare word sets, or undefined when it is not a transport word. */
function transportWord(word: string): TransportParts | undefined {
  const full = TRANSPORT_PROTOCOLS.find((p) => p === word.toUpperCase());
  return TRANSPORT_WORDS.get(word) ?? (full === undefined ? undefined : transportParts(full));
}

function transportFromParts(p: TransportParts, key: string): TransportProtocol {
  if (p.dtls === true && p.srtp === false) bad('contradictory transport flags (DTLS with RTP)', { key });
  const base = p.dtls === true ? 'UDP/TLS/RTP/SAVP' : p.srtp === true ? 'RTP/SAVP' : 'RTP/AVP';
  return oneOf(p.avpf === true ? `${base}F` : base, TRANSPORT_PROTOCOLS, key);
}

/** Keys an rtpp-flags string may set; identity and body keys may only come from the dict. */
const RTPP_KEYS = new Set([
  'transport-protocol', 'ice', 'dtls', 'sdes', 'rtcp-mux', 'direction', 'replace',
  'address-family', 'record-call', 'received-from', 'flags', 'supports', 'sip-message-type',
]);

class RequestBuilder {
  readonly scalars: Partial<Scalars> = {};
  readonly flags = new Set<string>();
  readonly replace = new Set<ReplaceOption>();
  readonly sdes = new Set<string>();
  readonly rtcpMux = new Set<RtcpMuxOption>();
  readonly direction: string[] = [];
  readonly supports = new Set<string>();
  readonly warnings: string[] = [];

  warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
  }

  set<K extends keyof Scalars>(field: K, value: Scalars[K], key: string): void {
    const old = this.scalars[field];
    if (old !== undefined && JSON.stringify(old) !== JSON.stringify(value)) {
      bad('conflicting values for one setting', { key });
    }
    this.scalars[field] = value;
  }

  addDirection(name: string, key: string): void {
    if (this.direction.length >= 2) bad('more than two direction entries', { key });
    this.direction.push(name);
  }

  /** Applies one dict entry (or one rtpp-flags `key=value`) to the request. */
  apply(rawKey: string, value: unknown, source: Source): void {
    const key = normalizeKey(rawKey);
    const fromFlags = source === 'rtpp-flags';
    if (fromFlags && !RTPP_KEYS.has(key)) {
      this.warn(`rtpp-flags key ${describe(rawKey)} ignored`);
      return;
    }
    switch (key) {
      case 'command': {
        const c = text(value, key).toLowerCase();
        const command = NG_COMMANDS.find((x) => x === c);
        if (command === undefined) bad('unknown command', { command: describe(c) });
        this.set('command', command, key);
        break;
      }
      case 'call-id': this.set('callId', identifier(value, key), key); break;
      case 'from-tag': this.set('fromTag', identifier(value, key), key); break;
      case 'to-tag': this.set('toTag', identifier(value, key), key); break;
      case 'via-branch': this.set('viaBranch', identifier(value, key), key); break;
      case 'sdp': this.set('sdp', text(value, key), key); break;
      case 'rtpp-flags': break; // handled by the caller, after every other key
      case 'flags':
        for (const f of list(value, key, fromFlags)) this.applyWord(f, key);
        break;
      case 'replace':
        for (const r of list(value, key, fromFlags)) this.replace.add(oneOf(normalizeKey(r), REPLACE_OPTIONS, key));
        break;
      case 'transport-protocol': {
        const t = text(value, key);
        const v = t.toLowerCase() === 'accept' ? 'accept' : oneOf(t.toUpperCase(), TRANSPORT_PROTOCOLS, key);
        this.set('transportProtocol', v, key);
        break;
      }
      case 'ice': this.set('ice', oneOf(text(value, key).toLowerCase(), ICE_MODES, key), key); break;
      case 'dtls': {
        const d = text(value, key).toLowerCase();
        const mode = d === 'no' || d === 'disable' ? 'off' : oneOf(d, ['off', 'passive', 'active'] as const, key);
        this.set('dtls', mode, key);
        break;
      }
      case 'sdes':
        for (const s of list(value, key, fromFlags)) this.sdes.add(normalizeSdes(s, key));
        break;
      case 'rtcp-mux':
        for (const m of list(value, key, fromFlags)) this.rtcpMux.add(oneOf(m.toLowerCase(), RTCP_MUX_OPTIONS, key));
        break;
      case 'direction':
        for (const d of list(value, key, fromFlags)) this.addDirection(d, key);
        break;
      case 'received-from': {
        const parts = list(value, key, false);
        if (parts.length !== 2) bad('received-from must be [family, address]', { key });
        const family = addressFamily(parts[0]!, key);
        const address = parts[1]!;
        if (family === 'IP4' ? !isIPv4(address) : !isIPv6(address)) bad('received-from address is not valid', { key });
        this.set('receivedFrom', [family, address] as const, key);
        break;
      }
      case 'address-family': this.set('addressFamily', addressFamily(text(value, key), key), key); break;
      case 'record-call': {
        const r = text(value, key).toLowerCase();
        if (r === 'yes' || r === 'on') this.set('recordCall', true, key);
        else if (r === 'no' || r === 'off') this.set('recordCall', false, key);
        else bad('unsupported value', { key, value: describe(r) });
        break;
      }
      case 'supports':
        for (const s of list(value, key, fromFlags)) this.supports.add(s);
        break;
      case 'sip-message-type': {
        const m = normalizeKey(text(value, key)).replace(/^sip-/, '');
        if (m === 'request') this.set('sipMessageType', 'request', key);
        else if (m === 'reply' || m === 'response') this.set('sipMessageType', 'reply', key);
        else bad('unsupported value', { key, value: describe(m) });
        break;
      }
      default:
        this.warn(`unknown key ${describe(rawKey)} ignored`);
    }
  }

  /**
   * A bare word from the `flags` list or from rtpp-flags: the prefixed forms rtpengine
   * accepts in flags map to their keys, anything else is a generic flag.
   */
  applyWord(word: string, key: string): void {
    const eq = word.indexOf('=');
    if (eq > 0) {
      // `ICE=remove` inside a flags list means the same as in rtpp-flags.
      this.apply(word.slice(0, eq), word.slice(eq + 1), 'rtpp-flags');
      return;
    }
    const parts = transportWord(word);
    if (parts !== undefined) {
      // In a flags list each transport word stands alone (no RTP + AVPF composition).
      this.set('transportProtocol', transportFromParts(parts, key), key);
      return;
    }
    const lower = word.toLowerCase();
    if (lower === 'internal' || lower === 'external') this.addDirection(lower, key);
    else if (lower.startsWith('sdes-')) this.sdes.add(normalizeSdes(word.slice(5), key));
    else if (lower.startsWith('rtcp-mux-')) this.rtcpMux.add(oneOf(lower.slice(9), RTCP_MUX_OPTIONS, key));
    else if (lower.startsWith('replace-')) this.replace.add(oneOf(normalizeKey(word.slice(8)), REPLACE_OPTIONS, key));
    else this.flags.add(normalizeFlag(word, key));
  }

  applyRtppFlags(value: unknown): void {
    const key = 'rtpp-flags';
    const s = text(value, key);
    // rtpengine composes the transport from words (`SRTP AVPF` = RTP/SAVPF), full names reset it.
    let parts: TransportParts | undefined;
    for (const t of tokenizeRtppFlags(s)) {
      const tw = t.value === null ? transportWord(t.key) : undefined;
      if (tw !== undefined) {
        parts = { ...parts, ...tw };
      } else if (t.value === null) {
        this.applyWord(t.key, key);
      } else if (Array.isArray(t.value) && t.value.some((v) => typeof v !== 'string')) {
        // Nested lists (codec dictionaries) belong to rtpengine features srtpgate does not have.
        if (RTPP_KEYS.has(normalizeKey(t.key))) bad('nested list not allowed here', { key: describe(t.key) });
        this.warn(`rtpp-flags key ${describe(t.key)} ignored`);
      } else {
        this.apply(t.key, t.value, 'rtpp-flags');
      }
    }
    if (parts !== undefined) this.set('transportProtocol', transportFromParts(parts, key), key);
  }

  build(): NgRequest {
    const s = this.scalars;
    const command = s.command;
    if (command === undefined) bad('missing key', { key: 'command' });
    const need = (field: 'callId' | 'fromTag' | 'toTag' | 'sdp', key: string): string => {
      const v = s[field];
      if (v === undefined) bad('missing key', { key, command });
      return v;
    };
    const base: NgRequestBase = {
      command,
      callId: s.callId,
      fromTag: s.fromTag,
      toTag: s.toTag,
      viaBranch: s.viaBranch,
      sdp: s.sdp,
      flags: [...this.flags],
      replace: [...this.replace],
      transportProtocol: s.transportProtocol,
      ice: s.ice,
      dtls: s.dtls,
      sdes: [...this.sdes],
      rtcpMux: [...this.rtcpMux],
      direction: [...this.direction],
      receivedFrom: s.receivedFrom,
      addressFamily: s.addressFamily,
      recordCall: s.recordCall,
      supports: [...this.supports],
      sipMessageType: s.sipMessageType,
      warnings: [...this.warnings],
    };
    switch (command) {
      case 'offer':
        return { ...base, command, callId: need('callId', 'call-id'), fromTag: need('fromTag', 'from-tag'), sdp: need('sdp', 'sdp') };
      case 'answer':
        return {
          ...base, command, callId: need('callId', 'call-id'), fromTag: need('fromTag', 'from-tag'),
          toTag: need('toTag', 'to-tag'), sdp: need('sdp', 'sdp'),
        };
      case 'delete':
      case 'query':
        return { ...base, command, callId: need('callId', 'call-id') };
      case 'ping':
      case 'list':
      case 'statistics':
        return { ...base, command };
    }
  }
}

/** Normalises an already decoded dict (bencode or JSON) into an NgRequest. Throws RelayError. */
export function normalizeNgDict(dict: unknown): NgRequest {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict) || dict instanceof Uint8Array) {
    bad('request must be a dictionary');
  }
  const b = new RequestBuilder();
  const seen = new Set<string>();
  let rtppFlags: unknown;
  const entries = Object.keys(dict);
  if (entries.length > MAX_LIST_ITEMS * 4) bad('too many keys', { count: entries.length });
  for (const rawKey of entries) {
    const key = normalizeKey(rawKey);
    if (seen.has(key)) bad('duplicate key', { key: describe(rawKey) });
    seen.add(key);
    const value: unknown = (dict as Record<string, unknown>)[rawKey];
    if (key === 'rtpp-flags') rtppFlags = value;
    else b.apply(rawKey, value, 'dict');
  }
  // rtpp-flags last, so a conflict with a dict key is detected whatever the key order.
  if (rtppFlags !== undefined) b.applyRtppFlags(rtppFlags);
  return b.build();
}

// ---------------------------------------------------------------- datagrams

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses one ng datagram `<cookie> <dict>`. Never throws for bad input: failures come back
 * as `{ ok: false, cookie, error }` where `cookie` is null if none could be read.
 * Bencode errors keep code E_BAD_BENCODE; their `[offset:n]` counts from the start of the dict.
 */
export function parseNgRequest(datagram: Uint8Array | string, options: NgParseOptions = {}): NgParseResult {
  const maxBytes = options.maxDatagramBytes ?? NG_DEFAULTS.maxDatagramBytes;
  let buf: Uint8Array;
  if (typeof datagram === 'string') {
    // Bound the conversion itself: a string longer than the limit is over it in bytes too.
    if (datagram.length > maxBytes) {
      const sp = datagram.indexOf(' ');
      const c = sp > 0 && sp <= MAX_COOKIE_LENGTH ? datagram.slice(0, sp) : '';
      return { ok: false, cookie: isCookie(c) ? c : null, format: 'bencode', error: tooLarge(maxBytes) };
    }
    buf = new Uint8Array(Buffer.from(datagram, 'utf8'));
  } else {
    buf = datagram;
  }

  // The cookie first (bounded scan), so even an oversized or broken request gets its error reply.
  let sp = -1;
  for (let i = 0; i < buf.length && i <= MAX_COOKIE_LENGTH; i++) {
    if (buf[i] === SP) {
      sp = i;
      break;
    }
  }
  const cookie = sp > 0 ? Buffer.from(buf.subarray(0, sp)).toString('latin1') : '';
  if (!isCookie(cookie)) {
    return { ok: false, cookie: null, format: 'bencode', error: new RelayError('E_BAD_REQUEST', 'missing or invalid cookie') };
  }
  const body = buf.subarray(sp + 1);
  const format: NgFormat = body[0] === 0x7b ? 'json' : 'bencode';
  if (buf.length > maxBytes) return { ok: false, cookie, format, error: tooLarge(maxBytes) };

  try {
    let dict: unknown;
    if (body[0] === 0x64) {
      dict = decodeBencode(body, { ...options.bencode, maxBytes });
    } else if (body[0] === 0x7b) {
      let json: string;
      try {
        json = utf8.decode(body);
      } catch {
        bad('JSON body is not valid UTF-8');
      }
      try {
        dict = JSON.parse(json);
      } catch {
        // The parser's message quotes the input (SDP, keys): never pass it on.
        bad('invalid JSON');
      }
    } else {
      bad('body must be a bencode (d...) or JSON ({...}) dictionary');
    }
    return { ok: true, cookie, request: normalizeNgDict(dict), format };
  } catch (e) {
    if (e instanceof RelayError) return { ok: false, cookie, format, error: e };
    throw e;
  }
}

function tooLarge(maxBytes: number): RelayError {
  return new RelayError('E_BAD_REQUEST', 'datagram too large', { max: maxBytes });
}

/** The reply for a failed request: the error's message only (messages carry no secrets). */
export function ngErrorReply(error: unknown): NgReply {
  const reason = error instanceof RelayError ? error.message : 'internal error';
  return { result: 'error', 'error-reason': reason.replace(/[\x00-\x1f\x7f]/g, ' ') };
}

/**
 * Formats `<cookie> <dict>` for sending. Throws RelayError on an invalid cookie or a value
 * the chosen format cannot carry (programming errors: replies are built by srtpgate).
 */
export function formatNgReply(cookie: string, reply: NgReply, format: NgFormat): Buffer {
  if (!isCookie(cookie)) bad('invalid cookie');
  const head = Buffer.from(`${cookie} `, 'latin1');
  if (format === 'bencode') return Buffer.concat([head, encodeBencode(reply)]);
  const json = JSON.stringify(reply, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) bad('reply number is not finite');
    return v;
  });
  return Buffer.concat([head, Buffer.from(json, 'utf8')]);
}
