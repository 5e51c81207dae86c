import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyCache, REPLY_CACHE_DEFAULTS } from '../../../src/control/ReplyCache.ts';

/** A clock the test moves by hand. */
function fakeClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

describe('ReplyCache', () => {
  test('replays the first reply to Kamailio retransmissions (5 × 1 s)', () => {
    const clock = fakeClock();
    const cache = new ReplyCache({ now: clock.now });
    const reply = bytes('kam_1_7 d6:result2:oke');
    assert.equal(cache.get('kam_1_7'), undefined);
    cache.set('kam_1_7', reply);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      assert.equal(cache.get('kam_1_7'), reply);
    }
  });
  test('entries expire after the TTL (default 30 s), lazily', () => {
    const clock = fakeClock();
    const cache = new ReplyCache<string>({ now: clock.now });
    cache.set('a', 'A');
    clock.advance(REPLY_CACHE_DEFAULTS.ttlMs - 1);
    assert.equal(cache.get('a'), 'A');
    clock.advance(1);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });
  test('set on an existing cookie replaces the reply and restarts its TTL', () => {
    const clock = fakeClock();
    const cache = new ReplyCache<string>({ ttlMs: 100, now: clock.now });
    cache.set('a', 'A1');
    cache.set('b', 'B');
    clock.advance(60);
    cache.set('a', 'A2');
    clock.advance(60);
    assert.equal(cache.get('b'), undefined, 'b expired');
    assert.equal(cache.get('a'), 'A2', 'a lives on from its second set');
  });
  test('maxEntries evicts the oldest first', () => {
    const cache = new ReplyCache<string>({ maxEntries: 3, now: fakeClock().now });
    for (const k of ['a', 'b', 'c']) cache.set(k, k);
    cache.set('a', 'a2'); // refreshed: now the newest
    cache.set('d', 'd');
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b'), undefined);
    assert.deepEqual(['a', 'c', 'd'].map((k) => cache.get(k)), ['a2', 'c', 'd']);
  });
  test('maxBytes bounds memory; an oversized reply is not cached', () => {
    const cache = new ReplyCache({ maxBytes: 10, now: fakeClock().now });
    cache.set('a', new Uint8Array(4));
    cache.set('b', new Uint8Array(4));
    assert.equal(cache.bytes, 8);
    cache.set('c', new Uint8Array(4));
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.bytes, 8);
    cache.set('huge', new Uint8Array(11));
    assert.equal(cache.get('huge'), undefined);
    assert.equal(cache.size, 2);
    const sized = new ReplyCache<{ n: number }>({ maxBytes: 5, sizeOf: (r) => r.n, now: fakeClock().now });
    sized.set('x', { n: 3 });
    sized.set('y', { n: 3 });
    assert.equal(sized.get('x'), undefined);
    assert.deepEqual(sized.get('y'), { n: 3 });
  });
  test('delete, close (idempotent), and use after close', () => {
    const cache = new ReplyCache<string>({ now: fakeClock().now });
    cache.set('a', 'A');
    assert.equal(cache.delete('a'), true);
    assert.equal(cache.delete('a'), false);
    cache.set('b', 'B');
    cache.close();
    cache.close();
    assert.equal(cache.closed, true);
    assert.equal(cache.get('b'), undefined);
    cache.set('c', 'C');
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });
  test('starts no timers or handles (nothing keeps the process alive)', () => {
    const before = process.getActiveResourcesInfo().sort();
    const cache = new ReplyCache();
    cache.set('a', bytes('x'));
    assert.equal(cache.get('a')?.length, 1);
    assert.deepEqual(process.getActiveResourcesInfo().sort(), before);
    cache.close();
  });
  test('the default clock is monotonic performance.now', () => {
    const cache = new ReplyCache<string>({ ttlMs: 60_000 });
    cache.set('a', 'A');
    assert.equal(cache.get('a'), 'A');
  });
  test('rejects nonsensical options', () => {
    assert.throws(() => new ReplyCache({ ttlMs: 0 }), RangeError);
    assert.throws(() => new ReplyCache({ maxEntries: 0 }), RangeError);
    assert.throws(() => new ReplyCache({ maxBytes: -1 }), RangeError);
    assert.throws(() => new ReplyCache({ ttlMs: Number.NaN }), RangeError);
  });
  test('many distinct cookies: size stays bounded and expired entries are reclaimed', () => {
    const clock = fakeClock();
    const cache = new ReplyCache<string>({ ttlMs: 1000, maxEntries: 100, now: clock.now });
    for (let i = 0; i < 10_000; i++) {
      cache.set(`c${i}`, 'r');
      clock.advance(1);
      assert.ok(cache.size <= 100);
    }
    clock.advance(1000);
    cache.get('anything');
    assert.equal(cache.size, 0);
  });
});
