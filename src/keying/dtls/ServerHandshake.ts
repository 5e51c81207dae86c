// The DTLS 1.2 server (a=setup:passive) handshake. The stateless cookie exchange happens in
// `helloVerify` before this object is involved; from the verified ClientHello on:
//   ← ClientHello (with cookie)
//   → ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone
//   ← Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished
//   → CCS, Finished
// A client certificate is always required (DTLS-SRTP authenticates both ends by fingerprint),
// its CertificateVerify is checked with the certificate's key, and the client must offer
// extended_master_secret and a use_srtp profile our policy accepts.
import { randomBytes } from 'node:crypto';
import type { CookieSecret } from './cookie.ts';
import { Alert, DtlsError } from './DtlsError.ts';
import { RoleHandshake } from './RoleHandshake.ts';
import { HandshakeType, type HandshakeMessage } from './handshake.ts';
import { generateEcdhe, pickGroup, type EcdheKeyPair } from './keyExchange.ts';
import {
  CertificateType, CipherSuite, EMPTY_RENEGOTIATION_INFO_SCSV, ExtensionType, NamedGroup, POINT_FORMAT_UNCOMPRESSED,
  RANDOM_LEN, clientHelloCookieInput, decodeClientHello, decodeClientKeyExchange, decodeDigitallySigned,
  decodePointFormats, decodeU16ListExtension, decodeUseSrtp, emptyRenegotiationInfo, encodeCertificate,
  encodeCertificateRequest, encodeHelloVerifyRequest, encodeServerEcdhParams, encodeServerHello,
  encodeServerKeyExchange, findExtension, isEmptyRenegotiationInfo, pointFormatsExtension, useSrtpExtension,
  type Extension,
} from './messages.ts';
import { DTLS_1_0, DTLS_1_2 } from './records.ts';
import { SUPPORTED_SCHEMES, pickScheme, schemeFitsKey, verifyWith } from './signature.ts';
import { negotiateSrtpProfile } from './srtpProfile.ts';
import { concatBytes } from './wire.ts';

type ServerState = 'clientHello' | 'certificate' | 'clientKeyExchange' | 'certificateVerify' | 'finished' | 'complete';

/**
 * Stateless cookie check of a ClientHello body. Returns the HelloVerifyRequest body to send
 * when the cookie is missing or wrong, null when it is valid. A ClientHello that does not
 * parse gets nothing (undefined): without state there is nobody to send an alert for.
 */
export function helloVerify(body: Uint8Array, clientAddress: string, cookies: CookieSecret): Uint8Array | null | undefined {
  let params: Uint8Array;
  let cookie: Uint8Array;
  try {
    const ch = decodeClientHello(body);
    params = clientHelloCookieInput(ch);
    cookie = ch.cookie;
  } catch {
    return undefined;
  }
  if (cookies.verify(clientAddress, params, cookie)) return null;
  // RFC 6347 §4.2.1: DTLS 1.0 in the HelloVerifyRequest whatever version will be negotiated.
  return encodeHelloVerifyRequest({ version: DTLS_1_0, cookie: cookies.generate(clientAddress, params) });
}

export class ServerHandshake extends RoleHandshake {
  readonly role = 'server' as const;
  #state: ServerState = 'clientHello';
  #ecdhe: EcdheKeyPair | null = null;

