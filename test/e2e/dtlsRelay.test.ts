// DTLS-SRTP terminated by the relay, end to end on loopback: an SDES leg (libsrtp2 at the far
// end for the bit-exact media tests) ↔ a DTLS leg whose far end is a DtlsEndpoint of our own
// plus SrtpSessions keyed from what that endpoint exported. Both relay roles, both profile
// families, in-thread and in a media worker; plus the failure and attack cases.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Relay, type RelayIo } from '../../src/session/Relay.ts';
import { BatchedIo } from '../../src/net/native/BatchedIo.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import type { Session } from '../../src/session/Session.ts';
import { DtlsCertificate, DtlsEndpoint, isDtlsDatagram, type DtlsErrorCode } from '../../src/keying/dtls/index.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';
import { suiteByName, type SuiteName } from '../../src/crypto/suites.ts';
import { RelayError } from '../../src/errors.ts';
import { LibsrtpPeer, skipOrFail, skipReason, type LibsrtpSuite } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';

const LOOPBACK = '127.0.0.1';
/** Every wait in this file is bounded by this. */
const WAIT_MS = 5000;

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` (e.g. counters mirrored from a worker) until it holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** A datagram's first record is ChangeCipherSpec: that is a final flight ([CCS, Finished]). */
const isFinalFlight = (d: Uint8Array): boolean => d[0] === 20;

interface FarEndOptions {
  /** The far end's DTLS role (the opposite of the relay's). */
  role: 'client' | 'server';
  relayFingerprint: string;
  /** Profiles the far end accepts: this is how a test picks the negotiated one. */
  suites: SuiteName[];
  /** Return true to hold an outgoing DTLS datagram (see release()). */
  holdOut?: (d: Uint8Array) => boolean;
  /** Return true to lose an incoming DTLS datagram. */
  dropIn?: (d: Uint8Array) => boolean;
}

/**
 * The far end of the DTLS leg: one UDP socket carrying DTLS and SRTP (rtcp-mux), our own
 * DtlsEndpoint, and an SrtpSession per direction made from the keys it exported.
 */
class DtlsFarEnd {
  readonly socket: dgram.Socket;
  readonly endpoint: DtlsEndpoint;
  readonly certificate = DtlsCertificate.generate();
  /** Non-DTLS datagrams that arrived (SRTP/SRTCP from the relay). */
  readonly media: Buffer[] = [];
  /** Every DTLS datagram this end put on the wire, for replay attacks. */
  readonly sentDtls: Uint8Array[] = [];
  readonly held: Uint8Array[] = [];
  readonly connected: Promise<SuiteName>;
  tx: SrtpSession | null = null;
  rx: SrtpSession | null = null;
  relayPort = 0;
  #holding = true;
  #wake: (() => void)[] = [];

  private constructor(socket: dgram.Socket, o: FarEndOptions) {
    this.socket = socket;
    this.endpoint = new DtlsEndpoint({
      role: o.role, certificate: this.certificate, remoteFingerprints: [o.relayFingerprint],
      srtpPolicy: { suites: o.suites },
      // Short timers: the retransmission tests wait on them.
      initialRetransmitMs: 100, maxRetransmitMs: 400, handshakeTimeoutMs: WAIT_MS,
      send: (d) => {
        if (this.#holding && o.holdOut?.(d)) { this.held.push(Uint8Array.from(d)); return; }
        this.#transmit(d);
      },
    });
    this.connected = new Promise((resolve, reject) => {
      this.endpoint.once('connected', (keys) => {
        // Two sessions: DTLS-SRTP keys each direction separately, SrtpSession takes one key.
        this.tx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.localKey, masterSalt: keys.localSalt });
        this.rx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt });
        keys.wipe();
        resolve(keys.suite.name);
      });
      this.endpoint.once('error', reject);
    });
    // The failure tests expect this promise to reject; nobody may be listening then.
    this.connected.catch(() => {});
    socket.on('message', (msg, rinfo) => {
      if (isDtlsDatagram(msg)) {
        if (!o.dropIn?.(msg)) this.endpoint.handleDatagram(msg, `${rinfo.address}:${rinfo.port}`);
        return;
      }
      this.media.push(msg);
      for (const w of this.#wake.splice(0)) w();
    });
  }

  static async open(o: FarEndOptions): Promise<DtlsFarEnd> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, LOOPBACK, () => resolve()); });
    return new DtlsFarEnd(s, o);
  }

  get port(): number { return this.socket.address().port; }
  get fingerprint(): string { return this.certificate.fingerprint('sha-256'); }

  /** Starts the handshake towards the relay's stream port. */
  start(relayPort: number): void {
    this.relayPort = relayPort;
    this.endpoint.start();
  }

  /** Sends what holdOut held, and stops holding. */
  release(): void {
    this.#holding = false;
    for (const d of this.held.splice(0)) this.#transmit(d);
  }

  send(d: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(d, this.relayPort, LOOPBACK, (e) => (e ? reject(e) : resolve())));
  }

  async waitMedia(count: number): Promise<Buffer[]> {
    const deadline = Date.now() + WAIT_MS;
    while (this.media.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#wake.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.media;
  }

  async close(): Promise<void> {
    this.endpoint.close();
    this.tx?.close();
    this.rx?.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  #transmit(d: Uint8Array): void {
    this.sentDtls.push(Uint8Array.from(d));
    // Before start() a server does not know the relay's port yet; it learns it from the
    // ClientHello's source, like a real phone.
    this.socket.send(d, this.relayPort, LOOPBACK);
  }
}

interface DtlsCall {
  session: Session;
  /** SDES leg (far end: peerA). */
  a: MediaStreamHandle;
  /** DTLS leg (far end: far). */
  b: MediaStreamHandle;
  peerA: UdpPeer;
  far: DtlsFarEnd;
  /** Resolves with the negotiated suite when b emits dtlsconnected. */
  relayConnected: Promise<SuiteName>;
  /** Resolves with the code when b emits dtlserror. */
  relayError: Promise<DtlsErrorCode>;
  close(): Promise<void>;
}

let sessionSeq = 0;

/**
 * Builds SDES leg a ↔ DTLS leg b, both rtcp-mux. The relay side of the DTLS leg is started;
 * the far end is started too unless `startFar` is false.
 */
async function dtlsCall(relay: Relay, o: {
  relayRole: 'client' | 'server'; profile: SuiteName; sdes: { suite: SuiteName; aSends: Keys; relayToA: Keys };
  fingerprints?: string[]; holdOut?: (d: Uint8Array) => boolean; dropIn?: (d: Uint8Array) => boolean; startFar?: boolean;
}): Promise<DtlsCall> {
  const session = relay.createSession(`dtls-${++sessionSeq}`);
  const a = await session.addStream(session.createLeg('a'), { rtcpMux: true });
  const b = await session.addStream(session.createLeg('b'), { rtcpMux: true });
  linkStreams(a, b);
  const peerA = await UdpPeer.open();
  const far = await DtlsFarEnd.open({
    role: o.relayRole === 'server' ? 'client' : 'server', relayFingerprint: relay.dtlsFingerprint, suites: [o.profile],
    ...(o.holdOut ? { holdOut: o.holdOut } : {}), ...(o.dropIn ? { dropIn: o.dropIn } : {}),
  });
  a.setRemote({ address: LOOPBACK, port: peerA.port });
  a.setInboundCrypto({ suite: o.sdes.suite, ...copyKeys(o.sdes.aSends) });
  a.setOutboundCrypto({ suite: o.sdes.suite, ...copyKeys(o.sdes.relayToA) });
  b.setRemote({ address: LOOPBACK, port: far.port });
  const relayConnected = new Promise<SuiteName>((resolve) => b.once('dtlsconnected', (e) => resolve(e.suite)));
  const relayError = new Promise<DtlsErrorCode>((resolve) => b.once('dtlserror', (e) => resolve(e.code)));
  if (o.relayRole === 'client') {
    // The far server listens first, as a phone that answered a=setup:passive would.
    far.start(b.rtpPort.port);
    b.startDtls({ role: 'client', remoteFingerprints: o.fingerprints ?? [far.fingerprint] });
  } else {
    b.startDtls({ role: 'server', remoteFingerprints: o.fingerprints ?? [far.fingerprint] });
    if (o.startFar !== false) far.start(b.rtpPort.port);
  }
  return {
    session, a, b, peerA, far, relayConnected, relayError,
    close: async () => { session.close(); await peerA.close(); await far.close(); },
  };
}

interface Keys { masterKey: Uint8Array; masterSalt: Uint8Array }
const keysFor = (suite: SuiteName): Keys => {
  const s = suiteByName(suite)!;
  return { masterKey: randomBytes(s.keyLen), masterSalt: randomBytes(s.saltLen) };
};
const copyKeys = (k: Keys): Keys => ({ masterKey: k.masterKey.slice(), masterSalt: k.masterSalt.slice() });
const SDES_SUITE = 'AES_CM_128_HMAC_SHA1_80' as const satisfies LibsrtpSuite;
const PROFILES: SuiteName[] = ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'];

/** SDES far end made of our own SrtpSessions, for tests that do not need libsrtp2. */
function ownSdes(): { sdes: { suite: SuiteName; aSends: Keys; relayToA: Keys }; tx: SrtpSession; rx: SrtpSession; close(): void } {
  const aSends = keysFor(SDES_SUITE), relayToA = keysFor(SDES_SUITE);
  const tx = createSrtpSessionSync({ suite: SDES_SUITE, ...copyKeys(aSends) });
  const rx = createSrtpSessionSync({ suite: SDES_SUITE, ...copyKeys(relayToA) });
  return { sdes: { suite: SDES_SUITE, aSends, relayToA }, tx, rx, close: () => { tx.close(); rx.close(); } };
}

/**
 * The full call: handshake, then RTP both ways (30 and 20 packets) and one RTCP each way,
 * compared bit for bit, with libsrtp2 at the far end of the SDES leg.
 */
async function mediaBothWays(relay: Relay, lib: LibsrtpPeer, relayRole: 'client' | 'server', profile: SuiteName, id: string): Promise<void> {
  const aSends = keysFor(SDES_SUITE), relayToA = keysFor(SDES_SUITE);
  await lib.session(`${id}tx`, 'out', SDES_SUITE, aSends.masterKey, aSends.masterSalt);
  await lib.session(`${id}rx`, 'in', SDES_SUITE, relayToA.masterKey, relayToA.masterSalt);
  const c = await dtlsCall(relay, { relayRole, profile, sdes: { suite: SDES_SUITE, aSends, relayToA } });
  try {
    assert.equal(c.b.dtls, 'handshaking');
    const [relaySuite, farSuite] = await within(Promise.all([c.relayConnected, c.far.connected]), 'DTLS handshake');
    assert.equal(relaySuite, profile);
    assert.equal(farSuite, profile);
    assert.equal(c.b.dtls, 'connected');
    assert.equal(c.b.inMode, 'srtp');
    assert.equal(c.b.inSuite?.name, profile);
    assert.equal(c.b.outSuite?.name, profile);
    await until(() => c.b.latchedRtp?.port === c.far.port, 'latch mirrored');

    // A → B: libsrtp2 protects, the relay re-keys onto DTLS-SRTP, our far end unprotects.
    const sent: Uint8Array[] = [];
    for (let seq = 1000; seq < 1030; seq++) {
      const p = rtp({ seq, ssrc: 0xa11ce, payload: randomBytes(160) });
      sent.push(p);
      await c.peerA.send(await lib.protectRtp(`${id}tx`, p), c.a.rtpPort.port);
    }
    const atFar = await c.far.waitMedia(30);
    assert.equal(atFar.length, 30);
    atFar.forEach((g, i) => {
      assert.notDeepEqual(new Uint8Array(g).subarray(12, 172), sent[i]!.subarray(12), 'SRTP on the wire');
      assert.deepEqual(c.far.rx!.unprotectRtp(g), sent[i]);
    });

    // B → A: our far end protects with its exported key, libsrtp2 unprotects.
    const back: Uint8Array[] = [];
    for (let seq = 7; seq < 27; seq++) {
      const p = rtp({ seq, ssrc: 0xb0b, payload: randomBytes(120) });
      back.push(p);
      await c.far.send(c.far.tx!.protectRtp(p));
    }
    const atA = await c.peerA.waitFor(20);
    assert.equal(atA.length, 20);
    for (let i = 0; i < 20; i++) assert.deepEqual(await lib.unprotectRtp(`${id}rx`, atA[i]!), back[i]);

    // RTCP both ways on the muxed port.
    const rrB = rtcpRr(0xb0b, 8);
    await c.far.send(c.far.tx!.protectRtcp(rrB));
    const rrAtA = await c.peerA.waitFor(21);
    assert.deepEqual(await lib.unprotectRtcp(`${id}rx`, rrAtA[20]!), rrB);
    const rrA = rtcpRr(0xa11ce, 16);
    await c.peerA.send(await lib.protectRtcp(`${id}tx`, rrA), c.a.rtpPort.port);
    const rrAtB = await c.far.waitMedia(31);
    assert.deepEqual(c.far.rx!.unprotectRtcp(rrAtB[30]!), rrA);

    await relay.syncStats();
    assert.equal(c.b.stats.packetsIn, 21);
    assert.equal(c.b.stats.packetsOut, 31);
    assert.equal(c.b.stats.drops.noKeys, 0);
    assert.equal(c.b.stats.drops.notRtp, 0, 'DTLS datagrams are not counted as junk');
    assert.equal(c.b.dtlsStats.handshakes, 1);
    assert.ok(c.b.dtlsStats.datagramsIn >= 2 && c.b.dtlsStats.datagramsOut >= 1);
  } finally {
    await c.close();
  }
}

const nativeSkip = BatchedIo.available() || process.env.CI === 'true' ? false
  : `batched I/O unavailable (${BatchedIo.unavailableReason() ?? ''}): ${BatchedIo.buildCommand}`;

for (const io of ['dgram', 'native'] as const satisfies readonly RelayIo[]) describe(`DTLS-SRTP on a relay stream, io ${io}`, { skip: io === 'native' && nativeSkip }, () => {
  let relay: Relay;
  let lib: LibsrtpPeer | null = null;
  before(async () => {
    relay = await Relay.create({ io, ports: { min: 49000, max: 49399 } });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await relay.close(); await lib?.close(); });

  for (const relayRole of ['server', 'client'] as const) {
    for (const profile of PROFILES) {
      it(`SDES (libsrtp2) ↔ DTLS-SRTP, relay ${relayRole}, ${profile}: media both ways, bit-exact`, async (t) => {
        if (!lib) return skipOrFail(t, skipReason());
        await mediaBothWays(relay, lib, relayRole, profile, `${io}-${relayRole}-${profile}`);
      });
    }
  }

  for (const relayRole of ['server', 'client'] as const) {
    it(`wrong fingerprint (relay ${relayRole}): dtlserror E_DTLS_FINGERPRINT, no keys, no media`, async () => {
      const own = ownSdes();
      const stranger = DtlsCertificate.generate().fingerprint('sha-256');
      const c = await dtlsCall(relay, { relayRole, profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes, fingerprints: [stranger] });
      try {
        assert.equal(await within(c.relayError, 'dtlserror'), 'E_DTLS_FINGERPRINT');
        await assert.rejects(within(c.far.connected, 'far end outcome'));
        assert.equal(c.b.dtls, 'failed');
        assert.equal(c.b.inMode, 'pending');
        assert.equal(c.b.outMode, 'pending');
        assert.equal(c.b.latchedRtp, null);
        // Media either way goes nowhere: the SDES side's has no DTLS keys to go out with, and
        // the DTLS side's (under keys of the far end's choosing) is not even looked at.
        await c.peerA.send(own.tx.protectRtp(rtp({ seq: 1, ssrc: 1 })), c.a.rtpPort.port);
        const rogue = createSrtpSessionSync({ suite: 'AES_CM_128_HMAC_SHA1_80', ...keysFor('AES_CM_128_HMAC_SHA1_80') });
        await c.far.send(rogue.protectRtp(rtp({ seq: 1, ssrc: 2 })));
        rogue.close();
        assert.equal(await c.peerA.settle(), 0);
        assert.equal(c.far.media.length, 0);
        assert.equal(c.a.stats.drops.noKeys, 1);
        assert.equal(c.b.stats.drops.noKeys, 1);
        assert.equal(c.b.dtlsStats.failures, 1);
        assert.equal(c.b.dtlsStats.handshakes, 0);
      } finally { own.close(); await c.close(); }
    });
  }

  it('SRTP that beats the handshake is dropped and counted, and the call works afterwards', async () => {
    // Relay client, far server: the server has keys once the client's Finished arrives, and
    // a phone may start sending right then. Holding the server's final flight makes that
    // window as long as the test needs.
    const own = ownSdes();
    const c = await dtlsCall(relay, { relayRole: 'client', profile: 'AEAD_AES_128_GCM', sdes: own.sdes, holdOut: isFinalFlight });
    try {
      await within(c.far.connected, 'far end connected');
      await until(() => c.far.held.length > 0, 'final flight held');
      const early = [1, 2, 3, 4, 5].map((seq) => c.far.tx!.protectRtp(rtp({ seq, ssrc: 0xe, payload: randomBytes(80) })));
      for (const p of early) await c.far.send(p);
      assert.equal(await c.peerA.settle(), 0, 'nothing forwarded before the keys');
      assert.equal(c.b.dtls, 'handshaking');
      assert.equal(c.b.stats.drops.noKeys, 5);
      assert.equal(c.b.stats.drops.auth, 0, 'not even looked at');
      c.far.release();
      assert.equal(await within(c.relayConnected, 'relay connected'), 'AEAD_AES_128_GCM');
      const later: Uint8Array[] = [];
      for (let seq = 6; seq < 11; seq++) {
        const p = rtp({ seq, ssrc: 0xe, payload: randomBytes(80) });
        later.push(p);
        await c.far.send(c.far.tx!.protectRtp(p));
      }
      const atA = await c.peerA.waitFor(5);
      assert.equal(atA.length, 5);
      atA.forEach((g, i) => assert.deepEqual(own.rx.unprotectRtp(g), later[i]));
      // The early packets were never committed to the replay window: sent again now, they
      // authenticate and pass.
      await c.far.send(early[0]!);
      await c.peerA.waitFor(6);
      assert.equal(c.peerA.received.length, 6);
    } finally { own.close(); await c.close(); }
  });

  it('unauthenticated DTLS from a third address never moves the latch or draws our datagrams', async () => {
    const own = ownSdes();
    const intruder = await UdpPeer.open();
    const c = await dtlsCall(relay, { relayRole: 'server', profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes, startFar: false });
    try {
      const port = c.b.rtpPort.port;
      // Before the handshake: junk that looks like DTLS.
      await intruder.send(Uint8Array.from([22, 0xfe, 0xfd, ...randomBytes(40)]), port);
      c.far.start(port);
      await within(Promise.all([c.relayConnected, c.far.connected]), 'handshake');
      assert.equal(c.b.latchedRtp?.port, c.far.port);
      // After it: a replay of the far end's genuine datagrams (its final flight included),
      // and an unauthenticated epoch-0 close_notify.
      for (const d of c.far.sentDtls) await intruder.send(d, port);
      const closeNotify = Uint8Array.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 1, 0]);
      await intruder.send(closeNotify, port);
      await intruder.settle(300);
      assert.equal(c.b.latchedRtp?.port, c.far.port, 'latch moved on an unauthenticated DTLS datagram');
      assert.equal(intruder.received.length, 0, 'the relay answered the intruder');
      assert.equal(c.b.dtls, 'connected');
      // The call is unharmed.
      const p = rtp({ seq: 1, ssrc: 0xa, payload: randomBytes(60) });
      await c.peerA.send(own.tx.protectRtp(p), c.a.rtpPort.port);
      const [atFar] = await c.far.waitMedia(1);
      assert.deepEqual(c.far.rx!.unprotectRtp(atFar!), p);
      assert.equal(intruder.received.length, 0);
    } finally { own.close(); await intruder.close(); await c.close(); }
  });

  it('answers a retransmitted client flight when its final flight was lost; close_notify leaves the keys', async () => {
    let lost = 0;
    const own = ownSdes();
    const c = await dtlsCall(relay, {
      relayRole: 'server', profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes,
      dropIn: (d) => isFinalFlight(d) && lost++ === 0,
    });
    try {
      await within(Promise.all([c.relayConnected, c.far.connected]), 'handshake despite the lost flight');
      assert.equal(lost, 2, 'the relay sent its final flight again');
      c.far.endpoint.close(); // close_notify, authenticated
      await sleep(100);
      assert.equal(c.b.dtls, 'connected');
      const p = rtp({ seq: 3, ssrc: 0xc, payload: randomBytes(40) });
      await c.far.send(c.far.tx!.protectRtp(p));
      const [atA] = await c.peerA.waitFor(1);
      assert.deepEqual(own.rx.unprotectRtp(atA!), p);
    } finally { own.close(); await c.close(); }
  });
});

describe('DTLS-SRTP with media workers', () => {
  let relay: Relay;
  let lib: LibsrtpPeer | null = null;
  before(async () => {
    relay = await Relay.create({ workers: 1, ports: { min: 49500, max: 49999 } });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await relay.close(); await lib?.close(); });

  for (const [relayRole, profile] of [['server', 'AES_CM_128_HMAC_SHA1_80'], ['client', 'AEAD_AES_128_GCM']] as const) {
    it(`SDES (libsrtp2) ↔ DTLS-SRTP in a worker, relay ${relayRole}, ${profile}`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      await mediaBothWays(relay, lib, relayRole, profile, `w-${relayRole}-${profile}`);
    });
  }

  it('wrong fingerprint in a worker: dtlserror crosses the thread, no media', async () => {
    const own = ownSdes();
    const c = await dtlsCall(relay, {
      relayRole: 'server', profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes,
      fingerprints: [DtlsCertificate.generate().fingerprint('sha-256')],
    });
    try {
      assert.equal(await within(c.relayError, 'dtlserror'), 'E_DTLS_FINGERPRINT');
      assert.equal(c.b.dtls, 'failed');
      await c.peerA.send(own.tx.protectRtp(rtp({ seq: 1, ssrc: 1 })), c.a.rtpPort.port);
      assert.equal(await c.peerA.settle(), 0);
      assert.equal(c.far.media.length, 0);
      await until(async () => { await relay.syncStats(); return c.b.dtlsStats.failures === 1; }, 'failure counted');
      assert.equal(c.a.stats.drops.noKeys, 1);
    } finally { own.close(); await c.close(); }
  });
});

describe('DTLS-SRTP API edges', () => {
  it('a PEM certificate from the options is the one advertised; a bad one is refused', async () => {
    const cert = DtlsCertificate.generate({ commonName: 'operator' });
    const r = await Relay.create({ ports: { min: 49400, max: 49409 }, dtlsCertificate: { certPem: cert.toPem(), keyPem: cert.exportPrivateKeyPem() } });
    try {
      assert.equal(r.dtlsFingerprint, cert.fingerprint('sha-256'));
      assert.match(r.dtlsFingerprint, /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    } finally { await r.close(); }
    const other = DtlsCertificate.generate();
    await assert.rejects(Relay.create({ dtlsCertificate: { certPem: cert.toPem(), keyPem: other.exportPrivateKeyPem() } }),
      (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST' && !/PRIVATE KEY/.test(e.message));
  });

  it('startDtls: unusable fingerprints are E_BAD_SDP, a second start E_INVALID_STATE, an upper-case hash name is fine', async () => {
    const r = await Relay.create({ ports: { min: 49410, max: 49429 } });
    try {
      const s = r.createSession('edges');
      const st = await s.addStream(s.createLeg('a'), { rtcpMux: true });
      assert.equal(st.dtls, 'none');
      assert.throws(() => st.setRemoteFingerprints(['sha-256 00']), (e: unknown) => e instanceof RelayError && e.code === 'E_INVALID_STATE');
      const sha1 = `sha-1 ${Array.from({ length: 20 }, () => 'AB').join(':')}`;
      assert.throws(() => st.startDtls({ role: 'server', remoteFingerprints: [sha1] }), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_SDP');
      assert.equal(st.dtls, 'none', 'a refused start changes nothing');
      // baresip writes SHA-256; a refused sha-1 next to it is ignored.
      const fp = DtlsCertificate.generate().fingerprint('sha-256').replace('sha-256', 'SHA-256');
      st.startDtls({ role: 'server', remoteFingerprints: [sha1, fp] });
      assert.equal(st.dtls, 'handshaking');
      assert.equal(st.inMode, 'pending');
      assert.throws(() => st.startDtls({ role: 'server', remoteFingerprints: [fp] }), (e: unknown) => e instanceof RelayError && e.code === 'E_INVALID_STATE');
      s.close();
    } finally { await r.close(); }
  });

  it('no room for the SRTP contexts: dtlserror E_DTLS_INTERNAL, the stream stays pending', async () => {
    // Two contexts: the SDES leg takes both, so the DTLS leg's keys cannot be installed.
    const r = await Relay.create({ ports: { min: 49450, max: 49469 }, core: { maxContexts: 2 } });
    const own = ownSdes();
    const c = await dtlsCall(r, { relayRole: 'server', profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes });
    try {
      assert.equal(await within(c.relayError, 'dtlserror'), 'E_DTLS_INTERNAL');
      assert.equal(c.b.dtls, 'failed');
      assert.equal(c.b.inMode, 'pending');
      assert.equal(c.b.outMode, 'pending');
      assert.equal(c.b.latchedRtp, null);
      assert.equal(r.core.liveContexts, 2, 'the half-made context was destroyed');
    } finally { own.close(); await c.close(); await r.close(); }
  });

  // Known gap, in DtlsEndpoint rather than the relay glue: before the peer speaks epoch 1 the
  // endpoint acts on epoch-0 alerts, which anyone can spoof, so one 15-byte datagram from any
  // address ends the stream's handshake. Marked todo until the endpoint ignores them (or
  // binds to the cookie-verified source); then drop the todo.
  it('a spoofed epoch-0 close_notify before the handshake does not end it', async () => {
    const r = await Relay.create({ ports: { min: 49470, max: 49489 } });
    const intruder = await UdpPeer.open();
    try {
      const s = r.createSession('spoof');
      const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
      b.startDtls({ role: 'server', remoteFingerprints: [DtlsCertificate.generate().fingerprint('sha-256')] });
      await intruder.send(Uint8Array.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 1, 0]), b.rtpPort.port);
      await intruder.settle(200);
      assert.equal(b.dtls, 'handshaking');
      s.close();
    } finally { await intruder.close(); await r.close(); }
  });

  it('fingerprint known only later (media before the answer): keys wait for setRemoteFingerprints', async () => {
    const r = await Relay.create({ ports: { min: 49430, max: 49449 } });
    const own = ownSdes();
    const c = await dtlsCall(r, { relayRole: 'server', profile: 'AES_CM_128_HMAC_SHA1_80', sdes: own.sdes, fingerprints: [] });
    try {
      await within(c.far.connected, 'far end connected');
      await sleep(50);
      assert.equal(c.b.dtls, 'handshaking', 'no keys without a verified fingerprint');
      assert.equal(c.b.inMode, 'pending');
      c.b.setRemoteFingerprints([c.far.fingerprint]);
      assert.equal(await within(c.relayConnected, 'relay connected'), 'AES_CM_128_HMAC_SHA1_80');
      assert.equal(c.b.latchedRtp?.port, c.far.port);
      const p = rtp({ seq: 1, ssrc: 0xd, payload: randomBytes(40) });
      await c.far.send(c.far.tx!.protectRtp(p));
      const [atA] = await c.peerA.waitFor(1);
      assert.deepEqual(own.rx.unprotectRtp(atA!), p);
    } finally { own.close(); await c.close(); await r.close(); }
  });
});
