// GHASH (SP 800-38D §6.4) without carry-less multiply, in constant time, on i64.mul.
//
// Field elements are handled in "normal" form: word n0 holds the coefficients of
// x^0..x^63 (bit i = x^i), n1 those of x^64..x^127. GHASH's byte string puts x^0 in the
// MSB of byte 0, so a little-endian load L of 8 bytes maps to n = brb(L) (bits reversed
// inside each byte) and its big-endian load bswap(L) is rev64(n). Both forms are used.
//
// i64.mul gives only the low 64 bits of a 64×64 product. For a carry-less product
// c = a·b (127 bits), the low half is bmul(a, b) and, because
// rev64(a)·rev64(b) = rev127(c), the high half is rev64(bmul(rev64 a, rev64 b)) >> 1.
// bmul spreads each operand over four masks with three-bit holes (bits ≡ k mod 4): a
// product of two masked words adds at most 16 terms into each 4-bit slot, the low bit of
// the slot is the XOR we want, and the holes absorb the carries (the single slot that can
// reach 16 is the top one, whose carry falls off bit 63).
//
// 128×128 uses one Karatsuba level (three 64×64 products). Blocks go through in batches of
// up to BATCH with the powers H^n..H^1 ("aggregated reduction"): every step after the
// multiplications (hole masking, the three bit reversals, reduction) is linear, so it is
// paid once per batch instead of once per block. Nothing is indexed or branched on by
// secret data: loops and the padding copy depend on lengths only.

import { GHASH_PREP, GHASH_PAD, GHASH_PREP_BYTES } from './ghashScratch';

/** Blocks absorbed per reduction; the key holds H^1..H^BATCH. */
export const BATCH: i32 = 8;
/** Bytes per prepared operand and per key power: six u64 (see storeOperand()). */
const SLOT: i32 = 48;
export const KEY_BYTES: i32 = BATCH * SLOT;

const M0: u64 = 0x1111111111111111;
const M1: u64 = 0x2222222222222222;
const M2: u64 = 0x4444444444444444;
const M3: u64 = 0x8888888888888888;

// Operands of the current batch, in slot order H^1 first (the last block of the batch
// is multiplied by H^1). Scratch because six u64 per block do not fit in registers.
const PREP: usize = GHASH_PREP;
const PAD: usize = GHASH_PAD;
// Reduced product (normal form) handed from mulBatch() to its caller: the tail of PREP,
// which a batch of BATCH blocks leaves free.
const OUT: usize = GHASH_PREP + <usize>(BATCH * SLOT);

/** Reverses the bit order inside each byte (an involution). */
@inline function brb(x: u64): u64 {
  x = ((x >> 1) & 0x5555555555555555) | ((x & 0x5555555555555555) << 1);
  x = ((x >> 2) & 0x3333333333333333) | ((x & 0x3333333333333333) << 2);
  return ((x >> 4) & 0x0F0F0F0F0F0F0F0F) | ((x & 0x0F0F0F0F0F0F0F0F) << 4);
}

@inline function rev64(x: u64): u64 { return bswap<u64>(brb(x)); }

/** Writes the six operands Karatsuba needs for one 128-bit value given in normal form. */
@inline function storeOperand(p: usize, n0: u64, n1: u64, r0: u64, r1: u64): void {
  store<u64>(p, n0);
  store<u64>(p, n1, 8);
  store<u64>(p, n0 ^ n1, 16);
  store<u64>(p, r0, 24);
  store<u64>(p, r1, 32);
  store<u64>(p, r0 ^ r1, 40);
}

/**
 * XOR over the batch of the low 64 bits of the carry-less products of the u64 at xp and
 * hp, both stepping by SLOT. Slots are XOR-ed unmasked across blocks: masking commutes
 * with XOR, so the holes are cleared once at the end.
 */
