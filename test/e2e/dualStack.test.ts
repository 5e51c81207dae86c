// Dual stack on loopback: a relay with an IPv4 interface (127.0.0.1) and an IPv6 one (::1),
// driven over ng like Kamailio would (the ng socket itself on ::1 too). SRTP from a libsrtp2
// endpoint on 127.0.0.1 crosses to one on ::1 and back, bit-exact; the SDP each side gets
// names only its own interface; RTCP SDES text does not cross; latching, strict source and
// bans work for IPv6 sources.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { ControlServer } from '../../src/control/ControlServer.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import type { AddStreamOptions, Session } from '../../src/session/Session.ts';
import { RelayError } from '../../src/errors.ts';
import { normalizeNgDict, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import type { SecurityEvent } from '../../src/session/RateLimiter.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { compound, readSdes, sdesPacket } from '../helpers/rtcpSdes.ts';
import { SUITE, b64, mPort, relayCrypto, sdesSdp as sdp, srtpBurst } from '../helpers/sdesCall.ts';

/** Every address an SDP names in c=, o= and a=rtcp lines. */
const addressesIn = (s: string) => [...s.matchAll(/^(?:c=IN|o=.* IN|a=rtcp:\d+ IN) (IP[46]) (\S+)\r$/gm)].map((m) => `${m[1]} ${m[2]}`);

/** Streams in legs `a` and `b` of `s`, linked to each other, forwarding plain RTP (no keys either way). */
async function plainPair(s: Session, a: AddStreamOptions, b: AddStreamOptions, legs: readonly [string, string] = ['a', 'b']): Promise<[MediaStreamHandle, MediaStreamHandle]> {
  const pair = [await s.addStream(s.createLeg(legs[0]), a), await s.addStream(s.createLeg(legs[1]), b)] as [MediaStreamHandle, MediaStreamHandle];
  linkStreams(...pair);
  for (const x of pair) { x.setInboundCrypto(null); x.setOutboundCrypto(null); }
  return pair;
}

describe('dual stack: IPv4 ↔ IPv6 through one relay', () => {
  let relay: Relay;
  let server6: ControlServer;
  let ng: NgClient;
  let lib: LibsrtpPeer | null = null;
  before(async () => {
    relay = await Relay.create({
      ports: { min: 50000, max: 50199 },
      interfaces: [{ name: 'inside', address: '127.0.0.1' }, { name: 'outside', address: '::1' }],
    });
    // The SBE reaches the control socket over IPv6, allowed by an IPv6 CIDR.
    server6 = await ControlServer.listen({ control: new CallController({ relay }), address: '::1', port: 0, commandsPerSecond: 0, allowFrom: ['::1/128'] });
    ng = await NgClient.open(server6.address, '::1');
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await ng.close(); await server6.close(0); await relay.close(); await lib?.close(); });

  const req = async (d: { [k: string]: BVal }) => {
    const r = await ng.request(d);
    assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
    return r.reply;
  };

  it('SRTP 127.0.0.1 → relay → ::1 and back over ng (address-family IP6), bit-exact; each SDP names only its side', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const a = await UdpPeer.open('127.0.0.1'), b = await UdpPeer.open('::1');
    try {
      const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);
      const callId = `dual-${Date.now()}`;
      const offer = await req({ command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp('IP4', '127.0.0.1', a.port, b64(aKey, aSalt)),
        'address-family': 'IP6', ICE: 'remove', 'received-from': ['IP4', '127.0.0.1'] });
      const toB = String(offer.sdp);
      // No `replace: origin` was asked: o= is rewritten anyway, since the legs are on different interfaces.
      assert.deepEqual(addressesIn(toB), ['IP6 ::1', 'IP6 ::1', 'IP6 ::1'], toB);
      assert.doesNotMatch(toB, /127\.0\.0\.1|IP4/);
      assert.equal(offer.warning, undefined);
      const relayToB = relayCrypto(toB);
      const answer = await req({ command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob',
        sdp: sdp('IP6', '::1', b.port, b64(bKey, bSalt), relayToB.tag), 'received-from': ['IP6', '::1'] });
      const toA = String(answer.sdp);
      assert.deepEqual(addressesIn(toA), ['IP4 127.0.0.1', 'IP4 127.0.0.1', 'IP4 127.0.0.1'], toA);
      assert.doesNotMatch(toA, /::1|IP6/);
      const relayToA = relayCrypto(toA);
      await lib.session('ds-atx', 'out', SUITE, aKey, aSalt);
      await lib.session('ds-arx', 'in', SUITE, relayToA.key, relayToA.salt);
      await lib.session('ds-btx', 'out', SUITE, bKey, bSalt);
      await lib.session('ds-brx', 'in', SUITE, relayToB.key, relayToB.salt);

      // B's packets come from the relay's IPv6 socket, A's from its IPv4 one.
      const sideA = { peer: a, relay: { address: '127.0.0.1', port: mPort(toA) } }, sideB = { peer: b, relay: { address: '::1', port: mPort(toB) } };
      await srtpBurst(lib, { ...sideA, session: 'ds-atx' }, { ...sideB, session: 'ds-brx' }, { ssrc: 0xa11ce, count: 20, payload: 160 });
      await srtpBurst(lib, { ...sideB, session: 'ds-btx' }, { ...sideA, session: 'ds-arx' }, { ssrc: 0xb0b, count: 12, payload: 80 });

      // RTCP from the inside names its host in CNAME (and a PRIV item); outside sees neither,
      // the rest of the compound is bit-exact, lengths unchanged.
      const rr = rtcpRr(0xa11ce, 8);
      const cname = 'alice@127.0.0.1';
      const sdes = sdesPacket([{ ssrc: 0xa11ce, items: [{ type: 1, text: cname }, { type: 8, text: Buffer.from('\x05inner10.0.0.7') }] }]);
      const pkt = compound(rr, sdes);
      await a.send(await lib.protectRtcp('ds-atx', pkt), mPort(toA), '127.0.0.1');
      const all = await b.waitFor(21);
      const got = await lib.unprotectRtcp('ds-brx', all[20]!);
      assert.equal(got.length, pkt.length);
      assert.deepEqual(got.subarray(0, rr.length), rr);
      const items = readSdes(got);
      assert.deepEqual(items.map((x) => [x.ssrc, x.type, x.text.length]), [[0xa11ce, 1, cname.length], [0xa11ce, 8, 14]]);
      assert.doesNotMatch(items[0]!.text.toString('latin1'), /127\.0\.0\.1|alice/);
      assert.equal(items[1]!.text[0], 5, 'PRIV prefix length kept');
      assert.doesNotMatch(items[1]!.text.toString('latin1'), /inner|10\.0\.0\.7/);
      // Stable: the same CNAME again gives the same token.
      await a.send(await lib.protectRtcp('ds-atx', pkt), mPort(toA), '127.0.0.1');
      const again = readSdes(await lib.unprotectRtcp('ds-brx', (await b.waitFor(22))[21]!));
      assert.deepEqual(again[0]!.text, items[0]!.text);

      await req({ command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
      assert.equal(relay.ports.inUse, 0);
    } finally {
      await a.close(); await b.close();
    }
  });

  it('direction names the interfaces; unknown names and missing families are refused', async () => {
    const k = b64(randomBytes(16), randomBytes(14));
    const o = await req({ command: 'offer', 'call-id': 'dir-1', 'from-tag': 'f', sdp: sdp('IP6', '::1', 20000, k), direction: ['outside', 'inside'] });
    assert.deepEqual(addressesIn(String(o.sdp)), ['IP4 127.0.0.1', 'IP4 127.0.0.1', 'IP4 127.0.0.1']);
    await req({ command: 'delete', 'call-id': 'dir-1' });
    // Same interface both ways: o= untouched (no `replace: origin`), only the media address changes.
    const same = await req({ command: 'offer', 'call-id': 'dir-2', 'from-tag': 'f', sdp: sdp('IP6', '::1', 20000, k) });
    assert.match(String(same.sdp), /^o=- 7 1 IN IP6 ::1\r$/m);
    assert.match(String(same.sdp), /^c=IN IP6 ::1\r$/m);
    await req({ command: 'delete', 'call-id': 'dir-2' });

    const bad = await ng.request({ command: 'offer', 'call-id': 'dir-3', 'from-tag': 'f', sdp: sdp('IP4', '127.0.0.1', 20000, k), direction: ['inside', 'dmz'] });
    assert.equal(bad.reply.result, 'error');
    assert.match(String(bad.reply['error-reason']), /Unknown interface/);
    const clash = await ng.request({ command: 'offer', 'call-id': 'dir-4', 'from-tag': 'f', sdp: sdp('IP4', '127.0.0.1', 20000, k), direction: ['inside', 'inside'], 'address-family': 'IP6' });
    assert.equal(clash.reply.result, 'error');
    assert.match(String(clash.reply['error-reason']), /address-family contradicts/);
    assert.equal(relay.sessionCount, 0);
    assert.equal(relay.ports.inUse, 0);

    const v4only = await Relay.create({ ports: { min: 50200, max: 50219 } });
    try {
      const c = new CallController({ relay: v4only });
      const offer = normalizeNgDict({ command: 'offer', 'call-id': 'v6-on-v4', 'from-tag': 'f', sdp: sdp('IP6', '::1', 20000, k) }) as NgOfferRequest;
      await assert.rejects(c.offer(offer),
        (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST' && /no IPv6 media interface/.test(e.message));
      assert.equal(v4only.ports.inUse, 0);
    } finally { await v4only.close(); }
  });

  it('IPv6 sources: latching and strict source on ::1', async () => {
    const s = relay.createSession('v6-latch');
    const ports: UdpPeer[] = [];
    try {
      const [a, b] = await plainPair(s, { rtcpMux: true, strictSource: true, interface: 'outside' }, { rtcpMux: true, strictSource: true, interface: 'inside' });
      const peerA = await UdpPeer.open('::1'), intruder = await UdpPeer.open('::1'), peerB = await UdpPeer.open('127.0.0.1');
      ports.push(peerA, intruder, peerB);
      b.setRemote({ address: '127.0.0.1', port: peerB.port });
      await peerA.send(rtp({ seq: 1, ssrc: 1 }), a.rtpPort.port, '::1');
      assert.equal((await peerB.waitFor(1)).length, 1);
      assert.deepEqual(a.latchedRtp, { address: '::1', port: peerA.port });
      // Another port on the same IPv6 host: refused once latched (strict source).
      await intruder.send(rtp({ seq: 2, ssrc: 1 }), a.rtpPort.port, '::1');
      await peerA.send(rtp({ seq: 3, ssrc: 1 }), a.rtpPort.port, '::1');
      assert.equal((await peerB.waitFor(2)).length, 2);
      await peerB.settle(100);
      assert.equal(peerB.received.length, 2);
      assert.equal(a.stats.drops.wrongSource, 1);
      // Back towards the latched IPv6 peer.
      await peerB.send(rtp({ seq: 9, ssrc: 2 }), b.rtpPort.port, '127.0.0.1');
      assert.equal((await peerA.waitFor(1)).length, 1);
      assert.equal(intruder.received.length, 0);
    } finally {
      s.close();
      for (const p of ports) await p.close();
    }
  });

  it('IPv6 sources: the per-source rate limit holds on ::1', async () => {
    const r = await Relay.create({ ports: { min: 50280, max: 50299 }, interfaces: [{ name: 'v6', address: '::1' }],
      rateLimits: { source: { pps: 20, bps: 0 }, burstSeconds: 1 } });
    const s = r.createSession('v6-rate');
    const src = await UdpPeer.open('::1'), sink = await UdpPeer.open('::1');
    try {
      const [a, b] = await plainPair(s, { rtcpMux: true }, { rtcpMux: true });
      b.setRemote({ address: '::1', port: sink.port });
      for (let i = 0; i < 60; i++) await src.send(rtp({ seq: i, ssrc: 3 }), a.rtpPort.port, '::1');
      await sink.settle(200);
      // A one-second bucket of 20 packets (plus what refills while sending).
      assert.ok(sink.received.length >= 20 && sink.received.length <= 26, `forwarded ${sink.received.length}`);
      assert.equal(a.stats.drops.rateLimited, 60 - sink.received.length);
    } finally {
      s.close();
      await src.close(); await sink.close();
      await r.close();
    }
  });

  it('IPv6 sources that keep failing authentication are banned by /64 (by /128 when configured)', async () => {
    for (const bits of [64, 128]) {
      const events: SecurityEvent[] = [];
      const r = await Relay.create({ ports: { min: 50220, max: 50239 }, interfaces: [{ name: 'v6', address: '::1' }],
        rateLimits: { authFailThreshold: 5, ipv6PrefixBits: bits } });
      r.on('security', (e) => events.push(e));
      const s = r.createSession('ban');
      const forger = await UdpPeer.open('::1');
      try {
        const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
        const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
        linkStreams(a, b);
        const keys = { suite: SUITE, masterKey: randomBytes(16), masterSalt: randomBytes(14) };
        a.setInboundCrypto(keys);
        b.setOutboundCrypto(null);
        for (let i = 0; i < 8; i++) await forger.send(Buffer.concat([rtp({ seq: i, ssrc: 7 }), randomBytes(10)]), a.rtpPort.port, '::1');
        for (let i = 0; i < 50 && events.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
        assert.equal(events.length, 1, JSON.stringify(events));
        assert.equal(events[0]!.kind, 'ban');
        assert.equal(events[0]!.source, bits === 64 ? '0:0:0:0:0:0:0:0/64' : '0:0:0:0:0:0:0:1/128');
        assert.ok(a.stats.drops.auth >= 5);
      } finally {
        s.close();
        await forger.close();
        await r.close();
      }
    }
  });

  it('RTCP SDES is replaced on streams bound with hideTopology, in a worker too, and kept otherwise', async () => {
    for (const workers of [1, 0]) {
      const r = await Relay.create({ workers, ports: { min: 50260, max: 50279 }, interfaces: [{ name: 'v4', address: '127.0.0.1' }, { name: 'v6', address: '::1' }] });
      const s = r.createSession('sdes');
      const a4 = await UdpPeer.open('127.0.0.1'), b6 = await UdpPeer.open('::1');
      try {
        for (const hide of [true, false]) {
          const [a, b] = await plainPair(s, { rtcpMux: true, interface: 'v4', hideTopology: hide }, { rtcpMux: true, interface: 'v6', hideTopology: hide }, [`a${hide}`, `b${hide}`]);
          b.setRemote({ address: '::1', port: b6.port });
          const pkt = compound(rtcpRr(5, 8), sdesPacket([{ ssrc: 5, items: [{ type: 1, text: 'me@192.168.1.20' }] }]));
          b6.clear();
          await a4.send(pkt, a.rtpPort.port, '127.0.0.1');
          const [got] = await b6.waitFor(1);
          assert.ok(got, `workers ${workers}: nothing forwarded`);
          const text = readSdes(got)[0]!.text.toString('latin1');
          if (hide) assert.match(text, /^[a-z2-7]{15}$/, `workers ${workers}`);
          else assert.equal(text, 'me@192.168.1.20');
          // A malformed compound on a hiding stream is dropped, never forwarded as it is.
          if (hide) {
            const bad = pkt.slice();
            bad[16 + 9] = 200; // after the 16-byte RR: SDES header, SSRC, item type, then the CNAME length, now past the end
            b6.clear();
            await a4.send(bad, a.rtpPort.port, '127.0.0.1');
            assert.equal(await b6.settle(150), 0);
            await r.syncStats();
            assert.equal(a.stats.drops.malformed, 1);
          }
        }
      } finally {
        s.close();
        await a4.close(); await b6.close();
        await r.close();
      }
    }
  });

  it('addStream binds on the named interface and on an exact port (also with a worker)', async () => {
    for (const workers of [0, 1]) {
      const r = await Relay.create({ workers, ports: { min: 50240, max: 50259 }, interfaces: [{ name: 'v4', address: '127.0.0.1' }, { name: 'v6', address: '::1' }] });
      const s = r.createSession('ports');
      const peer = await UdpPeer.open('::1');
      try {
        const leg = s.createLeg('a');
        const a = await s.addStream(leg, { rtcpMux: false, interface: 'v6', port: 50250 });
        assert.equal(a.rtpPort.port, 50250);
        assert.equal(r.ports.inUse, 1);
        await assert.rejects(s.addStream(leg, { rtcpMux: false, interface: 'v4', port: 50250 }), (e: unknown) => e instanceof RelayError && e.code === 'E_PORTS_EXHAUSTED');
        await assert.rejects(s.addStream(leg, { rtcpMux: false, port: 50251 }), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST');
        await assert.rejects(s.addStream(leg, { rtcpMux: false, interface: 'dmz' }), (e: unknown) => e instanceof RelayError && /Unknown interface/.test(e.message));
        assert.equal(r.ports.inUse, 1);
        // The socket really is IPv6: a datagram to [::1]:50250 is counted by the stream.
        await peer.send(rtp({ seq: 1, ssrc: 1 }), 50250, '::1');
        for (let i = 0; i < 50; i++) {
          await r.syncStats();
          if (a.stats.drops.noKeys > 0) break;
          await new Promise((res) => setTimeout(res, 10));
        }
        assert.equal(a.stats.drops.noKeys, 1);
      } finally {
        s.close();
        await peer.close();
        await r.close();
      }
    }
  });
});

