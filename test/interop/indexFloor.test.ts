// Takeover against Debian's libsrtp2 (through the C harness) as the far end:
// - outbound: a libsrtp2 receiver that got packets from srtpgate context A accepts, with no
//   replay or auth failure, everything a second context B (same key, floor = aheadOf(A's
//   state)) sends from floor+1 on — across a ROC wrap that B itself never saw — and A and B
//   together never use an index twice;
// - inbound: B with A's floor refuses every packet libsrtp2 sent A (replayed after the switch)
//   and every index up to the floor, state unchanged, then accepts the sender's later packets.
// Skips without libsrtp2/gcc locally (install command in the message); fails with CI=true.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CryptoCore } from '../../src/crypto/CryptoCore.ts';
import { Status } from '../../src/crypto/abi.ts';
import { suiteByName } from '../../src/crypto/suites.ts';
import { aheadOf, applyStreamIndexFloor, readStreamIndexState } from '../../src/session/indexState.ts';
import { LibsrtpPeer, LIBSRTP_KEY_LENGTHS, skipOrFail, skipReason, srtcpIndexOf, type LibsrtpSuite } from './libsrtp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { coreOk, coreRun, makeContext } from '../helpers/coreCtx.ts';

const SUITES: readonly LibsrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_32', 'AEAD_AES_128_GCM'];
const SSRC = 0x0badcafe;
const MARGIN = { srtp: 64, srtcp: 8 };
const FIRST = 65380; // A's 100 packets end at 65479; the floor (65543) lies past the ROC wrap
const COUNT = 100;
const REPLAY: readonly number[] = [Status.REPLAY_DUPLICATE, Status.REPLAY_OLD];

const plainAt = (index: number): Uint8Array => rtp({ seq: index % 65536, ssrc: SSRC, payload: randomBytes(60) });

