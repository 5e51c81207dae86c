// Constant-time AES of the WASM core (assembly/aes.ts), through the raw exports, on every build:
// FIPS 197 and SP 800-38A known answers, the S-box circuit checked on all 256 inputs against an
// S-box computed here from the field arithmetic, differential tests against node:crypto, the
// low-32-bit counter wrap, and independence of expanded keys.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createCipheriv } from 'node:crypto';
import { VARIANTS, loadRaw, type RawCore } from '../helpers/wasm.ts';

interface BlockCase { name: string; key: string; plaintext: string; ciphertext: string }
interface CtrCase extends BlockCase { counter: string }
interface VectorFile<T> { source: string; cases: T[] }
const readJson = <T>(name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
const fips197 = readJson<VectorFile<BlockCase>>('fips197.json');
const sp80038a = readJson<VectorFile<CtrCase>>('sp800-38a-ctr.json');

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ST_BAD_PARAM = -12;

/** Deterministic xorshift32 so a failure names reproducible inputs. */
function prng(seed: number): { int(n: number): number; bytes(n: number): Uint8Array } {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n) => next() % n,
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; },
  };
}

// ---- reference AES from the field arithmetic (GF(2^8) mod x^8+x^4+x^3+x+1) ----
function gmul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11b;
  }
  return r;
}
function ginv(a: number): number { // a^254; 0 -> 0
  let r = 1;
  for (let e = 254, x = a; e; e >>= 1, x = gmul(x, x)) if (e & 1) r = gmul(r, x);
  return r;
}
const rotl8 = (b: number, n: number) => ((b << n) | (b >> (8 - n))) & 0xff;
const REF_SBOX = Array.from({ length: 256 }, (_, x) => {
  const b = ginv(x);
  return b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63;
});

function refExpand(key: Uint8Array): Uint8Array[] {
  const nk = key.length / 4, nr = nk + 6;
  const w: number[][] = [];
  for (let i = 0; i < nk; i++) w.push([...key.subarray(4 * i, 4 * i + 4)]);
  let rcon = 1;
  for (let i = nk; i < 4 * (nr + 1); i++) {
    let t = [...w[i - 1]!];
    if (i % nk === 0) {
      t = [REF_SBOX[t[1]!]! ^ rcon, REF_SBOX[t[2]!]!, REF_SBOX[t[3]!]!, REF_SBOX[t[0]!]!];
      rcon = gmul(rcon, 2);
    } else if (nk > 6 && i % nk === 4) t = t.map((b) => REF_SBOX[b]!);
    w.push(w[i - nk]!.map((b, j) => b ^ t[j]!));
  }
  return Array.from({ length: nr + 1 }, (_, r) => new Uint8Array(w.slice(4 * r, 4 * r + 4).flat()));
}
function refEncrypt(key: Uint8Array, block: Uint8Array): Uint8Array {
  const rk = refExpand(key), nr = rk.length - 1;
  let s = block.map((b, i) => b ^ rk[0]![i]!);
  for (let r = 1; r <= nr; r++) {
    const sub = s.map((b) => REF_SBOX[b]!);
    const sh = new Uint8Array(16);
    for (let c = 0; c < 4; c++) for (let row = 0; row < 4; row++) sh[4 * c + row] = sub[4 * ((c + row) % 4) + row]!;
    if (r < nr) {
      for (let c = 0; c < 4; c++) {
        const a = sh.slice(4 * c, 4 * c + 4);
        for (let row = 0; row < 4; row++) {
          sh[4 * c + row] = gmul(a[row]!, 2) ^ gmul(a[(row + 1) % 4]!, 3) ^ a[(row + 2) % 4]! ^ a[(row + 3) % 4]!;
        }
      }
    }
    s = sh.map((b, i) => b ^ rk[r]![i]!);
  }
  return s;
}

