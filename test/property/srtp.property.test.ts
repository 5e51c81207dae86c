// Properties of srtpgate's public SRTP API (fast-check), every suite:
//  - unprotect(protect(p)) = p (SRTP and SRTCP);
//  - any single flipped bit is rejected with a typed error and changes no state;
//  - the replay window equals a naive Set model under reordering, duplicates and gaps;
//  - malformed headers give a typed SrtpError, never another exception, and change no state.
// numRuns are bounded so the file stays well under 20 s.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SUITES, createSrtpSession, SrtpError, type SrtpSession, type SuiteName } from '../../src/index.ts';
import { RefSrtpContext, RefSrtpError, buildRtcp, buildRtp, parseRtpHeader, refSuite, srtcpTrailer, toHex } from '../reference/refSrtp.ts';

const SEED = process.env.SRTP_PROP_SEED !== undefined ? Number(process.env.SRTP_PROP_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => (SEED === undefined ? { numRuns } : { numRuns, seed: SEED });

const suiteArb = fc.constantFrom(...SUITES.map((s): SuiteName => s.name));
const keysArb = (suite: SuiteName) => fc.record({
  masterKey: fc.uint8Array({ minLength: refSuite(suite).keyLen, maxLength: refSuite(suite).keyLen }),
  masterSalt: fc.uint8Array({ minLength: refSuite(suite).saltLen, maxLength: refSuite(suite).saltLen }),
});

interface RtpSpec {
  ssrc: number; seq: number; ts: number; pt: number; marker: boolean;
  csrcs: number[]; ext: { profile: number; words: number } | null; payload: Uint8Array; padding: number;
}
const rtpSpecArb: fc.Arbitrary<RtpSpec> = fc.record({
  ssrc: fc.nat({ max: 0xffffffff }),
  seq: fc.nat({ max: 0xffff }),
  ts: fc.nat({ max: 0xffffffff }),
  pt: fc.nat({ max: 127 }),
  marker: fc.boolean(),
  csrcs: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 15, size: 'max' }),
  ext: fc.option(fc.record({ profile: fc.nat({ max: 0xffff }), words: fc.nat({ max: 24 }) }), { nil: null }),
  payload: fc.uint8Array({ maxLength: 1400, size: 'max' }),
  padding: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
});
function rtpOf(s: RtpSpec, seqOverride?: number): Uint8Array {
  const extData = s.ext ? new Uint8Array(4 * s.ext.words).map((_, i) => (i * 37 + s.seq) & 0xff) : undefined;
  return buildRtp({
    ssrc: s.ssrc, seq: seqOverride ?? s.seq, ts: s.ts, pt: s.pt, marker: s.marker, csrcs: s.csrcs,
    extension: s.ext && extData ? { profile: s.ext.profile, data: extData } : undefined,
    payload: s.payload, padding: s.padding,
  });
}
const rtcpArb = fc.record({
  ssrc: fc.nat({ max: 0xffffffff }),
  words: fc.uint8Array({ maxLength: 1200, size: 'max' }).map((b) => b.subarray(0, b.length - (b.length % 4))),
  pt: fc.integer({ min: 192, max: 223 }),
  count: fc.nat({ max: 31 }),
});

async function session(suite: SuiteName, k: { masterKey: Uint8Array; masterSalt: Uint8Array }, replayWindow?: number): Promise<SrtpSession> {
  return createSrtpSession({
    suite, masterKey: k.masterKey.slice(), masterSalt: k.masterSalt.slice(),
    insecureAllowNullCipher: refSuite(suite).cipher === 'NULL',
    ...(replayWindow === undefined ? {} : { replayWindow }),
  });
}

/** Runs f and returns the SrtpError code it threw, 'ok' when it did not throw; any other
 *  exception type fails the property. */
