// AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714) against the RFC's own §16–17 vectors.
//
// The RFC gives session keys and salts, no master key. So:
//  - the reference (test/reference/refSrtp.ts) is checked against every vector directly;
//  - the core is checked against the same vectors by writing the vectors' session keys into
//    a live context slot (test/helpers/sessionKeys.ts, which first proves it found the keys
//    where it expected them) and running the real srtp/srtcp protect and unprotect;
//  - the master-key path (KDF + transform) through createSrtpSessionSync is checked against
//    the reference, whose KDF matches libsrtp2's (refSrtp.test.ts, libsrtp-canonical.json).
// Every wasm test runs on every build (STYLE rule 26).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CryptoCore, type CoreBuild } from '../../src/crypto/CryptoCore.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { suiteByName, type SuiteName } from '../../src/crypto/suites.ts';
import { Status } from '../../src/crypto/abi.ts';
import { SrtpError } from '../../src/errors.ts';
import {
  RefSrtpContext, RefSrtpError, aesBlock, deriveSessionKeys, gcmIvRtcp, gcmIvRtp, gcmOpen, gcmSeal, hex, toHex,
  type SessionKeys,
} from '../reference/refSrtp.ts';
import { injectSessionKeys } from '../helpers/sessionKeys.ts';

interface Rfc7714Vector {
  source: string;
  suite: 'AEAD_AES_128_GCM' | 'AEAD_AES_256_GCM';
  kind: 'rtp' | 'rtcp';
  /** RTP: false = §16.x.3/4 "authentication tagging" (whole packet as AAD). RTCP: the E flag. */
  encrypted: boolean;
  sessionKey: string;
  sessionSalt: string;
  roc?: number;
  index?: number;
  iv: string;
  h: string;
  aad: string;
  plaintext: string;
  protected: string;
}
interface Rfc7714File { source: string; notes: string[]; vectors: Rfc7714Vector[] }

const file = JSON.parse(readFileSync(new URL('../vectors/rfc7714.json', import.meta.url), 'utf8')) as Rfc7714File;
const ssrcOf = (v: Rfc7714Vector): number => new DataView(hex(v.plaintext).buffer).getUint32(v.kind === 'rtp' ? 8 : 4);
const seqOf = (v: Rfc7714Vector): number => new DataView(hex(v.plaintext).buffer).getUint16(2);
const vectorKeys = (v: Rfc7714Vector): SessionKeys => ({
  rtpKey: hex(v.sessionKey), rtpAuthKey: new Uint8Array(0), rtpSalt: hex(v.sessionSalt),
  rtcpKey: hex(v.sessionKey), rtcpAuthKey: new Uint8Array(0), rtcpSalt: hex(v.sessionSalt),
});
const name = (v: Rfc7714Vector): string => `${v.source} ${v.suite} ${v.kind}${v.encrypted ? '' : (v.kind === 'rtp' ? ' tag only' : ' E=0')}`;

function flipped(p: Uint8Array, at: number): Uint8Array {
  const q = p.slice();
  q[at]! ^= 0x01;
  return q;
}

describe('RFC 7714 vectors: the file', () => {
  it('names its source and holds §16 and §17 for both key sizes', () => {
    assert.match(file.source, /RFC 7714/);
    for (const v of file.vectors) assert.match(v.source, /^RFC 7714 §1[67]\./);
    for (const suite of ['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM']) {
      for (const kind of ['rtp', 'rtcp']) {
        for (const encrypted of [true, false]) {
          assert.equal(file.vectors.filter((v) => v.suite === suite && v.kind === kind && v.encrypted === encrypted).length, 1,
            `${suite} ${kind} encrypted=${encrypted}`);
        }
      }
    }
  });
});

