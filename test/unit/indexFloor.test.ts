// Takeover floors in the WASM core (ctxApplyFloor, read back with indexState) on every build:
// an inbound context rejects every index ≤ its floor as a replay without changing state and
// follows the sender above it (across a ROC wrap too); an outbound context refuses ≤ floor and
// what it sends above the floor is byte for byte what a fresh reference sender produces at that
// index, so the far end's receiver (which knows the old ROC) accepts it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoCore, type CoreBuild } from '../../src/crypto/CryptoCore.ts';
import { SUITES, suiteByName, type CryptoSuite } from '../../src/crypto/suites.ts';
import { Status } from '../../src/crypto/abi.ts';
import { RelayError, SrtpError } from '../../src/errors.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { aheadOf } from '../../src/session/indexState.ts';
import { RefSrtpContext, refSuite, srtcpTrailer, type RefSuiteName } from '../reference/refSrtp.ts';
import { rtp, rtcpRr, keyFor } from '../helpers/packets.ts';
import { coreOk, coreRun, makeContext, type CoreOp } from '../helpers/coreCtx.ts';

const BUILDS: { build: CoreBuild; debug: boolean }[] = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false },
  { build: 'simd', debug: true }, { build: 'scalar', debug: true },
];
const SSRC = 0x5eed1234;
const CM80 = suiteByName('AES_CM_128_HMAC_SHA1_80')!;
const REPLAY: readonly number[] = [Status.REPLAY_DUPLICATE, Status.REPLAY_OLD];

function payloadFor(index: number): Uint8Array {
  return Uint8Array.from({ length: 40 }, (_, i) => (index * 7 + i) & 0xff);
}

/** A reference sender's packet at exactly this 48-bit index. */
function refRtpAt(ref: RefSrtpContext, index: number, ssrc = SSRC): Uint8Array {
  ref.setRoc(ssrc, Math.floor(index / 65536), 'out');
  return ref.protectRtp(rtp({ seq: index % 65536, ssrc, payload: payloadFor(index) }));
}

function plainAt(index: number, ssrc = SSRC): Uint8Array {
  return rtp({ seq: index % 65536, ssrc, payload: payloadFor(index) });
}

function keysOf(suite: CryptoSuite): { key: Uint8Array; salt: Uint8Array; ref: () => RefSrtpContext } {
  const key = keyFor(suite.keyLen, 3), salt = keyFor(suite.saltLen, 4);
  return { key, salt, ref: () => new RefSrtpContext({ suite: suite.name as RefSuiteName, masterKey: key, masterSalt: salt }) };
}

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof SrtpError) return e.code; throw e; }
  return 'ok';
}

