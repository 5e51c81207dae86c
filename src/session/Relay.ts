// The relay: owns the crypto core, the media port range, the packet ring and every session.
import { EventEmitter } from 'node:events';
import { CryptoCore, type CryptoCoreOptions } from '../crypto/CryptoCore.ts';
import { PortAllocator, type PortRange } from '../net/PortAllocator.ts';
import { UdpMediaPort } from '../net/UdpMediaPort.ts';
import { BatchedIo } from '../net/native/BatchedIo.ts';
import type { MediaPort } from '../net/MediaPort.ts';
import { familyOf, type AddressFamily } from '../net/types.ts';
import { DataPath } from '../media/DataPath.ts';
import { handleDatagram, handlePacket } from '../media/pipeline.ts';
import { MediaStream } from './MediaStream.ts';
import { Session, type SessionCloseReason } from './Session.ts';
import type { Leg } from './Leg.ts';
import { RelayError } from '../errors.ts';
import { Bucket, RATE_LIMIT_DEFAULTS, SourceTable, StreamAdmission, type RateLimiterOptions, type SecurityEvent } from './RateLimiter.ts';

export interface RelayOptions {
  /** Address media sockets bind to and that SDP advertises. Default '127.0.0.1'. */
  mediaAddress?: string;
  /** Address written into SDP when it differs from the bind address (NAT, 0.0.0.0). */
  advertisedAddress?: string;
  /** Media port range. Default 30000–40000. */
  ports?: PortRange;
  /** Seconds without media before a session ends. Default 60. */
  mediaTimeout?: number;
  /** Seconds a session may live at most. Default 10800 (3 h). */
  sessionLifetime?: number;
  /** Concurrent sessions. Default 10000. */
  maxSessions?: number;
  /** Drop packets from other sources after latching, even authenticated ones. Default false. */
  strictSource?: boolean;
  /** Socket buffer size in bytes. Default 1 MiB. */
  socketBufferBytes?: number;
  /** Crypto core sizing. Default: 4096 contexts, 4 SSRCs each, replay window up to 1024. */
  core?: CryptoCoreOptions;
  /** Media socket backend: 'native' = batched recvmmsg/sendmmsg addon (fails if it is not
   *  built), 'dgram' = node:dgram, 'auto' = native when the addon loads, else dgram (logged
   *  once). Default 'auto'. */
  io?: RelayIo;
  /** Flood control before any crypto (per stream, session and source; bans for sources that
   *  keep failing authentication). `false` turns it off. Default: RATE_LIMIT_DEFAULTS. */
  rateLimits?: RateLimiterOptions | false;
}

export type RelayIo = 'auto' | 'dgram' | 'native';

let warnedNoNative = false;

/** The batched backend for `io`, or null for node:dgram. */
function chooseIo(io: RelayIo, dp: DataPath): BatchedIo | null {
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
    console.warn(`batched I/O unavailable (${reason}); using node:dgram`);
  }
  return null;
}

export interface RelayEvents {
  sessionclose: [Session, SessionCloseReason];
  /** A source was banned for repeated authentication failures (never carries key material). */
  security: [SecurityEvent];
}

const BIND_ATTEMPTS = 16;

type BoundPort = MediaPort & { setBufferSizes(bytes: number): void };

