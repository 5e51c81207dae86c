// One call: two legs whose streams are paired index by index. Created by Relay.createSession.
import { EventEmitter } from 'node:events';
import { Leg } from './Leg.ts';
import type { MediaStreamHandle } from './MediaStreamHandle.ts';
import { RelayError } from '../errors.ts';

export type SessionCloseReason = 'deleted' | 'timeout' | 'lifetime' | 'relay-closed';

export interface SessionEvents {
  close: [SessionCloseReason];
  '@close': [SessionCloseReason];
}

/** Where and how one stream binds. */
export interface AddStreamOptions {
  rtcpMux: boolean;
  /** Default: the relay's `strictSource`. */
  strictSource?: boolean;
  /** Media interface name (RelayOptions.interfaces). Default: the relay's first interface. */
  interface?: string;
  /** Bind exactly this RTP port (RTCP on port + 1), reserving it; E_PORTS_EXHAUSTED if taken. Default: any free pair. */
  port?: number;
  /** Replace RTCP SDES item text on packets through this stream (the call crosses interfaces). Default false. */
  hideTopology?: boolean;
}

/** Creates the sockets of one stream; supplied by the Relay. */
export type StreamFactory = (session: Session<object>, leg: Leg, options: AddStreamOptions) => Promise<MediaStreamHandle>;

export class Session<AppData extends object = Record<string, unknown>> extends EventEmitter<SessionEvents> {
  readonly callId: string;
  readonly createdAt: number;
  readonly legs: Leg[] = [];
  appData: AppData;
  readonly #newStream: StreamFactory;
  #closed = false;

  constructor(callId: string, createdAt: number, newStream: StreamFactory, appData: AppData) {
    super();
    this.callId = callId;
    this.createdAt = createdAt;
    this.#newStream = newStream;
    this.appData = appData;
  }

  get closed(): boolean { return this.#closed; }

  createLeg(tag: string): Leg {
    this.#check();
    if (this.legs.some((l) => l.tag === tag)) throw new RelayError('E_INVALID_STATE', 'leg exists', { tag });
    const leg = new Leg(tag);
    this.legs.push(leg);
    return leg;
  }

  leg(tag: string): Leg | undefined {
    return this.legs.find((l) => l.tag === tag);
  }

  /** Binds a new stream (RTP + RTCP ports) on `leg`. */
  async addStream(leg: Leg, options: AddStreamOptions): Promise<MediaStreamHandle> {
    this.#check();
    const s = await this.#newStream(this, leg, options);
    if (this.#closed) { s.close(); throw new RelayError('E_INVALID_STATE', 'session closed while binding', { callId: this.callId }); }
    leg.attach(s);
    return s;
  }

  /** Most recent packet on any stream, or the creation time when none arrived. */
  lastActivity(): number {
    let t = this.createdAt;
    for (const l of this.legs) for (const s of l.streams) if (s.stats.lastPacketAt > t) t = s.stats.lastPacketAt;
    return t;
  }

  /** Closes every stream (sockets, ports, keys). Idempotent. */
  close(reason: SessionCloseReason = 'deleted'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.legs) l.close();
    this.emit('@close', reason);
    this.emit('close', reason);
  }

  #check(): void {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'session is closed', { callId: this.callId });
  }
}