for (const b of BUILDS) {
  describe(`index floors ${b.build}.${b.debug ? 'debug' : 'release'}`, () => {
    const core = CryptoCore.loadSync({ ...b, maxContexts: 32, maxSsrcsPerContext: 2, maxReplayWindow: 1024 });
    /** A fresh context on `suite`'s test keys, and a reference context on the same keys. */
    const open = (suite: CryptoSuite, direction: 'inbound' | 'outbound', extra: { insecureAllowRepeatTx?: boolean } = {}): { h: number; ref: RefSrtpContext } => {
      const k = keysOf(suite);
      return { h: makeContext(core, suite, direction, k.key, k.salt, extra), ref: k.ref() };
    };
    /** `op` on `packet` fails with one of the `expected` statuses and leaves the context as it was. */
    const refusedUnchanged = (h: number, op: CoreOp, packet: Uint8Array, expected: readonly number[], what: string): void => {
      const before = core.snapshot(h);
      const st = coreRun(core, op, h, packet);
      assert.ok(typeof st === 'number' && expected.includes(st), `${what}: ${String(st)}`);
      assert.deepEqual(core.snapshot(h), before, `${what} changed state`);
    };

    it('inbound SRTP: ≤ floor is a replay and changes nothing; floor+1 is accepted, every suite', () => {
      const floor = 3 * 65536 + 0x1000;
      for (const suite of SUITES) {
        const { h: inb, ref } = open(suite, 'inbound');
        core.applyIndexFloor(inb, SSRC, 'srtp', floor);
        assert.deepEqual(core.indexState(inb), [{ ssrc: SSRC, srtp: floor, srtcp: undefined }]);
        for (const idx of [floor, floor - 1, floor - 100, floor - 1023, floor - 1024, floor - 70000, 65535, 0]) {
          refusedUnchanged(inb, 'srtpUnprotect', refRtpAt(ref, idx), REPLAY, `${suite.name} index ${idx}`);
        }
        assert.deepEqual(coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 1)), plainAt(floor + 1));
        assert.equal(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 1)), Status.REPLAY_DUPLICATE);
        // Reordering above the floor still works; below it nothing does.
        coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 3));
        coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 2));
        assert.ok(REPLAY.includes(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, floor)) as number));
        assert.deepEqual(core.indexState(inb), [{ ssrc: SSRC, srtp: floor + 3, srtcp: undefined }]);
        core.destroyContext(inb);
      }
    });

    it('inbound SRTP: a floor just below a ROC wrap, the sender continues across it', () => {
      const { h: inb, ref } = open(CM80, 'inbound');
      const floor = 5 * 65536 + 0xfff0;
      core.applyIndexFloor(inb, SSRC, 'srtp', floor);
      assert.equal(core.getRoc(inb, SSRC), 5);
      for (let idx = floor + 1; idx <= floor + 40; idx++) {
        assert.deepEqual(coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, idx)), plainAt(idx), `index ${idx}`);
      }
      assert.equal(core.getRoc(inb, SSRC), 6);
      assert.ok(REPLAY.includes(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, floor)) as number));
      // A gap straight after the floor, into the next ROC, is still followed.
      const { h: inb2 } = open(CM80, 'inbound');
      core.applyIndexFloor(inb2, SSRC, 'srtp', floor);
      coreOk(core, 'srtpUnprotect', inb2, refRtpAt(ref, 6 * 65536 + 200));
      assert.equal(core.getRoc(inb2, SSRC), 6);
      core.destroyContext(inb); core.destroyContext(inb2);
    });

    it('inbound SRTP: a floor below what was accepted lowers nothing and closes the gaps under it', () => {
      const { h: inb, ref } = open(CM80, 'inbound');
      for (let idx = 0; idx < 100; idx++) if (idx !== 50 && idx !== 70) coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, idx));
      core.applyIndexFloor(inb, SSRC, 'srtp', 60);
      assert.deepEqual(core.indexState(inb), [{ ssrc: SSRC, srtp: 99, srtcp: undefined }]);
      assert.equal(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, 50)), Status.REPLAY_DUPLICATE);
      coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, 70)); // above the floor: still a late packet
      core.applyIndexFloor(inb, SSRC, 'srtp', 500);
      assert.deepEqual(core.indexState(inb), [{ ssrc: SSRC, srtp: 500, srtcp: undefined }]);
      assert.equal(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, 400)), Status.REPLAY_DUPLICATE);
      coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, 501));
      core.destroyContext(inb);
    });

    it('inbound SRTP: the floor holds after setRoc restarts the window', () => {
      const { h: inb, ref } = open(CM80, 'inbound');
      const floor = 2 * 65536 + 1000;
      core.applyIndexFloor(inb, SSRC, 'srtp', floor);
      assert.equal(core.setRoc(inb, SSRC, 2), Status.OK);
      refusedUnchanged(inb, 'srtpUnprotect', refRtpAt(ref, floor - 10), [Status.REPLAY_OLD], `index ${floor - 10}`);
      coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 5));
      assert.equal(coreRun(core, 'srtpUnprotect', inb, refRtpAt(ref, floor - 3)), Status.REPLAY_DUPLICATE);
      coreOk(core, 'srtpUnprotect', inb, refRtpAt(ref, floor + 2));
      core.destroyContext(inb);
    });

    it('outbound SRTP: ≤ floor is refused (INDEX_REUSE, nothing changes); above it matches a fresh reference sender, every suite', () => {
      // Just below a wrap, so the packets after the floor carry the next ROC.
      const floor = 2 * 65536 + 0xfffd;
      for (const suite of SUITES) {
        const { h: out, ref } = open(suite, 'outbound');
        core.applyIndexFloor(out, SSRC, 'srtp', floor);
        for (const idx of [floor, floor - 1, floor - 1000, floor - 5000, floor - 65536]) {
          refusedUnchanged(out, 'srtpProtect', plainAt(idx), [Status.INDEX_REUSE], `${suite.name} index ${idx}`);
        }
        for (let idx = floor + 1; idx <= floor + 6; idx++) {
          assert.deepEqual(coreOk(core, 'srtpProtect', out, plainAt(idx)), refRtpAt(ref, idx), `${suite.name} index ${idx}`);
        }
        assert.equal(core.getRoc(out, SSRC), 3);
        assert.deepEqual(core.indexState(out), [{ ssrc: SSRC, srtp: floor + 6, srtcp: undefined }]);
        core.destroyContext(out);
      }
    });

    it('outbound SRTP: the far-end receiver that heard relay A accepts relay B from A\'s floor on', () => {
      const { h: a, ref: receiver } = open(CM80, 'outbound');
      const first = 65536 - 300; // A's packets cross a ROC wrap
      for (let idx = first; idx < first + 400; idx++) {
        if (idx === first) receiver.setRoc(SSRC, 0, 'in');
        receiver.unprotectRtp(coreOk(core, 'srtpProtect', a, plainAt(idx)));
      }
      const aState = core.indexState(a);
      assert.deepEqual(aState, [{ ssrc: SSRC, srtp: first + 399, srtcp: undefined }]);
      const { h: b } = open(CM80, 'outbound');
      core.applyIndexFloor(b, SSRC, 'srtp', aState[0]!.srtp! + 50);
      for (let idx = first + 400; idx <= first + 449; idx++) assert.equal(coreRun(core, 'srtpProtect', b, plainAt(idx)), Status.INDEX_REUSE);
      for (let idx = first + 450; idx < first + 500; idx++) {
        assert.deepEqual(receiver.unprotectRtp(coreOk(core, 'srtpProtect', b, plainAt(idx))), plainAt(idx));
      }
      core.destroyContext(a); core.destroyContext(b);
    });

    it('with KDR, both directions use the session keys of the floor\'s index (matches the reference)', () => {
      const key = keyFor(16, 5), salt = keyFor(14, 6);
      const kdr = 4; // new session keys every 16 packets
      const out = core.createContext({ suite: CM80, direction: 'outbound', masterKey: key.slice(), masterSalt: salt.slice(), kdr });
      const inb = core.createContext({ suite: CM80, direction: 'inbound', masterKey: key.slice(), masterSalt: salt.slice(), kdr });
      const floor = 65536 + 0xfff5;
      core.applyIndexFloor(out, SSRC, 'srtp', floor);
      core.applyIndexFloor(inb, SSRC, 'srtp', floor);
      const ref = new RefSrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt, kdr: 2 ** kdr });
      for (let idx = floor + 1; idx <= floor + 40; idx++) {
        const sp = coreOk(core, 'srtpProtect', out, plainAt(idx));
        assert.deepEqual(sp, refRtpAt(ref, idx), `index ${idx}`);
        assert.deepEqual(coreOk(core, 'srtpUnprotect', inb, sp), plainAt(idx));
      }
      core.destroyContext(out); core.destroyContext(inb);
    });

    it('outbound SRTP: the floor holds with insecureAllowRepeatTx and after setRoc', () => {
      const { h: out } = open(CM80, 'outbound', { insecureAllowRepeatTx: true });
      core.applyIndexFloor(out, SSRC, 'srtp', 70000);
      assert.equal(coreRun(core, 'srtpProtect', out, plainAt(69999)), Status.INDEX_REUSE);
      coreOk(core, 'srtpProtect', out, plainAt(70001));
      coreOk(core, 'srtpProtect', out, plainAt(70001)); // repeats above the floor: the insecure flag's business
      assert.equal(core.setRoc(out, SSRC, 1), Status.OK);
      assert.equal(coreRun(core, 'srtpProtect', out, plainAt(70000)), Status.INDEX_REUSE);
      assert.equal(coreRun(core, 'srtpProtect', out, plainAt(65536)), Status.INDEX_REUSE);
      core.destroyContext(out);
    });

    it('outbound SRTCP continues at floor+1 (matching the reference), never lowers, and stops at 2^31-1', () => {
      for (const suite of [CM80, suiteByName('AEAD_AES_128_GCM')!]) {
        const { h: out, ref } = open(suite, 'outbound');
        coreOk(core, 'srtcpProtect', out, rtcpRr(SSRC, 8));
        core.applyIndexFloor(out, SSRC, 'srtcp', 1000);
        assert.deepEqual(core.indexState(out), [{ ssrc: SSRC, srtp: undefined, srtcp: 1000 }]);
        const plain = rtcpRr(SSRC, 16);
        const sent = coreOk(core, 'srtcpProtect', out, plain);
        assert.equal(srtcpTrailer(sent, refSuite(suite.name)).index, 1001);
        ref.setSrtcpIndex(SSRC, 1001);
        assert.deepEqual(sent, ref.protectRtcp(plain));
        core.applyIndexFloor(out, SSRC, 'srtcp', 500);
        assert.equal(srtcpTrailer(coreOk(core, 'srtcpProtect', out, plain), refSuite(suite.name)).index, 1002);
        core.applyIndexFloor(out, SSRC, 'srtcp', 2 ** 31 - 1);
        assert.equal(coreRun(core, 'srtcpProtect', out, plain), Status.KEY_EXPIRED);
        core.destroyContext(out);
      }
    });

    it('inbound SRTCP: ≤ floor is a replay and changes nothing; floor+1 is accepted', () => {
      const { h: inb, ref } = open(CM80, 'inbound');
      core.applyIndexFloor(inb, SSRC, 'srtcp', 5000);
      const at = (i: number): Uint8Array => { ref.setSrtcpIndex(SSRC, i); return ref.protectRtcp(rtcpRr(SSRC, 8)); };
      for (const i of [5000, 4999, 4000, 0]) refusedUnchanged(inb, 'srtcpUnprotect', at(i), REPLAY, `index ${i}`);
      coreOk(core, 'srtcpUnprotect', inb, at(5001));
      assert.equal(coreRun(core, 'srtcpUnprotect', inb, at(5001)), Status.REPLAY_DUPLICATE);
      assert.deepEqual(core.indexState(inb), [{ ssrc: SSRC, srtp: undefined, srtcp: 5001 }]);
      core.destroyContext(inb);
    });

    it('indexState reports what was accepted or sent, per SSRC, and leaves out ROC-only entries', () => {
      const { h: out } = open(CM80, 'outbound');
      assert.deepEqual(core.indexState(out), []);
      core.setRoc(out, 0x1111, 7);
      assert.deepEqual(core.indexState(out), []);
      coreOk(core, 'srtpProtect', out, plainAt(7 * 65536 + 9, 0x1111));
      coreOk(core, 'srtcpProtect', out, rtcpRr(0x1111));
      coreOk(core, 'srtcpProtect', out, rtcpRr(0x1111));
      assert.deepEqual(core.indexState(out), [{ ssrc: 0x1111, srtp: 7 * 65536 + 9, srtcp: 1 }]);
      core.destroyContext(out);
    });

    it('SrtpSession: a second session with the first one\'s high-water mark continues where it must', () => {
      const opts = { suite: 'AES_CM_128_HMAC_SHA1_80' as const, masterKey: keyFor(16, 8), masterSalt: keyFor(14, 9), core };
      const one = createSrtpSessionSync(opts);
      const captured: Uint8Array[] = [];
      for (let idx = 65530; idx < 65540; idx++) {
        const sp = one.protectRtp(plainAt(idx));
        captured.push(sp);
        one.unprotectRtp(sp);
      }
      const state = one.indexState();
      assert.deepEqual(state.srtpOut, [{ ssrc: SSRC, index: 65539 }]);
      assert.deepEqual(state.srtpIn, [{ ssrc: SSRC, index: 65539 }]);
      one.close();
      const two = createSrtpSessionSync(opts);
      two.applyIndexFloor(aheadOf(state, { srtp: 10, srtcp: 0 }));
      assert.equal(codeOf(() => two.protectRtp(plainAt(65549))), 'E_INDEX_REUSE');
      for (const sp of captured) assert.match(codeOf(() => two.unprotectRtp(sp)), /^E_REPLAY_/);
      const sp = two.protectRtp(plainAt(65550));
      assert.deepEqual(two.unprotectRtp(sp), plainAt(65550));
      two.close();
      assert.throws(() => two.indexState(), (e: unknown) => e instanceof RelayError && e.code === 'E_INVALID_STATE');
    });

    it('refuses floors out of range, full SSRC tables and stale handles', () => {
      const { h: inb } = open(CM80, 'inbound');
      assert.equal(codeOf(() => core.applyIndexFloor(inb, SSRC, 'srtp', 2 ** 48)), 'E_BAD_PARAM');
      assert.equal(codeOf(() => core.applyIndexFloor(inb, SSRC, 'srtcp', 2 ** 31)), 'E_BAD_PARAM');
      assert.equal(codeOf(() => core.applyIndexFloor(inb, SSRC, 'srtp', -1)), 'E_BAD_PARAM');
      assert.equal(codeOf(() => core.applyIndexFloor(inb, SSRC, 'srtp', 1.5)), 'E_BAD_PARAM');
      assert.deepEqual(core.indexState(inb), []);
      core.applyIndexFloor(inb, SSRC, 'srtp', 2 ** 48 - 1);
      core.applyIndexFloor(inb, 2, 'srtcp', 2 ** 31 - 1);
      assert.equal(codeOf(() => core.applyIndexFloor(inb, 3, 'srtp', 1)), 'E_SSRC_TABLE_FULL');
      assert.deepEqual(core.indexState(inb), [
        { ssrc: SSRC, srtp: 2 ** 48 - 1, srtcp: undefined }, { ssrc: 2, srtp: undefined, srtcp: 2 ** 31 - 1 },
      ]);
      const x = core.exports;
      assert.equal(x.ctxEntryIndex(inb, 2, 0), BigInt(Status.BAD_PARAM));
      assert.equal(x.ctxEntryIndex(inb, -1, 0), BigInt(Status.BAD_PARAM));
      assert.equal(x.ctxEntryIndex(inb, 0, 2), BigInt(Status.BAD_PARAM));
      assert.equal(x.ctxApplyFloor(inb, 1, 2, 0n), Status.BAD_PARAM);
      core.destroyContext(inb);
      assert.equal(codeOf(() => core.applyIndexFloor(inb, SSRC, 'srtp', 1)), 'E_BAD_CTX');
      assert.equal(codeOf(() => core.indexState(inb)), 'E_BAD_CTX');
    });
  });
}
