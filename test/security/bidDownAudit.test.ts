// RFC 6404 bid-down, as the issue's threat table puts it: "a matrix of SDP mutations, each
// rejected or flagged as the policy says". Each row mutates an offer, an answer or a re-INVITE
// of an SRTP call, through the call controller on a running relay, twice: with every check
// refusing (the row's code, the call unchanged, no audit event) and with every check auditing
// (the row's check flagged by exactly one audit event while the call goes on, or, where going
// on could only weaken the call, the same refusal).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../src/session/Relay.ts';
import { CallController, type SdpResult } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import type { PolicyInput } from '../../src/control/policy.ts';
import type { PolicyAuditEvent } from '../../src/control/RequestGuard.ts';
import { POLICY_CHECKS, type PolicyCheck } from '../../src/control/policyChecks.ts';
import { DtlsCertificate } from '../../src/keying/dtls/index.ts';
import { suiteByName, type SuiteName } from '../../src/crypto/suites.ts';
import { RelayError, type RelayErrorCode } from '../../src/errors.ts';

const keyText = (suite: string, seed: number): string => {
  const s = suiteByName(suite)!;
  return Buffer.from(Array.from({ length: s.keyLen + s.saltLen }, (_, i) => (i * 7 + seed * 41 + 9) & 0xff)).toString('base64');
};
const c = (tag: number, suite: SuiteName, seed = tag, tail = ''): string => `a=crypto:${tag} ${suite} inline:${keyText(suite, seed)}${tail}`;
function sdp(addr: string, port: number, proto: string, attrs: string[]): string {
  return `${['v=0', `o=- 5 1 IN IP4 ${addr}`, 's=-', `c=IN IP4 ${addr}`, 't=0 0', `m=audio ${port} ${proto} 0`, ...attrs].join('\r\n')}\r\n`;
}
const A = (attrs: string[], proto = 'RTP/SAVP') => sdp('192.0.2.30', 4000, proto, attrs);
const B = (attrs: string[], proto = 'RTP/SAVP') => sdp('198.51.100.30', 6000, proto, attrs);
const tagOf = (text: string, suite: SuiteName): number => {
  const m = new RegExp(`a=crypto:(\\d+) ${suite} `).exec(text);
  assert.ok(m, `no ${suite} in\n${text}`);
  return Number(m[1]);
};
const FP1 = DtlsCertificate.generate().fingerprint('sha-256');
const FP2 = DtlsCertificate.generate().fingerprint('sha-256');
const DTLS_A = (fp: string | null) => A([...(fp ? [`a=fingerprint:${fp}`, 'a=setup:actpass'] : [c(1, 'AES_CM_128_HMAC_SHA1_80')]), 'a=rtcp-mux'], fp ? 'UDP/TLS/RTP/SAVP' : 'RTP/SAVP');

type Ctl = {
  offer(sdpText: string, extra?: Record<string, unknown>): Promise<SdpResult>;
  answer(sdpText: string, extra?: Record<string, unknown>): Promise<SdpResult>;
};

interface Row {
  name: string;
  policy?: PolicyInput;
  /** Sets the call up (unmutated), then sends the mutated request and returns its promise. */
  run(ctl: Ctl): Promise<SdpResult>;
  refuse: RelayErrorCode;
  /** The check flagged under audit; null: refused under audit too (going on would weaken the call). */
  audit: PolicyCheck | null;
}

const OFFER_80 = A([c(1, 'AES_CM_128_HMAC_SHA1_80')]);
/** A's offer of AES_CM_128_HMAC_SHA1_80, then B's answer made from the relay's offer. */
async function answered(ctl: Ctl, answer: (relayOffer: string) => string): Promise<SdpResult> {
  const o = await ctl.offer(OFFER_80);
  return ctl.answer(answer(o.sdp));
}
/** An established call on `suite` (A offered `offer`), then the mutated re-INVITE. */
async function reinvite(ctl: Ctl, offer: string, suite: SuiteName, re: () => Promise<SdpResult>): Promise<SdpResult> {
  const o = await ctl.offer(offer);
  await ctl.answer(B([c(tagOf(o.sdp, suite), suite, 8)]));
  return re();
}

