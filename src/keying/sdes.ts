// RFC 4568 SDES `a=crypto` attributes: parse, format, generate, wipe.
//
// - Suite names and lengths come only from the suite table (src/crypto/suites.ts). A suite the
//   table does not know parses into `{ kind: 'unknown-suite' }`, not an error: the relay must
//   ignore crypto lines it cannot do, not reject the offer because of them.
// - Key material lives in Uint8Arrays that `wipe()` zeroes. `key` and `salt` are prototype
//   getters, so spreading, structuredClone or JSON.stringify of the objects copies nothing,
//   and toJSON / util.inspect print `<redacted>` (STYLE rule 14).
// - Errors are RelayError('E_BAD_CRYPTO') naming the field that is wrong and, when the caller
//   passes it, the SDP line number. They never quote the attribute text, because that text
//   holds the key; only the tag and the suite name (both checked against tight charsets) and
//   lengths appear.
// - Syntax is checked by the parser; every semantic rule (lengths, ranges, MKI consistency)
//   lives in one validator that also guards objects built by hand, so formatting can never
//   emit a crypto line the parser would refuse.
import { inspect } from 'node:util';
import type { CryptoSuite } from '../crypto/suites.ts';
import { suiteByName } from '../crypto/suites.ts';
import { RelayError } from '../errors.ts';

/** RFC 3711 §9.2 / RFC 4568 §6.1: at most 2^48 SRTP packets per master key. */
export const MAX_LIFETIME = 2 ** 48;
/** RFC 4568 §6.1: MKI length is 1..128 bytes. */
export const MAX_MKI_LENGTH = 128;
/** RFC 4568 §6.3.1: KDR is an exponent 0..24. */
export const MAX_KDR = 24;
/** RFC 4568 §6.3.7 / RFC 3711: replay window at least 64. */
export const MIN_WSH = 64;
/** Upper bound on WSH: nothing needs more, and it bounds what a peer can make us allocate. */
export const MAX_WSH = 0x7fffffff;
/** libsrtp holds at most 16 master keys per context; more is never legitimate. */
export const MAX_KEY_PARAMS = 16;
/** RFC 4568 §9.1: tag is 1*9DIGIT. */
export const MAX_TAG = 999_999_999;
/** A crypto line with 16 keys, MKIs and parameters is well under this. */
export const MAX_ATTRIBUTE_LENGTH = 4096;

const REDACTED = '<redacted>';
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

export interface SdesMki {
  /** MKI value, 1 .. 2^(8*length) - 1. */
  readonly value: bigint;
  /** MKI length in bytes as carried in each SRTP packet, 1..128. */
  readonly length: number;
}

export type FecOrder = 'FEC_SRTP' | 'SRTP_FEC';

export interface SdesKeyParamOptions {
  /** Master key lifetime in packets, 1..2^48. Absent: the SRTP default (2^48). */
  readonly lifetime?: number;
  readonly mki?: SdesMki;
  /** The base64 style the key arrived in; used only by `padding: 'input'`. Default true. */
  readonly padded?: boolean;
}

/** One `inline:` key-param. Holds master key || master salt in one buffer that wipe() zeroes. */
export class SdesKeyParam {
  readonly lifetime: number | undefined;
  readonly mki: SdesMki | undefined;
  /** Whether the input base64 carried its `=` padding (true when none was needed). */
  readonly padded: boolean;
  readonly #material: Uint8Array;
  readonly #key: Uint8Array;
  readonly #salt: Uint8Array;
  #wiped = false;

  /**
   * Takes ownership of `material` (key || salt, not copied: the caller must not keep it).
   * `keyLen` splits it; the lengths are checked against the suite by SdesCrypto.
   */
  constructor(material: Uint8Array, keyLen: number, options: SdesKeyParamOptions = {}) {
    this.#material = material;
    this.#key = material.subarray(0, keyLen);
    this.#salt = material.subarray(keyLen);
    this.lifetime = options.lifetime;
    this.mki = options.mki === undefined ? undefined : Object.freeze({ ...options.mki });
    this.padded = options.padded ?? true;
  }

  /** Master key (a view into the owned buffer). */
  get key(): Uint8Array {
    return this.#key;
  }

  /** Master salt (a view into the owned buffer). */
  get salt(): Uint8Array {
    return this.#salt;
  }

