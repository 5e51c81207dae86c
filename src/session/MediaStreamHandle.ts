// What signalling code may do with a media stream, whether its packets move in this thread
// (MediaStream) or in a worker (RemoteMediaStream).
import type { EventEmitter } from 'node:events';
import type { Endpoint } from '../net/types.ts';
import type { StreamStats } from '../media/StreamStats.ts';
import type { CryptoSuite } from '../crypto/suites.ts';
import type { CryptoMode, MediaStreamEvents, StreamCrypto } from './MediaStream.ts';
import type { DtlsCounters, DtlsStreamState, StartDtlsOptions } from './StreamDtls.ts';
import type { StreamIndexOps, StreamIndexState } from './indexState.ts';

export type { SsrcIndex, StreamIndexState, StreamIndexOps } from './indexState.ts';

/** indexState() / applyIndexFloor(): see StreamIndexOps (takeover of another relay's calls). */
export interface MediaStreamHandle extends EventEmitter<MediaStreamEvents>, StreamIndexOps {
  readonly index: number;
  readonly rtpPort: { readonly port: number };
  readonly rtcpPort: { readonly port: number } | null;
  readonly stats: StreamStats;
  /** RTP and RTCP share rtpPort (RFC 5761). */
  rtcpMux: boolean;
  /** After latching, refuse other sources even when they authenticate. */
  strictSource: boolean;
  readonly inMode: CryptoMode;
  readonly outMode: CryptoMode;
  readonly inSuite: CryptoSuite | null;
  readonly outSuite: CryptoSuite | null;
  readonly remoteRtp: Endpoint | null;
  readonly remoteRtcp: Endpoint | null;
  readonly latchedRtp: Endpoint | null;
  readonly latchedRtcp: Endpoint | null;
  readonly closed: boolean;
  /** DTLS-SRTP on this stream: 'none' until startDtls(). */
  readonly dtls: DtlsStreamState;
  /** DTLS datagram and handshake counters (mirrored from a worker like `stats`). */
  readonly dtlsStats: Readonly<DtlsCounters>;
  setInboundCrypto(c: StreamCrypto | null): void;
  setOutboundCrypto(c: StreamCrypto | null): void;
  setRemote(rtp: Endpoint | null, rtcp?: Endpoint | null): void;
  /**
   * The stream's flood budget for its latched peer, in packets/s and bytes/s (0: that
   * dimension unlimited), applied before any crypto; other sources keep their share of it.
   * Capped at the relay's configured per-stream rate (it can only tighten); null restores that
   * rate. The call controller sets it from the SDP's codec and ptime (control/mediaRate.ts).
   */
  setRateLimit(rate: { pps: number; bps: number } | null): void;
  /** What setRateLimit was last given (before the cap); null: the configured rate. Replicated with the call. */
  readonly rateLimit: { readonly pps: number; readonly bps: number } | null;
  /**
   * Terminates DTLS-SRTP on the stream's RTP port with the relay's certificate: the crypto
   * goes 'pending' until the handshake verified the peer against `remoteFingerprints`, then
   * both directions are keyed and the stream latches to the peer ('dtlsconnected'); a failure
   * emits 'dtlserror' and leaves the stream without media. Throws E_BAD_SDP (no usable
   * fingerprint among those given) or E_INVALID_STATE (closed, or DTLS already running).
   */
  startDtls(o: StartDtlsOptions): void;
  /** Expected peer fingerprints unknown at startDtls() (the answer came later); they count
   *  while the handshake runs and are ignored once it connected or failed. */
  setRemoteFingerprints(fingerprints: readonly string[]): void;
  close(): void;
  /**
   * Reads the current contexts' per-SSRC state and closes the stream with no packet handled in
   * between (in a worker: both in one turn of the worker's loop), so a hand-over's final marks
   * are exact. The stream is closed however the read went; rejects E_INVALID_STATE when it was
   * already closed.
   */
  closeWithIndexState(): Promise<StreamIndexState>;
}
