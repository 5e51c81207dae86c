// Constant-time GHASH of the WASM core (assembly/ghash.ts) on all four builds: SIMD (i32x4.mul)
// and scalar (i64.mul), each as release (-O3 --noAssert) and debug. The builds are compiled
// here from assembly/ghash.testentry.ts, because assembly/index.ts does not export GHASH yet.
// Cases: the McGrew–Viega GCM test cases 1–6 (GHASH and whole tags, including the non-96-bit
// IVs whose J0 is itself a GHASH), differential tests against @noble/ciphers' GHASH on random
// H and lengths 0..1500, AES-GCM tags against node:crypto with only GHASH computed here, and
// edge cases: every length around the 4-block batch, padding that must not read past the
// data, keys used interleaved, special H values, and no memory growth.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCipheriv, type CipherGCMTypes } from 'node:crypto';
import { GHASH } from '@noble/ciphers/_polyval.js';

const BUILDS = [
  { name: 'simd.release', simd: true, flags: ['--enable', 'simd', '-O3', '--noAssert', '--converge'] },
  { name: 'scalar.release', simd: false, flags: ['-O3', '--noAssert', '--converge'] },
  { name: 'simd.debug', simd: true, flags: ['--enable', 'simd', '--debug'] },
  { name: 'scalar.debug', simd: false, flags: ['--debug'] },
] as const;
type BuildName = (typeof BUILDS)[number]['name'];

interface GhashExports {
  memory: WebAssembly.Memory;
  GHASH_KEY_BYTES: WebAssembly.Global;
  ghashSetKey(hPtr: number, keyPtr: number): void;
  ghashInit(accPtr: number): void;
  ghashUpdate(keyPtr: number, accPtr: number, dataPtr: number, len: number): void;
  ghashLengths(keyPtr: number, accPtr: number, aadBits: bigint, ctBits: bigint): void;
  scratch(): number;
  simdBuild(): number;
}

interface GcmCase {
  name: string; key: string; iv: string; plaintext: string; aad: string;
  h: string; ciphertext: string; ghash: string; tag: string;
}
interface VectorFile<T> { source: string; cases: T[] }
const vectors = JSON.parse(readFileSync(new URL('../vectors/gcm-ghash.json', import.meta.url), 'utf8')) as VectorFile<GcmCase>;

const root = fileURLToPath(new URL('../../', import.meta.url));
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

// Scratch layout (the test entry reserves 64 KiB): two keys, two accumulators, then data.
const KEY_A = 0, KEY_B = 1024, ACC_A = 2048, ACC_B = 2112, H_IN = 2176, DATA = 4096;
const MAX_DATA = 65536 - DATA;

/** One instantiated build plus the calls the tests need. */
class GhashCore {
  readonly e: GhashExports;
  readonly base: number;
  constructor(e: GhashExports) { this.e = e; this.base = e.scratch(); }
  u8(): Uint8Array { return new Uint8Array(this.e.memory.buffer); }
  setKey(h: Uint8Array, keyOff = KEY_A): void {
    this.u8().set(h, this.base + H_IN);
    this.e.ghashSetKey(this.base + H_IN, this.base + keyOff);
  }
  init(accOff = ACC_A): void { this.e.ghashInit(this.base + accOff); }
  update(data: Uint8Array, keyOff = KEY_A, accOff = ACC_A): void {
    assert.ok(data.length <= MAX_DATA);
    this.u8().set(data, this.base + DATA);
    this.e.ghashUpdate(this.base + keyOff, this.base + accOff, this.base + DATA, data.length);
  }
  lengths(aadBytes: number, ctBytes: number, keyOff = KEY_A, accOff = ACC_A): void {
    this.e.ghashLengths(this.base + keyOff, this.base + accOff, BigInt(aadBytes) * 8n, BigInt(ctBytes) * 8n);
  }
  acc(accOff = ACC_A): Uint8Array { return this.u8().slice(this.base + accOff, this.base + accOff + 16); }
  /** GHASH(H, A, C) as GCM defines it: A, C each zero-padded, then len(A) || len(C). */
  ghash(h: Uint8Array, a: Uint8Array, c: Uint8Array): Uint8Array {
    this.setKey(h);
    this.init();
    this.update(a);
    this.update(c);
    this.lengths(a.length, c.length);
    return this.acc();
  }
}

