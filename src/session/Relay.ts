// The relay: owns the media port range and every session, and the hosts that move packets —
// one in this thread, or one per worker thread (`workers: N`), each with its own crypto core,
// packet ring and sockets. Sessions are pinned to one host so both legs share a core.
import { EventEmitter } from 'node:events';
import type { CryptoCore, CryptoCoreOptions } from '../crypto/CryptoCore.ts';
import { PortAllocator, type PortRange } from '../net/PortAllocator.ts';
import { randomBytes } from 'node:crypto';
import { DEFAULT_INTERFACE, resolveInterfaces, type MediaInterface, type MediaInterfaceOptions } from '../net/mediaInterfaces.ts';
import type { DataPath } from '../media/DataPath.ts';
import type { BatchedIo } from '../net/native/BatchedIo.ts';
import { MediaHost, type RelayIo } from './MediaHost.ts';
import { Session, type AddStreamOptions, type SessionCloseReason } from './Session.ts';
import type { Leg } from './Leg.ts';
import type { MediaStreamHandle } from './MediaStreamHandle.ts';
import { RelayError } from '../errors.ts';
import type { RateLimiterOptions, SecurityEvent, SourceTable } from './RateLimiter.ts';
import { WorkerHost } from './worker/WorkerHost.ts';
import { CookieSecret, DtlsCertificate, DtlsError, type FingerprintAlgorithm } from '../keying/dtls/index.ts';

export type { RelayIo } from './MediaHost.ts';

export interface RelayOptions {
  /** Address media sockets bind to and that SDP advertises: the single interface 'default'.
   *  Default '127.0.0.1'. Not together with `interfaces`. */
  mediaAddress?: string;
  /** Address written into SDP when it differs from the bind address (NAT, 0.0.0.0). */
  advertisedAddress?: string;
  /** Named media interfaces, IPv4 or IPv6 (the first is the default one). Default: one
   *  interface 'default' from mediaAddress/advertisedAddress. */
  interfaces?: readonly MediaInterfaceOptions[];
  /** Replace RTCP SDES item text (CNAMEs name inside hosts) on calls whose legs are on
   *  different interfaces, as Session.addStream's `hideTopology` asks. Default true. */
  hideTopology?: boolean;
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
  /** Crypto core sizing (per host). Default: 4096 contexts, 4 SSRCs each, replay window up to 1024. */
  core?: CryptoCoreOptions;
  /** Media socket backend: 'native' = batched recvmmsg/sendmmsg addon (fails if it is not
   *  built), 'dgram' = node:dgram, 'auto' = native when the addon loads, else dgram (logged
   *  once). Default 'auto'. */
  io?: RelayIo;
  /** Flood control before any crypto (per stream, session and source; bans for sources that
   *  keep failing authentication). `false` turns it off. Default: RATE_LIMIT_DEFAULTS. */
  rateLimits?: RateLimiterOptions | false;
  /** Worker threads carrying media; 0 keeps media in this thread. Default 0. */
  workers?: number;
  /** Where operational warnings go (e.g. the batched backend is unavailable). Default console.warn. */
  warn?: (msg: string) => void;
  /** The DTLS-SRTP certificate and its private key (PEM; ECDSA P-256 or RSA ≥ 2048). Default:
   *  a fresh self-signed ECDSA P-256 certificate per relay, which is all RFC 5763 needs since
   *  peers check the SDP fingerprint, not a chain. */
  dtlsCertificate?: { certPem: string; keyPem: string };
}

export interface RelayEvents {
  sessionclose: [Session, SessionCloseReason];
  /** A source was banned for repeated authentication failures (never carries key material). */
  security: [SecurityEvent];
}

const BIND_ATTEMPTS = 16;

export class Relay extends EventEmitter<RelayEvents> {
  readonly ports: PortAllocator;
  /** The first interface's bind and advertised addresses. */
  readonly mediaAddress: string;
  readonly advertisedAddress: string;
  /** Every media interface; the first is the default. */
  readonly interfaces: readonly MediaInterface[];
  readonly options: Required<Omit<RelayOptions, 'core' | 'advertisedAddress' | 'ports' | 'io' | 'rateLimits' | 'warn' | 'dtlsCertificate' | 'interfaces'>>;
  /** `a=fingerprint` value of the relay's DTLS certificate, e.g. 'sha-256 AB:CD:…'. */
  readonly dtlsFingerprint: string;
  /** The certificate's a=fingerprint per hash, computed once each (the crypto policy picks the hash). */
  readonly #fingerprints = new Map<FingerprintAlgorithm, string>();
  readonly #certificate: DtlsCertificate;
  readonly #host: MediaHost | null;
  readonly #workers: WorkerHost[];
  readonly #sessions = new Map<string, Session>();
  readonly #sessionWorker = new WeakMap<object, WorkerHost>();
  readonly #sessionIds = new WeakMap<object, number>();
  readonly #timer: NodeJS.Timeout;
  #nextId = 1;
  #closed = false;

