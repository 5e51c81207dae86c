// The crypto policy's last three knobs of issue 7, through the call controller on a real relay:
// the minimum fingerprint hash (peer fingerprints below it ignored, only-weaker refused, the
// relay's own a=fingerprint announced with it), the allowed key exchanges (SDES, DTLS) and the
// SRTP requirement per party. Each per relay (config) and per call (ng flags, HTTP policy
// object), where per call can only narrow. A refused request leaves no session behind.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Relay } from '../../../src/session/Relay.ts';
import { CallController } from '../../../src/control/CallController.ts';
import { HttpApi } from '../../../src/control/HttpApi.ts';
import type { CallControl } from '../../../src/control/commands.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { isPolicyFlag, policyKnobsOf, requestPolicy, resolvePolicy, type PolicyInput } from '../../../src/control/policy.ts';
import { canonicalFingerprints } from '../../../src/control/dtlsSdp.ts';
import { DtlsCertificate } from '../../../src/keying/dtls/index.ts';
import { suiteByName, type SuiteName } from '../../../src/crypto/suites.ts';
import { RelayError, type RelayErrorCode } from '../../../src/errors.ts';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { cryptoPolicyOf } from '../../../src/cli.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';

const keyText = (suite: SuiteName, seed: number): string => {
  const s = suiteByName(suite)!;
  return Buffer.from(Array.from({ length: s.keyLen + s.saltLen }, (_, i) => (i * 13 + seed * 29 + 1) & 0xff)).toString('base64');
};
const crypto = (tag: number, suite: SuiteName = 'AES_CM_128_HMAC_SHA1_80', seed = tag): string => `a=crypto:${tag} ${suite} inline:${keyText(suite, seed)}`;

const hexOf = (b: Uint8Array): string => Array.from(b).map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':');
/** A fingerprint line value of `cert` with `hash` (sha-1 too: peers still send it). */
const fp = (cert: DtlsCertificate, hash: 'sha-1' | 'sha-256' | 'sha-384' | 'sha-512'): string =>
  `${hash} ${hexOf(createHash(hash.replace('-', '')).update(cert.der).digest())}`;
const peerCert = DtlsCertificate.generate();

function sdp(addr: string, port: number, proto: string, attrs: readonly string[]): string {
  return `${['v=0', `o=- 7 1 IN IP4 ${addr}`, 's=-', `c=IN IP4 ${addr}`, 't=0 0', `m=audio ${port} ${proto} 0`, 'a=rtpmap:0 PCMU/8000', ...attrs].join('\r\n')}\r\n`;
}
const A = (proto: string, attrs: readonly string[] = []): string => sdp('192.0.2.10', 4000, proto, attrs);
const B = (proto: string, attrs: readonly string[] = []): string => sdp('198.51.100.20', 6000, proto, attrs);
const dtlsAttrs = (...fps: string[]): string[] => [...fps.map((f) => `a=fingerprint:${f}`), 'a=setup:actpass', 'a=rtcp-mux'];

let n = 0;
const id = (): string => `pk-${++n}`;
const offerReq = (callId: string, body: string, extra: Record<string, unknown> = {}, from = 'A'): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': from, sdp: body, ...extra }) as NgOfferRequest;
const answerReq = (callId: string, body: string, extra: Record<string, unknown> = {}): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'A', 'to-tag': 'B', sdp: body, ...extra }) as NgAnswerRequest;

const protoOf = (s: string): string => /^m=audio \d+ (\S+) /m.exec(s)![1]!;
const relayFingerprint = (s: string): string | null => /^a=fingerprint:(.+)\r$/m.exec(s)?.[1] ?? null;
const cryptoTags = (s: string): number[] => [...s.matchAll(/^a=crypto:(\d+) /gm)].map((m) => Number(m[1]));

let relay: Relay;
const cc = (policy: PolicyInput = {}): CallController => new CallController({ relay, policy });

/** Refused with `code` (and `pattern` in the message), no session left behind. */
async function refused(p: Promise<unknown>, code: RelayErrorCode, callId: string | null, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RelayError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
  if (callId !== null) assert.equal(relay.getSession(callId), undefined, 'a refused offer leaves no session');
}

/** [offerer's, answerer's] first stream modes of a call. */
function modes(callId: string): [string, string] {
  const s = relay.getSession(callId);
  assert.ok(s);
  return [s.legs[0]!.streams[0]!.inMode, s.legs[1]!.streams[0]!.inMode];
}

