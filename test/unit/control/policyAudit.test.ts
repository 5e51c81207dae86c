// Every offer/answer consistency check of the crypto policy (issue 7), through the call
// controller on a real relay, under both verdicts: 'refuse' fails the request with the check's
// code and leaves the call as it was; 'audit' lets the call go on in the safest way still
// possible (never weaker than the relay would go on its own) with a warning and exactly one
// 'audit' event naming the check. Checks that cannot go on safely refuse under both verdicts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../../src/session/Relay.ts';
import { CallController } from '../../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../../src/control/ngRequest.ts';
import type { PolicyInput } from '../../../src/control/policy.ts';
import type { PolicyAuditEvent } from '../../../src/control/RequestGuard.ts';
import { RequestGuard, dtlsProfileAudit } from '../../../src/control/RequestGuard.ts';
import { resolvePolicy } from '../../../src/control/policy.ts';
import type { PolicyCheck, CheckVerdict } from '../../../src/control/policyChecks.ts';
import { DtlsCertificate } from '../../../src/keying/dtls/index.ts';
import { suiteByName, type SuiteName } from '../../../src/crypto/suites.ts';
import { RelayError, type RelayErrorCode } from '../../../src/errors.ts';

const keyText = (suite: string, seed: number): string => {
  const s = suiteByName(suite)!;
  return Buffer.from(Array.from({ length: s.keyLen + s.saltLen }, (_, i) => (i * 11 + seed * 37 + 5) & 0xff)).toString('base64');
};
const crypto = (tag: number, suite: SuiteName, seed = tag, suffix = ''): string => `${tag} ${suite} inline:${keyText(suite, seed)}${suffix}`;

interface M { port?: number; proto?: string; crypto?: string[]; attrs?: string[] }
function sdp(addr: string, m: M): string {
  const lines = ['v=0', `o=- 7 1 IN IP4 ${addr}`, 's=-', `c=IN IP4 ${addr}`, 't=0 0', `m=audio ${m.port ?? 4000} ${m.proto ?? 'RTP/SAVP'} 0 101`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20'];
  for (const c of m.crypto ?? []) lines.push(`a=crypto:${c}`);
  lines.push(...(m.attrs ?? []));
  return `${lines.join('\r\n')}\r\n`;
}
const A = (m: M) => sdp('192.0.2.10', m);
const B = (m: M) => sdp('198.51.100.20', { port: 6000, ...m });

let n = 0;
const offerReq = (id: string, body: string, extra: Record<string, unknown> = {}, from = 'A'): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': id, 'from-tag': from, sdp: body, ...extra }) as NgOfferRequest;
const answerReq = (id: string, body: string, extra: Record<string, unknown> = {}): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': id, 'from-tag': 'A', 'to-tag': 'B', sdp: body, ...extra }) as NgAnswerRequest;

/** The relay's a=crypto lines in an SDP: tag → suite. */
const offeredLines = (text: string): Map<number, string> =>
  new Map([...text.matchAll(/a=crypto:(\d+) (\S+) inline:/g)].map((m) => [Number(m[1]), m[2]!]));
const tagOf = (text: string, suite: SuiteName): number => {
  for (const [t, s] of offeredLines(text)) if (s === suite) return t;
  assert.fail(`no ${suite} in\n${text}`);
};

async function refused(p: Promise<unknown>, code: RelayErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RelayError && e.code === code);
}

let relay: Relay;

/** A controller with one check set to `verdict`, and the audit events it emits. */
function controller(check: PolicyCheck, verdict: CheckVerdict, extra: PolicyInput = {}): { cc: CallController; events: PolicyAuditEvent[]; id: () => string } {
  const cc = new CallController({ relay, policy: { ...extra, onViolation: { ...extra.onViolation, [check]: verdict } } });
  const events: PolicyAuditEvent[] = [];
  cc.observer.on('audit', (e) => events.push(e));
  return { cc, events, id: () => `pa-${check}-${verdict}-${++n}` };
}

/** The streams of the call's first m= line: [offerer's, answerer's]. */
function streams(relayCallId: string): { a: { inSuite: string | null; inMode: string }; b: { inSuite: string | null; inMode: string } } {
  const session = relay.getSession(relayCallId);
  assert.ok(session, 'session exists');
  const [la, lb] = session.legs;
  const a = la!.streams[0]!, b = lb!.streams[0]!;
  return { a: { inSuite: a.inSuite?.name ?? null, inMode: a.inMode }, b: { inSuite: b.inSuite?.name ?? null, inMode: b.inMode } };
}

