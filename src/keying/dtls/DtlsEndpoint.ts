// One DTLS 1.2 endpoint for DTLS-SRTP, either role, transport-agnostic: the owner feeds it the
// datagrams its demultiplexer classified as DTLS (first byte 20–63, RFC 7983) through
// handleDatagram(), and it hands datagrams to send to the `send` callback.
//
// This class owns the record layer, flights and timers; the role's handshake (ClientHandshake /
// ServerHandshake) owns the protocol logic and reaches back only through HandshakeHost.
// - Flights are retransmitted with exponential back-off (RFC 6347 §4.2.4) until the peer's
//   next flight starts arriving; the handshake as a whole has a deadline.
// - A retransmission of the peer's previous flight makes us resend our last flight (the
//   "DTLS server not answering a retransmitted client flight" field bug), rate-limited, and
//   only for the flight we answered, so two endpoints cannot ping-pong.
// - Records that fail to parse, authenticate or pass the replay window are dropped silently
//   and counted; handshake failures send a fatal alert and end the endpoint.
// - `connected` carries the SRTP keys and is emitted only once the peer certificate matched
//   the expected fingerprint. When the fingerprint is not known yet (media before the SDP
//   answer), the handshake completes and the keys wait for setRemoteFingerprints().
import { EventEmitter } from 'node:events';
import type { DtlsCertificate } from './certificate.ts';
import { ClientHandshake } from './ClientHandshake.ts';
import { CookieSecret } from './cookie.ts';
import { Alert, DtlsError, alertName } from './DtlsError.ts';
import type { DtlsRole, DtlsSrtpKeys } from './exportKeys.ts';
import { matchFingerprint, parseFingerprint, type Fingerprint } from './fingerprint.ts';
import type { DtlsTestHooks, FlightItem, HandshakeHost } from './RoleHandshake.ts';
import {
  HANDSHAKE_HEADER_LEN, HandshakeReassembler, HandshakeType, encodeHandshakeFragment, fragmentHandshake, parseHandshakeFragments,
} from './handshake.ts';
import { wipeRecordKeys, type RecordKeys } from './keySchedule.ts';
import {
  ContentType, DTLS_1_0, DTLS_1_2, GCM_OVERHEAD, GcmRecordProtection, MAX_RECORD_SEQ, RECORD_HEADER_LEN, ReplayWindow,
  encodeRecord, parseRecords, type DtlsRecord,
} from './records.ts';
import { ServerHandshake, helloVerify } from './ServerHandshake.ts';
import type { SrtpProfilePolicy } from './srtpProfile.ts';

export interface DtlsEndpointOptions {
  /** 'client' for a=setup:active, 'server' for a=setup:passive. */
  role: DtlsRole;
  /** Our certificate and key (DtlsCertificate.generate() or .fromPem()). */
  certificate: DtlsCertificate;
  /** Called with each datagram to send to the peer. Must not synchronously call back into this endpoint. */
  send: (datagram: Uint8Array) => void;
  /** Expected peer fingerprints from SDP (`sha-256 AB:…` or parsed). Default: none yet; see setRemoteFingerprints(). */
  remoteFingerprints?: readonly (Fingerprint | string)[];
  /** Which SRTP profiles may be negotiated. Default: every table profile that encrypts. */
  srtpPolicy?: SrtpProfilePolicy;
  /** Largest datagram we send, bytes. Default 1200 (fits IPv6 minimum MTU with room for tunnels). */
  mtu?: number;
  /** First retransmission timeout, ms. Default 1000 (RFC 6347 §4.2.4.1). */
  initialRetransmitMs?: number;
  /** Back-off cap, ms. Default 60 000. */
  maxRetransmitMs?: number;
  /** The handshake must complete within this many ms of start(). Default 30 000. */
  handshakeTimeoutMs?: number;
  /** Server: HelloVerifyRequest cookie secret (share one across endpoints), or false to skip the exchange. Default: a private one. */
  cookies?: CookieSecret | false;
  /** Accept sha-1 a=fingerprint values. Default false. */
  insecureAllowSha1Fingerprint?: boolean;
  /** Fault injection for negative tests only. Default none. */
  insecureTestHooks?: DtlsTestHooks;
  /** Where enabled insecure options are reported once. Default: nowhere. */
  logger?: { warn(msg: string, context?: Readonly<Record<string, unknown>>): void };
}

