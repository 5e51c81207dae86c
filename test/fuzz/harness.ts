// Mutation-based, outcome-guided fuzzing for the parsers (STYLE rule 25).
//
// Jazzer.js was tried first and does not run here: @jazzer.js/fuzzer 4.0.0's linux-x64 addon
// needs GLIBC 2.38 (Debian 12 has 2.36), and building it from source fetches node headers and
// LLVM sources from outside npm. So this harness does what it can in plain JS:
//   - seeds come from the committed corpora under test/fuzz/corpus/<target>/;
//   - each input is a mutation (bit flips, byte/chunk insert, delete, duplicate, splice with
//     another input, "interesting" numbers, dictionary tokens) of a pool entry;
//   - guidance: every input that produces an outcome not seen before (an error code plus its
//     message with numbers and [context] stripped, or a shape the target reports on success)
//     joins the pool. Distinct error messages are distinct branches of the parser, so the pool
//     grows toward inputs that reach deeper code, which plain random bytes rarely do.
// Budgets: FUZZ_ITERATIONS inputs per target (default per file) and FUZZ_TIME_MS per target
// (default 1500 ms), whichever ends first. FUZZ_SEED makes a run reproducible. A failing input
// is printed as hex (and JSON for text targets) in the assertion message.
import { SeededRng } from '../helpers/rng.ts';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
// With FUZZ_ITERATIONS and no FUZZ_TIME_MS (a long pass), the count alone bounds a target.
export const TIME_MS = Number(process.env.FUZZ_TIME_MS ?? (process.env.FUZZ_ITERATIONS === undefined ? 1500 : Infinity));

/** Iterations for a target: FUZZ_ITERATIONS, else the file's CI default. */
export function iterations(ciDefault: number): number {
  const v = process.env.FUZZ_ITERATIONS;
  return v === undefined ? ciDefault : Number(v);
}

/** The shared seeded generator, with `int(n)` in [0, n) as the mutators use it. */
export class Rng extends SeededRng {
  int(n: number): number { return Math.floor(this.next() * n); }
}

const CORPUS_ROOT = new URL('./corpus/', import.meta.url).pathname;

/** Every file under test/fuzz/corpus/<name>/ (sorted, so runs are reproducible). */
export function loadCorpus(name: string): Uint8Array[] {
  const dir = join(CORPUS_ROOT, name);
  const out: Uint8Array[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) out.push(new Uint8Array(readFileSync(p)));
  }
  if (out.length === 0) throw new Error(`empty corpus ${dir}`);
  return out;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];
const enc = new TextEncoder();

/** One mutation of `input`; `other` is a second pool entry for splicing. */
export function mutate(r: Rng, input: Uint8Array, other: Uint8Array, dictionary: readonly Uint8Array[]): Uint8Array {
  let q = input;
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const n = q.length;
    switch (r.int(11)) {
      case 0: { // flip bits
        if (n === 0) break;
        q = q.slice();
        for (let i = 0, m = 1 + r.int(4); i < m; i++) q[r.int(n)]! ^= 1 << r.int(8);
        break;
      }
      case 1: { // set a byte
        if (n === 0) break;
        q = q.slice();
        q[r.int(n)] = r.pick([0, 0x20, 0x0a, 0x0d, 0x3a, 0x7c, 0x65, 0x69, 0x6c, 0x64, 0x30, 0x39, 0xff, r.int(256)]);
        break;
      }
      case 2: { // delete a chunk
        const at = r.int(n + 1), len = r.int(Math.min(16, n - at) + 1);
        q = concat(q.subarray(0, at), q.subarray(at + len));
        break;
      }
      case 3: { // insert random bytes
        const at = r.int(n + 1);
        q = concat(q.subarray(0, at), r.bytes(1 + r.int(8)), q.subarray(at));
        break;
      }
      case 4: { // duplicate a chunk
        if (n === 0) break;
        const at = r.int(n), len = 1 + r.int(Math.min(64, n - at));
        const to = r.int(n + 1);
        q = concat(q.subarray(0, to), q.subarray(at, at + len), q.subarray(to));
        break;
      }
      case 5: { // splice with another input
        const a = r.int(n + 1), b = r.int(other.length + 1);
        q = concat(q.subarray(0, a), other.subarray(b));
        break;
      }
      case 6: { // truncate
        q = q.subarray(0, r.int(n + 1));
        break;
      }
      case 7: { // an interesting number, as ASCII digits (text formats) or big-endian bytes
        const v = r.pick(INTERESTING) + r.int(3) - 1;
        const at = r.int(n + 1);
        if (r.int(2)) q = concat(q.subarray(0, at), enc.encode(String(r.int(2) ? -v : v)), q.subarray(at));
        else {
          const w = 1 + r.int(4), b = new Uint8Array(w);
          for (let i = 0; i < w; i++) b[i] = (v >>> (8 * (w - 1 - i))) & 0xff;
          q = concat(q.subarray(0, at), b, q.subarray(Math.min(n, at + w)));
        }
        break;
      }
      case 8: // a dictionary token
      case 9: {
        if (dictionary.length === 0) break;
        const at = r.int(n + 1);
        const over = r.int(2) ? 0 : r.int(8);
        q = concat(q.subarray(0, at), r.pick(dictionary), q.subarray(Math.min(n, at + over)));
        break;
      }
      default: { // shuffle a small window
        if (n < 2) break;
        q = q.slice();
        const at = r.int(n - 1), len = Math.min(n - at, 2 + r.int(8));
        for (let i = len - 1; i > 0; i--) { const j = r.int(i + 1); const t = q[at + i]!; q[at + i] = q[at + j]!; q[at + j] = t; }
        break;
      }
    }
  }
  return q.length > 70_000 ? q.subarray(0, 70_000) : q;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** What a target reports for one input: an outcome label for guidance. */