function lengthBlock(aadBytes: number, ctBytes: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(aadBytes) * 8n);
  v.setBigUint64(8, BigInt(ctBytes) * 8n);
  return b;
}

function nobleGhash(h: Uint8Array, a: Uint8Array, c: Uint8Array): Uint8Array {
  const g = new GHASH(h);
  g.update(a);
  g.update(c);
  g.update(lengthBlock(a.length, c.length));
  return g.digest();
}

const ecb = (key: Uint8Array, block: Uint8Array): Uint8Array => {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
};
const xor16 = (a: Uint8Array, b: Uint8Array) => a.map((v, i) => v ^ b[i]!);

/** J0 of SP 800-38D §7.1: IV || 0^31 || 1 for 96-bit IVs, else GHASH(H, {}, IV) on this core. */
function j0(core: GhashCore, h: Uint8Array, iv: Uint8Array): Uint8Array {
  if (iv.length === 12) return Uint8Array.from([...iv, 0, 0, 0, 1]);
  return core.ghash(h, new Uint8Array(0), iv);
}

/** The GCM tag with AES from node:crypto and GHASH from the core. */
function coreTag(core: GhashCore, key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
  const h = ecb(key, new Uint8Array(16));
  const y0 = j0(core, h, iv);
  return xor16(ecb(key, y0), core.ghash(h, aad, ct));
}

function nodeGcm(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, pt: Uint8Array): { ct: Uint8Array; tag: Uint8Array } {
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as CipherGCMTypes, key, iv);
  c.setAAD(aad);
  const ct = new Uint8Array(Buffer.concat([c.update(pt), c.final()]));
  return { ct, tag: new Uint8Array(c.getAuthTag()) };
}

const execFileP = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), 'srtpgate-ghash-'));
const cores = new Map<BuildName, GhashCore>();

before(async () => {
  const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const entry = join(root, 'assembly', 'ghash.testentry.ts');
  // Two at a time: the machine has two cores.
  for (let i = 0; i < BUILDS.length; i += 2) {
    await Promise.all(BUILDS.slice(i, i + 2).map((b) => execFileP(process.execPath,
      [asc, entry, '--outFile', join(outDir, `${b.name}.wasm`), '--runtime', 'stub', ...b.flags], { cwd: root })));
  }
  for (const b of BUILDS) {
    const { instance } = await WebAssembly.instantiate(readFileSync(join(outDir, `${b.name}.wasm`)), {
      env: { abort: (_m: number, _f: number, line: number, col: number) => { throw new Error(`wasm abort at ${line}:${col}`); } },
    });
    cores.set(b.name, new GhashCore(instance.exports as unknown as GhashExports));
  }
});
after(() => rmSync(outDir, { recursive: true, force: true }));

const coreOf = (name: BuildName): GhashCore => {
  const c = cores.get(name);
  if (!c) throw new Error(`build ${name} missing`);
  return c;
};

test('vector file has a source and six cases', () => {
  assert.match(vectors.source, /McGrew/);
  assert.equal(vectors.cases.length, 6);
});

