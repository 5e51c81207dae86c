// The relay data plane end to end on loopback, with libsrtp2 (through the C harness) as the
// independent SRTP implementation at the far ends of both legs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Relay, type RelayIo } from '../../src/session/Relay.ts';
import { BatchedIo } from '../../src/net/native/BatchedIo.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle as MediaStream } from '../../src/session/MediaStreamHandle.ts';
import type { SuiteName } from '../../src/crypto/suites.ts';
import { suiteByName } from '../../src/crypto/suites.ts';
import { RelayError } from '../../src/errors.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr, rtcpBye } from '../helpers/packets.ts';

interface Keys { masterKey: Uint8Array; masterSalt: Uint8Array }
const keysFor = (suite: SuiteName): Keys => ({ masterKey: randomBytes(suiteByName(suite)!.keyLen), masterSalt: randomBytes(14) });
const copyKeys = (k: Keys): Keys => ({ masterKey: k.masterKey.slice(), masterSalt: k.masterSalt.slice() });

let relay: Relay;
let lib: LibsrtpPeer | null = null;
let sessionSeq = 0;

interface Call {
  a: MediaStream; b: MediaStream;
  peerA: UdpPeer; peerB: UdpPeer;
  close(): Promise<void>;
}

/** A two-leg call: leg A's far end is peerA, leg B's is peerB. */
async function call(o: {
  suiteA: SuiteName | null; suiteB: SuiteName | null; rtcpMux?: boolean; strict?: boolean;
  aSends?: Keys; relayToA?: Keys; bSends?: Keys; relayToB?: Keys;
}): Promise<Call> {
  const s = relay.createSession(`call-${++sessionSeq}`);
  const legA = s.createLeg('a'), legB = s.createLeg('b');
  const mux = o.rtcpMux ?? false;
  const a = await s.addStream(legA, { rtcpMux: mux, strictSource: o.strict ?? false });
  const b = await s.addStream(legB, { rtcpMux: mux, strictSource: o.strict ?? false });
  linkStreams(a, b);
  const peerA = await UdpPeer.open(), peerB = await UdpPeer.open();
  a.setRemote({ address: '127.0.0.1', port: peerA.port }, mux ? null : { address: '127.0.0.1', port: peerA.port });
  b.setRemote({ address: '127.0.0.1', port: peerB.port }, mux ? null : { address: '127.0.0.1', port: peerB.port });
  a.setInboundCrypto(o.suiteA && o.aSends ? { suite: o.suiteA, ...copyKeys(o.aSends) } : null);
  a.setOutboundCrypto(o.suiteA && o.relayToA ? { suite: o.suiteA, ...copyKeys(o.relayToA) } : null);
  b.setInboundCrypto(o.suiteB && o.bSends ? { suite: o.suiteB, ...copyKeys(o.bSends) } : null);
  b.setOutboundCrypto(o.suiteB && o.relayToB ? { suite: o.suiteB, ...copyKeys(o.relayToB) } : null);
  return { a, b, peerA, peerB, close: async () => { s.close(); await peerA.close(); await peerB.close(); } };
}

const rtcpPortOf = (s: MediaStream) => (s.rtcpMux ? s.rtpPort.port : s.rtcpPort!.port);

// Both media I/O backends; without the addon the native run skips (and fails under CI=true).
const nativeSkip = BatchedIo.available() || process.env.CI === 'true' ? false
  : `batched I/O unavailable (${BatchedIo.unavailableReason() ?? ''}): ${BatchedIo.buildCommand}`;
