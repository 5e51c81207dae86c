// AES-f8 (RFC 3711 §4.1.2): F8_128_HMAC_SHA1_80 / _32.
//  - the reference against RFC 3711 Appendix B.1 (every intermediate value it prints);
//  - the core's SRTP path against B.1, with the vector's session key and salt written into a
//    live context slot (test/helpers/sessionKeys.ts): B.1 starts from session keys;
//  - SRTCP, which has no published f8 vector: the IV layout of §4.1.2.3 spelled out, and the
//    core byte-identical with the reference (the differential tests do the same at random);
//  - the canonical packets (STYLE rule 21) for both suites, SRTP and SRTCP; libsrtp has no f8,
//    so their bytes were cross-checked with an independent pyca/cryptography computation;
//  - validation, memory and the suite table. Every wasm test runs on every build.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CryptoCore, type CoreBuild } from '../../src/crypto/CryptoCore.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { SUITES, suiteByName } from '../../src/crypto/suites.ts';
import { CIPHER_AES_F8, FLAG_OUTBOUND, Status } from '../../src/crypto/abi.ts';
import {
  RefSrtpContext, aesBlock, buildRtcp, deriveSessionKeys, f8IvPrime, f8IvRtcp, f8IvRtp, f8KeyMask, f8Keystream,
  hex, hmacSha1, srtcpTrailer, toHex, type SessionKeys,
} from '../reference/refSrtp.ts';
import { injectSessionKeys } from '../helpers/sessionKeys.ts';

interface F8Block { j: number; input: string; keystream: string; plaintext: string; ciphertext: string }
interface F8Canonical {
  source: string; masterKey: string; masterSalt: string;
  rtp: { plaintext: string; F8_128_HMAC_SHA1_80: string; F8_128_HMAC_SHA1_32: string };
  rtcp: { plaintext: string; index: number; protected: string };
}
interface F8Vector {
  canonical: F8Canonical;
  source: string; rtpHeader: string; plaintext: string; roc: number; sessionKey: string; sessionSalt: string;
  keyMask: string; maskedKey: string; iv: string; ivPrime: string; blocks: F8Block[]; ciphertext: string;
}
const v = JSON.parse(readFileSync(new URL('../vectors/rfc3711-f8.json', import.meta.url), 'utf8')) as F8Vector;
const key = hex(v.sessionKey);
const salt = hex(v.sessionSalt);
const header = hex(v.rtpHeader);
const ssrc = new DataView(header.buffer).getUint32(8);

function xor16(a: Uint8Array, b: Uint8Array): Uint8Array { return a.map((x, i) => x ^ b[i]!); }

