// Test-only entry for test/unit/ghash.test.ts and bench/ghash.bench.ts; not part of the ABI.
export * from './ghash';
const SCRATCH: usize = memory.data(65536, 64);
export function scratch(): usize { return SCRATCH; }
export function simdBuild(): i32 { return ASC_FEATURE_SIMD ? 1 : 0; }
