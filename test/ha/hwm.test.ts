// High-water-mark scheduling with a fake clock: marks stay ahead of use at any packet rate,
// writes happen only when use nears the mark, overruns are detected against acknowledged marks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ackHwm, marginFor, maxIndexState, newHwmTrack, planHwm, type HwmTrack } from '../../src/ha/hwm.ts';
import type { StreamIndexState } from '../../src/session/indexState.ts';

const state = (srtp: number, srtcp = 0, ssrc = 0x1234): StreamIndexState => ({
  srtpIn: [{ ssrc, index: srtp }], srtpOut: [{ ssrc, index: srtp }], srtcpIn: [{ ssrc, index: srtcp }], srtcpOut: [{ ssrc, index: srtcp }],
});
const INTERVAL = 250;
const idx = (s: StreamIndexState | null): number => s?.srtpOut[0]?.index ?? -1;

/** Streams `pps` packets/s for `seconds`, polling every INTERVAL; the store acks after `ackDelayPolls` polls. */
function simulate(pps: number, seconds: number, ackDelayPolls = 0, start = 1000): { writes: number; overruns: number; track: HwmTrack; minRoom: number } {
  let track = newHwmTrack(0);
  let writes = 0, overruns = 0, minRoom = Infinity;
  const inflight: { at: number; mark: StreamIndexState }[] = [];
  for (let t = 0; t <= seconds * 1000; t += INTERVAL) {
    const used = start + Math.floor((pps * t) / 1000);
    while (inflight.length > 0 && inflight[0]!.at <= t) track = ackHwm(track, inflight.shift()!.mark);
    const d = planHwm(track, state(used, Math.floor(used / 50)), t, { intervalMs: INTERVAL });
    track = d.track;
    overruns += d.overruns;
    if (d.write) { writes++; inflight.push({ at: t + ackDelayPolls * INTERVAL, mark: d.write }); }
    // Room left before the next poll could carry use past the issued mark.
    const next = start + Math.floor((pps * (t + INTERVAL)) / 1000);
    minRoom = Math.min(minRoom, idx(track.issued) - next);
  }
  return { writes, overruns, track, minRoom };
}

