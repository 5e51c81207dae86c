// RFC 6404 §2.4: each threat to the media function, attacked against a running relay and
// shown countered. Far ends are UDP sockets on loopback; the legitimate sender protects with
// its own SrtpSession, the attacker has no keys (or the wrong ones). Attackers send from
// their own loopback addresses (127.0.0.6x): the relay keys flood limits and bans by address.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { CALL_SUITE, freshKeys, openRelayCall, type RelayCall } from '../helpers/relayCall.ts';
import { rtp, rtcpRr, rtcpBye } from '../helpers/packets.ts';

const SUITE = CALL_SUITE;
const keys = freshKeys;

let relay: Relay;
let n = 0;

const call = (bSrtp = true): Promise<RelayCall> => openRelayCall(relay, `threat-${++n}`, { bSrtp });

describe('RFC 6404 media threats against a running relay', () => {
  before(async () => { relay = await Relay.create({ ports: { min: 45000, max: 45999 } }); });
  after(async () => { await relay.close(); });

  it('eavesdropping: no plaintext payload on an SRTP leg (checked on the wire)', async () => {
    const c = await call();
    try {
      const marker = Buffer.from('PIN-1234-SECRET-DTMF-'.repeat(8));
      await c.peerA.send(c.aTx.protectRtp(rtp({ seq: 1, ssrc: 7, payload: marker })), c.a.rtpPort.port);
      const [wire] = await c.peerB.waitFor(1);
      assert.ok(wire, 'packet forwarded');
      assert.equal(Buffer.from(wire).includes(marker.subarray(0, 16)), false, 'plaintext on the wire');
      assert.deepEqual(Buffer.from(c.bRx.unprotectRtp(wire)).subarray(12), marker);
    } finally { await c.close(); }
  });

  it('media injection: forged and replayed SRTP are never forwarded', async () => {
    const c = await call();
    try {
      const genuine = c.aTx.protectRtp(rtp({ seq: 10, ssrc: 7 }));
      await c.peerA.send(genuine, c.a.rtpPort.port);
      await c.peerB.waitFor(1);
      const attacker = await UdpPeer.open('127.0.0.61');
      const forgedKeys = createSrtpSessionSync({ suite: SUITE, ...keys() });
      for (let seq = 11; seq < 61; seq++) {
        // Higher seq/ts than the genuine stream, under the attacker's own keys.
        await attacker.send(forgedKeys.protectRtp(rtp({ seq, ssrc: 7, ts: 999_999 })), c.a.rtpPort.port);
        await attacker.send(genuine, c.a.rtpPort.port); // replay from another address
      }
      await c.peerA.send(genuine, c.a.rtpPort.port); // replay from the genuine address
      assert.equal(await c.peerB.settle(200), 1);
      // Forgeries fail authentication; replays fail the replay check; once the attacker's
      // address has earned a ban its packets stop before any crypto.
      const d = c.a.stats.drops;
      assert.equal(d.auth + d.replay + d.rateLimited, 101, JSON.stringify(d));
      assert.ok(d.auth > 0 && d.replay > 0);
      forgedKeys.close(); await attacker.close();
    } finally { await c.close(); }
  });

  it('media session teardown: a forged RTCP BYE is never forwarded', async () => {
    const c = await call();
    try {
      const attacker = await UdpPeer.open('127.0.0.62');
      await attacker.send(rtcpBye(7), c.a.rtpPort.port);                          // plain BYE
      const wrong = createSrtpSessionSync({ suite: SUITE, ...keys() });
      await attacker.send(wrong.protectRtcp(rtcpBye(7)), c.a.rtpPort.port);        // wrong key
      const flipped = c.aTx.protectRtcp(rtcpBye(7)); flipped[flipped.length - 14]! ^= 0x80; // E bit cleared
      await attacker.send(flipped, c.a.rtpPort.port);
      assert.equal(await c.peerB.settle(200), 0);
      const good = c.aTx.protectRtcp(rtcpBye(7));
      await c.peerA.send(good, c.a.rtpPort.port);
      const [bye] = await c.peerB.waitFor(1);
      assert.deepEqual(c.bRx.unprotectRtcp(bye!), rtcpBye(7));
      wrong.close(); await attacker.close();
    } finally { await c.close(); }
  });

  it('QoS degradation: forged RTCP receiver reports are never forwarded', async () => {
    const c = await call();
    try {
      const attacker = await UdpPeer.open('127.0.0.63');
      for (let i = 0; i < 20; i++) {
        const rr = rtcpRr(7, 24);
        rr[12] = 0xff; // fraction lost 100%
        await attacker.send(rr, c.a.rtpPort.port);
        const tampered = c.aTx.protectRtcp(rtcpRr(7, 24)); tampered[12]! ^= 0xff;
        await attacker.send(tampered, c.a.rtpPort.port);
      }
      assert.equal(await c.peerB.settle(200), 0);
      assert.ok(c.a.stats.totalDrops >= 40);
      await attacker.close();
    } finally { await c.close(); }
  });

  it('malformed messages: random and truncated datagrams are counted drops; the relay keeps working', async () => {
    const c = await call();
    try {
      const attacker = await UdpPeer.open('127.0.0.64');
      // The call is up: the genuine peer has latched.
      await c.peerA.send(c.aTx.protectRtp(rtp({ seq: 0, ssrc: 7 })), c.a.rtpPort.port);
      await c.peerB.waitFor(1);
      c.peerB.clear();
      const genuine = c.aTx.protectRtp(rtp({ seq: 1, ssrc: 7 }));
      for (let i = 0; i < 2000; i++) {
        const kind = i % 4;
        const d = kind === 0 ? randomBytes(1 + (i % 300)) : kind === 1 ? genuine.subarray(0, i % genuine.length)
          : kind === 2 ? Uint8Array.from([0x80 | (i & 0x3f), ...randomBytes(i % 40)]) : Buffer.concat([genuine, randomBytes(i % 20)]);
        if (d.length) await attacker.send(d, c.a.rtpPort.port);
      }
      await c.peerA.send(genuine, c.a.rtpPort.port);
      const got = await c.peerB.waitFor(1, 2000);
      assert.equal(got.length, 1, 'only the genuine packet is forwarded');
      await relay.syncStats();
      assert.ok(c.a.stats.totalDrops >= 1900, `drops ${c.a.stats.totalDrops}`);
      await attacker.close();
    } finally { await c.close(); }
  });

  it('message flooding: a flood at 10x the stream rate on one session leaves the other sessions\' loss below 0.1%', async () => {
    const flood = await Relay.create({ ports: { min: 46000, max: 46999 }, rateLimits: { stream: { pps: 200, bps: 0 } } });
    const saved = relay;
    relay = flood;
    const victim = await call(false);
    const others = [await call(false), await call(false)];
    try {
      const attacker = await UdpPeer.open('127.0.0.65');
      const bogus = victim.aTx.protectRtp(rtp({ seq: 5, ssrc: 7 }));
      bogus[bogus.length - 1]! ^= 1;
      // 2000 packets/s (10x) at the victim for 2 s, while the others send 100 packets/s each.
      const N = 200;
      let seq = 0;
      for (let tick = 0; tick < N; tick++) {
        const burst: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) burst.push(attacker.send(bogus, victim.a.rtpPort.port));
        for (const o of others) burst.push(o.peerA.send(o.aTx.protectRtp(rtp({ seq, ssrc: 9, payload: randomBytes(160) })), o.a.rtpPort.port));
        seq++;
        await Promise.all(burst);
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const o of others) await o.peerB.waitFor(N, 3000);
      for (const o of others) {
        const loss = 1 - o.peerB.received.length / N;
        assert.ok(loss < 0.001, `loss ${(loss * 100).toFixed(2)}% on an unflooded session`);
      }
      assert.ok(victim.a.stats.drops.rateLimited > 0, 'the flood hit the limiter before crypto');
      await attacker.close();
    } finally {
      await victim.close();
      for (const o of others) await o.close();
      relay = saved;
      await flood.close();
    }
  });
});