  get complete(): boolean { return this.#state === 'complete'; }

  protected onMessage(msg: HandshakeMessage): void {
    switch (this.#state) {
      case 'clientHello':
        if (msg.msgType === HandshakeType.clientHello) return this.#onClientHello(msg);
        break;
      case 'certificate':
        if (msg.msgType === HandshakeType.certificate) {
          this.acceptCertificate(msg, null);
          this.#state = 'clientKeyExchange';
          return;
        }
        if (msg.msgType === HandshakeType.clientKeyExchange) {
          throw new DtlsError('E_DTLS_BAD_CERTIFICATE', 'client sent no certificate; one is required', undefined, Alert.handshakeFailure);
        }
        break;
      case 'clientKeyExchange':
        if (msg.msgType === HandshakeType.clientKeyExchange) return this.#onClientKeyExchange(msg);
        break;
      case 'certificateVerify':
        if (msg.msgType === HandshakeType.certificateVerify) return this.#onCertificateVerify(msg);
        break;
      case 'finished':
        if (msg.msgType === HandshakeType.finished) {
          this.checkPeerFinished(msg);
          const finished = this.ourFinished();
          this.#state = 'complete';
          // The last flight: no timer; it is resent only when the client retransmits (RFC 6347 §4.2.4).
          this.host.sendFlight([{ kind: 'ccs' }, finished], false);
          this.host.complete(this.exportKeys());
          return;
        }
        break;
      case 'complete':
        break;
    }
    throw this.unexpected(msg, this.#state);
  }

  #onClientHello(msg: HandshakeMessage): void {
    const ch = decodeClientHello(msg.body);
    // DTLS versions count down: 0xfefd (1.2) < 0xfeff (1.0). A client capped below 1.2 is refused.
    if (ch.version > DTLS_1_2) throw new DtlsError('E_DTLS_PROTOCOL_VERSION', 'client does not support DTLS 1.2', { version: ch.version });
    if (!ch.compressionMethods.includes(0)) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'client does not offer null compression');
    const cert = this.config.certificate;
    const suite = cert.keyKind === 'ecdsa-p256' ? CipherSuite.ecdheEcdsaAes128Gcm : CipherSuite.ecdheRsaAes128Gcm;
    if (!ch.cipherSuites.includes(suite)) {
      throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'client offers no cipher suite our certificate can serve', { need: suite, key: cert.keyKind });
    }
    const ext = ch.extensions;
    if (findExtension(ext, ExtensionType.extendedMasterSecret) === undefined) {
      throw new DtlsError('E_DTLS_NO_EMS', 'client did not offer extended_master_secret (RFC 7627)');
    }
    const reneg = findExtension(ext, ExtensionType.renegotiationInfo);
    if (reneg !== undefined && !isEmptyRenegotiationInfo(reneg)) {
      throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'non-empty renegotiation_info in an initial handshake');
    }
    const groupsExt = findExtension(ext, ExtensionType.supportedGroups);
    // RFC 8422 §4: without supported_groups the client is assumed to handle secp256r1.
    const group = groupsExt === undefined ? NamedGroup.secp256r1 : pickGroup(decodeU16ListExtension(groupsExt, 'supported_groups'));
    if (group === undefined) throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'no ECDHE group in common');
    const formats = findExtension(ext, ExtensionType.ecPointFormats);
    if (formats !== undefined && !decodePointFormats(formats).includes(POINT_FORMAT_UNCOMPRESSED)) {
      throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'client does not accept uncompressed points');
    }
    // Without signature_algorithms TLS 1.2 would default to SHA-1 signatures: refused.
    const sigExt = findExtension(ext, ExtensionType.signatureAlgorithms);
    const scheme = sigExt === undefined ? undefined : pickScheme(cert.keyKind, decodeU16ListExtension(sigExt, 'signature_algorithms'));
    if (scheme === undefined) throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'no signature algorithm in common', { key: cert.keyKind });
    const useSrtp = findExtension(ext, ExtensionType.useSrtp);
    if (useSrtp === undefined) throw new DtlsError('E_DTLS_NO_SRTP_PROFILE', 'client did not offer use_srtp');
    const decision = negotiateSrtpProfile(decodeUseSrtp(useSrtp).profiles, this.config.srtpPolicy);
    if (decision instanceof DtlsError) throw decision;
    this.srtp = decision;
    this.clientRandom = Uint8Array.from(ch.random);
    this.serverRandom = randomBytes(RANDOM_LEN);
    this.record(msg);

    // Answer only with extensions the client sent (RFC 5246 §7.4.1.4); the SCSV counts as
    // renegotiation_info (RFC 5746 §3.6).
    const answer: Extension[] = [];
    if (reneg !== undefined || ch.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV)) answer.push(emptyRenegotiationInfo());
    answer.push({ type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) });
    answer.push(useSrtpExtension([decision.profileId]));
    if (formats !== undefined) answer.push(pointFormatsExtension());
    const serverHello = this.message(HandshakeType.serverHello, encodeServerHello({
      version: DTLS_1_2, random: this.serverRandom, sessionId: new Uint8Array(0), cipherSuite: suite, compressionMethod: 0, extensions: answer,
    }));
    const certificate = this.message(HandshakeType.certificate, encodeCertificate([cert.der]));
    this.#ecdhe = generateEcdhe(group);
    const params = encodeServerEcdhParams(group, this.#ecdhe.publicKey);
    const signature = cert.sign(scheme, concatBytes([this.clientRandom, this.serverRandom, params]));
    const ske = this.message(HandshakeType.serverKeyExchange, encodeServerKeyExchange(params, { scheme, signature }));
    const cr = this.message(HandshakeType.certificateRequest, encodeCertificateRequest({
      certificateTypes: [CertificateType.ecdsaSign, CertificateType.rsaSign], schemes: SUPPORTED_SCHEMES,
    }));
    const done = this.message(HandshakeType.serverHelloDone, new Uint8Array(0));
    this.#state = 'certificate';
    this.host.sendFlight([serverHello, certificate, ske, cr, done], true);
  }

  #onClientKeyExchange(msg: HandshakeMessage): void {
    const ecdhe = this.#ecdhe;
    if (ecdhe === null) throw this.unexpected(msg, 'clientKeyExchange');
    const preMaster = ecdhe.deriveSecret(decodeClientKeyExchange(msg.body));
    this.record(msg);
    this.deriveKeys(preMaster);
    this.#state = 'certificateVerify';
  }

  #onCertificateVerify(msg: HandshakeMessage): void {
    const peer = this.peer;
    if (peer === null) throw this.unexpected(msg, 'certificateVerify');
    const cv = decodeDigitallySigned(msg.body, 'CertificateVerify');
    if (!SUPPORTED_SCHEMES.includes(cv.scheme) || !schemeFitsKey(cv.scheme, peer.kind)) {
      throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'CertificateVerify with a scheme we did not request or the key cannot make', { scheme: cv.scheme, key: peer.kind });
    }
    // Signed: every handshake message before this one (RFC 5246 §7.4.8).
    if (!verifyWith(cv.scheme, peer.x509.publicKey, this.transcriptBytes(), cv.signature)) {
      throw new DtlsError('E_DTLS_BAD_SIGNATURE', 'client CertificateVerify does not verify with the client certificate', { scheme: cv.scheme });
    }
    this.record(msg);
    this.#state = 'finished';
  }
}