describe('AES-f8: RFC 3711 B.1 against the reference', () => {
  it('the vector file names its source', () => {
    assert.match(v.source, /RFC 3711 Appendix B\.1/);
  });

  it('key mask m = k_s || 0x55.., k_e XOR m, IV = 0x00 || M PT SEQ TS SSRC || ROC, IV\' = E(k_e XOR m, IV)', () => {
    assert.equal(toHex(f8KeyMask(salt, 16)), v.keyMask);
    assert.equal(toHex(xor16(key, hex(v.keyMask))), v.maskedKey);
    assert.equal(toHex(f8IvRtp(header, v.roc)), v.iv);
    assert.equal(toHex(f8IvPrime(key, salt, hex(v.iv))), v.ivPrime);
  });

  it('S(j) = E(k_e, IV\' XOR j XOR S(j-1)) block by block, and the ciphertext', () => {
    const stream = f8Keystream(key, salt, hex(v.iv), hex(v.plaintext).length);
    let prev: Uint8Array = new Uint8Array(16);
    for (const b of v.blocks) {
      const j = new Uint8Array(16);
      j[15] = b.j;
      assert.equal(toHex(xor16(xor16(hex(v.ivPrime), j), prev)), b.input, `input of block ${b.j}`);
      assert.equal(toHex(aesBlock(key, hex(b.input))), b.keystream, `S(${b.j})`);
      const part = stream.subarray(16 * b.j, 16 * b.j + hex(b.plaintext).length);
      assert.equal(toHex(part), b.keystream.slice(0, 2 * part.length));
      assert.equal(toHex(xor16(hex(b.plaintext), part)), b.ciphertext);
      prev = hex(b.keystream);
    }
    assert.equal(toHex(xor16(hex(v.plaintext), stream)), v.ciphertext);
  });

  it('a reference context keyed with the B.1 session key protects the B.1 packet to its ciphertext', () => {
    const authKey = new Uint8Array(20).fill(0x42);
    const sessionKeys: SessionKeys = { rtpKey: key, rtpAuthKey: authKey, rtpSalt: salt, rtcpKey: key, rtcpAuthKey: authKey, rtcpSalt: salt };
    const tx = new RefSrtpContext({ suite: 'F8_128_HMAC_SHA1_80', sessionKeys });
    tx.setRoc(ssrc, v.roc);
    const plain = new Uint8Array([...header, ...hex(v.plaintext)]);
    const out = tx.protectRtp(plain);
    const body = out.subarray(0, plain.length);
    assert.equal(toHex(body), v.rtpHeader + v.ciphertext);
    const roc = new Uint8Array(4);
    new DataView(roc.buffer).setUint32(0, v.roc);
    assert.equal(toHex(out.subarray(plain.length)), toHex(hmacSha1(authKey, new Uint8Array([...body, ...roc])).subarray(0, 10)));
    const rx = new RefSrtpContext({ suite: 'F8_128_HMAC_SHA1_80', sessionKeys });
    rx.setRoc(ssrc, v.roc);
    assert.equal(toHex(rx.unprotectRtp(out)), toHex(plain));
  });

  it('the canonical packets (STYLE rule 21) from the B.3 master key', () => {
    const c = v.canonical;
    assert.match(c.source, /independent/);
    for (const suite of ['F8_128_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_32'] as const) {
      const tx = new RefSrtpContext({ suite, masterKey: hex(c.masterKey), masterSalt: hex(c.masterSalt) });
      assert.equal(toHex(tx.protectRtp(hex(c.rtp.plaintext))), c.rtp[suite], suite);
      tx.setSrtcpIndex(0xcafebabe, c.rtcp.index);
      assert.equal(toHex(tx.protectRtcp(hex(c.rtcp.plaintext))), c.rtcp.protected, `${suite} SRTCP`);
    }
  });

  it('SRTCP IV (§4.1.2.3): 0 (32 bits) || E || SRTCP index || V P RC PT length SSRC', () => {
    const rtcp = hex('81c8000d4d617273' + 'deadbeef');
    assert.equal(toHex(f8IvRtcp(rtcp, (0x8000_0000 | 0x5d4) >>> 0)), '00000000' + '800005d4' + '81c8000d4d617273');
    assert.equal(toHex(f8IvRtcp(rtcp, 7)), '00000000' + '00000007' + '81c8000d4d617273');
  });
});

describe('AES-f8 in the suite table', () => {
  it('both suites are f8, 128-bit, no DTLS profile, ranked below every AES-CM suite and above NULL', () => {
    const f8 = SUITES.filter((s) => s.cipher === CIPHER_AES_F8);
    assert.deepEqual(f8.map((s) => s.name).sort(), ['F8_128_HMAC_SHA1_32', 'F8_128_HMAC_SHA1_80']);
    const cmFloor = Math.min(...SUITES.filter((s) => s.encrypts && s.cipher !== CIPHER_AES_F8).map((s) => s.rank));
    const nullTop = Math.max(...SUITES.filter((s) => !s.encrypts).map((s) => s.rank));
    for (const s of f8) {
      assert.deepEqual([s.keyLen, s.saltLen, s.rtcpTagLen, s.dtlsId, s.dtlsName, s.encrypts], [16, 14, 10, null, null, true], s.name);
      assert.ok(s.rank < cmFloor && s.rank > nullTop, `${s.name} rank ${s.rank}`);
    }
    assert.equal(suiteByName('F8_128_HMAC_SHA1_80')!.rtpTagLen, 10);
    assert.equal(suiteByName('F8_128_HMAC_SHA1_32')!.rtpTagLen, 4);
    assert.ok(suiteByName('F8_128_HMAC_SHA1_80')!.rank > suiteByName('F8_128_HMAC_SHA1_32')!.rank);
  });
});

