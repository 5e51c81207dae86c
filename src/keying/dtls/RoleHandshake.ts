// What the client and server handshakes share: the transcript, message numbering, key
// derivation (extended master secret only), Finished computation and checking, the peer
// certificate check and the SRTP key export. Subclasses hold the role-specific state machine.
//
// A handshake talks to its endpoint only through HandshakeHost, so it knows nothing of
// records, timers or datagrams, and a failure anywhere is a thrown DtlsError that the endpoint
// turns into a fatal alert.
import { timingSafeEqual } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import type { DtlsCertificate } from './certificate.ts';
import { parsePeerCertificate } from './certificate.ts';
import { Alert, DtlsError } from './DtlsError.ts';
import { deriveSrtpKeys, type DtlsRole, type DtlsSrtpKeys } from './exportKeys.ts';
import { HandshakeType, encodeHandshakeMessage, type HandshakeMessage } from './handshake.ts';
import { extendedMasterSecret, finishedVerifyData, recordKeys, sha256, type RecordKeys } from './keySchedule.ts';
import { decodeCertificate, decodeFinished } from './messages.ts';
import type { KeyKind } from './signature.ts';
import type { SrtpProfileDecision, SrtpProfilePolicy } from './srtpProfile.ts';
import { concatBytes } from './wire.ts';

export type FlightItem =
  | { readonly kind: 'handshake'; readonly msgType: number; readonly messageSeq: number; readonly body: Uint8Array; readonly epoch: 0 | 1 }
  | { readonly kind: 'ccs' };

export interface HandshakeHost {
  /** Sends a new flight, replacing the last one. `awaitReply` arms retransmission until the peer answers. */
  sendFlight(items: readonly FlightItem[], awaitReply: boolean): void;
  /** Installs epoch-1 record protection in both directions. */
  installKeys(keys: RecordKeys): void;
  /** The peer's leaf certificate arrived: check it against the expected fingerprints (throws on mismatch). */
  checkPeerCertificate(der: Uint8Array): void;
  /** The handshake finished and both Finished messages verified. */
  complete(keys: DtlsSrtpKeys): void;
}

/**
 * Test-only fault injection: lets a negative test make *this* endpoint misbehave (a tampered
 * Finished, a stripped extension) to prove the *peer* rejects it. Never set in production.
 */
export interface DtlsTestHooks {
  /** Rewrites an outgoing handshake message body before it is hashed and sent. */
  outgoingHandshake?: (msgType: number, body: Uint8Array) => Uint8Array;
}

export interface HandshakeConfig {
  readonly certificate: DtlsCertificate;
  readonly srtpPolicy: SrtpProfilePolicy;
  readonly hooks: DtlsTestHooks | undefined;
}

export interface PeerCertificate {
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly kind: KeyKind;
}

export abstract class RoleHandshake {
  abstract readonly role: DtlsRole;
  protected readonly host: HandshakeHost;
  protected readonly config: HandshakeConfig;
  /** Handshake messages in DTLS transcript form (RFC 6347 §4.2.6), in order. */
  protected transcript: Uint8Array[] = [];
  protected clientRandom: Uint8Array = new Uint8Array(0);
  protected serverRandom: Uint8Array = new Uint8Array(0);
  protected srtp: SrtpProfileDecision | null = null;
  protected peer: PeerCertificate | null = null;
  #masterSecret: Buffer | null = null;
  #sendSeq = 0;

  constructor(host: HandshakeHost, config: HandshakeConfig) {
    this.host = host;
    this.config = config;
  }

  /** Handles one complete peer message, in message_seq order. Throws DtlsError to abort. */
  handle(msg: HandshakeMessage): void {
    // Finished is the first message under the new keys; everything before it is epoch 0. A
    // plaintext Finished, or an encrypted ClientHello, is a protocol violation.
    const wantEpoch = msg.msgType === HandshakeType.finished ? 1 : 0;
    if (msg.epoch !== wantEpoch) {
      throw new DtlsError('E_DTLS_UNEXPECTED_MESSAGE', 'handshake message in the wrong epoch', { type: msg.msgType, epoch: msg.epoch });
    }
    this.onMessage(msg);
  }

  protected abstract onMessage(msg: HandshakeMessage): void;

  /** True once the handshake completed. */
  abstract get complete(): boolean;

