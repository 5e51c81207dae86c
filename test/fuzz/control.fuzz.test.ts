// Fuzzing the ng control protocol's parsers (bytes straight from the SBE's socket):
// decodeBencode and parseNgRequest. Invariants:
//   - decodeBencode throws nothing but RelayError('E_BAD_BENCODE'); what it accepts re-encodes
//     and decodes to the same value (the decoder accepts no input the encoder cannot produce);
//   - parseNgRequest never throws: it returns ok, or {ok: false, error: RelayError};
//   - neither leaves anything behind (the process stays usable: Object.prototype untouched).
// Seeds: test/fuzz/corpus/bencode (bare dicts) and test/fuzz/corpus/ng (whole datagrams).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBencode, encodeBencode } from '../../src/control/bencode.ts';
import { parseNgRequest } from '../../src/control/ngRequest.ts';
import { RelayError } from '../../src/errors.ts';
import { errorOutcome, fuzz, iterations, report } from './harness.ts';

const ITER = iterations(40_000);

const BENCODE_TOKENS = ['d', 'e', 'l', 'i', 'i-', 'i0e', ':', '0:', '1:', '4:', '99999999:', 'ie', 'dee', 'le',
  '7:command', '5:offer', '6:answer', '7:call-id', '8:from-tag', '6:to-tag', '3:sdp', '5:flags', '7:replace',
  '8:rtcp-mux', '18:transport-protocol', '10:rtpp-flags', '9:__proto__', '11:constructor', '3:ICE', '4:DTLS'];
const NG_TOKENS = [...BENCODE_TOKENS, ' ', '{', '}', '[', ']', '"', '":"', '","', '"command"', '"offer"',
  '"sdp"', '"call-id"', '"__proto__"', 'null', 'true', '1e999', '\\u0000', '\\ud800', 'SDES-off', 'replace-origin',
  'transport-protocol=RTP/SAVP', 'SDES-no-', 'DTLS=passive', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:'];

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).join(',');

describe('fuzz: ng control protocol parsers', () => {
  const keysBefore = protoKeys();

  it(`decodeBencode: ≤${ITER} inputs, only E_BAD_BENCODE, accepted values round-trip`, () => {
    const res = fuzz({
      name: 'bencode',
      corpus: 'bencode',
      dictionary: BENCODE_TOKENS,
      run(input) {
        let v;
        try {
          v = decodeBencode(input);
        } catch (e) {
          assert.ok(e instanceof RelayError, `threw ${String(e)}`);
          assert.equal(e.code, 'E_BAD_BENCODE');
          return errorOutcome(e);
        }
        const again = decodeBencode(encodeBencode(v));
        assert.deepEqual(again, v, 'decode(encode(decode(x))) differs');
        return `ok:${typeof v}:${Array.isArray(v)}`;
      },
    }, ITER);
    report(res);
    assert.ok(res.inputs > 0);
  });

  it(`parseNgRequest: ≤${ITER} datagrams, never throws, errors are RelayError`, () => {
    const res = fuzz({
      name: 'ngRequest',
      corpus: 'ng',
      dictionary: NG_TOKENS,
      run(input) {
        const r = parseNgRequest(input);
        if (r.ok) {
          assert.equal(typeof r.cookie, 'string');
          return `ok:${r.format}:${r.request.command}`;
        }
        assert.ok(r.error instanceof RelayError, `error is ${String(r.error)}`);
        assert.ok(r.cookie === null || typeof r.cookie === 'string');
        return `${r.format}:${r.cookie === null}:${errorOutcome(r.error)}`;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 10, `only ${res.outcomes} distinct outcomes`);
  });

  it('left no trace on Object.prototype', () => {
    assert.equal(protoKeys(), keysBefore);
    assert.equal(({} as Record<string, unknown>).command, undefined);
  });
});
