// Takeover of a call with a DTLS-SRTP side, end to end: a real redis-server, two srtpgate
// daemons (A and B) on one media address, a call set up on A between a DTLS-SRTP far end
// (OpenSSL `s_client -dtls1_2 -use_srtp`, its SRTP keys derived from `-keymatexport
// EXTRACTOR-dtls_srtp`, libsrtp2 protecting and checking its media) and an SDES far end
// (libsrtp2). A is SIGKILLed mid-stream; B takes the call over from Redis on the keys A's
// handshake exported (sealed there), then a re-INVITE from the DTLS side makes B run a new
// handshake (a second OpenSSL process with the same certificate) and media goes on under the
// new keys.
//
// OpenSSL owns its UDP socket, and the relay latches to the address that completed the
// handshake, so the DTLS far end is a two-socket shim: OpenSSL talks DTLS to its inner socket,
// and the outer one (the address in the SDP) carries that DTLS and the far end's SRTP alike.
//
// Asserted: media through B with loss only during the switch; every packet a far end received
// opens in its libsrtp2 receiver (no replay, no auth failure) and no index arrives twice;
// pre-kill packets replayed to B are not forwarded; B answers the re-INVITE with its own
// fingerprint and the restored keys carry media until the new handshake completes; after it,
// media both ways under the new keys only; Redis never holds any exported or SDES key in any
// usual encoding. Printed: switch-over time and packets lost.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonLogLine } from '../helpers/daemon.ts';
import { rtp } from '../helpers/packets.ts';
import { skipOrFail } from '../interop/libsrtp.ts';
import { Endpoint, SUITE, mPort, relayCrypto, sdp as sdesSdp, seqOf, sleep, ssrcOf } from '../ha/callHelpers.ts';
import {
  ALICE_SSRC, BOB_SSRC, PACKET_MS, TakeoverRig, assertDeliveredAcrossSwitch, assertNoSecrets, assertOnlyBRecords, assertReplaysRefused,
  dumpRedis, keySecrets, killAndTakeOver, ngOk, openEach, replaysFromBeforeKill, streamBothWays, type Switch,
} from '../ha/takeoverHarness.ts';
import { DtlsCertificate } from '../../src/keying/dtls/index.ts';
import { computeFingerprint, formatFingerprint } from '../../src/keying/dtls/fingerprint.ts';

const TOKEN = `ha-dtls-${randomBytes(12).toString('hex')}`;
const PORT_MIN = 43_400;
const PROFILE = 'SRTP_AES128_CM_SHA1_80';
/** 2 × (16-byte key + 14-byte salt), RFC 5764 §4.2. */
const KEYING_LEN = 60;
const OPENSSL_INSTALL = 'apt-get install -y openssl';
const tsOf = (l: DaemonLogLine): number => Date.parse(l.ts);

const OPENSSL = ((): string | null => {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && /^OpenSSL 3\./.test(r.stdout) ? r.stdout.trim() : null;
})();

/** SRTP keys of one DTLS association from the far end's view (OpenSSL is the client). */
interface FarKeys { txKey: Buffer; txSalt: Buffer; rxKey: Buffer; rxSalt: Buffer }

