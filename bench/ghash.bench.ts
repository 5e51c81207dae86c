// ns per ghashUpdate call (176 bytes: a 160-byte SRTP payload with a 12-byte header and
// 4-byte tail; 1212 bytes: a 1200-byte payload) for the SIMD and scalar release builds of
// assembly/ghash.ts, beside @noble/ciphers' GHASH.update with its key table built once.
// The builds are compiled here from assembly/ghash.testentry.ts (not yet in assembly/index.ts).
//   node --import tsx bench/ghash.bench.ts     BENCH_TIME=ms per task (default 300)
import { Bench } from 'tinybench';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GHASH } from '@noble/ciphers/_polyval.js';

const TIME = Number(process.env.BENCH_TIME ?? 300);
const INNER = 64; // calls per sample: a single call is too short for the timer
const SIZES = [176, 1212];
const BUILDS = [
  { name: 'simd.release', flags: ['--enable', 'simd', '-O3', '--noAssert', '--converge'] },
  { name: 'scalar.release', flags: ['-O3', '--noAssert', '--converge'] },
];

interface GhashExports {
  memory: WebAssembly.Memory;
  ghashSetKey(hPtr: number, keyPtr: number): void;
  ghashInit(accPtr: number): void;
  ghashUpdate(keyPtr: number, accPtr: number, dataPtr: number, len: number): void;
  scratch(): number;
}

const root = fileURLToPath(new URL('../', import.meta.url));
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const outDir = mkdtempSync(join(tmpdir(), 'srtpgate-ghash-bench-'));
const h = randomBytes(16);
const bench = new Bench({ time: TIME, warmup: true });

try {
  for (const b of BUILDS) {
    const out = join(outDir, `${b.name}.wasm`);
    execFileSync(process.execPath, [asc, join(root, 'assembly', 'ghash.testentry.ts'), '--outFile', out,
      '--runtime', 'stub', ...b.flags], { cwd: root, stdio: 'inherit' });
    const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
    const e = instance.exports as unknown as GhashExports;
    const s = e.scratch(), key = s, acc = s + 1024, data = s + 2048;
    new Uint8Array(e.memory.buffer).set(h, acc);
    e.ghashSetKey(acc, key);
    e.ghashInit(acc);
    for (const size of SIZES) {
      new Uint8Array(e.memory.buffer).set(randomBytes(size), data);
      bench.add(`${b.name} ${size}`, () => { for (let i = 0; i < INNER; i++) e.ghashUpdate(key, acc, data, size); });
    }
  }
  for (const size of SIZES) {
    const buf = randomBytes(size);
    const g = new GHASH(h, size);
    bench.add(`noble ${size}`, () => { for (let i = 0; i < INNER; i++) g.update(buf); });
  }

  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result as { latency?: { p50: number } };
    const [impl, size] = t.name.split(' ');
    const ns = ((r.latency?.p50 ?? NaN) * 1e6) / INNER;
    return { impl, bytes: Number(size), 'ns/call (p50)': Math.round(ns), 'ns/block': +(ns / Math.ceil(Number(size) / 16)).toFixed(1) };
  });
  console.table(rows);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
