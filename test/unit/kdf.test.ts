// RFC 3711 §4.3 key derivation of the WASM core (srtpKdf, KDR = 0) on every build:
// RFC 3711 B.3 and RFC 6188 §7.2 known answers, then differential against the reference PRF.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VARIANTS, loadRaw, type RawCore } from '../helpers/wasm.ts';
import { srtpPrf, toHex, hex } from '../reference/refSrtp.ts';

interface Derivation { label: number; name: string; iv?: string; output: string }
interface Kdf { source: string; masterKey: string; masterSalt: string; index: number; kdr: number; derivations: Derivation[] }
function vector<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}
const b3 = vector<Kdf>('rfc3711-b3.json');
const r6188 = vector<{ kdfs: Kdf[] }>('rfc6188-7.json').kdfs;

function prng(seed: number): { int(n: number): number; bytes(n: number): Uint8Array } {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n) => next() % n,
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; },
  };
}

type KdfFn = (masterKeyPtr: number, keyLen: number, masterSaltPtr: number, label: number, outPtr: number, outLen: number) => number;

const KEY_OFF = 0;
const SALT_OFF = 64;
const OUT_OFF = 128;
const SENTINEL = 0x5a;

for (const variant of VARIANTS) {
  describe(`srtpKdf, ${variant}`, () => {
    let core: RawCore;
    let kdf: KdfFn;
    const at = (off: number) => core.scratch + off;
    const read = (off: number, n: number) => core.u8().slice(at(off), at(off) + n);

    /** Runs srtpKdf and checks that it wrote exactly outLen bytes and left key and salt alone. */
    function derive(key: Uint8Array, salt: Uint8Array, label: number, outLen: number): Uint8Array {
      core.u8().set(key, at(KEY_OFF));
      core.u8().set(salt, at(SALT_OFF));
      core.u8().fill(SENTINEL, at(OUT_OFF), at(OUT_OFF) + outLen + 64);
      const st = kdf(at(KEY_OFF), key.length, at(SALT_OFF), label, at(OUT_OFF), outLen);
      assert.equal(st, 0, `srtpKdf status for key ${key.length} B, label ${label}, outLen ${outLen}`);
      assert.ok(read(OUT_OFF + outLen, 64).every((b) => b === SENTINEL), `wrote past outLen ${outLen}`);
      assert.deepEqual(read(KEY_OFF, key.length), key, 'master key modified');
      assert.deepEqual(read(SALT_OFF, salt.length), salt, 'master salt modified');
      return read(OUT_OFF, outLen);
    }

    before(async () => {
      core = await loadRaw(variant);
      kdf = core.fn<KdfFn>('srtpKdf');
    });

    test('RFC 3711 B.3 (AES-128): cipher key, cipher salt, 94-byte auth keystream', () => {
      for (const d of b3.derivations) {
        assert.equal(toHex(derive(hex(b3.masterKey), hex(b3.masterSalt), d.label, d.output.length / 2)), d.output.toLowerCase(), `${b3.source}: ${d.name}`);
      }
      // Session lengths as the data path asks for them: 16-byte key, 14-byte salt, 20-byte auth key.
      assert.equal(toHex(derive(hex(b3.masterKey), hex(b3.masterSalt), 1, 20)), 'cebe321f6ff7716b6fd4ab49af256a156d38baa4');
    });

    test('RFC 6188 §7.2 (AES-256) and §7.4 (AES-192): cipher key, cipher salt, auth key', () => {
      assert.deepEqual(r6188.map((v) => hex(v.masterKey).length).sort(), [24, 32]);
      for (const v of r6188) {
        for (const d of v.derivations) {
          assert.equal(toHex(derive(hex(v.masterKey), hex(v.masterSalt), d.label, d.output.length / 2)), d.output.toLowerCase(), `${v.source}: ${d.name}`);
        }
      }
    });

    test('differential vs the reference PRF: random master keys (16, 24 and 32 B), labels 0–5, many lengths', () => {
      const r = prng(0x6188);
      const lengths = [0, 1, 4, 14, 15, 16, 17, 20, 24, 31, 32, 33, 47, 48, 64, 94, 100];
      for (let i = 0; i < 180; i++) {
        const keyLen = [16, 24, 32][i % 3]!;
        const key = r.bytes(keyLen);
        const salt = r.bytes(14);
        const label = i % 6;
        const outLen = lengths[r.int(lengths.length)]!;
        const want = toHex(srtpPrf(key, salt, label, 0n, outLen));
        assert.equal(toHex(derive(key, salt, label, outLen)), want, `case ${i}: key ${toHex(key)} salt ${toHex(salt)} label ${label} len ${outLen}`);
      }
    });

    test('labels give distinct outputs; the same inputs give the same output twice', () => {
      const key = hex(b3.masterKey);
      const salt = hex(b3.masterSalt);
      const outs = [0, 1, 2, 3, 4, 5].map((l) => toHex(derive(key, salt, l, 16)));
      assert.equal(new Set(outs).size, 6);
      assert.equal(toHex(derive(key, salt, 4, 16)), outs[4]);
    });

    test('bad parameters give a negative status and write nothing', () => {
      const key = prng(3).bytes(32);
      const salt = prng(4).bytes(14);
      core.u8().set(key, at(KEY_OFF));
      core.u8().set(salt, at(SALT_OFF));
      for (const keyLen of [0, 1, 15, 17, 31, 33]) {
        core.u8().fill(SENTINEL, at(OUT_OFF), at(OUT_OFF) + 64);
        const st = kdf(at(KEY_OFF), keyLen, at(SALT_OFF), 0, at(OUT_OFF), 16);
        assert.ok(st < 0, `keyLen ${keyLen} gave status ${st}`);
        assert.ok(read(OUT_OFF, 64).every((b) => b === SENTINEL), `keyLen ${keyLen} wrote output`);
      }
      assert.ok(kdf(at(KEY_OFF), 16, at(SALT_OFF), 0, at(OUT_OFF), -1) < 0, 'negative outLen');
    });
  });
}
