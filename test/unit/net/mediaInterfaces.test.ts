// Media interface specs (`name/address[!advertised]`), their validation, and
// PortAllocator.reserve (bind a call on an exact port, as a takeover needs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatInterfaceSpec, parseInterfaceSpec, resolveInterfaces } from '../../../src/net/mediaInterfaces.ts';
import { PortAllocator } from '../../../src/net/PortAllocator.ts';
import { RelayError } from '../../../src/errors.ts';

const badRequest = (re: RegExp) => (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST' && re.test(e.message);

describe('media interface specs', () => {
  it('parses rtpengine-style name/address[!advertised] and bare addresses', () => {
    assert.deepEqual(parseInterfaceSpec('internal/10.0.0.1'), { name: 'internal', address: '10.0.0.1' });
    assert.deepEqual(parseInterfaceSpec(' external/2001:db8::1!2001:db8::99 '), { name: 'external', address: '2001:db8::1', advertised: '2001:db8::99' });
    assert.deepEqual(parseInterfaceSpec('0.0.0.0!203.0.113.1'), { name: 'default', address: '0.0.0.0', advertised: '203.0.113.1' });
    assert.deepEqual(parseInterfaceSpec('::1'), { name: 'default', address: '::1' });
    for (const s of ['internal/10.0.0.1', 'external/2001:db8::1!2001:db8::99', 'default/::1']) {
      assert.equal(formatInterfaceSpec(parseInterfaceSpec(s)), s);
    }
  });

  it('resolves families and advertised addresses', () => {
    const r = resolveInterfaces([{ name: 'in', address: '10.0.0.1' }, { name: 'out', address: '2001:db8::1', advertised: '2001:db8::2' }]);
    assert.deepEqual(r, [
      { name: 'in', address: '10.0.0.1', advertised: '10.0.0.1', family: 'IPv4' },
      { name: 'out', address: '2001:db8::1', advertised: '2001:db8::2', family: 'IPv6' },
    ]);
  });

  it('refuses bad lists with E_BAD_REQUEST', () => {
    assert.throws(() => resolveInterfaces([]), badRequest(/at least one/));
    assert.throws(() => resolveInterfaces([{ name: 'a', address: '10.0.0.1' }, { name: 'a', address: '::1' }]), badRequest(/duplicate/));
    assert.throws(() => resolveInterfaces([{ name: 'a b', address: '10.0.0.1' }]), badRequest(/name/));
    assert.throws(() => resolveInterfaces([{ name: 'a', address: 'eth0' }]), badRequest(/not an IP/));
    assert.throws(() => resolveInterfaces([{ name: 'a', address: '10.0.0.1', advertised: 'nat.example' }]), badRequest(/advertised/));
    assert.throws(() => resolveInterfaces([{ name: 'a', address: '10.0.0.1', advertised: '2001:db8::1' }]), badRequest(/family/));
  });
});

describe('PortAllocator.reserve', () => {
  it('reserves exactly the pair asked for; allocate() then skips it; release frees it', () => {
    const p = new PortAllocator({ min: 30000, max: 30005 });
    p.reserve(30002);
    assert.equal(p.inUse, 1);
    assert.deepEqual([p.allocate(), p.allocate()], [30000, 30004]);
    assert.throws(() => p.allocate(), (e: unknown) => e instanceof RelayError && e.code === 'E_PORTS_EXHAUSTED');
    p.release(30002);
    p.reserve(30002);
    assert.equal(p.inUse, 3);
  });

  it('refuses a pair in use, an odd port and one outside the range', () => {
    const p = new PortAllocator({ min: 30000, max: 30009 });
    const got = p.allocate();
    assert.throws(() => p.reserve(got), (e: unknown) => e instanceof RelayError && e.code === 'E_PORTS_EXHAUSTED');
    assert.throws(() => p.reserve(30003), badRequest(/even port/));
    assert.throws(() => p.reserve(29998), badRequest(/even port/));
    assert.throws(() => p.reserve(30010), badRequest(/even port/));
    assert.equal(p.inUse, 1);
  });
});
