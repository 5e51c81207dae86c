// The long fuzz pass: `npm run fuzz [-- <filter>...]`.
//
// Runs each test/fuzz/*.fuzz.test.ts in its own node --test process with a large budget and
// prints how many inputs every target took. CI runs the same files inside `npm test` with
// their small default budgets (each file well under 10 s).
//
// Targets (one file each): bencode/ng requests, SDP, SDES a=crypto, DTLS records, the WASM
// core, the relay's packet path, RTCP SDES walker/rewriter (topology hiding), SDP-derived
// stream rates (mediaRate), the policy ng flags, and the replicated call/index record decoders.
//
// Environment:
//   FUZZ_ITERATIONS       inputs per parser target (default 200000; relay and DTLS endpoints use their share)
//   FUZZ_CORE_ITERATIONS  packets per suite into the WASM core, each also protected (default 50000:
//                         2 × 50000 × 12 suites = 1.2·10^6 packets)
//   FUZZ_TIME_MS          optional time cap per target, ms (default: none, the count decides)
//   FUZZ_SEED             seed (default 0x5eed); a failure prints the input that broke an invariant
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);
const dir = join(root, 'test', 'fuzz');
let files = readdirSync(dir).filter((f) => f.endsWith('.fuzz.test.ts')).sort().map((f) => relative(root, join(dir, f)));
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no fuzz files match'); process.exit(1); }

const iterations = process.env.FUZZ_ITERATIONS ?? '200000';
const coreIterations = process.env.FUZZ_CORE_ITERATIONS ?? '50000';

function run(file) {
  const env = { ...process.env, FUZZ_ITERATIONS: file.endsWith('core.fuzz.test.ts') ? coreIterations : iterations };
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], { cwd: root, env });
    let out = '';
    const take = (chunk) => { out += chunk; };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code) => resolve({ file, code: code ?? 1, out, seconds: (Date.now() - started) / 1000 }));
  });
}

const counts = [];
let failed = 0;
for (const file of files) {
  process.stdout.write(`fuzzing ${file} … `);
  const r = await run(file);
  console.log(`${r.code === 0 ? 'ok' : 'FAILED'} in ${r.seconds.toFixed(1)} s`);
  for (const line of r.out.split('\n')) {
    const m = /# fuzz-count (\S+) inputs=(\d+)(.*)$/.exec(line);
    if (m) counts.push({ target: m[1], inputs: Number(m[2]), detail: m[3].trim() });
    const core = /# fuzz: (\d+) inputs into the WASM core/.exec(line);
    if (core) counts.push({ target: 'wasm-core', inputs: Number(core[1]), detail: '(unprotect + protect, all suites)' });
  }
  if (r.code !== 0) {
    failed++;
    // The failing test's output carries the input (hex and text) that broke an invariant.
    console.log(r.out.split('\n').filter((l) => /✖|Error|invariant|input \(/.test(l)).slice(0, 40).join('\n'));
  }
}

console.log('\ninputs tried per target:');
let total = 0;
for (const c of counts) {
  total += c.inputs;
  console.log(`  ${c.target.padEnd(14)} ${String(c.inputs).padStart(10)}  ${c.detail}`);
}
console.log(`  ${'total'.padEnd(14)} ${String(total).padStart(10)}`);
process.exit(failed ? 1 : 0);
