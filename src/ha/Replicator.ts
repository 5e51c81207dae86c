// Replication of this relay's calls to a shared store, and takeover of a failed peer's.
//
// As the CallController's observer it seals each inbound key before the controller wipes it,
// writes a call record at every committed offer / answer (and removes it on delete), and
// every `indexIntervalMs` polls the streams' SRTP/SRTCP indexes and persists high-water marks
// ahead of use (see hwm.ts). It refreshes this node's heartbeat key, watches its peers'
// records (kept sealed, as "foreign" calls) and heartbeats, and on takeover (the HTTP
// command, or a peer's heartbeat expiring with autoTakeover) rebuilds their calls here.
//
// Hand-over (release): the owner closes its calls' sockets, writes their exact final index
// state and a "released by <node>" key, awaiting the store's acknowledgement (bounded); a
// standby following the owner takes released calls over at once, whatever autoTakeover says.
//
// Nothing here is on the packet path, and no write is awaited by signalling: the store
// queues. Faults are counted and logged once per state change.
import { EventEmitter } from 'node:events';
import type { CallState, SideState } from '../control/CallState.ts';
import type { SdesCrypto } from '../keying/sdes.ts';
import type { MediaStreamHandle } from '../session/MediaStreamHandle.ts';
import type { Leg } from '../session/Leg.ts';
import type { StreamIndexOps, StreamIndexState } from '../session/indexState.ts';
import type { Logger } from '../Logger.ts';
import type { MetricFamily } from '../metrics/Metrics.ts';
import type { CallStateStore } from './CallStateStore.ts';
import { RECORD_VERSION, decodeCallRecord, decodeIndexRecord, encodeRecord, type IndexRecord, type SealedKeyRecord } from './callRecord.ts';
import { ackHwm, newHwmTrack, planHwm, type HwmTrack } from './hwm.ts';
import { callKey, callPrefix, heartbeatKey, indexKey, releaseKey, releasePrefix, type KeySpace } from './keys.ts';
import { publishRelease, releaseMarks, unpublishRelease } from './release.ts';
import { indexOps, restoreCall, type CallAdopter } from './restore.ts';
import { snapshotCall, inKeyField, outKeyField, type DtlsSealedKeys } from './snapshot.ts';
import { sealKey, sealStreamCrypto } from './sealedKeys.ts';
import type { DtlsExportedKeys } from '../session/StreamDtls.ts';
import type { SealedBlob, StateSealer } from './StateSealer.ts';
import { HaError } from './HaError.ts';
import { haMetricFamilies } from './metrics.ts';

export interface ReplicatorOptions {
  /** This relay's node id (keys carry it; sealed blobs are bound to it). */
  readonly node: string;
  readonly store: CallStateStore;
  readonly sealer: StateSealer;
  readonly log: Logger;
  /** Peers whose calls this relay keeps and may take over. Default none. */
  readonly peers?: readonly string[];
  /** Take a peer's calls over when its heartbeat key expires. Default false (see README). */
  readonly autoTakeover?: boolean;
  /** Key prefix. Default 'srtpgate'. */
  readonly prefix?: string;
  /** Index polls, ms. Default 250. */
  readonly indexIntervalMs?: number;
  /** Heartbeat refresh and expiry, ms. Default 500 and 1500. */
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTtlMs?: number;
  /** Expiry of call records (refreshed on every write), ms. Default 3 h. */
  readonly recordTtlMs?: number;
  /** How long a release waits for the store to acknowledge the final state, ms. Default 1000. */
  readonly releaseTimeoutMs?: number;
  /** Expiry of a "released" key: a standby that did not take the call by then leaves it in Redis, ms. Default 10000. */
  readonly releaseHoldMs?: number;
  readonly now?: () => number;
}

export interface TakeoverResult {
  readonly node: string;
  readonly calls: number;
  readonly failed: number;
  readonly durationMs: number;
}

export interface ReleaseResult {
  readonly node: string;
  /** Calls handed over: sockets closed, final marks and the release key acknowledged by the store. */
  readonly released: number;
  /** Calls ended without a hand-over (store down, slow, or a stream unreadable): records removed, as on a stop. */
  readonly ended: number;
  readonly durationMs: number;
}

