// GHASH for AES-GCM (SP 800-38D §6.4, RFC 7714), constant time. The implementation is
// chosen at compile time: ghashSimd.ts (i32x4.mul) when the build enables SIMD, else
// ghashScalar.ts (i64.mul). Each file explains its method.
import * as scalar from './ghashScalar';
import * as simd from './ghashSimd';

/** Bytes of precomputed material for one H (the powers H^1..H^4); place it 64-byte aligned. */
export const GHASH_KEY_BYTES: i32 = ASC_FEATURE_SIMD ? simd.KEY_BYTES : scalar.KEY_BYTES;

/** H (16 bytes at hPtr, E_K(0^128)) → GHASH_KEY_BYTES of precomputation at keyPtr. */
export function ghashSetKey(hPtr: usize, keyPtr: usize): void {
  if (ASC_FEATURE_SIMD) simd.setKey(hPtr, keyPtr);
  else scalar.setKey(hPtr, keyPtr);
}

/** Zeroes the 16-byte accumulator; after the last update it holds the GHASH value. */
export function ghashInit(accPtr: usize): void {
  store<u64>(accPtr, 0);
  store<u64>(accPtr, 0, 8);
}

/** Absorbs len bytes, zero-padding a trailing partial block (one call per GCM segment). */
export function ghashUpdate(keyPtr: usize, accPtr: usize, dataPtr: usize, len: i32): void {
  if (ASC_FEATURE_SIMD) simd.update(keyPtr, accPtr, dataPtr, len);
  else scalar.update(keyPtr, accPtr, dataPtr, len);
}

/** Absorbs the final block len(A) || len(C), both in bits, big-endian. */
export function ghashLengths(keyPtr: usize, accPtr: usize, aadBits: u64, ctBits: u64): void {
  if (ASC_FEATURE_SIMD) simd.lengths(keyPtr, accPtr, aadBits, ctBits);
  else scalar.lengths(keyPtr, accPtr, aadBits, ctBits);
}
