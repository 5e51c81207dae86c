// Fuzzing SDES a=crypto parsing (RFC 4568 §9.1; text straight from a peer's SDP).
// Invariants: parseCryptoAttribute throws nothing but RelayError('E_BAD_CRYPTO'); its error
// messages never quote the key (rule 8); an accepted attribute formats to one line without
// control characters that parses back to the same canonical text.
// Seeds: test/fuzz/corpus/sdes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCryptoAttribute, parseCryptoAttribute } from '../../src/keying/sdes.ts';
import { RelayError } from '../../src/errors.ts';
import { errorOutcome, fuzz, iterations, report } from './harness.ts';

const ITER = iterations(40_000);
const dec = new TextDecoder();

const TOKENS = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'AES_256_CM_HMAC_SHA1_80', 'AES_192_CM_HMAC_SHA1_80',
  'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM', 'F8_128_HMAC_SHA1_80', 'NULL_HMAC_SHA1_80', 'inline:', '|', '|2^', '2^31', '2^48', '|1:4', ':',
  ';', ' ', '\t', 'KDR=', 'WSH=', 'FEC_ORDER=SRTP_FEC', 'FEC_KEY=', 'UNENCRYPTED_SRTP', 'UNENCRYPTED_SRTCP', 'UNAUTHENTICATED_SRTP',
  'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR', '==', '\r\n', '0', '999999999', '1000000000'];

/** Base64 key material in the input: the first 16 characters of each inline: value. */
function keysIn(text: string): string[] {
  return [...text.matchAll(/inline:([A-Za-z0-9+/]{16,})/g)].map((m) => m[1]!.slice(0, 16));
}

describe('fuzz: SDES crypto attributes', () => {
  it(`parseCryptoAttribute: ≤${ITER} inputs, only E_BAD_CRYPTO, never quotes a key, canonical round trip`, () => {
    const res = fuzz({
      name: 'sdes',
      corpus: 'sdes',
      dictionary: TOKENS,
      run(input) {
        const text = dec.decode(input);
        let c;
        try {
          c = parseCryptoAttribute(text);
        } catch (e) {
          assert.ok(e instanceof RelayError, `threw ${String(e)}`);
          assert.equal(e.code, 'E_BAD_CRYPTO');
          for (const k of keysIn(text)) assert.ok(!e.message.includes(k), `error message quotes key material: ${e.message}`);
          return errorOutcome(e);
        }
        if (c.kind === 'unknown-suite') {
          assert.equal(typeof c.suiteName, 'string');
          return 'unknown-suite';
        }
        const line = formatCryptoAttribute(c);
        assert.ok(!/[^\x20-\x7e]/.test(line), `formatted attribute has control characters: ${JSON.stringify(line)}`);
        const again = parseCryptoAttribute(line);
        assert.equal(again.kind, 'crypto');
        assert.equal(formatCryptoAttribute(again as typeof c), line, 'format(parse(format(c))) differs');
        return `ok:${c.suite.name}:${c.keys.length}:${Object.keys(c.params).filter((k) => (c.params as unknown as Record<string, unknown>)[k] !== undefined).join(',')}`;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 10, `only ${res.outcomes} distinct outcomes`);
  });
});
