// Takeover without a replay hole, end to end: a real redis-server, two srtpgate daemons (A and
// B) on the same media address (127.0.0.1 stands for the virtual address keepalived would
// move), a call set up on A over ng with SRTP both ways between two libsrtp2 endpoints, A
// killed with SIGKILL mid-stream, B taking the call over when A's heartbeat key expires.
//
// Asserted: media flows again through B with loss only during the switch; the far ends'
// libsrtp2 receivers accept every packet they get, before and after (no replay, no auth
// failure), so no SRTP index reached them twice under one key; packets captured before the
// switch and replayed to B are not forwarded; ng query and delete work on B; Redis never holds
// a master key or salt in any usual encoding, and A's records are gone after the takeover.
// Printed: switch-over time, packets lost, index writes per call per second.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DaemonLogLine } from '../helpers/daemon.ts';
import { rtp } from '../helpers/packets.ts';
import { Endpoint, SUITE, metric, mPort, relayCrypto, sdp, sleep } from '../ha/callHelpers.ts';
import {
  ALICE_SSRC, TakeoverRig, assertDeliveredAcrossSwitch, assertNoSecrets, assertOnlyBRecords, assertReplaysRefused, dumpRedis, keySecrets,
  killAndTakeOver, ngOk, replaysFromBeforeKill, streamBothWays, type Switch,
} from '../ha/takeoverHarness.ts';

const TOKEN = `ha-e2e-${randomBytes(12).toString('hex')}`;
const PORT_MIN = 43_000;
const tsOf = (l: DaemonLogLine): number => Date.parse(l.ts);

