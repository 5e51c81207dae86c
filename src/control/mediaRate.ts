// The flood limit of one stream from what its SDP says (RFC 6404 §4.9: "derived from the codec
// and ptime when the SDP says"). Pure: SDP lines in, a packets/s and bytes/s budget out, or
// null when the SDP does not say enough (then the relay's configured per-stream default holds).
//
// What the SDP says, per m= section:
//   - payload types from the m= line and a=rtpmap (static types 0–34 by RFC 3551 when unmapped);
//   - a=ptime (RFC 4566: ms of media per packet). a=maxptime is not read: it only permits
//     fewer, larger packets, which the budget already allows;
//   - b=AS (kbit/s, RFC 4566) and b=TIAS (bit/s, RFC 3890), media level else session level.
// Packets/s: for audio 1000 / ptime (the default 20 ms of RFC 3551 when absent), plus as many
// again when telephone-event is offered (RFC 4733 events may run beside audio); for video the
// b= rate in packets of 300 bytes or more. Bits/s: b=TIAS, else
// b=AS, else the largest nominal rate of the offered codecs; a codec with no known rate and no
// b= line (video, opus without maxaveragebitrate...) gives null, never a guess.
//
// Headroom, and why: the budget is 2× the nominal rate with the bucket's 1 s burst on top.
// ptime is only a preference (RFC 3264 §5), a sender may packetise at half of it (10 ms for a
// 20 ms request is common) and may switch to any other offered codec without signalling, so
// 1× would cut legitimate calls; jitter clumps (a 1 s stall then a catch-up) fit the burst.
// A flood at 10× the nominal rate still loses 80% of its packets before any crypto. The result
// never exceeds the configured default: SDP can only tighten the limit, never widen it.
import type { Leg } from '../session/Leg.ts';
import type { Rate } from '../session/RateLimiter.ts';
import type { ParsedSdp, SdpLine } from '../sdp/sdpTypes.ts';
import type { OfferMedia } from './CallState.ts';

/** Budget multiplier over the nominal rate (see the file comment). */
export const RATE_HEADROOM = 2;
/** Bytes per packet above the codec payload: RTP header 12, CSRC/extension allowance 20, SRTP tag 16, MKI 4. */
export const PACKET_OVERHEAD_BYTES = 52;
/** RTCP on the same stream: RFC 3550 allows 5% of the session bandwidth, at least one report per 5 s; budgeted as 2 packets/s. */
const RTCP_PPS = 2;
const DEFAULT_PTIME_MS = 20;
/** The shortest packet time honoured: below it a=ptime is a typo or an attack on the budget. */
const MIN_PTIME_MS = 5;
/** The longest a=ptime believed; beyond it the value is nonsense and the default holds (a budget near 0 packets/s would cut the call). */
const MAX_PTIME_MS = 1000;
/** Video packets are counted as at least this large when the packet rate comes from b= (a 1 Mbit/s stream: 417 packets/s). */
const MIN_VIDEO_PACKET_BYTES = 300;

/** Nominal bit rates of codecs whose rate does not depend on fmtp (RFC 3551 table 4, G.722 RFC 3551 §4.5.2). */
const CODEC_BPS: ReadonlyMap<string, number> = new Map([
  ['pcmu', 64_000], ['pcma', 64_000], ['g722', 64_000], ['gsm', 13_200], ['g729', 8_000],
  ['g723', 6_300], ['l16', 705_600], ['ilbc', 15_200], ['telephone-event', 0], ['cn', 0],
]);
/** Static payload types of RFC 3551 that carry audio, by encoding name. */
const STATIC_PT: ReadonlyMap<number, string> = new Map([
  [0, 'pcmu'], [3, 'gsm'], [4, 'g723'], [8, 'pcma'], [9, 'g722'], [13, 'cn'], [18, 'g729'],
]);
/** Codecs that are paced by events, not by ptime (they add packets beside audio). */
const EVENT_CODECS: ReadonlySet<string> = new Set(['telephone-event']);

export interface SdpRate extends Rate {
  /** Why: the inputs the figure came from, for tests and logs. */
  readonly basis: string;
}

function attr(lines: readonly SdpLine[], name: string): string[] {
  const prefix = `${name}:`;
  return lines.filter((l) => l.type === 'a' && l.value.startsWith(prefix)).map((l) => l.value.slice(prefix.length).trim());
}