describe('index floors against libsrtp2', () => {
  let lib: LibsrtpPeer | null = null;
  let supported: LibsrtpSuite[] = [];
  const core = CryptoCore.loadSync({ maxContexts: 16, maxSsrcsPerContext: 4, maxReplayWindow: 1024 });
  before(async () => {
    lib = await LibsrtpPeer.start();
    if (lib) supported = await lib.suites();
  });
  after(async () => { await lib?.close(); });

  for (const name of SUITES) {
    it(`${name}: libsrtp2 receiver accepts context B from A's high-water mark on; no index is used twice`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      if (!supported.includes(name)) return skipOrFail(t, `this libsrtp2 lacks ${name}`);
      const suite = suiteByName(name)!;
      const len = LIBSRTP_KEY_LENGTHS[name];
      const key = randomBytes(len.key), salt = randomBytes(len.salt);
      const rx = `out-${name}`;
      await lib.session(rx, 'in', name, key, salt);
      const a = makeContext(core, suite, 'outbound', key, salt);
      const used = new Set<number>();
      const usedRtcp = new Set<number>();
      for (let idx = FIRST; idx < FIRST + COUNT; idx++) {
        const plain = plainAt(idx);
        const r = await lib.try('unprotect_rtp', rx, coreOk(core, 'srtpProtect', a, plain));
        assert.ok(r.ok, `A index ${idx}: ${r.ok ? '' : r.statusName}`);
        assert.deepEqual(r.packet, plain);
        used.add(idx);
      }
      for (let i = 0; i < 5; i++) {
        const sp = coreOk(core, 'srtcpProtect', a, rtcpRr(SSRC, 8));
        usedRtcp.add(srtcpIndexOf(name, sp));
        assert.ok((await lib.try('unprotect_rtcp', rx, sp)).ok);
      }
      const floor = aheadOf(readStreamIndexState(core, -1, a), MARGIN);
      assert.deepEqual(floor.srtpOut, [{ ssrc: SSRC, index: FIRST + COUNT - 1 + MARGIN.srtp }]);
      core.destroyContext(a);

      const b = makeContext(core, suite, 'outbound', key, salt);
      applyStreamIndexFloor(core, -1, b, floor, 0);
      const top = floor.srtpOut[0]!.index;
      // The source's packets between A's last and the floor: refused, never sent.
      for (let idx = FIRST + COUNT; idx <= top; idx++) assert.equal(coreRun(core, 'srtpProtect', b, plainAt(idx)), Status.INDEX_REUSE);
      for (let idx = top + 1; idx <= top + 200; idx++) {
        const plain = plainAt(idx);
        const r = await lib.try('unprotect_rtp', rx, coreOk(core, 'srtpProtect', b, plain));
        assert.ok(r.ok, `B index ${idx}: ${r.ok ? '' : r.statusName}`);
        assert.deepEqual(r.packet, plain);
        assert.ok(!used.has(idx), `index ${idx} used twice`);
        used.add(idx);
      }
      assert.equal(await lib.getRoc(rx, SSRC), Math.floor((top + 200) / 65536));
      for (let i = 0; i < 10; i++) {
        const sp = coreOk(core, 'srtcpProtect', b, rtcpRr(SSRC, 8));
        const index = srtcpIndexOf(name, sp);
        assert.equal(index, floor.srtcpOut[0]!.index + 1 + i);
        assert.ok(!usedRtcp.has(index));
        usedRtcp.add(index);
        assert.ok((await lib.try('unprotect_rtcp', rx, sp)).ok, `SRTCP index ${index}`);
      }
      core.destroyContext(b);
      await lib.closeSession(rx);
    });

    it(`${name}: context B with A's floor refuses everything libsrtp2 sent A, then follows the sender`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      if (!supported.includes(name)) return skipOrFail(t, `this libsrtp2 lacks ${name}`);
      const suite = suiteByName(name)!;
      const len = LIBSRTP_KEY_LENGTHS[name];
      const key = randomBytes(len.key), salt = randomBytes(len.salt);
      const tx = `in-${name}`;
      await lib.session(tx, 'out', name, key, salt);
      await lib.setRoc(tx, SSRC, 0);
      const a = makeContext(core, suite, 'inbound', key, salt);
      const captured: Uint8Array[] = [];
      for (let idx = FIRST; idx < FIRST + COUNT; idx++) {
        const sp = await lib.protectRtp(tx, plainAt(idx));
        captured.push(sp);
        coreOk(core, 'srtpUnprotect', a, sp);
      }
      for (let i = 0; i < 5; i++) {
        const sp = await lib.protectRtcp(tx, rtcpRr(SSRC, 8));
        captured.push(sp);
        coreOk(core, 'srtcpUnprotect', a, sp);
      }
      const floor = aheadOf(readStreamIndexState(core, a, -1), MARGIN);
      core.destroyContext(a);

      const b = makeContext(core, suite, 'inbound', key, salt);
      applyStreamIndexFloor(core, b, -1, floor, 0);
      const before = core.snapshot(b);
      for (const [i, sp] of captured.entries()) {
        const st = coreRun(core, i < COUNT ? 'srtpUnprotect' : 'srtcpUnprotect', b, sp);
        assert.ok(typeof st === 'number' && REPLAY.includes(st), `replayed packet ${i}: ${String(st)}`);
      }
      // The sender's packets up to the floor (the old relay may have accepted them): refused too.
      const top = floor.srtpIn[0]!.index;
      for (let idx = FIRST + COUNT; idx <= top; idx++) {
        const st = coreRun(core, 'srtpUnprotect', b, await lib.protectRtp(tx, plainAt(idx)));
        assert.ok(typeof st === 'number' && REPLAY.includes(st), `index ${idx}: ${String(st)}`);
      }
      for (let i = 0; i < MARGIN.srtcp; i++) {
        assert.ok(REPLAY.includes(coreRun(core, 'srtcpUnprotect', b, await lib.protectRtcp(tx, rtcpRr(SSRC, 8))) as number));
      }
      assert.deepEqual(core.snapshot(b), before, 'rejections changed state');
      for (let idx = top + 1; idx <= top + 100; idx++) {
        const plain = plainAt(idx);
        assert.deepEqual(coreOk(core, 'srtpUnprotect', b, await lib.protectRtp(tx, plain)), plain, `index ${idx}`);
      }
      const rr = rtcpRr(SSRC, 8);
      assert.deepEqual(coreOk(core, 'srtcpUnprotect', b, await lib.protectRtcp(tx, rr)), rr);
      assert.deepEqual(readStreamIndexState(core, b, -1).srtpIn, [{ ssrc: SSRC, index: top + 100 }]);
      core.destroyContext(b);
      await lib.closeSession(tx);
    });
  }
});
