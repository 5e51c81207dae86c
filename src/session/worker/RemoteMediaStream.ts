// A stream whose packets move in a media worker. Same surface as MediaStream: signalling
// changes are posted to the worker in order; counters and latches are mirrored back.
import { EventEmitter } from 'node:events';
import type { Endpoint } from '../../net/types.ts';
import { StreamStats } from '../../media/StreamStats.ts';
import { suiteByName, type CryptoSuite, type SuiteName } from '../../crypto/suites.ts';
import { RelayError, type RelayErrorCode } from '../../errors.ts';
import type { CryptoMode, MediaStreamEvents, StreamCrypto } from '../MediaStream.ts';
import type { MediaStreamHandle } from '../MediaStreamHandle.ts';
import { exportedKeys, newDtlsCounters, usableFingerprints, wipeExportedKeys, type DtlsCounters, type DtlsStreamState, type StartDtlsOptions } from '../StreamDtls.ts';
import type { DtlsErrorCode } from '../../keying/dtls/index.ts';
import type { FromWorker, StatsItem } from './protocol.ts';
import { validateIndexState, type StreamIndexState } from '../indexState.ts';
import type { WorkerHost } from './WorkerHost.ts';
import { reportedRate } from '../RateLimiter.ts';

const INDEX_REPLY_TIMEOUT_MS = 5000;

export class RemoteMediaStream extends EventEmitter<MediaStreamEvents> implements MediaStreamHandle {
  readonly index: number;
  readonly id: number;
  readonly rtpPort: { readonly port: number };
  readonly rtcpPort: { readonly port: number };
  readonly stats = new StreamStats();
  readonly worker: WorkerHost;
  inMode: CryptoMode = 'pending';
  outMode: CryptoMode = 'pending';
  inSuite: CryptoSuite | null = null;
  outSuite: CryptoSuite | null = null;
  remoteRtp: Endpoint | null = null;
  remoteRtcp: Endpoint | null = null;
  latchedRtp: Endpoint | null = null;
  latchedRtcp: Endpoint | null = null;
  readonly dtlsStats: DtlsCounters = newDtlsCounters();
  /** See MediaStreamHandle.rateLimit. */
  rateLimit: { readonly pps: number; readonly bps: number } | null = null;
  #dtls: DtlsStreamState = 'none';
  #rtcpMux: boolean;
  #strictSource: boolean;
  #closed = false;
  /** index-state / index-floor requests awaiting the worker's index-reply, by request number. */
  readonly #indexWaiters = new Map<number, { resolve: (s: StreamIndexState | undefined) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #indexReq = 0;

  constructor(worker: WorkerHost, id: number, index: number, port: number, rtcpMux: boolean, strictSource: boolean) {
    super();
    this.worker = worker;
    this.id = id;
    this.index = index;
    this.rtpPort = { port };
    this.rtcpPort = { port: port + 1 };
    this.#rtcpMux = rtcpMux;
    this.#strictSource = strictSource;
  }

