import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DtlsCertificate } from '../../../src/keying/dtls/certificate.ts';
import { DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import { computeFingerprint, formatFingerprint, matchFingerprint, parseFingerprint } from '../../../src/keying/dtls/fingerprint.ts';

const cert = DtlsCertificate.generate();
const other = DtlsCertificate.generate();
const formatError = (e: unknown): boolean => e instanceof DtlsError && e.code === 'E_DTLS_FINGERPRINT_FORMAT';

describe('a=fingerprint parse and format', () => {
  test('format is lower-case hash name, upper-case colon hex, and parses back', () => {
    for (const alg of ['sha-256', 'sha-384', 'sha-512'] as const) {
      const s = formatFingerprint(computeFingerprint(cert.der, alg));
      assert.match(s, new RegExp(`^${alg} ([0-9A-F]{2}:)+[0-9A-F]{2}$`));
      const p = parseFingerprint(s);
      assert.equal(p.algorithm, alg);
      assert.equal(Buffer.from(p.value).toString('hex'), createHash(alg.replace('-', '')).update(cert.der).digest('hex'));
    }
  });

  test('hash name case-insensitive (baresip: SHA-256), lower-case hex, a=fingerprint: prefix, surrounding blanks', () => {
    const s = cert.fingerprint();
    const hexPart = s.split(' ')[1] ?? '';
    for (const v of [`SHA-256 ${hexPart}`, `Sha-256 ${hexPart.toLowerCase()}`, `a=fingerprint:sha-256 ${hexPart}`, `  sha-256\t${hexPart}\r\n`]) {
      assert.equal(parseFingerprint(v).algorithm, 'sha-256', v);
    }
  });

  test('sha-1 refused unless insecureAllowSha1; md5 and unknown names always refused', () => {
    const sha1 = formatFingerprint(computeFingerprint(cert.der, 'sha-1'));
    assert.throws(() => parseFingerprint(sha1), formatError);
    assert.equal(parseFingerprint(sha1, { insecureAllowSha1: true }).algorithm, 'sha-1');
    assert.throws(() => parseFingerprint(`md5 ${'AB:'.repeat(15)}AB`), formatError);
    assert.throws(() => parseFingerprint(`sha-3 ${'AB:'.repeat(31)}AB`), formatError);
  });

  test('syntax errors', () => {
    const good = cert.fingerprint().split(' ')[1] ?? '';
    for (const bad of ['', 'sha-256', `sha-256 ${good.slice(3)}`, `sha-256 ${good}:`, `sha-256 ${good.replace(/:/g, '')}`,
      `sha-256 ${good.replace('A', 'G')}`, `sha-256 ${good} extra`, `sha-256 ${'A:'.repeat(300)}`]) {
      assert.throws(() => parseFingerprint(bad), formatError, JSON.stringify(bad));
    }
  });
});

describe('matching the peer certificate (RFC 8122 §5)', () => {
  test('a match on any expected value of the strongest hash', () => {
    const r = matchFingerprint(cert.der, [parseFingerprint(other.fingerprint()), parseFingerprint(cert.fingerprint())]);
    assert.deepEqual(r, { ok: true, algorithm: 'sha-256' });
  });

  test('the strongest hash decides: a weaker matching value cannot rescue a stronger mismatch', () => {
    const r = matchFingerprint(cert.der, [parseFingerprint(cert.fingerprint('sha-256')), parseFingerprint(other.fingerprint('sha-512'))]);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'E_DTLS_FINGERPRINT');
    assert.ok(!r.ok && /sha-512/.test(r.error.message));
  });

  test('mismatch, nothing to compare, or sha-1 only without the insecure option', () => {
    assert.equal(matchFingerprint(cert.der, [parseFingerprint(other.fingerprint())]).ok, false);
    assert.equal(matchFingerprint(cert.der, []).ok, false);
    const sha1 = computeFingerprint(cert.der, 'sha-1');
    assert.equal(matchFingerprint(cert.der, [sha1]).ok, false);
    assert.equal(matchFingerprint(cert.der, [sha1], { insecureAllowSha1: true }).ok, true);
  });

  test('a truncated expected value does not match (no prefix comparison)', () => {
    const fp = parseFingerprint(cert.fingerprint());
    assert.equal(matchFingerprint(cert.der, [{ algorithm: 'sha-256', value: fp.value.subarray(0, 16) }]).ok, false);
  });
});
