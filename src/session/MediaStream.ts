// One media stream (one SDP m= line) of one leg: its sockets, its two crypto contexts, the
// peer address it was told about and the one it latched, and its counters.
import { EventEmitter } from 'node:events';
import type { MediaPort } from '../net/MediaPort.ts';
import type { Endpoint } from '../net/types.ts';
import { StreamStats } from '../media/StreamStats.ts';
import type { CryptoCore } from '../crypto/CryptoCore.ts';
import { suiteByName, type CryptoSuite, type SuiteName } from '../crypto/suites.ts';
import { RelayError } from '../errors.ts';
import { EV_SRTCP_SOFT_LIMIT, EV_SRTP_SOFT_LIMIT } from '../crypto/abi.ts';
import type { MediaStreamHandle } from './MediaStreamHandle.ts';
import { applyStreamIndexFloor, readStreamIndexState, type StreamIndexState } from './indexState.ts';
import type { SdesRewriter } from '../media/rtcpSdes.ts';
import { reportedRate } from './RateLimiter.ts';
import type { DtlsErrorCode } from '../keying/dtls/index.ts';
import {
  StreamDtls, newDtlsCounters, usableFingerprints,
  type DtlsCounters, type DtlsExportedKeys, type DtlsIdentity, type DtlsStreamState, type StartDtlsOptions,
} from './StreamDtls.ts';

/** Keys for one direction of a stream; `null` means plain RTP in that direction. */
export interface StreamCrypto {
  suite: SuiteName;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  /** Replay window in packets. Default 1024 (capped by the relay's core). */
  replayWindow?: number;
  /** The key's MKI on the wire (1..4 bytes), when the peer sends one (RFC 3711 §3.1). */
  mki?: { length: number; value: number };
  /** SDES KDR=n: session keys re-derived every 2^n packets. Default: derived once. */
  kdr?: number;
  /** SDES lifetime: packets this master key may protect. Default: the suite's limit. */
  lifetime?: bigint;
  /** Further master keys of the same line, told apart by their MKI. */
  moreKeys?: { masterKey: Uint8Array; masterSalt: Uint8Array; mki: number; lifetime?: bigint }[];
}

export type CryptoMode = 'pending' | 'plain' | 'srtp';

/** Admission control applied before any crypto (rate limits, bans); see RateLimiter. */
export interface PacketAdmission {
  /** False refuses the packet (counted as rateLimited). */
  take(address: string, bytes: number, now: number, port: number): boolean;
  /** The packet from address:port failed unprotect (forged, malformed or replayed). */
  authFailed(address: string, now: number, port: number): void;
  /** The stream's own packets/s and bytes/s budget (null: the configured one); see MediaStreamHandle.setRateLimit. */
  setStreamRate?(rate: { pps: number; bps: number } | null): void;
}

export interface MediaStreamEvents {
  /** The stream learned (or moved) its peer address from an authenticated packet. */
  latch: [{ rtcp: boolean; endpoint: Endpoint }];
  /** DTLS-SRTP completed and both contexts are installed (never carries key material). */
  dtlsconnected: [{ suite: SuiteName }];
  /**
   * Only when startDtls() had `exportKeys`: copies of the keys just installed, before
   * 'dtlsconnected'. Zeroed as soon as the listeners return: seal them synchronously.
   */
  dtlskeys: [DtlsExportedKeys];
  /** The DTLS-SRTP handshake failed; the stream stays without keys and carries no media. */
  dtlserror: [{ code: DtlsErrorCode; message: string }];
  /** A master key is 2^16 packets from its limit (suite or SDES lifetime): re-key soon. */
  keysoftlimit: [{ direction: 'inbound' | 'outbound'; kind: 'srtp' | 'srtcp' }];
  '@close': [];
}

