// Stream flood budgets from SDP (control/mediaRate.ts): a table of codecs with the figures the
// rules give, the cases that must fall back to the configured default (null), the headroom,
// and that a stream's buckets honour the budget (never above the configured rate).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nominalRate, streamRate, PACKET_OVERHEAD_BYTES, RATE_HEADROOM } from '../../../src/control/mediaRate.ts';
import { parseSdp } from '../../../src/sdp/parse.ts';
import { Bucket, SourceTable, StreamAdmission, RATE_LIMIT_DEFAULTS } from '../../../src/session/RateLimiter.ts';

function rateOf(media: string[], session: string[] = []): ReturnType<typeof nominalRate> {
  const text = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', ...session, 't=0 0', ...media].join('\r\n') + '\r\n';
  const sdp = parseSdp(text);
  return nominalRate(sdp.doc.session, sdp.doc.media[0]!);
}
/** Nominal figures: packets/s incl. 2 RTCP, bytes/s = codec bytes + overhead per packet. */
const audio = (bitsPerSecond: number, ptime: number, events = false) => {
  const pps = (1000 / ptime) * (events ? 2 : 1) + 2;
  return { pps: Math.ceil(pps), bps: Math.ceil(bitsPerSecond / 8 + pps * PACKET_OVERHEAD_BYTES) };
};

interface Row { name: string; media: string[]; session?: string[]; expect: { pps: number; bps: number } | null }
const ROWS: Row[] = [
  { name: 'PCMU, static type, default ptime 20', media: ['m=audio 4000 RTP/AVP 0'], expect: audio(64_000, 20) },
  { name: 'PCMA with a=ptime:30', media: ['m=audio 4000 RTP/SAVP 8', 'a=rtpmap:8 PCMA/8000', 'a=ptime:30'], expect: audio(64_000, 30) },
  { name: 'G722 (static 9): 64 kbit/s', media: ['m=audio 4000 RTP/AVP 9'], expect: audio(64_000, 20) },
  { name: 'PCMU + telephone-event: events may run beside audio', media: ['m=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15'], expect: audio(64_000, 20, true) },
  { name: 'G729 and PCMU offered: the larger codec rate counts', media: ['m=audio 4000 RTP/AVP 18 0'], expect: audio(64_000, 20) },
  { name: 'opus without b=: its rate depends on fmtp, so no guess', media: ['m=audio 4000 RTP/SAVP 111', 'a=rtpmap:111 opus/48000/2'], expect: null },
  { name: 'opus with b=AS:64', media: ['m=audio 4000 RTP/SAVP 111', 'b=AS:64', 'a=rtpmap:111 opus/48000/2'], expect: audio(64_000, 20) },
  { name: 'opus with b=TIAS (wins over AS) and ptime 40', media: ['m=audio 4000 RTP/SAVP 111', 'b=AS:128', 'b=TIAS:32000', 'a=rtpmap:111 opus/48000/2', 'a=ptime:40'], expect: audio(32_000, 40) },
  { name: 'session-level b=AS applies when the media has none', media: ['m=audio 4000 RTP/SAVP 111', 'a=rtpmap:111 opus/48000/2'], session: ['b=AS:48'], expect: audio(48_000, 20) },
  { name: 'video without b=: not paced by SDP', media: ['m=video 4002 RTP/SAVP 96', 'a=rtpmap:96 H264/90000'], expect: null },
  { name: 'video with b=TIAS:1000000: packets of >= 300 bytes', media: ['m=video 4002 RTP/SAVP 96', 'b=TIAS:1000000', 'a=rtpmap:96 H264/90000'], expect: { pps: Math.ceil(1_000_000 / 8 / 300 + 2), bps: Math.ceil(125_000 + (1_000_000 / 8 / 300 + 2) * PACKET_OVERHEAD_BYTES) } },
  { name: 'unknown dynamic type without rtpmap or b=', media: ['m=audio 4000 RTP/AVP 97'], expect: null },
  { name: 'a=ptime:1 is floored at 5 ms', media: ['m=audio 4000 RTP/AVP 0', 'a=ptime:1'], expect: audio(64_000, 5) },
];

describe('mediaRate: SDP → stream budget', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const r = rateOf(row.media, row.session);
      if (row.expect === null) assert.equal(r, null);
      else assert.deepEqual({ pps: r?.pps, bps: r?.bps }, row.expect);
    });
  }

  it('headroom: 2x the larger of the two sides; null if either side says nothing; capped by a ceiling', () => {
    const pcmu = rateOf(['m=audio 4000 RTP/AVP 0'])!;
    const pcmu30 = rateOf(['m=audio 4000 RTP/AVP 0', 'a=ptime:30'])!;
    assert.equal(RATE_HEADROOM, 2);
    assert.deepEqual(streamRate(pcmu, pcmu30), { pps: 2 * pcmu.pps, bps: 2 * pcmu.bps });
    assert.equal(streamRate(pcmu, null), null);
    assert.deepEqual(streamRate(pcmu, pcmu, { pps: 50, bps: 0 }), { pps: 50, bps: 2 * pcmu.bps });
  });

  it('StreamAdmission.setStreamRate: the latched bucket takes the budget at once, capped at the configured rate; null restores it', () => {
    const now = 1000;
    const opts = { ...RATE_LIMIT_DEFAULTS, stream: { pps: 1000, bps: 0 } };
    const latched = new Bucket(opts.stream, 1, now);
    const adm = new StreamAdmission(latched, new Bucket({ pps: 250, bps: 0 }, 1, now), new Bucket({ pps: 0, bps: 0 }, 1, now),
      new SourceTable(opts), (a) => a === '192.0.2.1');
    adm.setStreamRate({ pps: 100, bps: 20_000 });
    assert.deepEqual(adm.streamRate, { pps: 100, bps: 20_000 });
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (adm.take('192.0.2.1', 172, now, 5000)) passed++;
    // A 1 s burst of the new budget: 100 packets (and 20000 bytes = 116 packets) at most.
    assert.equal(passed, 100);
    adm.setStreamRate({ pps: 5000, bps: 0 });
    assert.deepEqual(adm.streamRate, { pps: 1000, bps: 0 }, 'never above the configured rate');
    adm.setStreamRate(null);
    assert.deepEqual(adm.streamRate, { pps: 1000, bps: 0 });
  });
});
