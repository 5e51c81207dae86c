// `a=fingerprint` (RFC 8122 §5): compute, parse, format, and match a peer certificate
// against the fingerprints signalled in SDP.
//
// - Hash names are case-insensitive on input (baresip writes `SHA-256`) and lower case on
//   output. sha-256/384/512 are accepted; sha-1 only with `insecureAllowSha1` (it is what
//   some old phones send, and a relay answering sha-1 to a sha-256 peer is a field bug we do
//   not repeat); md5/md2 and unknown names are refused.
// - Matching follows RFC 8122 §5: among the signalled fingerprints, take those with the
//   strongest hash we accept, and the certificate must equal one of them. A weaker
//   fingerprint that happens to match cannot rescue a mismatch on the strongest one.
// - Digests are compared with timingSafeEqual after equal-length checks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { DtlsError } from './DtlsError.ts';

export type FingerprintAlgorithm = 'sha-1' | 'sha-256' | 'sha-384' | 'sha-512';

export interface Fingerprint {
  readonly algorithm: FingerprintAlgorithm;
  readonly value: Uint8Array;
}

export interface FingerprintOptions {
  /** Accept sha-1 fingerprints. Default false. */
  insecureAllowSha1?: boolean;
}

interface HashInfo { readonly node: string; readonly len: number; readonly strength: number }

const HASHES: Readonly<Record<FingerprintAlgorithm, HashInfo>> = {
  'sha-1': { node: 'sha1', len: 20, strength: 1 },
  'sha-256': { node: 'sha256', len: 32, strength: 2 },
  'sha-384': { node: 'sha384', len: 48, strength: 3 },
  'sha-512': { node: 'sha512', len: 64, strength: 4 },
};

function isAlgorithm(s: string): s is FingerprintAlgorithm {
  return Object.hasOwn(HASHES, s);
}

function formatError(reason: string, context?: Readonly<Record<string, string | number>>): DtlsError {
  return new DtlsError('E_DTLS_FINGERPRINT_FORMAT', `bad fingerprint: ${reason}`, context);
}

export function computeFingerprint(der: Uint8Array, algorithm: FingerprintAlgorithm = 'sha-256'): Fingerprint {
  return { algorithm, value: createHash(HASHES[algorithm].node).update(der).digest() };
}

export function formatFingerprint(fp: Fingerprint): string {
  const hex = Buffer.from(fp.value).toString('hex').toUpperCase();
  return `${fp.algorithm} ${hex.replace(/(..)(?!$)/g, '$1:')}`;
}

const MAX_ATTRIBUTE = 512;
const HEX_PAIRS = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*$/;

/**
 * Parses `sha-256 AB:CD:…` (an optional leading `a=fingerprint:` is allowed). Throws
 * E_DTLS_FINGERPRINT_FORMAT for syntax errors, unknown hashes and, without the insecure
 * option, sha-1.
 */
export function parseFingerprint(text: string, options: FingerprintOptions = {}): Fingerprint {
  if (text.length > MAX_ATTRIBUTE) throw formatError('too long', { length: text.length });
  const value = text.trim().replace(/^a=fingerprint:/i, '');
  const m = /^(\S+)[ \t]+(\S+)$/.exec(value);
  if (m === null) throw formatError('expected "<hash> <hex pairs>"');
  const algorithm = (m[1] as string).toLowerCase();
  const hex = m[2] as string;
  if (!isAlgorithm(algorithm)) throw formatError('unsupported hash function', { hash: algorithm.slice(0, 16) });
  if (algorithm === 'sha-1' && options.insecureAllowSha1 !== true) throw formatError('sha-1 refused (insecureAllowSha1 is off)', { hash: algorithm });
  if (!HEX_PAIRS.test(hex)) throw formatError('value is not colon-separated hex pairs', { hash: algorithm });
  const bytes = Buffer.from(hex.replace(/:/g, ''), 'hex');
  if (bytes.length !== HASHES[algorithm].len) throw formatError('wrong length for the hash', { hash: algorithm, length: bytes.length });
  return { algorithm, value: bytes };
}

export type FingerprintMatch =
  | { readonly ok: true; readonly algorithm: FingerprintAlgorithm }
  | { readonly ok: false; readonly error: DtlsError };

/**
 * Checks a peer certificate against the expected fingerprints (RFC 8122 §5). Pure; returns a
 * decision rather than throwing, so the caller decides when to commit it.
 */
export function matchFingerprint(der: Uint8Array, expected: readonly Fingerprint[], options: FingerprintOptions = {}): FingerprintMatch {
  const usable = expected.filter((f) => f.algorithm !== 'sha-1' || options.insecureAllowSha1 === true);
  if (usable.length === 0) {
    return { ok: false, error: new DtlsError('E_DTLS_FINGERPRINT', 'no usable expected fingerprint to check the peer certificate against', { signalled: expected.length }) };
  }
  const strongest = usable.reduce<FingerprintAlgorithm>(
    (best, f) => (HASHES[f.algorithm].strength > HASHES[best].strength ? f.algorithm : best), 'sha-1');
  const actual = computeFingerprint(der, strongest).value;
  let match = false;
  for (const f of usable) {
    if (f.algorithm !== strongest || f.value.length !== actual.length) continue;
    // No early exit: every candidate is compared.
    match = timingSafeEqual(f.value, actual) || match;
  }
  if (match) return { ok: true, algorithm: strongest };
  return { ok: false, error: new DtlsError('E_DTLS_FINGERPRINT', 'peer certificate does not match the expected fingerprint', { hash: strongest }) };
}
