// Everything that moves packets in one thread: the crypto core, the packet ring, the I/O
// backend and the flood-control tables, and the binding of a stream's two ports. The Relay
// owns one in-process, or one per worker thread (src/session/worker/).
import { randomBytes } from 'node:crypto';
import { CryptoCore, type CryptoCoreOptions } from '../crypto/CryptoCore.ts';
import { UdpMediaPort } from '../net/UdpMediaPort.ts';
import { BatchedIo } from '../net/native/BatchedIo.ts';
import type { MediaPort } from '../net/MediaPort.ts';
import type { AddressFamily } from '../net/types.ts';
import { DataPath } from '../media/DataPath.ts';
import { handleDatagram, handlePacket } from '../media/pipeline.ts';
import { MediaStream } from './MediaStream.ts';
import { RelayError } from '../errors.ts';
import { Bucket, RATE_LIMIT_DEFAULTS, SourceTable, StreamAdmission, type RateLimiterOptions, type SecurityEvent } from './RateLimiter.ts';
import type { DtlsIdentity } from './StreamDtls.ts';
import { SdesRewriter } from '../media/rtcpSdes.ts';

export type RelayIo = 'auto' | 'dgram' | 'native';

export interface MediaHostOptions {
  core?: CryptoCoreOptions;
  io?: RelayIo;
  rateLimits?: RateLimiterOptions | false;
  socketBufferBytes?: number;
  onSecurity?: (e: SecurityEvent) => void;
  /** Where to say that the batched backend is unavailable (once). Default console.warn. */
  warn?: (msg: string) => void;
  /** Certificate and cookie secret for streams that terminate DTLS-SRTP. Default none: startDtls() is refused. */
  dtls?: DtlsIdentity;
  /** Secret (≥ 16 bytes) the RTCP SDES tokens of topology hiding derive from; the relay's, so
   *  every host makes the same tokens. Default: a random one per host. */
  topologySecret?: Uint8Array;
}

export interface BindOptions {
  index: number;
  rtcpMux: boolean;
  strictSource: boolean;
  /** Streams with the same key share a session bucket. */
  sessionKey: object;
  /** Replace RTCP SDES item text on this stream's packets. Default false. */
  hideTopology?: boolean;
}

type BoundPort = MediaPort & { setBufferSizes(bytes: number): void };

let warnedNoNative = false;

/** The batched backend for `io`, or null for node:dgram. */
function chooseIo(io: RelayIo, dp: DataPath, warn: (msg: string) => void): BatchedIo | null {
  if (io === 'dgram') return null;
  let reason = BatchedIo.unavailableReason() ?? '';
  if (BatchedIo.available()) {
    try {
      return BatchedIo.create(dp);
    } catch (e) {
      if (io === 'native') throw e;
      reason = (e as Error).message;
    }
  }
  if (io === 'native') throw new RelayError('E_INTERNAL', 'batched I/O unavailable', { reason });
  if (!warnedNoNative) {
    warnedNoNative = true;
    warn(`batched I/O unavailable (${reason}); using node:dgram`);
  }
  return null;
}

export class MediaHost {
  readonly core: CryptoCore;
  readonly dataPath: DataPath;
  /** The batched backend when used; null on node:dgram. */
  readonly batchedIo: BatchedIo | null;
  /** Per-source buckets and bans shared by every stream; null when rate limits are off. */
  readonly sources: SourceTable | null;
  readonly #rates: Required<RateLimiterOptions> | null;
  readonly #sessionBuckets = new WeakMap<object, Bucket>();
  readonly #socketBufferBytes: number;
  /** Live streams, polled on each tick for key-usage events. */
  readonly #streams = new Set<MediaStream>();
  readonly #dtls: DtlsIdentity | null;
  readonly #sdes: SdesRewriter;

