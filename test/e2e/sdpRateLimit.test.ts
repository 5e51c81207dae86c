// Flood limits derived from the SDP (RFC 6404 §4.9), end to end: two SRTP calls set up through
// the CallController with PCMU + telephone-event at a=ptime:20; the first call's offerer then
// sends genuine SRTP at 10× its SDP-derived rate while the second call's offerer sends at its
// normal 50 packets/s. The flooded stream forwards no more than its budget allows and counts
// the excess as 'rateLimited' (dropped before unprotect: no auth or replay drops), while the
// second call loses nothing. Run with media in the main thread and in a worker.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { nominalRate, streamRate } from '../../src/control/mediaRate.ts';
import { parseSdp } from '../../src/sdp/parse.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';

const SUITE = 'AES_CM_128_HMAC_SHA1_80';
const FLOOD_FACTOR = 10;
const DURATION_MS = 1500;

function endpointSdp(port: number, key: Buffer | null, tag = 1): string {
  const lines = ['v=0', `o=- 9 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/SAVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20',
    ...(key ? [`a=crypto:${tag} ${SUITE} inline:${key.toString('base64')}`] : []), 'a=rtcp-mux'];
  return `${lines.join('\r\n')}\r\n`;
}
const relayLine = (sdp: string): { tag: number; key: Buffer } => {
  const m = new RegExp(`^a=crypto:(\\d+) ${SUITE} inline:(\\S+)\\r$`, 'm').exec(sdp);
  assert.ok(m, `no ${SUITE} line in\n${sdp}`);
  return { tag: Number(m[1]), key: Buffer.from(m[2]!, 'base64') };
};
const mPort = (sdp: string): number => Number(/^m=audio (\d+) /m.exec(sdp)![1]);

interface Call {
  a: UdpPeer; b: UdpPeer;
  aTx: SrtpSession; bRx: SrtpSession;
  /** The relay's port A sends to. */
  relayPort: number;
  /** A's stream on the relay (the one whose bucket the flood hits). */
  aStream: MediaStreamHandle;
  /** A's next RTP sequence number (the sender never reuses an index). */
  seq: number;
  close(): Promise<void>;
}

async function setUp(relay: Relay, cc: CallController, callId: string): Promise<Call> {
  const a = await UdpPeer.open(), b = await UdpPeer.open();
  const aKey = randomBytes(30), bKey = randomBytes(30);
  const offer = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'A', sdp: endpointSdp(a.port, aKey) }) as NgOfferRequest);
  const toB = relayLine(offer.sdp);
  const answer = await cc.answer(normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'A', 'to-tag': 'B', sdp: endpointSdp(b.port, bKey, toB.tag) }) as NgAnswerRequest);
  const aTx = createSrtpSessionSync({ suite: SUITE, masterKey: aKey.subarray(0, 16), masterSalt: aKey.subarray(16) });
  const bRx = createSrtpSessionSync({ suite: SUITE, masterKey: toB.key.subarray(0, 16), masterSalt: toB.key.subarray(16) });
  const aStream = relay.getSession(callId)!.legs[0]!.streams[0]!;
  return {
    a, b, aTx, bRx, relayPort: mPort(answer.sdp), aStream, seq: 1,
    close: async () => { aTx.close(); bRx.close(); await a.close(); await b.close(); },
  };
}

/** Sends `pps` packets/s of 160-byte PCMU from A for `ms`; returns how many were sent. */
async function send(c: Call, pps: number, ms: number, ssrc: number): Promise<number> {
  const tickMs = 10;
  let sent = 0;
  const start = Date.now();
  while (Date.now() - start < ms) {
    // By elapsed time, so timer lateness does not lower the rate.
    const due = Math.min(pps * ms / 1000, pps * (Date.now() - start + tickMs) / 1000);
    const batch: Promise<void>[] = [];
    while (sent < Math.floor(due)) {
      const seq = c.seq++;
      batch.push(c.a.send(c.aTx.protectRtp(rtp({ seq: seq & 0xffff, ssrc, ts: seq * 160, payload: Buffer.alloc(160, 0xd5) })), c.relayPort));
      sent++;
    }
    await Promise.all(batch);
    await new Promise((r) => setTimeout(r, tickMs));
  }
  return sent;
}

for (const workers of [0, 1]) {
  describe(`SDP-derived stream rate limits (workers: ${workers})`, () => {
    let relay: Relay | null = null;
    after(async () => { await relay?.close(); });

    it('a stream fed at 10x its SDP-derived rate drops the excess before crypto; a second call is unaffected', async () => {
      const base = 54000 + workers * 500;
      relay = await Relay.create({ ports: { min: base, max: base + 499 }, workers });
      const cc = new CallController({ relay });
      const flooded = await setUp(relay, cc, `rate-flood-${workers}`);
      const victim = await setUp(relay, cc, `rate-victim-${workers}`);
      try {
        // The budget the SDP gives: both SDPs say PCMU + telephone-event at 20 ms.
        const one = parseSdp(endpointSdp(1000, null));
        const nominal = nominalRate(one.doc.session, one.doc.media[0]!)!;
        const budget = streamRate(nominal, nominal)!;
        assert.deepEqual(budget, { pps: 204, bps: 26_608 }, 'PCMU 50 pps + telephone-event 50 pps + RTCP, x2');
        // Latch both first (one packet each), so the flood meets the latched peer's bucket.
        await send(flooded, 50, 30, 1111);
        await send(victim, 50, 30, 2222);
        await flooded.b.waitFor(1); await victim.b.waitFor(1);
        flooded.b.clear(); victim.b.clear();
        const before = { ...flooded.aStream.stats.drops };
        const floodPps = FLOOD_FACTOR * budget.pps;
        const [floodSent, victimSent] = await Promise.all([
          send(flooded, floodPps, DURATION_MS, 1111),
          send(victim, 50, DURATION_MS, 2222),
        ]);
        await flooded.b.settle(300);
        await relay.syncStats();
        const drops = flooded.aStream.stats.drops;
        const forwarded = flooded.b.received.length;
        const limited = drops.rateLimited - before.rateLimited;
        // The budget's bytes (26608 B/s for 182-byte packets: 146/s) bind before its packets.
        const allowed = Math.ceil((budget.bps / 182) * (DURATION_MS / 1000 + 0.4)) + Math.ceil(budget.bps / 182);
        assert.ok(floodSent > 2000, `flood sent ${floodSent}`);
        assert.ok(forwarded <= allowed, `forwarded ${forwarded} > allowed ${allowed}`);
        assert.ok(limited >= floodSent - allowed, `rateLimited ${limited} of ${floodSent} sent`);
        assert.equal(limited + forwarded, floodSent, 'every packet is either forwarded or rate-limited');
        assert.equal(drops.auth - before.auth, 0, 'no packet reached unprotect and failed');
        assert.equal(drops.replay - before.replay, 0);
        // Forwarded ones are genuine media B can decrypt.
        assert.equal(flooded.bRx.unprotectRtp(flooded.b.received[0]!.msg).length, 172);
        await victim.b.settle(100);
        const loss = 1 - victim.b.received.length / victimSent;
        assert.ok(loss < 0.001, `victim lost ${(loss * 100).toFixed(2)}% (${victim.b.received.length}/${victimSent})`);
        console.log(`workers=${workers}: flood ${floodSent} sent in ${DURATION_MS} ms (${floodPps}/s), ${forwarded} forwarded, ${limited} rateLimited; victim ${victim.b.received.length}/${victimSent}`);
      } finally {
        await flooded.close();
        await victim.close();
      }
    });
  });
}
