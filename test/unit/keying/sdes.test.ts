import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  parseCryptoAttribute, formatCryptoAttribute, generateSdesCrypto, wipe,
  SdesCrypto, SdesKeyParam, MAX_LIFETIME, type SdesUnknownSuite,
} from '../../../src/keying/sdes.ts';
import { SUITES, suiteByName, type CryptoSuite } from '../../../src/crypto/suites.ts';
import { RelayError } from '../../../src/errors.ts';

// RFC 4568 §6.1 example key (30 bytes: AES-128 key + 112-bit salt) and §8.1's second key.
const RFC_KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';
const RFC_KEY2 = 'QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5';
const RFC_LINE = `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:32`;

function known(v: string): SdesCrypto {
  const c = parseCryptoAttribute(v);
  assert.equal(c.kind, 'crypto');
  return c as SdesCrypto;
}

/** Expects E_BAD_CRYPTO whose message matches `pattern` and never contains key text. */
function rejects(v: string, pattern: RegExp): RelayError {
  try {
    parseCryptoAttribute(v, { line: 12 });
  } catch (e) {
    assert.ok(e instanceof RelayError, `expected RelayError, got ${String(e)}`);
    assert.equal(e.code, 'E_BAD_CRYPTO');
    assert.match(e.message, pattern);
    assert.match(e.message, /\[line:12\]/);
    for (const m of v.matchAll(/inline:([^|; ]{8,})/gi)) {
      assert.ok(!e.message.includes(m[1]!.slice(0, 8)), 'error message must not echo key material');
    }
    return e;
  }
  assert.fail(`expected rejection of ${v}`);
}

/** Deterministic "random" bytes for generation tests. */
function counterRng(start = 1): (b: Uint8Array) => Uint8Array {
  let n = start;
  return (b) => {
    for (let i = 0; i < b.length; i++) b[i] = n++ & 0xff;
    return b;
  };
}

function b64(bytes: Uint8Array, padded = true): string {
  const s = Buffer.from(bytes).toString('base64');
  return padded ? s : s.replace(/=+$/, '');
}

function material(suite: CryptoSuite, seed = 7): Uint8Array {
  return counterRng(seed)(new Uint8Array(suite.keyLen + suite.saltLen));
}

const aes128 = suiteByName('AES_CM_128_HMAC_SHA1_80')!;
/** A suite with a key length different from aes128's, taken from the table. */
const otherLength = SUITES.find((s) => s.keyLen + s.saltLen !== aes128.keyLen + aes128.saltLen)!;

describe('sdes parse: RFC 4568 examples', () => {
  test('§6.1 example: tag, suite, key||salt, lifetime 2^20, MKI 1:32', () => {
    const c = known(RFC_LINE);
    assert.equal(c.tag, 1);
    assert.equal(c.suite, aes128);
    assert.equal(c.keys.length, 1);
    const k = c.keys[0]!;
    const raw = Buffer.from(RFC_KEY, 'base64');
    assert.deepEqual(Buffer.from(k.key), raw.subarray(0, 16));
    assert.deepEqual(Buffer.from(k.salt), raw.subarray(16));
    assert.equal(k.lifetime, 2 ** 20);
    assert.deepEqual(k.mki, { value: 1n, length: 32 });
    assert.deepEqual(c.params.extensions, []);
    assert.equal(formatCryptoAttribute(c), RFC_LINE);
  });
  test('two keys told apart by MKI, with FEC_ORDER', () => {
    const line = `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4;inline:${RFC_KEY2}|2^20|2:4 FEC_ORDER=FEC_SRTP`;
    const c = known(line);
    assert.equal(c.keys.length, 2);
    assert.deepEqual(c.keys.map((k) => k.mki), [{ value: 1n, length: 4 }, { value: 2n, length: 4 }]);
    assert.equal(c.params.fecOrder, 'FEC_SRTP');
    assert.equal(formatCryptoAttribute(c), line);
  });
  test('key-param without lifetime or MKI, and MKI without lifetime', () => {
    assert.equal(known(`2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}`).keys[0]!.lifetime, undefined);
    const c = known(`2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}|1:4`);
    assert.equal(c.keys[0]!.lifetime, undefined);
    assert.deepEqual(c.keys[0]!.mki, { value: 1n, length: 4 });
  });
  test('every suite in the table parses a key of its own length', () => {
    for (const suite of SUITES) {
      const m = material(suite);
      const c = known(`5 ${suite.name} inline:${b64(m)}`);
      assert.equal(c.suite, suite);
      assert.equal(c.keys[0]!.key.length, suite.keyLen);
      assert.equal(c.keys[0]!.salt.length, suite.saltLen);
      assert.deepEqual([...c.keys[0]!.material], [...m]);
    }
  });
});

