// DTLS-SRTP keys for call-state replication: a stream hands out copies of its handshake's keys
// only when asked (StartDtlsOptions.exportKeys, in-thread and in a worker) and zeroes them when
// the listeners return; the controller asks only when replication wants them; `keepKeys` lets
// restored keys carry media until a new handshake replaces them. The record's DTLS fields
// round-trip and refuse hostile input. In process, two relays sharing one store: a call whose
// DTLS side completed its handshake on A is taken over by B on the sealed keys, and a re-INVITE
// from the *other* (SDES) side makes B offer actpass with its own fingerprint and re-key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import dgram from 'node:dgram';
import { Relay } from '../../src/session/Relay.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import type { DtlsExportedKeys } from '../../src/session/StreamDtls.ts';
import { CallController, type CallReplicationHooks } from '../../src/control/CallController.ts';
import type { SideState } from '../../src/control/CallState.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { DtlsCertificate, DtlsEndpoint, isDtlsDatagram } from '../../src/keying/dtls/index.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';
import type { SuiteName } from '../../src/crypto/suites.ts';
import { MemoryStateStore } from '../../src/ha/CallStateStore.ts';
import { Replicator } from '../../src/ha/Replicator.ts';
import { StateSealer } from '../../src/ha/StateSealer.ts';
import { decodeCallRecord, encodeRecord, RECORD_VERSION, type CallRecord, type SideRecord } from '../../src/ha/callRecord.ts';
import { openKey, sealStreamCrypto } from '../../src/ha/sealedKeys.ts';
import { restoreCall } from '../../src/ha/restore.ts';
import { HaError } from '../../src/ha/HaError.ts';
import { RelayError } from '../../src/errors.ts';
import { Logger } from '../../src/Logger.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 5000;
const SDES = 'AES_CM_128_HMAC_SHA1_80' as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const silent = new Logger({ write: () => {} });
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Keys of one association as the far end sees them (copies it owns). */
interface FarKeys { suite: SuiteName; localKey: Buffer; localSalt: Buffer; remoteKey: Buffer; remoteSalt: Buffer }

