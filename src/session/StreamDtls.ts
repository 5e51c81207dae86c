// DTLS-SRTP terminated on one media stream (RFC 5763, RFC 5764): the glue between a
// DtlsEndpoint and the stream whose RTP port carries its datagrams.
//
// - The pipeline hands over datagrams whose first byte is 20–63 (RFC 7983), after the source
//   and rate-limit checks; they arrive as copies, so nothing here holds a ring slot.
// - What the endpoint sends leaves from the stream's RTP port (DTLS-SRTP runs on the RTP port
//   even without rtcp-mux). While handshaking it goes to whoever sent the datagram being
//   answered (we may be the server and not know the client's address yet), else to the last
//   source the endpoint answered, else the latched or signalled address.
// - Keys become SRTP contexts only on `connected`, i.e. after the peer certificate matched the
//   SDP fingerprint; both directions are installed together or not at all, then wiped. Until
//   then the stream stays 'pending' and its media is a counted drop.
// - The stream latches to the address that delivered the handshake's last (authenticated)
//   flight. No other DTLS datagram moves the latch: epoch 0 is unauthenticated, and anyone can
//   replay a genuine record from elsewhere.
// - The endpoint stays open for the whole call, so it can answer a retransmitted final flight
//   and receive the peer's close_notify; the stream's close() closes it.
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import {
  DtlsEndpoint, DtlsError, formatFingerprint, parseFingerprint,
  type CookieSecret, type DtlsCertificate, type DtlsErrorCode, type DtlsSrtpKeys, type SrtpProfilePolicy,
} from '../keying/dtls/index.ts';
import type { SuiteName } from '../crypto/suites.ts';
import type { MediaPort } from '../net/MediaPort.ts';
import type { Endpoint } from '../net/types.ts';
import { RelayError } from '../errors.ts';
import type { StreamCrypto } from './MediaStream.ts';

/** Where a stream is with DTLS-SRTP: not used, handshake running, keys installed, or given up. */
export type DtlsStreamState = 'none' | 'handshaking' | 'connected' | 'failed';

/**
 * Which SRTP profiles a stream may negotiate. The relay never carries NULL-cipher suites, so
 * the policy's insecure NULL option is not offered here.
 */
export type DtlsSrtpPolicy = Pick<SrtpProfilePolicy, 'suites' | 'minRank'>;

export interface StartDtlsOptions {
  /** 'client' sends the ClientHello (we are a=setup:active), 'server' waits for one (a=setup:passive). */
  role: 'client' | 'server';
  /**
   * The peer's a=fingerprint values (`sha-256 AB:CD:…`, hash name in any case). Values we
   * refuse (sha-1, unknown hashes, malformed) are ignored while at least one usable value
   * remains; an empty list means "not known yet" (media before the answer): the handshake
   * runs and its keys wait for setRemoteFingerprints().
   */
  remoteFingerprints: readonly string[];
  /** SRTP profiles that may be negotiated. Default: every DTLS-SRTP profile of the suite table that encrypts. */
  srtpPolicy?: DtlsSrtpPolicy;
  /**
   * Hand copies of the exported SRTP keys to a `keys` listener once they are installed (call
   * state replication seals them: a DTLS association cannot be carried to another relay, its
   * keys can). Off by default: without replication no copy of a key ever leaves the handshake.
   */
  exportKeys?: boolean;
  /**
   * Leave the stream's current contexts carrying media until this handshake installs its keys
   * (a call taken over from another relay runs on the keys that relay exported while it
   * re-keys). Default false: the stream goes 'pending' at once.
   */
  keepKeys?: boolean;
}

/**
 * Copies of a completed handshake's SRTP keys (`exportKeys`). Listeners get them synchronously
 * and must not keep them: every buffer is zeroed as soon as the listeners return.
 */
export interface DtlsExportedKeys {
  /** What the peer protects with (we unprotect). */
  readonly inbound: StreamCrypto;
  /** What we protect with towards the peer. */
  readonly outbound: StreamCrypto;
}

const REDACTED = '[DtlsExportedKeys: redacted]';

/** The exported keys as handed out: JSON and util.inspect show no key material (STYLE rule 14). */
export function exportedKeys(inbound: StreamCrypto, outbound: StreamCrypto): DtlsExportedKeys {
  const k = { inbound, outbound };
  // Non-enumerable: a spread or a structured clone of the parts never carries them.
  Object.defineProperty(k, 'toJSON', { value: () => REDACTED });
  Object.defineProperty(k, inspect.custom, { value: () => REDACTED });
  return k;
}

/** Zeroes both directions' buffers; buffers already moved to another thread are left alone. */
export function wipeExportedKeys(k: DtlsExportedKeys): void {
  for (const b of [k.inbound.masterKey, k.inbound.masterSalt, k.outbound.masterKey, k.outbound.masterSalt]) {
    // A transferred buffer is detached (byteLength 0): fill() would throw on it.
    if (b.byteLength > 0) b.fill(0);
  }
}

