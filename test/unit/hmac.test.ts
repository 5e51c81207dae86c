// HMAC-SHA1 and SHA-1 of the WASM core, through the raw exports, on every build:
// RFC 2202 known answers, then differential against node:crypto.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, createHmac } from 'node:crypto';
import { VARIANTS, loadRaw, type RawCore } from '../helpers/wasm.ts';

interface HmacCase { case: number; key: string; data?: string; dataText?: string; digest: string; digest96?: string }
interface R2202 { source: string; cases: HmacCase[] }
const r2202 = JSON.parse(readFileSync(new URL('../vectors/rfc2202.json', import.meta.url), 'utf8')) as R2202;

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Deterministic xorshift32 so a failure names reproducible inputs. */
function prng(seed: number): { int(n: number): number; bytes(n: number): Uint8Array } {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n) => next() % n,
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; },
  };
}

// Scratch layout (64 KiB, 64-byte aligned base).
const STATE_OFF = 0;      // HMAC state, 64-byte aligned
const STATE2_OFF = 1024;  // second state, for independence checks
const KEY_OFF = 2048;     // keys up to 1 KiB
const OUT_OFF = 4096;     // 20-byte digest + sentinel
const DATA_OFF = 8192;    // data up to 48 KiB
const SENTINEL = 0xa5;

type InitFn = (keyPtr: number, keyLen: number, statePtr: number) => void;
type ComputeFn = (statePtr: number, dataPtr: number, len: number, outPtr: number) => void;
type DigestFn = (dataPtr: number, len: number, outPtr: number) => void;

const BOUNDARY_LENGTHS = [0, 1, 19, 20, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 183, 184, 191, 192, 1500];

