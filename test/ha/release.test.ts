// Hand-over (Replicator.release) state transitions, in one process: two relays on two loopback
// addresses, the Replicators' store a shared in-memory one behind a handle that can play "up
// but never acknowledging" or "down". Asserted: a released call is closed here before it is
// marked released, its records stay with the final marks, and the peer (autoTakeover off) takes
// it at once; without acknowledgement the call ends as on a stop (records removed, counted) and
// is never marked released. Plus the pieces: final marks, the exact read-and-close of a stream
// (in this thread and in a media worker), bounded wait.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { answerReq, offerReq, sdesCall, sdesSdp as sdp, startRelayPair, until, type RelayPair } from './inProcessCall.ts';
import { MemoryStateStore, type CallStateStore, type CallStateStoreEvents, type KeyEvent, type WriteOptions } from '../../src/ha/CallStateStore.ts';
import { Replicator } from '../../src/ha/Replicator.ts';
import { StateSealer } from '../../src/ha/StateSealer.ts';
import { awaitWritten, releaseMarks } from '../../src/ha/release.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';
import { Logger } from '../../src/Logger.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

const PORTS = { min: 45_300, max: 45_399 };
const silent = new Logger({ write: () => {} });

type Mode = 'ok' | 'silent' | 'down';

/** A relay's view of the shared store; `mode` 'silent' stores nothing and never acknowledges, 'down' is unreachable. */
class FaultyStore implements CallStateStore {
  mode: Mode = 'ok';
  constructor(readonly shared: MemoryStateStore) {}
  get observer(): EventEmitter<CallStateStoreEvents> { return this.shared.observer; }
  get up(): boolean { return this.mode !== 'down'; }
  write(key: string, value: string, o?: WriteOptions): void { if (this.mode === 'ok') this.shared.write(key, value, o); }
  remove(key: string): void { if (this.mode === 'ok') this.shared.remove(key); }
  get(key: string): Promise<string | null> { return this.shared.get(key); }
  keys(prefix: string): Promise<string[]> { return this.shared.keys(prefix); }
  claim(key: string): Promise<boolean> { return this.shared.claim(key); }
  watch(prefix: string, fn: (key: string, event: KeyEvent) => void): Promise<void> { return this.shared.watch(prefix, fn); }
  async close(): Promise<void> { /* the shared store outlives the relays */ }
}


describe('release: final marks and the bounded wait', () => {
  const state = { srtpIn: [{ ssrc: 1, index: 100 }], srtpOut: [{ ssrc: 2, index: 7 }], srtcpIn: [], srtcpOut: [{ ssrc: 2, index: 3 }] };
  it('a release writes the state as read; a higher floor wins', () => {
    assert.deepEqual(releaseMarks(state, null), state);
    const f = releaseMarks(state, { srtpIn: [{ ssrc: 1, index: 500 }], srtpOut: [], srtcpIn: [{ ssrc: 9, index: 1 }], srtcpOut: [] });
    assert.deepEqual([f.srtpIn[0]!.index, f.srtpOut[0]!.index, f.srtcpIn[0]!.index], [500, 7, 1]);
  });
  it('awaitWritten resolves true on the acknowledgement, false at the deadline', async () => {
    assert.equal(await awaitWritten((cb) => setTimeout(cb, 5), Date.now() + 1000), true);
    const t0 = Date.now();
    assert.equal(await awaitWritten(() => {}, Date.now() + 50), false);
    assert.ok(Date.now() - t0 >= 45);
  });
});