  /** key || salt, as SRTP key derivation and the base64 field take it. */
  get material(): Uint8Array {
    return this.#material;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** Zeroes the key material. Idempotent. */
  wipe(): void {
    this.#material.fill(0);
    this.#wiped = true;
  }

  toJSON(): Record<string, unknown> {
    return {
      key: REDACTED,
      salt: REDACTED,
      lifetime: this.lifetime,
      mki: this.mki === undefined ? undefined : `${this.mki.value}:${this.mki.length}`,
    };
  }

  [INSPECT](): string {
    return `SdesKeyParam ${inspect(this.toJSON())}`;
  }
}

/** RFC 4568 §6.3 session parameters. */
export interface SdesSessionParams {
  /** KDR exponent 0..24 (key derivation rate 2^n); undefined = 0, no re-derivation. */
  readonly kdr: number | undefined;
  readonly unencryptedSrtp: boolean;
  readonly unencryptedSrtcp: boolean;
  readonly unauthenticatedSrtp: boolean;
  readonly fecOrder: FecOrder | undefined;
  /** FEC_KEY key-params (same suite lengths; key material, redacted like the main keys). */
  readonly fecKeys: readonly SdesKeyParam[];
  /** Replay window size, at least 64. */
  readonly wsh: number | undefined;
  /**
   * Parameters this parser does not know, verbatim, in input order. RFC 4568's grammar marks
   * an ignorable extension with a leading `-`; one without it is mandatory, so whoever
   * negotiates must decline this crypto line rather than silently drop the parameter.
   */
  readonly extensions: readonly string[];
}

export const EMPTY_SESSION_PARAMS: SdesSessionParams = Object.freeze({
  kdr: undefined,
  unencryptedSrtp: false,
  unencryptedSrtcp: false,
  unauthenticatedSrtp: false,
  fecOrder: undefined,
  fecKeys: Object.freeze([]),
  wsh: undefined,
  extensions: Object.freeze([]),
});

export interface SdesCryptoInit {
  /** 0 .. 999999999. */
  readonly tag: number;
  readonly suite: CryptoSuite;
  /** 1..16 key-params; with more than one, each needs an MKI of one common length. */
  readonly keys: readonly SdesKeyParam[];
  readonly params?: Partial<SdesSessionParams>;
}

/** A crypto attribute whose suite is in the suite table. */
export class SdesCrypto {
  readonly kind = 'crypto' as const;
  readonly tag: number;
  readonly suite: CryptoSuite;
  readonly keys: readonly SdesKeyParam[];
  readonly params: SdesSessionParams;

  /** Validates every semantic rule; throws RelayError('E_BAD_CRYPTO'). */
  constructor(init: SdesCryptoInit) {
    const params: SdesSessionParams = Object.freeze({
      ...EMPTY_SESSION_PARAMS,
      ...init.params,
      fecKeys: Object.freeze([...(init.params?.fecKeys ?? [])]),
      extensions: Object.freeze([...(init.params?.extensions ?? [])]),
    });
    validate(init.tag, init.suite, init.keys, params, {});
    this.tag = init.tag;
    this.suite = init.suite;
    this.keys = Object.freeze([...init.keys]);
    this.params = params;
  }

  get wiped(): boolean {
    return this.keys.some((k) => k.wiped) || this.params.fecKeys.some((k) => k.wiped);
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      tag: this.tag,
      suite: this.suite.name,
      keys: this.keys.map((k) => k.toJSON()),
      params: {
        ...this.params,
        fecKeys: this.params.fecKeys.map((k) => k.toJSON()),
        // An unknown parameter may carry a vendor's key: show its name, never its value.
        extensions: this.params.extensions.map((e) => (e.includes('=') ? `${e.slice(0, e.indexOf('='))}=${REDACTED}` : e)),
      },
    };
  }

