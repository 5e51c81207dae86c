// Static scratch shared by ghashScalar.ts and ghashSimd.ts. Both files are compiled into every
// build (ghash.ts picks one at compile time), so each keeping its own areas would reserve both.

/** Prepared operands of one batch: scalar needs 8 × 48 bytes, SIMD 4 × 112. */
export const GHASH_PREP_BYTES: i32 = 448;
export const GHASH_PREP: usize = memory.data(GHASH_PREP_BYTES, 64);
/** Zero-padded copy of a trailing partial block, and the lengths block. */
export const GHASH_PAD: usize = memory.data(16, 16);
