// Public surface of the DTLS-SRTP keying module. The relay needs only these; the codecs,
// record layer and role handshakes stay internal.
export { DtlsEndpoint } from './DtlsEndpoint.ts';
export type { DtlsEndpointEvents, DtlsEndpointOptions, DtlsState, DtlsStats } from './DtlsEndpoint.ts';
export { DtlsCertificate } from './certificate.ts';
export type { GenerateCertificateOptions } from './certificate.ts';
export { CookieSecret } from './cookie.ts';
export type { CookieSecretOptions } from './cookie.ts';
export { Alert, DtlsError, alertName } from './DtlsError.ts';
export type { DtlsErrorCode } from './DtlsError.ts';
export { DtlsSrtpKeys, SRTP_EXPORTER_LABEL, exportKeyingMaterial, srtpKeyingMaterialLength } from './exportKeys.ts';
export type { DtlsRole } from './exportKeys.ts';
export { computeFingerprint, formatFingerprint, matchFingerprint, parseFingerprint } from './fingerprint.ts';
export type { Fingerprint, FingerprintAlgorithm, FingerprintMatch, FingerprintOptions } from './fingerprint.ts';
export { acceptableSuites, checkSelectedProfile, negotiateSrtpProfile, offeredProfiles } from './srtpProfile.ts';
export type { SrtpProfileDecision, SrtpProfilePolicy } from './srtpProfile.ts';

/** RFC 7983 §7: a datagram whose first byte is 20..63 is DTLS. */
export function isDtlsDatagram(datagram: Uint8Array): boolean {
  const b = datagram[0];
  return b !== undefined && b >= 20 && b <= 63;
}
