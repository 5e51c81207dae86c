// Whole packets, srtpgate against the slow reference (test/reference/refSrtp.ts), every suite:
// SRTP protect output must be byte-identical; each side must unprotect the other's output;
// SRTCP is compared at the index srtpgate chose (read from its trailer).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoCore, SUITES, createSrtpSession, SrtpError, type CoreBuild, type SrtpSession, type SuiteName } from '../../src/index.ts';
import {
  RefSrtpContext, buildRtcp, buildRtp, refSuite, srtcpTrailer, toHex,
} from '../reference/refSrtp.ts';

const SEED = Number(process.env.SRTP_DIFF_SEED ?? 0x5eed5);

/** Deterministic xorshift32: failures print the seed and the packet. */
function prng(seed: number): { int(n: number): number; bytes(n: number): Uint8Array; u32(): number } {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n) => next() % n,
    u32: () => next(),
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; },
  };
}
type Rng = ReturnType<typeof prng>;

/** A random RTP packet: CC 0–15, optional extension of random length, optional valid padding, payload 0–1400. */
function randomRtp(r: Rng, ssrc: number, seq: number): Uint8Array {
  const payload = r.bytes(r.int(1401));
  return buildRtp({
    ssrc, seq, ts: r.u32(), pt: r.int(128), marker: r.int(2) === 1,
    csrcs: Array.from({ length: r.int(16) }, () => r.u32()),
    extension: r.int(2) === 1 ? { profile: r.int(0x10000), data: r.bytes(4 * r.int(33)) } : undefined,
    payload,
    padding: r.int(4) === 0 ? 1 + r.int(255) : 0,
  });
}

/** A random compound-looking RTCP packet: sender SSRC then 0..300 words. */
function randomRtcp(r: Rng, ssrc: number): Uint8Array {
  return buildRtcp(ssrc, r.bytes(4 * r.int(301)), 200 + r.int(5), r.int(32));
}

function material(r: Rng, suite: SuiteName): { masterKey: Uint8Array; masterSalt: Uint8Array } {
  return { masterKey: r.bytes(refSuite(suite).keyLen), masterSalt: r.bytes(refSuite(suite).saltLen) };
}

interface GateExtra {
  insecureAllowUnencryptedSrtcp?: boolean;
  core?: CryptoCore;
  kdr?: number;
  mki?: { length: number; value: number };
}

async function gateSession(suite: SuiteName, m: { masterKey: Uint8Array; masterSalt: Uint8Array }, extra: GateExtra = {}): Promise<SrtpSession> {
  // The session may wipe or keep our arrays; hand it copies.
  return createSrtpSession({
    suite, masterKey: m.masterKey.slice(), masterSalt: m.masterSalt.slice(),
    insecureAllowNullCipher: !refSuite(suite).cipher.startsWith('AES'), ...extra,
  });
}

function codeOf(f: () => unknown): string {
  try { f(); return 'ok'; } catch (e) { return e instanceof SrtpError ? e.code : `not an SrtpError: ${String(e)}`; }
}

/** Every suite srtpgate's table offers; the reference must know each (refSuite throws otherwise). */
const SUITE_NAMES: SuiteName[] = SUITES.map((s) => s.name);

const describeInput = (p: Uint8Array) => `${p.length} B, first bytes ${toHex(p.subarray(0, 16))}`;

