// Fuzzing the SDP-derived stream budget (control/mediaRate.ts): the offer and answer SDPs come
// from the peers, and their a=ptime, b=AS/TIAS, m= formats and a=rtpmap decide a token bucket.
// Invariants: nothing but RelayError (from parsing) is thrown; every rate is null or a pair of
// positive safe integers; with headroom and the configured ceiling it never exceeds the ceiling;
// a StreamAdmission given it ends with a finite, positive rate at or below its configured one.
// Seeds: test/fuzz/corpus/sdp-rate and test/fuzz/corpus/sdp.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nominalRate, streamRate, type SdpRate } from '../../src/control/mediaRate.ts';
import { parseSdp, splitSdp } from '../../src/sdp/parse.ts';
import { Bucket, SourceTable, StreamAdmission, RATE_LIMIT_DEFAULTS } from '../../src/session/RateLimiter.ts';
import { RelayError } from '../../src/errors.ts';
import { errorOutcome, fuzz, iterations, loadCorpus, report } from './harness.ts';

const ITER = iterations(15_000);
const dec = new TextDecoder();
const CEILING = RATE_LIMIT_DEFAULTS.stream;
const TOKENS = ['\r\n', 'm=audio 4000 RTP/AVP ', 'm=video 4002 RTP/AVP ', 'm=audio 4000 RTP/SAVP 0 8 101', ' 0', ' 96', ' 127', ' 128',
  'a=ptime:', 'a=ptime:0', 'a=ptime:-1', 'a=ptime:1e308', 'a=ptime:NaN', 'a=ptime:Infinity', 'a=ptime:0.001', 'a=ptime:1000', 'a=ptime:1001',
  'b=AS:', 'b=AS:0', 'b=AS:9999999999', 'b=TIAS:', 'b=TIAS:0', 'b=TIAS:4294967295', 'a=rtpmap:101 telephone-event/8000',
  'a=rtpmap:96 H264/90000', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 L16/44100', 'c=IN IP4 192.0.2.1', '9999999999', '00000000000'];

function checkRate(r: SdpRate | null, what: string): void {
  if (r === null) return;
  for (const v of [r.pps, r.bps]) assert.ok(Number.isSafeInteger(v) && v > 0, `${what}: not a positive safe integer: ${JSON.stringify(r)}`);
}

function admission(): StreamAdmission {
  return new StreamAdmission(new Bucket(CEILING, 1, 0), new Bucket({ pps: CEILING.pps / 2, bps: CEILING.bps / 2 }, 1, 0),
    new Bucket({ pps: 0, bps: 0 }, 1, 0), new SourceTable(RATE_LIMIT_DEFAULTS), () => true);
}

describe('fuzz: SDP-derived stream rates', () => {
  it(`nominalRate/streamRate/setStreamRate: ≤${ITER} inputs, finite positive budgets within the ceiling`, () => {
    const reference = nominalRate([], splitSdp('v=0\r\nm=audio 4000 RTP/AVP 0\r\n').media[0]!);
    const res = fuzz({
      name: 'sdp-rate',
      corpus: [...loadCorpus('sdp-rate'), ...loadCorpus('sdp')],
      dictionary: TOKENS,
      run(input) {
        const text = dec.decode(input);
        let doc;
        try {
          // Lax split first: mediaRate must hold up on lines the full parser would refuse too.
          doc = splitSdp(text);
          parseSdp(text);
        } catch (e) {
          assert.ok(e instanceof RelayError, `threw ${e instanceof Error ? e.stack : String(e)}`);
          if (doc === undefined) return errorOutcome(e);
        }
        let shape = '';
        for (const media of doc.media) {
          const r = nominalRate(doc.session, media);
          checkRate(r, 'nominalRate');
          for (const other of [r, reference]) {
            const s = streamRate(r, other, CEILING);
            if (s === null) continue;
            assert.ok(s.pps > 0 && s.pps <= CEILING.pps && s.bps > 0 && s.bps <= CEILING.bps, `budget over the ceiling: ${JSON.stringify(s)}`);
            const adm = admission();
            adm.setStreamRate(s);
            const got = adm.streamRate;
            assert.ok(Number.isFinite(got.pps) && Number.isFinite(got.bps) && got.pps > 0 && got.bps > 0, `bucket rate ${JSON.stringify(got)}`);
          }
          shape += r === null ? 'n' : r.basis.split(' ')[0]!.slice(0, 5);
        }
        return `ok:${shape.slice(0, 24)}`;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 5, `only ${res.outcomes} distinct outcomes`);
  });
});
