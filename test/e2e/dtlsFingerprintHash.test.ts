// A relay whose crypto policy wants sha-384 fingerprints (srtp.minFingerprintHash), end to end:
// two DTLS-SRTP phones (DtlsEndpoint + SrtpSessions keyed from its export) on loopback, each
// knowing the relay only by the sha-384 a=fingerprint the relay wrote in its SDP. Both
// handshakes complete and media crosses bit-exact, so the relay's sha-384 announcement matches
// its certificate; a phone whose certificate does not match its sha-384 line gets no
// association, so the relay checks peers with the hash they announced.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { RelayError } from '../../src/errors.ts';
import { DtlsCertificate, DtlsEndpoint, isDtlsDatagram } from '../../src/keying/dtls/index.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';
import { rtp } from '../helpers/packets.ts';

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 4000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One DTLS-SRTP phone on one muxed socket; the endpoint is made once the relay's SDP is known. */
class Phone {
  readonly certificate = DtlsCertificate.generate();
  readonly media: Buffer[] = [];
  endpoint: DtlsEndpoint | null = null;
  connected: Promise<void> | null = null;
  tx: SrtpSession | null = null;
  rx: SrtpSession | null = null;
  relayPort = 0;
  readonly #early: { msg: Buffer; from: string }[] = [];

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      if (!isDtlsDatagram(msg)) { this.media.push(msg); return; }
      // The relay as DTLS client may say hello before this phone has read the relay's SDP.
      if (this.endpoint === null) this.#early.push({ msg, from });
      else this.endpoint.handleDatagram(msg, from);
    });
  }

  static async open(): Promise<Phone> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, LOOPBACK, () => resolve()));
    return new Phone(s);
  }

  get port(): number { return this.socket.address().port; }

  begin(role: 'client' | 'server', relayFingerprint: string, relayPort: number): void {
    this.relayPort = relayPort;
    const ep = new DtlsEndpoint({
      role, certificate: this.certificate, remoteFingerprints: [relayFingerprint],
      initialRetransmitMs: 100, maxRetransmitMs: 400, handshakeTimeoutMs: WAIT_MS - 1000,
      send: (d) => this.socket.send(d, this.relayPort, LOOPBACK),
    });
    this.endpoint = ep;
    this.connected = new Promise((resolve, reject) => {
      ep.once('connected', (keys) => {
        this.tx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.localKey, masterSalt: keys.localSalt });
        this.rx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt });
        keys.wipe();
        resolve();
      });
      ep.once('error', reject);
    });
    this.connected.catch(() => {});
    ep.start();
    for (const e of this.#early.splice(0)) ep.handleDatagram(e.msg, e.from);
  }

  async close(): Promise<void> {
    this.endpoint?.close();
    this.tx?.close();
    this.rx?.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

const sdp = (port: number, fingerprint: string, setup: string): string =>
  `${['v=0', `o=- 7 1 IN IP4 ${LOOPBACK}`, 's=-', `c=IN IP4 ${LOOPBACK}`, 't=0 0', `m=audio ${port} UDP/TLS/RTP/SAVPF 0`,
    `a=fingerprint:${fingerprint}`, `a=setup:${setup}`, 'a=rtcp-mux', 'a=sendrecv'].join('\r\n')}\r\n`;
const mPort = (s: string): number => Number(/^m=audio (\d+) /m.exec(s)![1]);
const fingerprintIn = (s: string): string => /^a=fingerprint:(.+)\r$/m.exec(s)![1]!;
const setupIn = (s: string): string => /^a=setup:(\S+)\r$/m.exec(s)![1]!;
const offerReq = (id: string, body: string): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': id, 'from-tag': 'a', sdp: body }) as NgOfferRequest;
const answerReq = (id: string, body: string): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': id, 'from-tag': 'a', 'to-tag': 'b', sdp: body }) as NgAnswerRequest;

describe('DTLS-SRTP with a sha-384 fingerprint minimum', () => {
  let relay: Relay;
  let cc: CallController;
  before(async () => {
    relay = await Relay.create({ ports: { min: 48000, max: 48199 } });
    cc = new CallController({ relay, policy: { minFingerprintHash: 'sha-384' } });
  });
  after(async () => { await relay.close(); });

  it('both phones verify the relay by its sha-384 line, the relay verifies them by theirs: media both ways, bit-exact', async () => {
    const a = await Phone.open();
    const b = await Phone.open();
    try {
      const offer = await cc.offer(offerReq('fh-1', sdp(a.port, a.certificate.fingerprint('sha-384'), 'actpass')));
      assert.match(fingerprintIn(offer.sdp), /^sha-384 ([0-9A-F]{2}:){47}[0-9A-F]{2}$/);
      const answer = await cc.answer(answerReq('fh-1', sdp(b.port, b.certificate.fingerprint('sha-384'), 'active')));
      assert.equal(fingerprintIn(answer.sdp), fingerprintIn(offer.sdp));
      assert.equal(setupIn(answer.sdp), 'active', 'the relay is the client towards the actpass offerer');
      a.begin('server', fingerprintIn(answer.sdp), mPort(answer.sdp));
      b.begin('client', fingerprintIn(offer.sdp), mPort(offer.sdp));
      await within(Promise.all([a.connected!, b.connected!]), 'both handshakes');
      const sent = Array.from({ length: 5 }, (_, i) => rtp({ seq: 10 + i, ssrc: 0xa, payload: randomBytes(80) }));
      for (const p of sent) a.socket.send(a.tx!.protectRtp(p), a.relayPort, LOOPBACK);
      const back = Array.from({ length: 5 }, (_, i) => rtp({ seq: 50 + i, ssrc: 0xb, payload: randomBytes(60) }));
      for (const p of back) b.socket.send(b.tx!.protectRtp(p), b.relayPort, LOOPBACK);
      const deadline = Date.now() + 2000;
      while ((b.media.length < 5 || a.media.length < 5) && Date.now() < deadline) await sleep(10);
      assert.equal(b.media.length, 5, 'a → b delivered');
      assert.equal(a.media.length, 5, 'b → a delivered');
      b.media.forEach((m, i) => assert.deepEqual(b.rx!.unprotectRtp(m), sent[i]));
      a.media.forEach((m, i) => assert.deepEqual(a.rx!.unprotectRtp(m), back[i]));
    } finally { cc.delete({ callId: 'fh-1' }); await a.close(); await b.close(); }
  });

  it('a sha-256-only phone is refused at the offer; a certificate that does not match its sha-384 line gets no association', async () => {
    const a = await Phone.open();
    const b = await Phone.open();
    try {
      await assert.rejects(cc.offer(offerReq('fh-2', sdp(a.port, a.certificate.fingerprint('sha-256'), 'actpass'))),
        (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN');
      assert.equal(relay.getSession('fh-2'), undefined);
      const offer = await cc.offer(offerReq('fh-3', sdp(a.port, a.certificate.fingerprint('sha-384'), 'actpass')));
      // b announces a stranger's sha-384 but presents its own certificate.
      await cc.answer(answerReq('fh-3', sdp(b.port, DtlsCertificate.generate().fingerprint('sha-384'), 'active')));
      b.begin('client', fingerprintIn(offer.sdp), mPort(offer.sdp));
      await assert.rejects(within(b.connected!, 'handshake outcome'));
      b.socket.send(rtp({ seq: 1, ssrc: 2, payload: randomBytes(40) }), b.relayPort, LOOPBACK);
      await sleep(100);
      assert.equal(a.media.length, 0, 'nothing forwarded from an unverified peer');
      assert.equal(cc.query('fh-3').tags.b!.medias[0]!.cryptoSuite, null);
    } finally { cc.delete({ callId: 'fh-3' }); await a.close(); await b.close(); }
  });
});