describe('crypto policy knobs: fingerprint hash, key exchanges, SRTP requirement', () => {
  before(async () => { relay = await Relay.create({ ports: { min: 47500, max: 47999 } }); });
  after(async () => { await relay.close(); });

  describe('minimum fingerprint hash', () => {
    it('canonicalFingerprints drops hashes below the minimum; only weaker ones is E_BID_DOWN, none parseable E_BAD_SDP', () => {
      const all = [fp(peerCert, 'sha-1'), fp(peerCert, 'sha-256'), fp(peerCert, 'sha-384'), fp(peerCert, 'sha-512')];
      assert.deepEqual(canonicalFingerprints(all, 1).map((f) => f.split(' ')[0]), ['sha-256', 'sha-384', 'sha-512']);
      assert.deepEqual(canonicalFingerprints(all, 1, 'sha-384').map((f) => f.split(' ')[0]), ['sha-384', 'sha-512']);
      assert.deepEqual(canonicalFingerprints(all, 1, 'sha-512').map((f) => f.split(' ')[0]), ['sha-512']);
      assert.throws(() => canonicalFingerprints([fp(peerCert, 'sha-256'), fp(peerCert, 'sha-1')], 1, 'sha-384'), (e: unknown) => e instanceof RelayError && e.code === 'E_BID_DOWN');
      assert.throws(() => canonicalFingerprints(['sha-384 zz'], 1, 'sha-384'), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_SDP');
    });

    it('default sha-256: a sha-256 DTLS offer is taken and the relay announces sha-256', async () => {
      const c = id();
      const o = await cc().offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256')))));
      assert.equal(relayFingerprint(o.sdp), relay.dtlsFingerprintFor('sha-256'));
      assert.equal(relay.dtlsFingerprintFor('sha-256'), relay.dtlsFingerprint);
      relay.getSession(c)?.close('deleted');
    });

    it('relay sha-384: sha-256-only offers are E_BID_DOWN; with a sha-384 line the relay announces its own sha-384', async () => {
      const strict = cc({ minFingerprintHash: 'sha-384' });
      let c = id();
      await refused(strict.offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))))), 'E_BID_DOWN', c, /sha-384/);
      c = id();
      const o = await strict.offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'), fp(peerCert, 'sha-384')))));
      const mine = relayFingerprint(o.sdp);
      assert.ok(mine !== null && mine.startsWith('sha-384 '), String(mine));
      assert.equal(mine.split(' ')[1]!.split(':').length, 48, 'a 48-byte sha-384 value');
      assert.equal(mine, relay.dtlsFingerprintFor('sha-384'));
      // The answer to the offerer (DTLS there too) carries the same hash.
      const a = await strict.answer(answerReq(c, B('UDP/TLS/RTP/SAVP', [`a=fingerprint:${fp(peerCert, 'sha-512')}`, 'a=setup:active', 'a=rtcp-mux'])));
      assert.equal(relayFingerprint(a.sdp), mine);
      relay.getSession(c)?.close('deleted');
    });

    it('the answer is held to the same minimum: a sha-256-only answer to a sha-384 relay is E_BID_DOWN, nothing committed', async () => {
      const strict = cc({ minFingerprintHash: 'sha-384' });
      const c = id();
      await strict.offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { 'transport-protocol': 'UDP/TLS/RTP/SAVP' }));
      await refused(strict.answer(answerReq(c, B('UDP/TLS/RTP/SAVP', [`a=fingerprint:${fp(peerCert, 'sha-256')}`, 'a=setup:active', 'a=rtcp-mux']))), 'E_BID_DOWN', null);
      assert.deepEqual(modes(c), ['pending', 'pending']);
      relay.getSession(c)?.close('deleted');
    });

    it('per call: min-fingerprint-hash-sha-512 raises the minimum; -sha-256 on a sha-384 relay does not lower it', async () => {
      let c = id();
      await refused(cc().offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-384'))), { flags: ['min-fingerprint-hash-sha-512'] })), 'E_BID_DOWN', c);
      c = id();
      await refused(cc({ minFingerprintHash: 'sha-384' }).offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))), { flags: ['min-fingerprint-hash-sha-256'] })), 'E_BID_DOWN', c);
      c = id();
      const o = await cc().offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-512'))), { 'rtpp-flags': 'min-fingerprint-hash-sha-512' }));
      assert.ok(relayFingerprint(o.sdp)?.startsWith('sha-512 '));
      assert.ok(!o.warnings.some((w) => w.includes('min-fingerprint')), `flag consumed, not ignored: ${o.warnings.join(' | ')}`);
      relay.getSession(c)?.close('deleted');
    });

    it('a dual offer whose fingerprints are all below the minimum falls back to SDES (allowed) or is refused (dtls only)', async () => {
      const dual = A('RTP/SAVP', [crypto(1), ...dtlsAttrs(fp(peerCert, 'sha-256'))]);
      let c = id();
      const o = await cc({ minFingerprintHash: 'sha-384' }).offer(offerReq(c, dual));
      assert.ok(o.warnings.some((w) => /DTLS-SRTP not usable \(E_BID_DOWN\): SDES chosen/.test(w)), o.warnings.join(' | '));
      assert.ok(cryptoTags(o.sdp).length > 0);
      relay.getSession(c)?.close('deleted');
      c = id();
      await refused(cc({ minFingerprintHash: 'sha-384', keyExchanges: ['dtls'] }).offer(offerReq(c, dual)), 'E_BID_DOWN', c);
    });

    it('resolvePolicy: sha-1 or an unknown hash as the minimum is a bad policy', () => {
      assert.throws(() => resolvePolicy({ minFingerprintHash: 'sha-1' as never }), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST');
      assert.throws(() => resolvePolicy({ minFingerprintHash: 'md5' as never }), RelayError);
      assert.equal(resolvePolicy().minFingerprintHash, 'sha-256');
    });
  });

  describe('allowed key exchanges', () => {
    it('dtls only: an SDES offer on RTP/SAVP is E_BID_DOWN and leaves no session', async () => {
      const c = id();
      await refused(cc({ keyExchanges: ['dtls'] }).offer(offerReq(c, A('RTP/SAVP', [crypto(1)]))), 'E_BID_DOWN', c, /SDES/);
    });

    it('dtls only: a dual offer is keyed with DTLS (even with preferDtls off) and the answerer is offered UDP/TLS, no a=crypto', async () => {
      const c = id();
      const ctl = cc({ keyExchanges: ['dtls'], preferDtls: false });
      const o = await ctl.offer(offerReq(c, A('RTP/SAVPF', [crypto(1), ...dtlsAttrs(fp(peerCert, 'sha-256'))])));
      assert.equal(protoOf(o.sdp), 'UDP/TLS/RTP/SAVPF');
      assert.deepEqual(cryptoTags(o.sdp), []);
      assert.equal(relayFingerprint(o.sdp), relay.dtlsFingerprint);
      // The answerer cannot bring SDES back.
      await refused(ctl.answer(answerReq(c, B('RTP/SAVPF', [crypto(1)]))), 'E_BID_DOWN', null);
      const a = await ctl.answer(answerReq(c, B('UDP/TLS/RTP/SAVPF', [`a=fingerprint:${fp(peerCert, 'sha-256')}`, 'a=setup:active', 'a=rtcp-mux'])));
      // The offerer was keyed with DTLS: its answer has the relay's fingerprint and no a=crypto.
      assert.deepEqual(cryptoTags(a.sdp), []);
      assert.equal(relayFingerprint(a.sdp), relay.dtlsFingerprint);
      relay.getSession(c)?.close('deleted');
    });

    it('dtls only: an SDES offer on RTP/AVP (best effort) runs plain, and the answerer gets no a=crypto', async () => {
      const c = id();
      const ctl = cc({ keyExchanges: ['dtls'] });
      const o = await ctl.offer(offerReq(c, A('RTP/AVP', [crypto(1)])));
      assert.equal(protoOf(o.sdp), 'RTP/AVP');
      assert.deepEqual(cryptoTags(o.sdp), []);
      assert.ok(o.warnings.some((w) => w.includes('policy allows no SDES')), o.warnings.join(' | '));
      const a = await ctl.answer(answerReq(c, B('RTP/AVP')));
      assert.deepEqual(cryptoTags(a.sdp), []);
      assert.deepEqual(modes(c), ['plain', 'plain']);
      relay.getSession(c)?.close('deleted');
    });

    it('dtls only: an SBE-forced RTP/SAVP towards the answerer is refused; a DTLS offer still works', async () => {
      let c = id();
      await refused(cc({ keyExchanges: ['dtls'] }).offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))), { 'transport-protocol': 'RTP/SAVP' })), 'E_BAD_REQUEST', c);
      c = id();
      const o = await cc({ keyExchanges: ['dtls'] }).offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256')))));
      assert.equal(protoOf(o.sdp), 'UDP/TLS/RTP/SAVP');
      relay.getSession(c)?.close('deleted');
    });

    it('sdes only: a DTLS offer is E_NO_COMMON_SUITE; a dual offer is keyed with SDES; UDP/TLS is never offered', async () => {
      const sdesOnly = cc({ keyExchanges: ['sdes'] });
      let c = id();
      await refused(sdesOnly.offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))))), 'E_NO_COMMON_SUITE', c, /SDES key exchange only/);
      c = id();
      const o = await sdesOnly.offer(offerReq(c, A('RTP/SAVP', [crypto(1), ...dtlsAttrs(fp(peerCert, 'sha-256'))])));
      assert.equal(protoOf(o.sdp), 'RTP/SAVP');
      assert.ok(cryptoTags(o.sdp).length > 0);
      assert.equal(relayFingerprint(o.sdp), null);
      relay.getSession(c)?.close('deleted');
      c = id();
      await refused(sdesOnly.offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { 'transport-protocol': 'UDP/TLS/RTP/SAVP' })), 'E_BAD_REQUEST', c, /no DTLS-SRTP/);
      // DTLS=passive on the request does not bring DTLS back.
      c = id();
      await refused(sdesOnly.offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))), { DTLS: 'passive' })), 'E_NO_COMMON_SUITE', c);
    });

    it('per call: key-exchange-dtls narrows a default relay; on an sdes-only relay it leaves nothing (never widens)', async () => {
      let c = id();
      await refused(cc().offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { flags: ['key-exchange-dtls'] })), 'E_BID_DOWN', c);
      c = id();
      await refused(cc({ keyExchanges: ['sdes'] }).offer(offerReq(c, A('UDP/TLS/RTP/SAVP', dtlsAttrs(fp(peerCert, 'sha-256'))), { flags: ['key-exchange-dtls'] })), 'E_NO_COMMON_SUITE', c);
      c = id();
      await refused(cc({ keyExchanges: ['sdes'] }).offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { flags: ['key-exchange-dtls'] })), 'E_BID_DOWN', c);
      // DTLS=off on a dtls-only relay leaves no key exchange for an SRTP offer either.
      c = id();
      await refused(cc({ keyExchanges: ['dtls'] }).offer(offerReq(c, A('RTP/SAVP', [crypto(1), ...dtlsAttrs(fp(peerCert, 'sha-256'))]), { DTLS: 'off' })), 'E_BID_DOWN', c);
    });

    it('per call in the answer: key-exchange-dtls refuses an SDES answer, nothing committed', async () => {
      const c = id();
      const ctl = cc();
      const o = await ctl.offer(offerReq(c, A('RTP/SAVP', [crypto(1)])));
      await refused(ctl.answer(answerReq(c, B('RTP/SAVP', [crypto(cryptoTags(o.sdp)[0]!, 'AEAD_AES_256_GCM')]), { flags: ['key-exchange-dtls'] })), 'E_BID_DOWN', null);
      assert.deepEqual(modes(c), ['pending', 'pending']);
      relay.getSession(c)?.close('deleted');
    });

    it('resolvePolicy: an empty or unknown key exchange list is a bad policy', () => {
      assert.throws(() => resolvePolicy({ keyExchanges: [] }), RelayError);
      assert.throws(() => resolvePolicy({ keyExchanges: ['zrtp' as never] }), RelayError);
      assert.deepEqual(resolvePolicy().keyExchanges, ['sdes', 'dtls']);
    });
  });

  describe('SRTP required on a party', () => {
    it("relay 'answerer': a plain offer is bridged, the answerer offered only RTP/SAVP; its plain answer is E_BID_DOWN", async () => {
      const ctl = cc({ requireSrtp: 'answerer' });
      const c = id();
      const o = await ctl.offer(offerReq(c, A('RTP/AVP')));
      assert.equal(protoOf(o.sdp), 'RTP/SAVP');
      assert.ok(cryptoTags(o.sdp).length > 0);
      await refused(ctl.answer(answerReq(c, B('RTP/AVP'))), 'E_BID_DOWN', null);
      assert.deepEqual(modes(c), ['pending', 'pending']);
      const a = await ctl.answer(answerReq(c, B('RTP/SAVP', [crypto(cryptoTags(o.sdp)[0]!, /a=crypto:\d+ (\S+) /.exec(o.sdp)![1] as SuiteName)])));
      assert.equal(protoOf(a.sdp), 'RTP/AVP', 'the offerer keeps its plain RTP');
      assert.deepEqual(modes(c), ['plain', 'srtp']);
      relay.getSession(c)?.close('deleted');
    });

    it("relay 'answerer' names the callee's leg: a re-INVITE from the callee keeps the requirement on it, not on the caller", async () => {
      const ctl = cc({ requireSrtp: 'answerer' });
      const c = id();
      const o = await ctl.offer(offerReq(c, A('RTP/AVP')));
      const suite = /a=crypto:\d+ (\S+) /.exec(o.sdp)![1] as SuiteName;
      await ctl.answer(answerReq(c, B('RTP/SAVP', [crypto(cryptoTags(o.sdp)[0]!, suite)])));
      // The callee (B) re-offers: a plain re-offer from it is refused; plain towards the caller is fine.
      await refused(ctl.offer(offerReq(c, B('RTP/AVP'), { 'to-tag': 'A' }, 'B')), 'E_BID_DOWN', null, /offerer/);
      const re = await ctl.offer(offerReq(c, B('RTP/SAVP', [crypto(1, suite, 9)]), { 'to-tag': 'A', 'transport-protocol': 'RTP/AVP' }, 'B'));
      assert.equal(protoOf(re.sdp), 'RTP/AVP');
      await ctl.answer(answerReq(c, A('RTP/AVP')));
      assert.deepEqual(modes(c), ['plain', 'srtp']);
      relay.getSession(c)?.close('deleted');
    });

    it("relay 'answerer' with dtls only: a plain offer's answerer is offered UDP/TLS/RTP/SAVPF", async () => {
      const c = id();
      const o = await cc({ requireSrtp: 'answerer', keyExchanges: ['dtls'] }).offer(offerReq(c, A('RTP/AVPF')));
      assert.equal(protoOf(o.sdp), 'UDP/TLS/RTP/SAVPF');
      assert.ok(relayFingerprint(o.sdp) !== null);
      relay.getSession(c)?.close('deleted');
    });

    it("relay 'answerer': SDES-off or an answerer whose signalling is marked insecure is offered DTLS-SRTP instead", async () => {
      for (const extra of [{ SDES: ['off'] }, { flags: ['insecure-signalling-peer'] }]) {
        const c = id();
        const o = await cc({ requireSrtp: 'answerer' }).offer(offerReq(c, A('RTP/AVP'), extra));
        assert.equal(protoOf(o.sdp), 'UDP/TLS/RTP/SAVP', JSON.stringify(extra));
        assert.deepEqual(cryptoTags(o.sdp), []);
        relay.getSession(c)?.close('deleted');
      }
      const c = id();
      await refused(cc({ requireSrtp: 'answerer', keyExchanges: ['sdes'] }).offer(offerReq(c, A('RTP/AVP'), { SDES: ['off'] })), 'E_BID_DOWN', c, /no key exchange/);
    });

    it("relay 'offerer': a plain offer is E_BID_DOWN; an SRTP one passes; audit verdicts do not bypass it", async () => {
      let c = id();
      await refused(cc({ requireSrtp: 'offerer' }).offer(offerReq(c, A('RTP/AVP'))), 'E_BID_DOWN', c, /offerer/);
      c = id();
      await refused(cc({ requireSrtp: 'offerer', onViolation: { cryptoStripped: 'audit', transportDowngrade: 'audit' } }).offer(offerReq(c, A('RTP/AVP'))), 'E_BID_DOWN', c);
      c = id();
      await cc({ requireSrtp: 'offerer' }).offer(offerReq(c, A('RTP/SAVP', [crypto(1)])));
      relay.getSession(c)?.close('deleted');
    });

    it('per call: require-srtp (both), -offerer, -answerer; a forced plain transport is refused; the downgrade audit does not bypass it', async () => {
      let c = id();
      await refused(cc().offer(offerReq(c, A('RTP/AVP'), { flags: ['require-srtp'] })), 'E_BID_DOWN', c);
      c = id();
      await refused(cc().offer(offerReq(c, A('RTP/AVP'), { 'rtpp-flags': 'require-srtp-offerer' })), 'E_BID_DOWN', c);
      c = id();
      await refused(cc().offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { flags: ['require-srtp-answerer'], 'transport-protocol': 'RTP/AVP' })), 'E_BID_DOWN', c, /transport-protocol/);
      c = id();
      const audit = cc({ onViolation: { transportDowngrade: 'audit' } });
      const o = await audit.offer(offerReq(c, A('RTP/SAVP', [crypto(1)]), { flags: ['require-srtp-answerer'] }));
      assert.ok(!o.warnings.some((w) => w.includes('require-srtp')), `flag consumed: ${o.warnings.join(' | ')}`);
      // The requirement travels with the offer: the answer needs no flag of its own.
      await refused(audit.answer(answerReq(c, B('RTP/AVP'))), 'E_BID_DOWN', null);
      relay.getSession(c)?.close('deleted');
      // Without the requirement the same answer is audited and goes through.
      c = id();
      await audit.offer(offerReq(c, A('RTP/SAVP', [crypto(1)])));
      const a = await audit.answer(answerReq(c, B('RTP/AVP')));
      assert.ok(a.warnings.some((w) => w.includes('transportDowngrade')));
      relay.getSession(c)?.close('deleted');
    });

    it('per call in the answer: require-srtp-answerer refuses a plain answer to a plain offer', async () => {
      const c = id();
      const ctl = cc();
      await ctl.offer(offerReq(c, A('RTP/AVP')));
      await refused(ctl.answer(answerReq(c, B('RTP/AVP'), { flags: ['require-srtp-answerer'] })), 'E_BID_DOWN', null);
      await ctl.answer(answerReq(c, B('RTP/AVP')));
      assert.deepEqual(modes(c), ['plain', 'plain']);
      relay.getSession(c)?.close('deleted');
    });
  });

  describe('per-call flags and configuration', () => {
    it('requestPolicy: flags only narrow; they are consumed; bad values warn and change nothing', () => {
      const base = resolvePolicy({ requireSrtp: 'offerer', minFingerprintHash: 'sha-384', keyExchanges: ['sdes'] });
      const r = requestPolicy(base, ['require-srtp-answerer', 'key-exchange-dtls', 'key-exchange-sdes', 'min-fingerprint-hash-sha-256', 'trust-address']);
      assert.equal(r.policy.requireSrtp, 'both');
      assert.deepEqual(r.policy.keyExchanges, ['sdes']);
      assert.equal(r.policy.minFingerprintHash, 'sha-384');
      assert.deepEqual([...r.consumed].sort(), ['key-exchange-dtls', 'key-exchange-sdes', 'min-fingerprint-hash-sha-256', 'require-srtp-answerer']);
      const bad = requestPolicy(base, ['key-exchange-zrtp', 'min-fingerprint-hash-sha-1']);
      assert.equal(bad.warnings.length, 2);
      assert.equal(bad.policy, base, 'nothing changed');
      assert.equal(requestPolicy(resolvePolicy(), ['require-srtp']).policy.requireSrtp, 'both');
      assert.equal(requestPolicy(resolvePolicy(), ['key-exchange-dtls']).policy.keyExchanges.join(), 'dtls');
      for (const f of ['require-srtp', 'require-srtp-offerer', 'require-srtp-answerer', 'key-exchange-sdes', 'min-fingerprint-hash-sha-512']) assert.ok(isPolicyFlag(f), f);
      assert.ok(!isPolicyFlag('require-srtp-both'));
    });

    it('ng parsing: the flags arrive from a flags list and from rtpp-flags', () => {
      const viaRtpp = normalizeNgDict({ command: 'offer', 'call-id': 'c', 'from-tag': 'a', sdp: A('RTP/AVP'), 'rtpp-flags': 'require-srtp-answerer key-exchange-dtls min-fingerprint-hash-sha-384' }) as NgOfferRequest;
      assert.deepEqual([...viaRtpp.flags].sort(), ['key-exchange-dtls', 'min-fingerprint-hash-sha-384', 'require-srtp-answerer']);
      const viaList = normalizeNgDict({ command: 'offer', 'call-id': 'c', 'from-tag': 'a', sdp: A('RTP/AVP'), flags: ['require-srtp'] }) as NgOfferRequest;
      assert.deepEqual([...viaList.flags], ['require-srtp']);
    });

    it('daemon options srtp.keyExchanges / minFingerprintHash / requireSrtp reach the policy; defaults; bad values fail at start', () => {
      const def = loadConfig({ argv: [], env: {} });
      assert.equal(def.kind, 'config');
      if (def.kind !== 'config') return;
      const d = cryptoPolicyOf(def.config.srtp);
      assert.deepEqual([d.keyExchanges, d.minFingerprintHash, d.requireSrtp], [['sdes', 'dtls'], 'sha-256', 'none']);
      const r = loadConfig({ argv: ['--srtp-key-exchanges', 'dtls', '--srtp-min-fingerprint-hash', 'SHA-384'], env: { SRTPGATE_SRTP_REQUIRE_SRTP: 'both' } });
      assert.equal(r.kind, 'config');
      if (r.kind !== 'config') return;
      const p = cryptoPolicyOf(r.config.srtp);
      assert.deepEqual([p.keyExchanges, p.minFingerprintHash, p.requireSrtp], [['dtls'], 'sha-384', 'both']);
      for (const bad of [{ keyExchanges: '' }, { keyExchanges: 'sdes,zrtp' }, { minFingerprintHash: 'sha-1' }, { requireSrtp: 'callee' }]) {
        assert.throws(() => policyKnobsOf({ ...r.config.srtp, ...bad }), RelayError, JSON.stringify(bad));
        assert.throws(() => cryptoPolicyOf({ ...r.config.srtp, ...bad }), ConfigError, JSON.stringify(bad));
      }
    });

    it('HTTP: policy.keyExchanges / minFingerprintHash / requireSrtp become the ng flags; bad values are a 400', async () => {
      const seen: (NgOfferRequest | NgAnswerRequest)[] = [];
      const PLAIN = A('RTP/SAVP', [crypto(1)]);
      const control: CallControl = {
        async offer(req) { seen.push(req); return { sdp: PLAIN, warnings: [] }; },
        async answer(req) { seen.push(req); return { sdp: PLAIN, warnings: [] }; },
        delete: () => ({ deleted: false }),
        query: () => { throw new RelayError('E_NOT_FOUND', 'Unknown call-id'); },
        list: () => [],
        statistics: () => ({ currentSessions: 0, totals: {} }),
      };
      const api = await HttpApi.listen({ control, metrics: new Metrics({ version: 't' }), port: 0, version: 't' });
      try {
        const post = async (what: 'offer' | 'answer', body: unknown): Promise<number> => {
          const r = await fetch(`http://127.0.0.1:${api.address.port}/v1/calls/h1/${what}`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000),
          });
          await r.body?.cancel();
          return r.status;
        };
        assert.equal(await post('offer', { fromTag: 'a', sdp: PLAIN, policy: { keyExchanges: ['dtls'], minFingerprintHash: 'sha-512', requireSrtp: true } }), 200);
        assert.deepEqual([...seen[0]!.flags].sort(), ['key-exchange-dtls', 'min-fingerprint-hash-sha-512', 'require-srtp']);
        assert.equal(await post('answer', { fromTag: 'a', toTag: 'b', sdp: PLAIN, policy: { requireSrtp: true } }), 200);
        assert.deepEqual([...seen[1]!.flags], ['require-srtp-answerer']);
        for (const policy of [{ keyExchanges: [] }, { keyExchanges: ['zrtp'] }, { minFingerprintHash: 'sha-1' }]) {
          assert.equal(await post('offer', { fromTag: 'a', sdp: PLAIN, policy }), 400, JSON.stringify(policy));
        }
        assert.equal(seen.length, 2);
        const doc = await (await fetch(`http://127.0.0.1:${api.address.port}/openapi.json`)).json() as { components: { schemas: { CryptoPolicy: { properties: Record<string, unknown> } } } };
        for (const k of ['keyExchanges', 'minFingerprintHash', 'requireSrtp']) assert.ok(k in doc.components.schemas.CryptoPolicy.properties, k);
      } finally {
        api.close(0);
      }
    });
  });
});
