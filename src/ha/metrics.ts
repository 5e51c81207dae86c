// The replication layer's /metrics families (srtpgate_ha_*), from the Replicator's counters.
import type { MetricFamily } from '../metrics/Metrics.ts';
import type { ReplicatorCounters } from './Replicator.ts';

export function haMetricFamilies(c: Readonly<ReplicatorCounters>, storeUp: boolean, foreignCalls: number): MetricFamily[] {
  const one = (v: number): [Record<string, string>, number][] => [[{}, v]];
  return [
    { name: 'srtpgate_ha_redis_up', type: 'gauge', help: 'Whether the replication store (Redis) is reachable.', samples: one(storeUp ? 1 : 0) },
    { name: 'srtpgate_ha_write_errors_total', type: 'counter', help: 'Replication writes that failed or waited for an unreachable store (retried).', samples: one(c.writeErrors) },
    { name: 'srtpgate_ha_hwm_overrun_total', type: 'counter', help: 'Times a stream used an SRTP/SRTCP index past its persisted high-water mark.', samples: one(c.hwmOverruns) },
    { name: 'srtpgate_ha_call_writes_total', type: 'counter', help: 'Call records written (signalling changes).', samples: one(c.callWrites) },
    { name: 'srtpgate_ha_index_writes_total', type: 'counter', help: 'Index high-water-mark records written.', samples: one(c.indexWrites) },
    { name: 'srtpgate_ha_foreign_calls', type: 'gauge', help: 'Calls of peer relays kept for takeover.', samples: one(foreignCalls) },
    { name: 'srtpgate_ha_takeovers_total', type: 'counter', help: 'Takeovers of a peer relay run.', samples: one(c.takeovers) },
    { name: 'srtpgate_ha_takeover_calls_total', type: 'counter', help: 'Calls in takeovers, by result.', samples: [[{ result: 'ok' }, c.takeoverCalls], [{ result: 'failed' }, c.takeoverFailed]] },
    { name: 'srtpgate_ha_last_takeover_seconds', type: 'gauge', help: 'Duration of the last takeover.', samples: one(c.lastTakeoverSeconds) },
    { name: 'srtpgate_ha_release_calls_total', type: 'counter', help: 'Calls this relay released (hand-over), by result.', samples: [[{ result: 'ok' }, c.releasedCalls], [{ result: 'failed' }, c.releaseFailed]] },
  ];
}
