// Offer/answer through the CallController, then real SRTP/SRTCP both ways between two libsrtp2
// endpoints (the C harness) keyed only from the SDP the controller returned. The relay's keys
// are read from its SDP with Buffer's base64, not with srtpgate's SDES parser, so a formatting
// bug cannot cancel itself out.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { RelayError } from '../../src/errors.ts';
import { LibsrtpPeer, LIBSRTP_KEY_LENGTHS, skipOrFail, skipReason, type LibsrtpSuite } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';

interface Keys { key: Uint8Array; salt: Uint8Array }
const newKeys = (suite: LibsrtpSuite): Keys => ({ key: randomBytes(LIBSRTP_KEY_LENGTHS[suite].key), salt: randomBytes(LIBSRTP_KEY_LENGTHS[suite].salt) });
const inline = (k: Keys): string => Buffer.concat([k.key, k.salt]).toString('base64');

/** The relay's a=crypto line for `suite` (or its only line), decoded independently. */
function relayKey(sdp: string, suite?: LibsrtpSuite): { tag: number; suite: LibsrtpSuite; keys: Keys } {
  const lines = [...sdp.matchAll(/^a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)\r$/gm)];
  const m = suite === undefined ? (lines.length === 1 ? lines[0] : undefined) : lines.find((l) => l[2] === suite);
  assert.ok(m, `no crypto line${suite ? ` for ${suite}` : ''} in:\n${sdp}`);
  const s = m[2] as LibsrtpSuite;
  const bytes = Buffer.from(m[3]!, 'base64');
  const { key, salt } = LIBSRTP_KEY_LENGTHS[s];
  assert.equal(bytes.length, key + salt);
  return { tag: Number(m[1]), suite: s, keys: { key: bytes.subarray(0, key), salt: bytes.subarray(key) } };
}
const mPort = (sdp: string): number => Number(/^m=audio (\d+) /m.exec(sdp)![1]);
const rtcpPort = (sdp: string): number => {
  const m = /^a=rtcp:(\d+)/m.exec(sdp);
  return m ? Number(m[1]) : mPort(sdp) + 1;
};

interface Side {
  peer: UdpPeer;
  proto: string;
  /** SDES lines this endpoint offers or answers with (suite → its sending key); empty: plain. */
  crypto: { tag: number; suite: LibsrtpSuite; keys: Keys }[];
  mux: boolean;
}

function endpointSdp(s: Side, version: number): string {
  const lines = ['v=0', `o=- 42 ${version} IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${s.peer.port} ${s.proto} 0 101`, 'a=rtpmap:101 telephone-event/8000'];
  for (const c of s.crypto) lines.push(`a=crypto:${c.tag} ${c.suite} inline:${inline(c.keys)}`);
  // RTCP to the same socket, so one UdpPeer per endpoint sees both.
  lines.push(`a=rtcp:${s.peer.port}`);
  if (s.mux) lines.push('a=rtcp-mux');
  lines.push('a=sendrecv');
  return `${lines.join('\r\n')}\r\n`;
}

let relay: Relay;
let cc: CallController;
let lib: LibsrtpPeer | null = null;
let seq = 0;

interface Call {
  callId: string;
  a: Side; b: Side;
  offerSdp: string; answerSdp: string;
  /** Where each endpoint sends: the relay's ports from the SDP it received. */
  toRelayA: { rtp: number; rtcp: number };
  toRelayB: { rtp: number; rtcp: number };
  /** libsrtp session ids (prefix) per endpoint, or null when the endpoint is plain. */
  libA: string | null; libB: string | null;
}

/**
 * A offers `aOffers` on `aProto`; B answers with `bPicks` (a suite out of the relay's offer) or
 * plain. The libsrtp2 sessions `<id>-a-tx/rx`, `<id>-b-tx/rx` are keyed from the SDP.
 */
