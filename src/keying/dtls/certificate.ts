// Local DTLS certificates: a self-signed ECDSA P-256 certificate generated here (a minimal
// DER/X.509 encoder; node:crypto signs), or a PEM certificate and key loaded from the operator.
//
// DTLS-SRTP identifies peers by the certificate fingerprint carried in SDP (RFC 5763), not by
// a CA chain, so the certificate only needs to be a well-formed X.509 v3 carrying our public
// key: subject = issuer = CN, a random positive serial, a validity window, no extensions.
// The private key never leaves the object except through exportPrivateKeyPem(), and toJSON /
// inspect show only the key kind and fingerprint.
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { Alert, DtlsError } from './DtlsError.ts';
import { computeFingerprint, formatFingerprint, type FingerprintAlgorithm } from './fingerprint.ts';
import { keyKindOf, signWith, type KeyKind } from './signature.ts';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

// ------------------------------------------------------------------ DER

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag), derLength(body.length), body]);
}

const seq = (...c: Uint8Array[]): Uint8Array => tlv(0x30, ...c);
const set = (...c: Uint8Array[]): Uint8Array => tlv(0x31, ...c);
const explicit = (n: number, c: Uint8Array): Uint8Array => tlv(0xa0 | n, c);

/** INTEGER from unsigned big-endian bytes: minimal, with a 0x00 pad when the top bit is set. */
function derUnsignedInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, ((v[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Uint8Array.of(0), v]) : v);
}

function derOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [40 * a + b];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function derTime(d: Date): Uint8Array {
  const p = (n: number): string => String(n).padStart(2, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const enc = new TextEncoder();
  return y < 2050 ? tlv(0x17, enc.encode(`${p(y % 100)}${rest}`)) : tlv(0x18, enc.encode(`${y}${rest}`));
}

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';

function name(commonName: string): Uint8Array {
  return seq(set(seq(derOid(OID_COMMON_NAME), tlv(0x0c, new TextEncoder().encode(commonName)))));
}

// ------------------------------------------------------------------ certificate

export interface GenerateCertificateOptions {
  /** Subject and issuer common name. Default 'srtpgate'. */
  commonName?: string;
  /** Validity in days from `notBefore`. Default 30 (peers do not check it; RFC 5763). */
  validityDays?: number;
  /** Start of validity. Default: now minus one day, to tolerate clock skew. */
  notBefore?: Date;
}

export class DtlsCertificate {
  /** The certificate, DER. */
  readonly der: Uint8Array;
  readonly keyKind: KeyKind;
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;

  private constructor(der: Uint8Array, publicKey: KeyObject, privateKey: KeyObject, keyKind: KeyKind) {
    this.der = der;
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
    this.keyKind = keyKind;
  }

  /** A fresh ECDSA P-256 key and a self-signed certificate for it. */
  static generate(options: GenerateCertificateOptions = {}): DtlsCertificate {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const notBefore = options.notBefore ?? new Date(Date.now() - 86_400_000);
    const notAfter = new Date(notBefore.getTime() + (options.validityDays ?? 30) * 86_400_000);
    const serial = randomBytes(16);
    serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // positive and 16 bytes long
    const sigAlg = seq(derOid(OID_ECDSA_WITH_SHA256)); // RFC 5758 §3.2: parameters absent
    const subject = name(options.commonName ?? 'srtpgate');
    const tbs = seq(
      explicit(0, derUnsignedInteger(Uint8Array.of(2))), // version v3
      derUnsignedInteger(serial),
      sigAlg,
      subject,
      seq(derTime(notBefore), derTime(notAfter)),
      subject,
      publicKey.export({ type: 'spki', format: 'der' }),
    );
    const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    const der = seq(tbs, sigAlg, tlv(0x03, Uint8Array.of(0), signature));
    return new DtlsCertificate(Uint8Array.from(der), publicKey, privateKey, 'ecdsa-p256');
  }

  /**
   * Loads an operator's certificate and private key (PEM). The key must match the
   * certificate and be ECDSA P-256 or RSA ≥ 2048 bits. Throws E_DTLS_LOCAL_CERTIFICATE.
   */
  static fromPem(certificatePem: string, privateKeyPem: string): DtlsCertificate {
    let x509: X509Certificate;
    let privateKey: KeyObject;
    try {
      x509 = new X509Certificate(certificatePem);
    } catch {
      throw new DtlsError('E_DTLS_LOCAL_CERTIFICATE', 'certificate PEM does not parse');
    }
    try {
      privateKey = createPrivateKey(privateKeyPem);
    } catch {
      // The message never quotes the PEM: it is a private key.
      throw new DtlsError('E_DTLS_LOCAL_CERTIFICATE', 'private key PEM does not parse');
    }
    const kind = keyKindOf(x509.publicKey);
    if (kind === null) {
      throw new DtlsError('E_DTLS_LOCAL_CERTIFICATE', 'certificate key is neither ECDSA P-256 nor RSA >= 2048 bits', { keyType: x509.publicKey.asymmetricKeyType ?? 'unknown' });
    }
    if (!x509.checkPrivateKey(privateKey)) throw new DtlsError('E_DTLS_LOCAL_CERTIFICATE', 'private key does not match the certificate');
    return new DtlsCertificate(Uint8Array.from(x509.raw), x509.publicKey, privateKey, kind);
  }

  /** Signs `data` with scheme `scheme` (the caller picked one that fits keyKind). */
  sign(scheme: number, data: Uint8Array): Buffer {
    return signWith(scheme, this.#privateKey, data);
  }

  /** `a=fingerprint` value for this certificate, e.g. 'sha-256 AB:CD:…'. */
  fingerprint(algorithm: FingerprintAlgorithm = 'sha-256'): string {
    return formatFingerprint(computeFingerprint(this.der, algorithm));
  }

  toPem(): string {
    const b64 = Buffer.from(this.der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
    return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  }

  /** The private key as PKCS#8 PEM: a secret, for handing to a trusted peer process or a key file. */
  exportPrivateKeyPem(): string {
    return this.#privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  toJSON(): Record<string, unknown> {
    return { keyKind: this.keyKind, fingerprint: this.fingerprint('sha-256') };
  }

  [INSPECT](): string {
    return `DtlsCertificate ${inspect(this.toJSON())}`;
  }
}

/** Parses a peer's DER certificate; E_DTLS_BAD_CERTIFICATE when it does not parse or its key is unusable. */
export function parsePeerCertificate(der: Uint8Array): { x509: X509Certificate; kind: KeyKind } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new DtlsError('E_DTLS_BAD_CERTIFICATE', 'peer certificate does not parse', { length: der.length });
  }
  const kind = keyKindOf(x509.publicKey);
  if (kind === null) {
    const k = x509.publicKey;
    throw new DtlsError('E_DTLS_BAD_CERTIFICATE', 'peer certificate key is unusable (need ECDSA P-256 or RSA >= 2048)', {
      keyType: k.asymmetricKeyType ?? 'unknown', curve: k.asymmetricKeyDetails?.namedCurve ?? '-', bits: k.asymmetricKeyDetails?.modulusLength ?? 0,
    }, Alert.unsupportedCertificate);
  }
  return { x509, kind };
}