/** A DTLS-SRTP far end: one muxed socket; each handshake() is a new association (same certificate). */
class FarEnd {
  readonly certificate = DtlsCertificate.generate();
  readonly media: Buffer[] = [];
  tx: SrtpSession | null = null;
  rx: SrtpSession | null = null;
  #endpoint: DtlsEndpoint | null = null;
  #relay = { address: LOOPBACK, port: 0 };
  readonly #early: { msg: Buffer; from: string }[] = [];
  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      if (!isDtlsDatagram(msg)) { this.media.push(msg); return; }
      if (this.#endpoint === null) this.#early.push({ msg, from });
      else this.#endpoint.handleDatagram(msg, from);
    });
  }
  static async open(): Promise<FarEnd> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, LOOPBACK, () => r()));
    return new FarEnd(s);
  }
  get port(): number { return this.socket.address().port; }
  get fingerprint(): string { return this.certificate.fingerprint('sha-256'); }

  /** Runs a new association with the relay at `relay`; resolves with copies of its keys. */
  handshake(role: 'client' | 'server', relayFingerprint: string, relay: { address: string; port: number }): Promise<FarKeys> {
    this.#endpoint?.close();
    this.#relay = relay;
    const ep = new DtlsEndpoint({
      role, certificate: this.certificate, remoteFingerprints: [relayFingerprint],
      initialRetransmitMs: 100, maxRetransmitMs: 400, handshakeTimeoutMs: WAIT_MS,
      send: (d) => this.socket.send(d, this.#relay.port, this.#relay.address),
    });
    this.#endpoint = ep;
    const done = new Promise<FarKeys>((resolve, reject) => {
      ep.once('connected', (k) => {
        const keys = { suite: k.suite.name, localKey: Buffer.from(k.localKey), localSalt: Buffer.from(k.localSalt), remoteKey: Buffer.from(k.remoteKey), remoteSalt: Buffer.from(k.remoteSalt) };
        this.tx?.close(); this.rx?.close();
        this.tx = createSrtpSessionSync({ suite: keys.suite, masterKey: keys.localKey, masterSalt: keys.localSalt });
        this.rx = createSrtpSessionSync({ suite: keys.suite, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt });
        k.wipe();
        resolve(keys);
      });
      ep.once('error', reject);
    });
    ep.start();
    for (const e of this.#early.splice(0)) ep.handleDatagram(e.msg, e.from);
    return within(done, 'far-end handshake');
  }
  /** Where media goes before any handshake (a peer carrying on with keys of an earlier association). */
  aim(relay: { address: string; port: number }): void { this.#relay = relay; }
  send(d: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(d, this.#relay.port, this.#relay.address, (e) => (e ? reject(e) : resolve())));
  }
  async close(): Promise<void> {
    this.#endpoint?.close();
    this.tx?.close(); this.rx?.close();
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** The exported keys as the relay sees them must mirror the far end's. */
function assertMirror(k: { inbound: { masterKey: Uint8Array; masterSalt: Uint8Array }; outbound: { masterKey: Uint8Array; masterSalt: Uint8Array } }, far: FarKeys): void {
  assert.deepEqual(Buffer.from(k.inbound.masterKey), far.localKey);
  assert.deepEqual(Buffer.from(k.inbound.masterSalt), far.localSalt);
  assert.deepEqual(Buffer.from(k.outbound.masterKey), far.remoteKey);
  assert.deepEqual(Buffer.from(k.outbound.masterSalt), far.remoteSalt);
}

for (const workers of [0, 1]) describe(`exported DTLS keys on a stream (${workers} media workers)`, () => {
  let relay: Relay;
  let seq = 0;
  before(async () => { relay = await Relay.create({ workers, ports: { min: 45_200 + workers * 100, max: 45_299 + workers * 100 } }); });
  after(async () => { await relay.close(); });

  const pair = async (): Promise<{ a: MediaStreamHandle; b: MediaStreamHandle; peerA: UdpPeer; far: FarEnd; close: () => Promise<void> }> => {
    const session = relay.createSession(`keys-${workers}-${++seq}`);
    const a = await session.addStream(session.createLeg('a'), { rtcpMux: true });
    const b = await session.addStream(session.createLeg('b'), { rtcpMux: true });
    linkStreams(a, b);
    const peerA = await UdpPeer.open();
    const far = await FarEnd.open();
    a.setRemote({ address: LOOPBACK, port: peerA.port });
    a.setInboundCrypto(null);
    a.setOutboundCrypto(null);
    b.setRemote({ address: LOOPBACK, port: far.port });
    return { a, b, peerA, far, close: async () => { session.close(); await peerA.close(); await far.close(); } };
  };

  it('without exportKeys no key leaves the handshake', async () => {
    const c = await pair();
    try {
      let events = 0;
      c.b.on('dtlskeys', () => { events++; });
      const connected = new Promise((r) => c.b.once('dtlsconnected', r));
      c.b.startDtls({ role: 'server', remoteFingerprints: [c.far.fingerprint] });
      await c.far.handshake('client', relay.dtlsFingerprint, { address: LOOPBACK, port: c.b.rtpPort.port });
      await within(connected, 'relay connected');
      await sleep(100);
      assert.equal(events, 0);
    } finally { await c.close(); }
  });

  it('with exportKeys: one event with the installed keys, before dtlsconnected, zeroed when the listeners return', async () => {
    const c = await pair();
    try {
      const seen: DtlsExportedKeys[] = [];
      const copies: { inbound: { masterKey: Buffer; masterSalt: Buffer }; outbound: { masterKey: Buffer; masterSalt: Buffer } }[] = [];
      let connectedFirst = false;
      const seenAtEvent: { mode: string; json: string; shown: string }[] = [];
      c.b.on('dtlskeys', (k) => {
        seen.push(k);
        copies.push({ inbound: { masterKey: Buffer.from(k.inbound.masterKey), masterSalt: Buffer.from(k.inbound.masterSalt) },
          outbound: { masterKey: Buffer.from(k.outbound.masterKey), masterSalt: Buffer.from(k.outbound.masterSalt) } });
        seenAtEvent.push({ mode: c.b.inMode, json: JSON.stringify(k), shown: inspect(k, { depth: 5 }) });
      });
      const connected = new Promise<void>((r) => c.b.once('dtlsconnected', () => { connectedFirst = seen.length === 0; r(); }));
      c.b.startDtls({ role: 'server', remoteFingerprints: [c.far.fingerprint], exportKeys: true });
      const far = await c.far.handshake('client', relay.dtlsFingerprint, { address: LOOPBACK, port: c.b.rtpPort.port });
      await within(connected, 'relay connected');
      await sleep(100);
      assert.equal(seen.length, 1);
      assert.equal(connectedFirst, false, 'dtlskeys comes before dtlsconnected');
      assert.equal(seenAtEvent[0]!.mode, 'srtp', 'the keys are installed when they are handed out');
      // Logged or serialised by mistake, the event shows no key material.
      assert.equal(seenAtEvent[0]!.json, '"[DtlsExportedKeys: redacted]"');
      assert.equal(seenAtEvent[0]!.shown, '[DtlsExportedKeys: redacted]');
      assert.equal(seen[0]!.inbound.suite, far.suite);
      assertMirror(copies[0]!, far);
      for (const b of [seen[0]!.inbound.masterKey, seen[0]!.inbound.masterSalt, seen[0]!.outbound.masterKey, seen[0]!.outbound.masterSalt]) {
        assert.ok(isZero(b), 'zeroed once the listeners returned');
      }
    } finally { await c.close(); }
  });

  it('keepKeys: the current contexts carry media until the new handshake installs its keys', async () => {
    const c = await pair();
    try {
      // Keys as a takeover restores them (what an earlier association exported).
      const old = { key: randomBytes(16), salt: randomBytes(14) };
      const oldOut = { key: randomBytes(16), salt: randomBytes(14) };
      c.b.setInboundCrypto({ suite: SDES, masterKey: Uint8Array.from(old.key), masterSalt: Uint8Array.from(old.salt) });
      c.b.setOutboundCrypto({ suite: SDES, masterKey: Uint8Array.from(oldOut.key), masterSalt: Uint8Array.from(oldOut.salt) });
      const oldTx = createSrtpSessionSync({ suite: SDES, masterKey: old.key, masterSalt: old.salt });
      const oldRx = createSrtpSessionSync({ suite: SDES, masterKey: oldOut.key, masterSalt: oldOut.salt });
      let n = 1;
      const toA = async (tx: SrtpSession): Promise<boolean> => {
        const before = c.peerA.received.length;
        const p = rtp({ seq: n++, ssrc: 0xfa, payload: randomBytes(40) });
        await c.far.send(tx.protectRtp(p));
        await c.peerA.waitFor(before + 1, 500);
        return c.peerA.received.length === before + 1 && c.peerA.received.at(-1)!.msg.equals(Buffer.from(p));
      };
      const toFar = async (rx: SrtpSession): Promise<boolean> => {
        const before = c.far.media.length;
        const p = rtp({ seq: n++, ssrc: 0xaa, payload: randomBytes(40) });
        await c.peerA.send(p, c.a.rtpPort.port);
        const deadline = Date.now() + 500;
        while (c.far.media.length === before && Date.now() < deadline) await sleep(10);
        return c.far.media.length === before + 1 && Buffer.from(rx.unprotectRtp(c.far.media.at(-1)!)).equals(Buffer.from(p));
      };
      c.far.aim({ address: LOOPBACK, port: c.b.rtpPort.port });
      assert.ok(await toA(oldTx), 'restored keys carry media in');
      assert.ok(await toFar(oldRx), 'restored keys carry media out');
      const connected = new Promise((r) => c.b.once('dtlsconnected', r));
      c.b.startDtls({ role: 'server', remoteFingerprints: [c.far.fingerprint], keepKeys: true });
      assert.equal(c.b.inMode, 'srtp');
      assert.equal(c.b.outMode, 'srtp');
      assert.ok(await toA(oldTx), 'restored keys still carry media while the handshake has not run');
      assert.ok(await toFar(oldRx));
      await c.far.handshake('client', relay.dtlsFingerprint, { address: LOOPBACK, port: c.b.rtpPort.port });
      await within(connected, 'relay connected');
      await sleep(50);
      assert.ok(await toA(c.far.tx!), 'new keys in');
      assert.ok(await toFar(c.far.rx!), 'new keys out');
      assert.equal(await toA(oldTx), false, 'the restored keys are gone once the new ones are installed');
      oldTx.close(); oldRx.close();
    } finally { await c.close(); }
  });

  it('without keepKeys a started handshake stops the current keys at once', async () => {
    const c = await pair();
    try {
      c.b.setInboundCrypto({ suite: SDES, masterKey: randomBytes(16), masterSalt: randomBytes(14) });
      c.b.setOutboundCrypto({ suite: SDES, masterKey: randomBytes(16), masterSalt: randomBytes(14) });
      c.b.startDtls({ role: 'server', remoteFingerprints: [c.far.fingerprint] });
      assert.equal(c.b.inMode, 'pending');
      assert.equal(c.b.outMode, 'pending');
    } finally { await c.close(); }
  });
});

// ------------------------------------------------------------------ through the controller

const sdesSdp = (port: number, tag: number, key: Buffer, proto = 'RTP/SAVP'): string =>
  `${['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} ${proto} 0`, 'a=rtpmap:0 PCMU/8000',
    'a=rtcp-mux', 'a=sendrecv', `a=crypto:${tag} ${SDES} inline:${key.toString('base64')}`].join('\r\n')}\r\n`;
const dtlsSdp = (port: number, fingerprint: string, setup: string): string =>
  `${['v=0', 'o=- 2 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} UDP/TLS/RTP/SAVP 0`, 'a=rtpmap:0 PCMU/8000',
    'a=rtcp-mux', 'a=sendrecv', `a=fingerprint:${fingerprint}`, `a=setup:${setup}`].join('\r\n')}\r\n`;
const offerReq = (callId: string, body: string, extra: Record<string, unknown> = {}): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'ft', sdp: body, ...extra }) as NgOfferRequest;
const answerReq = (callId: string, body: string): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'ft', 'to-tag': 'tt', sdp: body }) as NgAnswerRequest;
const mPort = (s: string): number => Number(/^m=audio (\d+) /m.exec(s)![1]);
const setupIn = (s: string): string | null => /^a=setup:(\S+)\r$/m.exec(s)?.[1] ?? null;
const fingerprintIn = (s: string): string | null => /^a=fingerprint:(.+)\r$/m.exec(s)?.[1] ?? null;
function relayCrypto(s: string): { tag: number; key: Buffer; salt: Buffer } {
  const m = new RegExp(`^a=crypto:(\\d+) ${SDES} inline:([A-Za-z0-9+/=]+)\\r$`, 'm').exec(s);
  assert.ok(m, s);
  const b = Buffer.from(m[2]!, 'base64');
  return { tag: Number(m[1]), key: b.subarray(0, 16), salt: b.subarray(16, 30) };
}

/** SDES offerer 'ft' → DTLS answerer 'tt' (a=setup:active: the relay is the server). Returns the relay's DTLS port and its SDES key to ft. */
async function sdesToDtls(ctl: CallController, callId: string, ftPort: number, far: FarEnd): Promise<{ dtlsPort: number; sdesPort: number; toFt: { key: Buffer; salt: Buffer }; ftKey: Buffer }> {
  const ftKey = randomBytes(30);
  const offer = await ctl.offer(offerReq(callId, sdesSdp(ftPort, 1, ftKey), { 'transport-protocol': 'UDP/TLS/RTP/SAVP' }));
  const answer = await ctl.answer(answerReq(callId, dtlsSdp(far.port, far.fingerprint, 'active')));
  return { dtlsPort: mPort(offer.sdp), sdesPort: mPort(answer.sdp), toFt: relayCrypto(answer.sdp), ftKey };
}

describe('the controller asks streams for their DTLS keys only for replication', () => {
  let relay: Relay;
  const sessions: { legs: { streams: MediaStreamHandle[] }[] }[] = [];
  before(async () => {
    relay = await Relay.create({ ports: { min: 45_400, max: 45_499 } });
    const create = relay.createSession.bind(relay);
    relay.createSession = ((id: string) => { const s = create(id); sessions.push(s); return s; }) as typeof relay.createSession;
  });
  after(async () => { await relay.close(); });

  for (const withHooks of [false, true]) it(withHooks ? 'with replication: the hook gets the keys once per handshake, zeroed after it returns' : 'without replication: no dtlskeys event at all', async () => {
    const got: { side: SideState; k: DtlsExportedKeys; copy: Buffer }[] = [];
    const hooks: CallReplicationHooks = {
      committed: () => {}, deleted: () => {}, inboundKey: () => {},
      dtlsKeys: (_id, side, k) => { got.push({ side, k, copy: Buffer.concat([k.inbound.masterKey, k.outbound.masterKey]) }); },
    };
    const ctl = new CallController({ relay, ...(withHooks ? { replication: hooks } : {}) });
    const far = await FarEnd.open();
    const id = `ctl-${String(withHooks)}`;
    try {
      const { dtlsPort } = await sdesToDtls(ctl, id, 40_000, far);
      const stream = sessions.at(-1)!.legs.flatMap((l) => l.streams).find((x) => x.rtpPort.port === dtlsPort)!;
      assert.equal(stream.dtls, 'handshaking');
      let events = 0;
      stream.on('dtlskeys', () => { events++; });
      const connected = new Promise((r) => stream.once('dtlsconnected', r));
      const keys = await far.handshake('client', relay.dtlsFingerprint, { address: LOOPBACK, port: dtlsPort });
      await within(connected, 'relay connected');
      await sleep(50);
      assert.equal(events, withHooks ? 1 : 0);
      assert.equal(got.length, withHooks ? 1 : 0);
      if (withHooks) {
        assert.equal(got[0]!.side.stream, stream);
        assert.deepEqual(got[0]!.copy, Buffer.concat([keys.localKey, keys.remoteKey]));
        assert.ok(isZero(got[0]!.k.inbound.masterKey) && isZero(got[0]!.k.outbound.masterSalt));
      }
    } finally { ctl.delete({ callId: id }); await far.close(); }
  });
});

// ------------------------------------------------------------------ record fields

describe('DTLS fields of call records', () => {
  const sealer = new StateSealer(randomBytes(32));
  const bind = { node: 'A', callId: 'c1', field: 'in:30000' };
  const dtlsSide = (leg: number, port: number, keys: boolean): SideRecord => ({
    leg, rtpPort: port, rtcpPort: null, rtcpMux: true, strictSource: false, protocol: 'UDP/TLS/RTP/SAVP',
    remoteRtp: { address: '127.0.0.1', port: 4000 }, remoteRtcp: null, latchedRtp: { address: '127.0.0.1', port: 4000 }, latchedRtcp: null,
    inMode: keys ? 'srtp' : 'pending', outMode: keys ? 'srtp' : 'pending',
    inKey: keys ? sealStreamCrypto(sealer, { suite: 'AEAD_AES_256_GCM', masterKey: randomBytes(32), masterSalt: randomBytes(12) }, { ...bind, field: `in:${port}` }) : null,
    outKey: keys ? sealStreamCrypto(sealer, { suite: 'AEAD_AES_256_GCM', masterKey: randomBytes(32), masterSalt: randomBytes(12) }, { ...bind, field: `out:${port}` }) : null,
    outTag: 0, outPadded: true, dtls: true,
    dtlsPeer: { role: 'server', fingerprints: [DtlsCertificate.generate().fingerprint('sha-256').replace(/ (.*)$/, (_, h: string) => ` ${h.toUpperCase()}`)], setup: 'active' },
  });
  const plainSide = (leg: number, port: number): SideRecord => ({ ...dtlsSide(leg, port, false), inMode: 'plain', outMode: 'plain', dtls: false, dtlsPeer: null, protocol: 'RTP/AVP' });
  const record = (keys: boolean): CallRecord => ({
    v: RECORD_VERSION, callId: 'c1', node: 'A', at: 5, created: 1,
    legs: [{ tag: 'ft', sipTag: 'ft', interface: null }, { tag: 'tt', sipTag: 'tt', interface: null }],
    media: [{ type: 'audio', sides: [plainSide(0, 30002), dtlsSide(1, 30000, keys)] }],
  });
  const isRecordError = (e: unknown): boolean => e instanceof HaError && e.code === 'E_HA_RECORD';

  it('round-trip; a record without dtlsPeer (older writer) still decodes', () => {
    const r = record(true);
    const back = decodeCallRecord(encodeRecord(r));
    assert.deepEqual(back.media[0]!.sides[1], r.media[0]!.sides[1]);
    const old = JSON.parse(encodeRecord(r)) as { media: { sides: Record<string, unknown>[] }[] };
    delete old.media[0]!.sides[1]!.dtlsPeer;
    assert.equal(decodeCallRecord(JSON.stringify(old)).media[0]!.sides[1]!.dtlsPeer, undefined);
  });

  it('refuses a malformed dtlsPeer', () => {
    const mutate = (f: (p: Record<string, unknown>) => void): string => {
      const o = JSON.parse(encodeRecord(record(true))) as { media: { sides: { dtlsPeer: Record<string, unknown> }[] }[] };
      f(o.media[0]!.sides[1]!.dtlsPeer);
      return JSON.stringify(o);
    };
    for (const text of [
      mutate((p) => { p.role = 'both'; }), mutate((p) => { p.setup = 'holdconn'; }), mutate((p) => { p.fingerprints = 'sha-256 AA'; }),
      mutate((p) => { p.fingerprints = ['sha-256 aa:bb']; }), mutate((p) => { p.fingerprints = Array(9).fill('sha-256 AA:BB'); }),
      mutate((p) => { p.fingerprints = ['sha-256 AA:BB\r\na=evil']; }),
    ]) assert.throws(() => decodeCallRecord(text), isRecordError, text.slice(-120));
  });

  it('exported keys seal as stored keys: they open (suite, key, salt) only under their own binding', () => {
    const key = randomBytes(32), salt = randomBytes(12);
    const sealed = sealStreamCrypto(sealer, { suite: 'AEAD_AES_256_GCM', masterKey: key, masterSalt: salt }, bind);
    assert.ok(!JSON.stringify(sealed).includes(key.toString('base64')));
    const opened = openKey(sealer, sealed, bind);
    assert.equal(opened.suite.name, 'AEAD_AES_256_GCM');
    assert.deepEqual(Buffer.from(opened.keys[0]!.key), key);
    assert.deepEqual(Buffer.from(opened.keys[0]!.salt), salt);
    assert.throws(() => openKey(sealer, sealed, { ...bind, field: 'out:30000' }), (e: unknown) => e instanceof HaError && e.code === 'E_HA_UNSEAL');
  });

  it('a DTLS side whose handshake had not completed is not taken over (nothing bound)', async () => {
    let adopted = false;
    await assert.rejects(
      restoreCall({ adopt: async () => { adopted = true; throw new Error('not reached'); } }, record(false), null, sealer, () => {}),
      (e: unknown) => e instanceof HaError && e.code === 'E_HA_TAKEOVER' && /handshake not completed/.test(e.message),
    );
    assert.equal(adopted, false);
  });
});

// ------------------------------------------------------------------ takeover in process

describe('DTLS side taken over in process; a re-INVITE from the SDES side re-keys it', () => {
  const shared = new MemoryStateStore();
  const KEY = randomBytes(32);
  let relayA: Relay, relayB: Relay, ctlA: CallController, ctlB: CallController, repA: Replicator, repB: Replicator;
  before(async () => {
    relayA = await Relay.create({ mediaAddress: '127.0.0.1', ports: { min: 45_500, max: 45_599 } });
    relayB = await Relay.create({ mediaAddress: '127.0.0.2', ports: { min: 45_500, max: 45_599 } });
    repA = new Replicator({ node: 'A', store: shared, sealer: new StateSealer(KEY), log: silent, peers: ['B'] });
    repB = new Replicator({ node: 'B', store: shared, sealer: new StateSealer(KEY), log: silent, peers: ['A'] });
    ctlA = new CallController({ relay: relayA, replication: repA });
    ctlB = new CallController({ relay: relayB, replication: repB });
    await repA.start(ctlA);
    await repB.start(ctlB);
  });
  after(async () => {
    for (const r of [repA, repB]) await r.close().catch(() => {});
    await relayA.close();
    await relayB.close();
    await shared.close();
  });

  it('B carries media on A\'s exported keys, offers actpass with its own fingerprint, and re-keys when the DTLS side answers', async () => {
    const ft = await UdpPeer.open();
    const far = await FarEnd.open();
    const id = 'dtls-ho';
    try {
      const { dtlsPort, sdesPort, toFt, ftKey } = await sdesToDtls(ctlA, id, ft.port, far);
      const k1 = await far.handshake('client', relayA.dtlsFingerprint, { address: '127.0.0.1', port: dtlsPort });
      const dtlsField = (r: CallRecord): SideRecord => r.media[0]!.sides.find((s) => s.dtls)!;
      await new Promise((r) => setTimeout(r, 100));
      const recA = decodeCallRecord((await shared.get(`srtpgate:call:A:${id}`))!);
      const sideA = dtlsField(recA);
      assert.ok(sideA.inKey !== null && sideA.outKey !== null, 'A stored the exported keys');
      assert.deepEqual(sideA.dtlsPeer, { role: 'server', fingerprints: [far.fingerprint.replace(/ (.*)$/, (_, h: string) => ` ${h.toUpperCase()}`)], setup: 'active' });
      const inA = openKey(new StateSealer(KEY), sideA.inKey!, { node: 'A', callId: id, field: `in:${sideA.rtpPort}` });
      assert.deepEqual(Buffer.from(inA.keys[0]!.key), k1.localKey);

      // A dies; B takes over on 127.0.0.2, same ports.
      await repA.close();
      await relayA.close();
      const result = await repB.takeover('A');
      assert.deepEqual([result.calls, result.failed], [1, 0]);
      const recB = decodeCallRecord((await shared.get(`srtpgate:call:B:${id}`))!);
      const sideB = dtlsField(recB);
      const inB = openKey(new StateSealer(KEY), sideB.inKey!, { node: 'B', callId: id, field: `in:${sideB.rtpPort}` });
      assert.deepEqual(Buffer.from(inB.keys[0]!.key), k1.localKey, 'B re-sealed the same keys under its own name');

      // Media on the restored keys: far → ft, ft → far.
      const ftTx = createSrtpSessionSync({ suite: SDES, masterKey: ftKey.subarray(0, 16), masterSalt: ftKey.subarray(16) });
      const ftRx = createSrtpSessionSync({ suite: SDES, masterKey: toFt.key, masterSalt: toFt.salt });
      far.aim({ address: '127.0.0.2', port: dtlsPort });
      let n = 1;
      const both = async (what: string): Promise<void> => {
        const p = rtp({ seq: n++, ssrc: 0xfa, payload: randomBytes(40) });
        const before = ft.received.length;
        await far.send(far.tx!.protectRtp(p));
        await ft.waitFor(before + 1, 1000);
        assert.equal(ft.received.length, before + 1, `${what}: DTLS → SDES`);
        assert.deepEqual(Buffer.from(ftRx.unprotectRtp(ft.received.at(-1)!.msg)), Buffer.from(p));
        const q = rtp({ seq: n++, ssrc: 0xf7, payload: randomBytes(40) });
        const m = far.media.length;
        await ft.send(ftTx.protectRtp(q), sdesPort, '127.0.0.2');
        const deadline = Date.now() + 1000;
        while (far.media.length === m && Date.now() < deadline) await sleep(10);
        assert.equal(far.media.length, m + 1, `${what}: SDES → DTLS`);
        assert.deepEqual(Buffer.from(far.rx!.unprotectRtp(far.media.at(-1)!)), Buffer.from(q));
      };
      await both('restored keys');

      // Dropping DTLS on the restored side is still a bid-down.
      const fromDtlsSide = normalizeNgDict({ command: 'offer', 'call-id': id, 'from-tag': 'tt', 'to-tag': 'ft', sdp: sdesSdp(far.port, 1, randomBytes(30)) }) as NgOfferRequest;
      await assert.rejects(ctlB.offer(fromDtlsSide), (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN');
      await both('restored keys after the refused bid-down');

      // The SDES side re-INVITEs: B offers DTLS to the restored side afresh (actpass, B's fingerprint).
      const reOffer = await ctlB.offer(offerReq(id, sdesSdp(ft.port, 1, ftKey), { 'to-tag': 'tt', 'transport-protocol': 'UDP/TLS/RTP/SAVP' }));
      assert.equal(setupIn(reOffer.sdp), 'actpass');
      assert.equal(fingerprintIn(reOffer.sdp), relayB.dtlsFingerprint);
      assert.notEqual(relayB.dtlsFingerprint, relayA.dtlsFingerprint);
      await both('restored keys after the re-offer');
      const reAnswer = await ctlB.answer(answerReq(id, dtlsSdp(far.port, far.fingerprint, 'active')));
      assert.deepEqual(relayCrypto(reAnswer.sdp).key, toFt.key, 'the SDES side keeps its keys');
      await both('restored keys until the new handshake');
      const oldTx = createSrtpSessionSync({ suite: k1.suite, masterKey: k1.localKey, masterSalt: k1.localSalt });
      const k2 = await far.handshake('client', relayB.dtlsFingerprint, { address: '127.0.0.2', port: dtlsPort });
      assert.notDeepEqual(k2.localKey, k1.localKey);
      await sleep(100);
      await both('new keys');
      // The stored keys followed the re-key.
      const recB2 = decodeCallRecord((await shared.get(`srtpgate:call:B:${id}`))!);
      const in2 = openKey(new StateSealer(KEY), dtlsField(recB2).inKey!, { node: 'B', callId: id, field: `in:${sideB.rtpPort}` });
      assert.deepEqual(Buffer.from(in2.keys[0]!.key), k2.localKey, 'the record holds the new association\'s keys');
      const before = ft.received.length;
      await far.send(oldTx.protectRtp(rtp({ seq: n++, ssrc: 0xfa, payload: randomBytes(40) })));
      await sleep(200);
      assert.equal(ft.received.length, before, 'the restored keys no longer carry media');
      oldTx.close(); ftTx.close(); ftRx.close();
    } finally {
      ctlB.delete({ callId: id });
      await ft.close();
      await far.close();
    }
  });
});
