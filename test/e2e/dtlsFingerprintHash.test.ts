// A relay whose crypto policy wants sha-384 fingerprints (srtp.minFingerprintHash), end to end:
// two DTLS-SRTP phones (DtlsEndpoint + SrtpSessions keyed from its export) on loopback, each
// knowing the relay only by the sha-384 a=fingerprint the relay wrote in its SDP. Both
// handshakes complete and media crosses bit-exact, so the relay's sha-384 announcement matches
// its certificate; a phone whose certificate does not match its sha-384 line gets no
// association, so the relay checks peers with the hash they announced.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { RelayError } from '../../src/errors.ts';
import { DtlsCertificate } from '../../src/keying/dtls/index.ts';
import { rtp } from '../helpers/packets.ts';
import { DtlsPhone, answerReq, dtlsSdp as sdp, fingerprintIn, mPort, offerReq, setupIn, within } from '../helpers/dtlsPhone.ts';

const WAIT_MS = 4000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('DTLS-SRTP with a sha-384 fingerprint minimum', () => {
  let relay: Relay;
  let cc: CallController;
  before(async () => {
    relay = await Relay.create({ ports: { min: 48000, max: 48199 } });
    cc = new CallController({ relay, policy: { minFingerprintHash: 'sha-384' } });
  });
  after(async () => { await relay.close(); });

  it('both phones verify the relay by its sha-384 line, the relay verifies them by theirs: media both ways, bit-exact', async () => {
    const a = await DtlsPhone.open(WAIT_MS - 1000);
    const b = await DtlsPhone.open(WAIT_MS - 1000);
    try {
      const offer = await cc.offer(offerReq('fh-1', sdp(a.port, a.certificate.fingerprint('sha-384'), 'actpass')));
      assert.match(fingerprintIn(offer.sdp), /^sha-384 ([0-9A-F]{2}:){47}[0-9A-F]{2}$/);
      const answer = await cc.answer(answerReq('fh-1', sdp(b.port, b.certificate.fingerprint('sha-384'), 'active')));
      assert.equal(fingerprintIn(answer.sdp), fingerprintIn(offer.sdp));
      assert.equal(setupIn(answer.sdp), 'active', 'the relay is the client towards the actpass offerer');
      a.begin('server', fingerprintIn(answer.sdp), mPort(answer.sdp));
      b.begin('client', fingerprintIn(offer.sdp), mPort(offer.sdp));
      await within(Promise.all([a.connected!, b.connected!]), 'both handshakes', WAIT_MS);
      const sent = Array.from({ length: 5 }, (_, i) => rtp({ seq: 10 + i, ssrc: 0xa, payload: randomBytes(80) }));
      for (const p of sent) a.send(a.tx!.protectRtp(p));
      const back = Array.from({ length: 5 }, (_, i) => rtp({ seq: 50 + i, ssrc: 0xb, payload: randomBytes(60) }));
      for (const p of back) b.send(b.tx!.protectRtp(p));
      const deadline = Date.now() + 2000;
      while ((b.media.length < 5 || a.media.length < 5) && Date.now() < deadline) await sleep(10);
      assert.equal(b.media.length, 5, 'a → b delivered');
      assert.equal(a.media.length, 5, 'b → a delivered');
      b.media.forEach((m, i) => assert.deepEqual(b.rx!.unprotectRtp(m), sent[i]));
      a.media.forEach((m, i) => assert.deepEqual(a.rx!.unprotectRtp(m), back[i]));
    } finally { cc.delete({ callId: 'fh-1' }); await a.close(); await b.close(); }
  });

  it('a sha-256-only phone is refused at the offer; a certificate that does not match its sha-384 line gets no association', async () => {
    const a = await DtlsPhone.open(WAIT_MS - 1000);
    const b = await DtlsPhone.open(WAIT_MS - 1000);
    try {
      await assert.rejects(cc.offer(offerReq('fh-2', sdp(a.port, a.certificate.fingerprint('sha-256'), 'actpass'))),
        (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN');
      assert.equal(relay.getSession('fh-2'), undefined);
      const offer = await cc.offer(offerReq('fh-3', sdp(a.port, a.certificate.fingerprint('sha-384'), 'actpass')));
      // b announces a stranger's sha-384 but presents its own certificate.
      await cc.answer(answerReq('fh-3', sdp(b.port, DtlsCertificate.generate().fingerprint('sha-384'), 'active')));
      b.begin('client', fingerprintIn(offer.sdp), mPort(offer.sdp));
      await assert.rejects(within(b.connected!, 'handshake outcome', WAIT_MS));
      b.send(rtp({ seq: 1, ssrc: 2, payload: randomBytes(40) }));
      await sleep(100);
      assert.equal(a.media.length, 0, 'nothing forwarded from an unverified peer');
      assert.equal(cc.query('fh-3').tags.b!.medias[0]!.cryptoSuite, null);
    } finally { cc.delete({ callId: 'fh-3' }); await a.close(); await b.close(); }
  });
});
