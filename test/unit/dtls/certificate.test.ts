import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { DtlsCertificate, parsePeerCertificate } from '../../../src/keying/dtls/certificate.ts';
import { DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import { computeFingerprint, formatFingerprint } from '../../../src/keying/dtls/fingerprint.ts';
import { SignatureScheme, verifyWith } from '../../../src/keying/dtls/signature.ts';

function openssl(args: string[], input?: string): string | null {
  try {
    return execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const localCertError = (e: unknown): boolean => e instanceof DtlsError && e.code === 'E_DTLS_LOCAL_CERTIFICATE';

describe('self-signed ECDSA P-256 certificate', () => {
  test('node:crypto parses it; it is self-signed, v3, CN as asked, valid for the requested window', () => {
    const notBefore = new Date('2030-01-02T03:04:05Z');
    const c = DtlsCertificate.generate({ commonName: 'leg-a', validityDays: 10, notBefore });
    const x = new X509Certificate(c.der);
    assert.equal(x.subject, 'CN=leg-a');
    assert.equal(x.issuer, 'CN=leg-a');
    assert.ok(x.verify(x.publicKey), 'signature over tbsCertificate verifies');
    assert.equal(new Date(x.validFrom).toISOString(), '2030-01-02T03:04:05.000Z');
    assert.equal(new Date(x.validTo).toISOString(), '2030-01-12T03:04:05.000Z');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(/^[0-7][0-9A-F]{31}$/.test(x.serialNumber), `positive 16-byte serial: ${x.serialNumber}`);
    assert.equal(c.keyKind, 'ecdsa-p256');
  });

  test('GeneralizedTime after 2049 (RFC 5280 §4.1.2.5)', () => {
    const x = new X509Certificate(DtlsCertificate.generate({ notBefore: new Date('2049-12-30T00:00:00Z'), validityDays: 5 }).der);
    assert.equal(new Date(x.validTo).toISOString(), '2050-01-04T00:00:00.000Z');
  });

  test('openssl reads it and agrees on the fingerprint', (t) => {
    const c = DtlsCertificate.generate();
    const text = openssl(['x509', '-noout', '-text', '-fingerprint', '-sha256'], c.toPem());
    if (text === null) { t.skip('openssl not installed (apt-get install -y openssl)'); return; }
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    const m = /SHA256 Fingerprint=([0-9A-F:]+)/i.exec(text);
    assert.ok(m);
    assert.equal(c.fingerprint('sha-256'), `sha-256 ${m[1]}`);
  });

  test('sign() makes signatures the certificate key verifies', () => {
    const c = DtlsCertificate.generate();
    const data = new TextEncoder().encode('transcript');
    const sig = c.sign(SignatureScheme.ecdsaSecp256r1Sha256, data);
    assert.ok(verifyWith(SignatureScheme.ecdsaSecp256r1Sha256, new X509Certificate(c.der).publicKey, data, sig));
    assert.ok(!verifyWith(SignatureScheme.ecdsaSecp256r1Sha256, DtlsCertificate.generate().publicKey, data, sig));
  });

  test('toJSON and inspect show the fingerprint, never the private key', () => {
    const c = DtlsCertificate.generate();
    const pem = c.exportPrivateKeyPem();
    const body = pem.split('\n')[1] ?? '';
    assert.ok(body.length > 20);
    assert.ok(!JSON.stringify(c).includes(body.slice(0, 20)));
    assert.ok(!inspect(c, { showHidden: true, depth: 5 }).includes(body.slice(0, 20)));
    assert.equal(JSON.parse(JSON.stringify(c)).fingerprint, c.fingerprint());
  });
});

describe('loading PEM', () => {
  test('round trip through PEM keeps the certificate and key', () => {
    const c = DtlsCertificate.generate();
    const back = DtlsCertificate.fromPem(c.toPem(), c.exportPrivateKeyPem());
    assert.equal(Buffer.from(back.der).toString('hex'), Buffer.from(c.der).toString('hex'));
    assert.equal(back.fingerprint(), c.fingerprint());
  });

  test('a key that does not match the certificate, garbage, and unusable key types are refused', () => {
    const c = DtlsCertificate.generate();
    const other = DtlsCertificate.generate();
    assert.throws(() => DtlsCertificate.fromPem(c.toPem(), other.exportPrivateKeyPem()), localCertError);
    assert.throws(() => DtlsCertificate.fromPem('nope', c.exportPrivateKeyPem()), localCertError);
    assert.throws(() => DtlsCertificate.fromPem(c.toPem(), 'nope'), localCertError);
  });

  test('RSA certificates load when >= 2048 bits (openssl-made); P-384 and RSA-1024 are refused', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'srtpgate-cert-'));
    try {
      const make = (key: string[], name: string): { cert: string; key: string } | null => {
        const out = openssl(['req', '-x509', ...key, '-nodes', '-subj', `/CN=${name}`, '-days', '1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)]);
        if (out === null) return null;
        return { cert: execFileSync('cat', [join(dir, `${name}.pem`)], { encoding: 'utf8' }), key: execFileSync('cat', [join(dir, `${name}.key`)], { encoding: 'utf8' }) };
      };
      const rsa = make(['-newkey', 'rsa:2048'], 'rsa2048');
      if (rsa === null) { t.skip('openssl not installed (apt-get install -y openssl)'); return; }
      assert.equal(DtlsCertificate.fromPem(rsa.cert, rsa.key).keyKind, 'rsa');
      const p384 = make(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'p384');
      assert.ok(p384);
      assert.throws(() => DtlsCertificate.fromPem(p384.cert, p384.key), localCertError);
      assert.throws(() => parsePeerCertificate(new X509Certificate(p384.cert).raw), (e: unknown) => e instanceof DtlsError && e.code === 'E_DTLS_BAD_CERTIFICATE');
      // OpenSSL 3 refuses to make RSA-1024 certificates at its default security level only when
      // signing with them; generating the key itself is fine.
      const k1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
      writeFileSync(join(dir, 'k1024.key'), k1024.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const small = openssl(['req', '-x509', '-key', join(dir, 'k1024.key'), '-subj', '/CN=small', '-days', '1']);
      if (small !== null && small.includes('BEGIN CERTIFICATE')) {
        assert.throws(() => parsePeerCertificate(new X509Certificate(small).raw), (e: unknown) => e instanceof DtlsError && e.code === 'E_DTLS_BAD_CERTIFICATE');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('peer certificates that do not parse are E_DTLS_BAD_CERTIFICATE', () => {
    assert.throws(() => parsePeerCertificate(Uint8Array.of(0x30, 0x03, 1, 2, 3)), (e: unknown) => e instanceof DtlsError && e.code === 'E_DTLS_BAD_CERTIFICATE');
    const fp = computeFingerprint(DtlsCertificate.generate().der);
    assert.match(formatFingerprint(fp), /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
