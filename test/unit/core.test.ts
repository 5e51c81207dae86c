// The WASM core through CryptoCore and SrtpSession, on every build: ABI and handles, the
// unprotect order (nothing changes before the tag verifies), replay, ROC, key-usage limits,
// malformed headers, SRTCP E flag, memory that never grows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoCore, type CoreBuild } from '../../src/crypto/CryptoCore.ts';
import { createSrtpSessionSync, SrtpSession } from '../../src/SrtpSession.ts';
import { SUITES, suiteByName, type SuiteName } from '../../src/crypto/suites.ts';
import { Status } from '../../src/crypto/abi.ts';
import { SrtpError } from '../../src/errors.ts';
import { rtp, rtcpRr, rtcpBye, keyFor } from '../helpers/packets.ts';

const BUILDS: { build: CoreBuild; debug: boolean }[] = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false },
  { build: 'simd', debug: true }, { build: 'scalar', debug: true },
];

function session(core: CryptoCore, suite: SuiteName = 'AES_CM_128_HMAC_SHA1_80', window?: number): SrtpSession {
  const s = suiteByName(suite)!;
  return createSrtpSessionSync({
    suite, masterKey: keyFor(s.keyLen), masterSalt: keyFor(s.saltLen, 2), core,
    insecureAllowNullCipher: !s.encrypts, ...(window ? { replayWindow: window } : {}),
  });
}

function code(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof SrtpError) return e.code; throw e; }
  return 'ok';
}