function audited(events: readonly PolicyAuditEvent[], warnings: readonly string[], check: PolicyCheck): void {
  assert.deepEqual(events.map((e) => e.check), [check], 'exactly one audit event for the check');
  assert.ok(warnings.some((w) => w.includes(`policy audit ${check}`)), `warning for ${check}: ${warnings.join(' | ')}`);
}

describe('policy checks: refuse and audit', () => {
  before(async () => { relay = await Relay.create({ ports: { min: 53000, max: 53499 } }); });
  after(async () => { await relay.close(); });

  it('answerSuiteNotOffered: refuse → E_BAD_SDP; audit → keyed with the offered line of that suite', async () => {
    const r = controller('answerSuiteNotOffered', 'refuse');
    let id = r.id();
    await r.cc.offer(offerReq(id, A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] })));
    await refused(r.cc.answer(answerReq(id, B({ crypto: [crypto(9, 'AES_CM_128_HMAC_SHA1_80', 3)] }))), 'E_BAD_SDP');
    assert.equal(streams(id).b.inMode, 'pending', 'nothing committed');
    assert.equal(r.events.length, 0);

    const a = controller('answerSuiteNotOffered', 'audit');
    id = a.id();
    const o = await a.cc.offer(offerReq(id, A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] })));
    // Another suite under the tag the relay used for AES_CM_128_HMAC_SHA1_80.
    const tag = tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80');
    const res = await a.cc.answer(answerReq(id, B({ crypto: [crypto(9, 'AES_CM_128_HMAC_SHA1_80', 3)] })));
    audited(a.events, res.warnings, 'answerSuiteNotOffered');
    assert.equal(streams(id).b.inSuite, 'AES_CM_128_HMAC_SHA1_80');
    assert.ok(tag > 0);
    // A suite the relay never offered has no line to key with: refused even under audit.
    const id2 = a.id();
    await a.cc.offer(offerReq(id2, A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] })));
    await refused(a.cc.answer(answerReq(id2, B({ crypto: [crypto(9, 'AES_CM_128_HMAC_SHA1_32', 3)] }))), 'E_BAD_SDP');
  });

  it('weakerThanPolicy: refuse → E_BID_DOWN; audit → the offerer keeps its weak suite, the answerer gets only the policy\'s', async () => {
    const extra: PolicyInput = { suites: ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80'] };
    const weak = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_32')] });
    const r = controller('weakerThanPolicy', 'refuse', extra);
    await refused(r.cc.offer(offerReq(r.id(), weak)), 'E_BID_DOWN');

    const a = controller('weakerThanPolicy', 'audit', extra);
    const id = a.id();
    const o = await a.cc.offer(offerReq(id, weak));
    const suites = [...offeredLines(o.sdp).values()];
    assert.ok(suites.length > 0 && !suites.includes('AES_CM_128_HMAC_SHA1_32'), `relay offers only the policy's suites: ${suites.join(',')}`);
    const res = await a.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4)] })));
    assert.match(res.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:/);
    assert.deepEqual(streams(id), { a: { inSuite: 'AES_CM_128_HMAC_SHA1_32', inMode: 'srtp' }, b: { inSuite: 'AES_CM_128_HMAC_SHA1_80', inMode: 'srtp' } });
    audited(a.events, [...o.warnings, ...res.warnings], 'weakerThanPolicy');
  });

  it('transportDowngrade: refuse → E_BID_DOWN; audit → answerer plain, offerer still answered RTP/SAVP with a=crypto', async () => {
    const offer = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] });
    const plain = B({ proto: 'RTP/AVP' });
    const r = controller('transportDowngrade', 'refuse');
    let id = r.id();
    await r.cc.offer(offerReq(id, offer));
    await refused(r.cc.answer(answerReq(id, plain)), 'E_BID_DOWN');

    const a = controller('transportDowngrade', 'audit');
    id = a.id();
    await a.cc.offer(offerReq(id, offer));
    const res = await a.cc.answer(answerReq(id, plain));
    assert.match(res.sdp, /m=audio \d+ RTP\/SAVP /);
    assert.match(res.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
    assert.deepEqual(streams(id), { a: { inSuite: 'AES_CM_128_HMAC_SHA1_80', inMode: 'srtp' }, b: { inSuite: null, inMode: 'plain' } });
    audited(a.events, res.warnings, 'transportDowngrade');
    assert.equal(a.cc.statistics().totals.policyAudits, 1, 'ng statistics count audited violations');
    assert.equal(r.cc.statistics().totals.policyAudits, 0);
  });

  it('cryptoStripped: an answer refuse → E_BID_DOWN, audit → answerer plain; an offer has no keys to go on with: refused either way', async () => {
    const offer = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] });
    const stripped = B({ proto: 'RTP/SAVP', crypto: [] });
    const r = controller('cryptoStripped', 'refuse');
    let id = r.id();
    await r.cc.offer(offerReq(id, offer));
    await refused(r.cc.answer(answerReq(id, stripped)), 'E_BID_DOWN');
    await refused(r.cc.offer(offerReq(r.id(), A({ crypto: [] }))), 'E_NO_COMMON_SUITE');

    const a = controller('cryptoStripped', 'audit');
    id = a.id();
    await a.cc.offer(offerReq(id, offer));
    const res = await a.cc.answer(answerReq(id, stripped));
    assert.match(res.sdp, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
    assert.equal(streams(id).b.inMode, 'plain');
    audited(a.events, res.warnings, 'cryptoStripped');
    await refused(a.cc.offer(offerReq(a.id(), A({ crypto: [] }))), 'E_NO_COMMON_SUITE');
  });

  it('dtlsChanged: a re-offer changing a=fingerprint on an established DTLS leg: refuse → E_BID_DOWN; audit → association kept', async () => {
    const fp = DtlsCertificate.generate().fingerprint('sha-256');
    const other = DtlsCertificate.generate().fingerprint('sha-256');
    const dtls = (f: string) => A({ proto: 'UDP/TLS/RTP/SAVP', attrs: [`a=fingerprint:${f}`, 'a=setup:actpass', 'a=rtcp-mux'] });
    for (const verdict of ['refuse', 'audit'] as const) {
      const c = controller('dtlsChanged', verdict);
      const id = c.id();
      const o = await c.cc.offer(offerReq(id, dtls(fp), { 'transport-protocol': 'RTP/SAVP' }));
      await c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4)] })));
      const re = c.cc.offer(offerReq(id, dtls(other), { 'transport-protocol': 'RTP/SAVP' }));
      if (verdict === 'refuse') {
        await refused(re, 'E_BID_DOWN');
        assert.equal(c.events.length, 0);
      } else {
        const res = await re;
        audited(c.events, res.warnings, 'dtlsChanged');
        assert.ok(res.warnings.some((w) => /running DTLS association is kept/.test(w)));
      }
    }
    // The dtlsBidDown alias still works and maps onto the check.
    assert.equal(resolvePolicy({ dtlsBidDown: 'warn' }).onViolation.dtlsChanged, 'audit');
    assert.equal(resolvePolicy({ onViolation: { dtlsChanged: 'audit' } }).dtlsBidDown, 'warn');
  });

  it('dtlsWeakerProfile: refuse → the handshake may not go below the committed floor; audit → the policy minimum, and a weaker outcome is reported', () => {
    const floor = suiteByName('AES_CM_128_HMAC_SHA1_80')!.rank;
    const refuse = new RequestGuard(resolvePolicy(), []);
    assert.equal(refuse.dtlsFloor(floor), floor);
    const audit = new RequestGuard(resolvePolicy({ onViolation: { dtlsWeakerProfile: 'audit' } }), []);
    assert.equal(audit.dtlsFloor(floor), resolvePolicy().minRank);
    assert.ok(audit.dtlsFloor(floor) < floor, 'the default minimum admits AES_CM_128_HMAC_SHA1_32');
    assert.deepEqual(dtlsProfileAudit('c', 'AES_CM_128_HMAC_SHA1_32', floor, 1), { callId: 'c', command: 'dtls', check: 'dtlsWeakerProfile', code: 'E_BID_DOWN', media: 1 });
    assert.equal(dtlsProfileAudit('c', 'AEAD_AES_128_GCM', floor, 1), null);
  });

  it('weakeningParams: UNENCRYPTED_*/UNAUTHENTICATED_SRTP cannot be carried: refused under both verdicts, offer and answer', async () => {
    for (const verdict of ['refuse', 'audit'] as const) {
      const c = controller('weakeningParams', verdict);
      await refused(c.cc.offer(offerReq(c.id(), A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80', 1, ' UNENCRYPTED_SRTP')] }))), 'E_BID_DOWN');
      const id = c.id();
      const o = await c.cc.offer(offerReq(id, A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] })));
      await refused(c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4, ' UNENCRYPTED_SRTCP')] }))), 'E_BID_DOWN');
      assert.equal(c.events.length, 0);
    }
  });

  it('shortTag (minAuthTagBits 80): refuse → E_BID_DOWN; audit → the offerer keeps its 32-bit tag, the relay offers none', async () => {
    const short = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_32')] });
    const r = controller('shortTag', 'refuse', { minAuthTagBits: 80 });
    await refused(r.cc.offer(offerReq(r.id(), short)), 'E_BID_DOWN');
    // Even with an 80-bit line beside it the relay never offers a 32-bit suite itself.
    const o80 = await r.cc.offer(offerReq(r.id(), A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] })));
    assert.ok(![...offeredLines(o80.sdp).values()].some((s) => s.endsWith('_32')));

    const a = controller('shortTag', 'audit', { minAuthTagBits: 80 });
    const id = a.id();
    const o = await a.cc.offer(offerReq(id, short));
    assert.ok(![...offeredLines(o.sdp).values()].some((s) => s.endsWith('_32')), 'no 32-bit suite offered to the answerer');
    await a.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4)] })));
    assert.equal(streams(id).a.inSuite, 'AES_CM_128_HMAC_SHA1_32');
    audited(a.events, o.warnings, 'shortTag');
  });

  it('lifetime: too short or too long in an offer or an answer: refuse → E_BID_DOWN; audit → carried', async () => {
    const short = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80', 1, '|2^10')] });
    const long = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80', 1, '|2^40')] });
    const ok = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80', 1, '|2^20')] });
    const extra: PolicyInput = { maxKeyLifetime: 2 ** 31 };
    const r = controller('lifetime', 'refuse', extra);
    await refused(r.cc.offer(offerReq(r.id(), short)), 'E_BID_DOWN');
    await refused(r.cc.offer(offerReq(r.id(), long)), 'E_BID_DOWN');
    let id = r.id();
    const o = await r.cc.offer(offerReq(id, ok));
    const answerShort = B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4, '|1024')] });
    await refused(r.cc.answer(answerReq(id, answerShort)), 'E_BID_DOWN');
    assert.equal(r.events.length, 0);

    const a = controller('lifetime', 'audit', extra);
    const o1 = await a.cc.offer(offerReq(a.id(), short));
    audited(a.events, o1.warnings, 'lifetime');
    a.events.length = 0;
    id = a.id();
    const o2 = await a.cc.offer(offerReq(id, ok));
    const res = await a.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o2.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4, '|2^40')] })));
    audited(a.events, res.warnings, 'lifetime');
    assert.equal(streams(id).b.inSuite, 'AES_CM_128_HMAC_SHA1_80');
  });

  it('reinviteWeaker: a re-offer re-keying to a weaker suite or to plain RTP: refuse → E_BID_DOWN, call unchanged; audit → re-keyed', async () => {
    const strong = A({ crypto: [crypto(1, 'AES_256_CM_HMAC_SHA1_80')] });
    const weaker = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80', 2)] });
    for (const verdict of ['refuse', 'audit'] as const) {
      const c = controller('reinviteWeaker', verdict);
      const id = c.id();
      const o = await c.cc.offer(offerReq(id, strong));
      await c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_256_CM_HMAC_SHA1_80'), 'AES_256_CM_HMAC_SHA1_80', 4)] })));
      assert.equal(streams(id).a.inSuite, 'AES_256_CM_HMAC_SHA1_80');
      const re = c.cc.offer(offerReq(id, weaker));
      if (verdict === 'refuse') {
        await refused(re, 'E_BID_DOWN');
        await refused(c.cc.offer(offerReq(id, A({ proto: 'RTP/AVP' }))), 'E_BID_DOWN');
        assert.equal(streams(id).a.inSuite, 'AES_256_CM_HMAC_SHA1_80');
        assert.equal(c.events.length, 0);
        // Same strength again is no violation.
        await c.cc.offer(offerReq(id, A({ crypto: [crypto(1, 'AES_256_CM_HMAC_SHA1_80', 5)] })));
      } else {
        const res = await re;
        audited(c.events, res.warnings, 'reinviteWeaker');
        const o2 = res.sdp;
        await c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o2, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4)] })));
        assert.equal(streams(id).a.inSuite, 'AES_CM_128_HMAC_SHA1_80');
      }
    }
    // A re-answer choosing a weaker suite than the answerer's side runs (the offerer accepts
    // both, so the relay offers both).
    const c = controller('reinviteWeaker', 'refuse');
    const id = c.id();
    const both = A({ crypto: [crypto(1, 'AES_256_CM_HMAC_SHA1_80'), crypto(2, 'AES_CM_128_HMAC_SHA1_80')] });
    const o = await c.cc.offer(offerReq(id, both));
    await c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_256_CM_HMAC_SHA1_80'), 'AES_256_CM_HMAC_SHA1_80', 4)] })));
    const re = await c.cc.offer(offerReq(id, both));
    await refused(c.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(re.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 6)] }))), 'E_BID_DOWN');
    assert.equal(streams(id).b.inSuite, 'AES_256_CM_HMAC_SHA1_80');
  });

  it('sdesInsecureSignalling: SDES from or to a leg marked insecure: refuse → E_BID_DOWN (DTLS still fine); audit → goes on; allow → not checked', async () => {
    const offer = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] });
    const r = controller('sdesInsecureSignalling', 'refuse');
    await refused(r.cc.offer(offerReq(r.id(), offer, { flags: ['insecure-signalling'] })), 'E_BID_DOWN');
    await refused(r.cc.offer(offerReq(r.id(), offer, { flags: ['insecure-signalling-peer'] })), 'E_BID_DOWN');
    // DTLS-SRTP on the marked leg is what the check wants instead.
    const fp = DtlsCertificate.generate().fingerprint('sha-256');
    const dtlsOffer = A({ proto: 'UDP/TLS/RTP/SAVP', attrs: [`a=fingerprint:${fp}`, 'a=setup:actpass', 'a=rtcp-mux'] });
    const d = await r.cc.offer(offerReq(r.id(), dtlsOffer, { flags: ['insecure-signalling', 'insecure-signalling-peer'] }));
    assert.doesNotMatch(d.sdp, /a=crypto/);
    assert.ok(!d.warnings.some((w) => /flags ignored/.test(w)), 'the marks are not reported as ignored flags');
    // The answerer's own SDES over insecure signalling.
    const id = r.id();
    const o = await r.cc.offer(offerReq(id, offer));
    await refused(r.cc.answer(answerReq(id, B({ crypto: [crypto(tagOf(o.sdp, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 4)] }), { flags: ['insecure-signalling'] })), 'E_BID_DOWN');
    assert.equal(r.events.length, 0);

    const a = controller('sdesInsecureSignalling', 'audit');
    const res = await a.cc.offer(offerReq(a.id(), offer, { flags: ['insecure-signalling'] }));
    audited(a.events, res.warnings, 'sdesInsecureSignalling');
    // The knob: 'audit' audits without a per-check verdict, 'allow' does not check at all.
    const knob = new CallController({ relay, policy: { sdesOverInsecureSignalling: 'audit' } });
    const kEvents: PolicyAuditEvent[] = [];
    knob.observer.on('audit', (e) => kEvents.push(e));
    await knob.offer(offerReq(`pa-knob-${++n}`, offer, { flags: ['insecure-signalling'] }));
    assert.deepEqual(kEvents.map((e) => e.check), ['sdesInsecureSignalling']);
    const allow = new CallController({ relay, policy: { sdesOverInsecureSignalling: 'allow' } });
    const aEvents: PolicyAuditEvent[] = [];
    allow.observer.on('audit', (e) => aEvents.push(e));
    await allow.offer(offerReq(`pa-allow-${++n}`, offer, { flags: ['insecure-signalling'] }));
    assert.equal(aEvents.length, 0);
  });

  it('per-call ng flags set a verdict for one request only: audit-<check> / refuse-<check>', async () => {
    const cc = new CallController({ relay });
    const weak = A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_32')] });
    const p: PolicyInput = { suites: ['AES_CM_128_HMAC_SHA1_80'] };
    const strict = new CallController({ relay, policy: p });
    await refused(strict.offer(offerReq(`pa-flags-${++n}`, weak)), 'E_BID_DOWN');
    const res = await strict.offer(offerReq(`pa-flags-${++n}`, weak, { flags: ['audit-weaker-than-policy'] }));
    assert.ok(res.warnings.some((w) => w.includes('policy audit weakerThanPolicy')));
    // `refuse-` narrows a relay that audits; an unknown check is a warning.
    const lax = new CallController({ relay, policy: { ...p, onViolation: { weakerThanPolicy: 'audit' } } });
    await refused(lax.offer(offerReq(`pa-flags-${++n}`, weak, { flags: ['refuse-weaker-than-policy'] })), 'E_BID_DOWN');
    const unknown = await cc.offer(offerReq(`pa-flags-${++n}`, A({ crypto: [crypto(1, 'AES_CM_128_HMAC_SHA1_80')] }), { flags: ['audit-nonsense'] }));
    assert.ok(unknown.warnings.some((w) => /names no policy check/.test(w)));
  });
});
