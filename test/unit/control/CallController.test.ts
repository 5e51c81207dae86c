// CallController without media: what offer/answer/delete/query do to calls, ports and SDP, and
// that every refusal leaves the call (or the relay) exactly as it was.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Relay } from '../../../src/session/Relay.ts';
import { CallController } from '../../../src/control/CallController.ts';
import { CallState, type ControlledStream } from '../../../src/control/CallState.ts';
import type { Leg } from '../../../src/session/Leg.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { generateSdesCrypto } from '../../../src/keying/sdes.ts';
import { suiteByName } from '../../../src/crypto/suites.ts';
import { RelayError, type RelayErrorCode } from '../../../src/errors.ts';
import type { Session } from '../../../src/session/Session.ts';

const b64 = (len: number, seed: number): string => Buffer.from(Array.from({ length: len }, (_, i) => (i * 7 + seed * 53 + 3) & 0xff)).toString('base64');
const K128 = (seed: number): string => b64(30, seed);

interface MediaSpec { type?: string; port?: number; proto?: string; crypto?: string[]; attrs?: string[]; conn?: string }
function sdp(o: { addr?: string; version?: number; media?: MediaSpec[] } = {}): string {
  const addr = o.addr ?? '192.0.2.50';
  const lines = ['v=0', `o=- 100 ${o.version ?? 1} IN IP4 ${addr}`, 's=-', `c=IN IP4 ${addr}`, 't=0 0'];
  for (const m of o.media ?? [{}]) {
    lines.push(`m=${m.type ?? 'audio'} ${m.port ?? 4000} ${m.proto ?? 'RTP/SAVP'} 0`);
    if (m.conn !== undefined) lines.push(`c=IN IP4 ${m.conn}`);
    for (const c of m.crypto ?? (m.proto === undefined || m.proto.includes('SAVP') ? [`1 AES_CM_128_HMAC_SHA1_80 inline:${K128(1)}`] : [])) lines.push(`a=crypto:${c}`);
    lines.push(...(m.attrs ?? []));
  }
  return `${lines.join('\r\n')}\r\n`;
}

let seq = 0;
function offerReq(callId: string, body: string, extra: Record<string, unknown> = {}, fromTag = 'A'): NgOfferRequest {
  return normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': fromTag, sdp: body, ...extra }) as NgOfferRequest;
}
function answerReq(callId: string, body: string, extra: Record<string, unknown> = {}, tags: [string, string] = ['A', 'B']): NgAnswerRequest {
  return normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': tags[0], 'to-tag': tags[1], sdp: body, ...extra }) as NgAnswerRequest;
}

/** The relay's a=crypto line for `suite` in an SDP: tag and key text. */
function lineFor(text: string, suite: string): { tag: number; key: string } {
  const m = new RegExp(`a=crypto:(\\d+) ${suite} inline:(\\S+)`).exec(text);
  assert.ok(m, `no ${suite} line in\n${text}`);
  return { tag: Number(m[1]), key: m[2]! };
}
const mPorts = (text: string): number[] => [...text.matchAll(/^m=\S+ (\d+)/gm)].map((m) => Number(m[1]));