describe('high-water marks', () => {
  it('the first poll writes a mark ahead of the current index by at least the minimum margin', () => {
    const d = planHwm(newHwmTrack(0), state(500, 3), 0, { intervalMs: INTERVAL });
    assert.ok(d.write);
    assert.ok(idx(d.write) >= 500 + 64);
    assert.ok(d.write.srtcpOut[0]!.index >= 3 + 16);
  });

  for (const pps of [50, 200, 1000, 2000]) {
    it(`at ${pps} packets/s the mark never falls behind use and is written a few times a second at most`, () => {
      const r = simulate(pps, 20);
      assert.equal(r.overruns, 0);
      assert.ok(r.minRoom > 0, `room ${r.minRoom}`);
      // Half the margin is consumed between writes: at most one write every other poll.
      assert.ok(r.writes <= 20 * (1000 / INTERVAL) / 2 + 2, `writes ${r.writes}`);
    });
  }

  it('a quiet stream is not rewritten', () => {
    let track = newHwmTrack(0);
    let writes = 0;
    for (let t = 0; t < 10_000; t += INTERVAL) {
      const d = planHwm(track, state(42, 1), t, { intervalMs: INTERVAL });
      track = ackHwm(d.track, d.write ?? d.track.issued!);
      if (d.write) writes++;
    }
    // The first-sight mark, then once lowered to the minimum margin; nothing after.
    assert.equal(writes, 2);
  });

  it('a rate jump grows the margin before use reaches the mark', () => {
    let track = newHwmTrack(0);
    let used = 0;
    for (let t = 0; t <= 2000; t += INTERVAL) { used += 12; const d = planHwm(track, state(used), t, { intervalMs: INTERVAL }); track = ackHwm(d.track, d.write ?? d.track.issued!); }
    // 50 pps → 2000 pps
    for (let t = 2250; t <= 6000; t += INTERVAL) {
      used += 500;
      const d = planHwm(track, state(used), t, { intervalMs: INTERVAL });
      assert.ok(d.margin.srtp >= 500 * 2, `margin ${d.margin.srtp}`);
      track = ackHwm(d.track, d.write ?? d.track.issued!);
      assert.ok(idx(track.issued) > used + 500, 'the mark covers the next interval');
    }
  });

  it('counts an overrun when use passes the acknowledged mark (store not acknowledging)', () => {
    // The first mark is acknowledged, then the store stops answering.
    let track = newHwmTrack(0);
    let overruns = 0;
    for (let t = 0; t <= 5000; t += INTERVAL) {
      const d = planHwm(track, state(1000 + t), t, { intervalMs: INTERVAL });
      track = d.track;
      overruns += d.overruns;
      if (t === 0) track = ackHwm(track, d.write!);
    }
    assert.equal(overruns, 2, 'srtpIn and srtpOut of the SSRC, each counted once when it passes the mark');
    const ok = simulate(1000, 5, 1);
    assert.equal(ok.overruns, 0);
  });

  it('new SSRCs are written at once; marks stay above use and the floor', () => {
    const floor = state(10_000, 500);
    let track = newHwmTrack(0, floor);
    let d = planHwm(track, state(10_001, 501), 0, { intervalMs: INTERVAL });
    assert.ok(d.write);
    assert.ok(idx(d.write) >= 10_001 + 64);
    track = ackHwm(d.track, d.write);
    const two: StreamIndexState = { ...state(10_002, 501), srtpIn: [{ ssrc: 0x1234, index: 10_002 }, { ssrc: 7, index: 3 }] };
    d = planHwm(track, two, INTERVAL, { intervalMs: INTERVAL });
    assert.ok(d.write, 'a new SSRC forces a write');
    assert.ok(d.write.srtpIn.some((e) => e.ssrc === 7 && e.index >= 3 + 64));
    assert.ok(d.write.srtpIn.find((e) => e.ssrc === 0x1234)!.index >= 10_000, 'not below the floor');
  });

  it('a mark far ahead of need (first-sight margin) comes down to the rate-based one, never below use', () => {
    let track = newHwmTrack(0);
    let used = 100;
    const marks: number[] = [];
    for (let t = 0; t <= 5000; t += INTERVAL) {
      used += 12; // 50 packets/s
      const d = planHwm(track, state(used), t, { intervalMs: INTERVAL });
      track = ackHwm(d.track, d.write ?? d.track.issued!);
      assert.ok(idx(track.issued) > used);
      marks.push(idx(track.issued) - used);
    }
    assert.ok(marks[0]! >= 512, 'first sight: the wide margin');
    assert.ok(marks.at(-1)! <= 2 * 64, `settles near the rate-based margin: ${marks.at(-1)}`);
  });

  it('force writes a mark with room left (the streams of a call share one record and stay in phase)', () => {
    const first = planHwm(newHwmTrack(0), state(100), 0, { intervalMs: INTERVAL });
    const track = ackHwm(first.track, first.write!);
    assert.equal(planHwm(track, state(101), INTERVAL, { intervalMs: INTERVAL }).write === null, false, 'rate-based rewrite of the first-sight mark');
    const settled = planHwm(track, state(101), INTERVAL, { intervalMs: INTERVAL });
    const t2 = ackHwm(settled.track, settled.write!);
    assert.equal(planHwm(t2, state(102), 2 * INTERVAL, { intervalMs: INTERVAL }).write, null);
    const forced = planHwm(t2, state(102), 2 * INTERVAL, { intervalMs: INTERVAL }, true);
    assert.ok(forced.write && idx(forced.write) >= 102 + 64);
  });

  it('marginFor and maxIndexState', () => {
    assert.deepEqual(marginFor({ srtp: 0, srtcp: 0 }, { intervalMs: 250 }), { srtp: 64, srtcp: 16 });
    assert.deepEqual(marginFor({ srtp: 1000, srtcp: 10 }, { intervalMs: 250 }), { srtp: 1000, srtcp: 16 });
    const m = maxIndexState(state(5, 1, 1), { ...state(3, 9, 1), srtpIn: [{ ssrc: 2, index: 4 }] });
    assert.deepEqual(m.srtpOut, [{ ssrc: 1, index: 5 }]);
    assert.deepEqual(m.srtcpIn, [{ ssrc: 1, index: 9 }]);
    assert.deepEqual(m.srtpIn, [{ ssrc: 1, index: 5 }, { ssrc: 2, index: 4 }]);
  });
});
