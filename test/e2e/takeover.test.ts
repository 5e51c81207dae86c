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
import { Redis } from 'ioredis';
import { DaemonProcess, type DaemonLogLine } from '../helpers/daemon.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { rtp } from '../helpers/packets.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { REDIS_SKIP, RedisServer } from '../ha/redisServer.ts';
import { Endpoint, SUITE, metric, mPort, relayCrypto, sdp, seqOf, sleep, ssrcOf } from '../ha/callHelpers.ts';

const TOKEN = `ha-e2e-${randomBytes(12).toString('hex')}`;
const PORT_MIN = 43_000;
const PACKET_MS = 20;
const tsOf = (l: DaemonLogLine): number => Date.parse(l.ts);

/** Every spelling a key could leak in: raw bytes, hex (both cases), base64 padded and not, base64url. */
function spellings(secret: Buffer): Buffer[] {
  const b64 = secret.toString('base64');
  return [secret, Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('hex').toUpperCase()),
    Buffer.from(b64), Buffer.from(b64.replace(/=+$/, '')), Buffer.from(secret.toString('base64url'))];
}

async function dumpRedis(url: string): Promise<Map<string, Buffer>> {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  try {
    const out = new Map<string, Buffer>();
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const v = (await c.type(k)) === 'string' ? await c.getBuffer(k) : await c.dumpBuffer(k);
        if (v !== null) out.set(k, v);
      }
    } while (cursor !== '0');
    return out;
  } finally {
    c.disconnect();
  }
}

function assertNoSecrets(dump: Map<string, Buffer>, secrets: Record<string, Buffer>): void {
  assert.ok(dump.size > 0, 'Redis holds the call state');
  for (const [key, value] of dump) {
    const haystack = Buffer.concat([Buffer.from(key), Buffer.from(' '), value]);
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form of spellings(secret)) {
        assert.equal(haystack.indexOf(form), -1, `${name} readable in Redis key ${key}`);
      }
    }
  }
}