export interface ReplicatorEvents {
  takeover: [TakeoverResult];
  release: [ReleaseResult];
}

/** The counters /metrics exports (srtpgate_ha_*). */
export interface ReplicatorCounters {
  writeErrors: number;
  hwmOverruns: number;
  callWrites: number;
  indexWrites: number;
  takeovers: number;
  takeoverCalls: number;
  takeoverFailed: number;
  lastTakeoverSeconds: number;
  releasedCalls: number;
  releaseFailed: number;
}

interface Tracked {
  readonly state: CallState;
  readonly interfaceOf: (leg: Leg) => string;
  readonly tracks: Map<MediaStreamHandle, { track: HwmTrack; outKey: SdesCrypto | null }>;
  /** Floors a taken-over call's streams started from: marks never go below them. */
  floors: ReadonlyMap<MediaStreamHandle, StreamIndexState>;
  /** Sealed index record last handed to the store (re-written when the store comes back). */
  lastIndex: string | null;
}

export class Replicator {
  readonly observer = new EventEmitter<ReplicatorEvents>();
  readonly counters: ReplicatorCounters = {
    writeErrors: 0, hwmOverruns: 0, callWrites: 0, indexWrites: 0, takeovers: 0, takeoverCalls: 0, takeoverFailed: 0, lastTakeoverSeconds: 0, releasedCalls: 0, releaseFailed: 0,
  };
  readonly #o: Required<Omit<ReplicatorOptions, 'peers'>> & { peers: readonly string[] };
  readonly #ks: KeySpace;
  readonly #calls = new Map<string, Tracked>();
  readonly #inKeys = new WeakMap<SideState, SealedKeyRecord>();
  readonly #outKeys = new WeakMap<SdesCrypto, SealedKeyRecord>();
  /** Per DTLS side, the keys its last completed handshake exported (sealed). */
  readonly #dtlsKeys = new WeakMap<SideState, DtlsSealedKeys>();
  /** Peer node → call-id → its call record text (sealed keys stay sealed). */
  readonly #foreign = new Map<string, Map<string, string>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #adopter: CallAdopter | null = null;
  readonly #takeovers = new Map<string, Promise<TakeoverResult>>();
  #polling = false;
  #release: Promise<ReleaseResult> | null = null;
  /** Calls handed away (or ended by a release): never written under this node again. */
  readonly #released = new WeakSet<CallState>();
  /** Per peer, released call-ids waiting to be taken, and the chain of released-call takeovers. */
  readonly #releasedQueue = new Map<string, Set<string>>();
  readonly #releasedChain = new Map<string, Promise<unknown>>();
  #writeErrorLogged = false;
  #closed = false;