describe('RFC 7714 vectors against the reference', () => {
  for (const v of file.vectors) {
    it(name(v), () => {
      const key = hex(v.sessionKey);
      const salt = hex(v.sessionSalt);
      const plain = hex(v.plaintext);
      const prot = hex(v.protected);
      // The intermediate values the RFC prints: the IV (§8.1 / §9.1) and H = E_K(0^128).
      const iv = v.kind === 'rtp'
        ? gcmIvRtp(salt, ssrcOf(v), (BigInt(v.roc ?? 0) << 16n) | BigInt(seqOf(v)))
        : gcmIvRtcp(salt, ssrcOf(v), v.index ?? 0);
      assert.equal(toHex(iv), v.iv);
      assert.equal(toHex(aesBlock(key, new Uint8Array(16))), v.h);

      if (v.kind === 'rtp' && !v.encrypted) {
        // Authentication tagging: AAD = the whole packet, empty plaintext, the tag appended.
        // Not an srtpgate mode (SRTP always encrypts), so only the AEAD primitive is checked.
        assert.equal(v.aad, v.plaintext);
        assert.equal(toHex(gcmSeal(key, iv, plain, new Uint8Array(0))), toHex(prot.subarray(plain.length)));
        assert.notEqual(gcmOpen(key, iv, plain, prot.subarray(plain.length)), null);
        assert.equal(gcmOpen(key, iv, flipped(plain, 20), prot.subarray(plain.length)), null);
        return;
      }
      const tx = new RefSrtpContext({ suite: v.suite, sessionKeys: vectorKeys(v) });
      const rx = new RefSrtpContext({ suite: v.suite, sessionKeys: vectorKeys(v) });
      const authFail = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof RefSrtpError && e.code === 'E_AUTH_FAIL');
      if (v.kind === 'rtp') {
        assert.equal(v.aad, toHex(plain.subarray(0, 12)), 'SRTP AAD is the RTP header');
        assert.equal(toHex(tx.protectRtp(plain)), v.protected);
        authFail(() => new RefSrtpContext({ suite: v.suite, sessionKeys: vectorKeys(v) }).unprotectRtp(flipped(prot, prot.length - 1)));
        assert.equal(toHex(rx.unprotectRtp(prot)), v.plaintext);
      } else {
        tx.setSrtcpIndex(ssrcOf(v), v.index ?? 0);
        assert.equal(toHex(tx.protectRtcp(plain, { encrypt: v.encrypted })), v.protected);
        authFail(() => new RefSrtpContext({ suite: v.suite, sessionKeys: vectorKeys(v) }).unprotectRtcp(flipped(prot, 20)));
        const r = rx.unprotectRtcpDetailed(prot);
        assert.deepEqual({ packet: toHex(r.packet), index: r.index, encrypted: r.encrypted },
          { packet: v.plaintext, index: v.index, encrypted: v.encrypted });
      }
    });
  }
});

const BUILDS: { build: CoreBuild; debug: boolean }[] = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false },
  { build: 'simd', debug: true }, { build: 'scalar', debug: true },
];

/** Any master key: the slot's derived keys are overwritten by the vector's. */
const MASTER = { key32: new Uint8Array(32).map((_, i) => 0xa0 ^ i), salt: new Uint8Array(12).map((_, i) => 0x30 + i) };

