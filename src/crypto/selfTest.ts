// Known-answer tests run at every core load (libsrtp's kernel does the same): a core whose
// AES, HMAC-SHA1, key derivation or SRTP transform disagrees with the published vectors
// must not carry media. Vectors: FIPS-197 App. C, RFC 2202 §3, RFC 3711 App. B.3.
import { RelayError } from '../errors.ts';
import type { CryptoCore } from './CryptoCore.ts';
import { SUITES } from './suites.ts';

type Fn = (...args: number[]) => number;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const KAT = {
  aes128: { key: '000102030405060708090a0b0c0d0e0f', pt: '00112233445566778899aabbccddeeff', ct: '69c4e0d86a7b0430d8cdb78070b4c55a' },
  aes256: { key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', pt: '00112233445566778899aabbccddeeff', ct: '8ea2b7ca516745bfeafc49904b496089' },
  hmac: { key: '4a656665', data: '7768617420646f2079612077616e7420666f72206e6f7468696e673f', mac: 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79' },
  kdf: {
    key: 'e1f97a0d3e018be0d64fa32c06de4139', salt: '0ec675ad498afeebb6960b3aabe6',
    enc: 'c61e7a93744f39ee10734afe3ff7a087', saltOut: '30cbbc08863d8c85d49db34a9ae1', auth: 'cebe321f6ff7716b6fd4ab49af256a156d38baa4',
  },
  // The canonical packet of libsrtp's srtp_driver (also pion's and rtpengine's), B.3 keys.
  canonical: {
    plain: '800f1234decafbadcafebabe' + 'ab'.repeat(16),
    srtp: '800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb',
  },
} as const;

function fail(what: string): never {
  throw new RelayError('E_CRYPTO_SELFTEST', 'known-answer test failed; refusing to start', { test: what });
}

export function runSelfTest(core: CryptoCore): void {
  const x = core.exports;
  const fn = (n: string): Fn => {
    const f = x[n];
    if (typeof f !== 'function') fail(`export ${n}`);
    return f as Fn;
  };
  const mem = () => new Uint8Array(x.memory.buffer);
  const scratch = fn('testScratchPtr')();
  const rk = scratch;            // expanded key
  const a = scratch + 4096;      // inputs
  const b = scratch + 8192;      // outputs
  const put = (p: number, h: string) => mem().set(hex(h), p);
  const get = (p: number, n: number) => toHex(mem().slice(p, p + n));

  for (const [name, v] of [['aes128', KAT.aes128], ['aes256', KAT.aes256]] as const) {
    put(a, v.key);
    if (fn('aesExpandKey')(a, v.key.length / 2, rk) !== 0) fail(name);
    put(a, v.pt);
    fn('aesEncryptBlock')(rk, a, b);
    if (get(b, 16) !== v.ct) fail(name);
  }

  put(a, KAT.hmac.key);
  fn('hmacSha1Init')(a, 4, rk);
  put(a, KAT.hmac.data);
  fn('hmacSha1Compute')(rk, a, KAT.hmac.data.length / 2, b);
  if (get(b, 20) !== KAT.hmac.mac) fail('hmac-sha1');

  put(a, KAT.kdf.key);
  put(a + 32, KAT.kdf.salt);
  const kdf = fn('srtpKdf');
  if (kdf(a, 16, a + 32, 0, b, 16) !== 0 || get(b, 16) !== KAT.kdf.enc) fail('kdf-enc');
  if (kdf(a, 16, a + 32, 2, b, 14) !== 0 || get(b, 14) !== KAT.kdf.saltOut) fail('kdf-salt');
  if (kdf(a, 16, a + 32, 1, b, 20) !== 0 || get(b, 20) !== KAT.kdf.auth) fail('kdf-auth');
  mem().fill(0, scratch, scratch + 12288);

  const aes128 = SUITES.find((s) => s.name === 'AES_CM_128_HMAC_SHA1_80');
  if (!aes128) fail('suite table');
  const kat = core.createContext({ suite: aes128, direction: 'outbound', masterKey: hex(KAT.kdf.key), masterSalt: hex(KAT.kdf.salt) });
  try {
    core.io.set(hex(KAT.canonical.plain), 0);
    const n = core.srtpProtect(kat, KAT.canonical.plain.length / 2);
    if (n < 0 || toHex(core.io.subarray(0, n)) !== KAT.canonical.srtp) fail('canonical SRTP packet');
  } finally {
    core.destroyContext(kat);
  }

  // One SRTP and one SRTCP round trip per suite through real contexts: exercises the
  // whole transform (IV, keystream, tag) on both sides.
  for (const suite of SUITES) {
    const key = new Uint8Array(suite.keyLen).fill(0x5a);
    const salt = new Uint8Array(suite.saltLen).fill(0xa5);
    const insecure = { insecureAllowNullCipher: !suite.encrypts };
    const out = core.createContext({ suite, direction: 'outbound', masterKey: key, masterSalt: salt, ...insecure });
    const inb = core.createContext({ suite, direction: 'inbound', masterKey: key, masterSalt: salt, ...insecure });
    try {
      const pkt = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
      core.io.set(pkt, 0);
      const n = core.srtpProtect(out, pkt.length);
      if (n !== pkt.length + suite.rtpTagLen) fail(`${suite.name} protect`);
      if (suite.encrypts && toHex(core.io.subarray(12, 28)) === 'ab'.repeat(16)) fail(`${suite.name} encrypts`);
      if (core.srtpUnprotect(inb, n) !== pkt.length || toHex(core.io.subarray(0, pkt.length)) !== toHex(pkt)) fail(`${suite.name} unprotect`);
      const rtcp = hex('80c90001cafebabe' + 'ab'.repeat(16));
      core.io.set(rtcp, 0);
      const m = core.srtcpProtect(out, rtcp.length);
      if (m !== rtcp.length + 4 + suite.rtcpTagLen) fail(`${suite.name} srtcp protect`);
      if (core.srtcpUnprotect(inb, m) !== rtcp.length || toHex(core.io.subarray(0, rtcp.length)) !== toHex(rtcp)) fail(`${suite.name} srtcp unprotect`);
    } finally {
      core.destroyContext(out);
      core.destroyContext(inb);
      core.io.fill(0, 0, 256);
    }
  }
}
