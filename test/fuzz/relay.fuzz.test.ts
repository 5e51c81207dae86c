// Fuzzing the relay's packet path end to end: mutated SRTP/SRTCP packets, DTLS-, STUN- and
// random-first-byte datagrams sent over UDP at a running Relay stream, from the signalled
// peer's own address (a spoofer's best position: no source check or ban stands in the way;
// rate limits are off so every datagram reaches the demux and the crypto).
// Invariants: the relay neither throws nor stops; nothing forged is forwarded (B receives at
// most the genuine packets, each of which decrypts); what reaches the stream is forwarded or
// counted as a drop (UDP may lose some of a burst on loopback, so not every datagram arrives);
// afterwards a genuine packet still goes through (no state was corrupted).
// Seeds: genuine packets protected with the stream's inbound keys (RTP and SRTCP).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../src/session/Relay.ts';
import { openRelayCall } from '../helpers/relayCall.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { Rng, SEED, TIME_MS, iterations, mutate } from './harness.ts';

const ITER = iterations(12_000);
const tick = () => new Promise((r) => setImmediate(r));

describe('fuzz: relay packet path (UDP into a running stream)', () => {
  let relay: Relay;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => { uncaught.push(e); };
  before(async () => {
    process.on('uncaughtException', onUncaught);
    relay = await Relay.create({ ports: { min: 46000, max: 46999 }, rateLimits: false });
  });
  after(async () => {
    await relay.close();
    process.off('uncaughtException', onUncaught);
  });

  it(`≤${ITER} hostile datagrams: nothing forged forwarded, drops counted, genuine media still flows`, async () => {
    const { a, b, peerA, peerB, aTx, bRx, close } = await openRelayCall(relay, 'fuzz-relay');
    try {
      const r = new Rng(SEED ^ 0x7e1a7);
      const seeds: Uint8Array[] = [];
      for (let seq = 1; seq <= 32; seq++) {
        seeds.push(aTx.protectRtp(rtp({ seq, ssrc: 0x5eed, ts: seq * 160, payload: r.bytes(20 + r.int(200)) })));
        seeds.push(aTx.protectRtcp(rtcpRr(0x5eed, r.int(64))));
      }
      const firsts = [0, 1, 3, 20, 22, 23, 63, 64, 127, 128, 0x80, 0x90, 0xa0, 0xbf, 0xc0, 0xff];
      let sent = 0;
      const started = performance.now();
      while (sent < ITER && performance.now() - started < Math.max(TIME_MS, 3000)) {
        const batch: Promise<void>[] = [];
        for (let i = 0; i < 128 && sent < ITER; i++, sent++) {
          let d: Uint8Array;
          const k = r.int(10);
          if (k < 7) d = mutate(r, r.pick(seeds), r.pick(seeds), []);
          else if (k < 9) { d = mutate(r, r.pick(seeds), r.pick(seeds), []).slice(); if (d.length) d[0] = r.pick(firsts); }
          else d = r.bytes(r.int(300));
          if (d.length === 0) d = r.bytes(1);
          batch.push(peerA.send(d, a.rtpPort.port).catch(() => {}));
        }
        await Promise.all(batch);
        await tick();
      }
      // Let the relay drain its socket.
      let last = -1;
      for (let i = 0; i < 100; i++) {
        const seen = a.stats.packetsIn + a.stats.totalDrops;
        if (seen === last) break;
        last = seen;
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.deepEqual(uncaught, [], 'uncaught exception in the relay');
      const forwarded = peerB.received.length;
      // Seeds are only ever sent mutated, so an exact genuine copy is the only thing that may pass.
      assert.ok(forwarded <= seeds.length, `forwarded ${forwarded} datagrams from ${seeds.length} genuine ones`);
      for (const { msg } of peerB.received) {
        if (msg[1]! >= 192 && msg[1]! <= 223) bRx.unprotectRtcp(msg); else bRx.unprotectRtp(msg);
      }
      const arrived = a.stats.packetsIn + a.stats.totalDrops;
      console.log(`# fuzz-count relay inputs=${sent} arrived=${a.stats.packetsIn} dropped=${a.stats.totalDrops} forwarded=${forwarded} drops=${JSON.stringify(Object.fromEntries(Object.entries(a.stats.drops).filter(([, v]) => v > 0)))}`);
      assert.ok(arrived > sent / 4, `only ${arrived} of ${sent} datagrams seen by the stream`);
      // Genuine media after the storm, with a fresh sequence number.
      peerB.clear();
      await peerA.send(aTx.protectRtp(rtp({ seq: 1000, ssrc: 0x5eed, ts: 160_000, payload: Buffer.from('after the storm') })), a.rtpPort.port);
      const [wire] = await peerB.waitFor(1);
      assert.ok(wire, 'genuine packet forwarded after the fuzz burst');
      assert.deepEqual(Buffer.from(bRx.unprotectRtp(wire)).subarray(12), Buffer.from('after the storm'));
    } finally {
      await close();
    }
  });
});
