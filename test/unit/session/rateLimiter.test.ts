import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Bucket, SourceTable, StreamAdmission, RATE_LIMIT_DEFAULTS, ipv6Prefix } from '../../../src/session/RateLimiter.ts';
import type { SecurityEvent } from '../../../src/session/RateLimiter.ts';

describe('rate limiting', () => {
  it('a bucket allows its burst, then its rate', () => {
    const b = new Bucket({ pps: 10, bps: 0 }, 1, 0);
    let ok = 0;
    for (let i = 0; i < 50; i++) if (b.take(100, 0)) ok++;
    assert.equal(ok, 10);
    assert.equal(b.take(100, 50), false); // 0.5 token after 50 ms
    assert.equal(b.take(100, 100), true); // 1 token after 100 ms
    const bytes = new Bucket({ pps: 0, bps: 1000 }, 1, 0);
    assert.equal(bytes.take(800, 0), true);
    assert.equal(bytes.take(300, 0), false);
    assert.equal(bytes.take(300, 200), true);
  });

  it('bans a non-latched source after repeated auth failures, never the latched peer', () => {
    const events: SecurityEvent[] = [];
    const t = new SourceTable({ ...RATE_LIMIT_DEFAULTS, authFailThreshold: 5 }, (e) => events.push(e));
    for (let i = 0; i < 5; i++) t.authFailed('10.9.9.9', 1000, false);
    assert.equal(t.isBanned('10.9.9.9', 1001), true);
    assert.equal(t.admit('10.9.9.9', 100, 1001, false), false);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.source, '10.9.9.9');
    for (let i = 0; i < 50; i++) t.authFailed('10.1.1.1', 1000, true); // spoofed latched address
    assert.equal(t.isBanned('10.1.1.1', 1001), false);
    assert.equal(t.admit('10.9.9.9', 100, 1000 + RATE_LIMIT_DEFAULTS.banMs + 1, false), true); // ban expires
  });

  it('keys IPv6 sources by /64 so rotating the interface id does not dodge limits', () => {
    assert.equal(ipv6Prefix('2001:db8:1:2:aaaa::1', 64), ipv6Prefix('2001:db8:1:2:bbbb:cccc:dddd:eeee', 64));
    assert.notEqual(ipv6Prefix('2001:db8:1:2::1', 64), ipv6Prefix('2001:db8:1:3::1', 64));
    assert.equal(ipv6Prefix('::1', 128), '0:0:0:0:0:0:0:1/128');
    assert.equal(ipv6Prefix('::ffff:10.0.0.1', 128), '0:0:0:0:0:ffff:a00:1/128');
    const t = new SourceTable({ ...RATE_LIMIT_DEFAULTS, source: { pps: 5, bps: 0 } });
    let ok = 0;
    for (let i = 0; i < 20; i++) if (t.admit(`2001:db8:1:2::${i.toString(16)}`, 100, 0, false)) ok++;
    assert.equal(ok, 5);
  });

  it('a source at the signalled address is never banned (spoofing it must not lock the peer out)', () => {
    const sources = new SourceTable({ ...RATE_LIMIT_DEFAULTS, authFailThreshold: 3 });
    const adm = new StreamAdmission(new Bucket({ pps: 10, bps: 0 }, 1, 0), new Bucket({ pps: 10, bps: 0 }, 1, 0),
      new Bucket({ pps: 100, bps: 0 }, 1, 0), sources, () => false, (a) => a === '192.0.2.10');
    for (let i = 0; i < 10; i++) { adm.rejected('192.0.2.10', 0, 5000); adm.rejected('198.51.100.7', 0, 5000); }
    assert.equal(sources.isBanned('192.0.2.10', 1), false);
    assert.equal(sources.isBanned('198.51.100.7', 1), true);
    assert.equal(adm.take('192.0.2.10', 10, 1, 6000), true);
  });

  it('non-latched sources cannot spend the latched peer\'s budget', () => {
    const sources = new SourceTable(RATE_LIMIT_DEFAULTS);
    const adm = new StreamAdmission(new Bucket({ pps: 10, bps: 0 }, 1, 0), new Bucket({ pps: 3, bps: 0 }, 1, 0),
      new Bucket({ pps: 100, bps: 0 }, 1, 0), sources, (a) => a === '1.1.1.1');
    let attacker = 0, peer = 0;
    for (let i = 0; i < 50; i++) if (adm.take('6.6.6.6', 10, 0, 1)) attacker++;
    for (let i = 0; i < 50; i++) if (adm.take('1.1.1.1', 10, 0, 1)) peer++;
    assert.equal(attacker, 3);
    assert.equal(peer, 10);
  });

  it('stream admission applies source, stream and session buckets', () => {
    const sources = new SourceTable(RATE_LIMIT_DEFAULTS);
    const session = new Bucket({ pps: 15, bps: 0 }, 1, 0);
    const none = new Bucket({ pps: 1, bps: 0 }, 1, 0);
    const a = new StreamAdmission(new Bucket({ pps: 10, bps: 0 }, 1, 0), none, session, sources, () => true);
    const b = new StreamAdmission(new Bucket({ pps: 10, bps: 0 }, 1, 0), none, session, sources, () => true);
    let okA = 0, okB = 0;
    for (let i = 0; i < 20; i++) if (a.take('1.1.1.1', 10, 0, 1)) okA++;
    for (let i = 0; i < 20; i++) if (b.take('1.1.1.2', 10, 0, 1)) okB++;
    assert.equal(okA, 10);
    assert.equal(okB, 5); // the session bucket ran out
  });
});