/** `openssl s_client` as the DTLS-SRTP client, bounded by `timeout`. */
class OpensslClient {
  readonly #proc: ChildProcessWithoutNullStreams;
  #out = '';
  readonly exited: Promise<void>;
  constructor(port: number, cert: string, key: string) {
    // SIGTERM to `timeout` reaches openssl too; the bound holds even if the test forgets it.
    this.#proc = spawn('timeout', ['60', 'openssl', 's_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-cert', cert, '-key', key,
      '-use_srtp', PROFILE, '-keymatexport', 'EXTRACTOR-dtls_srtp', '-keymatexportlen', String(KEYING_LEN)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (d: Buffer): void => { this.#out += d.toString('utf8'); };
    this.#proc.stdout.on('data', take);
    this.#proc.stderr.on('data', take);
    this.exited = new Promise((resolve) => this.#proc.on('exit', () => resolve()));
  }

  /** The keys, once the handshake completed: client_key | server_key | client_salt | server_salt. */
  async keys(ms = 10_000): Promise<FarKeys> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = /Keying material: ([0-9A-F]+)/.exec(this.#out);
      if (m !== null) {
        assert.match(this.#out, new RegExp(`SRTP Extension negotiated, profile=${PROFILE}`));
        const b = Buffer.from(m[1]!, 'hex');
        assert.equal(b.length, KEYING_LEN);
        return { txKey: b.subarray(0, 16), rxKey: b.subarray(16, 32), txSalt: b.subarray(32, 46), rxSalt: b.subarray(46, 60) };
      }
      if (Date.now() > deadline || this.#proc.exitCode !== null) assert.fail(`s_client printed no keying material:\n${this.#out}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGTERM');
    await Promise.race([this.exited, sleep(3000)]);
  }
}

/**
 * The DTLS far end's address: `outer` faces the relay and carries DTLS and SRTP; DTLS from the
 * relay goes on to OpenSSL (the latest process that spoke to `inner`), DTLS from OpenSSL leaves
 * through `outer`, and SRTP arrivals are timestamped like Endpoint's.
 */
class DtlsShim {
  readonly arrivals: { at: number; msg: Buffer }[] = [];
  relayPort = 0;
  #openssl: { port: number } | null = null;
  private constructor(readonly outer: dgram.Socket, readonly inner: dgram.Socket) {
    outer.on('message', (msg) => {
      if (msg.length > 0 && msg[0]! >= 20 && msg[0]! <= 63) {
        if (this.#openssl !== null) inner.send(msg, this.#openssl.port, '127.0.0.1');
        return;
      }
      this.arrivals.push({ at: Date.now(), msg });
    });
    inner.on('message', (msg, rinfo) => {
      this.#openssl = { port: rinfo.port };
      if (this.relayPort !== 0) outer.send(msg, this.relayPort, '127.0.0.1');
    });
  }
  static async open(): Promise<DtlsShim> {
    const bind = async (): Promise<dgram.Socket> => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return s;
    };
    return new DtlsShim(await bind(), await bind());
  }
  get port(): number { return this.outer.address().port; }
  get innerPort(): number { return this.inner.address().port; }
  send(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.outer.send(data, this.relayPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  close(): void { this.outer.close(); this.inner.close(); }
}

function dtlsSdp(port: number, fingerprint: string): string {
  return `${['v=0', 'o=- 2 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} UDP/TLS/RTP/SAVP 0`,
    'a=rtpmap:0 PCMU/8000', 'a=sendrecv', 'a=rtcp-mux', `a=fingerprint:${fingerprint}`, 'a=setup:active'].join('\r\n')}\r\n`;
}
const fingerprintIn = (s: string): string | null => /^a=fingerprint:(.+)\r$/m.exec(s)?.[1] ?? null;
const setupIn = (s: string): string | null => /^a=setup:(\S+)\r$/m.exec(s)?.[1] ?? null;

describe('takeover of a call with a DTLS-SRTP side (OpenSSL peer, Redis, two daemons, SIGKILL)', () => {
  const rig = new TakeoverRig();
  let dir = '';
  before(async () => {
    await rig.setUp();
    dir = mkdtempSync(join(tmpdir(), 'srtpgate-dtls-ha-'));
  });
  after(async () => {
    await rig.tearDown();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [0, 1]) it(`media continues through B after A dies, on A's exported DTLS keys; a re-INVITE re-keys with a new handshake (${workers} media workers)`, { timeout: 120_000 }, async (t) => {
    const env = rig.ready(t);
    if (env === null) return;
    const { redis, lib } = env;
    if (OPENSSL === null) return skipOrFail(t, `openssl 3.x CLI unavailable; install with: ${OPENSSL_INSTALL}`);
    const { A, B, ngA, ngB } = await rig.startPair({ token: TOKEN, portMin: PORT_MIN + workers * 200, workers, autoTakeover: true });

    // The DTLS far end's certificate, as OpenSSL reads it, and its fingerprint from the PEM.
    const cert = DtlsCertificate.generate({ commonName: `alice-${workers}` });
    const certFile = join(dir, `alice-${workers}.crt`), keyFile = join(dir, `alice-${workers}.key`);
    writeFileSync(certFile, cert.toPem());
    writeFileSync(keyFile, cert.exportPrivateKeyPem(), { mode: 0o600 });
    const aliceFp = formatFingerprint(computeFingerprint(new X509Certificate(readFileSync(certFile)).raw, 'sha-256'));

    const alice = await DtlsShim.open(), bob = await Endpoint.open(), attacker = await Endpoint.open();
    const openssl: OpensslClient[] = [];
    rig.onTearDown(() => alice.close(), () => bob.close(), () => attacker.close(), async () => { for (const o of openssl) await o.stop(); });

    // The call, on A: alice (DTLS, a=setup:active) offers, bob (SDES) answers.
    const callId = `takeover-dtls-${workers}-${randomBytes(6).toString('hex')}@e2e`;
    const bKey = randomBytes(16), bSalt = randomBytes(14);
    const offer = await ngOk(ngA, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: dtlsSdp(alice.port, aliceFp), 'transport-protocol': 'RTP/SAVP' });
    const toBob = String(offer.sdp);
    const relayToBob = relayCrypto(toBob);
    const answer = await ngOk(ngA, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdesSdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), relayToBob.tag) });
    const toAlice = String(answer.sdp);
    assert.equal(setupIn(toAlice), 'passive');
    const fpA = fingerprintIn(toAlice);
    assert.ok(fpA !== null);
    const portForAlice = mPort(toAlice), portForBob = mPort(toBob);
    alice.relayPort = portForAlice;

