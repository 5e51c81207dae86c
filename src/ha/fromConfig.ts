// The daemon's replication from its ha.* configuration: null (nothing changes) when no Redis
// is configured. A bad state key is a configuration error, reported without quoting it.
import { ConfigError, type Config } from '../config.ts';
import type { Logger } from '../Logger.ts';
import { HaError } from './HaError.ts';
import { RedisStateStore } from './RedisStateStore.ts';
import { Replicator } from './Replicator.ts';
import { parseStateKey, StateSealer } from './StateSealer.ts';

export function replicatorFromConfig(config: Config, log: Logger): Replicator | null {
  const ha = config.ha;
  if (ha.redisUrl === '') return null;
  let sealer: StateSealer;
  const keys: Buffer[] = [];
  try {
    keys.push(parseStateKey(ha.stateKey));
    if (ha.previousStateKey !== '') keys.push(parseStateKey(ha.previousStateKey));
    sealer = new StateSealer(keys[0]!, keys.slice(1));
  } catch (e) {
    if (e instanceof HaError) throw new ConfigError(`ha state key: ${e.message}`);
    throw e;
  } finally {
    for (const k of keys) k.fill(0);
  }
  const haLog = log.child({ component: 'ha', node: ha.nodeId });
  return new Replicator({
    node: ha.nodeId,
    store: new RedisStateStore({ url: ha.redisUrl, warn: (m, c) => haLog.warn(m, c) }),
    sealer,
    log: haLog,
    peers: ha.peers,
    autoTakeover: ha.autoTakeover,
    prefix: ha.keyPrefix,
    indexIntervalMs: ha.indexIntervalMs,
    heartbeatIntervalMs: ha.heartbeatIntervalMs,
    heartbeatTtlMs: ha.heartbeatTtlMs,
    releaseTimeoutMs: ha.releaseTimeoutMs,
    releaseHoldMs: ha.releaseHoldMs,
    // Records outlive no call: a session ends at media.lifetime at the latest.
    recordTtlMs: config.media.lifetime * 1000,
  });
}
