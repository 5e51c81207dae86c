// Sealing of key material for Redis: round trip, and every way a blob must fail to open.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { StateSealer, parseStateKey, stateKeyId, type SealedBlob } from '../../src/ha/StateSealer.ts';
import { HaError } from '../../src/ha/HaError.ts';
import { openKey, sealKey } from '../../src/ha/sealedKeys.ts';
import { generateSdesCrypto, SdesCrypto, SdesKeyParam } from '../../src/keying/sdes.ts';
import { suiteByName } from '../../src/crypto/suites.ts';

const binding = { node: 'A', callId: 'call-1@example', field: 'in:30000' };
const unseal = (code: string) => (e: unknown): boolean => e instanceof HaError && e.code === code;

describe('StateSealer', () => {
  it('opens what it sealed, with a fresh nonce per seal', () => {
    const s = new StateSealer(randomBytes(32));
    const plain = randomBytes(46);
    const a = s.seal(plain, binding), b = s.seal(plain, binding);
    assert.notEqual(a.n, b.n);
    assert.notEqual(a.c, b.c);
    assert.deepEqual(s.open(a, binding), plain);
    assert.deepEqual(s.open(b, binding), plain);
    assert.equal(a.k, s.keyId);
  });

  it('refuses a blob under another key, another binding, or tampered (E_HA_UNSEAL)', () => {
    const key = randomBytes(32);
    const s = new StateSealer(key);
    const blob = s.seal(randomBytes(30), binding);
    // Same key id (forged), different key material.
    const other = new StateSealer(randomBytes(32));
    assert.throws(() => other.open(blob, binding), unseal('E_HA_UNSEAL'));
    assert.throws(() => other.open({ ...blob, k: other.keyId }, binding), unseal('E_HA_UNSEAL'));
    for (const b of [{ ...binding, node: 'B' }, { ...binding, callId: 'call-2' }, { ...binding, field: 'out:30000' }]) {
      assert.throws(() => s.open(blob, b), unseal('E_HA_UNSEAL'), JSON.stringify(b));
    }
    const c = Buffer.from(blob.c, 'base64');
    for (const i of [0, c.length - 1]) {
      const t = Buffer.from(c);
      t[i]! ^= 1;
      assert.throws(() => s.open({ ...blob, c: t.toString('base64') }, binding), unseal('E_HA_UNSEAL'));
    }
    const n = Buffer.from(blob.n, 'base64');
    n[0]! ^= 1;
    assert.throws(() => s.open({ ...blob, n: n.toString('base64') }, binding), unseal('E_HA_UNSEAL'));
    assert.throws(() => s.open({ ...blob, c: '' }, binding), unseal('E_HA_UNSEAL'));
  });

  it('opens blobs of the previous key during a rotation, and seals only under the new one', () => {
    const oldKey = randomBytes(32), newKey = randomBytes(32);
    const before = new StateSealer(oldKey).seal(Buffer.from('k'), binding);
    const rotating = new StateSealer(newKey, [oldKey]);
    assert.deepEqual(rotating.open(before, binding), Buffer.from('k'));
    assert.equal(rotating.seal(Buffer.from('k'), binding).k, stateKeyId(newKey));
    assert.throws(() => new StateSealer(newKey).open(before, binding), unseal('E_HA_UNSEAL'));
  });

  it('parses only base64 of 32 bytes (E_HA_KEY), never echoing the value', () => {
    const k = randomBytes(32);
    assert.deepEqual(parseStateKey(` ${k.toString('base64')}\n`), k);
    for (const bad of ['', 'not base64!', randomBytes(16).toString('base64'), randomBytes(33).toString('base64')]) {
      assert.throws(() => parseStateKey(bad), (e: unknown) => e instanceof HaError && e.code === 'E_HA_KEY' && (bad === '' || !e.message.includes(bad)));
    }
  });
});

describe('sealed SDES keys', () => {
  it('round-trips suite, tag, MKIs, lifetimes, KDR and key material', () => {
    const suite = suiteByName('AES_CM_128_HMAC_SHA1_80')!;
    const m1 = randomBytes(30), m2 = randomBytes(30);
    const c = new SdesCrypto({
      tag: 7, suite, params: { kdr: 3 },
      keys: [
        new SdesKeyParam(Uint8Array.from(m1), 16, { mki: { value: 1n, length: 2 }, lifetime: 2 ** 20, padded: false }),
        new SdesKeyParam(Uint8Array.from(m2), 16, { mki: { value: 2n, length: 2 } }),
      ],
    });
    const s = new StateSealer(randomBytes(32));
    const rec = sealKey(s, c, binding);
    assert.ok(!JSON.stringify(rec).includes(m1.toString('base64').slice(0, 20)));
    const back = openKey(s, rec, binding);
    assert.equal(back.tag, 7);
    assert.equal(back.suite, suite);
    assert.equal(back.params.kdr, 3);
    assert.deepEqual(Buffer.from(back.keys[0]!.material), m1);
    assert.deepEqual(Buffer.from(back.keys[1]!.material), m2);
    assert.deepEqual(back.keys[0]!.mki, { value: 1n, length: 2 });
    assert.equal(back.keys[0]!.lifetime, 2 ** 20);
    assert.equal(back.keys[0]!.padded, false);
    assert.throws(() => openKey(s, rec, { ...binding, field: 'in:30002' }), unseal('E_HA_UNSEAL'));
  });

  it('a blob moved into another record does not open there', () => {
    const s = new StateSealer(randomBytes(32));
    const rec = sealKey(s, generateSdesCrypto(1, suiteByName('AES_256_CM_HMAC_SHA1_80')!), binding);
    const moved: SealedBlob = rec.sealed;
    assert.throws(() => s.open(moved, { ...binding, callId: 'victim' }), unseal('E_HA_UNSEAL'));
  });
});