export class MediaStream extends EventEmitter<MediaStreamEvents> implements MediaStreamHandle {
  readonly index: number;
  readonly rtpPort: MediaPort;
  readonly rtcpPort: MediaPort | null;
  readonly stats = new StreamStats();
  /** RTP and RTCP share rtpPort (RFC 5761). */
  rtcpMux: boolean;
  /** After latching, refuse other sources even when they authenticate. */
  strictSource: boolean;
  rateLimiter: PacketAdmission | null = null;
  /** See MediaStreamHandle.rateLimit. */
  rateLimit: { readonly pps: number; readonly bps: number } | null = null;
  /** Set when the stream's call crosses interfaces: RTCP SDES text is replaced (topology hiding). */
  sdesRewriter: SdesRewriter | null = null;

  // Data-path state, read by media/pipeline.ts on every packet.
  inMode: CryptoMode = 'pending';
  outMode: CryptoMode = 'pending';
  inCtx = -1;
  outCtx = -1;
  inSuite: CryptoSuite | null = null;
  outSuite: CryptoSuite | null = null;
  peer: MediaStream | null = null;
  remoteRtp: Endpoint | null = null;
  remoteRtcp: Endpoint | null = null;
  latchedRtp: Endpoint | null = null;
  latchedRtcp: Endpoint | null = null;
  /** The DTLS-SRTP glue once startDtls() ran; the pipeline hands it DTLS datagrams. */
  streamDtls: StreamDtls | null = null;
  readonly dtlsStats: DtlsCounters = newDtlsCounters();

  readonly #core: CryptoCore;
  readonly #dtlsIdentity: DtlsIdentity | null;
  #closed = false;

  constructor(core: CryptoCore, index: number, rtpPort: MediaPort, rtcpPort: MediaPort | null,
    options: { rtcpMux: boolean; strictSource: boolean; dtls?: DtlsIdentity | null }) {
    super();
    this.#core = core;
    this.#dtlsIdentity = options.dtls ?? null;
    this.index = index;
    this.rtpPort = rtpPort;
    this.rtcpPort = rtcpPort;
    this.rtcpMux = options.rtcpMux;
    this.strictSource = options.strictSource;
  }

