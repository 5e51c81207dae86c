// Master-key handling in the core: KDR re-derivation (RFC 3711 §4.3.1), several master keys
// selected by MKI (RFC 3711 §3.1), and SDES key lifetimes — each checked against the
// reference implementation or by its observable effect, on every build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CryptoCore, type CoreBuild } from '../../src/crypto/CryptoCore.ts';
import { createSrtpSessionSync, type SrtpSessionOptions } from '../../src/SrtpSession.ts';
import { SrtpError } from '../../src/errors.ts';
import { RefSrtpContext } from '../reference/refSrtp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';

const BUILDS: { build: CoreBuild; debug: boolean }[] = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false }, { build: 'simd', debug: true },
];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
function code(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof SrtpError) return e.code; throw e; }
  return 'ok';
}

for (const b of BUILDS) {
  describe(`master keys, ${b.build}.${b.debug ? 'debug' : 'release'}`, () => {
    const core = CryptoCore.loadSync({ ...b, maxContexts: 32, maxKeysPerContext: 3 });
    const opts = (o: Partial<SrtpSessionOptions> = {}): SrtpSessionOptions => ({
      suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt, core, ...o,
    });
    const key = randomBytes(16), salt = randomBytes(14);

    for (const n of [0, 3, 16]) {
      it(`KDR=${n}: keys re-derived every 2^${n} packets, byte-identical to the reference`, () => {
        const tx = createSrtpSessionSync(opts({ kdr: n }));
        const rx = createSrtpSessionSync(opts({ kdr: n }));
        const ref = new RefSrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt, kdr: 2 ** n, replayWindow: 0 });
        const seqs = n === 16 ? [65530, 65533, 65535, 0, 1, 5] : Array.from({ length: 20 }, (_, i) => 100 + i);
        for (const seq of seqs) {
          const p = rtp({ seq, ssrc: 0x55, payload: randomBytes(40) });
          const ours = tx.protectRtp(p);
          assert.equal(hex(ours), hex(ref.protectRtp(p)));
          assert.deepEqual(rx.unprotectRtp(ours), p);
        }
        for (let i = 0; i < 5; i++) {
          const r = rtcpRr(0x55, 8);
          const ours = tx.protectRtcp(r);
          assert.deepEqual(ref.unprotectRtcp(ours), r);
          assert.deepEqual(rx.unprotectRtcp(ours), r);
        }
        tx.close(); rx.close();
      });
    }

    it('KDR: a late packet from the previous key period still verifies; a forged one at a new period changes nothing', () => {
      const tx = createSrtpSessionSync(opts({ kdr: 2 })), rx = createSrtpSessionSync(opts({ kdr: 2 }));
      const pkts = Array.from({ length: 12 }, (_, seq) => tx.protectRtp(rtp({ seq, ssrc: 1 })));
      for (const i of [0, 1, 2, 4, 5, 3, 8, 6]) rx.unprotectRtp(pkts[i]!); // 3 and 6 arrive late
      const forged = tx.protectRtp(rtp({ seq: 20, ssrc: 1 }));
      forged[forged.length - 1]! ^= 1;
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtp(forged)), 'E_AUTH_FAIL');
      assert.deepEqual(rx.snapshotState(), before);
      rx.unprotectRtp(pkts[9]!);
      tx.close(); rx.close();
    });

    it('MKI: sender marks packets with the active key, receiver picks keys by MKI, unknown MKI is refused', () => {
      const tx = createSrtpSessionSync(opts({ mki: { length: 2, value: 1 } }));
      const rx = createSrtpSessionSync(opts({ mki: { length: 2, value: 1 } }));
      const ref = new RefSrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt, replayWindow: 0 });
      const p1 = rtp({ seq: 1, ssrc: 9 });
      const s1 = tx.protectRtp(p1);
      assert.equal(s1.length, p1.length + 2 + 10);
      assert.equal(hex(s1.subarray(p1.length, p1.length + 2)), '0001');
      // Without the MKI the packet is exactly what the reference makes: the MKI is not authenticated.
      const r1 = ref.protectRtp(p1);
      assert.equal(hex(s1.subarray(0, p1.length)) + hex(s1.subarray(p1.length + 2)), hex(r1));
      assert.deepEqual(rx.unprotectRtp(s1), p1);

      const key2 = randomBytes(16), salt2 = randomBytes(14);
      tx.addKey(key2, salt2, 0x0102); rx.addKey(key2, salt2, 0x0102);
      const inFlight = tx.protectRtp(rtp({ seq: 2, ssrc: 9 }));
      tx.useKey(0x0102);
      const p3 = rtp({ seq: 3, ssrc: 9 });
      const s3 = tx.protectRtp(p3);
      assert.equal(hex(s3.subarray(p3.length, p3.length + 2)), '0102');
      assert.deepEqual(rx.unprotectRtp(s3), p3);
      assert.equal(rx.unprotectRtp(inFlight).length, p1.length); // old key still accepted
      const r = rtcpRr(9, 4);
      assert.deepEqual(rx.unprotectRtcp(tx.protectRtcp(r)), r);
      const unknown = tx.protectRtp(rtp({ seq: 4, ssrc: 9 }));
      unknown[p3.length] = 0x7f;
      const before = rx.snapshotState();
      assert.equal(code(() => rx.unprotectRtp(unknown)), 'E_UNKNOWN_MKI');
      assert.deepEqual(rx.snapshotState(), before);
      assert.throws(() => tx.useKey(0x33), (e: unknown) => e instanceof SrtpError && e.code === 'E_UNKNOWN_MKI');
      tx.close(); rx.close();
    });

    it('lifetime: soft-limit event, then a hard stop at the SDES lifetime', () => {
      const tx = createSrtpSessionSync(opts({ lifetime: 100n }));
      let soft = 0;
      tx.on('keysoftlimit', () => soft++);
      for (let seq = 0; seq < 100; seq++) tx.protectRtp(rtp({ seq, ssrc: 2, payload: new Uint8Array(4) }));
      assert.equal(soft, 1);
      assert.equal(code(() => tx.protectRtp(rtp({ seq: 100, ssrc: 2 }))), 'E_KEY_EXPIRED');
      tx.close();
    });
  });
}
