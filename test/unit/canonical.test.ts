// The canonical packet (SSRC 0xcafebabe, seq 0x1234, 16 × 0xab), protected by the system
// libsrtp2 for every suite it supports (test/vectors/libsrtp-canonical.json, produced by
// test/interop/libsrtp.ts): srtpgate must produce exactly those bytes and unprotect them back.
// Needs no libsrtp2 at test time. Suites srtpgate does not implement yet are skipped.
//
// SRTCP: libsrtp2 numbers its first SRTCP packet 1, while srtpgate starts at 0 (RFC 3711 §3.4)
// and has no way to set the index. The index is in the trailer and in the keystream and tag
// input, so when srtpgate's first index is lower than the vector's, the sender first protects
// throwaway packets until its next index is the vector's, then must produce exactly its bytes.
// Were srtpgate's first index higher, only unprotect could be checked (the test says so).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createSrtpSession } from '../../src/index.ts';

type SessionOptions = Parameters<typeof createSrtpSession>[0];
type GateSession = Awaited<ReturnType<typeof createSrtpSession>>;

interface Vector {
  suite: string;
  packet: string;
  kind: 'rtp' | 'rtcp';
  masterKey: string;
  masterSalt: string;
  plaintext: string;
  protected: string;
  index: number;
  libsrtpNonCompliant?: string;
}

interface VectorFile {
  source: string;
  vectors: Vector[];
}

const file = JSON.parse(readFileSync(new URL('../vectors/libsrtp-canonical.json', import.meta.url), 'utf8')) as VectorFile;
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** SRTCP index in a protected packet: AEAD suites put E||index last, HMAC suites before the 10-byte tag. */
function srtcpIndex(suite: string, p: Uint8Array): number {
  const at = p.length - 4 - (suite.startsWith('AEAD_') ? 0 : 10);
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(at) & 0x7fffffff;
}

/** A fresh srtpgate session for the vector, or the reason it cannot be made (unsupported suite). */
async function session(v: Vector): Promise<GateSession | string> {
  const options: SessionOptions = {
    suite: v.suite as SessionOptions['suite'], masterKey: hex(v.masterKey), masterSalt: hex(v.masterSalt),
    insecureAllowNullCipher: v.suite.startsWith('NULL_'),
  };
  try {
    return await createSrtpSession(options);
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? (err as { code: unknown }).code : undefined;
    if (code === 'E_BAD_REQUEST' || code === 'E_NOT_SUPPORTED') return `srtpgate does not support ${v.suite} yet (${String(code)})`;
    throw err;
  }
}

describe('canonical packet vs libsrtp2 (test/vectors/libsrtp-canonical.json)', () => {
  it('the vector file is the libsrtp-validate set with every suite and packet', () => {
    assert.equal(file.source, 'libsrtp-validate');
    const suites = new Set(file.vectors.map((v) => v.suite));
    for (const s of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'AES_256_CM_HMAC_SHA1_80',
      'AES_256_CM_HMAC_SHA1_32', 'NULL_HMAC_SHA1_80', 'NULL_HMAC_SHA1_32']) {
      assert.ok(suites.has(s), `no vectors for ${s}`);
    }
    for (const s of suites) {
      assert.equal(file.vectors.filter((v) => v.suite === s).length, 4, `${s}: expected rtp, rtpSrtpDriver, rtcp, rtcpSrtpDriver`);
    }
  });

  for (const v of file.vectors) {
    it(`${v.suite} ${v.packet}: protect gives libsrtp2's bytes, unprotect gives the plaintext back`, async (t) => {
      if (v.libsrtpNonCompliant !== undefined) {
        t.skip(`libsrtp2's ${v.suite} output does not follow the RFC: ${v.libsrtpNonCompliant}`);
        return;
      }
      const tx = await session(v);
      if (typeof tx === 'string') {
        t.skip(tx);
        return;
      }
      const rx = await session(v);
      if (typeof rx === 'string') throw new Error(rx);
      try {
        const plain = hex(v.plaintext);
        const expected = hex(v.protected);
        if (v.kind === 'rtp') {
          assert.equal(toHex(tx.protectRtp(plain)), v.protected, 'SRTP protect');
          assert.equal(toHex(rx.unprotectRtp(expected)), v.plaintext, 'SRTP unprotect');
        } else {
          let out = tx.protectRtcp(plain);
          const first = srtcpIndex(v.suite, out);
          if (first < v.index) {
            assert.ok(v.index - first <= 16, `srtpgate's first SRTCP index ${first} is far below libsrtp2's ${v.index}`);
            for (let i = first + 1; i < v.index; i++) tx.protectRtcp(plain);
            out = tx.protectRtcp(plain);
          }
          if (srtcpIndex(v.suite, out) === v.index) {
            assert.equal(toHex(out), v.protected, `SRTCP protect (srtpgate's first index ${first}, the vector's ${v.index})`);
          } else {
            t.diagnostic(`srtpgate's first SRTCP index is ${first}, above libsrtp2's ${v.index}: unprotect only`);
            assert.equal(out.length, expected.length, 'SRTCP protect length');
          }
          assert.equal(toHex(rx.unprotectRtcp(expected)), v.plaintext, 'SRTCP unprotect');
        }
      } finally {
        tx.close();
        rx.close();
      }
    });
  }
});