function bandwidth(lines: readonly SdpLine[]): number | null {
  let tias: number | null = null;
  let as: number | null = null;
  for (const l of lines) {
    if (l.type !== 'b') continue;
    const m = /^(TIAS|AS):(\d{1,10})$/i.exec(l.value.trim());
    if (m === null) continue;
    const v = Number(m[2]);
    if (m[1]!.toUpperCase() === 'TIAS') tias = v; else as = v * 1000;
  }
  return tias ?? as;
}

/**
 * The nominal rate of one media section (`media[0]` is its m= line), before headroom; null
 * when the SDP does not say enough. `session` are the session-level lines (their b= applies
 * when the section has none).
 */
export function nominalRate(session: readonly SdpLine[], media: readonly SdpLine[]): SdpRate | null {
  const mLine = media[0];
  if (mLine === undefined || mLine.type !== 'm') return null;
  const [kind = '', , , ...fmts] = mLine.value.trim().split(/\s+/);
  const names = new Map<number, string>();
  for (const v of attr(media, 'rtpmap')) {
    const m = /^(\d{1,3})\s+([^/\s]+)/.exec(v);
    if (m !== null) names.set(Number(m[1]), m[2]!.toLowerCase());
  }
  const codecs = fmts.map(Number).filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127)
    .map((pt) => names.get(pt) ?? STATIC_PT.get(pt) ?? null);
  if (codecs.length === 0) return null;
  const ptimes = attr(media, 'ptime').map(Number).filter((x) => Number.isFinite(x) && x > 0 && x <= MAX_PTIME_MS);
  const ptime = Math.max(MIN_PTIME_MS, ptimes[0] ?? DEFAULT_PTIME_MS);
  const hasEvents = codecs.some((c) => c !== null && EVENT_CODECS.has(c));
  let bitsPerSecond = bandwidth(media) ?? bandwidth(session);
  // Audio is paced by ptime; other media (video) by its bit rate, in packets of at least
  // MIN_VIDEO_PACKET_BYTES, and without a b= line it is not paced at all (null below).
  const paced = kind === 'audio' ? 1000 / ptime : Math.max(1000 / ptime, (bitsPerSecond ?? 0) / 8 / MIN_VIDEO_PACKET_BYTES);
  const pps = paced * (hasEvents ? 2 : 1) + RTCP_PPS;
  let basis = bitsPerSecond !== null ? 'b=' : 'codec';
  if (bitsPerSecond === null) {
    // Without b=, every offered codec must have a known rate (the sender may use any of them).
    if (kind !== 'audio' || codecs.some((c) => c === null || !CODEC_BPS.has(c))) return null;
    // A loop, not Math.max(...): the format list is as long as the SDP makes it.
    let top = '';
    let topBps = -1;
    for (const c of codecs) {
      const v = CODEC_BPS.get(c!)!;
      if (v > topBps) { top = c!; topBps = v; }
    }
    bitsPerSecond = topBps;
    basis = `codec ${top}`;
  }
  const bps = bitsPerSecond / 8 + pps * PACKET_OVERHEAD_BYTES;
  return { pps: Math.ceil(pps), bps: Math.ceil(bps), basis: `${basis} ptime ${ptime}${hasEvents ? ' +telephone-event' : ''}` };
}

/**
 * The budget of one stream with headroom, capped at `ceiling` (the configured default). Both
 * SDPs of the m= line count, because which one shapes what a side sends (its own a=ptime, or
 * the other side's) is read differently by different phones: the larger wins.
 */
export function streamRate(a: SdpRate | null, b: SdpRate | null, ceiling?: Rate): Rate | null {
  if (a === null || b === null) return null;
  const cap = (v: number, c: number | undefined) => (c === undefined || c <= 0 ? v : Math.min(v, c));
  return {
    pps: cap(RATE_HEADROOM * Math.max(a.pps, b.pps), ceiling?.pps),
    bps: cap(RATE_HEADROOM * Math.max(a.bps, b.bps), ceiling?.bps),
  };
}

/**
 * Sets each relayed m= line's two streams to the budget the offer and answer SDPs give, or
 * back to the default when they do not say enough. Called once an answer committed.
 */
export function applyMediaRates(offer: ParsedSdp, answer: ParsedSdp, media: readonly OfferMedia[], offerer: Leg, answerer: Leg): void {
  media.forEach((om, i) => {
    if (om.kind !== 'relay') return;
    const o = offer.doc.media[i], a = answer.doc.media[i];
    const rate = o === undefined || a === undefined ? null
      : streamRate(nominalRate(offer.doc.session, o), nominalRate(answer.doc.session, a));
    for (const leg of [offerer, answerer]) {
      const side = om.pair.sides.get(leg);
      if (side !== undefined && !side.stream.closed) side.stream.setRateLimit(rate);
    }
  });
}
