// Codecs for the DTLS 1.2 handshake messages and hello extensions this implementation uses
// (RFC 5246 §7.4, RFC 6347 §4.2.1, RFC 8422, RFC 7627, RFC 5746, RFC 5764 §4.1.1).
//
// Decoders read whole structures and reject trailing bytes, duplicate extensions and lengths
// outside the RFC ranges (E_DTLS_DECODE). They only check syntax: which values are acceptable
// is the state machine's business, so it can pick the right alert.
import { DtlsError, decodeError } from './DtlsError.ts';
import { Reader, Writer, readU16List } from './wire.ts';

export const CipherSuite = Object.freeze({
  /** TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
  ecdheEcdsaAes128Gcm: 0xc02b,
  /** TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
  ecdheRsaAes128Gcm: 0xc02f,
} as const);

/** RFC 5746 §3.3: signals secure renegotiation support in place of the empty extension. */
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

export const ExtensionType = Object.freeze({
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  useSrtp: 14,
  extendedMasterSecret: 23,
  renegotiationInfo: 0xff01,
} as const);

export const NamedGroup = Object.freeze({ x25519: 0x001d, secp256r1: 0x0017 } as const);

/** RFC 8422 §5.4: ECParameters.curve_type named_curve. */
const CURVE_TYPE_NAMED = 3;
/** RFC 8422 §5.1.2: ECPointFormat uncompressed. */
export const POINT_FORMAT_UNCOMPRESSED = 0;
/** RFC 5246 §7.4.4 ClientCertificateType. */
export const CertificateType = Object.freeze({ rsaSign: 1, ecdsaSign: 64 } as const);

export const RANDOM_LEN = 32;
export const VERIFY_DATA_LEN = 12;

export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface ClientHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cookie: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Uint8Array;
  readonly extensions: readonly Extension[];
}

export interface ServerHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[];
}

export interface HelloVerifyRequest {
  readonly version: number;
  readonly cookie: Uint8Array;
}

export interface ServerKeyExchange {
  readonly group: number;
  readonly publicKey: Uint8Array;
  /** The encoded ServerECDHParams: what the signature covers after the two randoms. */
  readonly params: Uint8Array;
  readonly scheme: number;
  readonly signature: Uint8Array;
}

export interface CertificateRequest {
  readonly certificateTypes: readonly number[];
  readonly schemes: readonly number[];
}

export interface DigitallySigned {
  readonly scheme: number;
  readonly signature: Uint8Array;
}

// ------------------------------------------------------------------ extensions

function writeExtensions(w: Writer, exts: readonly Extension[]): void {
  if (exts.length === 0) return;
  const e = new Writer();
  for (const x of exts) e.u16(x.type).vec16(x.data);
  w.vec16(e.finish());
}

/** The optional extensions block that ends a hello; absent means none. */
function readExtensions(r: Reader, what: string): Extension[] {
  if (r.remaining === 0) return [];
  const block = new Reader(r.vec16(), what);
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (block.remaining > 0) {
    const type = block.u16();
    const data = block.vec16();
    // RFC 5246 §7.4.1.4: no more than one extension of a type.
    if (seen.has(type)) throw decodeError(what, { duplicateExtension: type });
    seen.add(type);
    out.push({ type, data });
  }
  r.end();
  return out;
}

export function findExtension(exts: readonly Extension[], type: number): Uint8Array | undefined {
  return exts.find((e) => e.type === type)?.data;
}

export function u16ListExtension(type: number, values: readonly number[]): Extension {
  return { type, data: new Writer().u16List(values).finish() };
}

/** supported_groups and signature_algorithms share the shape: a non-empty uint16 list. */
export function decodeU16ListExtension(data: Uint8Array, what: string): number[] {
  const r = new Reader(data, what);
  const list = readU16List(r.vec16(2), what);
  r.end();
  return list;
}

export function pointFormatsExtension(): Extension {
  return { type: ExtensionType.ecPointFormats, data: new Writer().vec8(Uint8Array.of(POINT_FORMAT_UNCOMPRESSED)).finish() };
}

export function decodePointFormats(data: Uint8Array): Uint8Array {
  const r = new Reader(data, 'ec_point_formats');
  const list = r.vec8(1);
  r.end();
  return list;
}

/** renegotiation_info carrying an empty renegotiated_connection (initial handshake). */
export function emptyRenegotiationInfo(): Extension {
  return { type: ExtensionType.renegotiationInfo, data: Uint8Array.of(0) };
}

/** True when the renegotiation_info body is the empty vector an initial handshake requires. */
export function isEmptyRenegotiationInfo(data: Uint8Array): boolean {
  return data.length === 1 && data[0] === 0;
}

export interface UseSrtp {
  readonly profiles: readonly number[];
  readonly mki: Uint8Array;
}

/** RFC 5764 §4.1.1 UseSRTPData: profiles<2..2^16-1>, srtp_mki<0..255>. */
export function useSrtpExtension(profiles: readonly number[]): Extension {
  return { type: ExtensionType.useSrtp, data: new Writer().u16List(profiles).vec8(new Uint8Array(0)).finish() };
}

export function decodeUseSrtp(data: Uint8Array): UseSrtp {
  const r = new Reader(data, 'use_srtp');
  const profiles = readU16List(r.vec16(2), 'use_srtp');
  const mki = r.vec8();
  r.end();
  return { profiles, mki };
}

// ------------------------------------------------------------------ hellos

