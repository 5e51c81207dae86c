import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import {
  CipherSuite, ExtensionType, decodeCertificate, decodeCertificateRequest, decodeClientHello, decodeDigitallySigned, decodeFinished,
  decodeServerHello, decodeServerKeyExchange, decodeUseSrtp, encodeCertificate, encodeCertificateRequest, encodeClientHello,
  encodeDigitallySigned, encodeServerEcdhParams, encodeServerHello, encodeServerKeyExchange, findExtension, useSrtpExtension,
  type ClientHello,
} from '../../../src/keying/dtls/messages.ts';
import { hex } from './helpers.ts';

const decodeFails = (fn: () => unknown): void => {
  assert.throws(fn, (e: unknown) => e instanceof DtlsError && e.code === 'E_DTLS_DECODE');
};

const hello: ClientHello = {
  version: 0xfefd, random: new Uint8Array(32).fill(7), sessionId: new Uint8Array(0), cookie: Uint8Array.of(1, 2, 3),
  cipherSuites: [CipherSuite.ecdheEcdsaAes128Gcm, CipherSuite.ecdheRsaAes128Gcm], compressionMethods: Uint8Array.of(0),
  extensions: [useSrtpExtension([8, 7, 1, 2]), { type: ExtensionType.extendedMasterSecret, data: new Uint8Array(0) }],
};

describe('hello codecs', () => {
  test('ClientHello round trip', () => {
    const back = decodeClientHello(encodeClientHello(hello));
    assert.deepEqual([...back.cipherSuites], [...hello.cipherSuites]);
    assert.equal(hex(back.cookie), '010203');
    assert.deepEqual(decodeUseSrtp(findExtension(back.extensions, ExtensionType.useSrtp) ?? new Uint8Array()).profiles, [8, 7, 1, 2]);
    assert.equal(findExtension(back.extensions, ExtensionType.extendedMasterSecret)?.length, 0);
  });

  test('ClientHello without an extensions block decodes with none', () => {
    const bare = encodeClientHello({ ...hello, extensions: [] });
    assert.equal(decodeClientHello(bare).extensions.length, 0);
  });

  test('duplicate extensions, trailing bytes and short vectors are decode errors', () => {
    decodeFails(() => decodeClientHello(encodeClientHello({ ...hello, extensions: [...hello.extensions, useSrtpExtension([1])] })));
    decodeFails(() => decodeClientHello(Buffer.concat([encodeClientHello(hello), Uint8Array.of(0)])));
    decodeFails(() => decodeClientHello(encodeClientHello(hello).subarray(0, 40)));
    decodeFails(() => decodeUseSrtp(Uint8Array.of(0, 0, 0))); // empty profile list
    decodeFails(() => decodeUseSrtp(Uint8Array.of(0, 3, 0, 1, 2, 0))); // odd profile list
  });

  test('ServerHello round trip', () => {
    const sh = { version: 0xfefd, random: new Uint8Array(32).fill(9), sessionId: new Uint8Array(0), cipherSuite: 0xc02b, compressionMethod: 0, extensions: [useSrtpExtension([7])] };
    const back = decodeServerHello(encodeServerHello(sh));
    assert.equal(back.cipherSuite, 0xc02b);
    assert.deepEqual(decodeUseSrtp(back.extensions[0]?.data ?? new Uint8Array()).profiles, [7]);
  });
});

describe('other handshake messages', () => {
  test('Certificate: chain of DER blobs; empty chain allowed by the codec; zero-length cert is not', () => {
    const chain = [Uint8Array.of(0x30, 1, 2), Uint8Array.of(0x30, 3)];
    assert.deepEqual(decodeCertificate(encodeCertificate(chain)).map(hex), chain.map(hex));
    assert.equal(decodeCertificate(encodeCertificate([])).length, 0);
    decodeFails(() => decodeCertificate(Uint8Array.of(0, 0, 3, 0, 0, 0)));
  });

  test('ServerKeyExchange: params are exactly what the signature covers', () => {
    const params = encodeServerEcdhParams(0x001d, new Uint8Array(32).fill(5));
    const ske = decodeServerKeyExchange(encodeServerKeyExchange(params, { scheme: 0x0403, signature: Uint8Array.of(0x30, 0) }));
    assert.equal(hex(ske.params), hex(params));
    assert.equal(ske.group, 0x001d);
    assert.equal(ske.scheme, 0x0403);
    // explicit curves (curve_type 1) are refused outright
    assert.throws(() => decodeServerKeyExchange(Uint8Array.of(1, 0, 0)), (e: unknown) => e instanceof DtlsError && e.code === 'E_DTLS_ILLEGAL_PARAMETER');
  });

  test('CertificateRequest, DigitallySigned, Finished', () => {
    const cr = decodeCertificateRequest(encodeCertificateRequest({ certificateTypes: [64, 1], schemes: [0x0403, 0x0804] }));
    assert.deepEqual([cr.certificateTypes, cr.schemes], [[64, 1], [0x0403, 0x0804]]);
    assert.deepEqual(decodeDigitallySigned(encodeDigitallySigned({ scheme: 0x0401, signature: Uint8Array.of(1) }), 'x').scheme, 0x0401);
    decodeFails(() => decodeFinished(new Uint8Array(11)));
    assert.equal(decodeFinished(new Uint8Array(12)).length, 12);
  });
});