async function rejects(p: Promise<unknown>, code: RelayErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RelayError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('CallController', () => {
  let relay: Relay;
  let cc: CallController;
  before(async () => {
    relay = await Relay.create({ ports: { min: 45000, max: 45999 }, advertisedAddress: '203.0.113.9' });
    cc = new CallController({ relay });
  });
  after(() => relay.close());
  const fresh = (): string => `cc-${++seq}`;

  /** Offer A's default SDP and answer with B choosing AES_CM_128_HMAC_SHA1_80. */
  async function established(callId: string): Promise<{ offer: string; answer: string; bKey: string }> {
    const o = await cc.offer(offerReq(callId, sdp()));
    const { tag } = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
    const bKey = K128(9);
    const a = await cc.answer(answerReq(callId, sdp({ addr: '198.51.100.50', media: [{ port: 6000, crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${bKey}`] }] })));
    return { offer: o.sdp, answer: a.sdp, bKey };
  }

  it('a refused offer allocates nothing and leaves no call', async () => {
    const sessions = relay.sessionCount, ports = relay.ports.inUse;
    const id = fresh();
    await rejects(cc.offer(offerReq(id, sdp({ media: [{ crypto: [`1 NULL_HMAC_SHA1_80 inline:${K128(2)}`] }] }))), 'E_BID_DOWN', /\[media:1\]/);
    await rejects(cc.offer(offerReq(id, sdp({ media: [{ crypto: [] }] }))), 'E_NO_COMMON_SUITE');
    await rejects(cc.offer(offerReq(id, sdp(), { SDES: ['off'] })), 'E_BAD_REQUEST', /SDES-off/);
    await rejects(cc.offer(offerReq(id, sdp(), { 'transport-protocol': 'UDP/TLS/RTP/SAVPF', DTLS: 'off' })), 'E_BAD_REQUEST');
    await rejects(cc.offer(offerReq(id, sdp({ media: [{ proto: 'UDP/TLS/RTP/SAVPF', attrs: ['a=fingerprint:sha-256 AA:BB', 'a=setup:actpass'] }] }))), 'E_BAD_SDP', /DTLS/);
    await rejects(cc.offer(offerReq(id, 'v=0\r\nnonsense\r\n')), 'E_BAD_SDP');
    assert.equal(relay.sessionCount, sessions);
    assert.equal(relay.ports.inUse, ports);
    assert.ok(!cc.list().includes(id));
  });

  it('port exhaustion and the session limit keep the relay\'s messages and leak nothing', async () => {
    const small = await Relay.create({ ports: { min: 47990, max: 47997 }, maxSessions: 1 });
    try {
      const c = new CallController({ relay: small });
      const three = sdp({ media: [{ port: 4000 }, { port: 4002 }, { port: 4004 }] });
      await rejects(c.offer(offerReq('x', three)), 'E_PORTS_EXHAUSTED', /^Ran out of ports/);
      assert.equal(small.ports.inUse, 0);
      assert.equal(small.sessionCount, 0);
      await c.offer(offerReq('y', sdp()));
      await rejects(c.offer(offerReq('z', sdp())), 'E_SESSION_LIMIT', /^Parallel session limit reached/);
      assert.deepEqual(c.list(), ['y']);
    } finally { small.close(); }
  });

  it('a full crypto context table is reported as the session limit (Kamailio fails over), not as an SrtpError', async () => {
    const tiny = await Relay.create({ ports: { min: 47950, max: 47989 }, core: { maxContexts: 2 } });
    try {
      const c = new CallController({ relay: tiny });
      await c.offer(offerReq('ctx', sdp()));
      await rejects(c.answer(answerReq('ctx', sdp({ media: [{ port: 6000, crypto: [`4 AES_CM_128_HMAC_SHA1_80 inline:${K128(4)}`] }] }))),
        'E_SESSION_LIMIT', /^Parallel session limit reached/);
    } finally { tiny.close(); }
  });

  it('answer refusals change nothing: a later valid answer still works', async () => {
    const id = fresh();
    const o = await cc.offer(offerReq(id, sdp()));
    const t128 = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80').tag;
    const t256 = lineFor(o.sdp, 'AES_256_CM_HMAC_SHA1_80').tag;
    const bad = (crypto: string[], proto = 'RTP/SAVP'): string => sdp({ addr: '198.51.100.1', media: [{ port: 6000, proto, crypto }] });
    await rejects(cc.answer(answerReq(id, bad([`${t256} AES_CM_128_HMAC_SHA1_32 inline:${K128(3)}`]))), 'E_BID_DOWN', /changed the suite/);
    await rejects(cc.answer(answerReq(id, bad([]))), 'E_BID_DOWN');
    await rejects(cc.answer(answerReq(id, bad([], 'RTP/AVP'))), 'E_BID_DOWN', /fell back/);
    await rejects(cc.answer(answerReq(id, bad([`99 AES_CM_128_HMAC_SHA1_80 inline:${K128(3)}`]))), 'E_BAD_SDP');
    await rejects(cc.answer(answerReq(id, bad([`${t128} AES_CM_128_HMAC_SHA1_80 inline:${K128(3)} UNENCRYPTED_SRTCP`]))), 'E_BID_DOWN');
    await rejects(cc.answer(answerReq(id, bad([`${t128} AES_CM_128_HMAC_SHA1_80 inline:${K128(3)}`]), {}, ['A', 'A'])), 'E_BAD_REQUEST');
    await rejects(cc.answer(answerReq(id, bad([`${t128} AES_CM_128_HMAC_SHA1_80 inline:${K128(3)}`]), {}, ['X', 'B'])), 'E_INVALID_STATE');
    await rejects(cc.answer(answerReq(id, sdp({ media: [{}, {}] }))), 'E_BAD_SDP', /m= lines/);
    await rejects(cc.answer(answerReq('no-such-call', bad([]))), 'E_NOT_FOUND');
    const info = cc.query(id);
    assert.deepEqual(Object.keys(info.tags).sort(), ['', 'A']);
    assert.ok(Object.values(info.tags).every((t) => t.medias.every((m) => m.cryptoSuite === null)), 'no keys committed by refused answers');
    const a = await cc.answer(answerReq(id, bad([`${t128} AES_CM_128_HMAC_SHA1_80 inline:${K128(3)}`])));
    assert.match(a.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
    const after = cc.query(id);
    assert.equal(after.tags.B!.medias[0]!.cryptoSuite, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(after.tags.B!.medias[0]!.remote, '198.51.100.1:6000');
    assert.equal(after.tags.A!.medias[0]!.remote, '192.0.2.50:4000');
  });

  it('query, warnings and errors never carry key material', async () => {
    const id = fresh();
    const { offer, answer, bKey } = await established(id);
    const keys = [K128(1), bKey, ...[...offer.matchAll(/inline:(\S+)/g), ...answer.matchAll(/inline:(\S+)/g)].map((m) => m[1]!)];
    const text = JSON.stringify(cc.query(id));
    for (const k of keys) assert.ok(!text.includes(k.slice(0, 16)), 'query output holds a key');
    assert.match(text, /"cryptoSuite":"AES_CM_128_HMAC_SHA1_80"/);
    try {
      await cc.answer(answerReq(id, sdp({ media: [{ crypto: [`77 AES_CM_128_HMAC_SHA1_80 inline:${bKey}`] }] })));
      assert.fail('expected a refusal');
    } catch (e) {
      assert.ok(e instanceof RelayError);
      assert.ok(!e.message.includes(bKey.slice(0, 16)));
    }
  });

  it('delete: tags must match; closes ports; then the call is gone', async () => {
    const id = fresh();
    const ports = relay.ports.inUse;
    await established(id);
    assert.equal(relay.ports.inUse, ports + 2);
    assert.deepEqual(cc.delete({ callId: id, fromTag: 'nobody' }), { deleted: false });
    assert.deepEqual(cc.delete({ callId: id, fromTag: 'nobody', toTag: 'B' }), { deleted: true });
    assert.equal(relay.ports.inUse, ports);
    assert.deepEqual(cc.delete({ callId: id }), { deleted: false });
    assert.throws(() => cc.query(id), (e: unknown) => e instanceof RelayError && e.code === 'E_NOT_FOUND');
    const s = cc.statistics();
    assert.ok(s.totals.deletes! >= 1 && s.totals.sessionsClosed! >= 1 && s.totals.bidDownRefusals! >= 1);
  });

  it('offer and answer for one call are serialised: an answer sent before the offer finished waits for it', async () => {
    const id = fresh();
    const offering = cc.offer(offerReq(id, sdp()));
    // Default offer: tag 4 is AES_CM_128_HMAC_SHA1_80 (the offerer accepted AES_CM_128_HMAC_SHA1_80 only).
    const answering = cc.answer(answerReq(id, sdp({ media: [{ port: 6000, crypto: [`4 AES_CM_128_HMAC_SHA1_80 inline:${K128(4)}`] }] })));
    const [o, a] = await Promise.all([offering, answering]);
    assert.equal(lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80').tag, 4);
    assert.match(a.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80/);
  });

  it('re-INVITE with unchanged SDP keeps ports and re-announces the same keys both ways', async () => {
    const id = fresh();
    const first = await established(id);
    const o2 = await cc.offer(offerReq(id, sdp({ version: 2 })));
    assert.deepEqual(mPorts(o2.sdp), mPorts(first.offer));
    assert.equal(lineFor(o2.sdp, 'AES_CM_128_HMAC_SHA1_80').key, lineFor(first.offer, 'AES_CM_128_HMAC_SHA1_80').key, 'the answerer keeps its key');
    assert.notEqual(lineFor(o2.sdp, 'AES_256_CM_HMAC_SHA1_80').key, lineFor(first.offer, 'AES_256_CM_HMAC_SHA1_80').key, 'unchosen lines get fresh keys');
    const { tag } = lineFor(o2.sdp, 'AES_CM_128_HMAC_SHA1_80');
    const a2 = await cc.answer(answerReq(id, sdp({ addr: '198.51.100.50', version: 2, media: [{ port: 6000, crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${first.bKey}`] }] })));
    assert.deepEqual(mPorts(a2.sdp), mPorts(first.answer));
    assert.equal(lineFor(a2.sdp, 'AES_CM_128_HMAC_SHA1_80').key, lineFor(first.answer, 'AES_CM_128_HMAC_SHA1_80').key, 'the offerer keeps its key');
  });

  it('a first m= line that is not relayed: the relayed ones still map to their own index', async () => {
    const id = fresh();
    const o = await cc.offer(offerReq(id, sdp({ media: [{ type: 'image', port: 5000, proto: 'udptl', crypto: [] }, { port: 4002 }] })));
    assert.match(o.sdp, /m=image 5000 udptl 0\r\n/);
    const a = await cc.answer(answerReq(id, sdp({ media: [{ type: 'image', port: 7000, proto: 'udptl', crypto: [] }, { port: 6002, crypto: [`4 AES_CM_128_HMAC_SHA1_80 inline:${K128(8)}`] }] })));
    assert.match(a.sdp, /m=image 7000 udptl 0\r\n/);
    assert.deepEqual(cc.query(id).tags.B!.medias.map((m) => m.index), [2]);
    assert.deepEqual(cc.delete({ callId: id }), { deleted: true });
  });

  it('a re-offer with fewer m= lines is refused and the call stays', async () => {
    const id = fresh();
    await cc.offer(offerReq(id, sdp({ media: [{ port: 4000 }, { port: 4002 }] })));
    await rejects(cc.offer(offerReq(id, sdp())), 'E_BAD_SDP', /fewer m= lines/);
    assert.equal(cc.query(id).tags.A!.medias.length, 2);
  });

  it('the callee re-INVITEs: roles swap, keys towards each side are kept', async () => {
    const id = fresh();
    const first = await established(id);
    // B's re-offer: B sends its same key; the relay offers A its suites, re-announcing A's current key.
    const o = await cc.offer(offerReq(id, sdp({ addr: '198.51.100.50', version: 3, media: [{ port: 6000, crypto: [`1 AES_CM_128_HMAC_SHA1_80 inline:${first.bKey}`] }] }), {}, 'B'));
    const toA = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(toA.key, lineFor(first.answer, 'AES_CM_128_HMAC_SHA1_80').key);
    assert.deepEqual(mPorts(o.sdp), mPorts(first.answer), 'A sees its own ports again');
    // A answers (the answer's from-tag is the offerer, B; Kamailio may also send them swapped).
    const a = await cc.answer(answerReq(id, sdp({ version: 2, media: [{ crypto: [`${toA.tag} AES_CM_128_HMAC_SHA1_80 inline:${K128(1)}`] }] }), {}, ['A', 'B']));
    assert.equal(lineFor(a.sdp, 'AES_CM_128_HMAC_SHA1_80').key, lineFor(first.offer, 'AES_CM_128_HMAC_SHA1_80').key);
    assert.match(a.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80/, "B's tag is used");
  });

  it('a forked call: a second answer from another to-tag replaces the first', async () => {
    const id = fresh();
    const o = await cc.offer(offerReq(id, sdp()));
    const { tag } = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
    await cc.answer(answerReq(id, sdp({ media: [{ port: 6000, crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${K128(5)}`] }] }), {}, ['A', 'B1']));
    const a2 = await cc.answer(answerReq(id, sdp({ addr: '198.51.100.77', media: [{ port: 7000, crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${K128(6)}`] }] }), {}, ['A', 'B2']));
    assert.match(a2.warnings.join(), /forked/);
    const info = cc.query(id);
    assert.deepEqual(Object.keys(info.tags).sort(), ['A', 'B2']);
    assert.equal(info.tags.B2!.medias[0]!.remote, '198.51.100.77:7000');
  });

  it('hold (c=0.0.0.0) is echoed unless replace zero-address; sip-source-address uses received-from', async () => {
    const id = fresh();
    const o = await cc.offer(offerReq(id, sdp({ addr: '0.0.0.0' }), { replace: ['origin', 'session-connection'] }));
    assert.match(o.sdp, /^c=IN IP4 0\.0\.0\.0\r$/m);
    assert.match(o.sdp, /^o=- 100 1 IN IP4 203\.0\.113\.9\r$/m);
    const id2 = fresh();
    const o2 = await cc.offer(offerReq(id2, sdp({ addr: '0.0.0.0' }), { replace: ['session-connection', 'zero-address'] }));
    assert.match(o2.sdp, /^c=IN IP4 203\.0\.113\.9\r$/m);
    const id3 = fresh();
    await cc.offer(offerReq(id3, sdp(), { flags: ['sip-source-address'], 'received-from': ['IP4', '198.18.0.5'] }));
    await cc.answer(answerReq(id3, sdp({ media: [{ port: 6000, crypto: [`4 AES_CM_128_HMAC_SHA1_80 inline:${K128(7)}`] }] })));
    assert.equal(cc.query(id3).tags.A!.medias[0]!.remote, '198.18.0.5:4000');
  });

  it('rtcp-mux flags: default mirrors, demux, reject, require, offer', async () => {
    const run = async (flags: string[], aMux: boolean, bAccepts: boolean) => {
      const id = fresh();
      const o = await cc.offer(offerReq(id, sdp({ media: [{ attrs: aMux ? ['a=rtcp-mux'] : [] }] }), { 'rtcp-mux': flags }));
      const { tag } = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
      const a = await cc.answer(answerReq(id, sdp({ media: [{ port: 6000, crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${K128(8)}`], attrs: bAccepts ? ['a=rtcp-mux'] : [] }] })));
      const info = cc.query(id);
      return { toB: o.sdp.includes('a=rtcp-mux'), toA: a.sdp.includes('a=rtcp-mux'), muxA: info.tags.A!.medias[0]!.rtcpMux, muxB: info.tags.B!.medias[0]!.rtcpMux, offer: o.sdp };
    };
    assert.deepEqual((({ offer, ...r }) => r)(await run([], true, true)), { toB: true, toA: true, muxA: true, muxB: true });
    assert.deepEqual((({ offer, ...r }) => r)(await run([], true, false)), { toB: true, toA: false, muxA: false, muxB: false });
    assert.deepEqual((({ offer, ...r }) => r)(await run(['demux'], true, false)), { toB: false, toA: true, muxA: true, muxB: false });
    assert.deepEqual((({ offer, ...r }) => r)(await run(['reject'], true, true)), { toB: false, toA: false, muxA: false, muxB: false });
    assert.deepEqual((({ offer, ...r }) => r)(await run(['offer'], false, true)), { toB: true, toA: false, muxA: false, muxB: true });
    const req = await run(['require'], false, false);
    assert.deepEqual((({ offer, ...r }) => r)(req), { toB: true, toA: false, muxA: false, muxB: true });
  });

  it('best-effort SDES on RTP/AVP is mirrored with the relay\'s keys; each leg gets SRTP when its peer can', async () => {
    const id = fresh();
    const o = await cc.offer(offerReq(id, sdp({ media: [{ proto: 'RTP/AVP', crypto: [`1 AES_CM_128_HMAC_SHA1_80 inline:${K128(1)}`] }] })));
    assert.match(o.sdp, /m=audio \d+ RTP\/AVP 0/);
    const { tag } = lineFor(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
    const a = await cc.answer(answerReq(id, sdp({ media: [{ port: 6000, proto: 'RTP/AVP', crypto: [`${tag} AES_CM_128_HMAC_SHA1_80 inline:${K128(2)}`] }] })));
    assert.match(a.sdp, /m=audio \d+ RTP\/AVP 0\r\nc=IN IP4 203\.0\.113\.9\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80/);
    const id2 = fresh();
    await cc.offer(offerReq(id2, sdp({ media: [{ proto: 'RTP/AVP', crypto: [`1 AES_CM_128_HMAC_SHA1_80 inline:${K128(1)}`] }] })));
    // B stays plain; A offered SDES and gets it: the relay terminates each leg's SRTP on its own.
    const plain = await cc.answer(answerReq(id2, sdp({ media: [{ port: 6000, proto: 'RTP/AVP', crypto: [] }] })));
    assert.match(plain.sdp, /m=audio \d+ RTP\/AVP 0\r\nc=IN IP4 203\.0\.113\.9\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80/);
    const info = cc.query(id2);
    assert.deepEqual(info.tags.B!.medias.map((m) => m.cryptoSuite), [null]);
    assert.deepEqual(info.tags.A!.medias.map((m) => m.cryptoSuite), ['AES_CM_128_HMAC_SHA1_80']);
    // An AVP offer whose crypto the policy refuses falls back to plain RTP with a warning, not an error.
    const o3 = await cc.offer(offerReq(fresh(), sdp({ media: [{ proto: 'RTP/AVP', crypto: [`1 NULL_HMAC_SHA1_80 inline:${K128(1)}`] }] })));
    assert.match(o3.warnings.join(), /SDES on RTP\/AVP not acceptable \(E_BID_DOWN\): plain RTP/);
    // The other leg still gets the relay's best-effort offer: legs are keyed independently.
    assert.match(o3.sdp, /RTP\/AVP 0\r\n(.*\r\n)*a=crypto:5 AES_CM_128_HMAC_SHA1_32 /);
  });

  it('reports options it does not act on as warnings', async () => {
    // (direction and address-family are acted on now: test/unit/control/interfaces.test.ts.)
    const o = await cc.offer(offerReq(fresh(), sdp(), { flags: ['trust-address', 'loop-protect'], replace: ['username'], SDES: ['unencrypted_srtp'] }));
    const w = o.warnings.join('\n');
    assert.match(w, /flags ignored: loop-protect/);
    assert.match(w, /replace options not supported: username/);
    assert.match(w, /weaken SRTP, refused/);
  });

  it('a session ending on media timeout takes its call with it', async () => {
    const r = await Relay.create({ ports: { min: 47900, max: 47949 }, mediaTimeout: 1 });
    try {
      const c = new CallController({ relay: r });
      await c.offer(offerReq('idle', sdp()));
      await new Promise((resolve) => setTimeout(resolve, 1600));
      assert.deepEqual(c.list(), []);
      assert.equal(c.statistics().totals.sessionTimeouts, 1);
      assert.equal(r.ports.inUse, 0);
    } finally { r.close(); }
  });
});

describe('CallController fuzz: mutated offers and answers', () => {
  it('only RelayErrors come out, and every call leaves nothing behind', async () => {
    const r = await Relay.create({ ports: { min: 47000, max: 47899 } });
    const c = new CallController({ relay: r });
    const offerLines = sdp({ media: [{ port: 4000, crypto: [`1 AES_CM_128_HMAC_SHA1_80 inline:${K128(1)}`, `2 AES_CM_128_HMAC_SHA1_32 inline:${K128(2)}`], attrs: ['a=rtcp:4001', 'a=rtcp-mux'] },
      { type: 'video', port: 4002, proto: 'RTP/AVP', conn: '192.0.2.9' }, { type: 'application', port: 9, proto: 'UDP/DTLS/SCTP' }] }).trimEnd().split('\r\n');
    const answerLines = sdp({ media: [{ port: 6000, crypto: [`4 AES_CM_128_HMAC_SHA1_80 inline:${K128(3)}`], attrs: ['a=rtcp-mux'] },
      { type: 'video', port: 6002, proto: 'RTP/AVP' }, { type: 'application', port: 9, proto: 'UDP/DTLS/SCTP' }] }).trimEnd().split('\r\n');
    const junk = fc.constantFrom('a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:short', 'a=crypto:9 NULL_HMAC_SHA1_80 inline:' + K128(5), 'c=IN IP4 0.0.0.0',
      'm=audio 0 RTP/SAVP 0', 'm=audio 5 UDP/TLS/RTP/SAVP 0', 'a=rtcp:70000', 'a=rtcp-mux', 'c=IN IP6 ::1', 'a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:' + K128(6),
      'a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:' + K128(7) + '|1:1', 'm=audio 4000/2 RTP/AVP 0', 'x', 'o=- 1', 'a=candidate:1 1 UDP 1 1.2.3.4 5 typ host');
    const mutate = (lines: string[]) => fc.array(fc.tuple(fc.nat(lines.length), fc.constantFrom('drop', 'dup', 'insert'), junk), { maxLength: 4 })
      .map((ops) => {
        const out = [...lines];
        for (const [at, op, j] of ops) {
          const i = Math.min(at, out.length - 1);
          if (op === 'drop') out.splice(i, 1);
          else if (op === 'dup') out.splice(i, 0, out[i]!);
          else out.splice(i, 0, j);
        }
        return `${out.join('\r\n')}\r\n`;
      });
    /** True when the request succeeded, false on a RelayError; anything else fails the property. */
    const relayErrorsOnly = async (p: Promise<unknown>): Promise<boolean> => {
      try { await p; return true; } catch (e) { if (e instanceof RelayError) return false; throw e; }
    };
    let n = 0, accepted = 0;
    try {
      await fc.assert(fc.asyncProperty(mutate(offerLines), mutate(answerLines), async (offer, answer) => {
        const id = `fz-${++n}`;
        if (await relayErrorsOnly(c.offer(offerReq(id, offer)))) {
          accepted++;
          await relayErrorsOnly(c.answer(answerReq(id, answer)));
          c.delete({ callId: id });
        }
        assert.equal(r.sessionCount, 0);
        assert.equal(r.ports.inUse, 0);
      }), { numRuns: 150 });
      // The mutations must leave enough offers valid for the answer path to be exercised too.
      assert.ok(accepted > 30, `only ${accepted} offers were accepted`);
    } finally { r.close(); }
  });
});

describe('CallState key ownership', () => {
  it('collect() wipes unreferenced keys; close() wipes all', () => {
    const fakeSession = {} as Session;
    const st = new CallState('k', fakeSession);
    const suite = suiteByName('AES_CM_128_HMAC_SHA1_80')!;
    const kept = st.own(generateSdesCrypto(1, suite));
    const dropped = st.own(generateSdesCrypto(2, suite));
    // Key ownership looks only at the sides' outKey; the stream and leg are never touched.
    const stream = {} as ControlledStream;
    const leg = {} as Leg;
    st.media.push({ type: 'audio', sides: new Map([[leg, { stream, protocol: '', outKey: kept, outTag: 1, outPadded: true, inDigest: null }]]) });
    st.collect();
    assert.equal(dropped.wiped, true);
    assert.equal(kept.wiped, false);
    assert.equal(st.heldKeys, 1);
    st.close();
    assert.equal(kept.wiped, true);
    assert.equal(st.heldKeys, 0);
    const late = st.own(generateSdesCrypto(3, suite));
    assert.equal(late.wiped, true, 'a closed call keeps nothing');
  });
});