// The release reads each stream's final state with closeWithIndexState. Under a flood, the state
// it returns must be that of the last packet the stream handled: the highest index the far end
// got is exactly the one read (one more packet handled after the read would show above it). A
// worker stream used to be read and closed by two messages, so the release added a margin.
for (const workers of [0, 1]) describe(`closeWithIndexState under a flood (workers: ${workers})`, () => {
  let relay: Relay;
  before(async () => { relay = await Relay.create({ workers, mediaAddress: '127.0.0.6', ports: { min: 45_500 + workers * 50, max: 45_549 + workers * 50 } }); });
  after(async () => { await relay.close(); });

  it('returns the state after the last packet it handled, and nothing is handled after it', async () => {
    const SSRC = 0x5eed;
    const peerA = await UdpPeer.open('127.0.0.6'), peerB = await UdpPeer.open('127.0.0.6');
    const s = relay.createSession(`exact-${workers}`);
    try {
      const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
      const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
      linkStreams(a, b);
      a.setRemote({ address: '127.0.0.6', port: peerA.port });
      b.setRemote({ address: '127.0.0.6', port: peerB.port });
      // Plain RTP in at b, SRTP out at a: a's outbound index is the RTP sequence number (ROC 0),
      // which travels in clear, so peerA sees each index a used.
      a.setInboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: randomBytes(16), masterSalt: randomBytes(14) });
      a.setOutboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: randomBytes(16), masterSalt: randomBytes(14) });
      b.setInboundCrypto(null);
      b.setOutboundCrypto(null);
      const TOTAL = 1500, CLOSE_AT = 805;
      let read: Promise<Awaited<ReturnType<typeof a.closeWithIndexState>>> | null = null;
      for (let seq = 1; seq <= TOTAL; seq++) {
        // Bursts of 10, so packets are queued at the relay when the close is requested, with a
        // pause after each so that none is lost on the way (the far end must see every index).
        void peerB.send(rtp({ seq, ssrc: SSRC, payload: randomBytes(40) }), b.rtpPort.port, '127.0.0.6');
        if (seq === CLOSE_AT) read = a.closeWithIndexState();
        if (seq % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      const st = await read!;
      assert.equal(a.closed, true);
      await peerA.settle(300);
      const seqs = peerA.received.map((r) => r.msg.readUInt16BE(2));
      assert.ok(seqs.length > 0, `media flowed before the close: ${JSON.stringify(b.stats)}`);
      assert.equal(st.srtpOut.length, 1, JSON.stringify(st));
      assert.deepEqual([st.srtpOut[0]!.ssrc, st.srtpOut[0]!.index], [SSRC, Math.max(...seqs)],
        `read ${st.srtpOut[0]!.index}, the far end got up to ${Math.max(...seqs)} (${seqs.length} packets)`);
      await assert.rejects(a.closeWithIndexState(), (e: unknown) => (e as { code?: string }).code === 'E_INVALID_STATE');
    } finally {
      s.close();
      await peerA.close();
      await peerB.close();
    }
  });
});

describe('Replicator.release with two in-process relays', () => {
  const shared = new MemoryStateStore();
  const KEY = randomBytes(32);
  const storeA = new FaultyStore(shared), storeB = new FaultyStore(shared);
  let pair: RelayPair, relayA: Relay, relayB: Relay, ctlA: CallController, ctlB: CallController, repA: Replicator, repB: Replicator;
  before(async () => {
    // B keeps autoTakeover off (the default): only the release may move A's calls there.
    pair = await startRelayPair({ addresses: ['127.0.0.4', '127.0.0.5'], ports: PORTS, stores: [storeA, storeB], key: KEY, optionsA: { releaseTimeoutMs: 150 } });
    ({ relayA, relayB, ctlA, ctlB, repA, repB } = pair);
  });
  after(async () => {
    await pair.close();
    await shared.close();
  });

  const call = async (ctl: CallController, callId: string): Promise<void> => { await sdesCall(ctl, callId); };

  it('closes the calls here, marks them released only after the close; the peer (autoTakeover off) takes them at once', async () => {
    await call(ctlA, 'h1');
    await call(ctlA, 'h2');
    await until(() => repB.foreignCalls === 2);
    // The mark is written after the close: when it appears, A no longer has the session.
    const seen: { key: string; sessionsOnA: number }[] = [];
    await shared.watch('srtpgate:rel:A:', (key, event) => { if (event === 'set') seen.push({ key, sessionsOnA: relayA.sessionCount }); });
    const r = await repA.release();
    assert.deepEqual([r.node, r.released, r.ended], ['A', 2, 0]);
    assert.equal(relayA.sessionCount, 0, 'released calls are not bound on A');
    assert.deepEqual(seen.map((s) => s.key).sort(), ['srtpgate:rel:A:h1', 'srtpgate:rel:A:h2']);
    assert.ok(seen.every((s) => s.sessionsOnA === 0));
    assert.equal(repA.counters.releasedCalls, 2);
    await until(async () => (await shared.get('srtpgate:call:B:h1')) !== null && (await shared.get('srtpgate:call:B:h2')) !== null);
    assert.equal(relayB.sessionCount, 2, 'B carries both calls');
    await until(async () => (await shared.keys('srtpgate:call:A:')).length === 0 && (await shared.keys('srtpgate:idx:A:')).length === 0
      && (await shared.keys('srtpgate:rel:A:')).length === 0);
    assert.equal(repB.counters.takeoverCalls, 2);
    assert.equal(repB.counters.takeoverFailed, 0);
    ctlB.delete({ callId: 'h1' });
    ctlB.delete({ callId: 'h2' });
  });

  for (const mode of ['silent', 'down'] as const) it(`with a store ${mode === 'silent' ? 'that does not acknowledge' : 'that is down'} the calls end as on a stop, counted, never marked released`, async () => {
    await call(ctlA, `f-${mode}`);
    await until(async () => (await shared.get(`srtpgate:call:A:f-${mode}`)) !== null);
    const failedBefore = repA.counters.releaseFailed;
    storeA.mode = mode;
    const t0 = Date.now();
    const r = await repA.release();
    storeA.mode = 'ok';
    assert.deepEqual([r.released, r.ended], [0, 1]);
    assert.ok(Date.now() - t0 < (mode === 'down' ? 100 : 1000), `release took ${Date.now() - t0} ms`);
    assert.equal(relayA.sessionCount, 0, 'the call ended on A');
    assert.equal(repA.counters.releaseFailed, failedBefore + 1);
    assert.equal(await shared.get(`srtpgate:rel:A:f-${mode}`), null);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(relayB.sessionCount, 0, 'B took nothing over');
    // Redis still holds the record written before the fault; the relay removes it once it can
    // (here the handle dropped the removal): the stale record is what a takeover command finds, as after a crash.
    shared.remove(`srtpgate:call:A:f-${mode}`);
    shared.remove(`srtpgate:idx:A:f-${mode}`);
  });
});

