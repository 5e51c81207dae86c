// GHASH (SP 800-38D §6.4) on WASM SIMD, in constant time, on i32x4.mul.
//
// Domain: the 16-byte block read big-endian is a 128-bit integer R whose bit 127 - t is
// the coefficient of x^t (GHASH's bit-reflected order). For such reflected values the
// integer carry-less product of R(a) and R(b) is the 255-bit Q with bit 254 - t = coeff
// x^t of a·b, so we multiply reflected values directly and reduce in the reflected domain;
// no bit reversal is needed anywhere, only a byte shuffle.
//
// Carry-less 16×16 → 31-bit products come from i32x4.mul with two-bit holes: each operand is
// split into three masks (bits ≡ 0, 1, 2 mod 3); two masked 16-bit operands put at most 6
// terms into any 3-bit slot, so the slot's low bit is the XOR and carries never reach the
// next slot. Nine lane multiplies per 16×16 product, four products per instruction.
// 128×128 uses three Karatsuba levels (128 → 64 → 32 → 16), i.e. 27 products laid out in 7
// vectors. As in the scalar code, blocks are batched with H^n..H^1 and every linear step
// after the multiplies (hole masking, Karatsuba recombination, reduction) runs once per
// batch. Control flow and addresses depend on lengths only.

import { GHASH_PREP, GHASH_PAD, GHASH_PREP_BYTES } from './ghashScratch';

/** Blocks absorbed per reduction; the key holds H^1..H^BATCH. */
export const BATCH: i32 = 4;
/** Bytes per prepared operand and per key power: the 7 vectors of prepare(). */
const SLOT: i32 = 112;
export const KEY_BYTES: i32 = BATCH * SLOT;

// Operands of the current batch, slot 0 being the one multiplied by H^1.
const PREP: usize = GHASH_PREP;
const PAD: usize = GHASH_PAD;
// Lane masks, read from memory rather than written as v128 constants: V8 rebuilds a v128
// constant at every use inside a loop, which cost ~12% here; a load ahead of the loop
// stays in a register.
const MASKS: usize = memory.data<u32>([
  0x9249, 0x9249, 0x9249, 0x9249,                 // operand bits ≡ 0 (mod 3): 0, 3, …, 15
  0x2492, 0x2492, 0x2492, 0x2492,                 // operand bits ≡ 1: 1, 4, …, 13
  0x4924, 0x4924, 0x4924, 0x4924,                 // operand bits ≡ 2: 2, 5, …, 14
  0x49249249, 0x49249249, 0x49249249, 0x49249249, // product bits ≡ 0: 0, 3, …, 30
  0x92492492, 0x92492492, 0x92492492, 0x92492492, // product bits ≡ 1: 1, 4, …, 31
  0x24924924, 0x24924924, 0x24924924, 0x24924924, // product bits ≡ 2: 2, 5, …, 29
  0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,                 // low half of each u32 lane
], 16);

