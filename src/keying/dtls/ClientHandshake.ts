// The DTLS 1.2 client (a=setup:active) handshake:
//   flight 1  ClientHello                         →
//   flight 2                                       ← HelloVerifyRequest (optional)
//   flight 3  ClientHello + cookie                →
//   flight 4                                       ← ServerHello, Certificate, ServerKeyExchange,
//                                                    CertificateRequest, ServerHelloDone
//   flight 5  Certificate, ClientKeyExchange,
//             CertificateVerify, CCS, Finished    →
//   flight 6                                       ← CCS, Finished
// Everything the server sends is verified: extensions against what we offered (EMS and a
// profile we offered are required), the certificate against the SDP fingerprint and the
// suite, the ServerKeyExchange signature with that certificate's key, and its Finished.
import { randomBytes } from 'node:crypto';
import { Alert, DtlsError } from './DtlsError.ts';
import { RoleHandshake, type FlightItem } from './RoleHandshake.ts';
import { HandshakeType, type HandshakeMessage } from './handshake.ts';
import { SUPPORTED_GROUPS, generateEcdhe } from './keyExchange.ts';
import {
  CipherSuite, ExtensionType, POINT_FORMAT_UNCOMPRESSED, RANDOM_LEN, decodeCertificateRequest, decodeEmpty,
  decodeHelloVerifyRequest, decodePointFormats, decodeServerHello, decodeServerKeyExchange, decodeUseSrtp,
  emptyRenegotiationInfo, encodeCertificate, encodeClientHello, encodeClientKeyExchange, encodeDigitallySigned,
  findExtension, isEmptyRenegotiationInfo, pointFormatsExtension, u16ListExtension, useSrtpExtension,
  type CertificateRequest, type ClientHello,
} from './messages.ts';
import { DTLS_1_0, DTLS_1_2 } from './records.ts';
import { SUPPORTED_SCHEMES, pickScheme, schemeFitsKey, verifyWith, type KeyKind } from './signature.ts';
import { checkSelectedProfile, offeredProfiles } from './srtpProfile.ts';
import { concatBytes } from './wire.ts';

type ClientState = 'serverHello' | 'certificate' | 'serverKeyExchange' | 'certificateRequest' | 'serverHelloDone' | 'finished' | 'complete';

/** A server may legitimately re-issue its cookie once (secret rotated in between); more is a loop. */
const MAX_HELLO_VERIFY = 2;

const SUITE_KEY_KIND: ReadonlyMap<number, KeyKind> = new Map([
  [CipherSuite.ecdheEcdsaAes128Gcm, 'ecdsa-p256'],
  [CipherSuite.ecdheRsaAes128Gcm, 'rsa'],
]);

export class ClientHandshake extends RoleHandshake {
  readonly role = 'client' as const;
  #state: ClientState = 'serverHello';
  #hello: ClientHello | null = null;
  #helloVerifies = 0;
  #offered: number[] = [];
  #suite = 0;
  #serverShare: { group: number; publicKey: Uint8Array } | null = null;
  #certificateRequest: CertificateRequest | null = null;

