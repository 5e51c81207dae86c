// What a stream reports as its rate is what its bucket applies, in-thread and in a worker: the
// replication layer stores `rateLimit` and a takeover applies it again, so a value the bucket
// ignored must not travel on as if it were in force.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../../src/session/Relay.ts';
import { reportedRate } from '../../../src/session/RateLimiter.ts';

describe('reportedRate', () => {
  it('keeps a finite positive rate and drops anything the bucket would ignore', () => {
    assert.deepEqual(reportedRate({ pps: 50, bps: 8000 }), { pps: 50, bps: 8000 });
    assert.equal(reportedRate(null), null);
    for (const bad of [NaN, Infinity, -1, 0]) {
      assert.equal(reportedRate({ pps: bad, bps: 8000 }), null, `pps ${bad}`);
      assert.equal(reportedRate({ pps: 50, bps: bad }), null, `bps ${bad}`);
    }
  });
});

for (const workers of [0, 1]) {
  describe(`MediaStreamHandle.rateLimit (workers: ${workers})`, () => {
    let relay: Relay;
    before(async () => { relay = await Relay.create({ workers, ports: { min: 47100, max: 47199 } }); });
    after(async () => { await relay.close(); });

    it('reports a usable rate, and null for one the bucket ignores', async () => {
      const session = relay.createSession(`rate-${workers}`);
      const s = await session.addStream(session.createLeg('a'), { rtcpMux: false });
      s.setRateLimit({ pps: 60, bps: 9000 });
      assert.deepEqual(s.rateLimit, { pps: 60, bps: 9000 });
      s.setRateLimit({ pps: NaN, bps: 9000 });
      assert.equal(s.rateLimit, null);
      s.setRateLimit({ pps: 60, bps: Infinity });
      assert.equal(s.rateLimit, null);
      s.setRateLimit(null);
      assert.equal(s.rateLimit, null);
      session.close('deleted');
    });
  });
}
