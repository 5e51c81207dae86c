// Big-endian loads/stores, constant-time comparison and zeroing over linear memory.

@inline export function ld8(p: usize): u32 { return <u32>load<u8>(p); }

@inline export function ld16be(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
}

@inline export function ld32be(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

@inline export function st16be(p: usize, v: u32): void {
  store<u8>(p, <u8>(v >>> 8));
  store<u8>(p, <u8>v, 1);
}

@inline export function st32be(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }

@inline export function ld64be(p: usize): u64 { return bswap<u64>(load<u64>(p)); }
@inline export function st64be(p: usize, v: u64): void { store<u64>(p, bswap<u64>(v)); }

/** Compares n bytes without an early exit: returns 1 when equal, else 0. */
export function ctEqual(a: usize, b: usize, n: i32): i32 {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= <u32>(load<u8>(a + <usize>i) ^ load<u8>(b + <usize>i));
  // (acc - 1) >> 31 is 1 only when acc == 0; no branch on secret data.
  return <i32>(((acc - 1) >>> 31) & 1);
}

export function memzero(p: usize, n: i32): void { memory.fill(p, 0, <usize>n); }

/** dst[i] ^= src[i] for n bytes. */
export function xorInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) store<u64>(dst + <usize>i, load<u64>(dst + <usize>i) ^ load<u64>(src + <usize>i));
  for (; i < n; i++) store<u8>(dst + <usize>i, load<u8>(dst + <usize>i) ^ load<u8>(src + <usize>i));
}
