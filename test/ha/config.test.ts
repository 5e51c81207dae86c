// ha.* configuration: off by default, the rows that only make sense together, the state key
// from a file or the environment (never a flag, never echoed), and --help documenting them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, helpText, loadConfig } from '../../src/config.ts';
import { replicatorFromConfig } from '../../src/ha/fromConfig.ts';
import { Logger } from '../../src/Logger.ts';

const KEY = randomBytes(32).toString('base64');
const load = (o: { argv?: string[]; env?: Record<string, string>; files?: Record<string, string> }) => {
  const r = loadConfig({
    argv: o.argv ?? [], env: o.env ?? {},
    readFile: (p) => { const f = o.files?.[p]; if (f === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); return f; },
  });
  assert.equal(r.kind, 'config');
  return r.kind === 'config' ? r.config : assert.fail();
};
const configError = (e: unknown): boolean => e instanceof ConfigError;

describe('ha configuration', () => {
  it('is off by default: no Redis, no replicator', () => {
    const c = load({});
    assert.equal(c.ha.redisUrl, '');
    assert.equal(c.ha.autoTakeover, false);
    assert.equal(replicatorFromConfig(c, new Logger({ write: () => {} })), null);
  });

  it('reads every row from the file, the key from a file, peers as a list', () => {
    const c = load({
      argv: ['--config', '/c.json'],
      files: {
        '/c.json': JSON.stringify({ ha: { redisUrl: 'redis://127.0.0.1:1', nodeId: 'c2', stateKeyFile: '/k', peers: 'c1, c3', autoTakeover: true, indexIntervalMs: 100, heartbeatIntervalMs: 200, heartbeatTtlMs: 900 } }),
        '/k': `${KEY}\n`,
      },
    });
    assert.equal(c.ha.stateKey, KEY);
    assert.deepEqual(c.ha.peers, ['c1', 'c3']);
    assert.deepEqual([c.ha.autoTakeover, c.ha.indexIntervalMs, c.ha.heartbeatIntervalMs, c.ha.heartbeatTtlMs], [true, 100, 200, 900]);
  });

  it('takes the key from SRTPGATE_HA_STATE_KEY but never from a flag', () => {
    const c = load({ argv: ['--ha-redis-url', 'redis://127.0.0.1:1', '--ha-node-id', 'a'], env: { SRTPGATE_HA_STATE_KEY: KEY } });
    assert.equal(c.ha.stateKey, KEY);
    assert.throws(() => load({ argv: ['--ha-state-key', KEY] }), (e: unknown) => configError(e) && !(e as Error).message.includes(KEY));
  });

  it('refuses incomplete or contradictory settings', () => {
    const env = { SRTPGATE_HA_REDIS_URL: 'redis://127.0.0.1:1' };
    const cases: Record<string, string>[] = [
      {}, // no node id
      { SRTPGATE_HA_NODE_ID: 'a' }, // no key
      { SRTPGATE_HA_NODE_ID: 'a:b', SRTPGATE_HA_STATE_KEY: KEY }, // ':' would break the key space
      { SRTPGATE_HA_NODE_ID: 'a', SRTPGATE_HA_STATE_KEY: KEY, SRTPGATE_HA_PEERS: 'a' }, // itself as a peer
      { SRTPGATE_HA_NODE_ID: 'a', SRTPGATE_HA_STATE_KEY: KEY, SRTPGATE_HA_HEARTBEAT_TTL_MS: '400' }, // TTL ≤ refresh
      { SRTPGATE_HA_NODE_ID: 'a', SRTPGATE_HA_STATE_KEY: KEY, SRTPGATE_HA_STATE_KEY_FILE: '/k' }, // both
    ];
    for (const extra of cases) {
      assert.throws(() => load({ env: { ...env, ...extra }, files: { '/k': KEY } }), configError, JSON.stringify(extra));
    }
  });

  it('a malformed state key is a configuration error that does not quote it', () => {
    const bad = randomBytes(16).toString('base64');
    const c = load({ env: { SRTPGATE_HA_REDIS_URL: 'redis://127.0.0.1:1', SRTPGATE_HA_NODE_ID: 'a', SRTPGATE_HA_STATE_KEY: bad } });
    assert.throws(() => replicatorFromConfig(c, new Logger({ write: () => {} })), (e: unknown) => configError(e) && !(e as Error).message.includes(bad));
  });

  it('--help documents the ha rows', () => {
    const text = helpText();
    for (const flag of ['--ha-redis-url', '--ha-node-id', '--ha-state-key-file', '--ha-peers', '--ha-auto-takeover', 'SRTPGATE_HA_STATE_KEY']) assert.ok(text.includes(flag), flag);
  });
});