export type Outcome = string;

export interface FuzzTarget {
  /** Shown in the count line. */
  name: string;
  /** Corpus directory under test/fuzz/corpus (or the seeds themselves). */
  corpus: string | readonly Uint8Array[];
  /** Tokens the mutator splices in (protocol keywords). */
  dictionary?: readonly string[];
  /** Also feed pure random byte strings this often (0..1). Default 0.05. */
  randomRate?: number;
  /** Runs one input. Throws (an AssertionError) when an invariant breaks; returns an outcome label. */
  run(input: Uint8Array): Outcome;
}

export interface FuzzResult {
  name: string;
  inputs: number;
  outcomes: number;
  pool: number;
  ms: number;
}

/** Outcome label of a caught error: its code and message with numbers and [k:v] context removed. */
export function errorOutcome(e: unknown): Outcome {
  const err = e as { code?: unknown; message?: unknown };
  const msg = typeof err.message === 'string' ? err.message : String(e);
  return `${String(err.code)}:${msg.replace(/\[[^\]]*\]/g, '').replace(/\d+/g, '#').slice(0, 120)}`;
}

function show(input: Uint8Array): string {
  const hex = Buffer.from(input).toString('hex');
  return `input (${input.length} bytes) hex=${hex.length > 4000 ? `${hex.slice(0, 4000)}…` : hex} text=${JSON.stringify(Buffer.from(input).toString('latin1').slice(0, 2000))}`;
}

/** Runs a target for its budget. Rethrows the first invariant failure with the input attached. */
export function fuzz(target: FuzzTarget, maxInputs: number, timeMs = TIME_MS, seed = SEED): FuzzResult {
  const r = new Rng(seed ^ hash(target.name));
  const seeds = typeof target.corpus === 'string' ? loadCorpus(target.corpus) : [...target.corpus];
  const dictionary = (target.dictionary ?? []).map((t) => enc.encode(t));
  const pool: Uint8Array[] = [];
  const seen = new Set<Outcome>();
  const randomRate = target.randomRate ?? 0.05;
  const started = performance.now();
  let inputs = 0;
  const one = (input: Uint8Array): void => {
    let outcome: Outcome;
    try {
      outcome = target.run(input);
    } catch (e) {
      const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const wrapped = new Error(`fuzz ${target.name}: invariant broken after ${inputs} inputs (seed ${seed}): ${m}\n${show(input)}`);
      (wrapped as Error & { cause?: unknown }).cause = e;
      throw wrapped;
    }
    inputs++;
    if (!seen.has(outcome)) {
      seen.add(outcome);
      if (pool.length < 4096) pool.push(input);
    }
  };
  // Every seed once, as is.
  for (const s of seeds) { one(s); if (!pool.includes(s)) pool.push(s); }
  while (inputs < maxInputs) {
    // Check the clock every 64 inputs: performance.now() is cheap but not free.
    if ((inputs & 63) === 0 && performance.now() - started > timeMs) break;
    const input = r.next() < randomRate
      ? r.bytes(r.int(256))
      : mutate(r, r.pick(pool), r.pick(pool), dictionary);
    one(input);
  }
  return { name: target.name, inputs, outcomes: seen.size, pool: pool.length, ms: Math.round(performance.now() - started) };
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The count line scripts/fuzz.mjs collects. */
export function report(r: FuzzResult): void {
  console.log(`# fuzz-count ${r.name} inputs=${r.inputs} outcomes=${r.outcomes} pool=${r.pool} ms=${r.ms}`);
}