describe('sdes parse: base64', () => {
  const s256 = SUITES.find((s) => s.keyLen + s.saltLen === 46);
  test('256-bit keys parse with and without padding; output is padded unless asked', { skip: s256 === undefined }, () => {
    const suite = s256!;
    const m = material(suite);
    const padded = b64(m);
    const bare = b64(m, false);
    assert.ok(padded.endsWith('==') && bare.length === padded.length - 2);
    const a = known(`1 ${suite.name} inline:${bare}`);
    const b = known(`1 ${suite.name} inline:${padded}`);
    assert.deepEqual([...a.keys[0]!.material], [...b.keys[0]!.material]);
    assert.equal(a.keys[0]!.padded, false);
    assert.equal(b.keys[0]!.padded, true);
    assert.equal(formatCryptoAttribute(a), `1 ${suite.name} inline:${padded}`);
    assert.equal(formatCryptoAttribute(a, { padding: 'input' }), `1 ${suite.name} inline:${bare}`);
    assert.equal(formatCryptoAttribute(b, { padding: 'unpadded' }), `1 ${suite.name} inline:${bare}`);
  });
  test('rejects non-standard alphabets and broken padding', () => {
    const k = RFC_KEY;
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${k.slice(0, -1)}-`, /not valid base64/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${k.slice(0, -1)}_`, /not valid base64/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${k.slice(0, 20)}=${k.slice(21)}`, /not valid base64/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${k}=`, /not valid base64/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${k.slice(0, 37)}`, /not valid base64/); // len % 4 == 1
    rejects('1 AES_CM_128_HMAC_SHA1_80 inline:', /length does not match/);
  });
  test('wrong key lengths name the expected and actual sizes, not the key', () => {
    const e = rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY.slice(0, 36)}`, /length does not match the suite/);
    assert.match(e.message, /\[expected:30\]\[actual:27\]/);
    const m = material(otherLength);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${b64(m)}`, /length does not match the suite/);
    rejects(`1 ${otherLength.name} inline:${RFC_KEY}`, /length does not match the suite/);
  });
});

describe('sdes parse: lifetime', () => {
  const line = (lt: string): string => `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|${lt}`;
  test('2^N and decimal forms; powers of two format as 2^N', () => {
    assert.equal(known(line('2^31')).keys[0]!.lifetime, 2 ** 31);
    assert.equal(known(line('2^0')).keys[0]!.lifetime, 1);
    assert.equal(known(line('2^48')).keys[0]!.lifetime, MAX_LIFETIME);
    assert.equal(formatCryptoAttribute(known(line('1048576'))), line('2^20'));
    assert.equal(formatCryptoAttribute(known(line('1000'))), line('1000'));
    assert.equal(known(line(String(2 ** 48))).keys[0]!.lifetime, MAX_LIFETIME);
  });
  test('caps at 2^48 and rejects malformed values', () => {
    rejects(line('2^49'), /exceeds 2\^48/);
    rejects(line(String(2 ** 48 + 1)), /exceeds 2\^48/);
    rejects(line('0'), /malformed lifetime/);
    rejects(line('01'), /malformed lifetime/);
    rejects(line('2^'), /malformed lifetime/);
    rejects(line('2^08'), /malformed lifetime/);
    rejects(line('3^4'), /malformed lifetime/);
    rejects(line(''), /malformed lifetime/);
    rejects(`${line('2^20')}|2^20`, /misplaced lifetime/);
  });
});

describe('sdes parse: MKI', () => {
  const line = (mki: string): string => `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|${mki}`;
  test('value must fit length bytes; length 1..128', () => {
    assert.deepEqual(known(line('255:1')).keys[0]!.mki, { value: 255n, length: 1 });
    const max = (1n << 1024n) - 1n;
    assert.deepEqual(known(line(`${max}:128`)).keys[0]!.mki, { value: max, length: 128 });
    rejects(line('256:1'), /does not fit/);
    rejects(line(`${1n << 1024n}:128`), /malformed MKI|does not fit/);
    rejects(line('0:4'), /malformed MKI/);
    rejects(line('01:4'), /malformed MKI/);
    rejects(line('1:0'), /malformed MKI/);
    rejects(line('1:129'), /length out of range/);
    rejects(line('1:1000'), /malformed MKI/);
    rejects(line('1:'), /malformed MKI/);
    rejects(line('a:4'), /malformed MKI/);
  });
  test('MKI must come last', () => {
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|1:4|2^20`, /MKI must be the last/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4|x`, /too many '\|' fields/);
  });
  test('several keys: each needs an MKI, one length, distinct values, distinct keys', () => {
    const two = (a: string, b: string): string => `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}${a};inline:${RFC_KEY2}${b}`;
    rejects(two('', ''), /MKI required/);
    rejects(two('|1:4', ''), /MKI required/);
    rejects(two('|1:4', '|2:2'), /MKI lengths differ/);
    rejects(two('|1:4', '|1:4'), /duplicate MKI/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|1:4;inline:${RFC_KEY}|2:4`, /same key appears twice/);
    const many = Array.from({ length: 17 }, (_, i) => `inline:${RFC_KEY}|${i + 1}:1`).join(';');
    rejects(`1 AES_CM_128_HMAC_SHA1_80 ${many}`, /too many key-params/);
  });
});

