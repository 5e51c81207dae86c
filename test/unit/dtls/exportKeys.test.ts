import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { SUITES } from '../../../src/crypto/suites.ts';
import { DtlsSrtpKeys, SRTP_EXPORTER_LABEL, deriveSrtpKeys, exportKeyingMaterial, srtpKeyingMaterialLength } from '../../../src/keying/dtls/exportKeys.ts';
import { finishedVerifyData, prf, recordKeys } from '../../../src/keying/dtls/keySchedule.ts';
import { hex } from './helpers.ts';

const h = (s: string): Buffer => Buffer.from(s, 'hex');

describe('TLS 1.2 PRF and exporter', () => {
  test('P_SHA256 PRF test vector (IETF TLS WG; same output from `openssl kdf TLS1-PRF`)', () => {
    const out = prf(h('9bbe436ba940f017b17652849a71db35'), 'test label', h('a0ba9f936cda311827a6f796ffd5198c'), 100);
    assert.equal(hex(out), 'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af'
      + '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66');
  });

  test('EXTRACTOR-dtls_srtp = PRF(master, label, client_random + server_random), no context (vector from openssl kdf TLS1-PRF)', () => {
    const out = exportKeyingMaterial(Buffer.alloc(48, 0xaa), Buffer.alloc(32, 0x01), Buffer.alloc(32, 0x02), SRTP_EXPORTER_LABEL, 88);
    assert.equal(hex(out).toUpperCase(), '6B9F4D8B0DD7ED894F1443CA5F8C90E892A430CDB4AAC33E233191FDDE5F2F1877AC466AD34BA812720489D30EA5EC'
      + 'A7952F62EF452EB542EA1063B8796DCC1803157D136AD750DD93551F5E03A8E51C097AB1427BF12F36');
    // An empty context is not "no context" (RFC 5705 §4).
    const withEmpty = exportKeyingMaterial(Buffer.alloc(48, 0xaa), Buffer.alloc(32, 1), Buffer.alloc(32, 2), SRTP_EXPORTER_LABEL, 88, new Uint8Array(0));
    assert.notEqual(hex(withEmpty), hex(out));
  });

  test('key block split and Finished length', () => {
    const k = recordKeys(Buffer.alloc(48, 3), Buffer.alloc(32, 1), Buffer.alloc(32, 2));
    assert.deepEqual([k.clientWriteKey.length, k.serverWriteKey.length, k.clientWriteIv.length, k.serverWriteIv.length], [16, 16, 4, 4]);
    const block = prf(Buffer.alloc(48, 3), 'key expansion', Buffer.concat([Buffer.alloc(32, 2), Buffer.alloc(32, 1)]), 40);
    assert.equal(hex(Buffer.concat([k.clientWriteKey, k.serverWriteKey, k.clientWriteIv, k.serverWriteIv])), hex(block));
    assert.equal(finishedVerifyData(Buffer.alloc(48), 'client', Buffer.alloc(32)).length, 12);
    assert.notEqual(hex(finishedVerifyData(Buffer.alloc(48), 'client', Buffer.alloc(32))), hex(finishedVerifyData(Buffer.alloc(48), 'server', Buffer.alloc(32))));
  });
});

describe('RFC 5764 §4.2 key split', () => {
  for (const suite of SUITES.filter((s) => s.dtlsId !== null)) {
    test(`${suite.name}: client_key | server_key | client_salt | server_salt, local/remote per role`, () => {
      const n = srtpKeyingMaterialLength(suite);
      assert.equal(n, 2 * (suite.keyLen + suite.saltLen));
      const mat = Uint8Array.from({ length: n }, (_, i) => i);
      const k = suite.keyLen;
      const s = suite.saltLen;
      const client = new DtlsSrtpKeys(Uint8Array.from(mat), suite, 'client');
      const server = new DtlsSrtpKeys(Uint8Array.from(mat), suite, 'server');
      assert.equal(hex(client.localKey), hex(mat.subarray(0, k)));
      assert.equal(hex(client.remoteKey), hex(mat.subarray(k, 2 * k)));
      assert.equal(hex(client.localSalt), hex(mat.subarray(2 * k, 2 * k + s)));
      assert.equal(hex(client.remoteSalt), hex(mat.subarray(2 * k + s)));
      assert.equal(hex(server.localKey), hex(client.remoteKey));
      assert.equal(hex(server.localSalt), hex(client.remoteSalt));
      assert.equal(client.profileId, suite.dtlsId);
      assert.equal(client.profile, suite.dtlsName);
    });
  }

  test('wrong length or a suite without a DTLS profile is refused', () => {
    const cm80 = SUITES.find((s) => s.dtlsId === 0x0001);
    const noDtls = SUITES.find((s) => s.dtlsId === null);
    assert.ok(cm80 && noDtls);
    assert.throws(() => new DtlsSrtpKeys(new Uint8Array(59), cm80, 'client'), RangeError);
    assert.throws(() => new DtlsSrtpKeys(new Uint8Array(srtpKeyingMaterialLength(noDtls)), noDtls, 'client'), RangeError);
  });

  test('redacted in JSON and inspect; wipe zeroes and later reads throw', () => {
    const suite = SUITES.find((s) => s.dtlsId === 0x0001);
    assert.ok(suite);
    const keys = deriveSrtpKeys(Buffer.alloc(48, 0x11), Buffer.alloc(32, 1), Buffer.alloc(32, 2), suite, 'server');
    const secret = hex(keys.localKey);
    assert.ok(!JSON.stringify(keys).includes(secret));
    assert.ok(!inspect(keys, { depth: 5, showHidden: true }).includes(secret));
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(keys))).sort(), ['localKey', 'localSalt', 'profile', 'profileId', 'remoteKey', 'remoteSalt', 'role', 'suite']);
    const view = keys.remoteSalt;
    keys.wipe();
    assert.ok(view.every((b) => b === 0));
    assert.equal(keys.wiped, true);
    assert.throws(() => keys.remoteKey);
  });
});
