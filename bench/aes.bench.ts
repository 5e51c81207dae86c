// ns per aesCtrXor call (AES-128, 160- and 1200-byte data) for each WASM build, beside
// node:crypto aes-128-ctr (one cipher object per packet, as the data path would need).
//   node --import tsx bench/aes.bench.ts        BENCH_TIME=ms per task (default 300)
//   BENCH_VARIANTS=simd.release,scalar.release  to limit the builds (default: all four)
import { Bench } from 'tinybench';
import { createCipheriv, randomBytes } from 'node:crypto';
import { VARIANTS, loadRaw, type Variant } from '../test/helpers/wasm.ts';

const TIME = Number(process.env.BENCH_TIME ?? 300);
const INNER = 64; // calls per sample: a single call is too short for the timer
const SIZES = [160, 1200];
const variants = (process.env.BENCH_VARIANTS?.split(',') ?? [...VARIANTS])
  .filter((v): v is Variant => (VARIANTS as readonly string[]).includes(v));

type ExpandFn = (keyPtr: number, keyLen: number, rkPtr: number) => number;
type CtrFn = (rkPtr: number, ctrPtr: number, dataPtr: number, len: number) => void;

const key = randomBytes(16);
const ctr = randomBytes(16);
ctr[14] = 0; ctr[15] = 0; // SRTP AES-CM: block counter in the low 16 bits
const bench = new Bench({ time: TIME, warmup: true });

for (const variant of variants) {
  const core = await loadRaw(variant);
  const expand = core.fn<ExpandFn>('aesExpandKey');
  const ctrXor = core.fn<CtrFn>('aesCtrXor');
  const rk = core.scratch, keyP = core.scratch + 4096, ctrP = keyP + 64, data = keyP + 128;
  core.u8().set(key, keyP);
  core.u8().set(ctr, ctrP);
  if (expand(keyP, 16, rk) !== 0) throw new Error('aesExpandKey failed');
  for (const size of SIZES) {
    core.u8().set(randomBytes(size), data);
    bench.add(`${variant} ${size}`, () => { for (let i = 0; i < INNER; i++) ctrXor(rk, ctrP, data, size); });
  }
}
for (const size of SIZES) {
  const buf = randomBytes(size);
  bench.add(`node:crypto ${size}`, () => {
    for (let i = 0; i < INNER; i++) createCipheriv('aes-128-ctr', key, ctr).update(buf);
  });
}

await bench.run();
// p50 is the headline; min shows the undisturbed speed on a shared, noisy machine.
const rows = bench.tasks.map((t) => {
  const r = t.result as { latency?: { p50: number; min: number } };
  const [impl, size] = t.name.split(' ');
  const ns = (ms: number | undefined) => Math.round(((ms ?? NaN) * 1e6) / INNER);
  return { impl, bytes: Number(size), 'ns/call p50': ns(r.latency?.p50), 'ns/call min': ns(r.latency?.min) };
});
console.table(rows);
