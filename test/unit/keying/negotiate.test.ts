// The bid-down matrix (STYLE rule 24): {offer lines × policy × other leg} → decision or error
// code, for the three pure negotiation steps. Every row is a named security regression.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateOffer, suitesToOffer, checkAnswer, judgeOffer, type CryptoLine, type OfferedSuite } from '../../../src/keying/negotiate.ts';
import { parseCryptoAttribute, generateSdesCrypto, type SdesCrypto } from '../../../src/keying/sdes.ts';
import { resolvePolicy, restrictPolicy, type CryptoPolicy } from '../../../src/control/policy.ts';
import { suiteByName, type SuiteName } from '../../../src/crypto/suites.ts';
import type { RelayErrorCode } from '../../../src/errors.ts';

/** key||salt of the right length for the suite, distinct per (tag, seed), base64. */
function keyText(suite: string, seed: number): string {
  const s = suiteByName(suite);
  const len = s === undefined ? 30 : s.keyLen + s.saltLen;
  return Buffer.from(Array.from({ length: len }, (_, i) => (i * 13 + seed * 29 + 1) & 0xff)).toString('base64');
}

/** An a=crypto value: `tag suite inline:key[|lifetime|mki] params...`. */
function line(tag: number, suite: string, o: { keySuffix?: string; params?: string } = {}): CryptoLine {
  const v = `${tag} ${suite} inline:${keyText(suite, tag)}${o.keySuffix ?? ''}${o.params ? ` ${o.params}` : ''}`;
  return parseCryptoAttribute(v);
}
const MALFORMED: CryptoLine = { kind: 'malformed', line: 7 };

const DEFAULT = resolvePolicy();
const P = (p: Partial<CryptoPolicy>): CryptoPolicy => resolvePolicy(p);

type Expect = { tag: number; suite: SuiteName; floor?: number } | RelayErrorCode;

interface OfferRow { name: string; offer: () => CryptoLine[]; policy?: CryptoPolicy; expect: Expect }

