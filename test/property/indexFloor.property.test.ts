// Properties of takeover floors (fast-check), against a naive model and the reference sender:
//  - outbound SRTP: over random floors (ROC wraps and the ends of the range included), random
//    traffic before the floor and random sequences after it, protect never produces an index
//    ≤ floor; what it does produce is byte for byte the reference sender's packet at the model's
//    index, so the index used is the one the model says;
//  - inbound SRTP: no index ≤ floor is ever accepted; above it exactly the model's packets are
//    (unseen, inside the window), and every rejection leaves the context unchanged;
//  - SRTCP: outbound indexes start above the floor; inbound ≤ floor is never accepted.
// SRTP_PROP_SEED=<n> replays a run; numRuns keep the file well under 20 s.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CryptoCore } from '../../src/crypto/CryptoCore.ts';
import { Status } from '../../src/crypto/abi.ts';
import { suiteByName, type CryptoSuite } from '../../src/crypto/suites.ts';
import { RefSrtpContext, srtcpTrailer, refSuite, type RefSuiteName } from '../reference/refSrtp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { coreRun, makeContext } from '../helpers/coreCtx.ts';

const SEED = process.env.SRTP_PROP_SEED !== undefined ? Number(process.env.SRTP_PROP_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => (SEED === undefined ? { numRuns } : { numRuns, seed: SEED });

const WINDOW = 128;
const SSRC = 0x13572468;
const core = CryptoCore.loadSync({ maxContexts: 8, maxSsrcsPerContext: 2, maxReplayWindow: WINDOW });
const SUITE_NAMES = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'AES_256_CM_HMAC_SHA1_32'] as const;

/** 48-bit floors biased to the interesting places: around a SEQ wrap, ROC 0, the top ROC. */
const floorArb: fc.Arbitrary<number> = fc.tuple(
  fc.oneof(fc.constantFrom(0, 1, 0xfffffffe), fc.nat({ max: 0x7fffffff })),
  fc.oneof(fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff), fc.nat({ max: 0xffff })),
).map(([roc, seq]) => roc * 65536 + seq);
/** Offsets from the floor: traffic before the floor is applied, and after it. */
const offsetsArb = (n: number) => fc.array(fc.integer({ min: -600, max: 600 }), { maxLength: n });

function payloadOf(index: number): Uint8Array {
  return Uint8Array.from({ length: 24 }, (_, i) => (index + i * 13) & 0xff);
}
const plainAt = (index: number): Uint8Array => rtp({ seq: index % 65536, ssrc: SSRC, payload: payloadOf(index) });

interface Fixture { suite: CryptoSuite; key: Uint8Array; salt: Uint8Array; ref: RefSrtpContext }
function fixture(name: (typeof SUITE_NAMES)[number]): Fixture {
  const suite = suiteByName(name)!;
  const key = Uint8Array.from({ length: suite.keyLen }, (_, i) => i * 11 + 1);
  const salt = Uint8Array.from({ length: suite.saltLen }, (_, i) => i * 5 + 3);
  return { suite, key, salt, ref: new RefSrtpContext({ suite: name as RefSuiteName, masterKey: key, masterSalt: salt }) };
}
function refAt(f: Fixture, index: number): Uint8Array {
  f.ref.setRoc(SSRC, Math.floor(index / 65536), 'out');
  return f.ref.protectRtp(plainAt(index));
}

/** The naive model of one direction's SRTP state: highest index and the set of used ones. */
class Model {
  top = -1;
  floor = -1;
  readonly seen = new Set<number>();
  /** What the core must answer for idx: 'ok', or the refusal. */
  verdict(idx: number): 'ok' | 'floor' | 'old' | 'dup' {
    if (idx <= this.floor) return 'floor';
    if (this.top >= 0 && this.top - idx >= WINDOW) return 'old';
    if (this.seen.has(idx)) return 'dup';
    return 'ok';
  }
  accept(idx: number): void { this.seen.add(idx); this.top = Math.max(this.top, idx); }
  applyFloor(f: number): void { this.floor = Math.max(this.floor, f); this.top = Math.max(this.top, f); }
}

const MAX_INDEX = 2 ** 48 - 1;
const inRange = (i: number): boolean => i >= 0 && i <= MAX_INDEX;

/** One context of the SRTP floor property with its fixture, the model, and the floor drawn. */
interface FloorRun { f: Fixture; h: number; m: Model; floor: number }

/**
 * The SRTP floor property in one direction: a context on a random suite, traffic at random
 * offsets from a random floor (its ROC set from the first), the floor applied to the context
 * and the model, then more traffic around it. `step` sends one index and checks the core
 * against the model's verdict for it; `end` checks the context after the last one.
 */