for (const variant of VARIANTS) {
  describe(`HMAC-SHA1 / SHA-1, ${variant}`, () => {
    let core: RawCore;
    let init: InitFn;
    let compute: ComputeFn;
    let digest: DigestFn;
    let stateBytes: number;
    const at = (off: number) => core.scratch + off;
    const write = (off: number, b: Uint8Array) => core.u8().set(b, at(off));
    const read = (off: number, n: number) => core.u8().slice(at(off), at(off) + n);

    /** HMAC through the core: init into the state slot, compute over data at DATA_OFF + shift. */
    function wasmHmac(key: Uint8Array, data: Uint8Array, shift = 0): Uint8Array {
      write(KEY_OFF, key);
      init(at(KEY_OFF), key.length, at(STATE_OFF));
      write(DATA_OFF + shift, data);
      core.u8().fill(SENTINEL, at(OUT_OFF), at(OUT_OFF) + 64);
      compute(at(STATE_OFF), at(DATA_OFF + shift), data.length, at(OUT_OFF));
      assert.ok(read(OUT_OFF + 20, 44).every((b) => b === SENTINEL), 'wrote past the 20-byte digest');
      return read(OUT_OFF, 20);
    }
    const nodeHmac = (key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac('sha1', key).update(data).digest());

    before(async () => {
      core = await loadRaw(variant);
      init = core.fn<InitFn>('hmacSha1Init');
      compute = core.fn<ComputeFn>('hmacSha1Compute');
      digest = core.fn<DigestFn>('sha1Digest');
      stateBytes = (core.exports.HMAC_STATE_BYTES as { value: number }).value;
      assert.equal(core.scratch % 64, 0, 'scratch must be 64-byte aligned');
    });

    test('HMAC_STATE_BYTES holds two midstates and fits the test layout', () => {
      assert.ok(stateBytes >= 40, `HMAC_STATE_BYTES = ${stateBytes}`);
      assert.ok(stateBytes <= STATE2_OFF - STATE_OFF);
    });

    test('RFC 2202 test cases 1–7', () => {
      for (const c of r2202.cases) {
        const data = c.data !== undefined ? fromHex(c.data) : new TextEncoder().encode(c.dataText ?? '');
        assert.equal(toHex(wasmHmac(fromHex(c.key), data)), c.digest, `RFC 2202 case ${c.case}`);
      }
    });

    test('SHA-1 equals node:crypto at block boundaries and random lengths 0..1500', () => {
      const r = prng(0x5a1);
      const lengths = [...BOUNDARY_LENGTHS, ...Array.from({ length: 60 }, () => r.int(1501))];
      for (const len of lengths) {
        const data = r.bytes(len);
        write(DATA_OFF, data);
        core.u8().fill(SENTINEL, at(OUT_OFF), at(OUT_OFF) + 64);
        digest(at(DATA_OFF), len, at(OUT_OFF));
        const want = createHash('sha1').update(data).digest('hex');
        assert.equal(toHex(read(OUT_OFF, 20)), want, `sha1 len ${len}`);
        assert.ok(read(OUT_OFF + 20, 44).every((b) => b === SENTINEL), 'sha1 wrote past 20 bytes');
      }
    });

    test('HMAC equals node:crypto: every data length 0..200 and block boundaries up to 1500', () => {
      const r = prng(0x40ac);
      const lengths = [...Array.from({ length: 201 }, (_, i) => i), ...BOUNDARY_LENGTHS, 1000, 1499];
      for (const len of lengths) {
        const key = r.bytes(r.int(201));
        const data = r.bytes(len);
        assert.equal(toHex(wasmHmac(key, data)), toHex(nodeHmac(key, data)), `key ${key.length} B, data ${len} B`);
      }
    });

    test('HMAC equals node:crypto for key lengths 0..200 (incl. 63/64/65 and hashed long keys)', () => {
      const r = prng(0xbeef);
      for (let keyLen = 0; keyLen <= 200; keyLen++) {
        const key = r.bytes(keyLen);
        const data = r.bytes(BOUNDARY_LENGTHS[keyLen % BOUNDARY_LENGTHS.length]!);
        assert.equal(toHex(wasmHmac(key, data)), toHex(nodeHmac(key, data)), `key ${keyLen} B, data ${data.length} B`);
      }
    });

    test('random keys and data, data at unaligned addresses', () => {
      const r = prng(0xd1ff);
      for (let i = 0; i < 300; i++) {
        const key = r.bytes(r.int(201));
        const data = r.bytes(r.int(1501));
        const shift = r.int(8);
        assert.equal(toHex(wasmHmac(key, data, shift)), toHex(nodeHmac(key, data)), `case ${i}: key ${key.length}, data ${data.length}, shift ${shift}`);
      }
    });

    test('one init, many computes: the state is reused and never modified', () => {
      const r = prng(0x5ea7);
      const key = r.bytes(20);
      write(KEY_OFF, key);
      init(at(KEY_OFF), key.length, at(STATE_OFF));
      const state = read(STATE_OFF, stateBytes);
      const keyAfter = read(KEY_OFF, key.length);
      assert.deepEqual(keyAfter, key, 'init must not modify the key');
      for (let i = 0; i < 200; i++) {
        const data = r.bytes(i < BOUNDARY_LENGTHS.length ? BOUNDARY_LENGTHS[i]! : r.int(1501));
        write(DATA_OFF, data);
        compute(at(STATE_OFF), at(DATA_OFF), data.length, at(OUT_OFF));
        assert.equal(toHex(read(OUT_OFF, 20)), toHex(nodeHmac(key, data)), `compute #${i}, ${data.length} B`);
        assert.deepEqual(read(STATE_OFF, stateBytes), state, `state changed by compute #${i}`);
      }
    });

    test('two states under different keys are independent', () => {
      const r = prng(0x2);
      const k1 = r.bytes(20);
      const k2 = r.bytes(20);
      write(KEY_OFF, k1);
      init(at(KEY_OFF), k1.length, at(STATE_OFF));
      write(KEY_OFF, k2);
      init(at(KEY_OFF), k2.length, at(STATE2_OFF));
      const data = r.bytes(172);
      write(DATA_OFF, data);
      compute(at(STATE_OFF), at(DATA_OFF), data.length, at(OUT_OFF));
      assert.equal(toHex(read(OUT_OFF, 20)), toHex(nodeHmac(k1, data)));
      compute(at(STATE2_OFF), at(DATA_OFF), data.length, at(OUT_OFF));
      assert.equal(toHex(read(OUT_OFF, 20)), toHex(nodeHmac(k2, data)));
    });

    test('init writes only inside its HMAC_STATE_BYTES area', () => {
      core.u8().fill(SENTINEL, at(STATE_OFF), at(STATE_OFF) + 1024);
      const key = prng(9).bytes(100);
      write(KEY_OFF, key);
      init(at(KEY_OFF), key.length, at(STATE_OFF));
      assert.ok(read(STATE_OFF + stateBytes, 1024 - stateBytes).every((b) => b === SENTINEL));
    });
  });
}
