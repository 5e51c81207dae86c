// DTLS-SRTP through the CallController: an SDES leg (libsrtp2 at the far end, keyed from the
// SDP the controller returned) bridged to a DTLS-SRTP leg whose far end is our DtlsEndpoint plus
// SrtpSessions keyed from what it exported, its fingerprint in its SDP. The relay as DTLS client
// and as server, on either leg; baresip's upper-case `SHA-256` without a=setup; a wrong
// fingerprint; a re-offer that drops a=fingerprint.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { RelayError } from '../../src/errors.ts';
import { DtlsCertificate } from '../../src/keying/dtls/index.ts';
import { LibsrtpPeer, LIBSRTP_KEY_LENGTHS, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';
import { DtlsPhone, answerReq, audioSdp, dtlsSdp, mPort, offerReq, setupIn, within } from '../helpers/dtlsPhone.ts';

const WAIT_MS = 5000;
const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Keys { key: Uint8Array; salt: Uint8Array }
const newKeys = (): Keys => ({ key: randomBytes(LIBSRTP_KEY_LENGTHS[SUITE].key), salt: randomBytes(LIBSRTP_KEY_LENGTHS[SUITE].salt) });

const sdesSdp = (port: number, tag: number, k: Keys, proto = 'RTP/SAVP'): string =>
  audioSdp(port, proto, [`a=crypto:${tag} ${SUITE} inline:${Buffer.concat([k.key, k.salt]).toString('base64')}`]);

function relayCrypto(s: string): { tag: number; keys: Keys } {
  const m = new RegExp(`^a=crypto:(\\d+) ${SUITE} inline:([A-Za-z0-9+/=]+)\\r$`, 'm').exec(s);
  assert.ok(m, `no ${SUITE} line in:\n${s}`);
  const b = Buffer.from(m[2]!, 'base64');
  return { tag: Number(m[1]), keys: { key: b.subarray(0, 16), salt: b.subarray(16) } };
}

let relay: Relay;
let cc: CallController;
let lib: LibsrtpPeer | null = null;
let seq = 0;

/** RTP both ways between the libsrtp2 SDES phone and the DTLS phone, compared bit for bit. */
async function mediaBothWays(id: string, sdesPeer: UdpPeer, sdesToRelay: number, phone: DtlsPhone): Promise<void> {
  const sent: Uint8Array[] = [];
  for (let s = 100; s < 110; s++) {
    const p = rtp({ seq: s, ssrc: 0xa11ce, payload: randomBytes(160) });
    sent.push(p);
    await sdesPeer.send(await lib!.protectRtp(`${id}-tx`, p), sdesToRelay);
  }
  const got = await phone.waitMedia(10);
  assert.equal(got.length, 10, 'SDES → DTLS delivered');
  got.forEach((g, i) => assert.deepEqual(phone.rx!.unprotectRtp(g), sent[i]));
  const back: Uint8Array[] = [];
  for (let s = 7; s < 17; s++) {
    const p = rtp({ seq: s, ssrc: 0xb0b, payload: randomBytes(120) });
    back.push(p);
    phone.send(phone.tx!.protectRtp(p));
  }
  const atA = await sdesPeer.waitFor(10);
  assert.equal(atA.length, 10, 'DTLS → SDES delivered');
  for (let i = 0; i < 10; i++) assert.deepEqual(await lib!.unprotectRtp(`${id}-rx`, atA[i]!), back[i]);
}

describe('DTLS-SRTP offer/answer through the CallController', () => {
  before(async () => {
    relay = await Relay.create({ ports: { min: 43000, max: 43499 } });
    cc = new CallController({ relay });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await relay.close(); await lib?.close(); });

  // SDES offerer → DTLS answerer (transport-protocol UDP/TLS): the relay offers actpass.
  const ANSWERER_CASES = [
    { name: 'answerer passive: relay is the DTLS client', setup: 'passive' as string | null, upper: false, relaySetup: 'active' },
    { name: 'answerer active: relay is the DTLS server', setup: 'active', upper: false, relaySetup: 'passive' },
    { name: 'baresip style (SHA-256, no a=setup): relay is the DTLS server', setup: null, upper: true, relaySetup: 'passive' },
  ];
  for (const k of ANSWERER_CASES) {
    it(`SDES (libsrtp2) → DTLS answerer, ${k.name}: media both ways, bit-exact`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      const id = `doa-${++seq}`;
      const a = await UdpPeer.open();
      const phone = await DtlsPhone.open(WAIT_MS);
      try {
        const aKeys = newKeys();
        const offer = await cc.offer(offerReq(id, sdesSdp(a.port, 1, aKeys), { 'transport-protocol': 'UDP/TLS/RTP/SAVPF' }));
        assert.match(offer.sdp, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
        assert.doesNotMatch(offer.sdp, /a=crypto/);
        assert.equal(setupIn(offer.sdp), 'actpass');
        assert.ok(offer.sdp.includes(`a=fingerprint:${relay.dtlsFingerprint}\r\n`));
        assert.match(offer.sdp, /^a=rtcp-mux\r$/m);
        const answer = await cc.answer(answerReq(id, dtlsSdp(phone.port, phone.fingerprint(k.upper), k.setup)));
        const toA = relayCrypto(answer.sdp);
        assert.equal(toA.tag, 1);
        assert.doesNotMatch(answer.sdp, /a=fingerprint|a=setup/);
        await lib.session(`${id}-tx`, 'out', SUITE, aKeys.key, aKeys.salt);
        await lib.session(`${id}-rx`, 'in', SUITE, toA.keys.key, toA.keys.salt);
        phone.begin(k.relaySetup === 'active' ? 'server' : 'client', relay.dtlsFingerprint, mPort(offer.sdp));
        assert.equal(await within(phone.connected!, 'handshake', WAIT_MS), 'AEAD_AES_256_GCM');
        await mediaBothWays(id, a, mPort(answer.sdp), phone);
        const info = cc.query(id);
        assert.equal(info.tags.b!.medias[0]!.cryptoSuite, 'AEAD_AES_256_GCM');
        assert.equal(info.tags.b!.medias[0]!.rtcpMux, true);
        void k.relaySetup;
      } finally { cc.delete({ callId: id }); await a.close(); await phone.close(); }
    });
  }

  // DTLS offerer → SDES answerer (transport-protocol RTP/SAVP): the relay answers the setup.
  const OFFERER_CASES = [
    { name: 'offerer actpass: relay answers active (client)', setup: 'actpass' as string | null, upper: false, relaySetup: 'active' },
    { name: 'offerer active: relay answers passive (server)', setup: 'active', upper: false, relaySetup: 'passive' },
    { name: 'baresip style (SHA-256, no a=setup): relay answers passive', setup: null, upper: true, relaySetup: 'passive' },
  ];
  for (const k of OFFERER_CASES) {
    it(`DTLS offerer → SDES (libsrtp2), ${k.name}: media both ways, bit-exact`, async (t) => {
      if (!lib) return skipOrFail(t, skipReason());
      const id = `doa-${++seq}`;
      const b = await UdpPeer.open();
      const phone = await DtlsPhone.open(WAIT_MS);
      try {
        const offer = await cc.offer(offerReq(id, dtlsSdp(phone.port, phone.fingerprint(k.upper), k.setup), { 'transport-protocol': 'RTP/SAVP' }));
        assert.match(offer.sdp, /^m=audio \d+ RTP\/SAVP /m);
        assert.doesNotMatch(offer.sdp, /a=fingerprint|a=setup/);
        const toB = relayCrypto(offer.sdp);
        const bKeys = newKeys();
        const answer = await cc.answer(answerReq(id, sdesSdp(b.port, toB.tag, bKeys)));
        assert.equal(setupIn(answer.sdp), k.relaySetup);
        assert.ok(answer.sdp.includes(`a=fingerprint:${relay.dtlsFingerprint}\r\n`));
        assert.doesNotMatch(answer.sdp, /a=crypto/);
        await lib.session(`${id}-tx`, 'out', SUITE, bKeys.key, bKeys.salt);
        await lib.session(`${id}-rx`, 'in', SUITE, toB.keys.key, toB.keys.salt);
        phone.begin(k.relaySetup === 'active' ? 'server' : 'client', relay.dtlsFingerprint, mPort(answer.sdp));
        await within(phone.connected!, 'handshake', WAIT_MS);
        await mediaBothWays(id, b, mPort(offer.sdp), phone);
      } finally { cc.delete({ callId: id }); await b.close(); await phone.close(); }
    });
  }

  it('a wrong fingerprint in the answer: no handshake, no media', async () => {
    const id = `doa-${++seq}`;
    const a = await UdpPeer.open();
    const phone = await DtlsPhone.open(WAIT_MS);
    try {
      const offer = await cc.offer(offerReq(id, sdesSdp(a.port, 1, newKeys()), { 'transport-protocol': 'UDP/TLS/RTP/SAVP' }));
      const stranger = DtlsCertificate.generate().fingerprint('sha-256');
      const answer = await cc.answer(answerReq(id, dtlsSdp(phone.port, stranger, 'active', 'UDP/TLS/RTP/SAVP')));
      phone.begin('client', relay.dtlsFingerprint, mPort(offer.sdp));
      await assert.rejects(within(phone.connected!, 'handshake outcome', WAIT_MS));
      await a.send(rtp({ seq: 1, ssrc: 1, payload: randomBytes(40) }), mPort(answer.sdp));
      await sleep(100);
      assert.equal(phone.media.length, 0);
      assert.equal(cc.query(id).tags.b!.medias[0]!.cryptoSuite, null);
    } finally { cc.delete({ callId: id }); await a.close(); await phone.close(); }
  });

  it('a re-offer that removes a=fingerprint from an established DTLS leg: E_BID_DOWN, call unchanged', async () => {
    const id = `doa-${++seq}`;
    const phone = await DtlsPhone.open(WAIT_MS);
    try {
      const first = dtlsSdp(phone.port, phone.fingerprint(), 'actpass');
      const offer = await cc.offer(offerReq(id, first, { 'transport-protocol': 'RTP/SAVP' }));
      await cc.answer(answerReq(id, sdesSdp(40000, relayCrypto(offer.sdp).tag, newKeys())));
      const rejectsWith = async (body: string, pattern: RegExp): Promise<void> => {
        await assert.rejects(cc.offer(offerReq(id, body)), (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN' && pattern.test(e.message));
      };
      await rejectsWith(sdesSdp(phone.port, 1, newKeys()), /fingerprint removed/);
      await rejectsWith(dtlsSdp(phone.port, DtlsCertificate.generate().fingerprint('sha-256'), 'actpass'), /a=fingerprint/);
      await rejectsWith(dtlsSdp(phone.port, phone.fingerprint(), null), /a=setup/);
      // Unchanged re-offer: accepted, same role and fingerprint.
      const again = await cc.offer(offerReq(id, first, { 'transport-protocol': 'RTP/SAVP' }));
      assert.equal(again.warnings.length, 0, JSON.stringify(again.warnings));
    } finally { cc.delete({ callId: id }); await phone.close(); }
  });

  it('sha-1 only fingerprint: refused as a bid-down', async () => {
    const sha1 = `sha-1 ${Array.from(randomBytes(20)).map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
    await assert.rejects(cc.offer(offerReq(`doa-${++seq}`, dtlsSdp(4000, sha1, 'actpass'))), (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN');
  });
});
