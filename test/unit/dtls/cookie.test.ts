import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieSecret } from '../../../src/keying/dtls/cookie.ts';
import { helloVerify } from '../../../src/keying/dtls/ServerHandshake.ts';
import { decodeHelloVerifyRequest, encodeClientHello, type ClientHello } from '../../../src/keying/dtls/messages.ts';

const params = Uint8Array.of(1, 2, 3, 4);

describe('HelloVerifyRequest cookies', () => {
  test('valid for the same address and parameters only', () => {
    const s = new CookieSecret();
    const c = s.generate('10.0.0.1:5000', params);
    assert.equal(c.length, 32);
    assert.ok(s.verify('10.0.0.1:5000', params, c));
    assert.ok(!s.verify('10.0.0.1:5001', params, c));
    assert.ok(!s.verify('10.0.0.1:5000', Uint8Array.of(1, 2, 3, 5), c));
    assert.ok(!s.verify('10.0.0.1:5000', params, c.subarray(0, 31)));
    assert.ok(!new CookieSecret().verify('10.0.0.1:5000', params, c), 'another secret');
  });

  test('the secret rotates; the previous one is honoured for one more period', () => {
    let now = 0;
    const s = new CookieSecret({ rotateMs: 1000, now: () => now });
    const c = s.generate('a', params);
    now = 1500;
    assert.ok(s.verify('a', params, c), 'rotated once: previous still accepted');
    const c2 = s.generate('a', params);
    assert.notDeepEqual(c2, c);
    now = 2600;
    assert.ok(!s.verify('a', params, c), 'two rotations later');
    assert.ok(s.verify('a', params, c2));
    now = 10_000;
    assert.ok(!s.verify('a', params, c2), 'a long silence forgets both');
  });

  test('server side: HelloVerifyRequest for a cookieless hello, accept with the cookie, nothing for garbage', () => {
    const s = new CookieSecret();
    const ch: ClientHello = {
      version: 0xfefd, random: new Uint8Array(32).fill(4), sessionId: new Uint8Array(0), cookie: new Uint8Array(0),
      cipherSuites: [0xc02b], compressionMethods: Uint8Array.of(0), extensions: [],
    };
    const hvr = helloVerify(encodeClientHello(ch), 'peer', s);
    assert.ok(hvr instanceof Uint8Array);
    const { version, cookie } = decodeHelloVerifyRequest(hvr);
    assert.equal(version, 0xfeff, 'DTLS 1.0 in HelloVerifyRequest (RFC 6347 §4.2.1)');
    assert.equal(helloVerify(encodeClientHello({ ...ch, cookie }), 'peer', s), null);
    assert.ok(helloVerify(encodeClientHello({ ...ch, cookie }), 'other-peer', s) instanceof Uint8Array);
    // Extensions may differ between the two hellos; the parameters may not.
    assert.equal(helloVerify(encodeClientHello({ ...ch, cookie, extensions: [{ type: 23, data: new Uint8Array(0) }] }), 'peer', s), null);
    assert.ok(helloVerify(encodeClientHello({ ...ch, cookie, random: new Uint8Array(32).fill(5) }), 'peer', s) instanceof Uint8Array);
    assert.equal(helloVerify(Uint8Array.of(1, 2, 3), 'peer', s), undefined);
  });
});