  private constructor(core: CryptoCore, o: MediaHostOptions) {
    this.core = core;
    this.dataPath = new DataPath(core);
    this.batchedIo = chooseIo(o.io ?? 'auto', this.dataPath, o.warn ?? ((m) => console.warn(m)));
    this.#rates = o.rateLimits === false ? null : { ...RATE_LIMIT_DEFAULTS, ...o.rateLimits };
    this.sources = this.#rates ? new SourceTable(this.#rates, o.onSecurity ?? (() => {})) : null;
    this.#socketBufferBytes = o.socketBufferBytes ?? 1 << 20;
    this.#dtls = o.dtls ?? null;
    this.#sdes = new SdesRewriter(o.topologySecret ?? randomBytes(32));
  }

  static async create(o: MediaHostOptions = {}): Promise<MediaHost> {
    const core = await CryptoCore.load({ maxContexts: 4096, maxSsrcsPerContext: 4, maxReplayWindow: 1024, ...o.core });
    return new MediaHost(core, o);
  }

  /** Advances the data path's coarse clock. */
  tick(now: number): void {
    this.dataPath.now = now;
    for (const s of this.#streams) s.pollKeyEvents();
  }

  /** Binds RTP on `port` and RTCP on `port + 1`; rejects with the bind error. */
  async bindStream(family: AddressFamily, address: string, port: number, o: BindOptions): Promise<MediaStream> {
    // The handler is bound after the stream exists; packets before that are not media yet.
    let stream: MediaStream | null = null;
    const rtp = await this.#bindPort(family, address, port, false, () => stream);
    let rtcp: BoundPort;
    try {
      rtcp = await this.#bindPort(family, address, port + 1, true, () => stream);
    } catch (e) {
      rtp.close();
      throw e;
    }
    rtp.setBufferSizes(this.#socketBufferBytes);
    rtcp.setBufferSizes(this.#socketBufferBytes);
    const s = new MediaStream(this.core, o.index, rtp, rtcp, { rtcpMux: o.rtcpMux, strictSource: o.strictSource, dtls: this.#dtls });
    if (o.hideTopology === true) s.sdesRewriter = this.#sdes;
    if (this.#rates && this.sources) {
      let sessionBucket = this.#sessionBuckets.get(o.sessionKey);
      if (!sessionBucket) {
        sessionBucket = new Bucket(this.#rates.session, this.#rates.burstSeconds, this.dataPath.now);
        this.#sessionBuckets.set(o.sessionKey, sessionBucket);
      }
      const r = this.#rates, now = this.dataPath.now;
      const others = { pps: r.stream.pps * r.othersShare, bps: r.stream.bps * r.othersShare };
      s.rateLimiter = new StreamAdmission(new Bucket(r.stream, r.burstSeconds, now), new Bucket(others, r.burstSeconds, now),
        sessionBucket, this.sources, (a, p) => s.isLatched(a, p), (a) => s.isExpected(a));
    }
    this.#streams.add(s);
    s.once('@close', () => this.#streams.delete(s));
    stream = s;
    return s;
  }

  close(): void {
    this.batchedIo?.close();
    this.#sdes.close();
  }

  /** One media port on the chosen backend, delivering to the stream once it exists. */
  async #bindPort(family: AddressFamily, address: string, port: number, onRtcpPort: boolean,
    streamOf: () => MediaStream | null): Promise<BoundPort> {
    const dp = this.dataPath;
    if (this.batchedIo) {
      return this.batchedIo.bind(family, address, port, {
        packet: (slot, len, a, p) => { const s = streamOf(); if (s) handlePacket(dp, s, onRtcpPort, slot, len, a, p); else dp.ring.release(slot); },
        drop: (reason) => { const s = streamOf(); if (s) s.stats.drops[reason]++; },
      });
    }
    return UdpMediaPort.bind(family, address, port, (msg, a, p) => { const s = streamOf(); if (s) handleDatagram(dp, s, onRtcpPort, msg, a, p); });
  }
}
