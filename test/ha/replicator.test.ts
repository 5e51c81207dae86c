// Replicator and takeover in one process, two relays on two loopback addresses sharing one
// in-memory store: what a record holds after offer/answer/delete, a takeover that rebuilds
// the calls (same ports, same keys, registered with the controller), and a record whose
// sealed key was swapped in from another call (or whose marks were tampered with) that is
// refused while the other calls are still taken over.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { answerReq, offerReq, sdesCall, sdesSdp as sdp, startRelayPair, until, type RelayPair } from './inProcessCall.ts';
import { MemoryStateStore, type CallStateStore, type CallStateStoreEvents, type KeyEvent, type WriteOptions } from '../../src/ha/CallStateStore.ts';
import { Replicator } from '../../src/ha/Replicator.ts';
import { StateSealer, type SealedBlob } from '../../src/ha/StateSealer.ts';
import { decodeCallRecord, encodeRecord } from '../../src/ha/callRecord.ts';
import { Logger } from '../../src/Logger.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import type { EventEmitter } from 'node:events';

const PORTS = { min: 45_000, max: 45_099 };
const silent = new Logger({ write: () => {} });

/** One relay's view of the shared store: closing it (the relay died) leaves the data in place. */
class StoreHandle implements CallStateStore {
  #closed = false;
  constructor(readonly shared: MemoryStateStore) {}
  get observer(): EventEmitter<CallStateStoreEvents> { return this.shared.observer; }
  get up(): boolean { return !this.#closed; }
  write(key: string, value: string, o?: WriteOptions): void { if (!this.#closed) this.shared.write(key, value, o); }
  remove(key: string): void { if (!this.#closed) this.shared.remove(key); }
  get(key: string): Promise<string | null> { return this.shared.get(key); }
  keys(prefix: string): Promise<string[]> { return this.shared.keys(prefix); }
  watch(prefix: string, fn: (key: string, event: KeyEvent) => void): Promise<void> { return this.shared.watch(prefix, fn); }
  async close(): Promise<void> { this.#closed = true; }
}


describe('Replicator with two in-process relays', () => {
  const shared = new MemoryStateStore();
  const sealer = (): StateSealer => new StateSealer(KEY);
  const KEY = randomBytes(32);
  let pair: RelayPair, relayA: Relay, relayB: Relay, ctlA: CallController, ctlB: CallController, repA: Replicator, repB: Replicator;
  before(async () => {
    pair = await startRelayPair({ addresses: ['127.0.0.1', '127.0.0.2'], ports: PORTS, stores: [new StoreHandle(shared), new StoreHandle(shared)], key: KEY });
    ({ relayA, relayB, ctlA, ctlB, repA, repB } = pair);
  });
  after(async () => {
    await pair.close();
    await shared.close();
  });

  const call = sdesCall;

  it('writes a record per committed call, with sealed keys only, and removes it on delete', async () => {
    await call(ctlA, 'r1');
    const text = await shared.get('srtpgate:call:A:r1');
    assert.ok(text);
    const rec = decodeCallRecord(text);
    assert.deepEqual(rec.legs.map((l) => l.sipTag), ['ft', 'tt']);
    const sides = rec.media[0]!.sides;
    assert.ok(sides.every((s) => s.inMode === 'srtp' && s.outMode === 'srtp' && s.inKey !== null && s.outKey !== null));
    assert.deepEqual(sides.map((s) => s.remoteRtp?.port), [5000, 6000]);
    assert.ok(!text.includes('inline:'));
    await until(() => repB.foreignCalls === 1);
    ctlA.delete({ callId: 'r1' });
    assert.equal(await shared.get('srtpgate:call:A:r1'), null);
    assert.equal(await shared.get('srtpgate:idx:A:r1'), null);
    await until(() => repB.foreignCalls === 0);
  });

  it('carries the SDP-derived stream rate in the record, and the taken-over streams get it back', async () => {
    const ptime = (body: string): string => body.replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000\r\na=ptime:40');
    const o = await ctlA.offer(offerReq('rate1', ptime(sdp(5000, randomBytes(30).toString('base64')))));
    const tag = Number(/a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80/.exec(o.sdp)![1]);
    await ctlA.answer(answerReq('rate1', ptime(sdp(6000, randomBytes(30).toString('base64'), tag))));
    const recA = decodeCallRecord((await shared.get('srtpgate:call:A:rate1'))!);
    const rates = recA.media[0]!.sides.map((x) => x.rate);
    assert.ok(rates.every((r) => r != null && r.pps > 0 && r.bps > 0), JSON.stringify(rates));
    // Taken over by a third relay (A and B stay up for the next test; A then ends its copy).
    const relayC = await Relay.create({ mediaAddress: '127.0.0.3', ports: PORTS });
    const repC = new Replicator({ node: 'C', store: new StoreHandle(shared), sealer: sealer(), log: silent });
    const streams: MediaStreamHandle[] = [];
    const create = relayC.createSession.bind(relayC);
    relayC.createSession = ((id: string) => {
      const session = create(id);
      const add = session.addStream.bind(session);
      session.addStream = (async (...args: Parameters<typeof session.addStream>) => { const st = await add(...args); streams.push(st); return st; }) as typeof session.addStream;
      return session;
    }) as typeof relayC.createSession;
    const ctlC = new CallController({ relay: relayC, replication: repC });
    try {
      await repC.start(ctlC);
      const result = await repC.takeover('A');
      assert.equal(result.failed, 0, JSON.stringify(result));
      assert.equal(streams.length, 2);
      assert.deepEqual(streams.map((st) => st.rateLimit), rates);
      const recC = decodeCallRecord((await shared.get('srtpgate:call:C:rate1'))!);
      assert.deepEqual(recC.media[0]!.sides.map((x) => x.rate), rates);
    } finally {
      ctlC.delete({ callId: 'rate1' });
      ctlA.delete({ callId: 'rate1' });
      await repC.close();
      await relayC.close();
    }
  });

  it('takes over every sound call of a dead peer; a swapped key blob or tampered marks are refused', async () => {
    const calls = await Promise.all(['t1', 't2', 't3', 't4'].map((id) => call(ctlA, id)));
    const portsOnA = ['t1', 't2', 't3', 't4'].map((id) => ctlA.query(id));
    // Swap: t2's inbound key blob replaced by t1's (both sealed under the shared key).
    const r1 = decodeCallRecord((await shared.get('srtpgate:call:A:t1'))!);
    const r2 = decodeCallRecord((await shared.get('srtpgate:call:A:t2'))!);
    const swapped = { ...r2, media: [{ ...r2.media[0]!, sides: [{ ...r2.media[0]!.sides[0], inKey: r1.media[0]!.sides[0].inKey }, r2.media[0]!.sides[1]] }] };
    shared.write('srtpgate:call:A:t2', encodeRecord(swapped as unknown as typeof r2));
    // Tamper: t3's index marks, one bit of the sealed blob.
    const idx3 = await shared.get('srtpgate:idx:A:t3');
    if (idx3 !== null) {
      const blob = JSON.parse(idx3) as SealedBlob;
      const c = Buffer.from(blob.c, 'base64');
      c[0]! ^= 1;
      shared.write('srtpgate:idx:A:t3', JSON.stringify({ ...blob, c: c.toString('base64') }));
    } else {
      shared.write('srtpgate:idx:A:t3', JSON.stringify({ k: sealer().keyId, n: randomBytes(12).toString('base64'), c: randomBytes(40).toString('base64') }));
    }

    // A dies: its replication stops, its sockets close (records stay: nothing said goodbye).
    await repA.close();
    await relayA.close();
    const running = repB.takeover('A');
    assert.equal(repB.takeover('A'), running, 'a second trigger joins the running takeover');
    const result = await running;
    assert.deepEqual([result.calls, result.failed], [2, 2], JSON.stringify(result));
    for (const id of ['t1', 't4']) {
      const q = ctlB.query(id);
      const before = portsOnA[['t1', 't2', 't3', 't4'].indexOf(id)]!;
      const ports = (tags: unknown): string[] => (JSON.stringify(tags).match(/"localPort":\d+/g) ?? []).sort();
      assert.equal(ports(before.tags).length, 2);
      assert.deepEqual(ports(q.tags), ports(before.tags), 'same ports on B');
      assert.ok(await shared.get(`srtpgate:call:B:${id}`));
      assert.equal(await shared.get(`srtpgate:call:A:${id}`), null);
    }
    for (const id of ['t2', 't3']) assert.throws(() => ctlB.query(id), /Unknown call-id/);
    // A re-offer on B re-announces the relay key the answerer already has for its suite.
    const again = await ctlB.offer(offerReq('t1', sdp(5000, randomBytes(30).toString('base64'))));
    const key = (s: string): string => /AES_CM_128_HMAC_SHA1_80 inline:(\S+)/.exec(s)![1]!;
    assert.equal(key(again.sdp), key(calls[0]!.toAnswerer));
    assert.ok(ctlB.delete({ callId: 't1' }).deleted);
    assert.equal(await shared.get('srtpgate:call:B:t1'), null);
  });
});
