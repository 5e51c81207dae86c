// Fuzzing the replicated call and index records' decoders (src/ha/callRecord.ts, read only
// here): whoever can write Redis must not crash or steer a relay with what it writes.
// Invariants: nothing but HaError E_HA_RECORD is thrown; a decoded record encodes and decodes
// to itself (nothing unchecked survives a round trip); ports, legs and indexes are in range.
// Seeds: test/fuzz/corpus/ha-record (call records with SDES and DTLS sides, one with a stream rate; an index record).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCallRecord, decodeIndexRecord, encodeRecord } from '../../src/ha/callRecord.ts';
import { HaError } from '../../src/ha/HaError.ts';
import { MAX_SRTCP_INDEX, MAX_SRTP_INDEX } from '../../src/session/indexState.ts';
import { fuzz, iterations, report } from './harness.ts';

const ITER = iterations(20_000);
const dec = new TextDecoder();
const TOKENS = ['"rate":', '"pps":', '"bps":', '1e308', '-0', 'null', 'true', 'false', '[]', '{}', '0', '-1', '1.5', '1e999', '65536', '4294967296', '281474976710656', '2147483648',
  '"__proto__"', '"constructor"', '"srtp"', '"plain"', '"pending"', '"client"', '"server"', '"AES_CM_128_HMAC_SHA1_80"', '"NULL_HMAC_SHA1_80"',
  '"v":1', '"v":2', '"legs":', '"media":', '"sides":', '"streams":', '"srtpIn":', '"index":', '"ssrc":', '"params":', '"mki":', ',', ':', '"'];

function expectRecordError(e: unknown): string {
  assert.ok(e instanceof HaError && e.code === 'E_HA_RECORD', `threw ${e instanceof Error ? e.stack : String(e)}`);
  // The field that failed is in the [field:...] context: keep it, so each check is its own outcome.
  return e.message.replace(/\d+/g, '#').slice(0, 120);
}

describe('fuzz: replicated records', () => {
  it(`decodeCallRecord/decodeIndexRecord: ≤${ITER} inputs, only E_HA_RECORD, decoded records round-trip`, () => {
    const res = fuzz({
      name: 'ha-record',
      corpus: 'ha-record',
      dictionary: TOKENS,
      run(input) {
        const text = dec.decode(input);
        let outcome = '';
        try {
          const r = decodeCallRecord(text);
          assert.deepEqual(decodeCallRecord(encodeRecord(r)), r);
          for (const m of r.media) {
            if (m === null) continue;
            for (const s of m.sides) {
              assert.ok(s.leg >= 0 && s.leg < r.legs.length && s.rtpPort >= 1 && s.rtpPort <= 65535);
              for (const k of [s.inKey, s.outKey]) if (k !== null) assert.ok(k.params.length >= 1 && k.params.length <= 16);
              // A stored rate reaches a token bucket on takeover: never NaN, infinite or negative.
              if (s.rate) for (const v of [s.rate.pps, s.rate.bps]) assert.ok(Number.isFinite(v) && v >= 0, `rate ${JSON.stringify(s.rate)}`);
            }
          }
          outcome += `call-ok:${r.media.length}`;
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          outcome += `call-${expectRecordError(e)}`;
        }
        try {
          const r = decodeIndexRecord(text);
          assert.deepEqual(decodeIndexRecord(encodeRecord(r)), r);
          for (const st of Object.values(r.streams)) {
            for (const e of [...st.srtpIn, ...st.srtpOut]) assert.ok(Number.isInteger(e.index) && e.index >= 0 && e.index <= MAX_SRTP_INDEX);
            for (const e of [...st.srtcpIn, ...st.srtcpOut]) assert.ok(Number.isInteger(e.index) && e.index >= 0 && e.index <= MAX_SRTCP_INDEX);
          }
          outcome += `|index-ok:${Object.keys(r.streams).length}`;
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          outcome += `|index-${expectRecordError(e)}`;
        }
        return outcome;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 5, `only ${res.outcomes} distinct outcomes`);
  });
});