    const first = new OpensslClient(alice.innerPort, certFile, keyFile);
    openssl.push(first);
    const k1 = await first.keys();
    const s = `dt${workers}`;
    await lib.session(`${s}-atx`, 'out', SUITE, k1.txKey, k1.txSalt);
    await lib.session(`${s}-arx`, 'in', SUITE, k1.rxKey, k1.rxSalt);
    await lib.session(`${s}-btx`, 'out', SUITE, bKey, bSalt);
    await lib.session(`${s}-brx`, 'in', SUITE, relayToBob.key, relayToBob.salt);
    const secrets = keySecrets({
      dtlsTx: [k1.txKey, k1.txSalt], dtlsRx: [k1.rxKey, k1.rxSalt], bob: [bKey, bSalt], relayToBob: [relayToBob.key, relayToBob.salt],
    });

    // Both directions at 50 packets/s until told to stop.
    const stream = streamBothWays(lib, {
      aliceTx: `${s}-atx`, bobTx: `${s}-btx`, sendAlice: (w) => alice.send(w), sendBob: (w) => bob.send(w, portForBob),
    });
    const { sent } = stream;

    let sw: Switch | null = null;
    try {
      await sleep(2500);
      assert.ok(bob.arrivals.length > 50 && alice.arrivals.length > 50, `media flows through A (${bob.arrivals.length}, ${alice.arrivals.length})`);
      const dumpA = await dumpRedis(redis.url);
      assert.ok([...dumpA.keys()].includes(`srtpgate:call:A:${callId}`), [...dumpA.keys()].join(', '));
      const recA = JSON.parse(dumpA.get(`srtpgate:call:A:${callId}`)!.toString('utf8')) as { media: { sides: { dtls: boolean; inKey: unknown; outKey: unknown; dtlsPeer?: { fingerprints: string[] } }[] }[] };
      const dtlsSide = recA.media[0]!.sides.find((x) => x.dtls);
      assert.ok(dtlsSide && dtlsSide.inKey !== null && dtlsSide.outKey !== null, 'the DTLS side is stored with its exported keys (sealed)');
      assert.deepEqual(dtlsSide.dtlsPeer?.fingerprints, [aliceFp]);
      assertNoSecrets(dumpA, secrets);
      await sleep(1000);

      sw = await killAndTakeOver(A, B);
      await sleep(2000);
    } finally {
      await stream.stop();
    }