/** The relay's DTLS identity, shared by every stream of one host. */
export interface DtlsIdentity {
  certificate: DtlsCertificate;
  /** HelloVerifyRequest cookie secret: one per host, so cookies cost no per-stream state. */
  cookies: CookieSecret;
}

/** Per-stream DTLS counters (cumulative over restarts). */
export interface DtlsCounters {
  /** Datagrams handed to the endpoint (after the source and rate-limit checks). */
  datagramsIn: number;
  /** Datagrams sent from the stream's RTP port. */
  datagramsOut: number;
  /** Handshakes that completed and installed keys. */
  handshakes: number;
  /** Handshakes that failed (each also emitted `dtlserror`). */
  failures: number;
}

export function newDtlsCounters(): DtlsCounters {
  return { datagramsIn: 0, datagramsOut: 0, handshakes: 0, failures: 0 };
}

/** What StreamDtls needs of its stream (MediaStream implements it). */
export interface StreamDtlsHost {
  readonly rtpPort: MediaPort;
  readonly latchedRtp: Endpoint | null;
  readonly remoteRtp: Endpoint | null;
  readonly closed: boolean;
  /** Installs both directions or neither; throws with the stream unchanged. */
  installDtlsKeys(inbound: StreamCrypto, outbound: StreamCrypto): void;
  latch(rtcp: boolean, address: string, port: number): void;
}

export interface StreamDtlsEvents {
  /** Keys installed; carries the negotiated suite only, never key material. */
  connected: [{ suite: SuiteName }];
  /** Only with `exportKeys`: copies of the installed keys, zeroed when the listeners return (before `connected`). */
  keys: [DtlsExportedKeys];
  /** The handshake failed; the stream stays without keys. */
  error: [{ code: DtlsErrorCode; message: string }];
}

/**
 * Parses a=fingerprint values for a stream, keeping the ones we accept. Throws E_BAD_SDP when
 * values were given but none is usable: answering such a peer could only end in a mismatch.
 * Returns the canonical spellings, which is what crosses to a media worker.
 */
export function usableFingerprints(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    try {
      out.push(formatFingerprint(parseFingerprint(v)));
    } catch (e) {
      if (!(e instanceof DtlsError)) throw e;
      // RFC 8122 §5 lets a peer list several hashes; one we refuse does not spoil the others.
    }
  }
  if (values.length > 0 && out.length === 0) {
    throw new RelayError('E_BAD_SDP', 'no usable a=fingerprint (sha-256/384/512 expected)', { given: values.length });
  }
  return out;
}

const noop = (): void => {};

export class StreamDtls extends EventEmitter<StreamDtlsEvents> {
  readonly #host: StreamDtlsHost;
  readonly #counters: DtlsCounters;
  readonly #endpoint: DtlsEndpoint;
  #state: DtlsStreamState = 'handshaking';
  #closing = false;
  /** Source of the datagram being handled right now: synchronous replies go there. */
  #current: Endpoint | null = null;
  /** Last source whose datagram the endpoint answered: timer retransmissions go there. */
  #handshakePeer: Endpoint | null = null;
  /** The endpoint sent something while handling the current datagram. */
  #answered = false;
  /** Source of the datagram that completed the handshake (keys may wait for a fingerprint). */
  #finishedFrom: Endpoint | null = null;
  readonly #exportKeys: boolean;