describe('Replicator.release with two relays following the releasing one', () => {
  const shared = new MemoryStateStore();
  const KEY = randomBytes(32);
  const relays: Relay[] = [];
  const reps: Replicator[] = [];
  after(async () => {
    for (const r of reps) await r.close();
    for (const r of relays) await r.close();
    await shared.close();
  });

  it('each released call is taken by exactly one follower (the one that claimed its key)', async () => {
    const nodes = [['A', '127.0.0.7', ['B', 'C']], ['B', '127.0.0.8', ['A']], ['C', '127.0.0.9', ['A']]] as const;
    const ctls: CallController[] = [];
    for (const [node, address, peers] of nodes) {
      const relay = await Relay.create({ mediaAddress: address, ports: { min: 45_400, max: 45_499 } });
      const rep = new Replicator({ node, store: new FaultyStore(shared), sealer: new StateSealer(KEY), log: silent, peers: [...peers] });
      const ctl = new CallController({ relay, replication: rep });
      await rep.start(ctl);
      relays.push(relay);
      reps.push(rep);
      ctls.push(ctl);
    }
    for (const id of ['m1', 'm2', 'm3']) {
      const o = await ctls[0]!.offer(offerReq(id, sdp(5000, randomBytes(30).toString('base64'))));
      const tag = Number(/a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80/.exec(o.sdp)![1]);
      await ctls[0]!.answer(answerReq(id, sdp(6000, randomBytes(30).toString('base64'), tag)));
    }
    const r = await reps[0]!.release();
    assert.equal(r.released, 3);
    await until(() => relays[1]!.sessionCount + relays[2]!.sessionCount === 3);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(relays[1]!.sessionCount + relays[2]!.sessionCount, 3, 'no call taken twice');
    assert.equal(reps[1]!.counters.takeoverFailed + reps[2]!.counters.takeoverFailed, 0);
    assert.equal((await shared.keys('srtpgate:call:A:')).length, 0);
  });
});

describe('hand-over configuration', () => {
  const load = (argv: string[]) => {
    const r = loadConfig({ argv, env: {}, readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
    return r.kind === 'config' ? r.config : assert.fail('not a configuration');
  };
  it('is off by default (a stop ends the calls), with a 1 s acknowledgement bound and a 10 s hold', () => {
    const c = load([]);
    assert.deepEqual([c.ha.handoverOnStop, c.ha.releaseTimeoutMs, c.ha.releaseHoldMs], [false, 1000, 10_000]);
  });
  it('reads the rows from flags and bounds them', () => {
    const c = load(['--ha-handover-on-stop', '--ha-release-timeout-ms', '300', '--ha-release-hold-ms', '5000']);
    assert.deepEqual([c.ha.handoverOnStop, c.ha.releaseTimeoutMs, c.ha.releaseHoldMs], [true, 300, 5000]);
    assert.throws(() => load(['--ha-release-timeout-ms', '10']), (e: unknown) => e instanceof ConfigError);
  });
});