const OFFER_ROWS: OfferRow[] = [
  { name: 'typical phone offer: the 80-bit tag wins over the 32-bit', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80'), line(2, 'AES_CM_128_HMAC_SHA1_32')], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', floor: 30 } },
  { name: 'strongest wins whatever the order', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_32'), line(2, 'AES_256_CM_HMAC_SHA1_80')], expect: { tag: 2, suite: 'AES_256_CM_HMAC_SHA1_80', floor: 30 } },
  { name: 'GCM preferred over HMAC suites', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80'), line(2, 'AEAD_AES_128_GCM')], expect: { tag: 2, suite: 'AEAD_AES_128_GCM', floor: 40 } },
  { name: 'no crypto line at all', offer: () => [], expect: 'E_NO_COMMON_SUITE' },
  { name: 'NULL cipher only is a bid-down', offer: () => [line(1, 'NULL_HMAC_SHA1_80')], expect: 'E_BID_DOWN' },
  { name: 'NULL and a not-listed suite: the bid-down is what gets reported', offer: () => [line(1, 'NULL_HMAC_SHA1_80'), line(2, 'AES_192_CM_HMAC_SHA1_80')], expect: 'E_BID_DOWN' },
  { name: 'UNENCRYPTED_SRTP alone is a bid-down', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { params: 'UNENCRYPTED_SRTP' })], expect: 'E_BID_DOWN' },
  { name: 'UNAUTHENTICATED_SRTP alone is a bid-down', offer: () => [line(1, 'AES_256_CM_HMAC_SHA1_80', { params: 'UNAUTHENTICATED_SRTP' })], expect: 'E_BID_DOWN' },
  { name: 'UNENCRYPTED_SRTCP line skipped for a clean weaker one', offer: () => [line(1, 'AES_256_CM_HMAC_SHA1_80', { params: 'UNENCRYPTED_SRTCP' }), line(2, 'AES_CM_128_HMAC_SHA1_32')], expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32' } },
  { name: 'AES-192 is off by default (libsrtp2 KDF bug)', offer: () => [line(1, 'AES_192_CM_HMAC_SHA1_80')], expect: 'E_NO_COMMON_SUITE' },
  { name: 'AES-192 when allowed', offer: () => [line(1, 'AES_192_CM_HMAC_SHA1_80'), line(2, 'AES_CM_128_HMAC_SHA1_80')], policy: P({ allowAes192: true }), expect: { tag: 1, suite: 'AES_192_CM_HMAC_SHA1_80' } },
  { name: 'AES_256_CM_HMAC_SHA1_32 is not in the default list', offer: () => [line(1, 'AES_256_CM_HMAC_SHA1_32')], expect: 'E_NO_COMMON_SUITE' },
  { name: 'unknown suite', offer: () => [line(1, 'AES_CM_512_HMAC_SHA1_80')], expect: 'E_NO_COMMON_SUITE' },
  { name: 'unknown suite next to a known one is ignored', offer: () => [line(1, 'FANCY_NEW_SUITE'), line(2, 'AES_CM_128_HMAC_SHA1_80')], expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'malformed line ignored, the good one taken', offer: () => [MALFORMED, line(2, 'AES_CM_128_HMAC_SHA1_32')], expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32' } },
  { name: 'only malformed lines', offer: () => [MALFORMED], expect: 'E_NO_COMMON_SUITE' },
  { name: 'an MKI (up to 4 bytes) is carried', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { keySuffix: '|2^31|1:1' })], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'an MKI line is chosen when it is the strongest', offer: () => [line(1, 'AES_256_CM_HMAC_SHA1_80', { keySuffix: '|1:4' }), line(2, 'AES_CM_128_HMAC_SHA1_80')], expect: { tag: 1, suite: 'AES_256_CM_HMAC_SHA1_80' } },
  { name: 'an MKI longer than 4 bytes cannot be carried: declined, not ignored', offer: () => [line(1, 'AES_256_CM_HMAC_SHA1_80', { keySuffix: '|1:5' }), line(2, 'AES_CM_128_HMAC_SHA1_80')], expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'a lifetime is fine', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { keySuffix: '|2^31' })], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'KDR=0 means no re-derivation: fine', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { params: 'KDR=0 WSH=128' })], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'KDR>0 is carried (the core re-derives keys)', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { params: 'KDR=10' })], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'ignorable extension (-x) is fine', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { params: '-vendor=1' })], expect: { tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' } },
  { name: 'mandatory unknown extension declines the line', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80', { params: 'VENDOR_X=1' })], expect: 'E_NO_COMMON_SUITE' },
  { name: 'duplicate tags make both lines unusable', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80'), line(1, 'AES_256_CM_HMAC_SHA1_80')], expect: 'E_NO_COMMON_SUITE' },
  { name: 'duplicate tags next to a clean line', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80'), line(1, 'AES_256_CM_HMAC_SHA1_80'), line(3, 'AES_CM_128_HMAC_SHA1_32')], expect: { tag: 3, suite: 'AES_CM_128_HMAC_SHA1_32' } },
  { name: 'policy minimum AES_CM_128_HMAC_SHA1_80: the 32-bit tag alone is a bid-down', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_32')], policy: P({ minRank: 40, suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_80'] }), expect: 'E_BID_DOWN' },
  { name: 'policy minimum: the strong line of a mixed offer is used', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_32'), line(2, 'AES_CM_128_HMAC_SHA1_80')], policy: P({ minRank: 40, suites: ['AES_CM_128_HMAC_SHA1_80'] }), expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_80', floor: 40 } },
  { name: 'AES-256-only policy: AES-128 is below its minimum', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80')], policy: P({ suites: ['AES_256_CM_HMAC_SHA1_80'] }), expect: 'E_BID_DOWN' },
  { name: 'SDES-only-<suite> narrows the choice', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80'), line(2, 'AES_CM_128_HMAC_SHA1_32')], policy: restrictPolicy(DEFAULT, ['only-AES_CM_128_HMAC_SHA1_32']).policy, expect: { tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32' } },
  { name: 'SDES-no-<suite> removes a suite', offer: () => [line(1, 'AES_CM_128_HMAC_SHA1_80')], policy: restrictPolicy(DEFAULT, ['no-AES_CM_128_HMAC_SHA1_80']).policy, expect: 'E_NO_COMMON_SUITE' },
  { name: 'SDES-only cannot enable a suite the policy lacks', offer: () => [line(1, 'AES_192_CM_HMAC_SHA1_80')], policy: restrictPolicy(DEFAULT, ['only-AES_192_CM_HMAC_SHA1_80']).policy, expect: 'E_NO_COMMON_SUITE' },
];