describe('takeover of a call by a standby relay (Redis, two daemons, SIGKILL)', () => {
  let redis: RedisServer | null = null;
  let lib: LibsrtpPeer | null = null;
  const daemons: DaemonProcess[] = [];
  const clients: NgClient[] = [];
  const endpoints: Endpoint[] = [];
  before(async () => {
    redis = await RedisServer.start();
    lib = await LibsrtpPeer.start();
  });
  after(async () => {
    for (const c of clients) await c.close();
    for (const e of endpoints) e.close();
    DaemonProcess.killAll();
    await Promise.all(daemons.map((d) => d.exited));
    await lib?.close();
    await redis?.stop();
  });

  // 'heartbeat': B takes over by itself when A's heartbeat key expires (ha.autoTakeover);
  // 'command': B waits for POST /v1/ha/takeover (what keepalived's notify script would send).
  // workers: 1 runs the same with media in a worker thread on both relays.
  const cases = [{ trigger: 'heartbeat', workers: 0 }, { trigger: 'command', workers: 0 }, { trigger: 'heartbeat', workers: 1 }] as const;
  for (const { trigger, workers } of cases) it(`media continues through B after A dies (takeover by ${trigger}, ${workers} media workers); no replayed or reused index reaches a far end`, { timeout: 90_000 }, async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    if (!lib) return skipOrFail(t, skipReason());
    const stateKey = randomBytes(32).toString('base64');
    const config = (node: string, peer: string): object => ({
      ng: { address: '127.0.0.1', port: 0, commandsPerSecond: 0 },
      http: { address: '127.0.0.1', port: 0, token: TOKEN },
      media: { address: '127.0.0.1', portMin: PORT_MIN, portMax: PORT_MIN + 199, workers },
      ha: { redisUrl: redis!.url, nodeId: node, stateKey, peers: peer, autoTakeover: trigger === 'heartbeat' },
    });
    const [A, B] = await Promise.all([DaemonProcess.start(config('A', 'B')), DaemonProcess.start(config('B', 'A'))]);
    daemons.push(A, B);
    const ngA = await NgClient.open(A.ng), ngB = await NgClient.open(B.ng);
    clients.push(ngA, ngB);
    const req = async (ng: NgClient, d: { [k: string]: BVal }): Promise<{ [k: string]: BVal }> => {
      const r = await ng.request(d);
      assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
      return r.reply;
    };

    // The call, on A.
    const alice = await Endpoint.open(), bob = await Endpoint.open(), attacker = await Endpoint.open();
    endpoints.push(alice, bob, attacker);
    const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);
    const callId = `takeover-${randomBytes(6).toString('hex')}@e2e`;
    const offer = await req(ngA, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp(alice.port, Buffer.concat([aKey, aSalt]).toString('base64')) });
    const toBob = String(offer.sdp);
    const relayToBob = relayCrypto(toBob);
    const answer = await req(ngA, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), relayToBob.tag) });
    const toAlice = String(answer.sdp);
    const relayToAlice = relayCrypto(toAlice);
    const portForAlice = mPort(toAlice), portForBob = mPort(toBob);
    await lib.session('ha-atx', 'out', SUITE, aKey, aSalt);
    await lib.session('ha-arx', 'in', SUITE, relayToAlice.key, relayToAlice.salt);
    await lib.session('ha-btx', 'out', SUITE, bKey, bSalt);
    await lib.session('ha-brx', 'in', SUITE, relayToBob.key, relayToBob.salt);

    // Both directions at 50 packets/s until told to stop.
    const sent = { alice: [] as { seq: number; at: number; wire: Uint8Array }[], bob: [] as { seq: number; at: number; wire: Uint8Array }[] };
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        const pa = rtp({ seq: 1000 + i, ssrc: 0xa11ce, payload: randomBytes(160) });
        const pb = rtp({ seq: 30_000 + i, ssrc: 0xb0b, payload: randomBytes(160) });
        const [wa, wb] = await Promise.all([lib!.protectRtp('ha-atx', pa), lib!.protectRtp('ha-btx', pb)]);
        const at = Date.now();
        sent.alice.push({ seq: 1000 + i, at, wire: wa });
        sent.bob.push({ seq: 30_000 + i, at, wire: wb });
        await Promise.all([alice.send(wa, portForAlice), bob.send(wb, portForBob)]);
        await sleep(PACKET_MS);
      }
    })();

    let killedAt = 0, indexWritesPerSecond = 0, callWrites = 0;
    let gone: DaemonLogLine | null = null, done: DaemonLogLine | null = null;
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
      secrets = {
        aliceKey: aKey, aliceSalt: aSalt, bobKey: bKey, bobSalt: bSalt, relayToAliceKey: relayToAlice.key,
        relayToAliceSalt: relayToAlice.salt, relayToBobKey: relayToBob.key, relayToBobSalt: relayToBob.salt,
        aliceKeySalt: Buffer.concat([aKey, aSalt]), bobKeySalt: Buffer.concat([bKey, bSalt]),
        relayToBobKeySalt: Buffer.concat([relayToBob.key, relayToBob.salt]), relayToAliceKeySalt: Buffer.concat([relayToAlice.key, relayToAlice.salt]),
      };
      const dumpA = await dumpRedis(redis.url);
      assert.ok([...dumpA.keys()].includes(`srtpgate:call:A:${callId}`), [...dumpA.keys()].join(', '));
      assert.ok([...dumpA.keys()].includes(`srtpgate:idx:A:${callId}`));
      assertNoSecrets(dumpA, secrets);
      await sleep(3000); // a window long enough to count index writes
      indexWritesPerSecond = (await metric(A, TOKEN, 'srtpgate_ha_index_writes_total') - writesBefore) / ((Date.now() - t0) / 1000);

      // A dies.
      killedAt = Date.now();
      A.kill();
      gone = await B.waitForLog('ha: peer heartbeat gone', 10_000);
      if (trigger === 'command') {
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
      }
      done = await B.waitForLog('ha: takeover done', 10_000);
      assert.equal(done.context.calls, 1, JSON.stringify(done.context));
      assert.equal(done.context.failed, 0);
      await sleep(2000);
    } finally {
      streaming = false;
      await stream.catch(() => {});
    }
    await sleep(300);

    // Every packet a far end received opens in its libsrtp2 receiver (replay or auth failure throws).
    const check = async (ep: Endpoint, session: string, ssrc: number): Promise<Set<number>> => {
      const seqs = new Set<number>();
      for (const { msg } of ep.arrivals) {
        const plain = await lib!.unprotectRtp(session, msg);
        assert.equal(ssrcOf(plain), ssrc);
        const seq = seqOf(plain);
        assert.ok(!seqs.has(seq), `index ${seq} reached the far end twice`);
        seqs.add(seq);
      }
      return seqs;
    };
    assert.ok(gone !== null && done !== null);
    const atBob = await check(bob, 'ha-brx', 0xa11ce);
    const atAlice = await check(alice, 'ha-arx', 0xb0b);

    // Loss only during the switch: everything sent well before the kill and after the takeover arrived.
    const takeoverAt = tsOf(done);
    for (const [name, list, got] of [['alice→bob', sent.alice, atBob], ['bob→alice', sent.bob, atAlice]] as const) {
      const lost = list.filter((p) => !got.has(p.seq));
      for (const p of lost) {
        assert.ok(p.at >= killedAt - 100 && p.at <= takeoverAt + 100, `${name}: seq ${p.seq} lost ${p.at - killedAt} ms after the kill (takeover at +${takeoverAt - killedAt} ms)`);
      }
      const firstAfter = list.find((p) => p.at > killedAt && got.has(p.seq));
      assert.ok(firstAfter, `${name}: media flows again through B`);
      t.diagnostic(`${name}: ${list.length} sent, ${lost.length} lost during the switch; first packet through B sent ${firstAfter.at - killedAt} ms after SIGKILL`);
    }
    const firstAtBob = bob.arrivals.find((a) => a.at > killedAt)!.at;
    t.diagnostic(`switch-over: SIGKILL → heartbeat expiry noticed ${tsOf(gone) - killedAt} ms; expiry → takeover done ${takeoverAt - tsOf(gone)} ms (takeover itself ${String(done.context.durationMs)} ms); expiry → media at the far end ${firstAtBob - tsOf(gone)} ms; SIGKILL → media ${firstAtBob - killedAt} ms`);
    t.diagnostic(`replication cost on A: ${indexWritesPerSecond.toFixed(2)} index writes/s for 1 call at 50 packets/s per direction; ${callWrites} call-record writes for offer+answer`);

    // Replays of what A forwarded before the switch (the newest ones, inside the last mark's margin, and old ones): none forwarded.
    const beforeKill = (l: typeof sent.alice) => l.filter((p) => p.at < killedAt - 50);
    const replayA = [...beforeKill(sent.alice).slice(-30), ...beforeKill(sent.alice).slice(0, 10)];
    const replayB = [...beforeKill(sent.bob).slice(-30), ...beforeKill(sent.bob).slice(0, 10)];
    const nBob = bob.arrivals.length, nAlice = alice.arrivals.length;
    for (const p of replayA) await attacker.send(p.wire, portForAlice);
    for (const p of replayB) await attacker.send(p.wire, portForBob);
    await sleep(500);
    assert.equal(bob.arrivals.length, nBob, 'a replayed packet from before the switch was forwarded to bob');
    assert.equal(alice.arrivals.length, nAlice, 'a replayed packet from before the switch was forwarded to alice');

    // A re-INVITE through B re-announcing the same keys: the relay re-offers its own keys
    // unchanged and leaves the contexts (and their floors) alone, so the replays still fail.
    const reOffer = await req(ngB, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(alice.port, Buffer.concat([aKey, aSalt]).toString('base64')) });
    const reToBob = relayCrypto(String(reOffer.sdp));
    assert.deepEqual([reToBob.key, reToBob.salt], [relayToBob.key, relayToBob.salt], 'the relay re-offers the key bob already has');
    assert.equal(mPort(String(reOffer.sdp)), portForBob);
    const reAnswer = await req(ngB, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), reToBob.tag) });
    const reToAlice = relayCrypto(String(reAnswer.sdp));
    assert.deepEqual([reToAlice.key, reToAlice.salt], [relayToAlice.key, relayToAlice.salt], 'the relay answers with the key alice already has');
    for (const p of replayA.slice(0, 10)) await attacker.send(p.wire, portForAlice);
    await sleep(300);
    assert.equal(bob.arrivals.length, nBob, 'after the re-INVITE a replay from before the switch was forwarded');
    const next = rtp({ seq: sent.alice.at(-1)!.seq + 1, ssrc: 0xa11ce, payload: randomBytes(160) });
    await alice.send(await lib.protectRtp('ha-atx', next), portForAlice);
    await sleep(300);
    assert.equal(bob.arrivals.length, nBob + 1, 'media goes on after the re-INVITE');
    assert.deepEqual(await lib.unprotectRtp('ha-brx', bob.arrivals.at(-1)!.msg), next);

    // The call is B's now: ng query and delete work there; A's records are gone, keys still sealed.
    const q = await req(ngB, { command: 'query', 'call-id': callId });
    assert.ok((q.tags as Record<string, unknown>).alice && (q.tags as Record<string, unknown>).bob, JSON.stringify(q).slice(0, 300));
    const dumpB = await dumpRedis(redis.url);
    const keys = [...dumpB.keys()];
    assert.ok(keys.includes(`srtpgate:call:B:${callId}`), keys.join(', '));
    assert.ok(!keys.some((k) => k.startsWith('srtpgate:call:A:') || k.startsWith('srtpgate:idx:A:')), keys.join(', '));
    assertNoSecrets(dumpB, secrets);
    assert.equal(await metric(B, TOKEN, 'srtpgate_ha_takeovers_total'), 1);
    await req(ngB, { command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
    await sleep(300);
    assert.equal((await redis.cli('EXISTS', `srtpgate:call:B:${callId}`)).trim(), '0');
    await B.stop();
  });
});