for (const io of ['dgram', 'native'] as const satisfies readonly RelayIo[]) describe(`relay data plane, io ${io} (libsrtp2 at both far ends)`, { skip: io === 'native' && nativeSkip }, () => {
  before(async () => {
    relay = await Relay.create({ io, ports: { min: 41000, max: 41999 }, mediaTimeout: 60 });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { relay.close(); await lib?.close(); });

  for (const mux of [false, true]) {
    it(`SRTP ↔ RTP, RTP and RTCP both ways, bit-exact (rtcp-mux ${mux})`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      const suite: SuiteName = 'AES_CM_128_HMAC_SHA1_80';
      const aSends = keysFor(suite), relayToA = keysFor(suite);
      const id = `m${mux}`;
      await lib.session(`${id}tx`, 'out', suite, aSends.masterKey, aSends.masterSalt);
      await lib.session(`${id}rx`, 'in', suite, relayToA.masterKey, relayToA.masterSalt);
      const c = await call({ suiteA: suite, suiteB: null, rtcpMux: mux, aSends, relayToA });
      try {
        const sent: Uint8Array[] = [];
        for (let seq = 100; seq < 130; seq++) {
          const p = rtp({ seq, ssrc: 0x1111, payload: randomBytes(160) });
          sent.push(p);
          await c.peerA.send(await lib.protectRtp(`${id}tx`, p), c.a.rtpPort.port);
        }
        const got = await c.peerB.waitFor(30);
        assert.equal(got.length, 30);
        got.forEach((g, i) => assert.deepEqual(new Uint8Array(g), sent[i]));
        // B → A: plain RTP in, SRTP out; libsrtp2 verifies and decrypts.
        const back: Uint8Array[] = [];
        for (let seq = 500; seq < 520; seq++) {
          const p = rtp({ seq, ssrc: 0x2222, payload: randomBytes(100) });
          back.push(p);
          await c.peerB.send(p, c.b.rtpPort.port);
        }
        const gotA = await c.peerA.waitFor(20);
        assert.equal(gotA.length, 20);
        for (let i = 0; i < 20; i++) assert.deepEqual(await lib.unprotectRtp(`${id}rx`, gotA[i]!), back[i]);
        // RTCP both ways.
        c.peerA.clear(); c.peerB.clear();
        const rr = rtcpRr(0x1111, 24);
        await c.peerA.send(await lib.protectRtcp(`${id}tx`, rr), rtcpPortOf(c.a));
        const [rrAtB] = await c.peerB.waitFor(1);
        assert.deepEqual(new Uint8Array(rrAtB!), rr);
        const rrB = rtcpRr(0x2222, 8);
        await c.peerB.send(rrB, rtcpPortOf(c.b));
        const [rrAtA] = await c.peerA.waitFor(1);
        assert.deepEqual(await lib.unprotectRtcp(`${id}rx`, rrAtA!), rrB);
        assert.equal(c.a.stats.packetsIn, 31);
        assert.equal(c.b.stats.packetsOut, 31);
      } finally { await c.close(); }
    });
  }

  it('SRTP(key A, AES_CM_128_HMAC_SHA1_80) ↔ SRTP(key B, AES_256_CM_HMAC_SHA1_32): re-encrypted both ways', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const sa: SuiteName = 'AES_CM_128_HMAC_SHA1_80', sb: SuiteName = 'AES_256_CM_HMAC_SHA1_32';
    const aSends = keysFor(sa), relayToA = keysFor(sa), bSends = keysFor(sb), relayToB = keysFor(sb);
    await lib.session('x-atx', 'out', sa, aSends.masterKey, aSends.masterSalt);
    await lib.session('x-arx', 'in', sa, relayToA.masterKey, relayToA.masterSalt);
    await lib.session('x-btx', 'out', sb, bSends.masterKey, bSends.masterSalt);
    await lib.session('x-brx', 'in', sb, relayToB.masterKey, relayToB.masterSalt);
    const c = await call({ suiteA: sa, suiteB: sb, rtcpMux: true, aSends, relayToA, bSends, relayToB });
    try {
      const p = rtp({ seq: 7, ssrc: 0xa, payload: randomBytes(1200) });
      await c.peerA.send(await lib.protectRtp('x-atx', p), c.a.rtpPort.port);
      const [atB] = await c.peerB.waitFor(1);
      assert.notDeepEqual(new Uint8Array(atB!).subarray(12, 1212), p.subarray(12)); // encrypted on the wire
      assert.deepEqual(await lib.unprotectRtp('x-brx', atB!), p);
      const q = rtp({ seq: 9, ssrc: 0xb, payload: randomBytes(20) });
      await c.peerB.send(await lib.protectRtp('x-btx', q), c.b.rtpPort.port);
      const [atA] = await c.peerA.waitFor(1);
      assert.deepEqual(await lib.unprotectRtp('x-arx', atA!), q);
      const bye = rtcpBye(0xb);
      await c.peerB.send(await lib.protectRtcp('x-btx', bye), c.b.rtpPort.port);
      const all = await c.peerA.waitFor(2);
      assert.deepEqual(await lib.unprotectRtcp('x-arx', all[1]!), bye);
    } finally { await c.close(); }
  });

  it('media injection: forged and replayed SRTP are never forwarded; forged RTCP BYE is not forwarded', async () => {
    const suite: SuiteName = 'AES_CM_128_HMAC_SHA1_80';
    const aSends = keysFor(suite);
    const c = await call({ suiteA: suite, suiteB: null, aSends, relayToA: keysFor(suite) });
    const { createSrtpSessionSync } = await import('../../src/SrtpSession.ts');
    const sender = createSrtpSessionSync({ suite, ...copyKeys(aSends) });
    try {
      const good = sender.protectRtp(rtp({ seq: 1, ssrc: 5 }));
      await c.peerA.send(good, c.a.rtpPort.port);
      await c.peerB.waitFor(1);
      await c.peerA.send(good, c.a.rtpPort.port);                 // replay
      const forged = sender.protectRtp(rtp({ seq: 2, ssrc: 5 }));
      forged[20]! ^= 1;
      await c.peerA.send(forged, c.a.rtpPort.port);               // forged
      const attackerKeys = keysFor(suite);
      const attacker = createSrtpSessionSync({ suite, ...attackerKeys });
      await c.peerA.send(attacker.protectRtcp(rtcpBye(5)), c.a.rtcpPort!.port); // BYE under the wrong key
      await c.peerA.send(rtcpBye(5), c.a.rtcpPort!.port);         // plain-text BYE on an SRTP leg
      await c.peerA.send(rtp({ seq: 3, ssrc: 5 }), c.a.rtpPort.port); // plain RTP on an SRTP leg
      assert.equal(await c.peerB.settle(), 1);
      assert.equal(c.a.stats.drops.replay, 1);
      assert.ok(c.a.stats.drops.auth >= 3);
      attacker.close();
    } finally { sender.close(); await c.close(); }
  });

  it('latching: an unauthenticated packet from a new address does not move the latch; an authentic one does unless strict', async () => {
    const suite: SuiteName = 'AES_CM_128_HMAC_SHA1_80';
    const aSends = keysFor(suite);
    const { createSrtpSessionSync } = await import('../../src/SrtpSession.ts');
    for (const strict of [false, true]) {
      const c = await call({ suiteA: suite, suiteB: null, aSends, relayToA: keysFor(suite), strict });
      const sender = createSrtpSessionSync({ suite, ...copyKeys(aSends) });
      const intruder = await UdpPeer.open();
      try {
        await c.peerA.send(sender.protectRtp(rtp({ seq: 1, ssrc: 5 })), c.a.rtpPort.port);
        await c.peerB.waitFor(1);
        assert.equal(c.a.latchedRtp?.port, c.peerA.port);
        const bogus = sender.protectRtp(rtp({ seq: 2, ssrc: 5 })); bogus[bogus.length - 1]! ^= 0xff;
        await intruder.send(bogus, c.a.rtpPort.port);
        await c.peerB.settle();
        assert.equal(c.a.latchedRtp?.port, c.peerA.port, 'latch moved on an unauthenticated packet');
        // B's media still goes to the genuine A.
        await c.peerB.send(rtp({ seq: 1, ssrc: 6 }), c.b.rtpPort.port);
        await c.peerA.waitFor(1);
        assert.equal(c.peerA.received.length, 1);
        assert.equal(intruder.received.length, 0);
        // An authentic packet from a new address (NAT rebinding) moves the latch unless strict.
        await intruder.send(sender.protectRtp(rtp({ seq: 3, ssrc: 5 })), c.a.rtpPort.port);
        await c.peerB.settle();
        assert.equal(c.a.latchedRtp?.port, strict ? c.peerA.port : intruder.port);
        if (strict) assert.equal(c.a.stats.drops.wrongSource, 2);
      } finally { sender.close(); await intruder.close(); await c.close(); }
    }
  });

  it('media before keys is dropped (counted), never forwarded in clear', async () => {
    const s = relay.createSession(`early-${++sessionSeq}`);
    const a = await s.addStream(s.createLeg('a'), { rtcpMux: false });
    const b = await s.addStream(s.createLeg('b'), { rtcpMux: false });
    linkStreams(a, b);
    const peerB = await UdpPeer.open(), peerA = await UdpPeer.open();
    b.setRemote({ address: '127.0.0.1', port: peerB.port });
    try {
      a.setInboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', ...keysFor('AES_CM_128_HMAC_SHA1_80') });
      await peerA.send(rtp({ seq: 1, ssrc: 1 }), a.rtpPort.port);
      assert.equal(await peerB.settle(), 0);
      assert.equal(a.stats.drops.noKeys, 1);
    } finally { s.close(); await peerA.close(); await peerB.close(); }
  });

  it('delete closes the ports and zeroes the contexts', async () => {
    const c = await call({ suiteA: 'AES_CM_128_HMAC_SHA1_80', suiteB: null, aSends: keysFor('AES_CM_128_HMAC_SHA1_80'), relayToA: keysFor('AES_CM_128_HMAC_SHA1_80') });
    const ports = [c.a.rtpPort.port, c.a.rtcpPort!.port, c.b.rtpPort.port, c.b.rtcpPort!.port];
    const live = relay.core.liveContexts;
    await c.close();
    assert.equal(relay.core.liveContexts, live - 2);
    for (const port of ports) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, '127.0.0.1', () => resolve()); });
      s.close();
    }
  });
});

