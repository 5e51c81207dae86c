// What signalling code may do with a media stream, whether its packets move in this thread
// (MediaStream) or in a worker (RemoteMediaStream).
import type { EventEmitter } from 'node:events';
import type { Endpoint } from '../net/types.ts';
import type { StreamStats } from '../media/StreamStats.ts';
import type { CryptoSuite } from '../crypto/suites.ts';
import type { CryptoMode, MediaStreamEvents, StreamCrypto } from './MediaStream.ts';

export interface MediaStreamHandle extends EventEmitter<MediaStreamEvents> {
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
  setInboundCrypto(c: StreamCrypto | null): void;
  setOutboundCrypto(c: StreamCrypto | null): void;
  setRemote(rtp: Endpoint | null, rtcp?: Endpoint | null): void;
  close(): void;
}
