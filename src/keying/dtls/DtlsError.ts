// Typed DTLS errors. Callers tell failures apart by `code`, never by message text; `alert`
// says which TLS alert went to the peer (or came from it, for E_DTLS_ALERT). Messages carry
// [key:value] context and never contain key material.
import { formatContext } from '../../errors.ts';

export type DtlsErrorCode =
  /** The peer's certificate matches none of the expected a=fingerprint values (or none is usable). */
  | 'E_DTLS_FINGERPRINT'
  /** An a=fingerprint value is malformed, uses an unknown hash, or a refused one (sha-1). */
  | 'E_DTLS_FINGERPRINT_FORMAT'
  /** ServerKeyExchange or CertificateVerify signature does not verify with the certificate's key. */
  | 'E_DTLS_BAD_SIGNATURE'
  /** The peer's Finished verify_data is wrong: the transcripts differ (tampering) or keys differ. */
  | 'E_DTLS_BAD_FINISHED'
  /** No SRTP protection profile common to both sides and our policy, or the peer chose one we did not offer. */
  | 'E_DTLS_NO_SRTP_PROFILE'
  /** The peer did not negotiate extended_master_secret (RFC 7627), which we require. */
  | 'E_DTLS_NO_EMS'
  /** No common cipher suite, group or signature algorithm. */
  | 'E_DTLS_HANDSHAKE_FAILURE'
  /** The peer's certificate is missing, unparsable, or its key is unusable for the negotiated algorithm. */
  | 'E_DTLS_BAD_CERTIFICATE'
  /** A handshake message does not parse. */
  | 'E_DTLS_DECODE'
  /** A handshake message arrived that the state machine does not allow here. */
  | 'E_DTLS_UNEXPECTED_MESSAGE'
  /** A field has a value the protocol forbids (bad key share, non-empty renegotiation_info, ...). */
  | 'E_DTLS_ILLEGAL_PARAMETER'
  /** The peer does not speak DTLS 1.2. */
  | 'E_DTLS_PROTOCOL_VERSION'
  /** The handshake did not finish before the deadline. */
  | 'E_DTLS_TIMEOUT'
  /** The peer sent a fatal alert. */
  | 'E_DTLS_ALERT'
  /** A call on an endpoint in the wrong state (start twice, ...). */
  | 'E_DTLS_INVALID_STATE'
  /** A local certificate or key cannot be used (bad PEM, key does not match, unsupported key type). */
  | 'E_DTLS_LOCAL_CERTIFICATE'
  | 'E_DTLS_INTERNAL';

/** TLS alert descriptions (RFC 5246 §7.2) that this implementation sends or names. */
export const Alert = Object.freeze({
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateUnknown: 46,
  illegalParameter: 47,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  userCanceled: 90,
  noRenegotiation: 100,
  unsupportedExtension: 110,
} as const);

const ALERT_NAMES = new Map<number, string>(Object.entries(Alert).map(([k, v]) => [v, k]));

export function alertName(description: number): string {
  return ALERT_NAMES.get(description) ?? `alert_${description}`;
}

/** The alert each code sends when it aborts a handshake; null: nothing is sent. */
const DEFAULT_ALERT: Readonly<Record<DtlsErrorCode, number | null>> = {
  E_DTLS_FINGERPRINT: Alert.badCertificate,
  E_DTLS_FINGERPRINT_FORMAT: null,
  E_DTLS_BAD_SIGNATURE: Alert.decryptError,
  E_DTLS_BAD_FINISHED: Alert.decryptError,
  E_DTLS_NO_SRTP_PROFILE: Alert.handshakeFailure,
  E_DTLS_NO_EMS: Alert.handshakeFailure,
  E_DTLS_HANDSHAKE_FAILURE: Alert.handshakeFailure,
  E_DTLS_BAD_CERTIFICATE: Alert.badCertificate,
  E_DTLS_DECODE: Alert.decodeError,
  E_DTLS_UNEXPECTED_MESSAGE: Alert.unexpectedMessage,
  E_DTLS_ILLEGAL_PARAMETER: Alert.illegalParameter,
  E_DTLS_PROTOCOL_VERSION: Alert.protocolVersion,
  E_DTLS_TIMEOUT: null,
  E_DTLS_ALERT: null,
  E_DTLS_INVALID_STATE: null,
  E_DTLS_LOCAL_CERTIFICATE: null,
  E_DTLS_INTERNAL: Alert.internalError,
};

export type DtlsErrorContext = Readonly<Record<string, string | number | boolean>>;

export class DtlsError extends Error {
  readonly code: DtlsErrorCode;
  /**
   * The alert description sent to the peer when this error aborts a handshake, or, for
   * E_DTLS_ALERT, the one the peer sent. Null when no alert is involved.
   */
  readonly alert: number | null;

  constructor(code: DtlsErrorCode, message: string, context?: DtlsErrorContext, alert?: number | null) {
    super(context ? `${message} ${formatContext(context)}` : message);
    this.name = 'DtlsError';
    this.code = code;
    this.alert = alert === undefined ? DEFAULT_ALERT[code] : alert;
  }
}

/** Shorthand for the many "this message does not parse" sites. */
export function decodeError(what: string, context?: DtlsErrorContext): DtlsError {
  return new DtlsError('E_DTLS_DECODE', `malformed ${what}`, context);
}