for (const suite of SUITE_NAMES) {
  describe(`differential vs reference, ${suite}`, () => {
    test('SRTP: random packets on several streams, protect byte-identical, each unprotects the other', async () => {
      const r = prng(SEED ^ suite.length * 7919);
      const m = material(r, suite);
      const gate = await gateSession(suite, m);
      const refTx = new RefSrtpContext({ suite, ...m });
      const refRx = new RefSrtpContext({ suite, ...m });
      try {
        // Four SSRCs with random starting sequence numbers, interleaved, gaps of 1–4.
        const streams = Array.from({ length: 4 }, () => ({ ssrc: r.u32(), seq: r.int(0x10000) }));
        for (let i = 0; i < 240; i++) {
          const s = streams[r.int(streams.length)]!;
          s.seq = (s.seq + 1 + (r.int(5) === 0 ? r.int(4) : 0)) & 0xffff;
          const p = randomRtp(r, s.ssrc, s.seq);
          const ctx = `seed ${SEED} packet ${i} ssrc ${s.ssrc} seq ${s.seq}: ${describeInput(p)}`;
          const got = gate.protectRtp(p);
          const want = refTx.protectRtp(p);
          assert.equal(toHex(got), toHex(want), `protect differs, ${ctx}`);
          assert.equal(toHex(gate.unprotectRtp(want)), toHex(p), `srtpgate unprotect of reference output, ${ctx}`);
          assert.equal(toHex(refRx.unprotectRtp(got)), toHex(p), `reference unprotect of srtpgate output, ${ctx}`);
        }
      } finally {
        gate.close();
      }
    });

    test('SRTP across a ROC wrap (seq 65530 → 10), with reordering at the receiver', async () => {
      const r = prng(SEED + 1);
      const m = material(r, suite);
      const gate = await gateSession(suite, m);
      const refTx = new RefSrtpContext({ suite, ...m });
      const gateRx = await gateSession(suite, m);
      const refRx = new RefSrtpContext({ suite, ...m });
      try {
        const ssrc = 0xcafebabe;
        const seqs = [...Array.from({ length: 6 }, (_, i) => 65530 + i), ...Array.from({ length: 11 }, (_, i) => i)];
        const packets = seqs.map((seq) => {
          const p = randomRtp(r, ssrc, seq);
          const got = gate.protectRtp(p);
          assert.equal(toHex(got), toHex(refTx.protectRtp(p)), `protect differs at seq ${seq}`);
          return { seq, p, prot: got };
        });
        assert.equal(refTx.outRoc(ssrc), 1);
        // Deliver with the packets either side of the wrap swapped.
        const order = [0, 1, 2, 3, 5, 4, 7, 6, 8, 10, 9, 11, 12, 13, 14, 16, 15];
        for (const i of order) {
          const { seq, p, prot } = packets[i]!;
          assert.equal(toHex(gateRx.unprotectRtp(prot)), toHex(p), `srtpgate receiver, seq ${seq}`);
          assert.equal(toHex(refRx.unprotectRtp(prot)), toHex(p), `reference receiver, seq ${seq}`);
        }
        // The receiver must now reject a replay of a pre-wrap packet.
        assert.equal(codeOf(() => gateRx.unprotectRtp(packets[3]!.prot)), 'E_REPLAY_DUPLICATE');
      } finally {
        gate.close();
        gateRx.close();
      }
    });

    test('SRTP with setRoc on both sides: ROC 7 → 8 across the wrap', async () => {
      const r = prng(SEED + 2);
      const m = material(r, suite);
      const gate = await gateSession(suite, m);
      const gateRx = await gateSession(suite, m);
      const refTx = new RefSrtpContext({ suite, ...m });
      const refRx = new RefSrtpContext({ suite, ...m });
      try {
        const ssrc = 0x01020304;
        gate.setRoc(ssrc, 7);
        gateRx.setRoc(ssrc, 7);
        refTx.setRoc(ssrc, 7);
        refRx.setRoc(ssrc, 7);
        for (let k = 0; k < 20; k++) {
          const seq = (65525 + k) & 0xffff;
          const p = randomRtp(r, ssrc, seq);
          const got = gate.protectRtp(p);
          assert.equal(toHex(got), toHex(refTx.protectRtp(p)), `protect differs at seq ${seq}`);
          assert.equal(toHex(gateRx.unprotectRtp(got)), toHex(p), `srtpgate receiver, seq ${seq}`);
          assert.equal(toHex(refRx.unprotectRtp(got)), toHex(p), `reference receiver, seq ${seq}`);
        }
        assert.equal(refTx.outRoc(ssrc), 8);
        // A receiver that did not get the ROC cannot authenticate these packets.
        const stale = await gateSession(suite, m);
        try {
          const p = randomRtp(r, ssrc, 100);
          assert.equal(codeOf(() => stale.unprotectRtp(refTx.protectRtp(p))), 'E_AUTH_FAIL');
        } finally {
          stale.close();
        }
      } finally {
        gate.close();
        gateRx.close();
      }
    });

    test('SRTCP: srtpgate output equals the reference at the same index; each unprotects the other', async () => {
      const r = prng(SEED + 3);
      const m = material(r, suite);
      const gate = await gateSession(suite, m);
      const refTx = new RefSrtpContext({ suite, ...m });
      const refRx = new RefSrtpContext({ suite, ...m });
      try {
        const ssrcs = [r.u32(), r.u32(), r.u32()];
        const lastIndex = new Map<number, number>();
        for (let i = 0; i < 90; i++) {
          const ssrc = ssrcs[r.int(ssrcs.length)]!;
          const p = randomRtcp(r, ssrc);
          const ctx = `seed ${SEED} rtcp ${i} ssrc ${ssrc}: ${describeInput(p)}`;
          const got = gate.protectRtcp(p);
          const { index, encrypted } = srtcpTrailer(got, refSuite(suite));
          assert.equal(encrypted, refSuite(suite).encrypts, `E flag, ${ctx}`);
          const prev = lastIndex.get(ssrc);
          if (prev !== undefined) assert.equal(index, prev + 1, `SRTCP index must count up per SSRC, ${ctx}`);
          lastIndex.set(ssrc, index);
          refTx.setSrtcpIndex(ssrc, index);
          const want = refTx.protectRtcp(p);
          assert.equal(toHex(got), toHex(want), `SRTCP protect differs at index ${index}, ${ctx}`);
          const rx = refRx.unprotectRtcpDetailed(got);
          assert.equal(toHex(rx.packet), toHex(p), `reference unprotect of srtpgate SRTCP, ${ctx}`);
          assert.equal(toHex(gate.unprotectRtcp(want)), toHex(p), `srtpgate unprotect of reference SRTCP, ${ctx}`);
        }
      } finally {
        gate.close();
      }
    });

    test('SRTCP from the reference with an arbitrary starting index unprotects in srtpgate', async () => {
      const r = prng(SEED + 4);
      const m = material(r, suite);
      const gate = await gateSession(suite, m);
      const refTx = new RefSrtpContext({ suite, ...m, srtcpIndexStart: 0x7fff_fff0 });
      try {
        const ssrc = r.u32();
        for (let i = 0; i < 8; i++) {
          const p = randomRtcp(r, ssrc);
          assert.equal(toHex(gate.unprotectRtcp(refTx.protectRtcp(p))), toHex(p), `index ${0x7fff_fff0 + i}`);
        }
      } finally {
        gate.close();
      }
    });

    test('KDR and MKI: SRTP and SRTCP byte-identical to the reference, both ways', async () => {
      const configs: Array<{ kdr?: number; mkiLen?: number }> = [
        { kdr: 0 }, { kdr: 3, mkiLen: 1 }, { kdr: 16, mkiLen: 4 }, { kdr: 24 }, { mkiLen: 2 }, { mkiLen: 3, kdr: 1 },
      ];
      for (const [ci, cfg] of configs.entries()) {
        const r = prng(SEED + 6 + ci);
        const m = material(r, suite);
        const mkiValue = cfg.mkiLen === undefined ? 0 : r.u32() % 2 ** (8 * cfg.mkiLen);
        const mkiBytes = cfg.mkiLen === undefined ? undefined
          : Uint8Array.from({ length: cfg.mkiLen }, (_, i) => (mkiValue / 2 ** (8 * (cfg.mkiLen! - 1 - i))) & 0xff);
        const extra: GateExtra = {
          ...(cfg.kdr === undefined ? {} : { kdr: cfg.kdr }),
          ...(cfg.mkiLen === undefined ? {} : { mki: { length: cfg.mkiLen, value: mkiValue } }),
        };
        const refOpts = { suite, ...m, ...(cfg.kdr === undefined ? {} : { kdr: 2 ** cfg.kdr }), ...(mkiBytes ? { mki: mkiBytes } : {}) };
        const gate = await gateSession(suite, m, extra);
        const refTx = new RefSrtpContext(refOpts);
        const refRx = new RefSrtpContext(refOpts);
        const label = `kdr ${cfg.kdr ?? 'none'}, mki ${mkiBytes ? toHex(mkiBytes) : 'none'}`;
        try {
          const ssrc = r.u32();
          let seq = 0x10000 - 12; // crosses a ROC wrap (a key period boundary for KDR ≤ 16)
          for (let i = 0; i < 30; i++) {
            seq = (seq + 1 + (r.int(4) === 0 ? r.int(3) : 0)) & 0xffff;
            const p = randomRtp(r, ssrc, seq);
            const got = gate.protectRtp(p);
            assert.equal(toHex(got), toHex(refTx.protectRtp(p)), `${label}: protect seq ${seq}: ${describeInput(p)}`);
            assert.equal(toHex(refRx.unprotectRtp(got)), toHex(p), `${label}: reference unprotect seq ${seq}`);
            assert.equal(toHex(gate.unprotectRtp(got)), toHex(p), `${label}: srtpgate unprotect seq ${seq}`);
            const c = randomRtcp(r, ssrc);
            const cp = gate.protectRtcp(c);
            refTx.setSrtcpIndex(ssrc, srtcpTrailer(cp, refSuite(suite), mkiBytes?.length ?? 0).index);
            assert.equal(toHex(cp), toHex(refTx.protectRtcp(c)), `${label}: SRTCP ${describeInput(c)}`);
            assert.equal(toHex(refRx.unprotectRtcp(cp)), toHex(c), `${label}: reference SRTCP unprotect`);
            assert.equal(toHex(gate.unprotectRtcp(cp)), toHex(c), `${label}: srtpgate SRTCP unprotect`);
          }
        } finally {
          gate.close();
        }
      }
    });

    if (refSuite(suite).encrypts) {
      test('SRTCP with E clear is refused unless insecureAllowUnencryptedSrtcp', async () => {
        const r = prng(SEED + 5);
        const m = material(r, suite);
        const strict = await gateSession(suite, m);
        const lax = await gateSession(suite, m, { insecureAllowUnencryptedSrtcp: true });
        const refTx = new RefSrtpContext({ suite, ...m });
        try {
          const p = randomRtcp(r, 42);
          const clear = refTx.protectRtcp(p, { encrypt: false });
          assert.equal(srtcpTrailer(clear, refSuite(suite)).encrypted, false);
          const before = strict.snapshotState();
          assert.equal(codeOf(() => strict.unprotectRtcp(clear)), 'E_UNENCRYPTED_SRTCP');
          assert.deepEqual(strict.snapshotState(), before);
          assert.equal(toHex(lax.unprotectRtcp(clear)), toHex(p));
        } finally {
          strict.close();
          lax.close();
        }
      });
    }
  });
}

