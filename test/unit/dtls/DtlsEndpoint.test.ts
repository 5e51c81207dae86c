// DtlsEndpoint against itself: both roles, keys agree, retransmission and loss, and each
// attack or misbehaviour aborting with its own code.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { DtlsEndpoint } from '../../../src/keying/dtls/DtlsEndpoint.ts';
import { DtlsCertificate } from '../../../src/keying/dtls/certificate.ts';
import { Alert, DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import { HandshakeType, encodeHandshakeFragment } from '../../../src/keying/dtls/handshake.ts';
import {
  ExtensionType, decodeClientHello, decodeServerHello, encodeCertificate, encodeClientHello, encodeServerHello, useSrtpExtension,
} from '../../../src/keying/dtls/messages.ts';
import { ContentType, DTLS_1_2, encodeRecord, parseRecords } from '../../../src/keying/dtls/records.ts';
import { FAST, Rng, carries, hex, makePair, rewriteHandshake, type Outcome } from './helpers.ts';

const SEED = Number(process.env.DTLS_SEED ?? 0x5eed) >>> 0;

function assertConnected(r: { client: Outcome; server: Outcome }): void {
  assert.equal(r.client.error, null, `client error: ${r.client.error?.message}`);
  assert.equal(r.server.error, null, `server error: ${r.server.error?.message}`);
  const c = r.client.keys;
  const s = r.server.keys;
  assert.ok(c !== null && s !== null, 'both sides connected');
  assert.equal(c.profileId, s.profileId);
  assert.equal(c.suite, s.suite);
  assert.equal(hex(c.localKey), hex(s.remoteKey));
  assert.equal(hex(c.localSalt), hex(s.remoteSalt));
  assert.equal(hex(c.remoteKey), hex(s.localKey));
  assert.equal(hex(c.remoteSalt), hex(s.localSalt));
  assert.notEqual(hex(c.localKey), hex(c.remoteKey));
  assert.equal(c.localKey.length, c.suite.keyLen);
  assert.equal(c.localSalt.length, c.suite.saltLen);
}

function expectCode(o: Outcome, code: string, who: string): DtlsError {
  assert.ok(o.error !== null, `${who} should have failed with ${code}`);
  assert.equal(o.error.code, code, `${who}: ${o.error.message}`);
  assert.equal(o.keys, null, `${who} must not emit keys`);
  return o.error;
}

/** Rewrites a hello's extensions with `fn` (a hook for the misbehaving side). */
function editHelloExtensions(msgType: number, fn: (types: { type: number; data: Uint8Array }[]) => { type: number; data: Uint8Array }[]) {
  return (type: number, body: Uint8Array): Uint8Array => {
    if (type !== msgType) return body;
    if (msgType === HandshakeType.clientHello) {
      const ch = decodeClientHello(body);
      return encodeClientHello({ ...ch, extensions: fn([...ch.extensions]) });
    }
    const sh = decodeServerHello(body);
    return encodeServerHello({ ...sh, extensions: fn([...sh.extensions]) });
  };
}

describe('DtlsEndpoint against itself', () => {
  test('handshake completes; keys mirror each other; strongest profile chosen', async () => {
    const p = makePair();
    p.server.start();
    p.client.start();
    const r = await p.settled();
    assertConnected(r);
    assert.equal(r.client.keys?.suite.name, 'AEAD_AES_256_GCM');
    assert.equal(p.client.state, 'connected');
    assert.equal(p.server.stats.helloVerifyRequests, 1, 'the server ran the cookie exchange');
    assert.equal(hex(p.client.remoteCertificate ?? new Uint8Array()), hex(p.serverCert.der));
    assert.equal(hex(p.server.remoteCertificate ?? new Uint8Array()), hex(p.clientCert.der));
    p.close();
  });

  test('without cookies, with a small MTU (every message fragmented) and each profile', async () => {
    for (const suite of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
      const p = makePair({ client: { mtu: 256 }, server: { mtu: 256, cookies: false, srtpPolicy: { suites: [suite] } } });
      p.server.start();
      p.client.start();
      const r = await p.settled();
      assertConnected(r);
      assert.equal(r.server.keys?.suite.name, suite);
      assert.equal(p.server.stats.helloVerifyRequests, 0);
      p.close();
    }
  });

  test('keys are redacted in JSON and inspect, and wipe() zeroes them', async () => {
    const p = makePair();
    p.server.start();
    p.client.start();
    const r = await p.settled();
    const k = r.client.keys;
    assert.ok(k !== null);
    const key = hex(k.localKey);
    assert.ok(!JSON.stringify(k).includes(key));
    assert.ok(!inspect(k).includes(key));
    assert.match(inspect(k), /redacted/);
    const view = k.localKey;
    k.wipe();
    assert.ok(view.every((b) => b === 0));
    assert.throws(() => k.localKey);
    p.close();
  });

  test('fingerprint hash names are case-insensitive (baresip sends SHA-256)', async () => {
    const c = DtlsCertificate.generate();
    const s = DtlsCertificate.generate();
    const p = makePair({
      clientCert: c, serverCert: s, fingerprints: false,
      client: { remoteFingerprints: [s.fingerprint().replace('sha-256', 'SHA-256')] },
      server: { remoteFingerprints: [c.fingerprint('sha-512').replace('sha-512', 'SHA-512')] },
    });
    p.server.start();
    p.client.start();
    assertConnected(await p.settled());
    p.close();
  });

  test('fingerprint known only after the handshake: keys are held until it is set', async () => {
    const p = makePair({ fingerprints: false });
    p.server.start();
    p.client.start();
    const deadline = Date.now() + 5000;
    while ((p.client.state !== 'verifying' || p.server.state !== 'verifying') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(p.client.state, 'verifying');
    assert.equal(p.server.state, 'verifying');
    p.client.setRemoteFingerprints([p.serverCert.fingerprint()]);
    assert.equal(p.client.state, 'connected');
    // The answer names a different certificate: the held keys are never released.
    p.server.setRemoteFingerprints([DtlsCertificate.generate().fingerprint()]);
    const r = await p.settled();
    expectCode(r.server, 'E_DTLS_FINGERPRINT', 'server');
    assert.equal(p.server.state, 'failed');
    // The client hears bad_certificate under the epoch-1 keys and fails too.
    assert.equal(r.client.error?.code, 'E_DTLS_ALERT');
    assert.equal(r.client.error?.alert, Alert.badCertificate);
    p.close();
  });

  test('close() sends close_notify; the peer closes; close() is idempotent', async () => {
    const p = makePair();
    p.server.start();
    p.client.start();
    assertConnected(await p.settled());
    let closes = 0;
    p.server.on('close', () => closes++);
    p.client.close();
    p.client.close();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(p.client.state, 'closed');
    assert.equal(p.server.state, 'closed');
    assert.equal(closes, 1);
    p.server.close();
    assert.equal(closes, 1);
  });
});

describe('retransmission', () => {
  test('a lost final server flight is resent when the client retransmits its flight', async () => {
    let dropped = false;
    const p = makePair({
      filter: (dir, d) => {
        const hasCcs = parseRecords(d).some((r) => r.type === ContentType.changeCipherSpec);
        if (dir === 's2c' && hasCcs && !dropped) { dropped = true; return null; }
        return [d];
      },
    });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    assertConnected(r);
    assert.ok(dropped);
    // The server's last flight has no timer: only the client's retransmission can trigger it.
    assert.ok(p.server.stats.retransmits >= 1, 'server resent flight 6');
    assert.ok(p.client.stats.retransmits >= 1, 'client retransmitted flight 5');
    p.close();
  });

  test('back-off doubles from the initial timeout up to the cap, then the deadline fails the handshake', async () => {
    const sent: number[] = [];
    const t0 = performance.now();
    const e = new DtlsEndpoint({
      role: 'client', certificate: DtlsCertificate.generate(), remoteFingerprints: [DtlsCertificate.generate().fingerprint()],
      send: () => { sent.push(performance.now() - t0); }, initialRetransmitMs: 40, maxRetransmitMs: 300, handshakeTimeoutMs: 1500,
    });
    let error: DtlsError | null = null;
    e.on('error', (err) => { error = err; });
    e.start();
    await new Promise((r) => setTimeout(r, 1650));
    assert.equal((error as DtlsError | null)?.code, 'E_DTLS_TIMEOUT');
    assert.equal(e.state, 'failed');
    const gaps = sent.slice(1).map((t, i) => t - (sent[i] as number));
    const want = [40, 80, 160, 300, 300];
    for (const [i, w] of want.entries()) {
      const g = gaps[i];
      assert.ok(g !== undefined && g >= w * 0.9 && g <= w + 120, `gap ${i} = ${g?.toFixed(0)} ms, want ~${w} (gaps ${gaps.map((x) => x.toFixed(0)).join(',')})`);
    }
    const n = sent.length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sent.length, n, 'nothing is sent after the failure');
  });

  for (const seed of [SEED, SEED + 1, SEED + 2, SEED + 3, SEED + 4]) {
    test(`20% random loss both ways, reordering, small MTU: completes by retransmission [seed:${seed}]`, async () => {
      const rng = new Rng(seed);
      let drops = 0;
      const p = makePair({
        client: { mtu: 300 }, server: { mtu: 300 },
        filter: (_dir, d) => { if (rng.next() < 0.2) { drops++; return null; } return [d]; },
        delay: () => (rng.next() < 0.3 ? rng.int(1, 15) : 0),
      });
      p.server.start();
      p.client.start();
      const r = await p.settled(15_000);
      assertConnected(r);
      assert.ok(drops > 0, 'the link dropped something');
      p.close();
    });
  }

  test('every datagram duplicated: duplicates are caught by the replay window', async () => {
    const p = makePair({ filter: (_dir, d) => [d, d] });
    p.server.start();
    p.client.start();
    assertConnected(await p.settled());
    assert.ok(p.server.stats.replays > 0 && p.client.stats.replays > 0);
    p.close();
  });
});

describe('attacks and misbehaving peers abort with their own code', () => {
  test('wrong fingerprint: client side', async () => {
    const p = makePair({ client: { remoteFingerprints: [DtlsCertificate.generate().fingerprint()] } });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.client, 'E_DTLS_FINGERPRINT', 'client');
    assert.equal(r.server.error?.code, 'E_DTLS_ALERT');
    assert.equal(r.server.error?.alert, Alert.badCertificate);
    p.close();
  });

  test('wrong fingerprint: server side', async () => {
    const p = makePair({ server: { remoteFingerprints: [DtlsCertificate.generate().fingerprint('sha-384')] } });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.server, 'E_DTLS_FINGERPRINT', 'server');
    p.close();
  });

  test("server presents the victim's certificate but signs with its own key → bad signature", async () => {
    const victim = DtlsCertificate.generate();
    const p = makePair({
      client: { remoteFingerprints: [victim.fingerprint()] },
      filter: (dir, d) => [dir === 's2c' && carries(d, HandshakeType.certificate) ? rewriteHandshake(d, HandshakeType.certificate, () => encodeCertificate([victim.der])) : d],
    });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.client, 'E_DTLS_BAD_SIGNATURE', 'client');
    p.close();
  });

  test("client presents the victim's certificate but signs CertificateVerify with its own key → bad signature", async () => {
    const victim = DtlsCertificate.generate();
    const p = makePair({
      server: { remoteFingerprints: [victim.fingerprint()] },
      filter: (dir, d) => [dir === 'c2s' && carries(d, HandshakeType.certificate) ? rewriteHandshake(d, HandshakeType.certificate, () => encodeCertificate([victim.der])) : d],
    });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.server, 'E_DTLS_BAD_SIGNATURE', 'server');
    assert.equal(r.client.error?.alert, Alert.decryptError);
    p.close();
  });

  test('ServerKeyExchange with a corrupted signature', async () => {
    const p = makePair({
      filter: (dir, d) => [dir === 's2c' ? rewriteHandshake(d, HandshakeType.serverKeyExchange, (b) => {
        const x = Uint8Array.from(b);
        x[x.length - 1] = (x[x.length - 1] as number) ^ 0x01;
        return x;
      }) : d],
    });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.client, 'E_DTLS_BAD_SIGNATURE', 'client');
    p.close();
  });

  test('ServerKeyExchange key share swapped by an on-path attacker (signature no longer covers it)', async () => {
    const p = makePair({
      filter: (dir, d) => [dir === 's2c' ? rewriteHandshake(d, HandshakeType.serverKeyExchange, (b) => {
        const x = Uint8Array.from(b);
        x[5] = (x[5] as number) ^ 0x80; // inside the public key
        return x;
      }) : d],
    });
    p.server.start();
    p.client.start();
    expectCode((await p.settled()).client, 'E_DTLS_BAD_SIGNATURE', 'client');
    p.close();
  });

  for (const side of ['server', 'client'] as const) {
    test(`tampered Finished from the ${side} → E_DTLS_BAD_FINISHED at the other side`, async () => {
      const hook = { outgoingHandshake: (t: number, b: Uint8Array) => (t === HandshakeType.finished ? Uint8Array.from(b, (x, i) => (i === 0 ? x ^ 1 : x)) : b) };
      const p = makePair(side === 'server' ? { server: { insecureTestHooks: hook } } : { client: { insecureTestHooks: hook } });
      p.server.start();
      p.client.start();
      const r = await p.settled();
      const victim = side === 'server' ? r.client : r.server;
      expectCode(victim, 'E_DTLS_BAD_FINISHED', side === 'server' ? 'client' : 'server');
      p.close();
    });
  }

  test('client offers only profiles the server policy excludes', async () => {
    const p = makePair({
      client: { srtpPolicy: { suites: ['AES_CM_128_HMAC_SHA1_32'] } },
      server: { srtpPolicy: { suites: ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] } },
    });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.server, 'E_DTLS_NO_SRTP_PROFILE', 'server');
    assert.equal(r.client.error?.code, 'E_DTLS_ALERT');
    assert.equal(r.client.error?.alert, Alert.handshakeFailure);
    p.close();
  });

  test('client offers only NULL profiles: refused without the insecure option', async () => {
    const p = makePair({ client: { srtpPolicy: { suites: ['NULL_HMAC_SHA1_80'], insecureAllowNullCipher: true } } });
    p.server.start();
    p.client.start();
    expectCode((await p.settled()).server, 'E_DTLS_NO_SRTP_PROFILE', 'server');
    p.close();
  });

  test('server answers without use_srtp (OpenSSL does that when nothing is common)', async () => {
    const strip = editHelloExtensions(HandshakeType.serverHello, (x) => x.filter((e) => e.type !== ExtensionType.useSrtp));
    const p = makePair({ server: { insecureTestHooks: { outgoingHandshake: strip } } });
    p.server.start();
    p.client.start();
    expectCode((await p.settled()).client, 'E_DTLS_NO_SRTP_PROFILE', 'client');
    p.close();
  });

  test('server picks a profile the client did not offer', async () => {
    const swap = editHelloExtensions(HandshakeType.serverHello, (x) => x.map((e) => (e.type === ExtensionType.useSrtp ? useSrtpExtension([0x0002]) : e)));
    const p = makePair({ client: { srtpPolicy: { suites: ['AES_CM_128_HMAC_SHA1_80'] } }, server: { insecureTestHooks: { outgoingHandshake: swap } } });
    p.server.start();
    p.client.start();
    const e = expectCode((await p.settled()).client, 'E_DTLS_NO_SRTP_PROFILE', 'client');
    assert.equal(e.alert, Alert.illegalParameter);
    p.close();
  });

  test('client without extended_master_secret', async () => {
    const strip = editHelloExtensions(HandshakeType.clientHello, (x) => x.filter((e) => e.type !== ExtensionType.extendedMasterSecret));
    const p = makePair({ client: { insecureTestHooks: { outgoingHandshake: strip } } });
    p.server.start();
    p.client.start();
    const r = await p.settled();
    expectCode(r.server, 'E_DTLS_NO_EMS', 'server');
    assert.equal(r.client.error?.code, 'E_DTLS_ALERT');
    p.close();
  });

  test('server without extended_master_secret', async () => {
    const strip = editHelloExtensions(HandshakeType.serverHello, (x) => x.filter((e) => e.type !== ExtensionType.extendedMasterSecret));
    const p = makePair({ server: { insecureTestHooks: { outgoingHandshake: strip } } });
    p.server.start();
    p.client.start();
    expectCode((await p.settled()).client, 'E_DTLS_NO_EMS', 'client');
    p.close();
  });

  test('server answering with an extension the client never sent', async () => {
    const add = editHelloExtensions(HandshakeType.serverHello, (x) => [...x, { type: 0x0010, data: new Uint8Array(0) }]);
    const p = makePair({ server: { insecureTestHooks: { outgoingHandshake: add } } });
    p.server.start();
    p.client.start();
    const e = expectCode((await p.settled()).client, 'E_DTLS_ILLEGAL_PARAMETER', 'client');
    assert.equal(e.alert, Alert.unsupportedExtension);
    p.close();
  });

  test('spoofed epoch-0 records with huge sequence numbers cannot block the handshake', async () => {
    const p = makePair();
    p.server.start();
    p.client.start();
    // Injected before the real flights arrive (delivery is on setImmediate).
    const junk = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 0xffff_ffff_fffe, encodeHandshakeFragment(HandshakeType.serverHelloDone, 0, 40, 0, new Uint8Array(0)));
    p.client.handleDatagram(junk);
    p.server.handleDatagram(junk);
    assertConnected(await p.settled());
    p.close();
  });

  test('forged epoch-0 alerts and garbage epoch-1 records after the handshake change nothing', async () => {
    const p = makePair();
    p.server.start();
    p.client.start();
    assertConnected(await p.settled());
    p.server.handleDatagram(encodeRecord(ContentType.alert, DTLS_1_2, 0, 1000, Uint8Array.of(2, Alert.handshakeFailure)));
    p.server.handleDatagram(encodeRecord(ContentType.alert, DTLS_1_2, 0, 1001, Uint8Array.of(1, Alert.closeNotify)));
    p.server.handleDatagram(encodeRecord(ContentType.alert, DTLS_1_2, 1, 50, new Uint8Array(40)));
    assert.equal(p.server.state, 'connected');
    assert.ok(p.server.stats.authFailures >= 1);
    p.close();
  });

  test("a failure with no 'error' listener does not throw out of handleDatagram", () => {
    const e = new DtlsEndpoint({ role: 'client', certificate: DtlsCertificate.generate(), send: () => {}, ...FAST });
    e.start();
    const bogusServerHello = encodeHandshakeFragment(HandshakeType.serverHello, 3, 0, 0, Uint8Array.of(1, 2, 3));
    assert.doesNotThrow(() => e.handleDatagram(encodeRecord(ContentType.handshake, DTLS_1_2, 0, 0, bogusServerHello)));
    assert.equal(e.state, 'failed');
    assert.equal(e.error?.code, 'E_DTLS_DECODE');
    e.close();
  });
});