  get closed(): boolean { return this.#closed; }
  /** Mirrors the worker: 'handshaking' from startDtls() until its outcome arrives. */
  get dtls(): DtlsStreamState { return this.#dtls; }
  get rtcpMux(): boolean { return this.#rtcpMux; }
  set rtcpMux(v: boolean) { this.#rtcpMux = v; this.#postFlags(); }
  get strictSource(): boolean { return this.#strictSource; }
  set strictSource(v: boolean) { this.#strictSource = v; this.#postFlags(); }

  setInboundCrypto(c: StreamCrypto | null): void {
    this.inSuite = this.#sendCrypto('in', c);
    this.inMode = c ? 'srtp' : 'plain';
  }

  setOutboundCrypto(c: StreamCrypto | null): void {
    this.outSuite = this.#sendCrypto('out', c);
    this.outMode = c ? 'srtp' : 'plain';
  }

  /** Posted in order with the other changes; the worker's stream applies it (see MediaStreamHandle). */
  setRateLimit(rate: { pps: number; bps: number } | null): void {
    this.#checkOpen();
    this.worker.post({ t: 'rate', id: this.id, rate: rate === null ? null : { pps: rate.pps, bps: rate.bps } });
    this.rateLimit = reportedRate(rate);
  }

  setRemote(rtp: Endpoint | null, rtcp: Endpoint | null = null): void {
    this.remoteRtp = rtp;
    this.remoteRtcp = rtcp;
    this.worker.post({ t: 'remote', id: this.id, rtp, rtcp });
  }

  /** The DTLS endpoint runs in the worker, next to the sockets; checks here match MediaStream's. */
  startDtls(o: StartDtlsOptions): void {
    this.#checkOpen();
    if (this.#dtls === 'handshaking' || this.#dtls === 'connected') {
      throw new RelayError('E_INVALID_STATE', 'DTLS is already running on the stream', { index: this.index, state: this.#dtls });
    }
    const remoteFingerprints = usableFingerprints(o.remoteFingerprints);
    // The worker drops the stream's keys until the handshake completes (unless told to keep
    // them); mirror that now.
    if (o.keepKeys !== true) {
      this.inMode = this.outMode = 'pending';
      this.inSuite = this.outSuite = null;
    }
    this.#dtls = 'handshaking';
    const p = o.srtpPolicy;
    const srtpPolicy = p ? { ...(p.suites ? { suites: [...p.suites] } : {}), ...(p.minRank !== undefined ? { minRank: p.minRank } : {}) } : undefined;
    this.worker.post({ t: 'dtls-start', id: this.id, role: o.role, remoteFingerprints, ...(srtpPolicy ? { srtpPolicy } : {}),
      ...(o.exportKeys === true ? { exportKeys: true } : {}), ...(o.keepKeys === true ? { keepKeys: true } : {}) });
  }

  setRemoteFingerprints(fingerprints: readonly string[]): void {
    this.#checkOpen();
    if (this.#dtls === 'none') throw new RelayError('E_INVALID_STATE', 'DTLS was not started on the stream', { index: this.index });
    this.worker.post({ t: 'dtls-fingerprints', id: this.id, remoteFingerprints: usableFingerprints(fingerprints) });
  }

  /** Pairs with a stream of the same worker (sessions are pinned to one worker). */
  linkTo(other: RemoteMediaStream): void {
    if (other.worker !== this.worker) throw new RelayError('E_INTERNAL', 'streams of one session live in different workers');
    this.worker.post({ t: 'link', a: this.id, b: other.id });
  }

  /** Asks the worker for the current contexts' per-SSRC indexes. */
  async indexState(): Promise<StreamIndexState> {
    const s = await this.#indexRequest(undefined);
    if (!s) throw new RelayError('E_INTERNAL', 'media worker sent no index state', { index: this.index });
    return s;
  }

  /**
   * See MediaStreamHandle.closeWithIndexState: one 'close-read' message, which the worker answers
   * after reading and closing in the same turn. This handle closes at once (its '@close' posts the
   * usual 'close', which the worker handles after the close-read, so the ports are released only
   * once the sockets are gone).
   */
  closeWithIndexState(): Promise<StreamIndexState> {
    try {
      this.#checkOpen();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const req = ++this.#indexReq;
    this.worker.post({ t: 'close-read', id: this.id, req });
    this.close();
    // Registered after close(), which rejects the waiters pending then; the reply cannot come
    // before this returns (worker messages arrive in a later task).
    return this.#awaitIndexReply(req).then((s) => {
      if (!s) throw new RelayError('E_INTERNAL', 'media worker sent no index state', { index: this.index });
      return s;
    });
  }

  /** Applies a takeover floor to the worker's current contexts (after the crypto posted before it). */
  async applyIndexFloor(floor: StreamIndexState): Promise<void> {
    // Checked here too, so a malformed floor fails in the caller's thread with its own stack.
    validateIndexState(floor);
    await this.#indexRequest(floor);
  }

  /** @internal */
  applyIndexReply(m: Extract<FromWorker, { t: 'index-reply' }>): void {
    const w = this.#indexWaiters.get(m.req);
    if (!w) return;
    this.#indexWaiters.delete(m.req);
    clearTimeout(w.timer);
    if (m.error) w.reject(new RelayError(m.error.code as RelayErrorCode, m.error.message));
    else w.resolve(m.state);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#indexWaiters.values()) {
      clearTimeout(w.timer);
      w.reject(new RelayError('E_INVALID_STATE', 'stream is closed', { index: this.index }));
    }
    this.#indexWaiters.clear();
    this.inMode = this.outMode = 'pending';
    this.emit('@close');
  }

  /** @internal */
  applyStats(s: StatsItem): void {
    const st = this.stats;
    st.packetsIn = s.packetsIn; st.bytesIn = s.bytesIn; st.packetsOut = s.packetsOut; st.bytesOut = s.bytesOut;
    st.rtcpIn = s.rtcpIn; st.lastPacketAt = s.lastPacketAt;
    Object.assign(st.drops, s.drops);
    Object.assign(this.dtlsStats, s.dtls);
  }

  /** @internal The worker installed DTLS-SRTP keys for `suite` in both directions. */
  applyDtlsConnected(suite: SuiteName): void {
    const s = suiteByName(suite) ?? null;
    this.inSuite = this.outSuite = s;
    this.inMode = this.outMode = 'srtp';
    this.#dtls = 'connected';
    this.emit('dtlsconnected', { suite });
  }

  /** @internal Keys the worker exported (startDtls with exportKeys); zeroed once the listeners return. */
  applyDtlsKeys(inbound: StreamCrypto, outbound: StreamCrypto): void {
    const keys = exportedKeys(inbound, outbound);
    try {
      // The worker installed them before posting: mirror that now, as 'dtls-connected' comes
      // after this and the listeners (replication) record the stream's modes with the keys.
      const suite = suiteByName(inbound.suite) ?? null;
      this.inSuite = this.outSuite = suite;
      this.inMode = this.outMode = 'srtp';
      if (!this.#closed) this.emit('dtlskeys', keys);
    } finally {
      wipeExportedKeys(keys);
    }
  }

  /** @internal The worker's handshake failed; the stream has no keys. */
  applyDtlsError(code: DtlsErrorCode, message: string): void {
    this.#dtls = 'failed';
    this.emit('dtlserror', { code, message });
  }

  /** @internal */
  applyLatch(rtcp: boolean, endpoint: Endpoint): void {
    if (rtcp && !this.#rtcpMux) this.latchedRtcp = endpoint; else this.latchedRtp = endpoint;
    this.emit('latch', { rtcp, endpoint });
  }

  #indexRequest(floor: StreamIndexState | undefined): Promise<StreamIndexState | undefined> {
    this.#checkOpen();
    const req = ++this.#indexReq;
    const reply = this.#awaitIndexReply(req);
    if (floor) this.worker.post({ t: 'index-floor', id: this.id, req, floor });
    else this.worker.post({ t: 'index-state', id: this.id, req });
    return reply;
  }

  #awaitIndexReply(req: number): Promise<StreamIndexState | undefined> {
    return new Promise((resolve, reject) => {
      // A worker that died never answers: the caller gets an error rather than a hang.
      const timer = setTimeout(() => {
        this.#indexWaiters.delete(req);
        reject(new RelayError('E_INTERNAL', 'media worker did not answer', { index: this.index }));
      }, INDEX_REPLY_TIMEOUT_MS);
      timer.unref();
      this.#indexWaiters.set(req, { resolve, reject, timer });
    });
  }

  #postFlags(): void {
    this.worker.post({ t: 'set', id: this.id, rtcpMux: this.#rtcpMux, strictSource: this.#strictSource });
  }

  #checkOpen(): void {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'stream is closed', { index: this.index });
  }

  #sendCrypto(dir: 'in' | 'out', c: StreamCrypto | null): CryptoSuite | null {
    this.#checkOpen();
    if (!c) { this.worker.post({ t: 'crypto', id: this.id, dir, spec: null }); return null; }
    // The same checks MediaStream makes, so errors surface synchronously to signalling.
    const suite = suiteByName(c.suite);
    if (!suite) throw new RelayError('E_BAD_REQUEST', 'unknown SRTP suite', { suite: String(c.suite) });
    if (!suite.encrypts) throw new RelayError('E_BID_DOWN', 'NULL cipher suites are not carried by the relay', { suite: suite.name });
    if (c.masterKey.length !== suite.keyLen || c.masterSalt.length !== suite.saltLen) {
      throw new RelayError('E_BAD_REQUEST', 'master key or salt length does not match the suite', { suite: suite.name });
    }
    // Copies into fresh buffers that are transferred (moved) to the worker, which wipes them.
    const masterKey = new Uint8Array(c.masterKey);
    const masterSalt = new Uint8Array(c.masterSalt);
    const moreKeys = (c.moreKeys ?? []).map((k) => ({ ...k, masterKey: new Uint8Array(k.masterKey), masterSalt: new Uint8Array(k.masterSalt) }));
    const transfer = [masterKey, masterSalt, ...moreKeys.flatMap((k) => [k.masterKey, k.masterSalt])].map((b) => b.buffer as ArrayBuffer);
    this.worker.post({ t: 'crypto', id: this.id, dir, spec: {
      suite: suite.name, masterKey, masterSalt, ...(c.replayWindow ? { replayWindow: c.replayWindow } : {}),
      ...(c.mki ? { mki: c.mki } : {}), ...(c.kdr !== undefined ? { kdr: c.kdr } : {}),
      ...(c.lifetime !== undefined ? { lifetime: c.lifetime } : {}), ...(moreKeys.length ? { moreKeys } : {}),
    } }, transfer);
    return suite;
  }
}
