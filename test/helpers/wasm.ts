// Loads every WASM build (simd/scalar × release/debug) raw, for tests of the primitives.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const VARIANTS = ['simd.release', 'scalar.release', 'simd.debug', 'scalar.debug'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface RawCore {
  variant: Variant;
  exports: Record<string, unknown>;
  memory: WebAssembly.Memory;
  /** Fresh view each call: memory may have grown. */
  u8(): Uint8Array;
  fn<T extends (...a: number[]) => number | void | bigint>(name: string): T;
  /** Pointer to a scratch area of `scratchSize` bytes reserved for tests. */
  scratch: number;
  scratchSize: number;
}

export function wasmPath(variant: Variant): string {
  return fileURLToPath(new URL(`../../build/srtpgate.${variant}.wasm`, import.meta.url));
}

export async function loadRaw(variant: Variant): Promise<RawCore> {
  const path = wasmPath(variant);
  if (!existsSync(path)) throw new Error(`${path} missing: run npm run build:wasm`);
  const { instance } = await WebAssembly.instantiate(readFileSync(path), {
    env: { abort: (_m: number, _f: number, line: number, col: number) => { throw new Error(`wasm abort at ${line}:${col}`); } },
  });
  const exports = instance.exports as Record<string, unknown>;
  const memory = exports.memory as WebAssembly.Memory;
  const g = (n: string) => (exports[n] as WebAssembly.Global).value as number;
  const scratchFn = exports.testScratchPtr as () => number;
  return {
    variant, exports, memory,
    u8: () => new Uint8Array(memory.buffer),
    fn: <T>(name: string) => {
      const f = exports[name];
      if (typeof f !== 'function') throw new Error(`no export ${name}`);
      return f as T;
    },
    scratch: scratchFn(),
    scratchSize: g('TEST_SCRATCH_BYTES'),
  } as RawCore;
}
