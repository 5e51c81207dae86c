// A DTLS-SRTP phone for tests: one muxed loopback socket, our DtlsEndpoint run against the
// relay once the relay's SDP is known, SrtpSessions keyed from what the handshake exported.
// With the ng request builders and SDP readers the DTLS e2e tests share.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { DtlsCertificate, DtlsEndpoint, isDtlsDatagram } from '../../src/keying/dtls/index.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';

const LOOPBACK = '127.0.0.1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or a rejection naming `what` after `ms`, so a stuck handshake fails the test instead of hanging it. */
export function within<T>(p: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class DtlsPhone {
  readonly certificate = DtlsCertificate.generate();
  /** Every non-DTLS datagram from the relay (SRTP/SRTCP), in arrival order. */
  readonly media: Buffer[] = [];
  endpoint: DtlsEndpoint | null = null;
  /** Resolves with the negotiated SRTP suite's name once the handshake completed. */
  connected: Promise<string> | null = null;
  tx: SrtpSession | null = null;
  rx: SrtpSession | null = null;
  relayPort = 0;
  readonly #early: { msg: Buffer; from: string }[] = [];

  private constructor(readonly socket: dgram.Socket, readonly handshakeTimeoutMs: number) {
    socket.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      if (!isDtlsDatagram(msg)) { this.media.push(msg); return; }
      // The relay as DTLS client may say hello before this phone has read the relay's SDP.
      if (this.endpoint === null) this.#early.push({ msg, from });
      else this.endpoint.handleDatagram(msg, from);
    });
  }

  static async open(handshakeTimeoutMs: number): Promise<DtlsPhone> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, LOOPBACK, () => resolve()));
    return new DtlsPhone(s, handshakeTimeoutMs);
  }

  get port(): number { return this.socket.address().port; }

  /** The certificate's sha-256 fingerprint; `upper` spells the hash name as baresip does (SHA-256). */
  fingerprint(upper = false): string {
    const fp = this.certificate.fingerprint('sha-256');
    return upper ? fp.replace(/^sha-256/, 'SHA-256') : fp;
  }

  /** Starts DTLS towards the relay with what the relay's SDP said. */
  begin(role: 'client' | 'server', relayFingerprint: string, relayPort: number): void {
    this.relayPort = relayPort;
    const ep = new DtlsEndpoint({
      role, certificate: this.certificate, remoteFingerprints: [relayFingerprint],
      initialRetransmitMs: 100, maxRetransmitMs: 400, handshakeTimeoutMs: this.handshakeTimeoutMs,
      send: (d) => this.socket.send(d, this.relayPort, LOOPBACK),
    });
    this.endpoint = ep;
    this.connected = new Promise((resolve, reject) => {
      ep.once('connected', (keys) => {
        this.tx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.localKey, masterSalt: keys.localSalt });
        this.rx = createSrtpSessionSync({ suite: keys.suite.name, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt });
        keys.wipe();
        resolve(keys.suite.name);
      });
      ep.once('error', reject);
    });
    this.connected.catch(() => {});
    ep.start();
    for (const e of this.#early.splice(0)) ep.handleDatagram(e.msg, e.from);
  }

  send(d: Uint8Array): void { this.socket.send(d, this.relayPort, LOOPBACK); }

  /** Waits up to 2 s for `n` media datagrams; all that arrived. */
  async waitMedia(n: number): Promise<Buffer[]> {
    const deadline = Date.now() + 2000;
    while (this.media.length < n && Date.now() < deadline) await sleep(10);
    return this.media;
  }

  async close(): Promise<void> {
    this.endpoint?.close();
    this.tx?.close();
    this.rx?.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** An ng offer from tag `a`, normalised as the control server would. */
export const offerReq = (callId: string, body: string, extra: Record<string, unknown> = {}): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: body, ...extra }) as NgOfferRequest;
/** An ng answer from tag `b` to `a`'s offer. */
export const answerReq = (callId: string, body: string, extra: Record<string, unknown> = {}): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: body, ...extra }) as NgAnswerRequest;

/** An audio m-line on loopback at `port` with `extra` attribute lines, rtcp-mux, sendrecv. */
export function audioSdp(port: number, proto: string, extra: string[]): string {
  return `${['v=0', `o=- 7 1 IN IP4 ${LOOPBACK}`, 's=-', `c=IN IP4 ${LOOPBACK}`, 't=0 0', `m=audio ${port} ${proto} 0`, ...extra, 'a=rtcp-mux', 'a=sendrecv'].join('\r\n')}\r\n`;
}
/** A DTLS-SRTP phone's SDP; `setup` null leaves a=setup out (baresip does). */
export const dtlsSdp = (port: number, fingerprint: string, setup: string | null, proto = 'UDP/TLS/RTP/SAVPF'): string =>
  audioSdp(port, proto, [`a=fingerprint:${fingerprint}`, ...(setup === null ? [] : [`a=setup:${setup}`])]);

export const mPort = (s: string): number => Number(/^m=audio (\d+) /m.exec(s)![1]);
export const setupIn = (s: string): string | null => /^a=setup:(\S+)\r$/m.exec(s)?.[1] ?? null;
export function fingerprintIn(s: string): string {
  const m = /^a=fingerprint:(.+)\r$/m.exec(s);
  assert.ok(m, `no a=fingerprint line in:\n${s}`);
  return m[1]!;
}