async function setUpCall(o: { aProto: string; aOffers: LibsrtpSuite[]; transport?: string; bPicks: LibsrtpSuite | null; mux?: boolean }): Promise<Call> {
  const callId = `oa-${++seq}`;
  const a: Side = { peer: await UdpPeer.open(), proto: o.aProto, crypto: o.aOffers.map((suite, i) => ({ tag: i + 1, suite, keys: newKeys(suite) })), mux: o.mux ?? false };
  const offer = await cc.offer(normalizeNgDict({
    command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: endpointSdp(a, 1),
    replace: ['origin', 'session-connection'], ...(o.transport ? { 'transport-protocol': o.transport } : {}),
  }) as NgOfferRequest);
  const bProto = o.transport ?? o.aProto;
  const b: Side = { peer: await UdpPeer.open(), proto: bProto, crypto: [], mux: o.mux ?? false };
  let libB: string | null = null;
  if (o.bPicks !== null) {
    const toB = relayKey(offer.sdp, o.bPicks);
    b.crypto = [{ tag: toB.tag, suite: o.bPicks, keys: newKeys(o.bPicks) }];
    libB = `${callId}-b`;
    await lib!.session(`${libB}-tx`, 'out', o.bPicks, b.crypto[0]!.keys.key, b.crypto[0]!.keys.salt);
    await lib!.session(`${libB}-rx`, 'in', o.bPicks, toB.keys.key, toB.keys.salt);
  } else {
    assert.doesNotMatch(offer.sdp, /a=crypto/);
  }
  const answer = await cc.answer(normalizeNgDict({
    command: 'answer', 'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: endpointSdp(b, 1), replace: ['origin', 'session-connection'],
  }) as NgAnswerRequest);
  let libA: string | null = null;
  if (a.crypto.length > 0) {
    const toA = relayKey(answer.sdp);
    const mine = a.crypto.find((c) => c.tag === toA.tag);
    assert.ok(mine, 'the answer must repeat one of A\'s tags');
    assert.equal(toA.suite, mine.suite, 'with A\'s suite for that tag');
    libA = `${callId}-a`;
    await lib!.session(`${libA}-tx`, 'out', mine.suite, mine.keys.key, mine.keys.salt);
    await lib!.session(`${libA}-rx`, 'in', toA.suite, toA.keys.key, toA.keys.salt);
  } else {
    assert.doesNotMatch(answer.sdp, /a=crypto/);
  }
  return {
    callId, a, b, offerSdp: offer.sdp, answerSdp: answer.sdp, libA, libB,
    toRelayA: { rtp: mPort(answer.sdp), rtcp: o.mux ? mPort(answer.sdp) : rtcpPort(answer.sdp) },
    toRelayB: { rtp: mPort(offer.sdp), rtcp: o.mux ? mPort(offer.sdp) : rtcpPort(offer.sdp) },
  };
}

async function endCall(c: Call): Promise<void> {
  cc.delete({ callId: c.callId });
  await c.a.peer.close();
  await c.b.peer.close();
}

type Dir = 'a2b' | 'b2a';

interface Flow { sent: Uint8Array[]; wire: Uint8Array[]; got: Buffer[] }

/**
 * Sends `n` RTP packets (seq from `seq0`) one way, protected with the sender's libsrtp2 session
 * `libTx` (default: its current one). Returns the plaintexts, the datagrams as sent, and what
 * arrived at the other end within `waitMs`.
 */
async function flow(c: Call, dir: Dir, seq0: number, n: number, libTx?: string | null, waitMs = 2000): Promise<Flow> {
  const [from, to, port, tx] = dir === 'a2b' ? [c.a, c.b, c.toRelayA.rtp, libTx === undefined ? c.libA : libTx] : [c.b, c.a, c.toRelayB.rtp, libTx === undefined ? c.libB : libTx];
  const before = to.peer.received.length;
  const sent: Uint8Array[] = [];
  const wire: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const p = rtp({ seq: seq0 + i, ssrc: dir === 'a2b' ? 0xa11ce : 0xb0b, payload: randomBytes(160) });
    sent.push(p);
    wire.push(tx === null ? p : await lib!.protectRtp(`${tx}-tx`, p));
    await from.peer.send(wire[i]!, port);
  }
  await to.peer.waitFor(before + n, waitMs);
  return { sent, wire, got: to.peer.received.slice(before).map((r) => r.msg) };
}

