// The pure negotiation steps under per-check verdicts: which lines a policy lets through with
// an audit (and the violations it reports), which it never does (NULL, weakening parameters,
// parameters the core cannot carry), and the floor the other leg gets after an audited line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateOffer, checkAnswer, judgeOffer, suitesToOffer, type CryptoLine, type OfferedSuite } from '../../../src/keying/negotiate.ts';
import { parseCryptoAttribute } from '../../../src/keying/sdes.ts';
import { resolvePolicy, type PolicyInput } from '../../../src/control/policy.ts';
import { suiteByName, type SuiteName } from '../../../src/crypto/suites.ts';

const keyText = (suite: string, seed: number): string => {
  const s = suiteByName(suite)!;
  return Buffer.from(Array.from({ length: s.keyLen + s.saltLen }, (_, i) => (i * 17 + seed * 3 + 1) & 0xff)).toString('base64');
};
const line = (tag: number, suite: SuiteName, suffix = '', params = ''): CryptoLine =>
  parseCryptoAttribute(`${tag} ${suite} inline:${keyText(suite, tag)}${suffix}${params ? ` ${params}` : ''}`);
const P = (p: PolicyInput) => resolvePolicy(p);
const rank = (s: SuiteName) => suiteByName(s)!.rank;

describe('negotiateOffer under audit verdicts', () => {
  it('verdicts: short-tag and bad-lifetime are their own reasons; weakness is reported before "not listed"', () => {
    const p = P({ minAuthTagBits: 80, minKeyLifetime: 2 ** 20 });
    const v = judgeOffer([line(1, 'AES_CM_128_HMAC_SHA1_32'), line(2, 'AES_CM_128_HMAC_SHA1_80', '|2^10'), line(3, 'AES_CM_128_HMAC_SHA1_80', '|2^20')], p).map((r) => r.verdict);
    assert.deepEqual(v, ['short-tag', 'bad-lifetime', 'accepted']);
  });

  it('an acceptable line always wins over an audited one, with no violation', () => {
    const r = negotiateOffer([line(1, 'AES_CM_128_HMAC_SHA1_32'), line(2, 'AES_CM_128_HMAC_SHA1_80')], P({ minAuthTagBits: 80, onViolation: { shortTag: 'audit' } }));
    assert.ok(r.ok);
    assert.equal(r.decision.tag, 2);
    assert.deepEqual(r.decision.violations, []);
  });

  it('the strongest audited line is taken; the other leg\'s floor is the policy minimum, not the weak line', () => {
    const p = P({ suites: ['AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80'], onViolation: { weakerThanPolicy: 'audit' } });
    const r = negotiateOffer([line(1, 'AES_CM_128_HMAC_SHA1_32')], p);
    assert.ok(r.ok);
    assert.equal(r.decision.suite.name, 'AES_CM_128_HMAC_SHA1_32');
    assert.equal(r.decision.floorRank, p.minRank);
    assert.deepEqual(r.decision.violations.map((x) => [x.check, x.code]), [['weakerThanPolicy', 'E_BID_DOWN']]);
    assert.ok(suitesToOffer(p, r.decision.floorRank).every((s) => s.rank >= rank('AES_CM_128_HMAC_SHA1_80')));
  });

  it('a line with two auditable problems needs both audited, and reports both', () => {
    const line2 = [line(1, 'AES_CM_128_HMAC_SHA1_32', '|2^10')];
    const base: PolicyInput = { minAuthTagBits: 80 };
    assert.equal(negotiateOffer(line2, P({ ...base, onViolation: { shortTag: 'audit' } })).ok, false);
    const r = negotiateOffer(line2, P({ ...base, onViolation: { shortTag: 'audit', lifetime: 'audit' } }));
    assert.ok(r.ok);
    assert.deepEqual(r.decision.violations.map((x) => x.check).sort(), ['lifetime', 'shortTag']);
  });

  it('never through audit: NULL, F8, weakening parameters, MKIs the core cannot carry, duplicate tags', () => {
    const all = P({ onViolation: { weakerThanPolicy: 'audit', weakeningParams: 'audit', shortTag: 'audit', lifetime: 'audit' } });
    for (const lines of [
      [line(1, 'NULL_HMAC_SHA1_80')],
      [line(1, 'F8_128_HMAC_SHA1_80')],
      [line(1, 'AES_CM_128_HMAC_SHA1_80', '', 'UNENCRYPTED_SRTP')],
      [line(1, 'AES_CM_128_HMAC_SHA1_32', '', 'UNAUTHENTICATED_SRTP')],
      [line(1, 'AES_CM_128_HMAC_SHA1_80', '|2^10|1:5')],
      [line(1, 'AES_CM_128_HMAC_SHA1_80', '|2^10'), line(1, 'AES_CM_128_HMAC_SHA1_80', '|2^10')],
    ]) {
      const r = negotiateOffer(lines, all);
      assert.equal(r.ok, false, JSON.stringify(judgeOffer(lines, all)));
    }
  });
});

describe('checkAnswer under audit verdicts', () => {
  const offered: OfferedSuite[] = [{ tag: 1, suite: suiteByName('AES_256_CM_HMAC_SHA1_80')! }, { tag: 2, suite: suiteByName('AES_CM_128_HMAC_SHA1_80')! }];
  const floor = rank('AES_CM_128_HMAC_SHA1_80');

  it('answerSuiteNotOffered: an offered suite under the wrong tag is keyed with the line of that suite', () => {
    const a = [line(7, 'AES_CM_128_HMAC_SHA1_80')];
    const refuse = checkAnswer(offered, a, P({}), floor);
    assert.ok(!refuse.ok && refuse.error.code === 'E_BAD_SDP');
    const audit = checkAnswer(offered, a, P({ onViolation: { answerSuiteNotOffered: 'audit' } }), floor);
    assert.ok(audit.ok);
    assert.equal(audit.decision.offered.tag, 2);
    assert.deepEqual(audit.decision.violations.map((v) => v.check), ['answerSuiteNotOffered']);
    const swapped = checkAnswer(offered, [line(1, 'AES_CM_128_HMAC_SHA1_80')], P({ onViolation: { answerSuiteNotOffered: 'audit' } }), floor);
    assert.ok(swapped.ok && swapped.decision.offered.tag === 2);
  });

  it('cryptoStripped is returned as the check for the caller; lifetime refuses or audits', () => {
    const none = checkAnswer(offered, [], P({}), floor);
    assert.ok(!none.ok && none.check === 'cryptoStripped' && none.error.code === 'E_BID_DOWN');
    const short = [line(2, 'AES_CM_128_HMAC_SHA1_80', '|2^8')];
    const r = checkAnswer(offered, short, P({}), floor);
    assert.ok(!r.ok && r.error.code === 'E_BID_DOWN');
    const a = checkAnswer(offered, short, P({ onViolation: { lifetime: 'audit' } }), floor);
    assert.ok(a.ok && a.decision.violations[0]!.check === 'lifetime');
  });

  it('weakening parameters in an answer are refused whatever the verdicts', () => {
    const r = checkAnswer(offered, [line(2, 'AES_CM_128_HMAC_SHA1_80', '', 'UNENCRYPTED_SRTCP')], P({ onViolation: { weakeningParams: 'audit', answerSuiteNotOffered: 'audit' } }), floor);
    assert.ok(!r.ok && r.error.code === 'E_BID_DOWN');
  });
});