export type DtlsState = 'new' | 'connecting' | 'verifying' | 'connected' | 'failed' | 'closed';

export interface DtlsEndpointEvents {
  /** Handshake done and the peer certificate matched: the SRTP keying material (caller wipes it). */
  connected: [keys: DtlsSrtpKeys];
  /** The endpoint failed; emitted only when someone listens (state and `error` tell the rest). */
  error: [error: DtlsError];
  /** Closed, by close(), the peer's close_notify, or after a failure. Emitted once. */
  close: [];
}

export interface DtlsStats {
  datagramsIn: number;
  datagramsOut: number;
  /** Records dropped: unparsable, wrong version/epoch, replayed, failed authentication, or not expected now. */
  recordsDropped: number;
  replays: number;
  authFailures: number;
  /** Flights resent (timer or peer retransmission). */
  retransmits: number;
  helloVerifyRequests: number;
}

const MIN_MTU = 256;
/** Epoch-1 records that arrive before our keys exist are held, a few at most. */
const MAX_EARLY_RECORDS = 8;
const ALERT_WARNING = 1;
const ALERT_FATAL = 2;

export class DtlsEndpoint extends EventEmitter<DtlsEndpointEvents> implements HandshakeHost {
  readonly role: DtlsRole;
  readonly #opts: Required<Pick<DtlsEndpointOptions, 'mtu' | 'initialRetransmitMs' | 'maxRetransmitMs' | 'handshakeTimeoutMs'>>;
  readonly #send: (datagram: Uint8Array) => void;
  readonly #certificate: DtlsCertificate;
  readonly #cookies: CookieSecret | null;
  readonly #allowSha1: boolean;
  readonly #hs: ClientHandshake | ServerHandshake;
  readonly #reassembler = new HandshakeReassembler();
  /** Replay window of epoch 1, the only authenticated epoch (no renegotiation, so no epoch 2). */
  readonly #replay = new ReplayWindow();
  readonly #writeSeq = [0, 0];
  readonly #stats: DtlsStats = { datagramsIn: 0, datagramsOut: 0, recordsDropped: 0, replays: 0, authFailures: 0, retransmits: 0, helloVerifyRequests: 0 };
  #state: DtlsState = 'new';
  #error: DtlsError | null = null;
  #fingerprints: Fingerprint[] | null = null;
  #fingerprintVerified = false;
  #pendingKeys: DtlsSrtpKeys | null = null;
  #listening = false;
  #readCipher: GcmRecordProtection | null = null;
  #writeCipher: GcmRecordProtection | null = null;
  #writeEpoch = 0;
  #peerEpoch1Seen = false;
  /** Source of the first handshake record that was accepted (after the cookie, on a server). */
  #handshakePeer: string | null = null;
  #earlyRecords: DtlsRecord[] = [];
  #lastFlight: readonly FlightItem[] | null = null;
  #awaitingReply = false;
  #retransmitMs: number;
  #timer: NodeJS.Timeout | null = null;
  #deadline: NodeJS.Timeout | null = null;
  #lastResendAt = -Infinity;
  /** message_seq range [from, to) of the peer flight our last flight answered. */
  #answeredFlight: { from: number; to: number } | null = null;
  /** message_seq of the first message of the peer flight being received. */
  #peerFlightStart: number | null = null;