/** Checks what arrived decrypts (or is, on a plain leg) bit-exact to what was sent. */
async function expectDelivered(c: Call, dir: Dir, r: Flow): Promise<void> {
  assert.equal(r.got.length, r.sent.length, `${dir}: delivered ${r.got.length}/${r.sent.length}`);
  const rx = dir === 'a2b' ? c.libB : c.libA;
  for (let i = 0; i < r.sent.length; i++) {
    const got = new Uint8Array(r.got[i]!);
    if (rx === null) assert.deepEqual(got, r.sent[i]);
    else assert.deepEqual(await lib!.unprotectRtp(`${rx}-rx`, got), r.sent[i]);
  }
}

async function rtcpBothWays(c: Call): Promise<void> {
  for (const dir of ['a2b', 'b2a'] as const) {
    const [from, to, port, tx, rx] = dir === 'a2b' ? [c.a, c.b, c.toRelayA.rtcp, c.libA, c.libB] : [c.b, c.a, c.toRelayB.rtcp, c.libB, c.libA];
    const before = to.peer.received.length;
    const rr = rtcpRr(dir === 'a2b' ? 0xa11ce : 0xb0b, 24);
    await from.peer.send(tx === null ? rr : await lib!.protectRtcp(`${tx}-tx`, rr), port);
    await to.peer.waitFor(before + 1);
    const got = to.peer.received[before]?.msg;
    assert.ok(got, `${dir}: RTCP not delivered`);
    assert.deepEqual(rx === null ? new Uint8Array(got) : await lib!.unprotectRtcp(`${rx}-rx`, got), rr);
  }
}

