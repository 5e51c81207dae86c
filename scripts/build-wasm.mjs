// Builds the four WASM variants from one source: {simd, scalar} x {release, debug}.
// Run by `npm ci` (prepare) and `npm run build:wasm`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(root, 'build'), { recursive: true });

const variants = [
  { name: 'simd.release', flags: ['--enable', 'simd', '-O3', '--noAssert', '--converge'] },
  { name: 'scalar.release', flags: ['-O3', '--noAssert', '--converge'] },
  { name: 'simd.debug', flags: ['--enable', 'simd', '--debug'] },
  { name: 'scalar.debug', flags: ['--debug'] },
];
const only = process.argv[2];
for (const v of variants) {
  if (only && !v.name.includes(only)) continue;
  const out = join(root, 'build', `srtpgate.${v.name}.wasm`);
  execFileSync(process.execPath, [asc, join(root, 'assembly', 'index.ts'),
    '--outFile', out, '--runtime', 'stub',
    ...v.flags], { stdio: 'inherit', cwd: root });
  console.log(`built ${out}`);
}
