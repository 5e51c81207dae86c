// The SDES policy: defaults derived from the suite table, validation at construction, and the
// per-request SDES options that may only narrow it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePolicy, restrictPolicy, DEFAULT_CRYPTO_POLICY } from '../../../src/control/policy.ts';
import { RelayError } from '../../../src/errors.ts';
import type { SuiteName } from '../../../src/crypto/suites.ts';

const badRequest = (f: () => unknown, pattern: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST' && pattern.test(e.message));
};

describe('CryptoPolicy', () => {
  it('defaults: GCM, AES-256/80 and the AES-128 pair; never NULL, AES-192, F8 or AES_256_CM_HMAC_SHA1_32', () => {
    assert.deepEqual(DEFAULT_CRYPTO_POLICY.suites, [
      'AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32',
    ]);
    assert.equal(DEFAULT_CRYPTO_POLICY.minRank, 30);
    assert.equal(DEFAULT_CRYPTO_POLICY.allowAes192, false);
    assert.equal(DEFAULT_CRYPTO_POLICY.matchOffererFloor, true);
    assert.ok(Object.isFrozen(DEFAULT_CRYPTO_POLICY));
  });

  it('allowAes192 adds the AES-192 suites to the default list', () => {
    const p = resolvePolicy({ allowAes192: true });
    assert.ok(p.suites.includes('AES_192_CM_HMAC_SHA1_80'));
  });

  it('an explicit list is sorted by rank and sets the default minimum', () => {
    const p = resolvePolicy({ suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_80'] });
    assert.deepEqual(p.suites, ['AES_256_CM_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80']);
    assert.equal(p.minRank, 40);
  });

  it('refuses contradictory or unknown configuration at start', () => {
    badRequest(() => resolvePolicy({ suites: ['NULL_HMAC_SHA1_80'] }), /NULL/);
    badRequest(() => resolvePolicy({ suites: ['AES_192_CM_HMAC_SHA1_80'] }), /flags exclude/);
    badRequest(() => resolvePolicy({ suites: ['NOPE' as SuiteName] }), /unknown suite/);
    badRequest(() => resolvePolicy({ suites: [] }), /no suite/);
    badRequest(() => resolvePolicy({ suites: ['AES_CM_128_HMAC_SHA1_32'], minRank: 40 }), /below its own minRank/);
  });
});

describe('restrictPolicy (SDES request options)', () => {
  it('no-/only- narrow the list; off is reported; pad is harmless', () => {
    const r = restrictPolicy(DEFAULT_CRYPTO_POLICY, ['no-AEAD_AES_256_GCM', 'only-AES_CM_128_HMAC_SHA1_80', 'only-AEAD_AES_256_GCM', 'pad']);
    assert.deepEqual(r.policy.suites, ['AES_CM_128_HMAC_SHA1_80']);
    assert.equal(r.off, false);
    assert.deepEqual(r.warnings, []);
    assert.equal(restrictPolicy(DEFAULT_CRYPTO_POLICY, ['off']).off, true);
  });

  it('accepts suite names in any case, as ngRequest passes them through', () => {
    assert.deepEqual(restrictPolicy(DEFAULT_CRYPTO_POLICY, ['only-aes_cm_128_hmac_sha1_32']).policy.suites, ['AES_CM_128_HMAC_SHA1_32']);
  });

  it('refuses weakening options and reports unknown ones, changing nothing', () => {
    const r = restrictPolicy(DEFAULT_CRYPTO_POLICY, ['unencrypted_srtcp', 'unauthenticated_srtp', 'no-NOT_A_SUITE', 'lifetime']);
    assert.equal(r.policy, DEFAULT_CRYPTO_POLICY);
    assert.equal(r.warnings.length, 4);
    assert.match(r.warnings[0]!, /weaken SRTP, refused/);
    assert.match(r.warnings[2]!, /unknown suite/);
  });
});