const BUILDS: { build: CoreBuild; debug: boolean }[] = [
  { build: 'simd', debug: false }, { build: 'scalar', debug: false },
  { build: 'simd', debug: true }, { build: 'scalar', debug: true },
];
const MASTER = { key: new Uint8Array(16).map((_, i) => 0x11 * (i + 1)), salt: new Uint8Array(14).map((_, i) => 0xe0 + i) };

for (const b of BUILDS) {
  describe(`AES-f8 in the core, ${b.build}.${b.debug ? 'debug' : 'release'}`, () => {
    const core = CryptoCore.loadSync({ ...b, maxContexts: 8, maxSsrcsPerContext: 2 });
    const suite = suiteByName('F8_128_HMAC_SHA1_80')!;

    it('RFC 3711 B.1 through srtpProtect / srtpUnprotect (session key written into the slot)', () => {
      const derived = deriveSessionKeys(suite.name, MASTER.key, MASTER.salt);
      const ctx = (direction: 'inbound' | 'outbound') => {
        const h = core.createContext({ suite, direction, masterKey: MASTER.key, masterSalt: MASTER.salt });
        injectSessionKeys(core, h, derived, 'f8', { key, salt }, { key, salt });
        assert.equal(core.setRoc(h, ssrc, v.roc), Status.OK);
        return h;
      };
      const out = ctx('outbound');
      const inb = ctx('inbound');
      try {
        const plain = new Uint8Array([...header, ...hex(v.plaintext)]);
        core.io.set(plain, 0);
        const n = core.srtpProtect(out, plain.length);
        assert.equal(n, plain.length + 10);
        const body = core.io.slice(0, plain.length);
        assert.equal(toHex(body), v.rtpHeader + v.ciphertext);
        // The tag is the derived HMAC key's over header || ciphertext || ROC.
        const roc = new Uint8Array(4);
        new DataView(roc.buffer).setUint32(0, v.roc);
        assert.equal(toHex(core.io.subarray(plain.length, n)), toHex(hmacSha1(derived.rtpAuthKey, new Uint8Array([...body, ...roc])).subarray(0, 10)));
        const wire = core.io.slice(0, n);
        core.io.set(wire, 0);
        core.io[20]! ^= 1;
        assert.equal(core.srtpUnprotect(inb, n), Status.AUTH_FAIL);
        core.io.set(wire, 0);
        assert.equal(core.srtpUnprotect(inb, n), plain.length);
        assert.equal(toHex(core.io.subarray(0, plain.length)), toHex(plain));
      } finally {
        core.destroyContext(out);
        core.destroyContext(inb);
      }
    });

    it('the canonical packets, both suites, SRTP and SRTCP, protect and unprotect', () => {
      const c = v.canonical;
      for (const name of ['F8_128_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_32'] as const) {
        const s = createSrtpSessionSync({ suite: name, masterKey: hex(c.masterKey), masterSalt: hex(c.masterSalt), core });
        try {
          assert.equal(toHex(s.protectRtp(hex(c.rtp.plaintext))), c.rtp[name]);
          assert.equal(toHex(s.unprotectRtp(hex(c.rtp[name]))), c.rtp.plaintext);
          // The core numbers SRTCP from 0: index 1 is the second packet.
          s.protectRtcp(hex(c.rtcp.plaintext));
          assert.equal(toHex(s.protectRtcp(hex(c.rtcp.plaintext))), c.rtcp.protected);
          assert.equal(toHex(s.unprotectRtcp(hex(c.rtcp.protected))), c.rtcp.plaintext);
        } finally {
          s.close();
        }
      }
    });

    it('SRTP and SRTCP byte-identical with the reference for both suites, E = 1 on SRTCP, 0..1400-byte payloads', () => {
      for (const name of ['F8_128_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_32'] as const) {
        const s = createSrtpSessionSync({ suite: name, masterKey: MASTER.key.slice(), masterSalt: MASTER.salt.slice(), core });
        const ref = new RefSrtpContext({ suite: name, masterKey: MASTER.key, masterSalt: MASTER.salt });
        const refRx = new RefSrtpContext({ suite: name, masterKey: MASTER.key, masterSalt: MASTER.salt });
        try {
          for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 160, 1400]) {
            const p = new Uint8Array(12 + len).map((_, i) => (i * 31 + len) & 0xff);
            p[0] = 0x80; p.set([0, 0, 0, 9], 8);
            p[2] = len >> 8; p[3] = len & 0xff;
            const got = s.protectRtp(p);
            assert.equal(toHex(got), toHex(ref.protectRtp(p)), `${name} SRTP, ${len}-byte payload`);
            assert.equal(toHex(refRx.unprotectRtp(got)), toHex(p));
            assert.equal(toHex(s.unprotectRtp(got)), toHex(p));
            const c = buildRtcp(9, new Uint8Array(4 * Math.ceil(len / 4)).map((_, i) => i & 0xff));
            const gotRtcp = s.protectRtcp(c);
            const t = srtcpTrailer(gotRtcp, 10);
            assert.equal(t.encrypted, true);
            ref.setSrtcpIndex(9, t.index);
            assert.equal(toHex(gotRtcp), toHex(ref.protectRtcp(c)), `${name} SRTCP, ${c.length} bytes`);
            assert.equal(toHex(refRx.unprotectRtcp(gotRtcp)), toHex(c));
            assert.equal(toHex(s.unprotectRtcp(gotRtcp)), toHex(c));
          }
        } finally {
          s.close();
        }
      }
    });

    it('ctxCreate takes f8 with a 16-byte key and 14-byte salt only', () => {
      const x = core.exports;
      const ctxCreate = x.ctxCreate.bind(x);
      const keyIn = (x.keyInPtr as () => number)();
      const mem = () => new Uint8Array(x.memory.buffer);
      const create = (keyLen: number, saltLen: number) => {
        mem().fill(7, keyIn, keyIn + 64);
        return ctxCreate(CIPHER_AES_F8, keyIn, keyLen, keyIn + 32, saltLen, 10, 10, 1024, FLAG_OUTBOUND, -1, 0, 0);
      };
      assert.equal(create(32, 14), Status.BAD_PARAM);
      assert.equal(create(24, 14), Status.BAD_PARAM);
      assert.equal(create(16, 12), Status.BAD_PARAM);
      const h = create(16, 14);
      assert.ok(h >= 0, `status ${h}`);
      assert.equal(x.ctxDestroy(h), Status.OK);
    });

    it('memory does not grow over 20 000 f8 packets', () => {
      const s = createSrtpSessionSync({ suite: 'F8_128_HMAC_SHA1_80', masterKey: MASTER.key.slice(), masterSalt: MASTER.salt.slice(), core });
      try {
        const before = core.memoryBytes;
        const buf = new Uint8Array(12 + 160 + 64);
        buf[0] = 0x80; buf[11] = 5;
        for (let i = 0; i < 20_000; i++) {
          buf[2] = (i >> 8) & 0xff; buf[3] = i & 0xff;
          const n = s.protectRtpInPlace(buf, 172);
          assert.equal(s.unprotectRtpInPlace(buf, n), 172);
        }
        assert.equal(core.memoryBytes, before);
      } finally {
        s.close();
      }
    });
  });
}