function srtpFloorProperty(direction: 'outbound' | 'inbound', step: (r: FloorRun, idx: number, verdict: ReturnType<Model['verdict']>) => void,
  end: (r: FloorRun) => void = () => {}): fc.IProperty<[(typeof SUITE_NAMES)[number], number, number[], number[]]> {
  return fc.property(fc.constantFrom(...SUITE_NAMES), floorArb, offsetsArb(12), offsetsArb(30), (name, floor, pre, post) => {
    const f = fixture(name);
    const h = makeContext(core, f.suite, direction, f.key, f.salt, { replayWindow: WINDOW });
    try {
      const r: FloorRun = { f, h, m: new Model(), floor };
      const run = (idx: number): void => step(r, idx, r.m.verdict(idx));
      const pres = pre.map((d) => floor + d).filter(inRange);
      if (pres.length) core.setRoc(h, SSRC, Math.floor(pres[0]! / 65536));
      for (const idx of pres) run(idx);
      core.applyIndexFloor(h, SSRC, 'srtp', floor);
      r.m.applyFloor(floor);
      for (const idx of post.map((d) => floor + d).filter(inRange)) run(idx);
      end(r);
    } finally {
      core.destroyContext(h);
    }
  });
}

describe('index floors (property)', () => {
  test('outbound SRTP: never an index ≤ floor; above it, the reference sender\'s bytes at the model\'s index', () => {
    fc.assert(srtpFloorProperty('outbound', ({ f, h, m, floor }, idx, v) => {
      const got = coreRun(core, 'srtpProtect', h, plainAt(idx));
      if (v === 'ok') {
        assert.ok(got instanceof Uint8Array, `index ${idx} (floor ${floor}) refused: ${String(got)}`);
        assert.ok(idx > m.floor);
        assert.deepEqual(got, refAt(f, idx), `index ${idx}: not the reference sender's packet`);
        m.accept(idx);
      } else {
        assert.equal(got, v === 'old' ? Status.REPLAY_OLD : Status.INDEX_REUSE, `index ${idx} (floor ${floor}, ${v})`);
      }
    }, ({ h, m }) => assert.equal(core.indexState(h)[0]?.srtp, m.top)), params(120));
  });

  test('inbound SRTP: never accepts an index ≤ floor; accepts exactly the model\'s packets; rejects change nothing', () => {
    fc.assert(srtpFloorProperty('inbound', ({ f, h, m, floor }, idx, v) => {
      const before = core.snapshot(h);
      const got = coreRun(core, 'srtpUnprotect', h, refAt(f, idx));
      if (v === 'ok') {
        assert.deepEqual(got, plainAt(idx), `index ${idx} (floor ${floor}) refused: ${String(got)}`);
        m.accept(idx);
      } else {
        assert.ok(got === Status.REPLAY_OLD || got === Status.REPLAY_DUPLICATE, `index ${idx} (floor ${floor}, ${v}): ${String(got)}`);
        assert.deepEqual(core.snapshot(h), before, `index ${idx}: a rejection changed state`);
      }
    }), params(120));
  });

  test('SRTCP: outbound starts above the floor; inbound never accepts ≤ floor', () => {
    const srtcpFloor = fc.oneof(fc.constantFrom(0, 1, 2 ** 31 - 2), fc.nat({ max: 2 ** 31 - 2 }));
    fc.assert(fc.property(fc.constantFrom(...SUITE_NAMES), srtcpFloor, fc.nat({ max: 40 }), offsetsArb(20), (name, floor, sentBefore, post) => {
      const f = fixture(name);
      const out = makeContext(core, f.suite, 'outbound', f.key, f.salt, { replayWindow: WINDOW });
      const inb = makeContext(core, f.suite, 'inbound', f.key, f.salt, { replayWindow: WINDOW });
      try {
        for (let i = 0; i < sentBefore; i++) coreRun(core, 'srtcpProtect', out, rtcpRr(SSRC, 4));
        core.applyIndexFloor(out, SSRC, 'srtcp', floor);
        const sp = coreRun(core, 'srtcpProtect', out, rtcpRr(SSRC, 4));
        assert.ok(sp instanceof Uint8Array);
        assert.equal(srtcpTrailer(sp, refSuite(name)).index, Math.max(sentBefore, floor + 1));

        core.applyIndexFloor(inb, SSRC, 'srtcp', floor);
        const seen = new Set<number>();
        let top = floor;
        for (const idx of post.map((d) => floor + d).filter((i) => i >= 0 && i < 2 ** 31)) {
          f.ref.setSrtcpIndex(SSRC, idx);
          const got = coreRun(core, 'srtcpUnprotect', inb, f.ref.protectRtcp(rtcpRr(SSRC, 4)));
          const ok = idx > floor && !seen.has(idx) && top - idx < WINDOW;
          assert.equal(got instanceof Uint8Array, ok, `SRTCP index ${idx} (floor ${floor}): ${String(got)}`);
          if (ok) { seen.add(idx); top = Math.max(top, idx); }
        }
      } finally {
        core.destroyContext(out);
        core.destroyContext(inb);
      }
    }), params(80));
  });
});
