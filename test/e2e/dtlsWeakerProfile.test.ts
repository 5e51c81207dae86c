// The dtlsWeakerProfile check with a real DTLS handshake: the offerer agreed SDES
// AES_CM_128_HMAC_SHA1_80, the SBE asked for DTLS-SRTP towards the answerer, and the answerer's
// DTLS client offers only SRTP_AES128_CM_SHA1_32 (weaker than the call committed to).
// refuse: the relay's handshake refuses the profile, the stream gets no keys, no audit event.
// audit: the handshake agrees the 32-bit profile (the policy's own minimum allows it) and one
// 'audit' event names dtlsWeakerProfile.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import type { PolicyAuditEvent } from '../../src/control/RequestGuard.ts';
import { DtlsCertificate, DtlsEndpoint, isDtlsDatagram } from '../../src/keying/dtls/index.ts';

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 4000;

function sdp(port: number, proto: string, extra: string[]): string {
  return `${['v=0', `o=- 3 1 IN IP4 ${LOOPBACK}`, 's=-', `c=IN IP4 ${LOOPBACK}`, 't=0 0', `m=audio ${port} ${proto} 0`, ...extra, 'a=rtcp-mux'].join('\r\n')}\r\n`;
}

/** A DTLS client phone on one socket that offers only the 32-bit profile. */
async function phone(): Promise<{ port: number; fingerprint: string; start(relayFp: string, relayPort: number): Promise<string>; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, () => resolve()));
  const certificate = DtlsCertificate.generate();
  let ep: DtlsEndpoint | null = null;
  socket.on('message', (msg, rinfo) => { if (isDtlsDatagram(msg)) ep?.handleDatagram(msg, `${rinfo.address}:${rinfo.port}`); });
  return {
    port: socket.address().port,
    fingerprint: certificate.fingerprint('sha-256'),
    start(relayFp, relayPort) {
      const e = new DtlsEndpoint({
        role: 'client', certificate, remoteFingerprints: [relayFp], srtpPolicy: { suites: ['AES_CM_128_HMAC_SHA1_32'] },
        initialRetransmitMs: 100, maxRetransmitMs: 400, handshakeTimeoutMs: WAIT_MS,
        send: (d) => socket.send(d, relayPort, LOOPBACK),
      });
      ep = e;
      const done = new Promise<string>((resolve, reject) => {
        e.once('connected', (keys) => { const name = keys.suite.name; keys.wipe(); resolve(name); });
        e.once('error', (err) => reject(err));
      });
      e.start();
      return done;
    },
    async close() { ep?.close(); await new Promise<void>((resolve) => socket.close(() => resolve())); },
  };
}

describe('dtlsWeakerProfile with a real handshake', () => {
  let relay: Relay | null = null;
  after(async () => { await relay?.close(); });

  for (const verdict of ['refuse', 'audit'] as const) {
    it(`${verdict}: the answerer's DTLS client offers only a 32-bit profile on an 80-bit call`, async () => {
      relay ??= await Relay.create({ ports: { min: 55000, max: 55499 } });
      const cc = new CallController({ relay, policy: { onViolation: { dtlsWeakerProfile: verdict } } });
      const events: PolicyAuditEvent[] = [];
      cc.observer.on('audit', (e) => events.push(e));
      const b = await phone();
      const id = `dwp-${verdict}`;
      try {
        const aKey = randomBytes(30).toString('base64');
        const offer = await cc.offer(normalizeNgDict({
          command: 'offer', 'call-id': id, 'from-tag': 'a', 'transport-protocol': 'UDP/TLS/RTP/SAVP',
          sdp: sdp(40000, 'RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${aKey}`]),
        }) as NgOfferRequest);
        const relayPort = Number(/^m=audio (\d+) /m.exec(offer.sdp)![1]);
        await cc.answer(normalizeNgDict({
          command: 'answer', 'call-id': id, 'from-tag': 'a', 'to-tag': 'b',
          sdp: sdp(b.port, 'UDP/TLS/RTP/SAVP', [`a=fingerprint:${b.fingerprint}`, 'a=setup:active']),
        }) as NgAnswerRequest);
        const bStream = relay.getSession(id)!.legs[1]!.streams[0]!;
        let relayError = '';
        bStream.once('dtlserror', (e) => { relayError = e.code; });
        const outcome = await b.start(relay.dtlsFingerprint, relayPort).then((s) => s, (e: Error) => `error: ${e.message}`);
        if (verdict === 'refuse') {
          assert.match(outcome, /^error/, 'no common profile at or above the committed floor');
          const deadline = Date.now() + WAIT_MS;
          while (relayError === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          assert.equal(relayError, 'E_DTLS_NO_SRTP_PROFILE');
          assert.notEqual(bStream.inMode, 'srtp', 'the answerer side got no keys');
          assert.equal(events.length, 0);
        } else {
          assert.equal(outcome, 'AES_CM_128_HMAC_SHA1_32');
          const deadline = Date.now() + WAIT_MS;
          while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          assert.deepEqual(events, [{ callId: id, command: 'dtls', check: 'dtlsWeakerProfile', code: 'E_BID_DOWN', media: 1 }]);
          assert.equal(bStream.inSuite?.name, 'AES_CM_128_HMAC_SHA1_32');
        }
      } finally {
        cc.delete({ callId: id });
        await b.close();
      }
    });
  }
});
