// Fuzzing SDP parsing (offers and answers arrive from the SBE, written by any peer).
// Invariants: parseSdp throws nothing but RelayError; its messages never quote SDES key
// material (rule 8).
// Seeds: test/fuzz/corpus/sdp (the golden inputs and a WebRTC DTLS offer).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../src/sdp/parse.ts';
import { RelayError } from '../../src/errors.ts';
import { errorOutcome, fuzz, iterations, report } from './harness.ts';

const ITER = iterations(15_000);
const dec = new TextDecoder();

const TOKENS = ['\r\n', '\n', 'v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'c=IN IP4 ', 'c=IN IP6 ', 'm=audio ', 'm=video ',
  'm=application ', ' RTP/SAVP ', ' RTP/AVP ', ' RTP/SAVPF ', ' UDP/TLS/RTP/SAVPF ', ' 0 ', '65536', '0.0.0.0', '::',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR', 'a=rtcp-mux', 'a=rtcp:', 'a=setup:active',
  'a=fingerprint:sha-256 ', 'a=ice-ufrag:', 'a=candidate:', 'a=rtpmap:', 'a=fmtp:', 'a=sendonly', 'a=inactive', 'b=AS:', '/2', '=', ' '];

function keysIn(text: string): string[] {
  return [...text.matchAll(/inline:([A-Za-z0-9+/]{16,})/g)].map((m) => m[1]!.slice(0, 16));
}

describe('fuzz: SDP', () => {
  it(`parseSdp: ≤${ITER} inputs, only RelayError, never quotes a key`, () => {
    const res = fuzz({
      name: 'sdp',
      corpus: 'sdp',
      dictionary: TOKENS,
      run(input) {
        const text = dec.decode(input);
        try {
          const p = parseSdp(text);
          return `ok:${p.media.length}`;
        } catch (e) {
          assert.ok(e instanceof RelayError, `threw ${e instanceof Error ? e.stack : String(e)}`);
          for (const k of keysIn(text)) assert.ok(!e.message.includes(k), `error message quotes key material: ${e.message}`);
          return errorOutcome(e);
        }
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 5, `only ${res.outcomes} distinct outcomes`);
  });
});