    // Every packet a far end received opens in its libsrtp2 receiver (replay or auth failure
    // throws); loss only during the switch.
    assert.ok(sw !== null);
    const { killedAt, gone, done } = sw;
    await assertDeliveredAcrossSwitch(t, lib, sent, {
      bob: { arrivals: bob.arrivals, rx: `${s}-brx`, label: 'alice(DTLS)→bob' }, alice: { arrivals: alice.arrivals, rx: `${s}-arx`, label: 'bob→alice(DTLS)' },
    }, sw);
    const takeoverAt = tsOf(done);
    const firstAtBob = bob.arrivals.find((a) => a.at > killedAt)!.at;
    t.diagnostic(`switch-over (DTLS call, ${workers} workers): SIGKILL → heartbeat expiry noticed ${tsOf(gone) - killedAt} ms; expiry → takeover done ${takeoverAt - tsOf(gone)} ms (takeover itself ${String(done.context.durationMs)} ms); SIGKILL → media at the far end ${firstAtBob - killedAt} ms`);

    // Replays of what A forwarded before the switch: none forwarded by B.
    const replayA = replaysFromBeforeKill(sent.alice, killedAt);
    const replayB = replaysFromBeforeKill(sent.bob, killedAt);
    await assertReplaysRefused(attacker, [[replayA, portForAlice], [replayB, portForBob]], { bob, alice });
    let nBob = bob.arrivals.length, nAlice = alice.arrivals.length;

    // One packet each way under the current keys.
    let aSeq = sent.alice.at(-1)!.seq, bSeq = sent.bob.at(-1)!.seq;
    const exchange = async (tx: string, rx: string, what: string): Promise<void> => {
      nBob = bob.arrivals.length; nAlice = alice.arrivals.length;
      const pa = rtp({ seq: ++aSeq, ssrc: ALICE_SSRC, payload: randomBytes(160) });
      const pb = rtp({ seq: ++bSeq, ssrc: BOB_SSRC, payload: randomBytes(160) });
      await alice.send(await lib!.protectRtp(tx, pa));
      await bob.send(await lib!.protectRtp(`${s}-btx`, pb), portForBob);
      const deadline = Date.now() + 2000;
      while ((bob.arrivals.length === nBob || alice.arrivals.length === nAlice) && Date.now() < deadline) await sleep(20);
      assert.equal(bob.arrivals.length, nBob + 1, `${what}: alice → bob`);
      assert.equal(alice.arrivals.length, nAlice + 1, `${what}: bob → alice`);
      assert.deepEqual(await lib!.unprotectRtp(`${s}-brx`, bob.arrivals.at(-1)!.msg), pa);
      assert.deepEqual(await lib!.unprotectRtp(rx, alice.arrivals.at(-1)!.msg), pb);
    };

