// Findings of the security review of issues 7–9 (per-check policy, SDP-derived rates,
// interfaces and topology hiding, index floors), one case each: every one of these failed
// before its fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SdesRewriter, walkSdes } from '../../src/media/rtcpSdes.ts';
import { nominalRate } from '../../src/control/mediaRate.ts';
import { Bucket, SourceTable, StreamAdmission, RATE_LIMIT_DEFAULTS } from '../../src/session/RateLimiter.ts';
import { validateIndexState, type StreamIndexState } from '../../src/session/indexState.ts';
import { RelayError } from '../../src/errors.ts';
import type { SdpLine } from '../../src/sdp/sdpTypes.ts';
import { compound, sdesPacket } from '../helpers/rtcpSdes.ts';
import { rtcpRr } from '../helpers/packets.ts';

/** An SDES packet whose header declares `declared` chunks while it holds all of `chunks`. */
function undercounted(declared: number, ...chunks: Parameters<typeof sdesPacket>[0]): Uint8Array {
  const pkt = sdesPacket(chunks);
  pkt[0] = (pkt[0]! & 0xe0) | declared;
  return pkt;
}
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('review: RTCP SDES topology hiding fails closed', () => {
  it('bytes after the declared chunks of an SDES packet (a CNAME the count leaves out) are not forwarded', () => {
    const pkt = compound(rtcpRr(1), undercounted(1,
      { ssrc: 1, items: [{ type: 1, text: 'a@x' }] },
      { ssrc: 2, items: [{ type: 1, text: 'user@10.1.2.3' }] }));
    assert.equal(walkSdes(pkt, pkt.length, null), -1, 'non-zero octets past the last declared chunk: malformed');
    const copy = Uint8Array.from(pkt);
    assert.equal(new SdesRewriter(new Uint8Array(32).fill(1)).rewrite(copy, copy.length), false);
    assert.deepEqual(copy, pkt, 'a refused compound is left untouched (the pipeline drops it)');
  });

  it('an SDES packet declaring no chunk but carrying one is refused', () => {
    const pkt = undercounted(0, { ssrc: 7, items: [{ type: 1, text: 'bob@192.168.1.9' }] });
    assert.equal(walkSdes(pkt, pkt.length, null), -1);
  });

  it('zero octets after the last chunk (over-padding without the P bit) stay accepted: they carry no text', () => {
    const sdes = sdesPacket([{ ssrc: 3, items: [{ type: 1, text: 'c@h' }] }]);
    const longer = new Uint8Array(sdes.length + 4);
    longer.set(sdes);
    longer[3] = longer[3]! + 1;
    const rw = new SdesRewriter(new Uint8Array(32).fill(2));
    assert.equal(rw.rewrite(longer, longer.length), true);
    assert.doesNotMatch(latin1(longer), /c@h/);
  });
});

describe('review: SDP-derived rates', () => {
  const m = (value: string, ...attrs: string[]): SdpLine[] =>
    [{ type: 'm', value } as SdpLine, ...attrs.map((a) => ({ type: 'a', value: a }) as SdpLine)];

  it('a huge format list is a rate, not a RangeError (no spread of SDP-sized arrays into Math.max)', () => {
    const fmts = Array(200_000).fill('0').join(' ');
    const r = nominalRate([], m(`audio 4000 RTP/AVP ${fmts}`));
    assert.ok(r !== null && Number.isFinite(r.pps) && Number.isFinite(r.bps));
  });

  it('an absurd a=ptime (1e300, 10^6 ms) counts as not said: the default 20 ms, never a budget of ~0 packets/s', () => {
    const plain = nominalRate([], m('audio 4000 RTP/AVP 0'))!;
    for (const p of ['1e300', '1000000']) {
      const r = nominalRate([], m('audio 4000 RTP/AVP 0', `ptime:${p}`))!;
      assert.equal(r.pps, plain.pps, p);
      assert.equal(r.bps, plain.bps, p);
    }
    // A plausible long ptime is honoured.
    assert.ok(nominalRate([], m('audio 4000 RTP/AVP 0', 'ptime:60'))!.pps < plain.pps);
  });
});

describe('review: a stream rate that is not a number never unlimits the stream', () => {
  function admission(now: number): StreamAdmission {
    const rate = { pps: 100, bps: 100_000 };
    return new StreamAdmission(new Bucket(rate, 1, now), new Bucket({ pps: 50, bps: 50_000 }, 1, now), new Bucket({ pps: 0, bps: 0 }, 1, now),
      new SourceTable(RATE_LIMIT_DEFAULTS), () => true);
  }

  for (const bad of [NaN, Infinity, -Infinity, -5]) {
    it(`setStreamRate({pps: ${bad}, bps: ${bad}}) keeps the configured rate`, () => {
      const now = 1000;
      const adm = admission(now);
      adm.setStreamRate({ pps: bad, bps: bad });
      assert.deepEqual(adm.streamRate, { pps: 100, bps: 100_000 });
      let passed = 0;
      for (let i = 0; i < 1000; i++) if (adm.take('192.0.2.1', 100, now, 4000)) passed++;
      assert.ok(passed <= 100, `a flood of 1000 at one instant passed ${passed}`);
    });
  }
});

describe('review: index state read back from the store is checked without crashing', () => {
  const ok: StreamIndexState = { srtpIn: [], srtpOut: [], srtcpIn: [], srtcpOut: [] };
  const refused = (s: unknown) => assert.throws(() => validateIndexState(s as StreamIndexState),
    (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST', JSON.stringify(s));

  it('null, a number or an array entry in a list, or no state at all: E_BAD_REQUEST, not a TypeError', () => {
    refused({ ...ok, srtpIn: [null] });
    refused({ ...ok, srtcpOut: [7] });
    refused({ ...ok, srtpOut: [[1, 2]] });
    refused(null);
    refused(undefined);
    validateIndexState({ ...ok, srtpIn: [{ ssrc: 1, index: 5 }] });
  });
});