function keysOf(lines: readonly CryptoLine[]): string[] {
  return lines.flatMap((l) => (l.kind === 'crypto' ? [Buffer.from(l.keys[0]!.material).toString('base64').slice(0, 12)] : []));
}

describe('negotiateOffer: offer lines × policy', () => {
  for (const row of OFFER_ROWS) {
    it(row.name, () => {
      const lines = row.offer();
      const r = negotiateOffer(lines, row.policy ?? DEFAULT);
      if (typeof row.expect === 'string') {
        assert.equal(r.ok, false, 'expected a refusal');
        if (r.ok) return;
        assert.equal(r.error.code, row.expect, r.error.message);
        for (const k of keysOf(lines)) assert.ok(!r.error.message.includes(k), 'error must not carry key material');
      } else {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        if (!r.ok) return;
        assert.equal(r.decision.tag, row.expect.tag);
        assert.equal(r.decision.suite.name, row.expect.suite);
        assert.ok(lines.includes(r.decision.line), 'the decision points at the offered line');
        if (row.expect.floor !== undefined) assert.equal(r.decision.floorRank, row.expect.floor);
      }
    });
  }

  it('F8 (3GPP legacy) ranks below every AES-CM suite: a bid-down by default, usable only when allowed', (t) => {
    if (suiteByName('F8_128_HMAC_SHA1_80') === undefined) return t.skip('no F8 suite in the table');
    const offer = [line(1, 'F8_128_HMAC_SHA1_80')];
    const r = negotiateOffer(offer, DEFAULT);
    assert.equal(r.ok ? 'ok' : r.error.code, 'E_BID_DOWN');
    const f8 = negotiateOffer(offer, P({ allowF8: true, suites: ['AES_CM_128_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_80'] }));
    assert.equal(f8.ok ? f8.decision.suite.name : f8.error.code, 'F8_128_HMAC_SHA1_80');
    assert.ok(!suitesToOffer(DEFAULT, 0).some((s) => s.name.startsWith('F8')));
  });

  it('reports a verdict per line, in order', () => {
    const reports = judgeOffer([line(1, 'NULL_HMAC_SHA1_32'), MALFORMED, line(3, 'FOO'), line(4, 'AES_CM_128_HMAC_SHA1_80')], DEFAULT);
    assert.deepEqual(reports.map((r) => r.verdict), ['null-cipher', 'malformed', 'unknown-suite', 'accepted']);
    assert.deepEqual(reports.map((r) => r.tag), [1, null, 3, 4]);
  });
});