  /** The next message_seq we send (the server mirrors the client's after a cookie exchange). */
  setSendSeq(seq: number): void { this.#sendSeq = seq; }

  /** The peer's certificate once received. */
  get peerCertificate(): PeerCertificate | null { return this.peer; }

  /** Builds an outgoing message: assigns message_seq and appends it to the transcript. */
  protected message(msgType: number, body: Uint8Array, epoch: 0 | 1 = 0): FlightItem {
    const hook = this.config.hooks?.outgoingHandshake;
    const finalBody = hook === undefined ? body : hook(msgType, body);
    const messageSeq = this.#sendSeq++;
    this.transcript.push(encodeHandshakeMessage(msgType, messageSeq, finalBody));
    return { kind: 'handshake', msgType, messageSeq, body: finalBody, epoch };
  }

  protected record(msg: HandshakeMessage): void {
    this.transcript.push(encodeHandshakeMessage(msg.msgType, msg.messageSeq, msg.body));
  }

  protected transcriptBytes(): Uint8Array { return concatBytes(this.transcript); }
  protected transcriptHash(): Buffer { return sha256(this.transcriptBytes()); }

  protected unexpected(msg: HandshakeMessage, state: string): DtlsError {
    return new DtlsError('E_DTLS_UNEXPECTED_MESSAGE', 'unexpected handshake message', { type: msg.msgType, state });
  }

  /**
   * Takes the peer's Certificate message: parses the leaf, checks its key is usable and of the
   * kind `want` (when given), and asks the host to check the fingerprint.
   */
  protected acceptCertificate(msg: HandshakeMessage, want: KeyKind | null): void {
    const chain = decodeCertificate(msg.body);
    const leaf = chain[0];
    if (leaf === undefined) throw new DtlsError('E_DTLS_BAD_CERTIFICATE', 'peer sent no certificate', { role: this.role === 'client' ? 'server' : 'client' }, Alert.handshakeFailure);
    const { x509, kind } = parsePeerCertificate(leaf);
    if (want !== null && kind !== want) {
      throw new DtlsError('E_DTLS_BAD_CERTIFICATE', 'peer certificate key does not fit the cipher suite', { key: kind, need: want }, Alert.unsupportedCertificate);
    }
    this.host.checkPeerCertificate(leaf);
    this.peer = { der: leaf, x509, kind };
    this.record(msg);
  }

  /**
   * Derives the master secret from the transcript so far (which must end with
   * ClientKeyExchange) and installs the record keys. Wipes the pre-master secret.
   */
  protected deriveKeys(preMasterSecret: Buffer): void {
    const sessionHash = this.transcriptHash();
    this.#masterSecret = extendedMasterSecret(preMasterSecret, sessionHash);
    preMasterSecret.fill(0);
    this.host.installKeys(recordKeys(this.#masterSecret, this.clientRandom, this.serverRandom));
  }

  #master(): Buffer {
    if (this.#masterSecret === null) throw new DtlsError('E_DTLS_INTERNAL', 'master secret used before it was derived');
    return this.#masterSecret;
  }

  /** Our Finished over the transcript so far, appended to it. */
  protected ourFinished(): FlightItem {
    const verifyData = finishedVerifyData(this.#master(), this.role, this.transcriptHash());
    return this.message(HandshakeType.finished, verifyData, 1);
  }

  /** Checks the peer's Finished against the transcript so far, then appends it. */
  protected checkPeerFinished(msg: HandshakeMessage): void {
    const got = decodeFinished(msg.body);
    const want = finishedVerifyData(this.#master(), this.role === 'client' ? 'server' : 'client', this.transcriptHash());
    if (!timingSafeEqual(got, want)) throw new DtlsError('E_DTLS_BAD_FINISHED', 'peer Finished does not verify', { role: this.role });
    this.record(msg);
  }

  /** Exports the SRTP keys for the negotiated profile and wipes the master secret. */
  protected exportKeys(): DtlsSrtpKeys {
    if (this.srtp === null) throw new DtlsError('E_DTLS_INTERNAL', 'no SRTP profile at export');
    const keys = deriveSrtpKeys(this.#master(), this.clientRandom, this.serverRandom, this.srtp.suite, this.role);
    this.wipe();
    return keys;
  }

  /** Forgets secrets. Safe to call more than once. */
  wipe(): void {
    this.#masterSecret?.fill(0);
    this.#masterSecret = null;
    this.transcript = [];
  }
}