function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof SrtpError) return e.code;
    throw new Error(`threw something other than SrtpError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

describe('property: round trip', () => {
  test('SRTP: unprotect(protect(p)) = p, and the protected length is p + tag', async () => {
    await fc.assert(fc.asyncProperty(suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), fc.array(rtpSpecArb, { minLength: 1, maxLength: 4 }))),
      async ([suite, keys, specs]) => {
        const s = await session(suite, keys);
        try {
          // One stream: the first spec's SSRC, consecutive sequence numbers from its seq.
          specs.forEach((spec, i) => {
            const p = rtpOf({ ...spec, ssrc: specs[0]!.ssrc }, (specs[0]!.seq + i) & 0xffff);
            const prot = s.protectRtp(p);
            assert.equal(prot.length, p.length + refSuite(suite).rtpTagLen);
            if (refSuite(suite).cipher === 'NULL') assert.deepEqual(prot.subarray(0, p.length), p);
            assert.deepEqual(s.unprotectRtp(prot), p);
          });
        } finally {
          s.close();
        }
      }), params(150));
  });

  test('SRTCP: unprotect(protect(p)) = p, trailer = E || index, the SRTCP tag of the suite', async () => {
    await fc.assert(fc.asyncProperty(suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), fc.array(rtcpArb, { minLength: 1, maxLength: 4 }))),
      async ([suite, keys, packets]) => {
        const s = await session(suite, keys);
        try {
          for (const c of packets) {
            const p = buildRtcp(c.ssrc, c.words, c.pt, c.count);
            const prot = s.protectRtcp(p);
            assert.equal(prot.length, p.length + 4 + refSuite(suite).rtcpTagLen);
            assert.equal(srtcpTrailer(prot, refSuite(suite)).encrypted, refSuite(suite).encrypts);
            assert.deepEqual(s.unprotectRtcp(prot), p);
          }
        } finally {
          s.close();
        }
      }), params(150));
  });
});

describe('property: ROC across 0xFFFF wraps and setRoc (libsrtp ROC_TEST idea)', () => {
  test('random start ROC/seq, forward jumps up to 2^15 − 1 and local swaps: sender = reference, receiver decodes all', async () => {
    await fc.assert(fc.asyncProperty(
      suiteArb.chain((s) => fc.tuple(
        fc.constant(s), keysArb(s),
        fc.nat({ max: 0xffff }), fc.oneof(fc.constant(0), fc.nat({ max: 0xfffffff0 })), fc.nat({ max: 0xffffffff }),
        fc.array(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 32767 }) }), { minLength: 5, maxLength: 60, size: 'max' }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      )),
      async ([suite, keys, startSeq, startRoc, ssrc, jumps, swaps]) => {
        const tx = await session(suite, keys);
        const rx = await session(suite, keys);
        const ref = new RefSrtpContext({ suite, ...keys });
        try {
          if (startRoc !== 0) { tx.setRoc(ssrc, startRoc); rx.setRoc(ssrc, startRoc); ref.setRoc(ssrc, startRoc); }
          let index = BigInt(startRoc) * 65536n + BigInt(startSeq);
          const sent: { p: Uint8Array; prot: Uint8Array; index: bigint }[] = [];
          for (const [k, j] of [0, ...jumps].entries()) {
            index += BigInt(j);
            const p = buildRtp({ ssrc, seq: Number(index & 0xffffn), ts: k, payload: new Uint8Array([k, j & 0xff, 0xab]) });
            const prot = tx.protectRtp(p);
            assert.equal(toHex(prot), toHex(ref.protectRtp(p)), `packet ${k} at index ${index} (ROC ${index >> 16n})`);
            sent.push({ p, prot, index });
          }
          // Deliver in order, except neighbours swapped where the gap between them is small and
          // the receiver still never sees a forward jump of 2^15 or more (Appendix A's limit).
          const order = sent.map((_, i) => i);
          for (let i = 1; i + 1 < order.length; i++) {
            const [prev, a, b] = [sent[order[i - 1]!]!.index, sent[order[i]!]!.index, sent[order[i + 1]!]!.index];
            if (swaps[i] && b - a < 100n && b - prev < 32768n) {
              [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
              i++;
            }
          }
          for (const i of order) {
            const { p, prot, index: idx } = sent[i]!;
            assert.deepEqual(rx.unprotectRtp(prot), p, `receiver, packet ${i} at index ${idx}`);
          }
        } finally {
          tx.close();
          rx.close();
        }
      }), params(150));
  });
});

describe('property: a flipped bit is rejected and changes nothing', () => {
  test('SRTP', async () => {
    await fc.assert(fc.asyncProperty(
      suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), rtpSpecArb, fc.nat({ max: 1_000_000 }))),
      async ([suite, keys, spec, bitSeed]) => {
        const s = await session(suite, keys);
        try {
          // Warm the receiver so there is state to protect: three packets before the target.
          for (let i = 0; i < 3; i++) s.unprotectRtp(s.protectRtp(rtpOf(spec, (spec.seq + i) & 0xffff)));
          const p = rtpOf(spec, (spec.seq + 3) & 0xffff);
          const prot = s.protectRtp(p);
          const bit = bitSeed % (prot.length * 8);
          const byte = bit >> 3;
          const bad = prot.slice();
          bad[byte]! ^= 0x80 >> (bit & 7);
          const before = s.snapshotState();
          const code = codeOf(() => s.unprotectRtp(bad));
          const extLenAt = spec.ext ? 12 + 4 * spec.csrcs.length + 2 : -1;
          const allowed = byte === 0 ? ['E_AUTH_FAIL', 'E_BAD_HEADER', 'E_TOO_SHORT']
            : byte === 2 || byte === 3 ? ['E_AUTH_FAIL', 'E_REPLAY_DUPLICATE', 'E_REPLAY_OLD']
              : byte === extLenAt || byte === extLenAt + 1 ? ['E_AUTH_FAIL', 'E_BAD_HEADER']
                : ['E_AUTH_FAIL'];
          assert.ok(allowed.includes(code), `bit ${bit} (byte ${byte}) of ${prot.length}: got ${code}, allowed ${allowed.join('|')}`);
          assert.deepEqual(s.snapshotState(), before, `state changed by a rejected packet (bit ${bit})`);
          // The genuine packet still goes through afterwards.
          assert.deepEqual(s.unprotectRtp(prot), p);
        } finally {
          s.close();
        }
      }), params(400));
  });

  test('SRTCP', async () => {
    await fc.assert(fc.asyncProperty(
      suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), rtcpArb, fc.nat({ max: 1_000_000 }))),
      async ([suite, keys, c, bitSeed]) => {
        const s = await session(suite, keys);
        try {
          const p = buildRtcp(c.ssrc, c.words, c.pt, c.count);
          for (let i = 0; i < 3; i++) s.unprotectRtcp(s.protectRtcp(p));
          const prot = s.protectRtcp(p);
          const bit = bitSeed % (prot.length * 8);
          const byte = bit >> 3;
          // HMAC suites: E||index then the tag; AEAD suites: the tag then E||index.
          const trailerAt = prot.length - 4 - (refSuite(suite).aead ? 0 : refSuite(suite).rtcpTagLen);
          const bad = prot.slice();
          bad[byte]! ^= 0x80 >> (bit & 7);
          const before = s.snapshotState();
          const code = codeOf(() => s.unprotectRtcp(bad));
          const allowed = byte === 0 ? ['E_AUTH_FAIL', 'E_BAD_HEADER']
            : byte === trailerAt && (bit & 7) === 0 ? ['E_AUTH_FAIL', 'E_UNENCRYPTED_SRTCP']
              : byte >= trailerAt && byte < trailerAt + 4 ? ['E_AUTH_FAIL', 'E_REPLAY_DUPLICATE', 'E_REPLAY_OLD']
                : ['E_AUTH_FAIL'];
          assert.ok(allowed.includes(code), `bit ${bit} (byte ${byte}) of ${prot.length}: got ${code}, allowed ${allowed.join('|')}`);
          assert.deepEqual(s.snapshotState(), before, `state changed by a rejected SRTCP packet (bit ${bit})`);
          assert.deepEqual(s.unprotectRtcp(prot), p);
        } finally {
          s.close();
        }
      }), params(250));
  });
});

/**
 * The replay model (libsrtp's ut_sim idea): a receiver accepts index i iff it has not
 * accepted i before and i > highest − window; otherwise the error says which rule failed.
 */
class NaiveReplayModel {
  readonly #seen = new Set<number>();
  #highest: number | null = null;
  constructor(readonly window: number) {}
  expect(i: number): 'ok' | 'E_REPLAY_OLD' | 'E_REPLAY_DUPLICATE' {
    if (this.#highest !== null && i <= this.#highest - this.window) return 'E_REPLAY_OLD';
    if (this.#seen.has(i)) return 'E_REPLAY_DUPLICATE';
    return 'ok';
  }
  accept(i: number): void {
    this.#seen.add(i);
    if (this.#highest === null || i > this.#highest) this.#highest = i;
  }
}

/** A delivery schedule: a walk over packet numbers with back-steps (reordering), zero steps
 *  (duplicates) and long forward steps (gaps); always starts at packet 0. */
function scheduleArb(total: number, window: number): fc.Arbitrary<number[]> {
  const step = fc.oneof(
    { weight: 6, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: Math.ceil(window / 4) }) },
    { weight: 2, arbitrary: fc.integer({ min: -Math.ceil(window * 1.5), max: 0 }) },
    { weight: 1, arbitrary: fc.integer({ min: window - 2, max: window + 2 }).map((d) => -d) },
  );
  return fc.array(step, { minLength: 50, maxLength: 400, size: 'max' }).map((steps) => {
    const out = [0];
    let cur = 0;
    let highest = 0;
    for (const d of steps) {
      if (d > 0) cur = Math.min(total - 1, highest + d);
      else cur = Math.max(0, highest + d);
      highest = Math.max(highest, cur);
      out.push(cur);
    }
    return out;
  });
}

for (const window of [64, 1024]) {
  describe(`property: replay window ${window} equals the naive Set model`, () => {
    const suite: SuiteName = 'AES_CM_128_HMAC_SHA1_32';
    const keys = { masterKey: new Uint8Array(16).fill(7), masterSalt: new Uint8Array(14).fill(9) };
    const total = 3 * window + 200;
    // Sequence numbers start near the top so the stream crosses a ROC wrap.
    const startSeq = 0x10000 - window - 100;
    const ssrc = 0x5eed0001;
    let srtp: Uint8Array[] = [];
    let srtcp: { prot: Uint8Array; index: number }[] = [];

    before(async () => {
      const tx = await session(suite, keys, window);
      try {
        srtp = Array.from({ length: total }, (_, i) => tx.protectRtp(buildRtp({ ssrc, seq: (startSeq + i) & 0xffff, payload: new Uint8Array([i & 0xff, i >> 8]) })));
        srtcp = Array.from({ length: total }, (_, i) => {
          const prot = tx.protectRtcp(buildRtcp(ssrc, new Uint8Array([0, 0, i & 0xff, i >> 8])));
          return { prot, index: srtcpTrailer(prot).index };
        });
      } finally {
        tx.close();
      }
    });
    after(() => { srtp = []; srtcp = []; });

    test('SRTP', async () => {
      const seen = new Map<string, number>();
      await fc.assert(fc.asyncProperty(scheduleArb(total, window), async (schedule) => {
        const rx = await session(suite, keys, window);
        const model = new NaiveReplayModel(window);
        try {
          schedule.forEach((i, step) => {
            const want = model.expect(i);
            const before = want === 'ok' ? null : rx.snapshotState();
            const got = codeOf(() => rx.unprotectRtp(srtp[i]!));
            seen.set(got, (seen.get(got) ?? 0) + 1);
            assert.equal(got, want, `step ${step}: packet ${i} (seq ${(startSeq + i) & 0xffff})`);
            if (want === 'ok') model.accept(i);
            else assert.deepEqual(rx.snapshotState(), before, `step ${step}: rejected replay changed state`);
          });
        } finally {
          rx.close();
        }
      }), params(window === 64 ? 80 : 40));
      // The schedules must actually exercise all three outcomes.
      for (const k of ['ok', 'E_REPLAY_OLD', 'E_REPLAY_DUPLICATE']) assert.ok((seen.get(k) ?? 0) > 0, `no ${k} outcome: ${JSON.stringify([...seen])}`);
    });

    test('SRTCP', async () => {
      const seen = new Map<string, number>();
      await fc.assert(fc.asyncProperty(scheduleArb(total, window), async (schedule) => {
        const rx = await session(suite, keys, window);
        const model = new NaiveReplayModel(window);
        try {
          schedule.forEach((i, step) => {
            const { prot, index } = srtcp[i]!;
            const want = model.expect(index);
            const got = codeOf(() => rx.unprotectRtcp(prot));
            seen.set(got, (seen.get(got) ?? 0) + 1);
            assert.equal(got, want, `step ${step}: SRTCP packet ${i} (index ${index})`);
            if (want === 'ok') model.accept(index);
          });
        } finally {
          rx.close();
        }
      }), params(window === 64 ? 50 : 25));
      for (const k of ['ok', 'E_REPLAY_OLD', 'E_REPLAY_DUPLICATE']) assert.ok((seen.get(k) ?? 0) > 0, `no ${k} outcome: ${JSON.stringify([...seen])}`);
    });
  });
}

describe('property: malformed packets give a typed error and change nothing', () => {
  /** What the header parser must say about p, given `trailer` bytes after the header. */
  function headerVerdict(p: Uint8Array, trailer: number): string {
    try {
      parseRtpHeader(p, trailer);
      return 'ok';
    } catch (e) {
      if (e instanceof RefSrtpError) return e.code;
      throw e;
    }
  }

  type Mutation =
    | { kind: 'truncate'; at: number }
    | { kind: 'cc'; cc: number; cut: number }
    | { kind: 'extlen'; words: number }
    | { kind: 'version'; v: number }
    | { kind: 'garbage'; bytes: Uint8Array };
  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('cc' as const), cc: fc.integer({ min: 1, max: 15 }), cut: fc.nat() }),
    fc.record({ kind: fc.constant('extlen' as const), words: fc.integer({ min: 1, max: 0xffff }) }),
    fc.record({ kind: fc.constant('version' as const), v: fc.constantFrom(0, 1, 3) }),
    fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
  );

  function mutate(p: Uint8Array, m: Mutation): Uint8Array {
    switch (m.kind) {
      case 'truncate': return p.slice(0, m.at % (p.length + 1));
      case 'cc': { const q = p.slice(0, Math.max(12, m.cut % (12 + 4 * m.cc + 1))); q[0] = (q[0]! & 0xf0) | m.cc; return q; }
      case 'extlen': {
        const q = p.slice();
        q[0]! |= 0x10;
        const at = 12 + 4 * (q[0]! & 0x0f);
        if (q.length >= at + 4) { q[at + 2] = m.words >> 8; q[at + 3] = m.words & 0xff; }
        return q;
      }
      case 'version': { const q = p.slice(); q[0] = (q[0]! & 0x3f) | (m.v << 6); return q; }
      case 'garbage': return m.bytes;
    }
  }

  test('SRTP unprotect and protect', async () => {
    await fc.assert(fc.asyncProperty(
      suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), rtpSpecArb, mutationArb, fc.boolean())),
      async ([suite, keys, spec, m, protectFirst]) => {
        const s = await session(suite, keys);
        try {
          s.unprotectRtp(s.protectRtp(rtpOf(spec)));
          const tagLen = refSuite(suite).rtpTagLen;
          const base = protectFirst ? s.protectRtp(rtpOf(spec, (spec.seq + 1) & 0xffff)) : rtpOf(spec, (spec.seq + 1) & 0xffff);
          const bad = mutate(base, m);
          if (toHex(bad) === toHex(base)) return; // the mutation happened to change nothing

          let before = s.snapshotState();
          const u = codeOf(() => s.unprotectRtp(bad));
          const uh = headerVerdict(bad, tagLen);
          if (uh !== 'ok') assert.equal(u, uh, `unprotect of a packet with a bad header (${m.kind})`);
          else assert.notEqual(u, 'ok', `unprotect accepted a mutated packet (${m.kind})`);
          assert.deepEqual(s.snapshotState(), before, `unprotect (${u}) changed state`);

          before = s.snapshotState();
          const ph = headerVerdict(bad, 0);
          const pr = codeOf(() => s.protectRtp(bad));
          if (ph !== 'ok') {
            assert.equal(pr, ph, `protect of a packet with a bad header (${m.kind})`);
            assert.deepEqual(s.snapshotState(), before, `protect (${pr}) changed state`);
          } else if (pr !== 'ok') {
            assert.ok(['E_BAD_PADDING', 'E_INDEX_REUSE', 'E_REPLAY_OLD'].includes(pr), `protect gave ${pr} for a well-formed header`);
            assert.deepEqual(s.snapshotState(), before, `protect (${pr}) changed state`);
          }
        } finally {
          s.close();
        }
      }), params(500));
  });

  test('SRTCP unprotect of short or garbage packets', async () => {
    await fc.assert(fc.asyncProperty(
      suiteArb.chain((s) => fc.tuple(fc.constant(s), keysArb(s), rtcpArb, fc.nat(), fc.uint8Array({ maxLength: 40 }))),
      async ([suite, keys, c, cut, garbage]) => {
        const s = await session(suite, keys);
        try {
          const prot = s.protectRtcp(buildRtcp(c.ssrc, c.words, c.pt, c.count));
          for (const bad of [prot.slice(0, cut % prot.length), garbage]) {
            const before = s.snapshotState();
            const code = codeOf(() => s.unprotectRtcp(bad));
            assert.notEqual(code, 'ok');
            if (bad.length < 8 + 4 + refSuite(suite).rtcpTagLen) assert.equal(code, 'E_TOO_SHORT', `${bad.length}-byte SRTCP`);
            assert.deepEqual(s.snapshotState(), before);
          }
        } finally {
          s.close();
        }
      }), params(200));
  });
});
