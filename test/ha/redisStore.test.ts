// RedisStateStore against a real redis-server: writes land, keyspace notifications arrive,
// and a paused or killed Redis never blocks a write; what was queued lands when it is back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStateStore } from '../../src/ha/RedisStateStore.ts';
import type { KeyEvent } from '../../src/ha/CallStateStore.ts';
import { skipOrFail } from '../interop/libsrtp.ts';
import { REDIS_SKIP, RedisServer } from './redisServer.ts';

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('RedisStateStore', () => {
  let redis: RedisServer | null = null;
  before(async () => { redis = await RedisServer.start(); });
  after(async () => { await redis?.stop(); });

  it('writes with expiry, reads, scans and removes; watchers see set, del and expired', async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    const store = new RedisStateStore({ url: redis.url });
    try {
      await until('connection', () => store.up);
      const seen: [string, KeyEvent][] = [];
      await store.watch('t1:', (k, e) => seen.push([k, e]));
      let written = 0;
      store.write('t1:a', 'one', { onWritten: () => written++ });
      store.write('t1:a', 'two', { onWritten: () => written++ }); // coalesced with the first
      store.write('t1:b:weird*[key]', 'x', { ttlMs: 200 });
      await until('write', () => written === 2);
      assert.equal(await store.get('t1:a'), 'two');
      assert.deepEqual((await store.keys('t1:')).sort(), ['t1:a', 't1:b:weird*[key]']);
      store.remove('t1:a');
      await until('expiry and delete events', () => seen.some(([k, e]) => k === 't1:b:weird*[key]' && e === 'expired') && seen.some(([k, e]) => k === 't1:a' && e === 'del'), 3000);
      assert.equal(await store.get('t1:a'), null);
      assert.ok(seen.some(([k, e]) => k === 't1:a' && e === 'set'));
      assert.match(await redis.cli('CONFIG', 'GET', 'notify-keyspace-events'), /K/);
    } finally {
      await store.close();
    }
  });

  it('a paused Redis (SIGSTOP) blocks no write; errors are counted; queued writes land after SIGCONT', async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    const store = new RedisStateStore({ url: redis.url, commandTimeoutMs: 300 });
    let errors = 0;
    store.observer.on('writeerror', (e) => { errors += e.keys; });
    try {
      await until('connection', () => store.up);
      redis.pause();
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) store.write(`t2:k${i % 50}`, `v${i}`);
      const spent = performance.now() - t0;
      assert.ok(spent < 100, `1000 writes took ${spent.toFixed(1)} ms with Redis paused`);
      await until('a write error', () => errors > 0, 3000);
      redis.resume();
      await until('queued writes to land', async () => (await store.get('t2:k49')) === 'v999', 8000);
      assert.equal(await store.get('t2:k0'), 'v950');
    } finally {
      redis.resume();
      await store.close();
    }
  });

  it('the queue is bounded by key: further keys are refused and counted, rewrites of queued keys coalesce', async () => {
    // Nothing listens on port 1: every write waits in the queue.
    const store = new RedisStateStore({ url: 'redis://127.0.0.1:1', maxPending: 10 });
    let overflows = 0, errors = 0;
    store.observer.on('overflow', () => overflows++);
    store.observer.on('writeerror', (e) => { errors += e.keys; });
    try {
      for (let round = 0; round < 3; round++) for (let i = 0; i < 10; i++) store.write(`q:${i}`, `v${round}`);
      assert.equal(overflows, 0, 'rewrites of queued keys take no room');
      for (let i = 10; i < 15; i++) store.write(`q:${i}`, 'x');
      assert.equal(overflows, 5);
      assert.equal(errors, 35, 'every write while Redis is unreachable is counted');
      assert.equal(store.up, false);
    } finally {
      await store.close();
    }
  });

  it('a killed Redis: reported down, writes counted and queued, then written to the restarted one', async (t) => {
    if (!redis) return skipOrFail(t, REDIS_SKIP);
    const store = new RedisStateStore({ url: redis.url, commandTimeoutMs: 300 });
    let errors = 0, downs = 0, ups = 0;
    store.observer.on('writeerror', (e) => { errors += e.keys; });
    store.observer.on('down', () => downs++);
    store.observer.on('up', () => ups++);
    try {
      await until('connection', () => store.up);
      await redis.killAndWait();
      await until('down', () => !store.up, 3000);
      store.write('t3:x', 'kept');
      assert.ok(errors >= 1);
      assert.equal(downs, 1);
      await redis.restart();
      await until('the queued write', async () => (await redis!.cli('GET', 't3:x')).trim() === 'kept', 8000);
      assert.equal(ups, 2);
    } finally {
      await store.close();
    }
  });
});