// ---- node:crypto oracles ----
function ecb(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(data));
}
function nodeCtr(key: Uint8Array, ctr: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createCipheriv(`aes-${key.length * 8}-ctr`, key, ctr).update(data));
}
/** Keystream with the low 32 bits of the counter incremented mod 2^32 (GCM inc32), via ECB. */
function inc32Keystream(key: Uint8Array, ctr: Uint8Array, len: number): Uint8Array {
  const n = Math.ceil(len / 16);
  const blocks = new Uint8Array(16 * n);
  const low = new DataView(ctr.buffer, ctr.byteOffset).getUint32(12);
  for (let i = 0; i < n; i++) {
    blocks.set(ctr.subarray(0, 12), 16 * i);
    new DataView(blocks.buffer).setUint32(16 * i + 12, (low + i) >>> 0);
  }
  return ecb(key, blocks).subarray(0, len);
}

// Scratch layout (64 KiB, 64-byte aligned base).
const RK_OFF = 0;          // expanded key slot 1 (+ guard)
const RK2_OFF = 4096;      // expanded key slot 2 (+ guard)
const KEY_OFF = 8192;
const CTR_OFF = 8256;
const IN_OFF = 8320;
const OUT_OFF = 8384;
const DATA_OFF = 8448;     // up to 1500 + 16 misalignment + guards
const BLOCKS_OFF = 12288;  // 256 blocks
const GUARD = 0x5a;

type ExpandFn = (keyPtr: number, keyLen: number, rkPtr: number) => number;
type BlockFn = (rkPtr: number, inPtr: number, outPtr: number) => void;
type CtrFn = (rkPtr: number, ctrPtr: number, dataPtr: number, len: number) => void;