describe('offer/answer end to end (libsrtp2 endpoints keyed from the returned SDP)', () => {
  before(async () => {
    relay = await Relay.create({ ports: { min: 48000, max: 48999 }, mediaAddress: '127.0.0.1' });
    cc = new CallController({ relay });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { relay.close(); await lib?.close(); });

  const SDES_CASES: { name: string; aOffers: LibsrtpSuite[]; bPicks: LibsrtpSuite; mux: boolean; proto: string }[] = [
    { name: 'AES_CM_128_HMAC_SHA1_80 ↔ AEAD_AES_256_GCM, separate RTCP ports', aOffers: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'], bPicks: 'AEAD_AES_256_GCM', mux: false, proto: 'RTP/SAVP' },
    { name: 'AES_256_CM_HMAC_SHA1_80 ↔ AEAD_AES_128_GCM, rtcp-mux', aOffers: ['AES_256_CM_HMAC_SHA1_80'], bPicks: 'AEAD_AES_128_GCM', mux: true, proto: 'RTP/SAVPF' },
    { name: 'AEAD_AES_128_GCM ↔ AES_CM_128_HMAC_SHA1_32', aOffers: ['AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM'], bPicks: 'AES_CM_128_HMAC_SHA1_32', mux: false, proto: 'RTP/SAVP' },
  ];
  for (const k of SDES_CASES) {
    it(`SDES ↔ SDES: ${k.name}: RTP and RTCP both ways, bit-exact`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      const c = await setUpCall({ aProto: k.proto, aOffers: k.aOffers, bPicks: k.bPicks, mux: k.mux });
      try {
        await expectDelivered(c, 'a2b', await flow(c, 'a2b', 1000, 20));
        await expectDelivered(c, 'b2a', await flow(c, 'b2a', 7000, 20));
        await rtcpBothWays(c);
        const info = cc.query(c.callId);
        assert.equal(info.tags.b!.medias[0]!.cryptoSuite, k.bPicks);
        assert.equal(info.tags.b!.medias[0]!.rtcpMux, k.mux);
        assert.equal(info.totals.RTP.packets, 40);
        assert.equal(info.totals.RTCP.packets, 2);
      } finally { await endCall(c); }
    });
  }

  it('SDES → RTP bridging (transport-protocol RTP/AVP): the plain side never sees ciphertext, the SRTP side never plaintext', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const c = await setUpCall({ aProto: 'RTP/SAVP', aOffers: ['AES_CM_128_HMAC_SHA1_80'], transport: 'RTP/AVP', bPicks: null });
    try {
      assert.match(c.offerSdp, /m=audio \d+ RTP\/AVP /);
      assert.match(c.answerSdp, /m=audio \d+ RTP\/SAVP /);
      await expectDelivered(c, 'a2b', await flow(c, 'a2b', 1, 15));
      const back = await flow(c, 'b2a', 500, 15);
      await expectDelivered(c, 'b2a', back);
      // On the wire towards A the payload is encrypted.
      assert.notDeepEqual(new Uint8Array(back.got[0]!).subarray(12, 172), back.sent[0]!.subarray(12));
      await rtcpBothWays(c);
    } finally { await endCall(c); }
  });

  it('RTP → SDES bridging (transport-protocol RTP/SAVP)', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const c = await setUpCall({ aProto: 'RTP/AVP', aOffers: [], transport: 'RTP/SAVP', bPicks: 'AES_256_CM_HMAC_SHA1_80' });
    try {
      await expectDelivered(c, 'a2b', await flow(c, 'a2b', 40000, 15));
      await expectDelivered(c, 'b2a', await flow(c, 'b2a', 65530, 15)); // across a sequence wrap
      await rtcpBothWays(c);
    } finally { await endCall(c); }
  });

  it('re-INVITE with the same keys keeps ports, keys and SRTP state: media flows on, a replay is still refused', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const c = await setUpCall({ aProto: 'RTP/SAVP', aOffers: ['AES_CM_128_HMAC_SHA1_80'], bPicks: 'AES_CM_128_HMAC_SHA1_80' });
    try {
      const first = await flow(c, 'a2b', 100, 5);
      await expectDelivered(c, 'a2b', first);
      await expectDelivered(c, 'b2a', await flow(c, 'b2a', 200, 5));

      const reOffer = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': c.callId, 'from-tag': 'a', sdp: endpointSdp(c.a, 2), replace: ['origin', 'session-connection'] }) as NgOfferRequest);
      assert.equal(mPort(reOffer.sdp), c.toRelayB.rtp, 'B-side port kept');
      assert.deepEqual(relayKey(reOffer.sdp, 'AES_CM_128_HMAC_SHA1_80').keys, relayKey(c.offerSdp, 'AES_CM_128_HMAC_SHA1_80').keys, 'B keeps the relay key it has');
      const reAnswer = await cc.answer(normalizeNgDict({ command: 'answer', 'call-id': c.callId, 'from-tag': 'a', 'to-tag': 'b', sdp: endpointSdp(c.b, 2), replace: ['origin', 'session-connection'] }) as NgAnswerRequest);
      assert.equal(mPort(reAnswer.sdp), c.toRelayA.rtp, 'A-side port kept');
      assert.deepEqual(relayKey(reAnswer.sdp).keys, relayKey(c.answerSdp).keys, 'A keeps the relay key it has');

      // The same libsrtp2 sessions carry on with the next sequence numbers, both ways.
      await expectDelivered(c, 'a2b', await flow(c, 'a2b', 105, 10));
      await expectDelivered(c, 'b2a', await flow(c, 'b2a', 205, 10));
      // The inbound context was not recreated: a packet from before the re-INVITE, replayed now,
      // is refused. (A context rebuilt from the same key would have an empty replay window.)
      const drops = cc.query(c.callId).tags.a!.medias[0]!.stats.drops.replay;
      const before = c.b.peer.received.length;
      await c.a.peer.send(first.wire[2]!, c.toRelayA.rtp);
      await c.b.peer.settle();
      assert.equal(c.b.peer.received.length, before, 'a pre-re-INVITE packet was accepted again');
      assert.equal(cc.query(c.callId).tags.a!.medias[0]!.stats.drops.replay, drops + 1);
    } finally { await endCall(c); }
  });

  it('re-INVITE with new keys: the old keys stop authenticating, the new ones work, the relay keys towards both ends stay', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const c = await setUpCall({ aProto: 'RTP/SAVP', aOffers: ['AES_CM_128_HMAC_SHA1_80'], bPicks: 'AES_CM_128_HMAC_SHA1_80' });
    try {
      await expectDelivered(c, 'a2b', await flow(c, 'a2b', 300, 5));
      await expectDelivered(c, 'b2a', await flow(c, 'b2a', 400, 5));
      const oldA = `${c.callId}-a`, oldB = `${c.callId}-b`;

      // A re-keys in its re-offer; B re-keys in its re-answer (same tag and suite).
      c.a.crypto = [{ ...c.a.crypto[0]!, keys: newKeys('AES_CM_128_HMAC_SHA1_80') }];
      const reOffer = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': c.callId, 'from-tag': 'a', sdp: endpointSdp(c.a, 2) }) as NgOfferRequest);
      const toB = relayKey(reOffer.sdp, 'AES_CM_128_HMAC_SHA1_80');
      assert.deepEqual(toB.keys, relayKey(c.offerSdp, 'AES_CM_128_HMAC_SHA1_80').keys);
      c.b.crypto = [{ tag: toB.tag, suite: 'AES_CM_128_HMAC_SHA1_80', keys: newKeys('AES_CM_128_HMAC_SHA1_80') }];
      const reAnswer = await cc.answer(normalizeNgDict({ command: 'answer', 'call-id': c.callId, 'from-tag': 'a', 'to-tag': 'b', sdp: endpointSdp(c.b, 2) }) as NgAnswerRequest);
      assert.deepEqual(relayKey(reAnswer.sdp).keys, relayKey(c.answerSdp).keys);

      const newA = `${c.callId}-a2`, newB = `${c.callId}-b2`;
      await lib.session(`${newA}-tx`, 'out', 'AES_CM_128_HMAC_SHA1_80', c.a.crypto[0]!.keys.key, c.a.crypto[0]!.keys.salt);
      await lib.session(`${newB}-tx`, 'out', 'AES_CM_128_HMAC_SHA1_80', c.b.crypto[0]!.keys.key, c.b.crypto[0]!.keys.salt);

      // Old sending keys: refused (counted as auth failures), nothing delivered.
      const authBefore = cc.query(c.callId);
      const stale = await flow(c, 'a2b', 310, 3, oldA, 300);
      assert.equal(stale.got.length, 0);
      const staleB = await flow(c, 'b2a', 410, 3, oldB, 300);
      assert.equal(staleB.got.length, 0);
      const authAfter = cc.query(c.callId);
      assert.equal(authAfter.tags.a!.medias[0]!.stats.drops.auth - authBefore.tags.a!.medias[0]!.stats.drops.auth, 3);
      assert.equal(authAfter.tags.b!.medias[0]!.stats.drops.auth - authBefore.tags.b!.medias[0]!.stats.drops.auth, 3);

      // New keys: delivered, and each far end still decrypts with the relay key it always had.
      await expectDelivered(c, 'a2b', await flow(c, 'a2b', 320, 10, newA));
      await expectDelivered(c, 'b2a', await flow(c, 'b2a', 420, 10, newB));
    } finally { await endCall(c); }
  });

  it('delete closes the ports and forgets the call', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const c = await setUpCall({ aProto: 'RTP/SAVP', aOffers: ['AES_CM_128_HMAC_SHA1_80'], bPicks: 'AES_CM_128_HMAC_SHA1_80' });
    const ports = [c.toRelayA.rtp, c.toRelayA.rtcp, c.toRelayB.rtp, c.toRelayB.rtcp];
    const inUse = relay.ports.inUse;
    assert.deepEqual(cc.delete({ callId: c.callId, fromTag: 'a' }), { deleted: true });
    assert.equal(relay.ports.inUse, inUse - 2);
    assert.throws(() => cc.query(c.callId), (e: unknown) => e instanceof RelayError && e.code === 'E_NOT_FOUND');
    for (const port of ports) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, '127.0.0.1', () => resolve()); });
      s.close();
    }
    // Media to the old ports goes nowhere.
    await c.a.peer.send(await lib.protectRtp(`${c.libA}-tx`, rtp({ seq: 1, ssrc: 1 })), c.toRelayA.rtp);
    assert.equal(await c.b.peer.settle(), 0);
    await c.a.peer.close();
    await c.b.peer.close();
  });
});
