// CPU cost of the index high-water marks (not a test; run: node --import tsx test/ha/hwmCost.ts [calls]).
// Per call two streams at 50 packets/s each way, polled every 250 ms for 20 simulated
// seconds: planHwm per stream, and when due the sealed index record of the call, as the
// Replicator does it (indexState() itself and the Redis write are not included).
import { randomBytes } from 'node:crypto';
import { ackHwm, newHwmTrack, planHwm, type HwmTrack } from '../../src/ha/hwm.ts';
import { StateSealer } from '../../src/ha/StateSealer.ts';
import { encodeRecord, RECORD_VERSION } from '../../src/ha/callRecord.ts';
import type { StreamIndexState } from '../../src/session/indexState.ts';

const calls = Number(process.argv[2] ?? 1000);
const SECONDS = 20, INTERVAL = 250, PPS = 50;
const sealer = new StateSealer(randomBytes(32));
const tracks: HwmTrack[][] = Array.from({ length: calls }, () => [newHwmTrack(0), newHwmTrack(0)]);
const state = (ssrcIn: number, ssrcOut: number, index: number): StreamIndexState => ({
  srtpIn: [{ ssrc: ssrcIn, index }], srtpOut: [{ ssrc: ssrcOut, index }], srtcpIn: [{ ssrc: ssrcIn, index: index >> 8 }], srtcpOut: [{ ssrc: ssrcOut, index: index >> 8 }],
});
let writes = 0;
const cpu0 = process.cpuUsage();
for (let t = 0; t <= SECONDS * 1000; t += INTERVAL) {
  const index = 1000 + Math.floor((PPS * t) / 1000);
  for (let c = 0; c < calls; c++) {
    const [a, b] = tracks[c]!;
    const da = planHwm(a!, state(2 * c, 2 * c + 1, index), t, { intervalMs: INTERVAL });
    let db = planHwm(b!, state(2 * c + 1, 2 * c, index), t, { intervalMs: INTERVAL });
    if (da.write === null && db.write === null) { tracks[c] = [da.track, db.track]; continue; }
    if (db.write === null) db = planHwm(b!, state(2 * c + 1, 2 * c, index), t, { intervalMs: INTERVAL }, true);
    const wa = da.write ?? planHwm(a!, state(2 * c, 2 * c + 1, index), t, { intervalMs: INTERVAL }, true).write!;
    const text = encodeRecord({ v: RECORD_VERSION, at: t, streams: { [30000 + 4 * c]: wa, [30002 + 4 * c]: db.write! } });
    JSON.stringify(sealer.seal(Buffer.from(text), { node: 'A', callId: `call-${c}`, field: 'idx' }));
    writes++;
    tracks[c] = [ackHwm(da.track, wa), ackHwm(db.track, db.write!)];
  }
}
const u = process.cpuUsage(cpu0);
const ms = (u.user + u.system) / 1000;
console.log(`${calls} calls × 2 streams, ${SECONDS} s at ${PPS} packets/s: ${(writes / SECONDS).toFixed(0)} index records/s ` +
  `(${(writes / SECONDS / calls).toFixed(2)} per call), CPU ${ms.toFixed(0)} ms = ${(ms / SECONDS / 10).toFixed(1)} % of one core`);