describe('robustness', () => {
  test('random and mutated datagrams never throw, and a listening server keeps no state for them', async () => {
    const rng = new Rng(SEED ^ 0xabcdef);
    // Capture real handshake datagrams to mutate.
    const captured: Uint8Array[] = [];
    const p = makePair({ filter: (_d, g) => { captured.push(g); return [g]; } });
    p.server.start();
    p.client.start();
    assertConnected(await p.settled());
    p.close();
    const server = new DtlsEndpoint({ role: 'server', certificate: DtlsCertificate.generate(), send: () => {}, ...FAST });
    server.start();
    for (let i = 0; i < 3000; i++) {
      let d: Uint8Array;
      if (i % 2 === 0) {
        d = rng.bytes(rng.int(0, 200));
        if (d.length > 0) d[0] = rng.int(20, 63);
      } else {
        d = Uint8Array.from(captured[rng.int(0, captured.length - 1)] as Uint8Array);
        for (let k = rng.int(1, 4); k > 0 && d.length > 0; k--) d[rng.int(0, d.length - 1)] ^= 1 << rng.int(0, 7);
      }
      const client = new DtlsEndpoint({ role: 'client', certificate: p.clientCert, send: () => {}, ...FAST });
      client.start();
      assert.doesNotThrow(() => { server.handleDatagram(d, 'x'); client.handleDatagram(d, 'y'); });
      client.close();
    }
    // Mutated ClientHellos get a HelloVerifyRequest or nothing; none creates handshake state.
    assert.equal(server.state, 'connecting');
    server.close();
  });

  test('start() twice is an error; datagrams before start() are ignored', () => {
    const sent: Uint8Array[] = [];
    const e = new DtlsEndpoint({ role: 'server', certificate: DtlsCertificate.generate(), send: (d) => sent.push(d), ...FAST });
    e.handleDatagram(new Uint8Array(20));
    assert.equal(e.stats.datagramsIn, 0);
    e.start();
    assert.throws(() => e.start(), (err: unknown) => err instanceof DtlsError && err.code === 'E_DTLS_INVALID_STATE');
    e.close();
    assert.equal(sent.length, 0, 'a server that never talked sends no close_notify before it has a peer');
  });
});