describe('suitesToOffer: policy × the other leg', () => {
  const names = (p: CryptoPolicy, floor: number): string[] => suitesToOffer(p, floor).map((s) => s.name);
  it('default, offerer accepted down to AES_CM_128_HMAC_SHA1_32: everything the policy has, strongest first', () => {
    assert.deepEqual(names(DEFAULT, 30), ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
  });
  it('offerer accepted AES_256_CM_HMAC_SHA1_80 at the weakest: nothing weaker goes to the answerer', () => {
    assert.deepEqual(names(DEFAULT, 60), ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_256_CM_HMAC_SHA1_80']);
  });
  it('floor matching off: the policy alone decides', () => {
    assert.deepEqual(names(P({ matchOffererFloor: false }), 60).length, 5);
  });
  it('the policy minimum still applies below the floor (plain RTP offerer)', () => {
    assert.deepEqual(names(P({ minRank: 40, suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_80'] }), 0), ['AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80']);
  });
  it('never NULL, never AES-192 unless allowed', () => {
    assert.ok(!names(DEFAULT, 0).some((n) => n.startsWith('NULL') || n.includes('192')));
    assert.ok(names(P({ allowAes192: true }), 0).includes('AES_192_CM_HMAC_SHA1_80'));
  });
  it('an empty restricted policy offers nothing', () => {
    assert.deepEqual(names(restrictPolicy(DEFAULT, ['only-AES_256_CM_HMAC_SHA1_32']).policy, 0), []);
  });
});

describe('checkAnswer: answer × what was offered × the other leg', () => {
  const offered: (OfferedSuite & { key: SdesCrypto })[] = suitesToOffer(DEFAULT, 30).map((suite, i) => ({ tag: i + 1, suite, key: generateSdesCrypto(i + 1, suite) }));
  const tagOf = (n: SuiteName): number => offered.find((o) => o.suite.name === n)!.tag;
  const rows: { name: string; answer: () => CryptoLine[]; floor?: number; expect: RelayErrorCode | SuiteName }[] = [
    { name: 'answer picks an offered tag unchanged', answer: () => [line(tagOf('AES_CM_128_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_80')], expect: 'AES_CM_128_HMAC_SHA1_80' },
    { name: 'answer picks GCM', answer: () => [line(1, 'AEAD_AES_256_GCM')], expect: 'AEAD_AES_256_GCM' },
    { name: 'no crypto line on SAVP is a bid-down (never SAVP without keys)', answer: () => [], expect: 'E_BID_DOWN' },
    { name: 'two crypto lines', answer: () => [line(4, 'AES_CM_128_HMAC_SHA1_80'), line(5, 'AES_CM_128_HMAC_SHA1_32')], expect: 'E_BAD_SDP' },
    { name: 'a tag that was not offered', answer: () => [line(9, 'AES_CM_128_HMAC_SHA1_80')], expect: 'E_BAD_SDP' },
    { name: 'suite swapped under an offered tag (downgrade)', answer: () => [line(tagOf('AES_256_CM_HMAC_SHA1_80'), 'AES_CM_128_HMAC_SHA1_32')], expect: 'E_BID_DOWN' },
    { name: 'unknown suite under an offered tag', answer: () => [line(1, 'WEIRD_SUITE')], expect: 'E_BID_DOWN' },
    { name: 'NULL under an offered tag', answer: () => [line(4, 'NULL_HMAC_SHA1_80')], expect: 'E_BID_DOWN' },
    { name: 'UNENCRYPTED_SRTCP added by the answerer', answer: () => [line(4, 'AES_CM_128_HMAC_SHA1_80', { params: 'UNENCRYPTED_SRTCP' })], expect: 'E_BID_DOWN' },
    { name: 'answerer uses an MKI the relay cannot carry (5 bytes)', answer: () => [line(4, 'AES_CM_128_HMAC_SHA1_80', { keySuffix: '|2^20|1:5' })], expect: 'E_NO_COMMON_SUITE' },
    { name: 'malformed answer line', answer: () => [MALFORMED], expect: 'E_BAD_SDP' },
    { name: 'other leg accepted nothing below AES_CM_128_HMAC_SHA1_80: the 32-bit tag is a bid-down even if it was offered', answer: () => [line(5, 'AES_CM_128_HMAC_SHA1_32')], floor: 40, expect: 'E_BID_DOWN' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const r = checkAnswer(offered, row.answer(), DEFAULT, row.floor ?? 30);
      if (row.expect.startsWith('E_')) {
        assert.equal(r.ok, false);
        if (!r.ok) assert.equal(r.error.code, row.expect, r.error.message);
      } else {
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        if (r.ok) {
          assert.equal(r.decision.offered.suite.name, row.expect);
          assert.equal(r.decision.answer.suite.name, row.expect);
          assert.ok(offered.includes(r.decision.offered), 'the decision returns the caller\'s own offered entry');
        }
      }
    });
  }
});