for (const build of BUILDS) {
  describe(`ghash ${build.name}`, () => {
    test('build flavour and key size', () => {
      const core = coreOf(build.name);
      assert.equal(core.e.simdBuild(), build.simd ? 1 : 0);
      const keyBytes = core.e.GHASH_KEY_BYTES.value as number;
      assert.equal(keyBytes % 16, 0);
      assert.ok(keyBytes > 0 && keyBytes <= KEY_B - KEY_A, `GHASH_KEY_BYTES ${keyBytes}`);
    });

    for (const v of vectors.cases) {
      test(`${v.name}: GHASH(H, A, C)`, () => {
        const core = coreOf(build.name);
        assert.equal(toHex(core.ghash(fromHex(v.h), fromHex(v.aad), fromHex(v.ciphertext))), v.ghash);
      });
      test(`${v.name}: whole tag with AES from node:crypto`, () => {
        const core = coreOf(build.name);
        const key = fromHex(v.key), iv = fromHex(v.iv);
        assert.equal(toHex(ecb(key, new Uint8Array(16))), v.h);
        const ref = nodeGcm(key, iv, fromHex(v.aad), fromHex(v.plaintext));
        assert.equal(toHex(ref.ct), v.ciphertext);
        assert.equal(toHex(ref.tag), v.tag);
        assert.equal(toHex(coreTag(core, key, iv, fromHex(v.aad), fromHex(v.ciphertext))), v.tag);
      });
    }

    test('differential vs @noble/ciphers GHASH: random H, AAD and ciphertext lengths 0..1500', () => {
      const core = coreOf(build.name);
      const r = prng(0x6a5 + (build.simd ? 1 : 2));
      for (let i = 0; i < 500; i++) {
        const h = r.bytes(16), a = r.bytes(r.int(1501)), c = r.bytes(r.int(1501));
        assert.equal(toHex(core.ghash(h, a, c)), toHex(nobleGhash(h, a, c)), `case ${i}: |A|=${a.length} |C|=${c.length}`);
      }
    });

    test('every length 0..200 (batch and partial-block boundaries) vs noble', () => {
      const core = coreOf(build.name);
      const r = prng(77);
      const h = r.bytes(16), data = r.bytes(200);
      for (let n = 0; n <= 200; n++) {
        const c = data.subarray(0, n);
        assert.equal(toHex(core.ghash(h, new Uint8Array(0), c)), toHex(nobleGhash(h, new Uint8Array(0), c)), `len ${n}`);
      }
    });

    test('one long segment (60000 bytes) vs noble', () => {
      const core = coreOf(build.name);
      const r = prng(4242);
      const h = r.bytes(16), a = r.bytes(13), c = r.bytes(60000);
      assert.equal(toHex(core.ghash(h, a, c)), toHex(nobleGhash(h, a, c)));
    });

    test('AES-128-GCM and AES-256-GCM tags vs node:crypto (only GHASH from the core)', () => {
      const core = coreOf(build.name);
      const r = prng(0x7714);
      for (let i = 0; i < 120; i++) {
        const key = r.bytes(i % 2 === 0 ? 16 : 32);
        // Mostly the 96-bit IVs of RFC 7714; some others exercise J0 = GHASH(H, {}, IV).
        const iv = r.bytes(i % 10 === 9 ? 1 + r.int(40) : 12);
        const aad = r.bytes(r.int(i % 3 === 0 ? 1501 : 24)), pt = r.bytes(r.int(1501));
        const ref = nodeGcm(key, iv, aad, pt);
        assert.equal(toHex(coreTag(core, key, iv, aad, ref.ct)), toHex(ref.tag), `case ${i}: key ${key.length * 8} bits, |IV|=${iv.length}`);
      }
    });

    test('the trailing partial block is zero-padded: bytes after the data neither count nor change', () => {
      const core = coreOf(build.name);
      const r = prng(9);
      const h = r.bytes(16), c = r.bytes(37);
      const expected = nobleGhash(h, new Uint8Array(0), c);
      core.setKey(h);
      core.init();
      const mem = core.u8();
      mem.fill(0xa5, core.base + DATA, core.base + DATA + 256);
      mem.set(c, core.base + DATA);
      const before = mem.slice(core.base + DATA, core.base + DATA + 256);
      core.e.ghashUpdate(core.base + KEY_A, core.base + ACC_A, core.base + DATA, c.length);
      assert.deepEqual(core.u8().slice(core.base + DATA, core.base + DATA + 256), before);
      core.lengths(0, c.length);
      assert.equal(toHex(core.acc()), toHex(expected));
    });

    test('update with len 0 leaves the accumulator alone; updates split on 16-byte boundaries chain', () => {
      const core = coreOf(build.name);
      const r = prng(10);
      const h = r.bytes(16), c = r.bytes(16 * 13 + 5);
      core.setKey(h);
      core.init();
      core.update(c.subarray(0, 16 * 5));
      const mid = core.acc();
      core.update(new Uint8Array(0));
      assert.deepEqual(core.acc(), mid);
      core.update(c.subarray(16 * 5, 16 * 6));
      core.update(c.subarray(16 * 6));
      core.lengths(0, c.length);
      assert.equal(toHex(core.acc()), toHex(nobleGhash(h, new Uint8Array(0), c)));
    });

    test('two keys and two accumulators used interleaved stay independent', () => {
      const core = coreOf(build.name);
      const r = prng(11);
      const h1 = r.bytes(16), h2 = r.bytes(16);
      const a1 = r.bytes(20), c1 = r.bytes(170), a2 = r.bytes(12), c2 = r.bytes(1200);
      core.setKey(h1, KEY_A);
      core.setKey(h2, KEY_B);
      core.init(ACC_A);
      core.init(ACC_B);
      core.update(a1, KEY_A, ACC_A);
      core.update(a2, KEY_B, ACC_B);
      core.update(c1, KEY_A, ACC_A);
      core.update(c2, KEY_B, ACC_B);
      core.lengths(a1.length, c1.length, KEY_A, ACC_A);
      core.lengths(a2.length, c2.length, KEY_B, ACC_B);
      assert.equal(toHex(core.acc(ACC_A)), toHex(nobleGhash(h1, a1, c1)));
      assert.equal(toHex(core.acc(ACC_B)), toHex(nobleGhash(h2, a2, c2)));
    });

    test('ghashSetKey does not depend on what the key area held before', () => {
      const core = coreOf(build.name);
      const r = prng(12);
      const h = r.bytes(16), a = r.bytes(7), c = r.bytes(300);
      const keyBytes = core.e.GHASH_KEY_BYTES.value as number;
      core.u8().fill(0xff, core.base + KEY_A, core.base + KEY_A + keyBytes);
      const first = toHex(core.ghash(h, a, c));
      core.u8().set(r.bytes(keyBytes), core.base + KEY_A);
      assert.equal(toHex(core.ghash(h, a, c)), first);
      assert.equal(first, toHex(nobleGhash(h, a, c)));
    });

    test('special H: 0 gives 0, 1 (0x80 00…) gives the XOR of the blocks, all-ones vs noble', () => {
      const core = coreOf(build.name);
      const r = prng(13);
      const c = r.bytes(16 * 9);
      const zero = new Uint8Array(16);
      assert.equal(toHex(core.ghash(zero, r.bytes(30), c)), '0'.repeat(32));
      const one = new Uint8Array(16);
      one[0] = 0x80;
      const sum = new Uint8Array(16);
      for (let i = 0; i < c.length; i++) sum[i % 16] ^= c[i]!;
      const lb = lengthBlock(0, c.length);
      assert.equal(toHex(core.ghash(one, new Uint8Array(0), c)), toHex(xor16(sum, lb)));
      const ones = new Uint8Array(16).fill(0xff);
      assert.equal(toHex(core.ghash(ones, c.subarray(0, 33), c)), toHex(nobleGhash(ones, c.subarray(0, 33), c)));
    });

    test('ghashLengths takes 64-bit bit counts beyond 2^32', () => {
      const core = coreOf(build.name);
      const r = prng(14);
      const h = r.bytes(16);
      core.setKey(h);
      core.init();
      core.e.ghashLengths(core.base + KEY_A, core.base + ACC_A, 0x0123456789abcdefn, 0xfedcba9876543210n);
      const lb = fromHex('0123456789abcdeffedcba9876543210');
      const g = new GHASH(h);
      g.update(lb);
      assert.equal(toHex(core.acc()), toHex(g.digest()));
    });

    test('no memory growth over 10^4 packets', () => {
      const core = coreOf(build.name);
      const r = prng(15);
      const before = core.e.memory.buffer.byteLength;
      core.setKey(r.bytes(16));
      const a = r.bytes(12), c = r.bytes(160);
      for (let i = 0; i < 10_000; i++) {
        core.init();
        core.update(a);
        core.update(c);
        core.lengths(a.length, c.length);
      }
      assert.equal(core.e.memory.buffer.byteLength, before);
    });
  });
}