export function encodeClientHello(ch: ClientHello): Uint8Array {
  const w = new Writer().u16(ch.version).bytes(ch.random).vec8(ch.sessionId).vec8(ch.cookie)
    .u16List(ch.cipherSuites).vec8(ch.compressionMethods);
  writeExtensions(w, ch.extensions);
  return w.finish();
}

export function decodeClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body, 'ClientHello');
  const version = r.u16();
  const random = r.bytes(RANDOM_LEN);
  const sessionId = r.vec8();
  if (sessionId.length > 32) throw decodeError('ClientHello', { sessionIdLength: sessionId.length });
  const cookie = r.vec8();
  const cipherSuites = readU16List(r.vec16(2), 'ClientHello');
  const compressionMethods = r.vec8(1);
  const extensions = readExtensions(r, 'ClientHello');
  return { version, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

/**
 * What the HelloVerifyRequest cookie binds (RFC 6347 §4.2.1 "Client-Parameters"): version,
 * random, session_id, cipher_suites and compression methods. Extensions are left out on
 * purpose: they are not required to be byte-identical in the second ClientHello.
 */
export function clientHelloCookieInput(ch: ClientHello): Uint8Array {
  return new Writer().u16(ch.version).bytes(ch.random).vec8(ch.sessionId).u16List(ch.cipherSuites).vec8(ch.compressionMethods).finish();
}

export function encodeServerHello(sh: ServerHello): Uint8Array {
  const w = new Writer().u16(sh.version).bytes(sh.random).vec8(sh.sessionId).u16(sh.cipherSuite).u8(sh.compressionMethod);
  writeExtensions(w, sh.extensions);
  return w.finish();
}

export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body, 'ServerHello');
  const version = r.u16();
  const random = r.bytes(RANDOM_LEN);
  const sessionId = r.vec8();
  if (sessionId.length > 32) throw decodeError('ServerHello', { sessionIdLength: sessionId.length });
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = readExtensions(r, 'ServerHello');
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function encodeHelloVerifyRequest(hvr: HelloVerifyRequest): Uint8Array {
  return new Writer().u16(hvr.version).vec8(hvr.cookie).finish();
}

export function decodeHelloVerifyRequest(body: Uint8Array): HelloVerifyRequest {
  const r = new Reader(body, 'HelloVerifyRequest');
  const version = r.u16();
  const cookie = r.vec8();
  r.end();
  return { version, cookie };
}

// ------------------------------------------------------------------ certificates and keys

/** Certificate: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>, leaf first. */
export function encodeCertificate(chain: readonly Uint8Array[]): Uint8Array {
  const list = new Writer();
  for (const c of chain) list.vec24(c);
  return new Writer().vec24(list.finish()).finish();
}

export function decodeCertificate(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body, 'Certificate');
  const list = new Reader(r.vec24(), 'Certificate');
  r.end();
  const out: Uint8Array[] = [];
  while (list.remaining > 0) out.push(list.vec24(1));
  return out;
}

export function encodeServerEcdhParams(group: number, publicKey: Uint8Array): Uint8Array {
  return new Writer().u8(CURVE_TYPE_NAMED).u16(group).vec8(publicKey).finish();
}

export function encodeServerKeyExchange(params: Uint8Array, signed: DigitallySigned): Uint8Array {
  return new Writer().bytes(params).u16(signed.scheme).vec16(signed.signature).finish();
}

export function decodeServerKeyExchange(body: Uint8Array): ServerKeyExchange {
  const r = new Reader(body, 'ServerKeyExchange');
  const curveType = r.u8();
  // Explicit curves were deprecated by RFC 8422; only named groups can be negotiated.
  if (curveType !== CURVE_TYPE_NAMED) {
    throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'ServerKeyExchange with a non-named curve', { curveType });
  }
  const group = r.u16();
  const publicKey = r.vec8(1);
  const params = body.subarray(0, r.position);
  const scheme = r.u16();
  const signature = r.vec16(1);
  r.end();
  return { group, publicKey, params, scheme, signature };
}

export function encodeCertificateRequest(cr: CertificateRequest): Uint8Array {
  // certificate_authorities is empty: WebRTC/SIP peers use self-signed certificates.
  return new Writer().vec8(Uint8Array.from(cr.certificateTypes)).u16List(cr.schemes).vec16(new Uint8Array(0)).finish();
}

export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body, 'CertificateRequest');
  const certificateTypes = Array.from(r.vec8(1));
  const schemes = readU16List(r.vec16(2), 'CertificateRequest');
  r.vec16(); // certificate_authorities: ignored, we have one certificate to offer anyway
  r.end();
  return { certificateTypes, schemes };
}

/** ClientKeyExchange for ECDHE: the client's public point/key, opaque <1..2^8-1>. */
export function encodeClientKeyExchange(publicKey: Uint8Array): Uint8Array {
  return new Writer().vec8(publicKey).finish();
}

export function decodeClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body, 'ClientKeyExchange');
  const pub = r.vec8(1);
  r.end();
  return pub;
}

export function encodeDigitallySigned(s: DigitallySigned): Uint8Array {
  return new Writer().u16(s.scheme).vec16(s.signature).finish();
}

export function decodeDigitallySigned(body: Uint8Array, what: string): DigitallySigned {
  const r = new Reader(body, what);
  const scheme = r.u16();
  const signature = r.vec16(1);
  r.end();
  return { scheme, signature };
}

export function decodeEmpty(body: Uint8Array, what: string): void {
  if (body.length !== 0) throw decodeError(what, { length: body.length });
}

export function decodeFinished(body: Uint8Array): Uint8Array {
  if (body.length !== VERIFY_DATA_LEN) throw decodeError('Finished', { length: body.length });
  return body;
}