describe('sdes parse: session parameters', () => {
  const base = `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`;
  test('all RFC 4568 §6.3 parameters, canonical output order', () => {
    const c = known(`${base} WSH=128 UNENCRYPTED_SRTCP KDR=24 UNAUTHENTICATED_SRTP UNENCRYPTED_SRTP FEC_ORDER=SRTP_FEC`);
    assert.equal(c.params.kdr, 24);
    assert.equal(c.params.wsh, 128);
    assert.equal(c.params.unencryptedSrtp, true);
    assert.equal(c.params.unencryptedSrtcp, true);
    assert.equal(c.params.unauthenticatedSrtp, true);
    assert.equal(c.params.fecOrder, 'SRTP_FEC');
    assert.equal(formatCryptoAttribute(c),
      `${base} KDR=24 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_ORDER=SRTP_FEC WSH=128`);
  });
  test('names match case-insensitively (some stacks write kdr=)', () => {
    assert.equal(known(`${base} kdr=3 fec_order=fec_srtp`).params.kdr, 3);
    assert.equal(formatCryptoAttribute(known(`${base} kdr=0`)), `${base} KDR=0`);
  });
  test('FEC_KEY carries its own key-params, redacted and wiped like the main keys', () => {
    const c = known(`${base} FEC_KEY=inline:${RFC_KEY2}|2^20|1:4`);
    assert.equal(c.params.fecKeys.length, 1);
    assert.deepEqual(c.params.fecKeys[0]!.mki, { value: 1n, length: 4 });
    assert.ok(!JSON.stringify(c).includes(RFC_KEY2.slice(0, 10)));
    assert.equal(formatCryptoAttribute(c), `${base} FEC_KEY=inline:${RFC_KEY2}|2^20|1:4`);
    wipe(c);
    assert.ok(c.params.fecKeys[0]!.material.every((b) => b === 0));
    rejects(`${base} FEC_KEY=inline:${RFC_KEY.slice(0, 30)}`, /FEC_KEY: key\|\|salt length/);
  });
  test('unknown parameters are kept verbatim, in order', () => {
    const c = known(`${base} -X_VENDOR=abc FOO WSH=64 -BAR`);
    assert.deepEqual(c.params.extensions, ['-X_VENDOR=abc', 'FOO', '-BAR']);
    assert.equal(formatCryptoAttribute(c), `${base} WSH=64 -X_VENDOR=abc FOO -BAR`);
    assert.ok(!inspect(c).includes('abc'), 'extension values are redacted in logs');
  });
  test('range and form errors', () => {
    rejects(`${base} KDR=25`, /KDR out of range/);
    rejects(`${base} KDR=`, /KDR out of range/);
    rejects(`${base} KDR`, /needs a value/);
    rejects(`${base} KDR=1 KDR=2`, /duplicate session parameter KDR/);
    rejects(`${base} WSH=63`, /WSH below 64/);
    rejects(`${base} WSH=99999999999`, /WSH below 64/);
    rejects(`${base} UNENCRYPTED_SRTP=1`, /takes no value/);
    rejects(`${base} FEC_ORDER=FEC`, /FEC_ORDER must be/);
  });
});