describe('relay resources', () => {
  it('port exhaustion is a clear "Ran out of ports" error, and ports come back on delete', async () => {
    const r = await Relay.create({ ports: { min: 42000, max: 42007 } }); // 4 pairs = 2 streams... x2 legs
    try {
      const s = r.createSession('x');
      const leg = s.createLeg('a');
      await s.addStream(leg, { rtcpMux: false });
      await s.addStream(leg, { rtcpMux: false });
      await s.addStream(leg, { rtcpMux: false });
      await s.addStream(leg, { rtcpMux: false });
      await assert.rejects(s.addStream(leg, { rtcpMux: false }), (e: unknown) => e instanceof RelayError && e.code === 'E_PORTS_EXHAUSTED' && /Ran out of ports/.test(e.message));
      s.close();
      assert.equal(r.ports.inUse, 0);
      const s2 = r.createSession('y');
      await s2.addStream(s2.createLeg('a'), { rtcpMux: true });
      s2.close();
    } finally { r.close(); }
  });

  it('session limit gives "Parallel session limit reached"', async () => {
    const r = await Relay.create({ ports: { min: 42100, max: 42199 }, maxSessions: 2 });
    try {
      r.createSession('1'); r.createSession('2');
      assert.throws(() => r.createSession('3'), (e: unknown) => e instanceof RelayError && e.code === 'E_SESSION_LIMIT' && e.message.startsWith('Parallel session limit reached'));
    } finally { r.close(); }
  });

  it('no media for mediaTimeout seconds ends the session', async () => {
    const r = await Relay.create({ ports: { min: 42200, max: 42299 }, mediaTimeout: 1 });
    try {
      const s = r.createSession('idle');
      await s.addStream(s.createLeg('a'), { rtcpMux: true });
      const reason = await new Promise((resolve) => s.once('close', resolve));
      assert.equal(reason, 'timeout');
      assert.equal(r.sessionCount, 0);
      assert.equal(r.ports.inUse, 0);
    } finally { r.close(); }
  });

  it('10^4 create/delete cycles leak no ports, contexts or memory', async () => {
    const r = await Relay.create({ ports: { min: 43000, max: 43999 } });
    try {
      const mem0 = r.core.memoryBytes;
      for (let i = 0; i < 10_000; i++) {
        const s = r.createSession(`c${i}`);
        const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
        const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
        linkStreams(a, b);
        a.setInboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', ...keysFor('AES_CM_128_HMAC_SHA1_80') });
        b.setOutboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', ...keysFor('AES_CM_128_HMAC_SHA1_80') });
        s.close();
      }
      assert.equal(r.sessionCount, 0);
      assert.equal(r.ports.inUse, 0);
      assert.equal(r.core.liveContexts, 0);
      assert.equal(r.core.memoryBytes, mem0);
    } finally { r.close(); }
  });
});