  constructor(options: DtlsEndpointOptions) {
    super();
    this.role = options.role;
    this.#send = options.send;
    this.#certificate = options.certificate;
    this.#opts = {
      mtu: options.mtu ?? 1200,
      initialRetransmitMs: options.initialRetransmitMs ?? 1000,
      maxRetransmitMs: options.maxRetransmitMs ?? 60_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
    };
    if (this.#opts.mtu < MIN_MTU) throw new RangeError(`mtu must be at least ${MIN_MTU}`);
    this.#retransmitMs = this.#opts.initialRetransmitMs;
    this.#cookies = options.cookies === false ? null : options.cookies ?? new CookieSecret();
    this.#allowSha1 = options.insecureAllowSha1Fingerprint === true;
    if (this.#allowSha1) options.logger?.warn('DTLS: insecureAllowSha1Fingerprint is enabled');
    if (options.insecureTestHooks !== undefined) options.logger?.warn('DTLS: insecureTestHooks are set (tests only)');
    if (options.remoteFingerprints !== undefined) this.#fingerprints = this.#parseFingerprints(options.remoteFingerprints);
    const config = { certificate: options.certificate, srtpPolicy: options.srtpPolicy ?? {}, hooks: options.insecureTestHooks };
    this.#hs = this.role === 'client' ? new ClientHandshake(this, config) : new ServerHandshake(this, config);
  }

  get state(): DtlsState { return this.#state; }
  /** Why the endpoint failed, once it has. */
  get error(): DtlsError | null { return this.#error; }
  get stats(): Readonly<DtlsStats> { return { ...this.#stats }; }
  /** The peer's leaf certificate (DER) once received. */
  get remoteCertificate(): Uint8Array | null { return this.#hs.peerCertificate?.der ?? null; }
  /** Our a=fingerprint value. */
  get localFingerprint(): string { return this.#certificate.fingerprint('sha-256'); }

  /** Starts the handshake: a client sends its ClientHello, a server starts accepting one. */
  start(): void {
    if (this.#state !== 'new') throw new DtlsError('E_DTLS_INVALID_STATE', 'start() called twice', { state: this.#state });
    this.#state = 'connecting';
    this.#deadline = setTimeout(() => this.#fail(new DtlsError('E_DTLS_TIMEOUT', 'DTLS handshake did not complete in time', { ms: this.#opts.handshakeTimeoutMs, role: this.role })), this.#opts.handshakeTimeoutMs);
    this.#deadline.unref();
    const hs = this.#hs;
    if (hs instanceof ClientHandshake) {
      this.#guard(() => hs.start());
    } else {
      this.#listening = true;
    }
  }

  /**
   * Sets (or replaces) the expected peer fingerprints from SDP. If the peer certificate has
   * already arrived it is checked now: a match releases held keys, a mismatch fails the endpoint.
   */
  setRemoteFingerprints(fingerprints: readonly (Fingerprint | string)[]): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    let parsed: Fingerprint[];
    try {
      parsed = this.#parseFingerprints(fingerprints);
    } catch (e) {
      this.#fail(asDtlsError(e));
      return;
    }
    this.#fingerprints = parsed;
    const peer = this.#hs.peerCertificate;
    if (peer === null) return;
    this.#guard(() => this.checkPeerCertificate(peer.der));
    if (this.#state === 'verifying' && this.#fingerprintVerified) this.#release();
  }

  /** Takes one datagram from the peer. Never throws; `source` (the peer address) binds cookies. */
  handleDatagram(datagram: Uint8Array, source = ''): void {
    if (this.#state === 'new' || this.#state === 'closed' || this.#state === 'failed') return;
    this.#stats.datagramsIn++;
    this.#guard(() => {
      for (const rec of parseRecords(datagram)) {
        if (this.#ended()) return;
        this.#onRecord(rec, source);
      }
      // Records of epoch 1 that beat our keys: now they may be readable.
      if (this.#readCipher !== null && this.#earlyRecords.length > 0) {
        const early = this.#earlyRecords;
        this.#earlyRecords = [];
        for (const rec of early) if (!this.#ended()) this.#onRecord(rec, source);
      }
    });
  }

  /** Sends close_notify when a session exists, stops timers, emits 'close'. Idempotent. */
  close(): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    // Only a handshake with state has a peer to notify; a listening server has none.
    const hasPeer = this.#state !== 'new' && !this.#listening && this.#stats.datagramsOut > 0;
    this.#state = 'closed';
    if (hasPeer) this.#trySendAlert(ALERT_WARNING, Alert.closeNotify);
    this.#teardown();
    this.emit('close');
  }

  // ---------------------------------------------------------------- HandshakeHost

  /** @internal */
  sendFlight(items: readonly FlightItem[], awaitReply: boolean): void {
    this.#lastFlight = items;
    this.#awaitingReply = awaitReply;
    if (this.#peerFlightStart !== null) this.#answeredFlight = { from: this.#peerFlightStart, to: this.#reassembler.nextSeq };
    this.#peerFlightStart = null;
    this.#retransmitMs = this.#opts.initialRetransmitMs;
    this.#transmit(items);
    this.#armTimer();
  }

  /** @internal */
  installKeys(keys: RecordKeys): void {
    const client = this.role === 'client';
    this.#writeCipher = new GcmRecordProtection(client ? keys.clientWriteKey : keys.serverWriteKey, client ? keys.clientWriteIv : keys.serverWriteIv);
    this.#readCipher = new GcmRecordProtection(client ? keys.serverWriteKey : keys.clientWriteKey, client ? keys.serverWriteIv : keys.clientWriteIv);
    wipeRecordKeys(keys);
  }

  /** @internal */
  checkPeerCertificate(der: Uint8Array): void {
    if (this.#fingerprints === null) return; // checked when setRemoteFingerprints() is called
    const m = matchFingerprint(der, this.#fingerprints, { insecureAllowSha1: this.#allowSha1 });
    if (!m.ok) throw m.error;
    this.#fingerprintVerified = true;
  }

  /** @internal */
  complete(keys: DtlsSrtpKeys): void {
    this.#clearDeadline();
    if (this.role === 'client') {
      // The client sent the last flight before the server's Finished, which proves the server
      // got it: nothing of ours is ever worth resending again.
      this.#lastFlight = null;
      this.#answeredFlight = null;
    }
    this.#awaitingReply = false;
    this.#clearTimer();
    this.#pendingKeys = keys;
    this.#state = 'verifying';
    if (this.#fingerprintVerified) this.#release();
  }

  // ---------------------------------------------------------------- internals

  #release(): void {
    const keys = this.#pendingKeys;
    if (keys === null) return;
    this.#pendingKeys = null;
    this.#state = 'connected';
    this.emit('connected', keys);
  }

  #ended(): boolean {
    return this.#state === 'closed' || this.#state === 'failed';
  }

  #parseFingerprints(list: readonly (Fingerprint | string)[]): Fingerprint[] {
    return list.map((f) => (typeof f === 'string' ? parseFingerprint(f, { insecureAllowSha1: this.#allowSha1 }) : f));
  }

  /** Runs `fn`, turning any throw into a failure of the endpoint. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#fail(asDtlsError(e));
    }
  }

  #onRecord(rec: DtlsRecord, source: string): void {
    let plaintext: Uint8Array;
    if (rec.epoch === 0) {
      // No replay window in epoch 0: its records are unauthenticated, so committing their
      // sequence numbers would let a spoofer push the window past the real peer's records and
      // stall the handshake. Duplicates are harmless here: the reassembler dedupes handshake
      // messages, and CCS and alerts are idempotent.
      if (rec.version !== DTLS_1_2 && rec.version !== DTLS_1_0) { this.#stats.recordsDropped++; return; }
      plaintext = rec.fragment;
    } else if (rec.epoch === 1) {
      if (rec.version !== DTLS_1_2) { this.#stats.recordsDropped++; return; }
      const cipher = this.#readCipher;
      if (cipher === null) {
        // Copy: the datagram buffer may belong to the caller's packet ring.
        if (this.#earlyRecords.length < MAX_EARLY_RECORDS) this.#earlyRecords.push({ ...rec, fragment: Uint8Array.from(rec.fragment) });
        else this.#stats.recordsDropped++;
        return;
      }
      // Check now, commit only once the tag verified: a forged record cannot move the window.
      if (!this.#replay.check(rec.seq)) { this.#stats.replays++; this.#stats.recordsDropped++; return; }
      const opened = cipher.open(rec);
      if (opened === null) { this.#stats.authFailures++; this.#stats.recordsDropped++; return; }
      this.#replay.commit(rec.seq);
      this.#peerEpoch1Seen = true;
      plaintext = opened;
    } else {
      this.#stats.recordsDropped++;
      return;
    }
    switch (rec.type) {
      case ContentType.handshake: return this.#onHandshakeRecord(plaintext, rec, source);
      case ContentType.alert: return this.#onAlert(plaintext, rec.epoch, source);
      case ContentType.changeCipherSpec:
        // Only a marker for us: the Finished that must follow is epoch 1, so it cannot be
        // read without the keys anyway.
        if (plaintext.length !== 1 || plaintext[0] !== 1) this.#stats.recordsDropped++;
        return;
      default:
        // Application data has no use in DTLS-SRTP; unknown types are ignored (RFC 6347 §4.1.2.7).
        this.#stats.recordsDropped++;
    }
  }

  #onHandshakeRecord(plaintext: Uint8Array, rec: DtlsRecord, source: string): void {
    const frags = parseHandshakeFragments(plaintext);
    if (frags === null || frags.length === 0) { this.#stats.recordsDropped++; return; }
    if (this.#listening) {
      const first = frags[0];
      // Stateless phase: only a whole ClientHello in epoch 0 is looked at.
      if (rec.epoch !== 0 || first === undefined || first.msgType !== HandshakeType.clientHello || first.fragmentOffset !== 0 || first.body.length !== first.length) {
        this.#stats.recordsDropped++;
        return;
      }
      if (this.#cookies !== null) {
        const hvr = helloVerify(first.body, source, this.#cookies);
        if (hvr === undefined) { this.#stats.recordsDropped++; return; }
        if (hvr !== null) { this.#sendHelloVerify(hvr, first.messageSeq, rec.seq); return; }
      }
      // Cookie good: from here on the handshake has state. Our message_seq mirrors the
      // client's, and our record sequence continues from its (RFC 6347 §4.2.1).
      this.#listening = false;
      this.#reassembler.resetTo(first.messageSeq);
      this.#hs.setSendSeq(first.messageSeq);
      this.#writeSeq[0] = Math.max(this.#writeSeq[0] ?? 0, rec.seq);
    }
    this.#handshakePeer ??= source;
    let retransmitted = false;
    for (const f of frags) {
      const r = this.#reassembler.add(f, rec.epoch);
      const answered = this.#answeredFlight;
      if (r === 'old' && answered !== null && f.messageSeq >= answered.from && f.messageSeq < answered.to) retransmitted = true;
      if (r === 'dropped') this.#stats.recordsDropped++;
    }
    if (retransmitted) this.#resendOnPeerRetransmit();
    for (let m = this.#reassembler.next(); m !== undefined; m = this.#reassembler.next()) {
      // After completion new handshake messages could only start a renegotiation: ignored.
      if (this.#hs.complete) continue;
      this.#peerFlightStart ??= m.messageSeq;
      this.#hs.handle(m);
      if (this.#ended()) return;
    }
  }

  #onAlert(plaintext: Uint8Array, epoch: number, source: string): void {
    // An epoch-0 alert is unauthenticated: anyone who can send a datagram to the port could
    // inject one to tear the handshake down. It counts only from the address the handshake is
    // running with, and never once the peer speaks epoch 1; anything else is dropped (a peer
    // that really gave up is then noticed by the handshake deadline).
    const fromPeer = this.#handshakePeer !== null && source === this.#handshakePeer;
    if (plaintext.length !== 2 || (epoch === 0 && (this.#peerEpoch1Seen || !fromPeer))) { this.#stats.recordsDropped++; return; }
    const level = plaintext[0] as number;
    const description = plaintext[1] as number;
    if (description === Alert.closeNotify) {
      this.close();
      return;
    }
    if (level === ALERT_FATAL) {
      this.#fail(new DtlsError('E_DTLS_ALERT', 'peer sent a fatal alert', { alert: alertName(description), role: this.role }, description));
    }
    // Warning alerts (no_renegotiation, user_canceled before close_notify, ...) change nothing.
  }

  #resendOnPeerRetransmit(): void {
    const flight = this.#lastFlight;
    if (flight === null) return;
    const now = performance.now();
    // One peer flight spans several records; answer it once, not once per record.
    if (now - this.#lastResendAt < this.#opts.initialRetransmitMs / 4) return;
    this.#lastResendAt = now;
    this.#stats.retransmits++;
    this.#transmit(flight);
  }

  #sendHelloVerify(body: Uint8Array, messageSeq: number, recordSeq: number): void {
    this.#stats.helloVerifyRequests++;
    const frag = encodeHandshakeFragment(HandshakeType.helloVerifyRequest, body.length, messageSeq, 0, body);
    // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number.
    this.#emitDatagram(encodeRecord(ContentType.handshake, DTLS_1_0, 0, recordSeq, frag));
  }

  #nextSeq(epoch: 0 | 1): number {
    const seq = this.#writeSeq[epoch] ?? 0;
    // Never wrap: a repeated sequence number would repeat a GCM nonce.
    if (seq > MAX_RECORD_SEQ) throw new DtlsError('E_DTLS_INTERNAL', 'record sequence numbers exhausted', { epoch });
    this.#writeSeq[epoch] = seq + 1;
    return seq;
  }

  #seal(type: number, epoch: 0 | 1, body: Uint8Array): Uint8Array {
    const seq = this.#nextSeq(epoch);
    if (epoch === 0) return encodeRecord(type, DTLS_1_2, 0, seq, body);
    const cipher = this.#writeCipher;
    if (cipher === null) throw new DtlsError('E_DTLS_INTERNAL', 'epoch 1 record without keys');
    return cipher.seal(type, DTLS_1_2, 1, seq, body);
  }

  /** Packs a flight's records into as few datagrams as the MTU allows, fresh sequence numbers each time. */
  #transmit(items: readonly FlightItem[]): void {
    const mtu = this.#opts.mtu;
    const records: Uint8Array[] = [];
    for (const item of items) {
      if (item.kind === 'ccs') {
        records.push(this.#seal(ContentType.changeCipherSpec, 0, Uint8Array.of(1)));
        this.#writeEpoch = 1;
        continue;
      }
      const overhead = RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + (item.epoch === 1 ? GCM_OVERHEAD : 0);
      for (const frag of fragmentHandshake(item.msgType, item.messageSeq, item.body, mtu - overhead)) {
        records.push(this.#seal(ContentType.handshake, item.epoch, frag));
      }
    }
    let datagram: Uint8Array[] = [];
    let size = 0;
    for (const r of records) {
      if (size > 0 && size + r.length > mtu) {
        this.#emitDatagram(Buffer.concat(datagram));
        datagram = [];
        size = 0;
      }
      datagram.push(r);
      size += r.length;
    }
    if (size > 0) this.#emitDatagram(Buffer.concat(datagram));
  }

  #emitDatagram(d: Uint8Array): void {
    this.#stats.datagramsOut++;
    this.#send(d);
  }

  #armTimer(): void {
    this.#clearTimer();
    if (!this.#awaitingReply) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#awaitingReply || this.#lastFlight === null || this.#ended()) return;
      this.#retransmitMs = Math.min(this.#retransmitMs * 2, this.#opts.maxRetransmitMs);
      this.#stats.retransmits++;
      this.#guard(() => {
        if (this.#lastFlight !== null) this.#transmit(this.#lastFlight);
        this.#armTimer();
      });
    }, this.#retransmitMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #clearDeadline(): void {
    if (this.#deadline !== null) clearTimeout(this.#deadline);
    this.#deadline = null;
  }

  #trySendAlert(level: number, description: number): void {
    try {
      // Our current write epoch: encrypted once we have sent ChangeCipherSpec.
      this.#emitDatagram(this.#seal(ContentType.alert, this.#writeEpoch === 1 ? 1 : 0, Uint8Array.of(level, description)));
    } catch {
      // Best effort: the peer's timers end its side anyway.
    }
  }

  #fail(error: DtlsError): void {
    if (this.#ended()) return;
    this.#state = 'failed';
    this.#error = error;
    if (error.alert !== null && error.code !== 'E_DTLS_ALERT') this.#trySendAlert(ALERT_FATAL, error.alert);
    this.#teardown();
    // An 'error' without listeners would throw out of handleDatagram into the socket callback:
    // one hostile datagram must not be able to crash the relay.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.emit('close');
  }

  #teardown(): void {
    this.#clearTimer();
    this.#clearDeadline();
    this.#awaitingReply = false;
    this.#lastFlight = null;
    this.#earlyRecords = [];
    this.#pendingKeys?.wipe();
    this.#pendingKeys = null;
    this.#readCipher?.wipe();
    this.#writeCipher?.wipe();
    this.#hs.wipe();
  }
}

function asDtlsError(e: unknown): DtlsError {
  if (e instanceof DtlsError) return e;
  // A bug, not a peer's fault. Only the error's class goes into the message: a message from
  // deep inside could quote buffers.
  return new DtlsError('E_DTLS_INTERNAL', 'internal error in the DTLS endpoint', { cause: e instanceof Error ? e.name : typeof e });
}

