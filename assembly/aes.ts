// PLACEHOLDER — being replaced by the constant-time implementation (bitsliced SIMD + scalar).
// Contract:
//   AES_RK_BYTES: bytes an expanded key needs (largest key size), including any header.
//   aesExpandKey(keyPtr, keyLen 16|24|32, rkPtr): writes the expanded key; returns 0 or ST_BAD_PARAM.
//   aesEncryptBlock(rkPtr, inPtr, outPtr): one block (in and out may alias).
//   aesCtrXor(rkPtr, ctrPtr, dataPtr, len): data ^= E(ctr) || E(ctr+1) || ... ; the counter
//     block at ctrPtr is big-endian, incremented on its low 32 bits mod 2^32; ctrPtr's
//     16 bytes are not modified. len may be any value >= 0.
export const AES_RK_BYTES: i32 = 2048;

export function aesExpandKey(keyPtr: usize, keyLen: i32, rkPtr: usize): i32 {
  unreachable();
  return 0;
}
export function aesEncryptBlock(rkPtr: usize, inPtr: usize, outPtr: usize): void {
  unreachable();
}
export function aesCtrXor(rkPtr: usize, ctrPtr: usize, dataPtr: usize, len: i32): void {
  unreachable();
}
