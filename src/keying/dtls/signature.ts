// Signature schemes (RFC 8446 §4.2.3 code points, as TLS 1.2 uses them via RFC 5246
// SignatureAndHashAlgorithm) and the check that a key can be used with a scheme.
//
// Only three schemes are offered or accepted, all with SHA-256. A peer key has to be usable
// for the scheme it signs with: ECDSA needs a P-256 key, the RSA schemes an rsaEncryption key
// of at least 2048 bits. Anything else is refused before a signature is even looked at.
import { constants, sign, verify, type KeyObject } from 'node:crypto';

export const SignatureScheme = Object.freeze({
  ecdsaSecp256r1Sha256: 0x0403,
  rsaPssRsaeSha256: 0x0804,
  rsaPkcs1Sha256: 0x0401,
} as const);

/** Our preference order, also what we advertise in signature_algorithms and CertificateRequest. */
export const SUPPORTED_SCHEMES: readonly number[] = Object.freeze([
  SignatureScheme.ecdsaSecp256r1Sha256,
  SignatureScheme.rsaPssRsaeSha256,
  SignatureScheme.rsaPkcs1Sha256,
]);

export type KeyKind = 'ecdsa-p256' | 'rsa';

export const MIN_RSA_BITS = 2048;

/** What a key can sign with; null when we cannot use it at all. */
export function keyKindOf(key: KeyObject): KeyKind | null {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return details?.namedCurve === 'prime256v1' ? 'ecdsa-p256' : null;
  if (key.asymmetricKeyType === 'rsa') return (details?.modulusLength ?? 0) >= MIN_RSA_BITS ? 'rsa' : null;
  return null;
}

export function schemeFitsKey(scheme: number, kind: KeyKind): boolean {
  if (kind === 'ecdsa-p256') return scheme === SignatureScheme.ecdsaSecp256r1Sha256;
  return scheme === SignatureScheme.rsaPssRsaeSha256 || scheme === SignatureScheme.rsaPkcs1Sha256;
}

/** The first of our schemes that the peer accepts and our key can make. */
export function pickScheme(kind: KeyKind, peerSchemes: readonly number[]): number | undefined {
  return SUPPORTED_SCHEMES.find((s) => schemeFitsKey(s, kind) && peerSchemes.includes(s));
}

// RFC 8446 §4.2.3: RSASSA-PSS salt length equals the digest length.
const PSS_SALT_LEN = 32;

function keyOptions(scheme: number): { padding?: number; saltLength?: number; dsaEncoding?: 'der' } {
  switch (scheme) {
    case SignatureScheme.ecdsaSecp256r1Sha256: return { dsaEncoding: 'der' };
    case SignatureScheme.rsaPssRsaeSha256: return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LEN };
    case SignatureScheme.rsaPkcs1Sha256: return { padding: constants.RSA_PKCS1_PADDING };
    default: throw new RangeError(`unsupported signature scheme ${scheme}`);
  }
}

export function signWith(scheme: number, privateKey: KeyObject, data: Uint8Array): Buffer {
  return sign('sha256', data, { key: privateKey, ...keyOptions(scheme) });
}

/**
 * True only when `signature` verifies. Malformed signatures (bad DER, wrong length) count as
 * not verifying rather than throwing, so every failure takes the same path.
 */
export function verifyWith(scheme: number, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (!SUPPORTED_SCHEMES.includes(scheme)) return false;
  try {
    return verify('sha256', data, { key: publicKey, ...keyOptions(scheme) }, signature);
  } catch {
    return false;
  }
}
