// The SBE's view: an independent ng client (test/helpers/ngClient.ts, its own bencode) drives
// offer/answer/query/delete against the ng server; real SRTP then flows both ways between two
// libsrtp2 endpoints using only the keys found in the SDPs the relay returned.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { ControlServer } from '../../src/control/ControlServer.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';

const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;
const b64 = (k: Uint8Array, s: Uint8Array) => Buffer.concat([k, s]).toString('base64');

function sdp(port: number, crypto: string | null, tag = 1, proto = 'RTP/SAVP'): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} ${proto} 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', 'a=rtcp-mux', 'a=x-vendor-thing:kept'];
  if (crypto) lines.push(`a=crypto:${tag} ${SUITE} inline:${crypto}`);
  return `${lines.join('\r\n')}\r\n`;
}

function relayCrypto(s: string): { tag: number; key: Uint8Array; salt: Uint8Array } {
  const m = /a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)/.exec(s);
  assert.ok(m, `no AES_CM_128_HMAC_SHA1_80 crypto line in:\n${s}`);
  const raw = Buffer.from(m[2]!, 'base64');
  return { tag: Number(m[1]), key: raw.subarray(0, 16), salt: raw.subarray(16, 30) };
}
const port = (s: string) => Number(/^m=audio (\d+)/m.exec(s)![1]);

describe('ng-driven call with libsrtp2 endpoints', () => {
  let relay: Relay;
  let server: ControlServer;
  let ng: NgClient;
  let lib: LibsrtpPeer | null = null;
  before(async () => {
    relay = await Relay.create({ ports: { min: 47000, max: 48999 } });
    server = await ControlServer.listen({ control: new CallController({ relay }), port: 0, commandsPerSecond: 0 });
    ng = await NgClient.open(server.address);
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await ng.close(); await server.close(0); await relay.close(); await lib?.close(); });

  const req = async (d: { [k: string]: BVal }) => {
    const r = await ng.request(d);
    assert.equal(r.reply.result, "ok", JSON.stringify(r.reply));
    return r.reply;
  };

  it('offer/answer over ng, SRTP both ways, query counters, delete', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    const a = await UdpPeer.open(), b = await UdpPeer.open();
    const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);
    const callId = `ng-media-${Date.now()}`;
    const offer = await req({ command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp(a.port, b64(aKey, aSalt)),
      replace: ['origin', 'session-connection'], ICE: 'remove', 'received-from': ['IP4', '127.0.0.1'], supports: ['load limit'] });
    const toB = String(offer.sdp);
    assert.match(toB, /a=x-vendor-thing:kept/);
    assert.doesNotMatch(toB, new RegExp(b64(aKey, aSalt).slice(0, 20).replace(/[+/]/g, '.')));
    const relayToB = relayCrypto(toB);
    // B picks the relay's AES_CM_128_HMAC_SHA1_80 line, by its tag.
    const answer = await req({ command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp(b.port, b64(bKey, bSalt), relayToB.tag) });
    const toA = String(answer.sdp);
    const relayToA = relayCrypto(toA);
    await lib.session('ng-atx', 'out', SUITE, aKey, aSalt);
    await lib.session('ng-arx', 'in', SUITE, relayToA.key, relayToA.salt);
    await lib.session('ng-btx', 'out', SUITE, bKey, bSalt);
    await lib.session('ng-brx', 'in', SUITE, relayToB.key, relayToB.salt);

    const sentAB: Uint8Array[] = [];
    for (let seq = 0; seq < 25; seq++) {
      const p = rtp({ seq, ssrc: 0xa11ce, payload: randomBytes(160) });
      sentAB.push(p);
      await a.send(await lib.protectRtp('ng-atx', p), port(toA));
    }
    const atB = await b.waitFor(25);
    for (let i = 0; i < 25; i++) assert.deepEqual(await lib.unprotectRtp('ng-brx', atB[i]!), sentAB[i]);
    const sentBA: Uint8Array[] = [];
    for (let seq = 0; seq < 15; seq++) {
      const p = rtp({ seq, ssrc: 0xb0b, payload: randomBytes(80) });
      sentBA.push(p);
      await b.send(await lib.protectRtp('ng-btx', p), port(toB));
    }
    const atA = await a.waitFor(15);
    for (let i = 0; i < 15; i++) assert.deepEqual(await lib.unprotectRtp('ng-arx', atA[i]!), sentBA[i]);
    const rr = rtcpRr(0xb0b, 8);
    await b.send(await lib.protectRtcp('ng-btx', rr), port(toB)); // rtcp-mux
    const all = await a.waitFor(16);
    assert.deepEqual(await lib.unprotectRtcp('ng-arx', all[15]!), rr);

    const q = await req({ command: 'query', 'call-id': callId });
    const text = JSON.stringify(q);
    assert.doesNotMatch(text, /inline:/);
    const tags = q.tags as { [tag: string]: { medias: { crypto?: unknown; stats?: { packets?: number } }[] } };
    assert.ok(tags.alice && tags.bob, text.slice(0, 300));
    assert.match(text, /AES_CM_128_HMAC_SHA1_80/);
    const totals = q.totals as { RTP: { packets: number } };
    assert.ok(totals.RTP.packets >= 40, text.slice(0, 400));

    await req({ command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
    assert.equal(relay.sessionCount, 0);
    assert.equal(relay.ports.inUse, 0);
    await a.close(); await b.close();
  });

  it('10^4 offer/answer/delete cycles over ng leak no ports, contexts, sessions or memory', { timeout: 300_000 }, async () => {
    const mem0 = relay.core.memoryBytes;
    const live0 = relay.core.liveContexts;
    for (let i = 0; i < 10_000; i++) {
      const callId = `cycle-${i}`;
      const k = b64(randomBytes(16), randomBytes(14));
      const o = await req({ command: 'offer', 'call-id': callId, 'from-tag': 'f', sdp: sdp(20000, k) });
      await req({ command: 'answer', 'call-id': callId, 'from-tag': 'f', 'to-tag': 't', sdp: sdp(20002, k, relayCrypto(String(o.sdp)).tag) });
      await req({ command: 'delete', 'call-id': callId, 'from-tag': 'f' });
    }
    assert.equal(relay.sessionCount, 0);
    assert.equal(relay.ports.inUse, 0);
    assert.equal(relay.core.liveContexts, live0);
    assert.equal(relay.core.memoryBytes, mem0);
  });
});