function sumMulLo(xp: usize, hp: usize, n: i32): u64 {
  let z0: u64 = 0, z1: u64 = 0, z2: u64 = 0, z3: u64 = 0;
  for (let j = 0; j < n; j++) {
    const x = load<u64>(xp), y = load<u64>(hp);
    const x0 = x & M0, x1 = x & M1, x2 = x & M2, x3 = x & M3;
    const y0 = y & M0, y1 = y & M1, y2 = y & M2, y3 = y & M3;
    // Partner masks: bit positions add, so x_a·y_b lands on slots ≡ a + b (mod 4).
    z0 ^= (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
    z1 ^= (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
    z2 ^= (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
    z3 ^= (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
    xp += <usize>SLOT;
    hp += <usize>SLOT;
  }
  return (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3);
}

/**
 * OUT = Σ_{j<n} PREP[j] · H^(j+1) mod x^128 + x^7 + x^2 + x + 1, in normal form.
 */
function mulBatch(keyPtr: usize, n: i32): void {
  const aLo = sumMulLo(PREP, keyPtr, n);
  const bLo = sumMulLo(PREP + 8, keyPtr + 8, n);
  const cLo = sumMulLo(PREP + 16, keyPtr + 16, n);
  const wA = sumMulLo(PREP + 24, keyPtr + 24, n);
  const wB = sumMulLo(PREP + 32, keyPtr + 32, n);
  const wC = sumMulLo(PREP + 40, keyPtr + 40, n);
  // Karatsuba middle term M = C ^ A ^ B, its high half straight from the reversed sums.
  const mLo = cLo ^ aLo ^ bLo;
  const aHi = rev64(wA) >> 1;
  const bHi = rev64(wB) >> 1;
  const mHi = rev64(wC ^ wA ^ wB) >> 1;
  const p0 = aLo, p1 = aHi ^ mLo, p2 = bLo ^ mHi, p3 = bHi;
  // x^128 ≡ x^7 + x^2 + x + 1: fold (p2, p3) down once; p3 has degree ≤ 62, so only its
  // bits 57..62 spill past x^127 and need a second, tiny fold.
  const o = (p3 >> 57) ^ (p3 >> 62) ^ (p3 >> 63);
  const r0 = p0 ^ p2 ^ (p2 << 1) ^ (p2 << 2) ^ (p2 << 7) ^ o ^ (o << 1) ^ (o << 2) ^ (o << 7);
  const r1 = p1 ^ p3 ^ ((p3 << 1) | (p2 >> 63)) ^ ((p3 << 2) | (p2 >> 62)) ^ ((p3 << 7) | (p2 >> 57));
  store<u64>(OUT, r0);
  store<u64>(OUT, r1, 8);
}

@inline function storeKeyPower(keyPtr: usize, power: i32, n0: u64, n1: u64): void {
  storeOperand(keyPtr + <usize>((power - 1) * SLOT), n0, n1, rev64(n0), rev64(n1));
}

export function setKey(hPtr: usize, keyPtr: usize): void {
  // Compile-time check (in a function, so that no start function is emitted): PREP holds
  // BATCH operands and then OUT.
  if (BATCH * SLOT + 16 > GHASH_PREP_BYTES) ERROR('GHASH_PREP too small for the scalar batch');
  const h0 = brb(load<u64>(hPtr)), h1 = brb(load<u64>(hPtr, 8));
  storeKeyPower(keyPtr, 1, h0, h1);
  let c0 = h0, c1 = h1;
  for (let p = 2; p <= BATCH; p++) {
    storeOperand(PREP, c0, c1, rev64(c0), rev64(c1));
    mulBatch(keyPtr, 1);
    c0 = load<u64>(OUT);
    c1 = load<u64>(OUT, 8);
    storeKeyPower(keyPtr, p, c0, c1);
  }
  memory.fill(PREP, 0, <usize>SLOT);
  memory.fill(OUT, 0, 16);
}

export function update(keyPtr: usize, accPtr: usize, dataPtr: usize, len: i32): void {
  if (len <= 0) return;
  // The accumulator stays in byte (little-endian load) form between batches: it is
  // XOR-ed into the first block before that block is converted.
  let la = load<u64>(accPtr), lb = load<u64>(accPtr, 8);
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
      let l0 = load<u64>(p), l1 = load<u64>(p, 8);
      if (j == 0) { l0 ^= la; l1 ^= lb; }
      storeOperand(PREP + <usize>((n - 1 - j) * SLOT), brb(l0), brb(l1), bswap<u64>(l0), bswap<u64>(l1));
      src += 16;
    }
    mulBatch(keyPtr, n);
    la = brb(load<u64>(OUT));
    lb = brb(load<u64>(OUT, 8));
    blocks -= n;
  }
  store<u64>(accPtr, la);
  store<u64>(accPtr, lb, 8);
}

export function lengths(keyPtr: usize, accPtr: usize, aadBits: u64, ctBits: u64): void {
  store<u64>(PAD, bswap<u64>(aadBits));
  store<u64>(PAD, bswap<u64>(ctBits), 8);
  update(keyPtr, accPtr, PAD, 16);
}
