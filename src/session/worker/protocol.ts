// Messages between the relay (main thread) and a media worker. Keys travel only in `crypto`
// messages, as transferred buffers that the sender no longer holds.
import type { AddressFamily, Endpoint } from '../../net/types.ts';
import type { StreamCrypto } from '../MediaStream.ts';
import type { SuiteName } from '../../crypto/suites.ts';
import type { MediaHostOptions } from '../MediaHost.ts';
import type { SecurityEvent } from '../RateLimiter.ts';
import type { DropReason } from '../../media/StreamStats.ts';
import type { DtlsErrorCode } from '../../keying/dtls/index.ts';
import type { DtlsCounters, DtlsSrtpPolicy } from '../StreamDtls.ts';
import type { StreamIndexState } from '../indexState.ts';

/**
 * A worker's start-up options. The DTLS certificate travels as PEM (a KeyObject does not
 * cross threads); each worker makes its own cookie secret, as its streams' cookies never
 * need checking anywhere else.
 */
export type WorkerInit = Omit<MediaHostOptions, 'onSecurity' | 'warn' | 'dtls'> & {
  dtlsCertificate: { certPem: string; keyPem: string };
};

/** A stream's keys as posted to the worker: StreamCrypto is plain data, so it clones as is. */
export type CryptoSpecMsg = StreamCrypto;

export type ToWorker =
  | { t: 'bind'; id: number; family: AddressFamily; address: string; port: number; index: number; rtcpMux: boolean; strictSource: boolean; sessionId: number; hideTopology: boolean }
  | { t: 'link'; a: number; b: number }
  | { t: 'remote'; id: number; rtp: Endpoint | null; rtcp: Endpoint | null }
  | { t: 'crypto'; id: number; dir: 'in' | 'out'; spec: CryptoSpecMsg | null }
  | { t: 'set'; id: number; rtcpMux: boolean; strictSource: boolean }
  | { t: 'rate'; id: number; rate: { pps: number; bps: number } | null }
  | { t: 'dtls-start'; id: number; role: 'client' | 'server'; remoteFingerprints: string[]; srtpPolicy?: DtlsSrtpPolicy; exportKeys?: boolean; keepKeys?: boolean }
  | { t: 'dtls-fingerprints'; id: number; remoteFingerprints: string[] }
  | { t: 'index-state'; id: number; req: number }
  | { t: 'index-floor'; id: number; req: number; floor: StreamIndexState }
  | { t: 'close'; id: number }
  /** Reads the stream's index state and closes it in one turn (a hand-over's exact final state);
   *  answered with an index-reply. The main thread's 'close' that follows finds it gone. */
  | { t: 'close-read'; id: number; req: number }
  | { t: 'session-closed'; sessionId: number }
  | { t: 'stats'; req: number }
  | { t: 'shutdown' };

export interface StatsItem {
  id: number;
  packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number; rtcpIn: number;
  drops: Record<DropReason, number>;
  lastPacketAt: number;
  dtls: DtlsCounters;
}

export type FromWorker =
  | { t: 'ready'; build: string; io: 'native' | 'dgram' }
  | { t: 'bound'; id: number; error?: { code: string; message: string } }
  | { t: 'closed'; id: number }
  | { t: 'latch'; id: number; rtcp: boolean; endpoint: Endpoint }
  | { t: 'keysoftlimit'; id: number; direction: 'inbound' | 'outbound'; kind: 'srtp' | 'srtcp' }
  | { t: 'dtls-connected'; id: number; suite: SuiteName }
  /** Only for a stream started with exportKeys: the keys' buffers are transferred (the worker keeps none). */
  | { t: 'dtls-keys'; id: number; inbound: CryptoSpecMsg; outbound: CryptoSpecMsg }
  | { t: 'dtls-error'; id: number; code: DtlsErrorCode; message: string }
  | { t: 'stats'; req: number; items: StatsItem[] }
  | { t: 'security'; event: SecurityEvent }
  | { t: 'fault'; id: number; message: string }
  /** Answer to index-state or close-read (with `state`) or index-floor, or the error any raised. */
  | { t: 'index-reply'; id: number; req: number; state?: StreamIndexState; error?: { code: string; message: string } };