  private constructor(options: RelayOptions, interfaces: MediaInterface[], host: MediaHost | null, workers: WorkerHost[], certificate: DtlsCertificate) {
    super();
    this.interfaces = interfaces;
    this.dtlsFingerprint = certificate.fingerprint('sha-256');
    this.#certificate = certificate;
    this.#host = host;
    this.#workers = workers;
    this.ports = new PortAllocator(options.ports ?? { min: 30000, max: 40000 });
    this.mediaAddress = interfaces[0]!.address;
    this.advertisedAddress = interfaces[0]!.advertised;
    this.options = {
      mediaAddress: this.mediaAddress,
      hideTopology: options.hideTopology ?? true,
      mediaTimeout: options.mediaTimeout ?? 60,
      sessionLifetime: options.sessionLifetime ?? 10800,
      maxSessions: options.maxSessions ?? 10000,
      strictSource: options.strictSource ?? false,
      socketBufferBytes: options.socketBufferBytes ?? 1 << 20,
      workers: workers.length,
    };
    for (const w of workers) w.on('security', (e) => this.emit('security', e));
    this.#timer = setInterval(() => this.#tick(), 250);
    this.#timer.unref();
  }

  static async create(options: RelayOptions = {}): Promise<Relay> {
    const n = options.workers ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new RelayError('E_BAD_REQUEST', 'workers must be 0..64', { workers: String(n) });
    const certificate = loadCertificate(options.dtlsCertificate);
    const interfaces = interfacesOf(options);
    // One secret per relay: every host (workers too) derives the same SDES tokens.
    const topologySecret = randomBytes(32);
    if (n === 0) {
      let relay: Relay | null = null;
      const host = await MediaHost.create({
        dtls: { certificate, cookies: new CookieSecret() },
        ...(options.core ? { core: options.core } : {}), io: options.io ?? 'auto',
        rateLimits: options.rateLimits ?? {}, socketBufferBytes: options.socketBufferBytes ?? 1 << 20,
        onSecurity: (e) => relay?.emit('security', e), topologySecret,
        ...(options.warn ? { warn: options.warn } : {}),
      });
      topologySecret.fill(0); // the host keeps its own copy
      relay = new Relay(options, interfaces, host, [], certificate);
      return relay;
    }
    const init = {
      ...(options.core ? { core: options.core } : {}), io: options.io ?? 'auto',
      rateLimits: options.rateLimits ?? {}, socketBufferBytes: options.socketBufferBytes ?? 1 << 20, topologySecret,
      // Workers get the same certificate, so every stream answers with relay.dtlsFingerprint.
      dtlsCertificate: { certPem: certificate.toPem(), keyPem: certificate.exportPrivateKeyPem() },
    };
    const workers = await Promise.all(Array.from({ length: n }, (_, i) => WorkerHost.start(i, init)));
    topologySecret.fill(0); // each worker received its own copy
    return new Relay(options, interfaces, null, workers, certificate);
  }

  #local(what: string): MediaHost {
    if (!this.#host) throw new RelayError('E_INVALID_STATE', `${what} lives in the media workers`, { workers: this.#workers.length });
    return this.#host;
  }