export class Relay extends EventEmitter<RelayEvents> {
  readonly core: CryptoCore;
  readonly ports: PortAllocator;
  readonly dataPath: DataPath;
  readonly mediaAddress: string;
  readonly advertisedAddress: string;
  readonly options: Required<Omit<RelayOptions, 'core' | 'advertisedAddress' | 'ports' | 'io' | 'rateLimits'>>;
  /** Per-source buckets and bans shared by every stream; null when rate limits are off. */
  readonly sources: SourceTable | null;
  readonly #rates: Required<RateLimiterOptions> | null;
  readonly #sessionBuckets = new WeakMap<object, Bucket>();
  /** The batched backend when the relay uses it; null on node:dgram. */
  readonly batchedIo: BatchedIo | null;
  readonly #sessions = new Map<string, Session>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  private constructor(core: CryptoCore, options: RelayOptions) {
    super();
    this.core = core;
    this.dataPath = new DataPath(core);
    this.ports = new PortAllocator(options.ports ?? { min: 30000, max: 40000 });
    this.mediaAddress = options.mediaAddress ?? '127.0.0.1';
    this.advertisedAddress = options.advertisedAddress ?? this.mediaAddress;
    this.options = {
      mediaAddress: this.mediaAddress,
      mediaTimeout: options.mediaTimeout ?? 60,
      sessionLifetime: options.sessionLifetime ?? 10800,
      maxSessions: options.maxSessions ?? 10000,
      strictSource: options.strictSource ?? false,
      socketBufferBytes: options.socketBufferBytes ?? 1 << 20,
    };
    this.batchedIo = chooseIo(options.io ?? 'auto', this.dataPath);
    this.#rates = options.rateLimits === false ? null : { ...RATE_LIMIT_DEFAULTS, ...options.rateLimits };
    this.sources = this.#rates ? new SourceTable(this.#rates, (e) => this.emit('security', e)) : null;
    this.#timer = setInterval(() => this.#tick(), 250);
    this.#timer.unref();
  }

  static async create(options: RelayOptions = {}): Promise<Relay> {
    const core = await CryptoCore.load({ maxContexts: 4096, maxSsrcsPerContext: 4, maxReplayWindow: 1024, ...options.core });
    return new Relay(core, options);
  }

  get sessionCount(): number { return this.#sessions.size; }
  sessions(): IterableIterator<Session> { return this.#sessions.values(); }
  getSession(callId: string): Session | undefined { return this.#sessions.get(callId); }

  createSession<AppData extends object = Record<string, unknown>>(callId: string, appData?: AppData): Session<AppData> {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'relay is closed');
    if (this.#sessions.has(callId)) throw new RelayError('E_INVALID_STATE', 'session exists', { callId });
    if (this.#sessions.size >= this.options.maxSessions) {
      throw new RelayError('E_SESSION_LIMIT', 'Parallel session limit reached', { max: this.options.maxSessions });
    }
    const s = new Session<AppData>(callId, this.dataPath.now, (sess, leg, o) => this.#bindStream(sess, leg, o), appData ?? ({} as AppData));
    this.#sessions.set(callId, s as unknown as Session);
    s.once('@close', (reason) => {
      this.#sessions.delete(callId);
      this.emit('sessionclose', s as unknown as Session, reason);
    });
    return s;
  }

  /** Closes every session and stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const s of [...this.#sessions.values()]) s.close('relay-closed');
    this.batchedIo?.close();
  }

  async #bindStream(session: Session<object>, leg: Leg, o: { rtcpMux: boolean; strictSource?: boolean }): Promise<MediaStream> {
    const family = familyOf(this.mediaAddress);
    let lastErr: unknown = null;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = this.ports.allocate();
      let rtp: BoundPort | null = null;
      let rtcp: BoundPort | null = null;
      // The handler is bound after the stream exists; packets before that are not media yet.
      let stream: MediaStream | null = null;
      try {
        rtp = await this.#bindPort(family, port, false, () => stream);
        rtcp = await this.#bindPort(family, port + 1, true, () => stream);
      } catch (e) {
        rtp?.close();
        lastErr = e;
        continue; // the pair stays marked used: someone else holds it
      }
      rtp.setBufferSizes(this.options.socketBufferBytes);
      rtcp.setBufferSizes(this.options.socketBufferBytes);
      const s = new MediaStream(this.core, leg.streams.length, rtp, rtcp,
        { rtcpMux: o.rtcpMux, strictSource: o.strictSource ?? this.options.strictSource });
      if (this.#rates && this.sources) {
        let sessionBucket = this.#sessionBuckets.get(session);
        if (!sessionBucket) {
          sessionBucket = new Bucket(this.#rates.session, this.#rates.burstSeconds, this.dataPath.now);
          this.#sessionBuckets.set(session, sessionBucket);
        }
        s.rateLimiter = new StreamAdmission(new Bucket(this.#rates.stream, this.#rates.burstSeconds, this.dataPath.now),
          sessionBucket, this.sources, (a, p) => s.isLatched(a, p));
      }
      s.once('@close', () => this.ports.release(port));
      stream = s;
      return s;
    }
    throw new RelayError('E_PORTS_EXHAUSTED', 'Ran out of ports', { reason: String((lastErr as Error | null)?.message ?? 'bind failed') });
  }

  /** One media port on the chosen backend, delivering to the stream once it exists. */
  async #bindPort(family: AddressFamily, port: number, onRtcpPort: boolean, streamOf: () => MediaStream | null): Promise<BoundPort> {
    const dp = this.dataPath;
    if (this.batchedIo) {
      return this.batchedIo.bind(family, this.mediaAddress, port, {
        packet: (slot, len, a, p) => { const s = streamOf(); if (s) handlePacket(dp, s, onRtcpPort, slot, len, a, p); else dp.ring.release(slot); },
        drop: (reason) => { const s = streamOf(); if (s) s.stats.drops[reason]++; },
      });
    }
    return UdpMediaPort.bind(family, this.mediaAddress, port, (msg, a, p) => { const s = streamOf(); if (s) handleDatagram(dp, s, onRtcpPort, msg, a, p); });
  }

  #tick(): void {
    const now = Date.now();
    this.dataPath.now = now;
    const idleMs = this.options.mediaTimeout * 1000;
    const lifeMs = this.options.sessionLifetime * 1000;
    for (const s of [...this.#sessions.values()]) {
      if (now - s.createdAt > lifeMs) s.close('lifetime');
      else if (now - s.lastActivity() > idleMs) s.close('timeout');
    }
  }
}