for (const b of BUILDS) {
  describe(`RFC 7714 vectors through the core, ${b.build}.${b.debug ? 'debug' : 'release'} (session keys written into the slot)`, () => {
    const core = CryptoCore.loadSync({ ...b, maxContexts: 8, maxSsrcsPerContext: 2 });

    function context(v: Rfc7714Vector, direction: 'inbound' | 'outbound', insecureAllowUnencryptedSrtcp = false): number {
      const suite = suiteByName(v.suite)!;
      const masterKey = MASTER.key32.subarray(0, suite.keyLen);
      const h = core.createContext({ suite, direction, masterKey, masterSalt: MASTER.salt, insecureAllowUnencryptedSrtcp });
      const derived = deriveSessionKeys(v.suite, masterKey, MASTER.salt);
      const keys = { key: hex(v.sessionKey), salt: hex(v.sessionSalt) };
      injectSessionKeys(core, h, derived, 'gcm', keys, keys);
      return h;
    }
    const run = (op: (h: number, len: number) => number, h: number, bytes: Uint8Array): { st: number; out: string } => {
      core.io.set(bytes, 0);
      const st = op(h, bytes.length);
      return { st, out: st >= 0 ? toHex(core.io.subarray(0, st)) : '' };
    };
    const protectRtp = core.srtpProtect.bind(core);
    const unprotectRtp = core.srtpUnprotect.bind(core);
    const protectRtcp = core.srtcpProtect.bind(core);
    const unprotectRtcp = core.srtcpUnprotect.bind(core);

    for (const v of file.vectors.filter((x) => x.kind === 'rtcp' || x.encrypted)) {
      it(name(v), () => {
        const plain = hex(v.plaintext);
        const prot = hex(v.protected);
        const out = context(v, 'outbound');
        const inb = context(v, 'inbound', true);
        const strict = context(v, 'inbound');
        try {
          if (v.kind === 'rtp') {
            assert.deepEqual(run(protectRtp, out, plain), { st: prot.length, out: v.protected });
            assert.equal(run(unprotectRtp, inb, flipped(prot, 13)).st, Status.AUTH_FAIL);
            assert.deepEqual(run(unprotectRtp, inb, prot), { st: plain.length, out: v.plaintext });
            return;
          }
          if (v.encrypted) {
            // The core numbers SRTCP from 0 per SSRC: send index-many packets first.
            const filler = plain.slice();
            for (let i = 0; i < (v.index ?? 0); i++) assert.ok(run(protectRtcp, out, filler).st > 0);
            assert.deepEqual(run(protectRtcp, out, plain), { st: prot.length, out: v.protected });
          } else {
            // srtpgate never sends E = 0; it accepts it only when told to (insecure option).
            assert.equal(run(unprotectRtcp, strict, prot).st, Status.UNENCRYPTED_SRTCP);
          }
          assert.equal(run(unprotectRtcp, inb, flipped(prot, 9)).st, Status.AUTH_FAIL);
          assert.deepEqual(run(unprotectRtcp, inb, prot), { st: plain.length, out: v.plaintext });
        } finally {
          for (const h of [out, inb, strict]) core.destroyContext(h);
        }
      });
    }

    it('from master keys: the RFC packets through createSrtpSessionSync equal the reference (KDF + transform)', () => {
      for (const suiteName of ['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const satisfies readonly SuiteName[]) {
        const rtpV = file.vectors.find((x) => x.suite === suiteName && x.kind === 'rtp' && x.encrypted)!;
        const rtcpV = file.vectors.find((x) => x.suite === suiteName && x.kind === 'rtcp' && x.encrypted)!;
        // The RFC's key and salt, used here as master key and salt.
        const m = { masterKey: hex(rtpV.sessionKey), masterSalt: hex(rtpV.sessionSalt) };
        const session = createSrtpSessionSync({ suite: suiteName, masterKey: m.masterKey.slice(), masterSalt: m.masterSalt.slice(), core });
        const lax = createSrtpSessionSync({ suite: suiteName, ...m, insecureAllowUnencryptedSrtcp: true, core });
        const ref = new RefSrtpContext({ suite: suiteName, ...m });
        try {
          const rtp = hex(rtpV.plaintext);
          const want = ref.protectRtp(rtp);
          assert.notEqual(toHex(want), rtpV.protected, 'derived session keys differ from the vector keys');
          assert.equal(toHex(session.protectRtp(rtp)), toHex(want));
          assert.equal(toHex(session.unprotectRtp(want)), rtpV.plaintext);

          const rtcp = hex(rtcpV.plaintext);
          for (let i = 0; i < (rtcpV.index ?? 0); i++) session.protectRtcp(rtcp);
          ref.setSrtcpIndex(ssrcOf(rtcpV), rtcpV.index ?? 0);
          const wantRtcp = ref.protectRtcp(rtcp);
          assert.equal(toHex(session.protectRtcp(rtcp)), toHex(wantRtcp));
          assert.equal(toHex(session.unprotectRtcp(wantRtcp)), rtcpV.plaintext);

          const clear = ref.protectRtcp(rtcp, { encrypt: false });
          assert.throws(() => session.unprotectRtcp(clear), (e: unknown) => e instanceof SrtpError && e.code === 'E_UNENCRYPTED_SRTCP');
          assert.equal(toHex(lax.unprotectRtcp(clear)), rtcpV.plaintext);
        } finally {
          session.close();
          lax.close();
        }
      }
    });
  });
}