  get complete(): boolean { return this.#state === 'complete'; }

  /** Sends flight 1. */
  start(): void {
    this.clientRandom = randomBytes(RANDOM_LEN);
    this.#offered = offeredProfiles(this.config.srtpPolicy);
    if (this.#offered.length === 0) throw new DtlsError('E_DTLS_NO_SRTP_PROFILE', 'the SRTP policy allows no DTLS-SRTP profile', undefined, null);
    this.#hello = {
      version: DTLS_1_2,
      random: this.clientRandom,
      sessionId: new Uint8Array(0),
      cookie: new Uint8Array(0),
      cipherSuites: [CipherSuite.ecdheEcdsaAes128Gcm, CipherSuite.ecdheRsaAes128Gcm],
      compressionMethods: Uint8Array.of(0),
      extensions: [
        u16ListExtension(ExtensionType.supportedGroups, SUPPORTED_GROUPS),
        pointFormatsExtension(),
        u16ListExtension(ExtensionType.signatureAlgorithms, SUPPORTED_SCHEMES),
        useSrtpExtension(this.#offered),
        { type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) },
        emptyRenegotiationInfo(),
      ],
    };
    this.host.sendFlight([this.message(HandshakeType.clientHello, encodeClientHello(this.#hello))], true);
  }

  protected onMessage(msg: HandshakeMessage): void {
    switch (this.#state) {
      case 'serverHello':
        if (msg.msgType === HandshakeType.helloVerifyRequest) return this.#onHelloVerify(msg);
        if (msg.msgType === HandshakeType.serverHello) return this.#onServerHello(msg);
        break;
      case 'certificate':
        if (msg.msgType === HandshakeType.certificate) {
          this.acceptCertificate(msg, SUITE_KEY_KIND.get(this.#suite) ?? null);
          this.#state = 'serverKeyExchange';
          return;
        }
        break;
      case 'serverKeyExchange':
        if (msg.msgType === HandshakeType.serverKeyExchange) return this.#onServerKeyExchange(msg);
        break;
      case 'certificateRequest':
        if (msg.msgType === HandshakeType.certificateRequest) {
          this.#certificateRequest = decodeCertificateRequest(msg.body);
          this.record(msg);
          this.#state = 'serverHelloDone';
          return;
        }
        if (msg.msgType === HandshakeType.serverHelloDone) return this.#onServerHelloDone(msg);
        break;
      case 'serverHelloDone':
        if (msg.msgType === HandshakeType.serverHelloDone) return this.#onServerHelloDone(msg);
        break;
      case 'finished':
        if (msg.msgType === HandshakeType.finished) {
          this.checkPeerFinished(msg);
          this.#state = 'complete';
          this.host.complete(this.exportKeys());
          return;
        }
        break;
      case 'complete':
        break;
    }
    throw this.unexpected(msg, this.#state);
  }

  #onHelloVerify(msg: HandshakeMessage): void {
    const hvr = decodeHelloVerifyRequest(msg.body);
    // RFC 6347 §4.2.1: a DTLS 1.2 server may put 1.0 here whatever it will negotiate.
    if (hvr.version !== DTLS_1_2 && hvr.version !== DTLS_1_0) {
      throw new DtlsError('E_DTLS_PROTOCOL_VERSION', 'HelloVerifyRequest with an unknown version', { version: hvr.version });
    }
    if (hvr.cookie.length === 0) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'HelloVerifyRequest with an empty cookie');
    if (++this.#helloVerifies > MAX_HELLO_VERIFY || this.#hello === null) throw this.unexpected(msg, 'helloVerify');
    // Neither the first ClientHello nor the HelloVerifyRequest belong to the transcript.
    this.transcript = [];
    this.#hello = { ...this.#hello, cookie: hvr.cookie };
    this.host.sendFlight([this.message(HandshakeType.clientHello, encodeClientHello(this.#hello))], true);
  }

  #onServerHello(msg: HandshakeMessage): void {
    const sh = decodeServerHello(msg.body);
    if (sh.version !== DTLS_1_2) throw new DtlsError('E_DTLS_PROTOCOL_VERSION', 'server did not select DTLS 1.2', { version: sh.version });
    if (!SUITE_KEY_KIND.has(sh.cipherSuite)) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'server selected a cipher suite we did not offer', { suite: sh.cipherSuite });
    if (sh.compressionMethod !== 0) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'server selected compression', { method: sh.compressionMethod });
    const sent = new Set(this.#hello?.extensions.map((e) => e.type));
    for (const e of sh.extensions) {
      // RFC 5246 §7.4.1.4: a server must not answer with an extension the client did not send.
      if (!sent.has(e.type)) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'unsolicited extension in ServerHello', { extension: e.type }, Alert.unsupportedExtension);
    }
    if (findExtension(sh.extensions, ExtensionType.extendedMasterSecret) === undefined) {
      throw new DtlsError('E_DTLS_NO_EMS', 'server did not negotiate extended_master_secret (RFC 7627)');
    }
    const reneg = findExtension(sh.extensions, ExtensionType.renegotiationInfo);
    if (reneg !== undefined && !isEmptyRenegotiationInfo(reneg)) {
      throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'non-empty renegotiation_info in an initial handshake');
    }
    const formats = findExtension(sh.extensions, ExtensionType.ecPointFormats);
    if (formats !== undefined && !decodePointFormats(formats).includes(POINT_FORMAT_UNCOMPRESSED)) {
      throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'server does not accept uncompressed points');
    }
    const useSrtp = findExtension(sh.extensions, ExtensionType.useSrtp);
    const answer = useSrtp === undefined ? null : decodeUseSrtp(useSrtp);
    // We offered no MKI; RFC 5764 §4.1.3: a different MKI in the answer is illegal_parameter.
    if (answer !== null && answer.mki.length !== 0) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'server answered use_srtp with an MKI we did not offer');
    const decision = checkSelectedProfile(answer?.profiles ?? null, this.#offered, this.config.srtpPolicy);
    if (decision instanceof DtlsError) throw decision;
    this.srtp = decision;
    this.#suite = sh.cipherSuite;
    this.serverRandom = sh.random;
    this.record(msg);
    this.#state = 'certificate';
  }

  #onServerKeyExchange(msg: HandshakeMessage): void {
    const ske = decodeServerKeyExchange(msg.body);
    const peer = this.peer;
    if (peer === null) throw this.unexpected(msg, 'serverKeyExchange');
    if (!SUPPORTED_GROUPS.includes(ske.group)) throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'server chose a group we did not offer', { group: ske.group });
    if (!SUPPORTED_SCHEMES.includes(ske.scheme) || !schemeFitsKey(ske.scheme, peer.kind)) {
      throw new DtlsError('E_DTLS_ILLEGAL_PARAMETER', 'ServerKeyExchange signed with a scheme we did not offer or the key cannot make', { scheme: ske.scheme, key: peer.kind });
    }
    const signed = concatBytes([this.clientRandom, this.serverRandom, ske.params]);
    if (!verifyWith(ske.scheme, peer.x509.publicKey, signed, ske.signature)) {
      throw new DtlsError('E_DTLS_BAD_SIGNATURE', 'ServerKeyExchange signature does not verify with the server certificate', { scheme: ske.scheme });
    }
    this.#serverShare = { group: ske.group, publicKey: Uint8Array.from(ske.publicKey) };
    this.record(msg);
    this.#state = 'certificateRequest';
  }

  #onServerHelloDone(msg: HandshakeMessage): void {
    decodeEmpty(msg.body, 'ServerHelloDone');
    this.record(msg);
    const share = this.#serverShare;
    if (share === null) throw this.unexpected(msg, 'serverHelloDone');
    const cert = this.config.certificate;
    const flight: FlightItem[] = [];
    let cvScheme: number | undefined;
    if (this.#certificateRequest !== null) {
      cvScheme = pickScheme(cert.keyKind, this.#certificateRequest.schemes);
      if (cvScheme === undefined) {
        throw new DtlsError('E_DTLS_HANDSHAKE_FAILURE', 'no signature scheme in the CertificateRequest fits our key', { key: cert.keyKind });
      }
      flight.push(this.message(HandshakeType.certificate, encodeCertificate([cert.der])));
    }
    const ecdhe = generateEcdhe(share.group);
    const preMaster = ecdhe.deriveSecret(share.publicKey);
    flight.push(this.message(HandshakeType.clientKeyExchange, encodeClientKeyExchange(ecdhe.publicKey)));
    // The CertificateVerify covers exactly what the EMS session hash covers: up to CKE.
    const signedTranscript = this.transcriptBytes();
    this.deriveKeys(preMaster);
    if (cvScheme !== undefined) {
      const signature = cert.sign(cvScheme, signedTranscript);
      flight.push(this.message(HandshakeType.certificateVerify, encodeDigitallySigned({ scheme: cvScheme, signature })));
    }
    flight.push({ kind: 'ccs' });
    flight.push(this.ourFinished());
    this.#state = 'finished';
    this.host.sendFlight(flight, true);
  }
}