describe('sdes parse: structure', () => {
  test('an unknown suite is a distinct result, not an error, whatever its key-params', () => {
    const name = 'SRTPGATE_TEST_NO_SUCH_SUITE';
    assert.equal(suiteByName(name), undefined);
    const u = parseCryptoAttribute(`7 ${name} inline:whatever|2^99|0:0 KDR=99`) as SdesUnknownSuite;
    assert.deepEqual(u, { kind: 'unknown-suite', tag: 7, suiteName: name });
    assert.equal(parseCryptoAttribute(`7 ${name}`).kind, 'unknown-suite');
    wipe(u); // no-op
  });
  test('tag: 1-9 digits, no leading zero', () => {
    assert.equal(known(`0 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`).tag, 0);
    assert.equal(known(`999999999 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`).tag, 999999999);
    rejects(`01 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`, /malformed tag/);
    rejects(`1234567890 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`, /malformed tag/);
    rejects(`x AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`, /malformed tag/);
    rejects('', /malformed tag/);
  });
  test('suite name charset, key method, missing key-params', () => {
    rejects(`1 AES-CM inline:${RFC_KEY}`, /malformed crypto suite/);
    rejects('1', /malformed crypto suite/);
    rejects('1 AES_CM_128_HMAC_SHA1_80', /missing key-params/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 uri:${RFC_KEY}`, /unsupported key method/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 ${RFC_KEY}`, /without key method/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY};`, /without key method/);
    assert.equal(known(`1 AES_CM_128_HMAC_SHA1_80 INLINE:${RFC_KEY}`).keys.length, 1);
    assert.equal(known(`1 aes_cm_128_hmac_sha1_80 inline:${RFC_KEY}`).suite, aes128);
  });
  test('blanks: tabs separate, outer blanks tolerated; CR/LF and controls rejected', () => {
    assert.equal(known(`  1\tAES_CM_128_HMAC_SHA1_80 \t inline:${RFC_KEY} \t`).tag, 1);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}\r\na=crypto:2 X`, /invalid character/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}\u0000`, /invalid character/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} WSH=64é`, /invalid character/);
    rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${'A'.repeat(5000)}`, /too long/);
  });
});

describe('sdes key hygiene', () => {
  test('JSON, inspect, spread and errors never show key material', () => {
    const c = known(RFC_LINE);
    const hexKey = Buffer.from(RFC_KEY, 'base64').toString('hex');
    for (const out of [JSON.stringify(c), inspect(c, { depth: 10 }), inspect(c.keys[0], { showHidden: true }),
      JSON.stringify(c.keys), inspect({ ...c.keys[0] }), inspect(structuredClone({ ...c.keys[0] }))]) {
      assert.ok(!out.includes(RFC_KEY.slice(0, 8)), `base64 key leaked: ${out}`);
      assert.ok(!out.includes(hexKey.slice(0, 8)), `hex key leaked: ${out}`);
      assert.ok(!/\b61, 2d|0x3d/.test(out));
    }
    assert.deepEqual(Object.keys({ ...c.keys[0] }).sort(), ['lifetime', 'mki', 'padded']);
    assert.match(JSON.stringify(c), /<redacted>/);
    assert.match(inspect(c), /<redacted>/);
  });
  test('wipe zeroes key and salt, is idempotent, and blocks formatting', () => {
    const c = known(RFC_LINE);
    const { key, salt } = c.keys[0]!;
    wipe(c);
    wipe(c);
    assert.ok(key.every((b) => b === 0) && salt.every((b) => b === 0));
    assert.equal(c.wiped, true);
    assert.throws(() => formatCryptoAttribute(c), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_CRYPTO');
  });
});

describe('sdes generate', () => {
  test('every suite: fresh key||salt of the right length that formats and parses back', () => {
    for (const suite of SUITES) {
      const c = generateSdesCrypto(3, suite, counterRng());
      assert.equal(c.keys[0]!.material.length, suite.keyLen + suite.saltLen);
      const back = known(formatCryptoAttribute(c));
      assert.equal(back.suite, suite);
      assert.deepEqual([...back.keys[0]!.material], [...c.keys[0]!.material]);
    }
  });
  test('the default source is a CSPRNG: two keys differ', () => {
    const a = generateSdesCrypto(1, aes128);
    const b = generateSdesCrypto(1, aes128);
    assert.notDeepEqual([...a.keys[0]!.material], [...b.keys[0]!.material]);
  });
  test('refuses a broken generator and an out-of-range tag', () => {
    assert.throws(() => generateSdesCrypto(1, aes128, () => undefined), /all zeros/);
    assert.throws(() => generateSdesCrypto(-1, aes128, counterRng()), /tag out of range/);
    assert.throws(() => generateSdesCrypto(1e9, aes128, counterRng()), /tag out of range/);
  });
});

describe('SdesCrypto constructor validates hand-built objects', () => {
  test('lengths, suite identity, MKI rules, parameter ranges', () => {
    const key = (m: Uint8Array, o = {}): SdesKeyParam => new SdesKeyParam(m, aes128.keyLen, o);
    const ok = { tag: 1, suite: aes128, keys: [key(material(aes128))] };
    assert.doesNotThrow(() => new SdesCrypto(ok));
    const bad = (init: ConstructorParameters<typeof SdesCrypto>[0], pattern: RegExp): void => {
      assert.throws(() => new SdesCrypto(init), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_CRYPTO' && pattern.test(e.message));
    };
    bad({ ...ok, keys: [key(new Uint8Array(29).fill(1))] }, /length does not match/);
    bad({ ...ok, keys: [] }, /no key-params/);
    bad({ ...ok, suite: { ...aes128 } }, /not from the suite table/);
    bad({ ...ok, keys: [key(material(aes128), { lifetime: 0 })] }, /lifetime out of range/);
    bad({ ...ok, keys: [key(material(aes128), { mki: { value: 0n, length: 1 } })] }, /MKI value/);
    bad({ ...ok, keys: [key(material(aes128), { mki: { value: 1n, length: 129 } })] }, /MKI length/);
    bad({ ...ok, params: { kdr: 25 } }, /KDR/);
    bad({ ...ok, params: { wsh: 32 } }, /WSH/);
    bad({ ...ok, params: { extensions: ['a b'] } }, /visible ASCII/);
    bad({ ...ok, params: { extensions: ['KDR=3'] } }, /shadows a known parameter/);
  });
});
