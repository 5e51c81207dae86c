// Redis slow or gone under a replicating daemon: signalling and media go on from memory, the
// fault is counted (srtpgate_ha_write_errors_total, srtpgate_ha_redis_up) and logged once, the
// daemon does not crash, and once Redis is back (restarted empty) every call is written again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DaemonProcess } from '../helpers/daemon.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { rtp } from '../helpers/packets.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { REDIS_SKIP, RedisServer } from '../ha/redisServer.ts';
import { Endpoint, SUITE, metric, mPort, relayCrypto, sdp, sleep } from '../ha/callHelpers.ts';

const TOKEN = `ha-down-${randomBytes(12).toString('hex')}`;

describe('replicating daemon with Redis paused or killed mid-call', () => {
  let redis: RedisServer | null = null;
  let lib: LibsrtpPeer | null = null;
  let daemon: DaemonProcess | null = null;
  const endpoints: Endpoint[] = [];
  let ng: NgClient | null = null;
  before(async () => {
    redis = await RedisServer.start();
    lib = await LibsrtpPeer.start();
  });
  after(async () => {
    await ng?.close();
    for (const e of endpoints) e.close();
    daemon?.kill();
    await daemon?.exited;
    await lib?.close();
    await redis?.stop();
  });

  it('starts and serves calls with no Redis reachable at all', { timeout: 60_000 }, async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    // A port nothing listens on: the Redis of this test, stopped.
    const url = redis.url;
    await redis.killAndWait();
    const d = await DaemonProcess.start({
      ng: { address: '127.0.0.1', port: 0, commandsPerSecond: 0 },
      http: { address: '127.0.0.1', port: 0, token: TOKEN },
      media: { address: '127.0.0.1', portMin: 44_200, portMax: 44_299 },
      ha: { redisUrl: url, nodeId: 'lonely', stateKey: randomBytes(32).toString('base64'), peers: 'other' },
    });
    try {
      const c = await NgClient.open(d.ng);
      try {
        const r = await c.request({ command: 'offer', 'call-id': 'no-redis', 'from-tag': 'a', sdp: sdp(9, randomBytes(30).toString('base64')) }, { timeoutMs: 2000 });
        assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
      } finally {
        await c.close();
      }
      assert.equal(await metric(d, TOKEN, 'srtpgate_ha_redis_up'), 0);
      assert.ok(await metric(d, TOKEN, 'srtpgate_ha_write_errors_total') > 0);
      // Redis comes up: the call is written.
      await redis.restart();
      const deadline = Date.now() + 8000;
      while ((await redis.cli('EXISTS', 'srtpgate:call:lonely:no-redis')).trim() !== '1') {
        assert.ok(Date.now() < deadline, 'the call is written once Redis is reachable');
        await sleep(100);
      }
    } finally {
      await d.stop();
    }
  });

  it('calls are set up and carry media while Redis is away; state is rewritten when it returns', { timeout: 60_000 }, async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    if (!lib) return skipOrFail(t, skipReason());
    daemon = await DaemonProcess.start({
      ng: { address: '127.0.0.1', port: 0, commandsPerSecond: 0 },
      http: { address: '127.0.0.1', port: 0, token: TOKEN },
      media: { address: '127.0.0.1', portMin: 44_000, portMax: 44_199 },
      ha: { redisUrl: redis.url, nodeId: 'solo', stateKey: randomBytes(32).toString('base64') },
    });
    const d = daemon;
    ng = await NgClient.open(d.ng);
    const req = async (dict: { [k: string]: BVal }): Promise<{ [k: string]: BVal }> => {
      const r = await ng!.request(dict, { timeoutMs: 2000 });
      assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
      return r.reply;
    };
    let n = 0;
    /** A new call with SRTP both ways; returns a function that sends `count` packets each way and counts arrivals. */
    const call = async (): Promise<{ callId: string; exchange: (count: number) => Promise<[number, number]> }> => {
      const i = n++;
      const a = await Endpoint.open(), b = await Endpoint.open();
      endpoints.push(a, b);
      const aKey = randomBytes(30), bKey = randomBytes(30);
      const callId = `down-${i}-${randomBytes(4).toString('hex')}`;
      const t0 = performance.now();
      const offer = await req({ command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: sdp(a.port, aKey.toString('base64')) });
      const toB = String(offer.sdp), relayToB = relayCrypto(toB);
      const answer = await req({ command: 'answer', 'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: sdp(b.port, bKey.toString('base64'), relayToB.tag) });
      t.diagnostic(`call ${i}: offer+answer answered in ${(performance.now() - t0).toFixed(1)} ms (srtpgate_ha_redis_up ${await metric(d, TOKEN, 'srtpgate_ha_redis_up')})`);
      const toA = String(answer.sdp), relayToA = relayCrypto(toA);
      await lib!.session(`d${i}atx`, 'out', SUITE, aKey.subarray(0, 16), aKey.subarray(16));
      await lib!.session(`d${i}btx`, 'out', SUITE, bKey.subarray(0, 16), bKey.subarray(16));
      await lib!.session(`d${i}arx`, 'in', SUITE, relayToA.key, relayToA.salt);
      await lib!.session(`d${i}brx`, 'in', SUITE, relayToB.key, relayToB.salt);
      let seq = 0;
      const exchange = async (count: number): Promise<[number, number]> => {
        const [nb, na] = [b.arrivals.length, a.arrivals.length];
        for (let k = 0; k < count; k++, seq++) {
          await a.send(await lib!.protectRtp(`d${i}atx`, rtp({ seq, ssrc: 0xa0 + i })), mPort(toA));
          await b.send(await lib!.protectRtp(`d${i}btx`, rtp({ seq, ssrc: 0xb0 + i })), mPort(toB));
          await sleep(5);
        }
        await sleep(200);
        // What arrived opens in the far ends' libsrtp2 receivers.
        for (const { msg } of b.arrivals.slice(nb)) await lib!.unprotectRtp(`d${i}brx`, msg);
        for (const { msg } of a.arrivals.slice(na)) await lib!.unprotectRtp(`d${i}arx`, msg);
        return [b.arrivals.length - nb, a.arrivals.length - na];
      };
      return { callId, exchange };
    };

    const c1 = await call();
    assert.deepEqual(await c1.exchange(20), [20, 20]);
    assert.equal(await metric(d, TOKEN, 'srtpgate_ha_redis_up'), 1);
    assert.equal((await redis.cli('EXISTS', `srtpgate:call:solo:${c1.callId}`)).trim(), '1');

    // Slow: Redis stopped (SIGSTOP) — the connection stays open, commands time out.
    redis.pause();
    const c2 = await call();
    assert.deepEqual(await c2.exchange(20), [20, 20]);
    assert.deepEqual(await c1.exchange(20), [20, 20]);
    await sleep(1500);
    const slowErrors = await metric(d, TOKEN, 'srtpgate_ha_write_errors_total');
    assert.ok(slowErrors > 0, `write errors counted while Redis is stopped: ${slowErrors}`);
    redis.resume();
    const deadline1 = Date.now() + 8000;
    while ((await redis.cli('EXISTS', `srtpgate:call:solo:${c2.callId}`)).trim() !== '1') {
      assert.ok(Date.now() < deadline1, 'the call set up while Redis was stopped is written after SIGCONT');
      await sleep(100);
    }

    // Gone: Redis killed — reported down, calls go on, then a fresh (empty) Redis gets everything again.
    await redis.killAndWait();
    const downAt = Date.now();
    while (await metric(d, TOKEN, 'srtpgate_ha_redis_up') !== 0) {
      assert.ok(Date.now() - downAt < 5000, 'srtpgate_ha_redis_up goes to 0');
      await sleep(50);
    }
    const c3 = await call();
    assert.deepEqual(await c3.exchange(20), [20, 20]);
    assert.deepEqual(await c1.exchange(20), [20, 20]);
    const downErrors = await metric(d, TOKEN, 'srtpgate_ha_write_errors_total');
    assert.ok(downErrors > slowErrors, `errors keep rising while Redis is down: ${downErrors}`);
    const downLogs = d.lines.filter((l) => l.msg === 'ha: state store unreachable: calls continue from memory');
    assert.equal(downLogs.length, 1, 'the fault is logged once, not per write');
    await redis.restart();
    const deadline2 = Date.now() + 10_000;
    for (const c of [c1, c2, c3]) {
      while ((await redis.cli('EXISTS', `srtpgate:call:solo:${c.callId}`)).trim() !== '1' || (await redis.cli('EXISTS', `srtpgate:idx:solo:${c.callId}`)).trim() !== '1') {
        assert.ok(Date.now() < deadline2, `call ${c.callId} and its index marks are written again after Redis returns`);
        await sleep(100);
      }
    }
    assert.equal(await metric(d, TOKEN, 'srtpgate_ha_redis_up'), 1);
    assert.deepEqual(await c3.exchange(10), [10, 10]);
    assert.ok(d.running, 'the daemon is still running');
    const hb = (await redis.cli('PTTL', 'srtpgate:hb:solo')).trim();
    assert.ok(Number(hb) > 0, `heartbeat key back with a TTL: ${hb}`);
  });
});