    // The re-INVITE from the DTLS side, through B: B answers with its own certificate, which
    // tells the peer to run a new handshake (RFC 5763 §5); until it does, the restored keys work.
    await first.stop();
    const reOffer = await ngOk(ngB, { command: 'offer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: dtlsSdp(alice.port, aliceFp), 'transport-protocol': 'RTP/SAVP' });
    assert.equal(mPort(String(reOffer.sdp)), portForBob);
    const reToBob = relayCrypto(String(reOffer.sdp));
    assert.deepEqual([reToBob.key, reToBob.salt], [relayToBob.key, relayToBob.salt], 'bob keeps his keys');
    const reAnswer = await ngOk(ngB, { command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdesSdp(bob.port, Buffer.concat([bKey, bSalt]).toString('base64'), reToBob.tag) });
    const reToAlice = String(reAnswer.sdp);
    assert.equal(mPort(reToAlice), portForAlice);
    assert.equal(setupIn(reToAlice), 'passive');
    const fpB = fingerprintIn(reToAlice);
    assert.ok(fpB !== null && fpB !== fpA, `B answers with its own fingerprint (${fpB} vs ${fpA})`);
    await exchange(`${s}-atx`, `${s}-arx`, 'restored keys while the new handshake has not run');

    // Media through the re-key: both far ends keep sending; alice switches to the new keys once
    // OpenSSL prints them (a phone would at once; this one up to an output poll late).
    let aliceTx = `${s}-atx`;
    let rekeying = true;
    const sentRk = { alice: [] as { seq: number; at: number }[], bob: [] as { seq: number; at: number }[] };
    const bobFrom = bob.arrivals.length, aliceFrom = alice.arrivals.length;
    const rekeyStream = (async () => {
      while (rekeying) {
        const pa = rtp({ seq: ++aSeq, ssrc: ALICE_SSRC, payload: randomBytes(160) });
        const pb = rtp({ seq: ++bSeq, ssrc: BOB_SSRC, payload: randomBytes(160) });
        const [wa, wb] = await Promise.all([lib!.protectRtp(aliceTx, pa), lib!.protectRtp(`${s}-btx`, pb)]);
        sentRk.alice.push({ seq: aSeq, at: Date.now() });
        sentRk.bob.push({ seq: bSeq, at: Date.now() });
        await Promise.all([alice.send(wa), bob.send(wb, portForBob)]);
        await sleep(PACKET_MS);
      }
    })();
    let k2: FarKeys;
    let handshakeAt = 0, switchedAt = 0;
    try {
      await sleep(500);
      const second = new OpensslClient(alice.innerPort, certFile, keyFile);
      openssl.push(second);
      handshakeAt = Date.now();
      k2 = await second.keys();
      await lib.session(`${s}-atx2`, 'out', SUITE, k2.txKey, k2.txSalt);
      await lib.session(`${s}-arx2`, 'in', SUITE, k2.rxKey, k2.rxSalt);
      aliceTx = `${s}-atx2`;
      switchedAt = Date.now();
      await sleep(1000);
    } finally {
      rekeying = false;
      await rekeyStream.catch(() => {});
    }
    await sleep(300);
    assert.notDeepEqual(k2.txKey, k1.txKey, 'a new association, new keys');
    // Bob's receiver never changed keys: everything that reached him opens, once.
    const rkBob = await openEach(lib, bob.arrivals.slice(bobFrom), `${s}-brx`, ALICE_SSRC);
    // Alice opens with the new keys, or else the restored ones (sent before B switched).
    const rkAlice = new Set<number>();
    let underOld = 0;
    for (const { msg } of alice.arrivals.slice(aliceFrom)) {
      let plain: Uint8Array;
      try {
        plain = await lib.unprotectRtp(`${s}-arx2`, msg);
      } catch {
        plain = await lib.unprotectRtp(`${s}-arx`, msg);
        underOld++;
      }
      assert.equal(ssrcOf(plain), BOB_SSRC);
      assert.ok(!rkAlice.has(seqOf(plain)), 'index reached alice twice across the re-key');
      rkAlice.add(seqOf(plain));
    }
    for (const [name, list, got] of [['alice(DTLS)→bob', sentRk.alice, rkBob], ['bob→alice(DTLS)', sentRk.bob, rkAlice]] as const) {
      const lost = list.filter((p) => !got.has(p.seq));
      // Only around the key change: between the new handshake's start and alice's switch (plus flight time).
      for (const p of lost) assert.ok(p.at >= handshakeAt - 100 && p.at <= switchedAt + 100, `${name}: seq ${p.seq} lost ${p.at - handshakeAt} ms after the re-handshake began`);
      t.diagnostic(`re-key (${workers} workers): ${name}: ${list.length} sent, ${lost.length} lost; new handshake to keys at the far end ${switchedAt - handshakeAt} ms`);
    }
    assert.ok(underOld > 0, 'the restored keys carried bob→alice media while the handshake ran');
    await exchange(`${s}-atx2`, `${s}-arx2`, 'new keys after the new handshake');
    // The old keys are gone from B: a packet under them is refused.
    nBob = bob.arrivals.length;
    await alice.send(await lib.protectRtp(`${s}-atx`, rtp({ seq: ++aSeq, ssrc: ALICE_SSRC, payload: randomBytes(160) })));
    await sleep(300);
    assert.equal(bob.arrivals.length, nBob, 'a packet under the restored (old) keys was forwarded after the re-key');

    // Redis: B's record only, and none of either association's keys in any encoding.
    Object.assign(secrets, keySecrets({ dtls2Tx: [k2.txKey, k2.txSalt], dtls2Rx: [k2.rxKey, k2.rxSalt] }));
    const dumpB = await dumpRedis(redis.url);
    assertOnlyBRecords(dumpB, callId);
    assertNoSecrets(dumpB, secrets);
    await ngOk(ngB, { command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
    await openssl.at(-1)!.stop();
    await B.stop();
  });
});