for (const b of BUILDS) {
  describe(`core ${b.build}.${b.debug ? 'debug' : 'release'}`, () => {
    const core = CryptoCore.loadSync({ ...b, maxContexts: 64, maxSsrcsPerContext: 4, maxReplayWindow: 1024 });

    it('round-trips RTP and RTCP for every suite', () => {
      for (const suite of SUITES) {
        const tx = session(core, suite.name), rx = session(core, suite.name);
        for (let seq = 0; seq < 20; seq++) {
          const p = rtp({ seq, ssrc: 0x1234, payload: new Uint8Array(seq * 7).fill(seq) });
          const sp = tx.protectRtp(p);
          assert.equal(sp.length, p.length + suite.rtpTagLen);
          assert.deepEqual(rx.unprotectRtp(sp), p);
          const r = rtcpRr(0x1234, seq * 4);
          const sr = tx.protectRtcp(r);
          assert.equal(sr.length, r.length + 4 + suite.rtcpTagLen);
          assert.deepEqual(rx.unprotectRtcp(sr), r);
        }
        tx.close(); rx.close();
      }
    });

    it('failed auth does not create SSRC state (forged packet from a new SSRC)', () => {
      const tx = session(core), rx = session(core);
      const sp = tx.protectRtp(rtp({ seq: 5, ssrc: 0xabcdef }));
      sp[sp.length - 1] ^= 1;
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtp(sp)), 'E_AUTH_FAIL');
      assert.deepEqual(rx.snapshotState(), before);
      assert.equal(rx.getRoc(0xabcdef, 'inbound'), undefined);
      tx.close(); rx.close();
    });

    it('failed auth on a known SSRC leaves ROC and window untouched, even for a far-ahead seq', () => {
      const tx = session(core), rx = session(core);
      for (let seq = 65530; seq < 65536; seq++) rx.unprotectRtp(tx.protectRtp(rtp({ seq, ssrc: 9 })));
      const forged = tx.protectRtp(rtp({ seq: 10, ssrc: 9 })); // would move ROC to 1
      forged[14] ^= 0x40;
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtp(forged)), 'E_AUTH_FAIL');
      assert.deepEqual(rx.snapshotState(), before);
      assert.equal(rx.getRoc(9, 'inbound'), 0);
      tx.close(); rx.close();
    });

    it('rejects duplicates and too-old packets, accepts reordering inside the window', () => {
      const tx = session(core, 'AES_CM_128_HMAC_SHA1_80', 64), rx = session(core, 'AES_CM_128_HMAC_SHA1_80', 64);
      const pkts = Array.from({ length: 200 }, (_, seq) => tx.protectRtp(rtp({ seq, ssrc: 77 })));
      rx.unprotectRtp(pkts[100]!);
      assert.equal(code(() => rx.unprotectRtp(pkts[100]!)), 'E_REPLAY_DUPLICATE');
      assert.equal(code(() => rx.unprotectRtp(pkts[37]!)), 'ok');              // 100 - 37 = 63 < 64: inside
      assert.equal(code(() => rx.unprotectRtp(pkts[36]!)), 'E_REPLAY_OLD');
      rx.unprotectRtp(pkts[50]!);
      assert.equal(code(() => rx.unprotectRtp(pkts[50]!)), 'E_REPLAY_DUPLICATE');
      rx.unprotectRtp(pkts[199]!);                                            // jump ahead
      assert.equal(code(() => rx.unprotectRtp(pkts[100]!)), 'E_REPLAY_OLD');
      rx.unprotectRtp(pkts[150]!);
      tx.close(); rx.close();
    });

    it('a replayed packet changes no state', () => {
      const tx = session(core), rx = session(core);
      const p = tx.protectRtp(rtp({ seq: 1, ssrc: 3 }));
      rx.unprotectRtp(p);
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtp(p)), 'E_REPLAY_DUPLICATE');
      assert.deepEqual(rx.snapshotState(), before);
      tx.close(); rx.close();
    });

    it('follows the ROC across 0xFFFF wraps and honours setRoc', () => {
      const tx = session(core), rx = session(core);
      let seq = 65000;
      for (let i = 0; i < 3 * 65536 + 10; i += 997) {
        const s = (seq + i) & 0xffff;
        rx.unprotectRtp(tx.protectRtp(rtp({ seq: s, ssrc: 5, payload: new Uint8Array(4) })));
      }
      assert.equal(tx.getRoc(5, 'outbound'), rx.getRoc(5, 'inbound'));
      assert.equal(rx.getRoc(5, 'inbound'), 3);
      const tx2 = session(core), rx2 = session(core);
      tx2.setRoc(6, 7); rx2.setRoc(6, 7);
      rx2.unprotectRtp(tx2.protectRtp(rtp({ seq: 100, ssrc: 6 })));
      assert.equal(rx2.getRoc(6, 'inbound'), 7);
      // A receiver that believes ROC 0 cannot verify a ROC-7 packet.
      const rx3 = session(core);
      assert.equal(code(() => rx3.unprotectRtp(tx2.protectRtp(rtp({ seq: 101, ssrc: 6 })))), 'E_AUTH_FAIL');
      for (const s of [tx, rx, tx2, rx2, rx3]) s.close();
    });

    it('refuses to protect the same index twice (keystream reuse)', () => {
      const tx = session(core);
      tx.protectRtp(rtp({ seq: 10, ssrc: 1 }));
      assert.equal(code(() => tx.protectRtp(rtp({ seq: 10, ssrc: 1 }))), 'E_INDEX_REUSE');
      tx.close();
    });

    it('bounds-checks headers: truncated, CC overflow, extension overflow, bad padding', () => {
      const tx = session(core), rx = session(core);
      assert.equal(code(() => tx.protectRtp(new Uint8Array(11).fill(0x80))), 'E_TOO_SHORT');
      const cc = rtp({ seq: 1, ssrc: 1, payload: new Uint8Array(0) });
      cc[0] = 0x8f; // 15 CSRCs claimed, none present
      assert.equal(code(() => tx.protectRtp(cc)), 'E_BAD_HEADER');
      const ext = rtp({ seq: 1, ssrc: 1, ext: { profile: 0xbede, body: new Uint8Array(4) }, payload: new Uint8Array(4) });
      ext[15] = 0xff; // extension length 255 words
      assert.equal(code(() => tx.protectRtp(ext)), 'E_BAD_HEADER');
      const v1 = rtp({ seq: 1, ssrc: 1 }); v1[0] = 0x40;
      assert.equal(code(() => tx.protectRtp(v1)), 'E_BAD_HEADER');
      const pad = rtp({ seq: 1, ssrc: 1, payload: new Uint8Array(3), padding: 1 });
      pad[pad.length - 1] = 200;
      assert.equal(code(() => tx.protectRtp(pad)), 'E_BAD_PADDING');
      // Unprotect side: shorter than header + tag.
      assert.equal(code(() => rx.unprotectRtp(new Uint8Array(21).fill(0x80))), 'E_TOO_SHORT');
      const good = tx.protectRtp(rtp({ seq: 2, ssrc: 1, csrcs: [1, 2], ext: { profile: 0xbede, body: new Uint8Array(8) }, padding: 4 }));
      assert.equal(rx.unprotectRtp(good).length, good.length - 10);
      tx.close(); rx.close();
    });

    it('SRTCP: flipped E flag is refused, forged BYE is refused, replays are refused', () => {
      const tx = session(core), rx = session(core);
      const bye = tx.protectRtcp(rtcpBye(0x42));
      const flipped = bye.slice();
      flipped[bye.length - 14]! ^= 0x80; // E flag of the trailer
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtcp(flipped)), 'E_UNENCRYPTED_SRTCP');
      const forged = bye.slice(); forged[5] ^= 1;
      assert.equal(code(() => rx.unprotectRtcp(forged)), 'E_AUTH_FAIL');
      assert.deepEqual(rx.snapshotState(), before);
      assert.deepEqual(rx.unprotectRtcp(bye), rtcpByeFrom(bye));
      assert.equal(code(() => rx.unprotectRtcp(bye)), 'E_REPLAY_DUPLICATE');
      tx.close(); rx.close();
    });

    it('key-usage limits: soft-limit event, then a hard stop at 2^48 SRTP / 2^31 SRTCP', () => {
      const tx = session(core);
      const events: string[] = [];
      tx.on('keysoftlimit', (e) => events.push(`${e.kind}:${e.direction}`));
      tx.setPacketCountsForTest((1n << 48n) - (1n << 16n) - 1n, (1n << 31n) - (1n << 16n) - 1n);
      tx.protectRtp(rtp({ seq: 1, ssrc: 1 }));
      tx.protectRtcp(rtcpRr(1));
      assert.deepEqual(events, ['srtp:outbound', 'srtcp:outbound']);
      tx.setPacketCountsForTest(1n << 48n, 1n << 31n);
      assert.equal(code(() => tx.protectRtp(rtp({ seq: 2, ssrc: 1 }))), 'E_KEY_EXPIRED');
      assert.equal(code(() => tx.protectRtcp(rtcpRr(1))), 'E_KEY_EXPIRED');
      tx.close();
    });

    it('SSRC table full is a counted refusal, not an eviction', () => {
      const tx = session(core), rx = session(core);
      for (let s = 1; s <= 4; s++) rx.unprotectRtp(tx.protectRtp(rtp({ seq: 1, ssrc: s })));
      assert.equal(code(() => tx.protectRtp(rtp({ seq: 1, ssrc: 99 }))), 'E_SSRC_TABLE_FULL');
      tx.close(); rx.close();
    });

    it('stale handles are refused after destroy, and destroy zeroes the slot', () => {
      const suite = suiteByName('AES_CM_128_HMAC_SHA1_80')!;
      const h = core.createContext({ suite, direction: 'outbound', masterKey: keyFor(16), masterSalt: keyFor(14) });
      const snap = core.snapshot(h);
      assert.ok(snap.some((x) => x !== 0));
      core.destroyContext(h);
      core.io.set(rtp({ seq: 1, ssrc: 1 }), 0);
      assert.equal(core.srtpProtect(h, 172), Status.BAD_CTX);
      const h2 = core.createContext({ suite, direction: 'outbound', masterKey: keyFor(16), masterSalt: keyFor(14) });
      assert.notEqual(h2, h); // same slot, new generation
      assert.equal(core.srtpProtect(h, 172), Status.BAD_CTX);
      core.destroyContext(h2);
    });

    it('memory never grows on the data path (10^5 packets)', () => {
      const tx = session(core), rx = session(core);
      const bytes = core.memoryBytes;
      const buf = new Uint8Array(256);
      const p = rtp({ seq: 0, ssrc: 8 });
      for (let i = 0; i < 100_000; i++) {
        buf.set(p); buf[2] = (i >> 8) & 0xff; buf[3] = i & 0xff;
        buf[4] = (i >> 16) & 0xff; // keep ROC moving is not needed; seq wraps naturally
        const n = tx.protectRtpInPlace(buf, p.length);
        assert.ok(n > 0);
        assert.equal(rx.unprotectRtpInPlace(buf, n), p.length);
      }
      assert.equal(core.memoryBytes, bytes);
      tx.close(); rx.close();
    });

    it('all contexts freed: slots are reusable and none leak', () => {
      assert.equal(core.liveContexts, 0);
    });
  });
}

function rtcpByeFrom(protectedBye: Uint8Array): Uint8Array {
  // The plaintext BYE is the first 8 bytes; header (first 8) is never encrypted.
  return protectedBye.slice(0, 8);
}