describe('takeover of a call by a standby relay (Redis, two daemons, SIGKILL)', () => {
  const rig = new TakeoverRig();
  before(() => rig.setUp());
  after(() => rig.tearDown());

  // 'heartbeat': B takes over by itself when A's heartbeat key expires (ha.autoTakeover);
  // 'command': B waits for POST /v1/ha/takeover (what keepalived's notify script would send).
  // workers: 1 runs the same with media in a worker thread on both relays.
  const cases = [{ trigger: 'heartbeat', workers: 0 }, { trigger: 'command', workers: 0 }, { trigger: 'heartbeat', workers: 1 }] as const;
  for (const { trigger, workers } of cases) it(`media continues through B after A dies (takeover by ${trigger}, ${workers} media workers); no replayed or reused index reaches a far end`, { timeout: 90_000 }, async (t) => {
    const env = rig.ready(t);
    if (env === null) return;
    const { redis, lib } = env;
    const { A, B, ngA, ngB } = await rig.startPair({ token: TOKEN, portMin: PORT_MIN, workers, autoTakeover: trigger === 'heartbeat' });

    // The call, on A.
    const alice = await Endpoint.open(), bob = await Endpoint.open(), attacker = await Endpoint.open();
    rig.onTearDown(() => alice.close(), () => bob.close(), () => attacker.close());
    const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);
    const callId = `takeover-${randomBytes(6).toString('hex')}@e2e`;
    const offer = await ngOk(ngA, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp(alice.port, Buffer.concat([aKey, aSalt]).toString('base64')) });
    const toBob = String(offer.sdp);
    const relayToBob = relayCrypto(toBob);
    const answer = await ngOk(ngA, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), relayToBob.tag) });
    const toAlice = String(answer.sdp);
    const relayToAlice = relayCrypto(toAlice);
    const portForAlice = mPort(toAlice), portForBob = mPort(toBob);
    await lib.session('ha-atx', 'out', SUITE, aKey, aSalt);
    await lib.session('ha-arx', 'in', SUITE, relayToAlice.key, relayToAlice.salt);
    await lib.session('ha-btx', 'out', SUITE, bKey, bSalt);
    await lib.session('ha-brx', 'in', SUITE, relayToBob.key, relayToBob.salt);

    // Both directions at 50 packets/s until told to stop.
    const stream = streamBothWays(lib, {
      aliceTx: 'ha-atx', bobTx: 'ha-btx', sendAlice: (w) => alice.send(w, portForAlice), sendBob: (w) => bob.send(w, portForBob),
    });
    const { sent } = stream;

    let indexWritesPerSecond = 0, callWrites = 0;
    let sw: Switch | null = null;
    let secrets: Record<string, Buffer> = {};
    try {
      await sleep(2500);
      assert.ok(bob.arrivals.length > 50 && alice.arrivals.length > 50, 'media flows through A');
      const t0 = Date.now();
      const writesBefore = await metric(A, TOKEN, 'srtpgate_ha_index_writes_total');
      callWrites = await metric(A, TOKEN, 'srtpgate_ha_call_writes_total');
      assert.equal(await metric(A, TOKEN, 'srtpgate_ha_hwm_overrun_total'), 0);
      assert.equal(await metric(A, TOKEN, 'srtpgate_ha_redis_up'), 1);
      // Keys at rest: nothing of any master key or salt is readable in Redis.
      secrets = keySecrets({
        alice: [aKey, aSalt], bob: [bKey, bSalt], relayToAlice: [relayToAlice.key, relayToAlice.salt], relayToBob: [relayToBob.key, relayToBob.salt],
      });
      const dumpA = await dumpRedis(redis.url);
      assert.ok([...dumpA.keys()].includes(`srtpgate:call:A:${callId}`), [...dumpA.keys()].join(', '));
      assert.ok([...dumpA.keys()].includes(`srtpgate:idx:A:${callId}`));
      assertNoSecrets(dumpA, secrets);
      await sleep(3000); // a window long enough to count index writes
      indexWritesPerSecond = (await metric(A, TOKEN, 'srtpgate_ha_index_writes_total') - writesBefore) / ((Date.now() - t0) / 1000);

      // A dies.
      sw = await killAndTakeOver(A, B, trigger === 'command' ? async () => {
        const post = (auth: string, body: unknown) => fetch(`http://127.0.0.1:${B.http!.port}/v1/ha/takeover`, {
          method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body),
        });
        assert.equal((await post('Bearer wrong-token-wrong-token', { node: 'A' })).status, 401);
        assert.equal((await post(`Bearer ${TOKEN}`, { node: 'A:x' })).status, 400);
        assert.ok(!B.lines.some((l) => l.msg === 'ha: takeover done'), 'no takeover without the command');
        const r = await post(`Bearer ${TOKEN}`, { node: 'A' });
        assert.equal(r.status, 200);
        const body = await r.json() as { calls: number; failed: number };
        assert.deepEqual([body.calls, body.failed], [1, 0]);
      } : undefined);
      await sleep(2000);
    } finally {
      await stream.stop();
    }

    // Every packet a far end received opens in its libsrtp2 receiver (replay or auth failure throws);
    // loss only during the switch: everything sent well before the kill and after the takeover arrived.
    assert.ok(sw !== null);
    const { killedAt, gone, done } = sw;
    await assertDeliveredAcrossSwitch(t, lib, sent, { bob: { arrivals: bob.arrivals, rx: 'ha-brx', label: 'alice→bob' }, alice: { arrivals: alice.arrivals, rx: 'ha-arx', label: 'bob→alice' } }, sw);
    const takeoverAt = tsOf(done);
    const firstAtBob = bob.arrivals.find((a) => a.at > killedAt)!.at;
    t.diagnostic(`switch-over: SIGKILL → heartbeat expiry noticed ${tsOf(gone) - killedAt} ms; expiry → takeover done ${takeoverAt - tsOf(gone)} ms (takeover itself ${String(done.context.durationMs)} ms); expiry → media at the far end ${firstAtBob - tsOf(gone)} ms; SIGKILL → media ${firstAtBob - killedAt} ms`);
    t.diagnostic(`replication cost on A: ${indexWritesPerSecond.toFixed(2)} index writes/s for 1 call at 50 packets/s per direction; ${callWrites} call-record writes for offer+answer`);

    // Replays of what A forwarded before the switch (the newest ones, inside the last mark's margin, and old ones): none forwarded.
    const replayA = replaysFromBeforeKill(sent.alice, killedAt);
    const replayB = replaysFromBeforeKill(sent.bob, killedAt);
    await assertReplaysRefused(attacker, [[replayA, portForAlice], [replayB, portForBob]], { bob, alice });
    const nBob = bob.arrivals.length;

    // A re-INVITE through B re-announcing the same keys: the relay re-offers its own keys
    // unchanged and leaves the contexts (and their floors) alone, so the replays still fail.
    const reOffer = await ngOk(ngB, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(alice.port, Buffer.concat([aKey, aSalt]).toString('base64')) });
    const reToBob = relayCrypto(String(reOffer.sdp));
    assert.deepEqual([reToBob.key, reToBob.salt], [relayToBob.key, relayToBob.salt], 'the relay re-offers the key bob already has');
    assert.equal(mPort(String(reOffer.sdp)), portForBob);
    const reAnswer = await ngOk(ngB, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), reToBob.tag) });
    const reToAlice = relayCrypto(String(reAnswer.sdp));
    assert.deepEqual([reToAlice.key, reToAlice.salt], [relayToAlice.key, relayToAlice.salt], 'the relay answers with the key alice already has');
    for (const p of replayA.slice(0, 10)) await attacker.send(p.wire, portForAlice);
    await sleep(300);
    assert.equal(bob.arrivals.length, nBob, 'after the re-INVITE a replay from before the switch was forwarded');
    const next = rtp({ seq: sent.alice.at(-1)!.seq + 1, ssrc: ALICE_SSRC, payload: randomBytes(160) });
    await alice.send(await lib.protectRtp('ha-atx', next), portForAlice);
    await sleep(300);
    assert.equal(bob.arrivals.length, nBob + 1, 'media goes on after the re-INVITE');
    assert.deepEqual(await lib.unprotectRtp('ha-brx', bob.arrivals.at(-1)!.msg), next);

    // The call is B's now: ng query and delete work there; A's records are gone, keys still sealed.
    const q = await ngOk(ngB, { command: 'query', 'call-id': callId });
    assert.ok((q.tags as Record<string, unknown>).alice && (q.tags as Record<string, unknown>).bob, JSON.stringify(q).slice(0, 300));
    const dumpB = await dumpRedis(redis.url);
    assertOnlyBRecords(dumpB, callId);
    assertNoSecrets(dumpB, secrets);
    assert.equal(await metric(B, TOKEN, 'srtpgate_ha_takeovers_total'), 1);
    await ngOk(ngB, { command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
    await sleep(300);
    assert.equal((await redis.cli('EXISTS', `srtpgate:call:B:${callId}`)).trim(), '0');
    await B.stop();
  });
});