// Style rule 26: every build (simd/scalar × release/debug) gives the same bytes.
const BUILDS: ReadonlyArray<{ build: CoreBuild; debug: boolean }> = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false },
  { build: 'simd', debug: true }, { build: 'scalar', debug: true },
];
for (const { build, debug } of BUILDS) {
  describe(`differential vs reference on the ${build}.${debug ? 'debug' : 'release'} build`, () => {
    test('every suite: random SRTP and SRTCP packets, byte-identical, both directions', async () => {
      const core = await CryptoCore.load({ build, debug, maxContexts: 16 });
      for (const suite of SUITE_NAMES) {
        const r = prng(SEED ^ (build.length * 31 + (debug ? 1 : 0)) ^ suite.length);
        const m = material(r, suite);
        const gate = await gateSession(suite, m, { core });
        const refTx = new RefSrtpContext({ suite, ...m });
        const refRx = new RefSrtpContext({ suite, ...m });
        try {
          const ssrc = r.u32();
          let seq = 0x10000 - 20; // crosses a ROC wrap
          for (let i = 0; i < 40; i++) {
            seq = (seq + 1) & 0xffff;
            const p = randomRtp(r, ssrc, seq);
            const got = gate.protectRtp(p);
            assert.equal(toHex(got), toHex(refTx.protectRtp(p)), `${suite} seq ${seq}: ${describeInput(p)}`);
            assert.equal(toHex(refRx.unprotectRtp(got)), toHex(p));
            assert.equal(toHex(gate.unprotectRtp(got)), toHex(p));
            const c = randomRtcp(r, ssrc);
            const cp = gate.protectRtcp(c);
            refTx.setSrtcpIndex(ssrc, srtcpTrailer(cp, refSuite(suite)).index);
            assert.equal(toHex(cp), toHex(refTx.protectRtcp(c)), `${suite} SRTCP: ${describeInput(c)}`);
            assert.equal(toHex(gate.unprotectRtcp(cp)), toHex(c));
          }
        } finally {
          gate.close();
        }
      }
    });
  });
}