  /** Creates and starts the endpoint; a client sends its ClientHello at once. */
  constructor(host: StreamDtlsHost, identity: DtlsIdentity, counters: DtlsCounters, o: StartDtlsOptions) {
    super();
    this.#host = host;
    this.#counters = counters;
    this.#exportKeys = o.exportKeys === true;
    const fingerprints = usableFingerprints(o.remoteFingerprints);
    this.#endpoint = new DtlsEndpoint({
      role: o.role,
      certificate: identity.certificate,
      cookies: identity.cookies,
      send: (d) => this.#send(d),
      // An empty list would mean "expect nothing"; leaving it unset means "not known yet".
      ...(fingerprints.length > 0 ? { remoteFingerprints: fingerprints } : {}),
      // Only the two safe fields: a NULL-cipher profile could never become a stream context.
      srtpPolicy: { ...(o.srtpPolicy?.suites ? { suites: o.srtpPolicy.suites } : {}), ...(o.srtpPolicy?.minRank !== undefined ? { minRank: o.srtpPolicy.minRank } : {}) },
    });
    this.#endpoint.on('connected', (keys) => this.#onConnected(keys));
    this.#endpoint.on('error', (e) => this.#fail(e.code, e.message));
    this.#endpoint.on('close', () => this.#onEndpointClose());
    this.#endpoint.start();
  }

  get state(): DtlsStreamState { return this.#state; }

  /**
   * Sets the expected fingerprints while the handshake runs (the SDP answer arrived). Once
   * connected it changes nothing: the association was verified, and re-checking a re-INVITE's
   * values would only end the endpoint that must still answer retransmissions. A peer with a
   * new certificate needs a new association.
   */
  setRemoteFingerprints(values: readonly string[]): void {
    const fingerprints = usableFingerprints(values);
    if (fingerprints.length === 0 || this.#state !== 'handshaking') return;
    this.#endpoint.setRemoteFingerprints(fingerprints);
  }

  /** One DTLS datagram (a copy the endpoint may keep) from address:port. Never throws. */
  receive(datagram: Uint8Array, address: string, port: number): void {
    this.#counters.datagramsIn++;
    const ep = this.#endpoint;
    const source: Endpoint = { address, port };
    this.#current = source;
    this.#answered = false;
    try {
      // The address binds HelloVerifyRequest cookies; the last ':' splits it unambiguously.
      ep.handleDatagram(datagram, `${address}:${port}`);
    } finally {
      this.#current = null;
    }
    if (this.#state !== 'handshaking') return;
    // Only a datagram that moved the handshake on draws an answer. Junk from a third party
    // does not, so it cannot steer our retransmissions away from the real peer.
    if (this.#answered) this.#handshakePeer = source;
    if (this.#finishedFrom === null && (ep.state === 'verifying' || ep.state === 'connected')) this.#finishedFrom = source;
  }

  /** Sends close_notify when a session exists and stops the endpoint's timers. Idempotent. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#endpoint.close();
  }

  #destination(): Endpoint | null {
    const s = this.#host;
    // Once connected the latch is authenticated; a datagram from elsewhere (say a replayed
    // client flight) must not make us send there.
    if (this.#state !== 'connected') return this.#current ?? this.#handshakePeer ?? s.latchedRtp ?? s.remoteRtp;
    return s.latchedRtp ?? s.remoteRtp;
  }

  #send(d: Uint8Array): void {
    const s = this.#host;
    const dest = this.#destination();
    if (dest === null || s.closed) return;
    if (this.#current !== null) this.#answered = true;
    this.#counters.datagramsOut++;
    // A copy the port owns until its send completes, whatever the endpoint does with `d`.
    const buf = Buffer.from(d);
    s.rtpPort.send(buf, buf.length, dest.port, dest.address, noop);
  }

  #onConnected(keys: DtlsSrtpKeys): void {
    // Called from inside the endpoint: nothing here may throw back into it.
    const from = this.#current ?? this.#finishedFrom;
    const suite = keys.suite.name;
    // Copied before the install, which may wipe what it is given; handed out only once installed.
    const exported: DtlsExportedKeys | null = this.#exportKeys ? exportedKeys(
      { suite, masterKey: Uint8Array.from(keys.remoteKey), masterSalt: Uint8Array.from(keys.remoteSalt) },
      { suite, masterKey: Uint8Array.from(keys.localKey), masterSalt: Uint8Array.from(keys.localSalt) },
    ) : null;
    try {
      this.#host.installDtlsKeys(
        { suite, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt },
        { suite, masterKey: keys.localKey, masterSalt: keys.localSalt },
      );
    } catch (e) {
      // E.g. the core's context table is full. The stream stays pending; the association
      // is of no use without contexts, so end it (the endpoint directly: close() would mean
      // the owner is gone and silence the error event).
      if (exported !== null) wipeExportedKeys(exported);
      this.#fail('E_DTLS_INTERNAL', `SRTP contexts could not be created: ${e instanceof Error ? e.message : 'unknown error'}`);
      this.#endpoint.close();
      return;
    } finally {
      keys.wipe();
    }
    // State first: should a 'latch' listener throw into the endpoint, the failure it causes
    // there must not be mistaken for a failed handshake.
    this.#state = 'connected';
    this.#counters.handshakes++;
    // The datagram that carried the peer's authenticated last flight (or the one that
    // completed the handshake, when the fingerprint came later) proves this address.
    if (from !== null) this.#host.latch(false, from.address, from.port);
    if (exported !== null) {
      process.nextTick(() => {
        try {
          if (!this.#closing) this.emit('keys', exported);
        } finally {
          wipeExportedKeys(exported);
        }
      });
    }
    this.#later(() => this.emit('connected', { suite }));
  }

  #onEndpointClose(): void {
    if (this.#closing || this.#state !== 'handshaking') return;
    // A close_notify before the handshake finished (the endpoint emits no error for it). After
    // it finished the keys stay: the call's signalling, not DTLS, ends the media.
    this.#fail('E_DTLS_ALERT', 'peer closed the DTLS association before the handshake completed');
  }

  #fail(code: DtlsErrorCode, message: string): void {
    // After connecting only the authenticated peer can end the endpoint (epoch-0 alerts are
    // ignored by then); as with close_notify, the installed keys stay until signalling says.
    if (this.#state !== 'handshaking' || this.#closing) return;
    this.#state = 'failed';
    this.#counters.failures++;
    this.#later(() => this.emit('error', { code, message }));
  }

  /**
   * Events leave the endpoint's call stack first: a listener that closes the stream or throws
   * must not land inside the handshake code, which would turn its exception into a DTLS failure.
   */
  #later(emit: () => void): void {
    process.nextTick(() => {
      if (!this.#closing) emit();
    });
  }
}
