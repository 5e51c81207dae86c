// Takeover through a Relay, in this thread and in a media worker: a call carried by one session
// (the relay that fails) is read with indexState(), its high-water mark (aheadOf) is applied as a
// floor to a second session with the same keys (the relay that takes over), and then:
// - packets captured before the switch and replayed to the new session are dropped as replays;
// - the far end's libsrtp2 receiver accepts every packet the new session sends (no replay or auth
//   failure), and nothing the new session sends reuses an index at or below the floor.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import { aheadOf, EMPTY_INDEX_STATE, type StreamIndexState } from '../../src/session/indexState.ts';
import { RelayError } from '../../src/errors.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { srtcpTrailer } from '../reference/refSrtp.ts';

const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;
const FROM_A = 0x1111; // SSRC the far end A sends with
const FROM_B = 0x2222; // SSRC of the plain-RTP far end B (the relay protects it towards A)

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RelayError && e.code === code);
}

for (const workers of [0, 1]) {
  describe(`index state and floors through a Relay (workers: ${workers})`, () => {
    let relay: Relay;
    let lib: LibsrtpPeer | null = null;
    before(async () => {
      relay = await Relay.create({ workers, ports: { min: 51200 + workers * 50, max: 51249 + workers * 50 } });
      lib = await LibsrtpPeer.start();
    });
    after(async () => { await relay.close(); await lib?.close(); });

    it('a second session continues from the first one\'s high-water mark: replays dropped, libsrtp2 accepts all it gets', async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      const id = `floor${workers}`;
      const aSends = { masterKey: randomBytes(16), masterSalt: randomBytes(14) };
      const toA = { masterKey: randomBytes(16), masterSalt: randomBytes(14) };
      await lib.session(`${id}tx`, 'out', SUITE, aSends.masterKey, aSends.masterSalt);
      await lib.session(`${id}rx`, 'in', SUITE, toA.masterKey, toA.masterSalt);
      const peerA = await UdpPeer.open(), peerB = await UdpPeer.open();
      const open = async (callId: string): Promise<{ a: MediaStreamHandle; b: MediaStreamHandle; close(): void }> => {
        const s = relay.createSession(callId);
        const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
        const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
        linkStreams(a, b);
        a.setRemote({ address: '127.0.0.1', port: peerA.port });
        b.setRemote({ address: '127.0.0.1', port: peerB.port });
        a.setInboundCrypto({ suite: SUITE, masterKey: aSends.masterKey.slice(), masterSalt: aSends.masterSalt.slice() });
        a.setOutboundCrypto({ suite: SUITE, masterKey: toA.masterKey.slice(), masterSalt: toA.masterSalt.slice() });
        b.setInboundCrypto(null);
        b.setOutboundCrypto(null);
        return { a, b, close: () => s.close() };
      };
      /** Everything peerA receives must pass libsrtp2; returns the RTP sequence numbers. */
      const acceptedAtA = async (from: number): Promise<number[]> => {
        const seqs: number[] = [];
        for (const r of peerA.received.slice(from)) {
          const pt = r.msg[1]! & 0x7f;
          if (pt >= 64 && pt <= 95) await lib!.unprotectRtcp(`${id}rx`, r.msg);
          else {
            const plain = await lib!.unprotectRtp(`${id}rx`, r.msg);
            seqs.push((plain[2]! << 8) | plain[3]!);
          }
        }
        return seqs;
      };
      try {
        // ---- the relay that will fail: 30 packets each way across a ROC wrap, a little RTCP ----
        const one = await open(`${id}-1`);
        const captured: Uint8Array[] = [];
        for (let i = 0; i < 30; i++) {
          const p = await lib.protectRtp(`${id}tx`, rtp({ seq: (65520 + i) % 65536, ssrc: FROM_A, payload: randomBytes(80) }));
          captured.push(p);
          await peerA.send(p, one.a.rtpPort.port);
        }
        let lastRtcpA = -1; // libsrtp2 picks its own SRTCP indexes: read them off the wire
        for (let i = 0; i < 3; i++) {
          const p: Uint8Array = await lib.protectRtcp(`${id}tx`, rtcpRr(FROM_A, 8));
          lastRtcpA = srtcpTrailer(p, 10).index;
          await peerA.send(p, one.a.rtpPort.port);
        }
        assert.equal((await peerB.waitFor(33)).length, 33);
        for (let i = 0; i < 30; i++) await peerB.send(rtp({ seq: (65530 + i) % 65536, ssrc: FROM_B, payload: randomBytes(80) }), one.b.rtpPort.port);
        for (let i = 0; i < 2; i++) await peerB.send(rtcpRr(FROM_B, 8), one.b.rtpPort.port);
        assert.equal((await peerA.waitFor(32)).length, 32);
        assert.equal((await acceptedAtA(0)).length, 30);
        const state = await one.a.indexState();
        assert.deepEqual(state, {
          srtpIn: [{ ssrc: FROM_A, index: 65520 + 29 }], srtpOut: [{ ssrc: FROM_B, index: 65530 + 29 }],
          srtcpIn: [{ ssrc: FROM_A, index: lastRtcpA }], srtcpOut: [{ ssrc: FROM_B, index: 1 }],
        });
        assert.deepEqual(await one.b.indexState(), EMPTY_INDEX_STATE);
        const floor = aheadOf(state, { srtp: 20, srtcp: 5 });
        one.close();

        // ---- the relay that takes over: same keys, the floor applied after them ----
        const two = await open(`${id}-2`);
        await two.a.applyIndexFloor(floor);
        assert.deepEqual(await two.a.indexState(), floor);
        peerA.clear(); peerB.clear();
        // Captured packets replayed after the switch: none gets through.
        for (const p of [captured[0]!, captured[29]!, captured[15]!]) await peerA.send(p, two.a.rtpPort.port);
        // A continues: indexes 65550..65569 are ≤ the floor (65569), 65570..65579 are above it.
        for (let i = 30; i < 60; i++) {
          await peerA.send(await lib.protectRtp(`${id}tx`, rtp({ seq: (65520 + i) % 65536, ssrc: FROM_A, payload: randomBytes(80) })), two.a.rtpPort.port);
        }
        const got = await peerB.waitFor(10);
        await peerB.settle(100);
        assert.deepEqual(peerB.received.map((r) => r.msg.readUInt16BE(2)), Array.from({ length: 10 }, (_, i) => (65570 + i) % 65536));
        // B continues: the relay refuses to protect 65560..65579 (≤ its outbound floor) and sends the rest.
        for (let i = 30; i < 60; i++) await peerB.send(rtp({ seq: (65530 + i) % 65536, ssrc: FROM_B, payload: randomBytes(80) }), two.b.rtpPort.port);
        await peerB.send(rtcpRr(FROM_B, 8), two.b.rtpPort.port);
        await peerA.waitFor(11);
        await peerA.settle(100);
        const rtcpAtA = peerA.received.filter((r) => ((r.msg[1]! & 0x7f) >= 64 && (r.msg[1]! & 0x7f) <= 95));
        assert.equal(rtcpAtA.length, 1);
        assert.equal(srtcpTrailer(rtcpAtA[0]!.msg, 10).index, 1 + 5 + 1, 'SRTCP continues at floor + 1');
        assert.deepEqual(await acceptedAtA(0), Array.from({ length: 10 }, (_, i) => (65580 + i) % 65536));
        // SRTCP from A: its next five indexes are ≤ the inbound floor (last + 5), the sixth is above.
        peerB.clear();
        for (let i = 0; i < 6; i++) {
          const p: Uint8Array = await lib.protectRtcp(`${id}tx`, rtcpRr(FROM_A, 8));
          assert.equal(srtcpTrailer(p, 10).index, lastRtcpA + 1 + i);
          await peerA.send(p, two.a.rtpPort.port);
        }
        await peerB.waitFor(1);
        await peerB.settle(100);
        assert.equal(peerB.received.length, 1);
        await relay.syncStats();
        assert.equal(two.a.stats.drops.replay, 3 + 20 + 5);
        assert.equal(two.a.stats.drops.protectFailed, 20);
        assert.deepEqual(await two.a.indexState(), {
          srtpIn: [{ ssrc: FROM_A, index: 65579 }], srtpOut: [{ ssrc: FROM_B, index: 65589 }],
          srtcpIn: [{ ssrc: FROM_A, index: lastRtcpA + 6 }], srtcpOut: [{ ssrc: FROM_B, index: 7 }],
        });

        // ---- refusals ----
        const bad: StreamIndexState = { ...EMPTY_INDEX_STATE, srtpIn: [{ ssrc: 1, index: -1 }] };
        await rejectsWith(two.a.applyIndexFloor(bad), 'E_BAD_REQUEST');
        await rejectsWith(two.b.applyIndexFloor({ ...EMPTY_INDEX_STATE, srtpIn: [{ ssrc: 1, index: 5 }] }), 'E_INVALID_STATE');
        two.close();
        await rejectsWith(two.a.indexState(), 'E_INVALID_STATE');
        await rejectsWith(two.a.applyIndexFloor(EMPTY_INDEX_STATE), 'E_INVALID_STATE');
      } finally {
        await peerA.close(); await peerB.close();
      }
    });
  });
}