  /** The in-thread host's crypto core (not available with workers). */
  get core(): CryptoCore { return this.#local('the crypto core').core; }
  get dataPath(): DataPath { return this.#local('the data path').dataPath; }
  get batchedIo(): BatchedIo | null { return this.#local('the I/O backend').batchedIo; }
  get sources(): SourceTable | null { return this.#local('the source table').sources; }
  /** 'native' or 'dgram' per host. */
  get ioBackends(): ('native' | 'dgram')[] {
    return this.#host ? [this.#host.batchedIo ? 'native' : 'dgram'] : this.#workers.map((w) => w.io);
  }
  get workerCount(): number { return this.#workers.length; }

  /** The interface called `name`; without a name, the default (first) one. Throws E_BAD_REQUEST "Unknown interface". */
  interface(name?: string): MediaInterface {
    if (name === undefined) return this.interfaces[0]!;
    const i = this.interfaces.find((x) => x.name === name);
    if (i === undefined) throw new RelayError('E_BAD_REQUEST', 'Unknown interface', { interface: name.slice(0, 32) });
    return i;
  }

  get sessionCount(): number { return this.#sessions.size; }
  sessions(): IterableIterator<Session> { return this.#sessions.values(); }
  getSession(callId: string): Session | undefined { return this.#sessions.get(callId); }

  /**
   * `a=fingerprint` value of the relay's certificate with `algorithm`. The peer checks the
   * certificate with the hash the relay announced, so announcing sha-384 needs nothing else.
   */
  dtlsFingerprintFor(algorithm: FingerprintAlgorithm): string {
    let fp = this.#fingerprints.get(algorithm);
    if (fp === undefined) {
      fp = this.#certificate.fingerprint(algorithm);
      this.#fingerprints.set(algorithm, fp);
    }
    return fp;
  }

  createSession<AppData extends object = Record<string, unknown>>(callId: string, appData?: AppData): Session<AppData> {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'relay is closed');
    if (this.#sessions.has(callId)) throw new RelayError('E_INVALID_STATE', 'session exists', { callId });
    if (this.#sessions.size >= this.options.maxSessions) {
      throw new RelayError('E_SESSION_LIMIT', 'Parallel session limit reached', { max: this.options.maxSessions });
    }
    const s = new Session<AppData>(callId, Date.now(), (sess, leg, o) => this.#bindStream(sess, leg, o), appData ?? ({} as AppData));
    this.#sessions.set(callId, s as unknown as Session);
    this.#sessionIds.set(s, this.#nextId++);
    if (this.#workers.length) {
      // The least loaded worker takes the whole session.
      const w = this.#workers.reduce((a, b) => (b.sessions < a.sessions ? b : a));
      w.sessions++;
      this.#sessionWorker.set(s, w);
    }
    s.once('@close', (reason) => {
      this.#sessions.delete(callId);
      const w = this.#sessionWorker.get(s);
      if (w) { w.sessions--; w.post({ t: 'session-closed', sessionId: this.#sessionIds.get(s) ?? 0 }); }
      this.emit('sessionclose', s as unknown as Session, reason);
    });
    return s;
  }

  /** Fresh counters from the workers (in-thread counters are always fresh). */
  async syncStats(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.syncStats()));
  }

  /** Closes every session and stops the hosts. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const s of [...this.#sessions.values()]) s.close('relay-closed');
    this.#host?.close();
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  async #bindStream(session: Session<object>, leg: Leg, o: AddStreamOptions): Promise<MediaStreamHandle> {
    const iface = this.interface(o.interface);
    const strictSource = o.strictSource ?? this.options.strictSource;
    const hideTopology = this.options.hideTopology && o.hideTopology === true;
    const index = leg.streams.length;
    const worker = this.#sessionWorker.get(session);
    let lastErr: unknown = null;
    // A requested port is that port or nothing; otherwise retry on other free pairs.
    const attempts = o.port === undefined ? BIND_ATTEMPTS : 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      let port: number;
      if (o.port === undefined) port = this.ports.allocate();
      else { this.ports.reserve(o.port); port = o.port; }
      try {
        if (worker) {
          const id = this.#nextId++;
          const s = await worker.bind(id, iface.family, iface.address, port,
            { index, rtcpMux: o.rtcpMux, strictSource, sessionId: this.#sessionIds.get(session) ?? 0, hideTopology });
          s.once('@close', () => { void worker.closeStream(id).then(() => this.ports.release(port)); });
          return s;
        }
        const s = await this.#local('binding').bindStream(iface.family, iface.address, port,
          { index, rtcpMux: o.rtcpMux, strictSource, sessionKey: session, hideTopology });
        s.once('@close', () => this.ports.release(port));
        return s;
      } catch (e) {
        // Another process holds the pair: give it back (the allocator moves on round-robin,
        // so the next attempt tries other ports) and try again.
        this.ports.release(port);
        if (e instanceof RelayError && e.code !== 'E_INTERNAL') throw e;
        lastErr = e;
      }
    }
    if (o.port !== undefined) {
      throw new RelayError('E_PORTS_EXHAUSTED', 'port in use', { port: o.port, reason: String((lastErr as Error | null)?.message ?? 'bind failed') });
    }
    throw new RelayError('E_PORTS_EXHAUSTED', 'Ran out of ports', { reason: String((lastErr as Error | null)?.message ?? 'bind failed') });
  }

  #tick(): void {
    const now = Date.now();
    this.#host?.tick(now);
    const idleMs = this.options.mediaTimeout * 1000;
    const lifeMs = this.options.sessionLifetime * 1000;
    for (const s of [...this.#sessions.values()]) {
      if (now - s.createdAt > lifeMs) s.close('lifetime');
      else if (now - s.lastActivity() > idleMs) s.close('timeout');
    }
  }
}

/** The interfaces option, or the single 'default' interface of mediaAddress/advertisedAddress. */
function interfacesOf(o: RelayOptions): MediaInterface[] {
  if (o.interfaces !== undefined) {
    if (o.mediaAddress !== undefined || o.advertisedAddress !== undefined) {
      throw new RelayError('E_BAD_REQUEST', 'give interfaces or mediaAddress/advertisedAddress, not both');
    }
    return resolveInterfaces(o.interfaces);
  }
  const address = o.mediaAddress ?? '127.0.0.1';
  return resolveInterfaces([{ name: DEFAULT_INTERFACE, address, ...(o.advertisedAddress !== undefined ? { advertised: o.advertisedAddress } : {}) }]);
}

/** The operator's certificate, or a fresh one. Bad PEM is a configuration error, reported without quoting it. */
function loadCertificate(pem: RelayOptions['dtlsCertificate']): DtlsCertificate {
  if (pem === undefined) return DtlsCertificate.generate();
  try {
    return DtlsCertificate.fromPem(pem.certPem, pem.keyPem);
  } catch (e) {
    if (e instanceof DtlsError) throw new RelayError('E_BAD_REQUEST', `dtlsCertificate: ${e.message}`, { code: e.code });
    throw e;
  }
}
