// Which interface each leg gets (src/control/interfaces.ts): rtpengine's `direction`,
// `address-family`, the offerer's family from sip-source-address, c= or received-from, and
// what a re-offer or an answer may change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InterfacePlanner, offererFamily, sideOptions } from '../../../src/control/interfaces.ts';
import { optionsOf, sessionPlan } from '../../../src/control/requestPlan.ts';
import { normalizeNgDict, type NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { resolveInterfaces } from '../../../src/net/mediaInterfaces.ts';
import { parseSdp } from '../../../src/sdp/parse.ts';
import { Leg } from '../../../src/session/Leg.ts';
import { RelayError } from '../../../src/errors.ts';

const IFACES = resolveInterfaces([
  { name: 'int4', address: '10.0.0.1' }, { name: 'ext6', address: '2001:db8::1' }, { name: 'ext4', address: '192.0.2.1', advertised: '203.0.113.1' },
]);

function sdp(c: string): string {
  return `v=0\r\no=- 1 1 ${c}\r\ns=-\r\nc=${c}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n`;
}
const req = (extra: Record<string, unknown> = {}, c = 'IN IP4 10.9.9.9') =>
  normalizeNgDict({ command: 'offer', 'call-id': 'x', 'from-tag': 'f', sdp: sdp(c), ...extra }) as NgOfferRequest;
const familyOf = (r: NgOfferRequest) => offererFamily(r, parseSdp(r.sdp!), optionsOf(r, { addrType: 'IP4', address: '10.0.0.1' }));
const choose = (r: NgOfferRequest, p = new InterfacePlanner(IFACES), legs = [new Leg('a'), new Leg('b')] as const) => {
  const warnings: string[] = [];
  const c = p.forOffer(r, familyOf(r), legs[0], legs[1], warnings);
  return { o: c.offerer.name, a: c.answerer.name, crossing: c.crossing, warnings };
};

describe('interface choice for an offer', () => {
  it('offerer family from c=, else received-from; sip-source-address wins', () => {
    assert.equal(familyOf(req()), 'IPv4');
    assert.equal(familyOf(req({}, 'IN IP6 2001:db8::7')), 'IPv6');
    assert.equal(familyOf(req({ flags: ['sip-source-address'], 'received-from': ['IP6', '2001:db8::9'] })), 'IPv6');
    const noC = normalizeNgDict({ command: 'offer', 'call-id': 'x', 'from-tag': 'f', 'received-from': ['IP6', '::1'],
      sdp: 'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::2\r\n' }) as NgOfferRequest;
    assert.equal(familyOf(noC), 'IPv6', 'media-level c=');
  });

  it('no direction: the first interface of the offerer family, the answerer on the same one', () => {
    assert.deepEqual(choose(req()), { o: 'int4', a: 'int4', crossing: false, warnings: [] });
    assert.deepEqual(choose(req({}, 'IN IP6 2001:db8::7')), { o: 'ext6', a: 'ext6', crossing: false, warnings: [] });
  });

  it('address-family picks the answerer side family', () => {
    assert.deepEqual(choose(req({ 'address-family': 'IP6' })), { o: 'int4', a: 'ext6', crossing: true, warnings: [] });
    assert.deepEqual(choose(req({ 'address-family': 'IP4' })), { o: 'int4', a: 'int4', crossing: false, warnings: [] });
  });

  it('direction names both sides (offerer first), and may be combined with a matching address-family', () => {
    assert.deepEqual(choose(req({ direction: ['int4', 'ext4'] })), { o: 'int4', a: 'ext4', crossing: true, warnings: [] });
    assert.deepEqual(choose(req({ direction: ['ext6', 'int4'] }, 'IN IP6 2001:db8::7')), { o: 'ext6', a: 'int4', crossing: true, warnings: [] });
    assert.deepEqual(choose(req({ direction: ['int4', 'ext6'], 'address-family': 'IP6' })).a, 'ext6');
    assert.equal(choose(req({ direction: ['ext4'] })).a, 'ext4', 'one name: the answerer side follows it');
  });

  it('refuses unknown names, contradictions and families no interface has', () => {
    assert.throws(() => choose(req({ direction: ['int4', 'dmz'] })), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST' && e.message.startsWith('Unknown interface'));
    assert.throws(() => choose(req({ direction: ['int4', 'ext4'], 'address-family': 'IP6' })), /address-family contradicts/);
    const v4 = new InterfacePlanner(resolveInterfaces([{ name: 'only', address: '10.0.0.1' }]));
    assert.throws(() => choose(req({}, 'IN IP6 2001:db8::7'), v4), /no IPv6 media interface for the offerer's media/);
    assert.throws(() => choose(req({ 'address-family': 'IP6' }), v4), /no IPv6 media interface for address-family/);
  });

  it('a re-offer keeps the bound interfaces (either side offering) and says so when asked otherwise', () => {
    const p = new InterfacePlanner(IFACES);
    const a = new Leg('a'), b = new Leg('b');
    const first = p.forOffer(req({ direction: ['int4', 'ext6'] }), 'IPv4', a, b, []);
    p.commit(a, b, first);
    const w: string[] = [];
    const again = p.forOffer(req({ direction: ['ext6', 'int4'] }), 'IPv6', b, a, w);
    assert.deepEqual([again.offerer.name, again.answerer.name, w.length], ['ext6', 'int4', 0]);
    const moved = p.forOffer(req({ direction: ['ext4', 'ext4'] }), 'IPv4', a, b, w);
    assert.deepEqual([moved.offerer.name, moved.answerer.name], ['int4', 'ext6']);
    assert.match(w.join(), /interfaces kept/);
    const aw: string[] = [];
    assert.equal(p.forAnswer(req({ direction: ['int4', 'ext6'] }), a, b, aw).crossing, true);
    assert.deepEqual(aw, []);
    p.forAnswer(req({ direction: ['ext4'], 'address-family': 'IP6' }), a, b, aw);
    assert.equal(aw.length, 2);
  });
});

describe('SDP options per side', () => {
  it('crossing interfaces rewrites o= and the session c= even without replace flags; the advertised address is used', () => {
    const r = req();
    const parsed = parseSdp(r.sdp!);
    const base = optionsOf(r, { addrType: 'IP4', address: '10.0.0.1' });
    assert.deepEqual(sessionPlan(parsed, base), { origin: null, sessionConnection: null });
    const ext = sideOptions(base, IFACES[2]!, true);
    assert.deepEqual(sessionPlan(parsed, ext), { origin: { addrType: 'IP4', address: '203.0.113.1' }, sessionConnection: { addrType: 'IP4', address: '203.0.113.1' } });
    const v6 = sideOptions(base, IFACES[1]!, true);
    assert.deepEqual(sessionPlan(parsed, v6).origin, { addrType: 'IP6', address: '2001:db8::1' });
  });
});