  [INSPECT](): string {
    return `SdesCrypto ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}

/** A syntactically valid crypto attribute naming a suite the table does not know. */
export interface SdesUnknownSuite {
  readonly kind: 'unknown-suite';
  readonly tag: number;
  readonly suiteName: string;
}

export interface SdesParseOptions {
  /** SDP line number of the attribute, reported as `[line:n]` in errors. */
  readonly line?: number;
}

export interface SdesFormatOptions {
  /**
   * Base64 style of the key field. 'padded' (default): RFC 4568 standard base64.
   * 'unpadded': no trailing `=` (some peers, e.g. rtpengine's default). 'input': as parsed.
   */
  readonly padding?: 'padded' | 'unpadded' | 'input';
}

type Ctx = Record<string, string | number>;

function fail(message: string, ctx: Ctx): never {
  throw new RelayError('E_BAD_CRYPTO', message, ctx);
}

// ---------------------------------------------------------------- semantic validation

function validateKeys(keys: readonly SdesKeyParam[], suite: CryptoSuite, what: string, ctx: Ctx): void {
  if (keys.length === 0) fail(`${what}: no key-params`, ctx);
  if (keys.length > MAX_KEY_PARAMS) fail(`${what}: too many key-params`, { ...ctx, count: keys.length, max: MAX_KEY_PARAMS });
  const expected = suite.keyLen + suite.saltLen;
  const mkiLength = keys[0]!.mki?.length;
  const mkis = new Set<bigint>();
  keys.forEach((k, i) => {
    const kctx = { ...ctx, keyParam: i + 1 };
    if (k.material.length !== expected || k.key.length !== suite.keyLen) {
      fail(`${what}: key||salt length does not match the suite`, { ...kctx, expected, actual: k.material.length });
    }
    if (k.lifetime !== undefined && !(Number.isSafeInteger(k.lifetime) && k.lifetime >= 1 && k.lifetime <= MAX_LIFETIME)) {
      fail(`${what}: lifetime out of range 1..2^48`, kctx);
    }
    // RFC 4568 §6.1: with several keys the MKI tells them apart, so each needs one, and the
    // MKI length must be the same for all keys of the attribute.
    if (keys.length > 1 && k.mki === undefined) fail(`${what}: MKI required when there are several keys`, kctx);
    if (k.mki !== undefined) {
      const { value, length } = k.mki;
      if (!(Number.isInteger(length) && length >= 1 && length <= MAX_MKI_LENGTH)) fail(`${what}: MKI length out of range 1..128`, kctx);
      if (value < 1n || value >= 1n << BigInt(8 * length)) fail(`${what}: MKI value does not fit its length`, kctx);
      if (length !== mkiLength) fail(`${what}: MKI lengths differ between keys`, kctx);
      if (mkis.has(value)) fail(`${what}: duplicate MKI value`, kctx);
      mkis.add(value);
    }
  });
  // A repeated key is never legitimate (two keys for one MKI space, or a copy/paste bug).
  // Compared byte by byte: turning keys into strings would leave copies wipe() cannot reach.
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      if (sameBytes(keys[i]!.material, keys[j]!.material)) fail(`${what}: the same key appears twice`, ctx);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function validate(tag: number, suite: CryptoSuite, keys: readonly SdesKeyParam[], p: SdesSessionParams, ctx: Ctx): void {
  if (!(Number.isInteger(tag) && tag >= 0 && tag <= MAX_TAG)) fail('tag out of range 0..999999999', ctx);
  if (suiteByName(suite.name) !== suite) fail('suite is not from the suite table', ctx);
  validateKeys(keys, suite, 'key-params', ctx);
  if (p.fecKeys.length > 0) validateKeys(p.fecKeys, suite, 'FEC_KEY', ctx);
  if (p.kdr !== undefined && !(Number.isInteger(p.kdr) && p.kdr >= 0 && p.kdr <= MAX_KDR)) fail('KDR out of range 0..24', ctx);
  if (p.wsh !== undefined && !(Number.isInteger(p.wsh) && p.wsh >= MIN_WSH && p.wsh <= MAX_WSH)) fail('WSH below 64 or too large', ctx);
  if (p.fecOrder !== undefined && p.fecOrder !== 'FEC_SRTP' && p.fecOrder !== 'SRTP_FEC') fail('bad FEC_ORDER', ctx);
  for (const e of p.extensions) {
    // Verbatim output must stay one SDP token: visible ASCII only, and not a known name.
    if (!/^[\x21-\x7e]+$/.test(e)) fail('session extension must be visible ASCII', ctx);
    if (KNOWN_PARAM.test(e)) fail('session extension shadows a known parameter', ctx);
  }
}

// ---------------------------------------------------------------- base64 (strict, standard alphabet)

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64_ALPHABET.charCodeAt(i)] = i;

/**
 * Decodes into a fresh Uint8Array (never Buffer's shared pool, whose slabs wipe() could not
 * reach). Padding is optional, as RFC 4568 §6.1 allows; null on any malformation.
 */
function decodeBase64(s: string): { bytes: Uint8Array; padded: boolean } | null {
  let end = s.length;
  while (end > 0 && s[end - 1] === '=') end--;
  const pad = s.length - end;
  if (pad > 2) return null;
  if (end % 4 === 1) return null;
  if (pad > 0 && s.length % 4 !== 0) return null;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) {
      out.fill(0);
      return null;
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return { bytes: out, padded: pad > 0 || end % 4 === 0 };
}

function encodeBase64(bytes: Uint8Array, padded: boolean): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return padded ? s : s.replace(/=+$/, '');
}

// ---------------------------------------------------------------- parsing

const TAG = /^(0|[1-9][0-9]{0,8})$/;
/** RFC 4568 §9.1 srtp-crypto-suite = 1*(ALPHA / DIGIT / "_"); bounded for messages. */
const SUITE_NAME = /^[A-Za-z0-9_]{1,64}$/;
const LIFETIME_POW2 = /^2\^(0|[1-9][0-9]?)$/;
const LIFETIME_DEC = /^[1-9][0-9]{0,14}$/;
/** MKI value up to 2^1024 (309 digits), length 1..128; no leading zeros. */
const MKI = /^([1-9][0-9]{0,308}):([1-9][0-9]{0,2})$/;
const KNOWN_PARAM = /^(KDR|UNENCRYPTED_SRTP|UNENCRYPTED_SRTCP|UNAUTHENTICATED_SRTP|FEC_ORDER|FEC_KEY|WSH)(=|$)/i;

function parseLifetime(s: string, ctx: Ctx): number {
  const pow = LIFETIME_POW2.exec(s);
  const value = pow !== null ? 2 ** Number(pow[1]) : LIFETIME_DEC.test(s) ? Number(s) : NaN;
  if (Number.isNaN(value)) fail('malformed lifetime', ctx);
  if (value > MAX_LIFETIME) fail('lifetime exceeds 2^48', ctx);
  return value;
}

function parseMki(s: string, ctx: Ctx): SdesMki {
  const m = MKI.exec(s);
  if (m === null) fail('malformed MKI (expected value:length)', ctx);
  const length = Number(m[2]);
  if (length > MAX_MKI_LENGTH) fail('MKI length out of range 1..128', ctx);
  const value = BigInt(m[1]!);
  if (value >= 1n << BigInt(8 * length)) fail('MKI value does not fit its length', ctx);
  return { value, length };
}

function parseKeyParams(field: string, suite: CryptoSuite, what: string, ctx: Ctx): SdesKeyParam[] {
  const parts = field.split(';');
  if (parts.length > MAX_KEY_PARAMS) fail(`${what}: too many key-params`, { ...ctx, count: parts.length, max: MAX_KEY_PARAMS });
  const keys: SdesKeyParam[] = [];
  try {
    parts.forEach((part, i) => {
      const kctx = { ...ctx, keyParam: i + 1 };
      const colon = part.indexOf(':');
      if (colon < 0) fail(`${what}: key-param without key method`, kctx);
      // ABNF literals are case-insensitive; `inline` is the only method RFC 4568 defines.
      if (part.slice(0, colon).toLowerCase() !== 'inline') fail(`${what}: unsupported key method`, kctx);
      const info = part.slice(colon + 1).split('|');
      if (info.length > 3) fail(`${what}: too many '|' fields in key-param`, kctx);
      const decoded = decodeBase64(info[0]!);
      if (decoded === null) fail(`${what}: key is not valid base64`, kctx);
      const expected = suite.keyLen + suite.saltLen;
      if (decoded.bytes.length !== expected) {
        decoded.bytes.fill(0);
        fail(`${what}: key||salt length does not match the suite`, { ...kctx, expected, actual: decoded.bytes.length });
      }
      let lifetime: number | undefined;
      let mki: SdesMki | undefined;
      // RFC 4568 §9.1: key-salt ["|" lifetime] ["|" mki]; the MKI is the field with a colon.
      for (const [j, f] of info.slice(1).entries()) {
        if (f.includes(':')) {
          if (j !== info.length - 2) fail(`${what}: MKI must be the last field`, kctx);
          mki = parseMki(f, kctx);
        } else {
          if (lifetime !== undefined || j !== 0) fail(`${what}: misplaced lifetime`, kctx);
          lifetime = parseLifetime(f, kctx);
        }
      }
      keys.push(new SdesKeyParam(decoded.bytes, suite.keyLen, { lifetime, mki, padded: decoded.padded }));
    });
  } catch (e) {
    for (const k of keys) k.wipe(); // nothing half-parsed keeps key material around
    throw e;
  }
  return keys;
}

interface MutableParams {
  kdr?: number;
  unencryptedSrtp: boolean;
  unencryptedSrtcp: boolean;
  unauthenticatedSrtp: boolean;
  fecOrder?: FecOrder;
  fecKeys: SdesKeyParam[];
  wsh?: number;
  extensions: string[];
}

function parseSessionParams(fields: readonly string[], suite: CryptoSuite, ctx: Ctx): MutableParams {
  const p: MutableParams = { unencryptedSrtp: false, unencryptedSrtcp: false, unauthenticatedSrtp: false, fecKeys: [], extensions: [] };
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    const pctx = { ...ctx, sessionParam: i + 1 };
    const m = KNOWN_PARAM.exec(f);
    if (m === null) {
      p.extensions.push(f);
      return;
    }
    const name = m[1]!.toUpperCase();
    const hasValue = m[2] === '=';
    const value = f.slice(m[0].length);
    if (seen.has(name)) fail(`duplicate session parameter ${name}`, pctx);
    seen.add(name);
    const flag = name === 'UNENCRYPTED_SRTP' || name === 'UNENCRYPTED_SRTCP' || name === 'UNAUTHENTICATED_SRTP';
    if (flag === hasValue) fail(`session parameter ${name} ${flag ? 'takes no value' : 'needs a value'}`, pctx);
    switch (name) {
      case 'KDR':
        if (!/^[0-9]{1,2}$/.test(value) || Number(value) > MAX_KDR) fail('KDR out of range 0..24', pctx);
        p.kdr = Number(value);
        break;
      case 'WSH':
        if (!/^[0-9]{2,10}$/.test(value) || Number(value) < MIN_WSH || Number(value) > MAX_WSH) fail('WSH below 64 or too large', pctx);
        p.wsh = Number(value);
        break;
      case 'FEC_ORDER': {
        const v = value.toUpperCase();
        if (v !== 'FEC_SRTP' && v !== 'SRTP_FEC') fail('FEC_ORDER must be FEC_SRTP or SRTP_FEC', pctx);
        p.fecOrder = v;
        break;
      }
      case 'FEC_KEY':
        p.fecKeys = parseKeyParams(value, suite, 'FEC_KEY', pctx);
        break;
      case 'UNENCRYPTED_SRTP': p.unencryptedSrtp = true; break;
      case 'UNENCRYPTED_SRTCP': p.unencryptedSrtcp = true; break;
      case 'UNAUTHENTICATED_SRTP': p.unauthenticatedSrtp = true; break;
    }
  });
  return p;
}

/**
 * Parses the value of an `a=crypto:` attribute (the text after the colon).
 * Returns SdesUnknownSuite for a suite the table does not have; throws RelayError('E_BAD_CRYPTO')
 * for anything malformed. Leading and trailing blanks are tolerated; CR, LF and other control
 * characters are not (they would let a formatted line inject SDP).
 */
export function parseCryptoAttribute(value: string, options: SdesParseOptions = {}): SdesCrypto | SdesUnknownSuite {
  const ctx: Ctx = options.line === undefined ? {} : { line: options.line };
  if (typeof value !== 'string') fail('attribute is not a string', ctx);
  if (value.length > MAX_ATTRIBUTE_LENGTH) fail('attribute too long', { ...ctx, max: MAX_ATTRIBUTE_LENGTH });
  const bad = /[^\x20-\x7e\t]/.exec(value);
  if (bad !== null) fail('invalid character in attribute', { ...ctx, offset: bad.index });
  const fields = value.trim().split(/[ \t]+/);
  const [tagText = '', suiteName = '', keyField] = fields;

  if (!TAG.test(tagText)) fail('malformed tag (1-9 digits, no leading zero)', { ...ctx, field: 'tag' });
  const tag = Number(tagText);
  const tctx = { ...ctx, tag };
  if (!SUITE_NAME.test(suiteName)) fail('malformed crypto suite name', { ...tctx, field: 'suite' });
  // ABNF literals are case-insensitive: accept `aes_cm_128_hmac_sha1_80` as the table's name.
  const suite = suiteByName(suiteName) ?? suiteByName(suiteName.toUpperCase());
  if (suite === undefined) return Object.freeze({ kind: 'unknown-suite', tag, suiteName });
  const sctx = { ...tctx, suite: suite.name };
  if (keyField === undefined || keyField === '') fail('missing key-params', { ...sctx, field: 'key-params' });

  const keys = parseKeyParams(keyField, suite, 'key-params', sctx);
  let params: MutableParams | undefined;
  try {
    params = parseSessionParams(fields.slice(3), suite, sctx);
    validate(tag, suite, keys, { ...EMPTY_SESSION_PARAMS, ...params }, sctx);
  } catch (e) {
    for (const k of keys) k.wipe();
    for (const k of params?.fecKeys ?? []) k.wipe();
    throw e;
  }
  return new SdesCrypto({ tag, suite, keys, params });
}

// ---------------------------------------------------------------- formatting

function formatLifetime(n: number): string {
  const log = Math.log2(n);
  return Number.isInteger(log) ? `2^${log}` : String(n);
}

function formatKeyParams(keys: readonly SdesKeyParam[], padding: SdesFormatOptions['padding']): string {
  return keys
    .map((k) => {
      const padded = padding === 'input' ? k.padded : padding !== 'unpadded';
      let s = `inline:${encodeBase64(k.material, padded)}`;
      if (k.lifetime !== undefined) s += `|${formatLifetime(k.lifetime)}`;
      if (k.mki !== undefined) s += `|${k.mki.value}:${k.mki.length}`;
      return s;
    })
    .join(';');
}

/**
 * Formats the value of an `a=crypto:` attribute (without the `a=crypto:` prefix).
 * Lifetimes that are powers of two print as `2^n`. Throws RelayError('E_BAD_CRYPTO') if the
 * key material was wiped: printing zero keys would announce a known key to the peer.
 */
export function formatCryptoAttribute(c: SdesCrypto, options: SdesFormatOptions = {}): string {
  if (c.wiped) fail('key material was wiped', { tag: c.tag });
  const padding = options.padding ?? 'padded';
  const out = [String(c.tag), c.suite.name, formatKeyParams(c.keys, padding)];
  const p = c.params;
  if (p.kdr !== undefined) out.push(`KDR=${p.kdr}`);
  if (p.unencryptedSrtp) out.push('UNENCRYPTED_SRTP');
  if (p.unencryptedSrtcp) out.push('UNENCRYPTED_SRTCP');
  if (p.unauthenticatedSrtp) out.push('UNAUTHENTICATED_SRTP');
  if (p.fecOrder !== undefined) out.push(`FEC_ORDER=${p.fecOrder}`);
  if (p.fecKeys.length > 0) out.push(`FEC_KEY=${formatKeyParams(p.fecKeys, padding)}`);
  if (p.wsh !== undefined) out.push(`WSH=${p.wsh}`);
  out.push(...p.extensions);
  return out.join(' ');
}

// ---------------------------------------------------------------- generation and hygiene

/** Fills its argument with cryptographically strong random bytes. */
export type RandomSource = (buffer: Uint8Array) => unknown;

const defaultRng: RandomSource = (b) => crypto.getRandomValues(b);

/**
 * A fresh crypto attribute with one key-param (no lifetime, no MKI, no session parameters)
 * whose key||salt comes from `rng` (default: Web Crypto getRandomValues, a CSPRNG).
 */
export function generateSdesCrypto(tag: number, suite: CryptoSuite, rng: RandomSource = defaultRng): SdesCrypto {
  const material = new Uint8Array(suite.keyLen + suite.saltLen);
  rng(material);
  // An all-zero draw of >= 30 bytes means a broken or stubbed generator, not bad luck.
  if (material.every((b) => b === 0)) fail('random source returned all zeros', { tag });
  return new SdesCrypto({ tag, suite, keys: [new SdesKeyParam(material, suite.keyLen)] });
}

/** Zeroes every key buffer (main and FEC keys). Unknown-suite results hold no keys. Idempotent. */
export function wipe(c: SdesCrypto | SdesUnknownSuite): void {
  if (c.kind !== 'crypto') return;
  for (const k of c.keys) k.wipe();
  for (const k of c.params.fecKeys) k.wipe();
}