  constructor(o: ReplicatorOptions) {
    this.#o = {
      peers: o.peers ?? [], autoTakeover: o.autoTakeover ?? false, prefix: o.prefix ?? 'srtpgate',
      indexIntervalMs: o.indexIntervalMs ?? 250, heartbeatIntervalMs: o.heartbeatIntervalMs ?? 500,
      heartbeatTtlMs: o.heartbeatTtlMs ?? 1500, recordTtlMs: o.recordTtlMs ?? 3 * 3600_000, now: o.now ?? Date.now,
      releaseTimeoutMs: o.releaseTimeoutMs ?? 1000, releaseHoldMs: o.releaseHoldMs ?? 10_000,
      node: o.node, store: o.store, sealer: o.sealer, log: o.log,
    };
    this.#ks = { prefix: this.#o.prefix };
    for (const p of this.#o.peers) this.#foreign.set(p, new Map());
    const store = o.store;
    store.observer.on('down', (e) => this.#o.log.warn('ha: state store unreachable: calls continue from memory', { reason: e.reason }));
    store.observer.on('up', () => {
      this.#o.log.info('ha: state store reachable: rewriting call state', { calls: this.#calls.size });
      this.#writeErrorLogged = false;
      this.#rewriteAll();
      void this.#loadPeers();
    });
    store.observer.on('writeerror', (e) => {
      this.counters.writeErrors += e.keys;
      if (!this.#writeErrorLogged && store.up) this.#o.log.warn('ha: state write failed (retrying)', { reason: e.reason });
      this.#writeErrorLogged = true;
    });
    store.observer.on('overflow', () => { this.counters.writeErrors++; });
  }

  get node(): string { return this.#o.node; }
  get storeUp(): boolean { return this.#o.store.up; }
  get foreignCalls(): number {
    let n = 0;
    for (const m of this.#foreign.values()) n += m.size;
    return n;
  }

  /** Starts heartbeat, index polls and peer watching; `adopter` registers taken-over calls. */
  async start(adopter: CallAdopter): Promise<void> {
    this.#adopter = adopter;
    const hb = (): void => this.#o.store.write(heartbeatKey(this.#ks, this.#o.node), String(this.#o.now()), { ttlMs: this.#o.heartbeatTtlMs });
    hb();
    this.#every(this.#o.heartbeatIntervalMs, hb);
    this.#every(this.#o.indexIntervalMs, () => { void this.#pollIndexes(); });
    if (this.#o.peers.length > 0) {
      // Not awaited: with Redis away the subscription waits for it, the relay does not.
      void this.#o.store.watch(`${this.#o.prefix}:`, (key, event) => this.#onChange(key, event)).catch((e: unknown) => {
        this.#o.log.warn('ha: cannot watch peers (Redis keyspace notifications)', { reason: (e as Error).message });
      });
      await this.#loadPeers();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#o.store.close();
    this.#o.sealer.close();
  }

  /** srtpgate_ha_* for /metrics (Metrics.addFamilies). */
  metricFamilies(): MetricFamily[] {
    return haMetricFamilies(this.counters, this.#o.store.up, this.foreignCalls);
  }

  // ------------------------------------------------------------ CallReplicationHooks

  /** A peer key is about to be installed and wiped: seal it now (the only copy kept is sealed). */
  inboundKey(callId: string, side: SideState, key: SdesCrypto): void {
    this.#inKeys.set(side, sealKey(this.#o.sealer, key, { node: this.#o.node, callId, field: inKeyField(side.stream.rtpPort.port) }));
    // A new key starts new index space: the old marks say nothing about it.
    this.#calls.get(callId)?.tracks.delete(side.stream);
  }

  /**
   * A DTLS handshake installed new keys on `side` (the first, or a re-handshake): sealed now (the
   * caller zeroes the plaintext when this returns) and the call record rewritten with them.
   */
  dtlsKeys(callId: string, side: SideState, keys: DtlsExportedKeys): void {
    const port = side.stream.rtpPort.port;
    const binding = (field: string) => ({ node: this.#o.node, callId, field });
    this.#dtlsKeys.set(side, {
      inKey: sealStreamCrypto(this.#o.sealer, keys.inbound, binding(inKeyField(port))),
      outKey: sealStreamCrypto(this.#o.sealer, keys.outbound, binding(outKeyField(port))),
    });
    const t = this.#calls.get(callId);
    if (t === undefined) return; // a takeover in progress: its commit writes the record
    // New keys start new index space: neither the old marks nor a takeover's floors say anything about it.
    t.tracks.delete(side.stream);
    if (t.floors.has(side.stream)) {
      const floors = new Map(t.floors);
      floors.delete(side.stream);
      t.floors = floors;
    }
    if (t.state.closed) return;
    this.#writeCall(t);
    void this.#pollIndexes();
  }

  committed(state: CallState, interfaceOf: (leg: Leg) => string): void {
    // An offer or answer that was under way while its call was released: the call is the standby's.
    if (this.#released.has(state)) return;
    let t = this.#calls.get(state.callId);
    if (t === undefined || t.state !== state) {
      t = { state, interfaceOf, tracks: new Map(), floors: new Map(), lastIndex: null };
      this.#calls.set(state.callId, t);
    }
    this.#writeCall(t);
    // The first index marks as soon as possible: media may start right after the answer.
    void this.#pollIndexes();
  }

  deleted(callId: string): void {
    if (!this.#calls.delete(callId)) return;
    this.#o.store.remove(callKey(this.#ks, this.#o.node, callId));
    this.#o.store.remove(indexKey(this.#ks, this.#o.node, callId));
  }

  // ------------------------------------------------------------ hand-over (release)

  /**
   * Hands every call of this relay to the standby that follows it. The caller has stopped new
   * calls (drain). Per call: each stream's final index state is read and its sockets closed in
   * one step (closeWithIndexState, in this thread or in its worker: nothing is sent or accepted
   * under the call's keys after the read), the call record and those exact final marks are
   * written and acknowledged, then "released by <node>" is. A call whose writes are not
   * acknowledged by `releaseTimeoutMs` ends as on a stop (records removed), counted. A call is
   * never bound here and marked released at once: the mark is written after the close.
   */
  release(): Promise<ReleaseResult> {
    this.#release ??= this.#releaseAll().finally(() => { this.#release = null; });
    return this.#release;
  }

  async #releaseAll(): Promise<ReleaseResult> {
    const started = this.#o.now();
    const calls = [...this.#calls].filter(([, t]) => !t.state.closed);
    // Out of the tracked set first: the session closes below must not remove the records.
    for (const [callId, t] of calls) {
      this.#calls.delete(callId);
      this.#released.add(t.state);
    }
    const records = new Map<string, string>();
    const reads: { callId: string; t: Tracked; stream: MediaStreamHandle; state: Promise<StreamIndexState | null> }[] = [];
    for (const [callId, t] of calls) {
      try {
        records.set(callId, encodeRecord(snapshotCall(t.state, this.#o.node, this.#o.sealer, { inbound: this.#inKeys, outbound: this.#outKeys, dtls: this.#dtlsKeys }, this.#o.now(), t.interfaceOf)));
      } catch (e) {
        this.#o.log.warn('ha: call record not written on release', { reason: (e as Error).message });
      }
      for (const pair of t.state.media) {
        for (const side of pair?.sides.values() ?? []) {
          const s = side.stream;
          if (s.closed || (s.inMode !== 'srtp' && s.outMode !== 'srtp')) continue;
          // Read and close as one step (in this thread or in the stream's worker): nothing is
          // sent or accepted between them, so the final state needs no margin.
          reads.push({ callId, t, stream: s, state: s.closeWithIndexState().catch(() => null) });
        }
      }
    }
    const states = await Promise.all(reads.map((r) => r.state));
    for (const [, t] of calls) t.state.session.close('relay-closed');

    const finals = new Map<string, { streams: Record<string, StreamIndexState>; unreadable: boolean }>();
    for (const [callId] of calls) finals.set(callId, { streams: {}, unreadable: !records.has(callId) });
    reads.forEach((r, i) => {
      const f = finals.get(r.callId)!;
      const st = states[i];
      if (st == null) { f.unreadable = true; return; }
      f.streams[String(r.stream.rtpPort.port)] = releaseMarks(st, r.t.floors.get(r.stream) ?? null);
    });

    const store = this.#o.store;
    // Nothing would be acknowledged: end the calls at once rather than wait the bound out.
    const deadline = store.up ? started + this.#o.releaseTimeoutMs : started;
    const keysOf = (callId: string) => ({
      callKey: callKey(this.#ks, this.#o.node, callId), indexKey: indexKey(this.#ks, this.#o.node, callId), releaseKey: releaseKey(this.#ks, this.#o.node, callId),
    });
    const outcomes = await Promise.all([...finals].map(async ([callId, f]) => {
      if (f.unreadable || !store.up) return false;
      const index: IndexRecord = { v: RECORD_VERSION, at: this.#o.now(), streams: f.streams };
      const blob = JSON.stringify(this.#o.sealer.seal(Buffer.from(encodeRecord(index), 'utf8'), { node: this.#o.node, callId, field: 'idx' }));
      this.counters.callWrites++;
      this.counters.indexWrites++;
      return publishRelease(store, { ...keysOf(callId), record: records.get(callId)!, index: blob, node: this.#o.node },
        { recordTtlMs: this.#o.recordTtlMs, holdMs: this.#o.releaseHoldMs, deadline, now: this.#o.now });
    }));
    let released = 0, ended = 0;
    [...finals.keys()].forEach((callId, i) => {
      if (outcomes[i]) released++;
      else { ended++; unpublishRelease(store, keysOf(callId)); }
    });
    this.counters.releasedCalls += released;
    this.counters.releaseFailed += ended;
    const result: ReleaseResult = { node: this.#o.node, released, ended, durationMs: this.#o.now() - started };
    if (ended > 0) this.#o.log.warn('ha: calls ended without hand-over (state store unreachable or slow)', { ...result, storeUp: store.up });
    this.#o.log.info('ha: calls released', { ...result });
    this.observer.emit('release', result);
    return result;
  }

  // ------------------------------------------------------------ takeover

  /**
   * Takes every call of `peer` over. Resolves with counts; calls that fail are closed and
   * counted. A takeover of the same peer already running (the command while the heartbeat
   * expired, say) is joined, not repeated.
   */
  takeover(peer: string): Promise<TakeoverResult> {
    const running = this.#takeovers.get(peer);
    if (running !== undefined) return running;
    const p = this.#takeover(peer).finally(() => this.#takeovers.delete(peer));
    this.#takeovers.set(peer, p);
    return p;
  }

  async #takeover(peer: string): Promise<TakeoverResult> {
    const started = this.#o.now();
    const adopter = this.#adopter;
    if (adopter === null) throw new HaError('E_HA_TAKEOVER', 'replication not started');
    if (peer === this.#o.node) throw new HaError('E_HA_TAKEOVER', 'a relay cannot take over its own calls', { node: peer });
    const cached = this.#foreign.get(peer) ?? new Map<string, string>();
    const ids = new Set(cached.keys());
    if (this.#o.store.up) {
      try {
        for (const k of await this.#o.store.keys(callPrefix(this.#ks, peer))) ids.add(k.slice(callPrefix(this.#ks, peer).length));
      } catch { /* the cached records are what we have */ }
    }
    return this.#takeIds(adopter, peer, ids, started, 'ha: takeover done');
  }

  async #takeIds(adopter: CallAdopter, peer: string, ids: Iterable<string>, started: number, msg: string): Promise<TakeoverResult> {
    const cached = this.#foreign.get(peer) ?? new Map<string, string>();
    let calls = 0, failed = 0;
    for (const callId of ids) {
      try {
        await this.#takeOne(adopter, peer, callId, cached.get(callId) ?? null);
        calls++;
      } catch (e) {
        failed++;
        this.#o.log.warn('ha: call not taken over', { node: peer, code: e instanceof HaError ? e.code : (e as { code?: string }).code ?? 'error', reason: (e as Error).message });
      }
      cached.delete(callId);
    }
    const durationMs = this.#o.now() - started;
    this.counters.takeovers++;
    this.counters.takeoverCalls += calls;
    this.counters.takeoverFailed += failed;
    this.counters.lastTakeoverSeconds = durationMs / 1000;
    const result = { node: peer, calls, failed, durationMs };
    this.#o.log.info(msg, { ...result });
    this.observer.emit('takeover', result);
    return result;
  }

  async #takeOne(adopter: CallAdopter, peer: string, callId: string, cached: string | null): Promise<void> {
    const store = this.#o.store;
    // Without the peer's index marks a takeover would open a replay hole: no store, no takeover.
    if (!store.up) throw new HaError('E_HA_TAKEOVER', 'index marks unreadable: the state store is unreachable', { node: peer });
    const text = (await store.get(callKey(this.#ks, peer, callId)).catch(() => null)) ?? cached;
    const indexText = await store.get(indexKey(this.#ks, peer, callId));
    if (text === null) throw new HaError('E_HA_TAKEOVER', 'no record for the call', { node: peer });
    const record = decodeCallRecord(text);
    if (record.node !== peer || record.callId !== callId) throw new HaError('E_HA_RECORD', 'record does not match its key', { node: peer });
    const index = indexText === null ? null : this.#openIndex(indexText, peer, callId);
    const r = await restoreCall(adopter, record, index, this.#o.sealer, (id, side, key) => this.inboundKey(id, side, key),
      (id, side, keys) => this.dtlsKeys(id, side, keys));
    if (r.unmarked > 0) this.#o.log.warn('ha: call taken over without index marks for some streams', { streams: r.unmarked });
    // The controller's commit wrote the call record under this node; now the marks, starting
    // from the floors, then the old owner's keys go.
    const t = this.#calls.get(callId);
    if (t !== undefined) {
      t.floors = r.floors;
      for (const pair of r.state.media) {
        for (const side of pair?.sides.values() ?? []) {
          const floor = r.floors.get(side.stream);
          if (floor !== undefined) t.tracks.set(side.stream, { track: newHwmTrack(this.#o.now(), floor), outKey: side.outKey });
        }
      }
      // The floors themselves, at once; not acknowledgements of this relay's own use.
      this.#writeIndex(t, callId, new Map());
    }
    store.remove(callKey(this.#ks, peer, callId));
    store.remove(indexKey(this.#ks, peer, callId));
  }

  #openIndex(text: string, node: string, callId: string): IndexRecord {
    let blob: SealedBlob;
    try {
      blob = JSON.parse(text) as SealedBlob;
    } catch {
      throw new HaError('E_HA_RECORD', 'index record is not JSON', { node });
    }
    return decodeIndexRecord(this.#o.sealer.open(blob, { node, callId, field: 'idx' }).toString('utf8'));
  }

  // ------------------------------------------------------------ writing

  #writeCall(t: Tracked): void {
    const state = t.state;
    const record = snapshotCall(state, this.#o.node, this.#o.sealer, { inbound: this.#inKeys, outbound: this.#outKeys, dtls: this.#dtlsKeys }, this.#o.now(), t.interfaceOf);
    this.counters.callWrites++;
    this.#o.store.write(callKey(this.#ks, this.#o.node, state.callId), encodeRecord(record), { ttlMs: this.#o.recordTtlMs });
  }

  /** Seals and queues the call's marks (the issued ones of every tracked stream). */
  #writeIndex(t: Tracked, callId: string, written: ReadonlyMap<MediaStreamHandle, StreamIndexState>): void {
    const streams: Record<string, StreamIndexState> = {};
    for (const [stream, e] of t.tracks) if (e.track.issued !== null) streams[String(stream.rtpPort.port)] = e.track.issued;
    const record: IndexRecord = { v: RECORD_VERSION, at: this.#o.now(), streams };
    const blob = this.#o.sealer.seal(Buffer.from(encodeRecord(record), 'utf8'), { node: this.#o.node, callId, field: 'idx' });
    const text = JSON.stringify(blob);
    t.lastIndex = text;
    this.counters.indexWrites++;
    this.#o.store.write(indexKey(this.#ks, this.#o.node, callId), text, {
      ttlMs: this.#o.recordTtlMs,
      onWritten: () => {
        for (const [stream, mark] of written) {
          const e = t.tracks.get(stream);
          if (e !== undefined) e.track = ackHwm(e.track, mark);
        }
      },
    });
  }

  async #pollIndexes(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      // Every stream's state at once: with media workers each read is a message round trip,
      // and one at a time would not fit thousands of streams into one interval.
      const entries: { callId: string; t: Tracked; side: SideState; ops: StreamIndexOps }[] = [];
      for (const [callId, t] of this.#calls) {
        if (t.state.closed) continue;
        for (const pair of t.state.media) {
          for (const side of pair?.sides.values() ?? []) {
            const s = side.stream;
            const ops = indexOps(s);
            if (ops !== null && !s.closed && (s.inMode === 'srtp' || s.outMode === 'srtp')) entries.push({ callId, t, side, ops });
          }
        }
      }
      const states = await Promise.all(entries.map((e) => e.ops.indexState().catch(() => null)));
      const now = this.#o.now();
      const byCall = new Map<Tracked, { callId: string; written: Map<MediaStreamHandle, StreamIndexState>; quiet: (() => void)[] }>();
      entries.forEach(({ callId, t, side }, i) => {
        const actual = states[i];
        if (actual == null || this.#calls.get(callId) !== t) return; // closed or ended meanwhile
        const s = side.stream;
        let e = t.tracks.get(s);
        if (e !== undefined && e.outKey !== side.outKey) e = undefined; // re-keyed outbound
        e ??= { track: newHwmTrack(now, t.floors.get(s) ?? null), outKey: side.outKey };
        t.tracks.set(s, e);
        const entry = e;
        const before = entry.track;
        const d = planHwm(before, actual, now, { intervalMs: this.#o.indexIntervalMs });
        this.counters.hwmOverruns += d.overruns;
        entry.track = d.track;
        let c = byCall.get(t);
        if (c === undefined) { c = { callId, written: new Map(), quiet: [] }; byCall.set(t, c); }
        const call = c;
        if (d.write !== null) call.written.set(s, d.write);
        // One record holds the call's streams: when it is written, every mark in it is refreshed.
        else call.quiet.push(() => {
          const f = planHwm(before, actual, now, { intervalMs: this.#o.indexIntervalMs }, true);
          entry.track = f.track;
          if (f.write !== null) call.written.set(s, f.write);
        });
      });
      for (const [t, c] of byCall) {
        if (c.written.size === 0) continue;
        for (const refresh of c.quiet) refresh();
        this.#writeIndex(t, c.callId, c.written);
      }
    } finally {
      this.#polling = false;
    }
  }

  #rewriteAll(): void {
    for (const [callId, t] of this.#calls) {
      if (t.state.closed) continue;
      this.#writeCall(t);
      if (t.lastIndex !== null) this.#o.store.write(indexKey(this.#ks, this.#o.node, callId), t.lastIndex, { ttlMs: this.#o.recordTtlMs });
    }
  }

  // ------------------------------------------------------------ peers

  async #loadPeers(): Promise<void> {
    if (!this.#o.store.up) return;
    for (const [peer, calls] of this.#foreign) {
      try {
        const prefix = callPrefix(this.#ks, peer);
        for (const k of await this.#o.store.keys(prefix)) {
          const text = await this.#o.store.get(k);
          if (text !== null) calls.set(k.slice(prefix.length), text);
        }
      } catch (e) {
        this.#o.log.warn('ha: cannot load peer calls', { node: peer, reason: (e as Error).message });
      }
    }
  }

  /**
   * A peer released a call: taken at once (autoTakeover or not: the owner said it no longer
   * carries it). Notifications of one release arrive together and are taken as one batch.
   */
  #onReleased(peer: string, callId: string): void {
    let q = this.#releasedQueue.get(peer);
    if (q !== undefined) { q.add(callId); return; }
    q = new Set([callId]);
    this.#releasedQueue.set(peer, q);
    const adopter = this.#adopter;
    if (adopter === null || this.#closed) return;
    const prev = this.#releasedChain.get(peer) ?? Promise.resolve();
    const next = prev.then(() => new Promise<void>((r) => setImmediate(r))).then(async () => {
      const queued = [...(this.#releasedQueue.get(peer) ?? [])];
      this.#releasedQueue.delete(peer);
      // Of several relays following the releasing one, only the one that removed the key takes the call.
      const claim = this.#o.store.claim?.bind(this.#o.store);
      const ids = claim === undefined ? queued
        : (await Promise.all(queued.map(async (id) => (await claim(releaseKey(this.#ks, peer, id)).catch(() => false)) ? id : null))).filter((id): id is string => id !== null);
      if (ids.length === 0) return;
      // A full takeover of the peer already running carries these calls too.
      await this.#takeovers.get(peer)?.catch(() => {});
      const started = this.#o.now();
      await this.#takeIds(adopter, peer, ids, started, 'ha: released calls taken over');
      for (const id of ids) this.#o.store.remove(releaseKey(this.#ks, peer, id));
    }).catch((e: unknown) => this.#o.log.warn('ha: released calls not taken over', { node: peer, reason: (e as Error).message }));
    this.#releasedChain.set(peer, next);
  }

  #onChange(key: string, event: string): void {
    for (const [peer, calls] of this.#foreign) {
      if (event === 'set' && key.startsWith(releasePrefix(this.#ks, peer))) {
        this.#onReleased(peer, key.slice(releasePrefix(this.#ks, peer).length));
        return;
      }
      const prefix = callPrefix(this.#ks, peer);
      if (key.startsWith(prefix)) {
        const callId = key.slice(prefix.length);
        if (event === 'set') {
          void this.#o.store.get(key).then((text) => { if (text !== null) calls.set(callId, text); }, () => {});
        } else {
          calls.delete(callId);
        }
        return;
      }
      if (key === heartbeatKey(this.#ks, peer) && (event === 'expired' || event === 'del')) {
        this.#o.log.warn('ha: peer heartbeat gone', { node: peer, calls: calls.size, autoTakeover: this.#o.autoTakeover });
        if (this.#o.autoTakeover) void this.takeover(peer).catch(() => {});
        return;
      }
    }
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }
}