  get closed(): boolean { return this.#closed; }

  get dtls(): DtlsStreamState { return this.streamDtls?.state ?? 'none'; }

  /**
   * Starts DTLS-SRTP on this stream's RTP port. The stream's crypto goes back to 'pending'
   * (no media) until the handshake completes against the expected fingerprint. Allowed when
   * DTLS is not running ('none' or 'failed'). Throws E_BAD_SDP when fingerprints were given
   * but none is usable.
   */
  startDtls(o: StartDtlsOptions): void {
    this.#check();
    const identity = this.#dtlsIdentity;
    if (identity === null) throw new RelayError('E_INVALID_STATE', 'this media host has no DTLS certificate', { index: this.index });
    const state = this.dtls;
    if (state === 'handshaking' || state === 'connected') throw new RelayError('E_INVALID_STATE', 'DTLS is already running on the stream', { index: this.index, state });
    usableFingerprints(o.remoteFingerprints); // validate before anything changes
    // Keys installed earlier (SDES before a re-INVITE, say) must not carry media while the
    // new handshake runs: only keys from a verified handshake may. `keepKeys` is the exception:
    // keys a failed relay's verified handshake exported, kept until this one replaces them.
    if (o.keepKeys !== true) this.#resetCrypto();
    this.streamDtls?.close();
    this.streamDtls?.removeAllListeners();
    const d = new StreamDtls(this, identity, this.dtlsStats, o);
    d.on('keys', (k) => this.emit('dtlskeys', k));
    d.on('connected', (e) => this.emit('dtlsconnected', e));
    d.on('error', (e) => this.emit('dtlserror', e));
    this.streamDtls = d;
  }

  /** The expected a=fingerprint values, when they were not known at startDtls() (see MediaStreamHandle). */
  setRemoteFingerprints(fingerprints: readonly string[]): void {
    this.#check();
    const d = this.streamDtls;
    if (d === null) throw new RelayError('E_INVALID_STATE', 'DTLS was not started on the stream', { index: this.index });
    d.setRemoteFingerprints(fingerprints);
  }

  /** @internal DTLS-SRTP keys: both directions or, when either context fails, neither. */
  installDtlsKeys(inbound: StreamCrypto, outbound: StreamCrypto): void {
    this.#check();
    const i = this.#context(inbound, 'inbound');
    let o: { ctx: number; suite: CryptoSuite | null };
    try {
      o = this.#context(outbound, 'outbound');
    } catch (e) {
      this.#core.destroyContext(i.ctx);
      throw e;
    }
    this.#resetCrypto();
    this.inCtx = i.ctx; this.inSuite = i.suite; this.inMode = 'srtp';
    this.outCtx = o.ctx; this.outSuite = o.suite; this.outMode = 'srtp';
  }

  /** Keys the far end of this leg sends with (we unprotect with them); null for plain RTP. */
  setInboundCrypto(c: StreamCrypto | null): void {
    this.#check();
    const { ctx, suite } = this.#context(c, 'inbound');
    if (this.inCtx >= 0) this.#core.destroyContext(this.inCtx);
    this.inCtx = ctx;
    this.inSuite = suite;
    this.inMode = c ? 'srtp' : 'plain';
  }

  /** Keys we send to the far end of this leg with; null for plain RTP. */
  setOutboundCrypto(c: StreamCrypto | null): void {
    this.#check();
    const { ctx, suite } = this.#context(c, 'outbound');
    if (this.outCtx >= 0) this.#core.destroyContext(this.outCtx);
    this.outCtx = ctx;
    this.outSuite = suite;
    this.outMode = c ? 'srtp' : 'plain';
  }

  /** See MediaStreamHandle.setRateLimit. No effect when the relay runs without rate limits. */
  setRateLimit(rate: { pps: number; bps: number } | null): void {
    this.#check();
    this.rateLimiter?.setStreamRate?.(rate);
    this.rateLimit = reportedRate(rate);
  }

  /** The address signalling says this leg's far end uses. */
  setRemote(rtp: Endpoint | null, rtcp: Endpoint | null = null): void {
    this.remoteRtp = rtp;
    this.remoteRtcp = rtcp;
  }

  rtpDestination(): Endpoint | null {
    return this.latchedRtp ?? this.remoteRtp;
  }

  rtcpDestination(): Endpoint | null {
    if (this.rtcpMux) return this.rtpDestination();
    if (this.latchedRtcp) return this.latchedRtcp;
    if (this.remoteRtcp) return this.remoteRtcp;
    const rtp = this.latchedRtp ?? this.remoteRtp;
    return rtp ? { address: rtp.address, port: rtp.port + 1 } : null;
  }

  /** True when address:port is this stream's latched RTP or RTCP peer. */
  isLatched(address: string, port: number): boolean {
    const r = this.latchedRtp, c = this.latchedRtcp;
    return (r !== null && r.port === port && r.address === address) || (c !== null && c.port === port && c.address === address);
  }

  /** Reports the contexts' key-usage events (read from the core, off the packet path). */
  pollKeyEvents(): void {
    for (const [ctx, direction] of [[this.inCtx, 'inbound'], [this.outCtx, 'outbound']] as const) {
      if (ctx < 0) continue;
      const ev = this.#core.takeEvents(ctx);
      if (ev <= 0) continue;
      if (ev & EV_SRTP_SOFT_LIMIT) this.emit('keysoftlimit', { direction, kind: 'srtp' });
      if (ev & EV_SRTCP_SOFT_LIMIT) this.emit('keysoftlimit', { direction, kind: 'srtcp' });
    }
  }

  /** Per-SSRC indexes of the current contexts (takeover high-water marks; see indexState.ts). */
  indexState(): Promise<StreamIndexState> {
    try {
      this.#check();
      return Promise.resolve(readStreamIndexState(this.#core, this.inCtx, this.outCtx));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** See MediaStreamHandle.closeWithIndexState: read and close run synchronously, so nothing comes between. */
  closeWithIndexState(): Promise<StreamIndexState> {
    try {
      this.#check();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    let state: StreamIndexState;
    try {
      state = readStreamIndexState(this.#core, this.inCtx, this.outCtx);
    } catch (e) {
      this.close();
      return Promise.reject(e as Error);
    }
    this.close();
    return Promise.resolve(state);
  }

  /** Raises the current contexts' indexes to a floor persisted by a failed relay (see indexState.ts). */
  applyIndexFloor(floor: StreamIndexState): Promise<void> {
    try {
      this.#check();
      applyStreamIndexFloor(this.#core, this.inCtx, this.outCtx, floor, this.index);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** True when address is where signalling says this stream's peer is. */
  isExpected(address: string): boolean {
    return this.remoteRtp?.address === address || this.remoteRtcp?.address === address;
  }

  /** Called by the pipeline only after the packet authenticated (or on a plain leg). */
  latch(rtcp: boolean, address: string, port: number): void {
    const endpoint = { address, port };
    if (rtcp && !this.rtcpMux) this.latchedRtcp = endpoint;
    else this.latchedRtp = endpoint;
    this.emit('latch', { rtcp, endpoint });
  }

  /** Closes sockets and destroys both contexts (keys zeroed). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Before the sockets go: close_notify leaves through the RTP port.
    this.streamDtls?.close();
    this.rtpPort.close();
    this.rtcpPort?.close();
    if (this.inCtx >= 0) this.#core.destroyContext(this.inCtx);
    if (this.outCtx >= 0) this.#core.destroyContext(this.outCtx);
    this.inCtx = this.outCtx = -1;
    this.inMode = this.outMode = 'pending';
    if (this.peer?.peer === this) this.peer.peer = null;
    this.peer = null;
    this.emit('@close');
  }

  #context(c: StreamCrypto | null, direction: 'inbound' | 'outbound'): { ctx: number; suite: CryptoSuite | null } {
    if (!c) return { ctx: -1, suite: null };
    const suite = suiteByName(c.suite);
    if (!suite) throw new RelayError('E_BAD_REQUEST', 'unknown SRTP suite', { suite: String(c.suite) });
    if (!suite.encrypts) throw new RelayError('E_BID_DOWN', 'NULL cipher suites are not carried by the relay', { suite: suite.name });
    const window = Math.min(c.replayWindow ?? 1024, this.#core.maxReplayWindow);
    const ctx = this.#core.createContext({
      suite, direction, masterKey: c.masterKey, masterSalt: c.masterSalt, replayWindow: window,
      ...(c.mki ? { mki: c.mki } : {}), ...(c.kdr !== undefined ? { kdr: c.kdr } : {}),
      ...(c.lifetime !== undefined ? { lifetime: c.lifetime } : {}),
    });
    try {
      for (const k of c.moreKeys ?? []) this.#core.addKey(ctx, suite, k.masterKey, k.masterSalt, k.mki, k.lifetime);
    } catch (e) {
      this.#core.destroyContext(ctx);
      throw e;
    }
    return { ctx, suite };
  }

  /** Back to 'pending' in both directions, contexts destroyed (keys zeroed). */
  #resetCrypto(): void {
    if (this.inCtx >= 0) this.#core.destroyContext(this.inCtx);
    if (this.outCtx >= 0) this.#core.destroyContext(this.outCtx);
    this.inCtx = this.outCtx = -1;
    this.inSuite = this.outSuite = null;
    this.inMode = this.outMode = 'pending';
  }

  #check(): void {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'stream is closed', { index: this.index });
  }
}

/** Pairs two streams so packets arriving at one go out through the other. */
export function linkStreams(a: MediaStreamHandle, b: MediaStreamHandle): void {
  if (a instanceof MediaStream && b instanceof MediaStream) {
    a.peer = b;
    b.peer = a;
    return;
  }
  const link = (a as { linkTo?: (o: MediaStreamHandle) => void }).linkTo;
  if (!link) throw new RelayError('E_INTERNAL', 'cannot link streams of different kinds');
  link.call(a, b);
}