for (const variant of VARIANTS) {
  describe(`AES, ${variant}`, () => {
    let core: RawCore;
    let expand: ExpandFn;
    let encrypt: BlockFn;
    let ctrXor: CtrFn;
    let rkBytes: number;
    const at = (off: number) => core.scratch + off;
    const write = (off: number, b: Uint8Array) => core.u8().set(b, at(off));
    const read = (off: number, n: number) => core.u8().slice(at(off), at(off) + n);
    const expandAt = (off: number, key: Uint8Array) => {
      write(KEY_OFF, key);
      assert.equal(expand(at(KEY_OFF), key.length, at(off)), 0);
    };
    const encryptBlock = (rkOff: number, block: Uint8Array) => {
      write(IN_OFF, block);
      encrypt(at(rkOff), at(IN_OFF), at(OUT_OFF));
      return read(OUT_OFF, 16);
    };
    /** Runs aesCtrXor on data placed at DATA_OFF + mis, checking guards and the counter. */
    const ctrAt = (rkOff: number, ctr: Uint8Array, data: Uint8Array, mis = 0) => {
      const off = DATA_OFF + 16 + mis;
      core.u8().fill(GUARD, at(DATA_OFF), at(DATA_OFF) + data.length + 64);
      write(off, data);
      write(CTR_OFF, ctr);
      ctrXor(at(rkOff), at(CTR_OFF), at(off), data.length);
      assert.equal(toHex(read(CTR_OFF, 16)), toHex(ctr), 'counter block modified');
      const before = read(DATA_OFF, 16 + mis), after = read(off + data.length, 16);
      assert.ok(before.every((b) => b === GUARD) && after.every((b) => b === GUARD), 'wrote outside data');
      return read(off, data.length);
    };

    before(async () => {
      core = await loadRaw(variant);
      expand = core.fn<ExpandFn>('aesExpandKey');
      encrypt = core.fn<BlockFn>('aesEncryptBlock');
      ctrXor = core.fn<CtrFn>('aesCtrXor');
      rkBytes = (core.exports.AES_RK_BYTES as WebAssembly.Global).value as number;
    });

    test('AES_RK_BYTES bounds what aesExpandKey writes; bad key lengths get ST_BAD_PARAM', () => {
      assert.ok(rkBytes > 0 && rkBytes <= RK2_OFF - 64, `AES_RK_BYTES=${rkBytes}`);
      core.u8().fill(GUARD, at(RK_OFF), at(RK_OFF) + rkBytes + 64);
      for (const len of [16, 24, 32]) expandAt(RK_OFF, prng(len).bytes(len));
      assert.ok(read(RK_OFF + rkBytes, 64).every((b) => b === GUARD), 'expanded key overruns AES_RK_BYTES');
      for (const len of [0, 1, 8, 15, 17, 20, 23, 25, 31, 33, 48, 64, -16]) {
        assert.equal(expand(at(KEY_OFF), len, at(RK2_OFF)), ST_BAD_PARAM, `keyLen ${len}`);
      }
    });

    test(`FIPS 197 Appendix C known answers (${fips197.source})`, () => {
      for (const c of fips197.cases) {
        expandAt(RK_OFF, fromHex(c.key));
        assert.equal(toHex(encryptBlock(RK_OFF, fromHex(c.plaintext))), c.ciphertext, c.name);
        // in place: in and out alias
        write(IN_OFF, fromHex(c.plaintext));
        encrypt(at(RK_OFF), at(IN_OFF), at(IN_OFF));
        assert.equal(toHex(read(IN_OFF, 16)), c.ciphertext, `${c.name} in place`);
      }
    });

    test(`SP 800-38A F.5 CTR known answers (${sp80038a.source})`, () => {
      for (const c of sp80038a.cases) {
        expandAt(RK_OFF, fromHex(c.key));
        assert.equal(toHex(ctrAt(RK_OFF, fromHex(c.counter), fromHex(c.plaintext))), c.ciphertext, c.name);
        // and as decryption
        assert.equal(toHex(ctrAt(RK_OFF, fromHex(c.counter), fromHex(c.ciphertext), 3)), c.plaintext, `${c.name} decrypt`);
      }
    });

    test('reference S-box (GF(2^8) inverse + affine map) and reference AES agree with FIPS 197 and node:crypto', () => {
      assert.deepEqual([REF_SBOX[0x00], REF_SBOX[0x01], REF_SBOX[0x53], REF_SBOX[0xff]], [0x63, 0x7c, 0xed, 0x16]);
      assert.equal(new Set(REF_SBOX).size, 256);
      for (const c of fips197.cases) assert.equal(toHex(refEncrypt(fromHex(c.key), fromHex(c.plaintext))), c.ciphertext);
      const r = prng(7);
      for (const len of [16, 24, 32]) {
        const key = r.bytes(len), blk = r.bytes(16);
        assert.equal(toHex(refEncrypt(key, blk)), toHex(ecb(key, blk)));
      }
    });

    test('S-box circuit, all 256 inputs at every byte position (round 1) and in SubWord (key schedule)', () => {
      // Round 1: plaintext p = rk0 ^ (v,v,...,v), so every state byte enters the first SubBytes as v.
      // A wrong circuit output for any v (at any position) changes that block's ciphertext.
      for (const len of [16, 24, 32]) {
        const key = prng(100 + len).bytes(len);
        expandAt(RK_OFF, key);
        for (let v = 0; v < 256; v++) {
          const p = key.slice(0, 16).map((k) => k ^ v);
          assert.equal(toHex(encryptBlock(RK_OFF, p)), toHex(refEncrypt(key, p)), `AES-${len * 8} S-box input 0x${v.toString(16)}`);
        }
      }
      // Key schedule: the first SubWord(RotWord(w[nk-1])) sees v in all four bytes.
      for (const len of [16, 24, 32]) {
        const r = prng(200 + len);
        for (let v = 0; v < 256; v++) {
          const key = r.bytes(len);
          key.fill(v, len - 4);
          if (len === 32) key.fill(v ^ 0xa5, 12, 16); // AES-256's extra SubWord sees other values
          expandAt(RK_OFF, key);
          const p = r.bytes(16);
          assert.equal(toHex(encryptBlock(RK_OFF, p)), toHex(refEncrypt(key, p)), `AES-${len * 8} SubWord input 0x${v.toString(16)}`);
        }
      }
    });

    test('differential vs node:crypto aes-*-ctr: random keys, counters, lengths 0..1500, misaligned data', () => {
      const r = prng(0xae5 + variant.length);
      const iters = variant.endsWith('debug') ? 60 : 300;
      for (let i = 0; i < iters; i++) {
        const klen = [16, 24, 32][i % 3]!;
        const key = r.bytes(klen), ctr = r.bytes(16), len = i < 20 ? i : r.int(1501);
        ctr[12] = ctr[12]! & 0x7f; // keep the low 32 bits from wrapping (node carries past them)
        const data = r.bytes(len), mis = r.int(16);
        expandAt(RK_OFF, key);
        assert.equal(toHex(ctrAt(RK_OFF, ctr, data, mis)), toHex(nodeCtr(key, ctr, data)),
          `AES-${klen * 8} len=${len} ctr=${toHex(ctr)}`);
      }
    });

    test('differential at batch boundaries (aes-128-ecb keystream)', () => {
      const r = prng(99);
      for (const len of [1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 127, 128, 129, 143, 144, 160, 255, 256, 257, 1200]) {
        const key = r.bytes(16), ctr = r.bytes(16), data = r.bytes(len);
        ctr[12] = 0;
        expandAt(RK_OFF, key);
        const ks = inc32Keystream(key, ctr, len);
        assert.equal(toHex(ctrAt(RK_OFF, ctr, data)), toHex(data.map((b, j) => b ^ ks[j]!)), `len=${len}`);
      }
    });

    test('counter wraps mod 2^32 in its low 32 bits only (GCM inc32), unlike node aes-ctr', () => {
      for (const high of ['000000000000000000000000', 'ffffffffffffffffffffffff']) {
        for (const start of ['fffffffe', 'fffffff9', 'ffffffff']) {
          const key = prng(5).bytes(16);
          const ctr = fromHex(high + start);
          const len = 16 * 11 + 7;
          const data = prng(6).bytes(len);
          expandAt(RK_OFF, key);
          const expect = data.map((b, j) => b ^ inc32Keystream(key, ctr, len)[j]!);
          assert.equal(toHex(ctrAt(RK_OFF, ctr, data)), toHex(expect), `start ${toHex(ctr)}`);
          assert.notEqual(toHex(expect), toHex(nodeCtr(key, ctr, data)), 'node should carry into bit 32');
        }
      }
      // SRTP AES-CM: block counter in the low 16 bits, starting at 0; crossing 0xffff carries into bit 16.
      const key = prng(8).bytes(16), ctr = fromHex('f0f1f2f3f4f5f6f7f8f9fafbfcfdffff');
      const data = prng(9).bytes(40);
      expandAt(RK_OFF, key);
      assert.equal(toHex(ctrAt(RK_OFF, ctr, data)), toHex(nodeCtr(key, ctr, data)));
    });

    test('expanded keys are independent: two slots, interleaved use, leftover state ignored', () => {
      const r = prng(4242);
      const keyA = r.bytes(16), keyB = r.bytes(32), ctrA = r.bytes(16), ctrB = r.bytes(16);
      ctrA[12] = 0; ctrB[12] = 0;
      // The slot content depends on the key only, not on what the slot or the scratch held before.
      core.u8().fill(0xff, at(RK_OFF), at(RK_OFF) + rkBytes);
      expandAt(RK_OFF, keyA);
      const slotA = read(RK_OFF, rkBytes);
      expandAt(RK2_OFF, keyB);
      core.u8().fill(0x00, at(RK_OFF), at(RK_OFF) + rkBytes);
      expandAt(RK_OFF, keyA);
      assert.deepEqual(read(RK_OFF, rkBytes), slotA, 'expanded key depends on leftover state');
      for (let i = 0; i < 6; i++) {
        const len = 1 + r.int(300);
        const data = r.bytes(len);
        const [off, key, ctr] = i % 2 ? [RK2_OFF, keyB, ctrB] : [RK_OFF, keyA, ctrA];
        assert.equal(toHex(ctrAt(off, ctr, data, i)), toHex(nodeCtr(key, ctr, data)), `use ${i}`);
        const blk = r.bytes(16);
        assert.equal(toHex(encryptBlock(off, blk)), toHex(ecb(key, blk)), `block ${i}`);
      }
    });

    test('len 0 leaves data untouched', () => {
      expandAt(RK_OFF, prng(1).bytes(16));
      assert.equal(ctrAt(RK_OFF, new Uint8Array(16), new Uint8Array(0)).length, 0);
    });
  });
}