const ROWS: Row[] = [
  { name: 'offer: NULL cipher only', run: (x) => x.offer(A([c(1, 'NULL_HMAC_SHA1_80')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'offer: F8 only', run: (x) => x.offer(A([c(1, 'F8_128_HMAC_SHA1_80')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'offer: UNENCRYPTED_SRTP only', run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_80', 1, ' UNENCRYPTED_SRTP')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'offer: UNENCRYPTED_SRTCP only', run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_80', 1, ' UNENCRYPTED_SRTCP')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'offer: UNAUTHENTICATED_SRTP only', run: (x) => x.offer(A([c(1, 'AES_256_CM_HMAC_SHA1_80', 1, ' UNAUTHENTICATED_SRTP')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'offer: RTP/SAVP with a=crypto stripped', run: (x) => x.offer(A([])), refuse: 'E_NO_COMMON_SUITE', audit: null },
  { name: 'offer: only a suite below the policy minimum', policy: { suites: ['AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80'] }, run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_32')])), refuse: 'E_BID_DOWN', audit: 'weakerThanPolicy' },
  { name: 'offer: only a 32-bit tag where the policy wants 80', policy: { minAuthTagBits: 80 }, run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_32')])), refuse: 'E_BID_DOWN', audit: 'shortTag' },
  { name: 'offer: key lifetime 2^10 (below the 2^16 minimum)', run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_80', 1, '|2^10')])), refuse: 'E_BID_DOWN', audit: 'lifetime' },
  { name: 'offer: key lifetime 2^40 above a 2^31 maximum', policy: { maxKeyLifetime: 2 ** 31 }, run: (x) => x.offer(A([c(1, 'AES_CM_128_HMAC_SHA1_80', 1, '|2^40')])), refuse: 'E_BID_DOWN', audit: 'lifetime' },
  { name: 'offer: SDES over signalling marked insecure', run: (x) => x.offer(OFFER_80, { flags: ['insecure-signalling'] }), refuse: 'E_BID_DOWN', audit: 'sdesInsecureSignalling' },
  { name: 'answer: a crypto tag the relay did not offer', run: (x) => answered(x, () => B([c(9, 'AES_CM_128_HMAC_SHA1_80', 3)])), refuse: 'E_BAD_SDP', audit: 'answerSuiteNotOffered' },
  { name: 'answer: another offered suite under an offered tag', run: (x) => answered(x, (o) => B([c(tagOf(o, 'AES_CM_128_HMAC_SHA1_80'), 'AES_256_CM_HMAC_SHA1_80', 3)])), refuse: 'E_BID_DOWN', audit: 'answerSuiteNotOffered' },
  { name: 'answer: a suite never offered (NULL) under an offered tag', run: (x) => answered(x, (o) => B([c(tagOf(o, 'AES_CM_128_HMAC_SHA1_80'), 'NULL_HMAC_SHA1_80', 3)])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'answer: SAVP downgraded to RTP/AVP', run: (x) => answered(x, () => B([], 'RTP/AVP')), refuse: 'E_BID_DOWN', audit: 'transportDowngrade' },
  { name: 'answer: RTP/SAVP with a=crypto stripped', run: (x) => answered(x, () => B([])), refuse: 'E_BID_DOWN', audit: 'cryptoStripped' },
  { name: 'answer: UNENCRYPTED_SRTCP added', run: (x) => answered(x, (o) => B([c(tagOf(o, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 3, ' UNENCRYPTED_SRTCP')])), refuse: 'E_BID_DOWN', audit: null },
  { name: 'answer: key lifetime 2^8', run: (x) => answered(x, (o) => B([c(tagOf(o, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 3, '|2^8')])), refuse: 'E_BID_DOWN', audit: 'lifetime' },
  { name: 'answer: SDES from signalling marked insecure', run: (x) => answered(x, (o) => B([c(tagOf(o, 'AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80', 3)])), refuse: 'E_BID_DOWN', audit: 'sdesInsecureSignalling' },
  { name: 're-INVITE: re-keys to a weaker suite', run: (x) => reinvite(x, A([c(1, 'AES_256_CM_HMAC_SHA1_80')]), 'AES_256_CM_HMAC_SHA1_80', () => x.offer(OFFER_80)), refuse: 'E_BID_DOWN', audit: 'reinviteWeaker' },
  { name: 're-INVITE: SRTP to plain RTP', run: (x) => reinvite(x, OFFER_80, 'AES_CM_128_HMAC_SHA1_80', () => x.offer(A([], 'RTP/AVP'))), refuse: 'E_BID_DOWN', audit: 'reinviteWeaker' },
  { name: 're-INVITE: a=fingerprint changed on a DTLS leg', run: (x) => reinvite(x, DTLS_A(FP1), 'AES_CM_128_HMAC_SHA1_80', () => x.offer(DTLS_A(FP2), { 'transport-protocol': 'RTP/SAVP' })), refuse: 'E_BID_DOWN', audit: 'dtlsChanged' },
  { name: 're-INVITE: a=fingerprint removed from a DTLS leg', run: (x) => reinvite(x, DTLS_A(FP1), 'AES_CM_128_HMAC_SHA1_80', () => x.offer(DTLS_A(null), { 'transport-protocol': 'RTP/SAVP' })), refuse: 'E_BID_DOWN', audit: null },
];

describe('bid-down matrix: every SDP mutation rejected or flagged as the policy says', () => {
  let relay: Relay;
  let n = 0;
  before(async () => { relay = await Relay.create({ ports: { min: 55500, max: 55999 } }); });
  after(async () => { await relay.close(); });

  it(`has at least 20 rows (${ROWS.length})`, () => assert.ok(ROWS.length >= 20));

  for (const row of ROWS) {
    for (const verdict of ['refuse', 'audit'] as const) {
      it(`${verdict}: ${row.name}`, async () => {
        const onViolation = Object.fromEntries(POLICY_CHECKS.map((k) => [k, verdict]));
        const cc = new CallController({ relay, policy: { ...row.policy, onViolation } });
        const events: PolicyAuditEvent[] = [];
        const id = `bda-${++n}`;
        // The DTLS re-INVITE rows offer UDP/TLS: the SBE bridges to SDES for B.
        const dtlsRow = row.name.includes('DTLS');
        const insecureAnswer = row.name.startsWith('answer: SDES from signalling');
        const ctl: Ctl = {
          offer: (s, extra = {}) => cc.offer(normalizeNgDict({ command: 'offer', 'call-id': id, 'from-tag': 'A', sdp: s, ...(dtlsRow ? { 'transport-protocol': 'RTP/SAVP' } : {}), ...extra }) as NgOfferRequest),
          answer: (s, extra = {}) => cc.answer(normalizeNgDict({ command: 'answer', 'call-id': id, 'from-tag': 'A', 'to-tag': 'B', sdp: s, ...(insecureAnswer ? { flags: ['insecure-signalling'] } : {}), ...extra }) as NgAnswerRequest),
        };
        // The setup requests of a row are clean: any audit event comes from the mutated one.
        cc.observer.on('audit', (e) => events.push(e));
        const p = row.run(ctl).then((r) => r, (e: unknown) => e);
        const out = await p;
        if (verdict === 'refuse' || row.audit === null) {
          assert.ok(out instanceof RelayError, `expected ${row.refuse}, got ${out instanceof Error ? out.message : 'success'}`);
          assert.equal(out.code, row.refuse, out.message);
          assert.equal(events.length, 0, 'a refusal emits no audit event');
        } else {
          assert.ok(!(out instanceof Error), `expected the call to go on, got ${out instanceof Error ? out.message : ''}`);
          assert.ok(events.some((e) => e.check === row.audit), `audit event for ${row.audit}: ${events.map((e) => e.check).join(',')}`);
          assert.ok((out as SdpResult).warnings.some((w) => w.includes(`policy audit ${row.audit}`)));
          // Never weaker than the relay on its own: no NULL or F8 suite offered, no weakening parameters copied.
          assert.doesNotMatch((out as SdpResult).sdp, /NULL_HMAC|F8_128|UNENCRYPTED|UNAUTHENTICATED/);
        }
        cc.delete({ callId: id });
      });
    }
  }
});
