// The main thread's handle on one media worker: starts it, binds streams in it, forwards
// signalling changes, and mirrors its counters (pushed every 250 ms, or on demand).
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { AddressFamily } from '../../net/types.ts';
import { RelayError, type RelayErrorCode } from '../../errors.ts';
import type { FromWorker, StatsItem, ToWorker, WorkerInit } from './protocol.ts';
import type { SecurityEvent } from '../RateLimiter.ts';
import { RemoteMediaStream } from './RemoteMediaStream.ts';
import { wipeExportedKeys } from '../StreamDtls.ts';

export interface WorkerHostEvents {
  security: [SecurityEvent];
  fault: [{ streamId: number; message: string }];
  exit: [number];
}

export class WorkerHost extends EventEmitter<WorkerHostEvents> {
  readonly index: number;
  sessions = 0;
  build = '';
  io: 'native' | 'dgram' = 'dgram';
  readonly #worker: Worker;
  readonly #streams = new Map<number, RemoteMediaStream>();
  readonly #binds = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  readonly #closes = new Map<number, () => void>();
  readonly #statsWaiters = new Map<number, () => void>();
  readonly #timer: NodeJS.Timeout;
  #req = 0;
  #exited = false;

  private constructor(index: number, worker: Worker) {
    super();
    this.index = index;
    this.#worker = worker;
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('exit', (code) => {
      this.#exited = true;
      clearInterval(this.#timer);
      for (const b of this.#binds.values()) b.reject(new RelayError('E_INTERNAL', 'media worker exited', { worker: index, code }));
      this.#binds.clear();
      this.emit('exit', code);
    });
    // Counters flow back on a timer so queries and idle timeouts see recent figures.
    this.#timer = setInterval(() => this.post({ t: 'stats', req: 0 }), 250);
    this.#timer.unref();
  }

  static start(index: number, init: WorkerInit): Promise<WorkerHost> {
    const worker = new Worker(new URL('./workerBoot.mjs', import.meta.url), {
      workerData: { entry: new URL('./mediaWorker.ts', import.meta.url).href, init },
    });
    const host = new WorkerHost(index, worker);
    return new Promise((resolve, reject) => {
      const onReady = (m: FromWorker) => {
        if (m.t !== 'ready') return;
        worker.off('message', onReady);
        host.build = m.build;
        host.io = m.io;
        resolve(host);
      };
      worker.on('message', onReady);
      worker.once('error', (e) => reject(new RelayError('E_INTERNAL', 'media worker failed to start', { worker: index, reason: e.message })));
    });
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.#exited) this.#worker.postMessage(m, transfer);
  }

  /** Binds a stream's two ports in the worker; rejects with the bind error. */
  bind(id: number, family: AddressFamily, address: string, port: number,
    o: { index: number; rtcpMux: boolean; strictSource: boolean; sessionId: number; hideTopology: boolean }): Promise<RemoteMediaStream> {
    return new Promise((resolve, reject) => {
      const stream = new RemoteMediaStream(this, id, o.index, port, o.rtcpMux, o.strictSource);
      this.#binds.set(id, {
        resolve: () => { this.#streams.set(id, stream); resolve(stream); },
        reject,
      });
      this.post({ t: 'bind', id, family, address, port, ...o });
    });
  }

  /** Resolves once the worker has closed the stream's sockets (its ports may then be reused). */
  closeStream(id: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#exited) { resolve(); return; }
      this.#closes.set(id, resolve);
      this.post({ t: 'close', id });
    });
  }

  /** Fresh counters for every stream of this worker. */
  syncStats(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#exited) { resolve(); return; }
      const req = ++this.#req;
      this.#statsWaiters.set(req, resolve);
      this.post({ t: 'stats', req });
    });
  }

  terminate(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.#worker.once('exit', () => resolve());
      this.post({ t: 'shutdown' });
      setTimeout(() => void this.#worker.terminate(), 2000).unref();
    });
  }

  #onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'bound': {
        const b = this.#binds.get(m.id);
        this.#binds.delete(m.id);
        if (!b) return;
        if (m.error) b.reject(new RelayError(m.error.code as RelayErrorCode, m.error.message));
        else b.resolve();
        return;
      }
      case 'closed': {
        this.#streams.delete(m.id);
        const done = this.#closes.get(m.id);
        this.#closes.delete(m.id);
        done?.();
        return;
      }
      case 'latch':
        this.#streams.get(m.id)?.applyLatch(m.rtcp, m.endpoint);
        return;
      case 'keysoftlimit':
        this.#streams.get(m.id)?.emit('keysoftlimit', { direction: m.direction, kind: m.kind });
        return;
      case 'dtls-connected':
        this.#streams.get(m.id)?.applyDtlsConnected(m.suite);
        return;
      case 'dtls-error':
        this.#streams.get(m.id)?.applyDtlsError(m.code, m.message);
        return;
      case 'dtls-keys': {
        const s = this.#streams.get(m.id);
        if (s !== undefined) s.applyDtlsKeys(m.inbound, m.outbound);
        else wipeExportedKeys(m);
        return;
      }
      case 'stats':
        for (const item of m.items) this.#streams.get(item.id)?.applyStats(item);
        if (m.req !== 0) {
          const w = this.#statsWaiters.get(m.req);
          this.#statsWaiters.delete(m.req);
          w?.();
        }
        return;
      case 'security':
        this.emit('security', m.event);
        return;
      case 'fault':
        this.emit('fault', { streamId: m.id, message: m.message });
        return;
      case 'index-reply':
        this.#streams.get(m.id)?.applyIndexReply(m);
        return;
      case 'ready':
        return;
    }
  }
}

export type { StatsItem };
