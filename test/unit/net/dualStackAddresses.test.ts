// Address handling for both families: the control interfaces' CIDR allow lists
// (AddressFilter) and the media rate limiter's per-source keys (IPv6 by prefix, configurable).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressFilter, isLoopbackAddress } from '../../../src/net/AddressFilter.ts';
import { RATE_LIMIT_DEFAULTS, SourceTable } from '../../../src/session/RateLimiter.ts';

describe('AddressFilter with IPv4 and IPv6 blocks', () => {
  const f = new AddressFilter(['10.0.0.0/8', '2001:db8:100::/48', '::1']);
  it('admits addresses inside either family\'s blocks and nothing else', () => {
    for (const a of ['10.1.2.3', '2001:db8:100::1', '2001:db8:100:ffff::9', '::1', '::ffff:10.9.9.9']) assert.equal(f.allows(a), true, a);
    for (const a of ['11.0.0.1', '2001:db8:101::1', '::2', '::ffff:11.0.0.1', 'fe80::1%lo', 'localhost', '']) assert.equal(f.allows(a), false, a);
    assert.deepEqual(f.entries, ['10.0.0.0/8', '2001:db8:100::/48', '::1/128']);
  });
  it('refuses malformed entries and knows both loopbacks', () => {
    assert.throws(() => new AddressFilter(['2001:db8::/129']), /prefix/);
    assert.throws(() => new AddressFilter(['2001:zz::/64']), /not an IP/);
    assert.equal(isLoopbackAddress('::1'), true);
    assert.equal(isLoopbackAddress('127.3.4.5'), true);
    assert.equal(isLoopbackAddress('2001:db8::1'), false);
  });
});

describe('per-source keys for IPv6 media sources', () => {
  const table = (bits: number) => new SourceTable({ ...RATE_LIMIT_DEFAULTS, ipv6PrefixBits: bits });
  it('one key per /64 by default: rotating the interface identifier does not make a new source', () => {
    const t = table(64);
    assert.equal(t.keyOf('2001:db8:1:2::1'), t.keyOf('2001:db8:1:2:ffff:eeee:dddd:cccc'));
    assert.notEqual(t.keyOf('2001:db8:1:2::1'), t.keyOf('2001:db8:1:3::1'));
    assert.equal(t.keyOf('192.0.2.7'), '192.0.2.7');
  });
  it('the prefix length is configurable (/56 groups more, /128 is per address)', () => {
    assert.equal(table(56).keyOf('2001:db8:1:2::1'), table(56).keyOf('2001:db8:1:ff::1'));
    assert.notEqual(table(128).keyOf('2001:db8:1:2::1'), table(128).keyOf('2001:db8:1:2::2'));
  });
  it('a source over its budget is refused whichever address of its /64 it uses', () => {
    const t = new SourceTable({ ...RATE_LIMIT_DEFAULTS, source: { pps: 10, bps: 0 }, burstSeconds: 1 });
    let admitted = 0;
    for (let i = 0; i < 40; i++) if (t.admit(`2001:db8:5:6::${(i + 1).toString(16)}`, 100, 1000, false)) admitted++;
    assert.equal(admitted, 10);
    assert.equal(t.admit('2001:db8:5:7::1', 100, 1000, false), true, 'another /64 has its own budget');
  });
});
