// When to persist a stream's SRTP/SRTCP index high-water mark, and what value (pure; the
// clock is an argument).
//
// The persisted mark must stay ahead of use: a relay taking over applies it as a floor, so
// every index the failed relay used (sent or accepted) has to be at or below it. The margin
// is sized from the stream's packet rate so that, with a write every `intervalMs`, use does
// not catch up between two writes: `safety` intervals' worth of packets, and a write is due
// as soon as use comes within half the margin of the mark (so there are still
// `safety / 2` intervals of room left when the write is issued). If use ever passes the
// acknowledged mark anyway (Redis down or slow), that is an overrun, counted by the caller.
//
// A mark may also come down: everything used is at or below the current index, so any mark
// above it is safe, and a mark far ahead costs packets after a takeover (the new owner drops
// what is at or below it). One more than twice the margin ahead is rewritten closer.
import { aheadOf, type IndexMargin, type SsrcIndex, type StreamIndexState } from '../session/indexState.ts';

export interface HwmOptions {
  /** Time between two polls of the stream's index state, ms. */
  readonly intervalMs: number;
  /** Intervals of packets the margin covers. Default 4. */
  readonly safety?: number;
  /** Smallest margin per SSRC. Default { srtp: 64, srtcp: 16 }. */
  readonly minMargin?: IndexMargin;
  /** Margin for an SSRC seen for the first time (its rate is not known yet). Default { srtp: 512, srtcp: 32 }. */
  readonly firstMargin?: IndexMargin;
}

/** What the planner remembers about one stream between polls. */
export interface HwmTrack {
  /** Last mark the store confirmed written (null: none yet). */
  readonly acked: StreamIndexState | null;
  /** Last mark handed to the store (written or on its way). */
  readonly issued: StreamIndexState | null;
  /** Index state at the previous poll, and when. */
  readonly last: StreamIndexState | null;
  readonly lastAt: number;
  /** Highest per-SSRC packet rate seen recently, packets/s (rises at once, halves per quiet poll). */
  readonly rate: { readonly srtp: number; readonly srtcp: number };
  /** Never persist below this (the floor this relay took the stream over with). */
  readonly floor: StreamIndexState | null;
}

export interface HwmDecision {
  readonly track: HwmTrack;
  /** The mark to persist now, or null when the last one still has room. */
  readonly write: StreamIndexState | null;
  readonly margin: IndexMargin;
  /** SSRC entries whose use passed the acknowledged mark since the previous poll. */
  readonly overruns: number;
}

type ListName = keyof StreamIndexState;
const LISTS: readonly ListName[] = ['srtpIn', 'srtpOut', 'srtcpIn', 'srtcpOut'];
const isSrtp = (l: ListName): boolean => l === 'srtpIn' || l === 'srtpOut';

export function newHwmTrack(now: number, floor: StreamIndexState | null = null): HwmTrack {
  // The floor is where this relay starts, not a mark it wrote: nothing is acknowledged yet.
  return { acked: null, issued: floor, last: null, lastAt: now, rate: { srtp: 0, srtcp: 0 }, floor };
}

function lookup(list: readonly SsrcIndex[] | undefined, ssrc: number): number | undefined {
  if (list === undefined) return undefined;
  for (const e of list) if (e.ssrc === ssrc) return e.index;
  return undefined;
}

/** Per list and SSRC, the larger index of `a` and `b` (SSRCs of either). */
export function maxIndexState(a: StreamIndexState, b: StreamIndexState | null): StreamIndexState {
  if (b === null) return a;
  const merge = (x: readonly SsrcIndex[], y: readonly SsrcIndex[]): SsrcIndex[] => {
    const m = new Map<number, number>();
    for (const e of [...x, ...y]) m.set(e.ssrc, Math.max(m.get(e.ssrc) ?? 0, e.index));
    return [...m].map(([ssrc, index]) => ({ ssrc, index }));
  };
  return { srtpIn: merge(a.srtpIn, b.srtpIn), srtpOut: merge(a.srtpOut, b.srtpOut), srtcpIn: merge(a.srtcpIn, b.srtcpIn), srtcpOut: merge(a.srtcpOut, b.srtcpOut) };
}

/** The margin for a rate: `safety` polls' worth of packets, at least the minimum. */
export function marginFor(rate: { srtp: number; srtcp: number }, o: HwmOptions): IndexMargin {
  const safety = o.safety ?? 4;
  const min = o.minMargin ?? { srtp: 64, srtcp: 16 };
  const per = (r: number): number => Math.ceil(r * (o.intervalMs / 1000) * safety);
  return { srtp: Math.max(min.srtp, per(rate.srtp)), srtcp: Math.max(min.srtcp, per(rate.srtcp)) };
}

/**
 * One poll: the stream's state now → whether (and what) to persist. `force` writes even when
 * the mark has room (another stream of the same record is being written anyway, and keeping
 * a call's streams in phase halves its writes).
 */
export function planHwm(track: HwmTrack, actual: StreamIndexState, now: number, o: HwmOptions, force = false): HwmDecision {
  // Packet rate: the fastest SSRC's index growth since the last poll.
  const dt = Math.max(1, now - track.lastAt) / 1000;
  let srtp = 0, srtcp = 0;
  for (const l of LISTS) {
    for (const e of actual[l]) {
      const before = lookup(track.last?.[l], e.ssrc);
      if (before === undefined || e.index <= before) continue;
      const r = (e.index - before) / dt;
      if (isSrtp(l)) srtp = Math.max(srtp, r); else srtcp = Math.max(srtcp, r);
    }
  }
  const rate = { srtp: Math.max(srtp, track.rate.srtp / 2), srtcp: Math.max(srtcp, track.rate.srtcp / 2) };
  let margin = marginFor(rate, o);
  // A new SSRC's rate is unknown until the next poll: cover a fast one (2048 packets/s at
  // 250 ms) rather than guess low. The mark only costs loss after a takeover early in the call.
  const first = LISTS.some((l) => actual[l].some((e) => lookup(track.last?.[l], e.ssrc) === undefined));
  if (first) {
    const f = o.firstMargin ?? { srtp: 512, srtcp: 32 };
    margin = { srtp: Math.max(margin.srtp, f.srtp), srtcp: Math.max(margin.srtcp, f.srtcp) };
  }

  let overruns = 0;
  let due = force;
  for (const l of LISTS) {
    const m = isSrtp(l) ? margin.srtp : margin.srtcp;
    for (const e of actual[l]) {
      const acked = lookup(track.acked?.[l], e.ssrc);
      const prev = lookup(track.last?.[l], e.ssrc);
      if (acked !== undefined && e.index > acked && (prev === undefined || prev <= acked)) overruns++;
      const issued = lookup(track.issued?.[l], e.ssrc);
      if (issued === undefined || issued - e.index < m / 2 || issued - e.index > 2 * m) due = true;
    }
  }
  const write = due ? maxIndexState(aheadOf(actual, margin), track.floor) : null;
  return {
    track: { ...track, last: actual, lastAt: now, rate, issued: write ?? track.issued },
    write, margin, overruns,
  };
}

/** The store confirmed `written`: it becomes the acknowledged mark (if not older than the one there). */
export function ackHwm(track: HwmTrack, written: StreamIndexState): HwmTrack {
  return { ...track, acked: maxIndexState(written, track.acked) };
}