/** Byte reversal: a big-endian 16-byte block becomes the little-endian 128-bit integer R. */
@inline function rev16(v: v128): v128 {
  return i8x16.shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

/**
 * Writes the 27 Karatsuba operands of R (u16 limbs x0..x7, x0 least significant) as seven
 * i32x4 vectors of zero-extended 16-bit values. Level 1 splits R into 64-bit L = x0..x3,
 * H = x4..x7 and M = L ^ H (limbs m_i = x_i ^ x_{i+4}); level 2 splits each 64-bit T into
 * (t0,t1), (t2,t3) and (t0^t2, t1^t3); level 3 splits each pair (s0,s1) into s0, s1,
 * s0^s1. Lanes are ordered so that recombination can work on whole vectors:
 *   v0 = [x0 x2 x4 x6]  v1 = [x1 x3 x5 x7]  v2 = v0 ^ v1            (pairs of L and H)
 *   v3 = [m0 m2 n0 n2]  v4 = [m1 m3 n1 n3]  v5 = v3 ^ v4            (pairs of M, mids of L, H)
 *   v6 = [a b a^b 0]    with (a, b) = (m0^m2, m1^m3), the middle pair of M
 * where (n0, n1) = (x0^x2, x1^x3) and (n2, n3) = (x4^x6, x5^x7).
 */
@inline function prepare(dst: usize, x: v128): void {
  const lo16 = v128.load(MASKS, 96);
  const zero = i32x4.splat(0);
  // m_i = x_i ^ x_{i+4} in lanes 0..3.
  const m = v128.xor(x, i8x16.shuffle(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  // Lanes 0,1 and 4,5 become t0^t2, t1^t3 of each 64-bit half.
  const n = v128.xor(x, i8x16.shuffle(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
  const z = i8x16.shuffle(m, n, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 24, 25, 26, 27);
  const mm = v128.xor(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  const v0 = v128.and(x, lo16);
  const v1 = i32x4.shr_u(x, 16);
  v128.store(dst, v0);
  v128.store(dst, v1, 16);
  v128.store(dst, v128.xor(v0, v1), 32);
  const v3 = v128.and(z, lo16);
  const v4 = i32x4.shr_u(z, 16);
  v128.store(dst, v3, 48);
  v128.store(dst, v4, 64);
  v128.store(dst, v128.xor(v3, v4), 80);
  // u32 lanes (a | 0), (b | 0), (a | b<<16), 0; folding the halves of each lane then gives
  // [a, b, a^b, 0].
  const s = i8x16.shuffle(mm, zero, 0, 1, 16, 17, 2, 3, 16, 17, 0, 1, 2, 3, 16, 17, 16, 17);
  v128.store(dst, v128.xor(v128.and(s, lo16), i32x4.shr_u(s, 16)), 96);
}

/**
 * XOR over the batch of the lane-wise carry-less 16×16 products of the vectors at xp and
 * hp (both stepping by SLOT). Hole bits are XOR-ed along and cleared once at the end.
 */
function sumMul(xp: usize, hp: usize, n: i32): v128 {
  const ma = v128.load(MASKS), mb = v128.load(MASKS, 16), mc = v128.load(MASKS, 32);
  let z0 = i32x4.splat(0), z1 = i32x4.splat(0), z2 = i32x4.splat(0);
  for (let j = 0; j < n; j++) {
    const x = v128.load(xp), h = v128.load(hp);
    const xa = v128.and(x, ma), xb = v128.and(x, mb), xc = v128.and(x, mc);
    const ha = v128.and(h, ma), hb = v128.and(h, mb), hc = v128.and(h, mc);
    // Bit positions add, so mask a times mask b lands on slots ≡ a + b (mod 3).
    z0 = v128.xor(z0, v128.xor(i32x4.mul(xa, ha), v128.xor(i32x4.mul(xb, hc), i32x4.mul(xc, hb))));
    z1 = v128.xor(z1, v128.xor(i32x4.mul(xa, hb), v128.xor(i32x4.mul(xb, ha), i32x4.mul(xc, hc))));
    z2 = v128.xor(z2, v128.xor(i32x4.mul(xa, hc), v128.xor(i32x4.mul(xb, hb), i32x4.mul(xc, ha))));
    xp += <usize>SLOT;
    hp += <usize>SLOT;
  }
  return v128.or(
    v128.or(v128.and(z0, v128.load(MASKS, 48)), v128.and(z1, v128.load(MASKS, 64))),
    v128.and(z2, v128.load(MASKS, 80)));
}

/**
 * Level-3 recombination of four 16×16 Karatsuba triples held lane-wise in (p0, p1, pm):
 * returns the two 32×32 products of lanes 0,1 (lo) or lanes 2,3 (hi) as u64 lanes.
 */
@inline function join32lo(p0: v128, p1: v128, mid: v128): v128 {
  return v128.xor(v128.xor(i64x2.extend_low_i32x4_u(p0), i64x2.shl(i64x2.extend_low_i32x4_u(mid), 16)),
    i64x2.shl(i64x2.extend_low_i32x4_u(p1), 32));
}
@inline function join32hi(p0: v128, p1: v128, mid: v128): v128 {
  return v128.xor(v128.xor(i64x2.extend_high_i32x4_u(p0), i64x2.shl(i64x2.extend_high_i32x4_u(mid), 16)),
    i64x2.shl(i64x2.extend_high_i32x4_u(p1), 32));
}

/** Returns Σ_{j<n} PREP[j] · key power j+1 mod the GHASH polynomial, as reflected R. */
function mulBatch(keyPtr: usize, n: i32): v128 {
  const p0 = sumMul(PREP, keyPtr, n);
  const p1 = sumMul(PREP + 16, keyPtr + 16, n);
  const p2 = sumMul(PREP + 32, keyPtr + 32, n);
  const p3 = sumMul(PREP + 48, keyPtr + 48, n);
  const p4 = sumMul(PREP + 64, keyPtr + 64, n);
  const p5 = sumMul(PREP + 80, keyPtr + 80, n);
  const p6 = sumMul(PREP + 96, keyPtr + 96, n);
  // Level 3: 16 → 32 bits.
  const mid012 = v128.xor(p2, v128.xor(p0, p1));
  const mid345 = v128.xor(p5, v128.xor(p3, p4));
  const rL = join32lo(p0, p1, mid012);   // [(x0,x1), (x2,x3)] products: halves of L
  const rH = join32hi(p0, p1, mid012);   // [(x4,x5), (x6,x7)]: halves of H
  const rM = join32lo(p3, p4, mid345);   // [(m0,m1), (m2,m3)]: halves of M
  const rN = join32hi(p3, p4, mid345);   // [(n0,n1), (n2,n3)]: middles of L and H
  const a = <u64><u32>i32x4.extract_lane(p6, 0);
  const b = <u64><u32>i32x4.extract_lane(p6, 1);
  const ab = <u64><u32>i32x4.extract_lane(p6, 2);
  const rMM = a ^ ((ab ^ a ^ b) << 16) ^ (b << 32); // middle of M
  // Level 2: 32 → 64 bits, each 64×64 product as (lo, hi) words.
  const l0 = <u64>i64x2.extract_lane(rL, 0), l1 = <u64>i64x2.extract_lane(rL, 1);
  const h0 = <u64>i64x2.extract_lane(rH, 0), h1 = <u64>i64x2.extract_lane(rH, 1);
  const m0 = <u64>i64x2.extract_lane(rM, 0), m1 = <u64>i64x2.extract_lane(rM, 1);
  const nL = <u64>i64x2.extract_lane(rN, 0) ^ l0 ^ l1;
  const nH = <u64>i64x2.extract_lane(rN, 1) ^ h0 ^ h1;
  const nM = rMM ^ m0 ^ m1;
  const L0 = l0 ^ (nL << 32), L1 = l1 ^ (nL >> 32);
  const H0 = h0 ^ (nH << 32), H1 = h1 ^ (nH >> 32);
  const M0 = m0 ^ (nM << 32), M1 = m1 ^ (nM >> 32);
  // Level 1: 64 → 128 bits, Q = q3:q2:q1:q0 (255 bits).
  const q0 = L0, q1 = L1 ^ M0 ^ L0 ^ H0, q2 = H0 ^ M1 ^ L1 ^ H1, q3 = H1;
  // Reflected reduction. U = Q >> 127 holds x^0..x^127 and V = Q << 1 (mod 2^128) holds
  // x^128..x^255, each reflected. x^128 ≡ 1 + x + x^2 + x^7, and multiplying by x^k is a
  // right shift by k here; bits shifted out below bit 0 are x^128.. again and come back,
  // reflected, as E (degree ≤ 5), whose fold cannot spill.
  const vh = (q1 << 1) | (q0 >> 63), vl = q0 << 1;
  const uh = (q3 << 1) | (q2 >> 63), ul = (q2 << 1) | (q1 >> 63);
  const eh = (vl << 63) ^ (vl << 62) ^ (vl << 57);
  const rh = uh ^ vh ^ (vh >> 1) ^ (vh >> 2) ^ (vh >> 7) ^ eh ^ (eh >> 1) ^ (eh >> 2) ^ (eh >> 7);
  const rl = ul ^ vl ^ ((vl >> 1) | (vh << 63)) ^ ((vl >> 2) | (vh << 62)) ^ ((vl >> 7) | (vh << 57));
  return i64x2.replace_lane(i64x2.splat(rl), 1, rh);
}

export function setKey(hPtr: usize, keyPtr: usize): void {
  // Compile-time check (in a function, so that no start function is emitted).
  if (BATCH * SLOT > GHASH_PREP_BYTES) ERROR('GHASH_PREP too small for the SIMD batch');
  const h = rev16(v128.load(hPtr));
  prepare(keyPtr, h);
  let c = h;
  for (let p = 1; p < BATCH; p++) {
    prepare(PREP, c);
    c = mulBatch(keyPtr, 1);
    prepare(keyPtr + <usize>(p * SLOT), c);
  }
  memory.fill(PREP, 0, <usize>SLOT);
}

export function update(keyPtr: usize, accPtr: usize, dataPtr: usize, len: i32): void {
  if (len <= 0) return;
  let acc = rev16(v128.load(accPtr));
  let blocks = (len + 15) >> 4;
  const tail = len & 15;
  let src = dataPtr;
  while (blocks > 0) {
    const n = blocks < BATCH ? blocks : BATCH;
    for (let j = 0; j < n; j++) {
      let p = src;
      if (tail != 0 && j == blocks - 1) {
        memory.fill(PAD, 0, 16);
        memory.copy(PAD, src, <usize>tail);
        p = PAD;
      }
      let x = rev16(v128.load(p));
      if (j == 0) x = v128.xor(x, acc);
      prepare(PREP + <usize>((n - 1 - j) * SLOT), x);
      src += 16;
    }
    acc = mulBatch(keyPtr, n);
    blocks -= n;
  }
  v128.store(accPtr, rev16(acc));
}

export function lengths(keyPtr: usize, accPtr: usize, aadBits: u64, ctBits: u64): void {
  store<u64>(PAD, bswap<u64>(aadBits));
  store<u64>(PAD, bswap<u64>(ctBits), 8);
  update(keyPtr, accPtr, PAD, 16);
}
