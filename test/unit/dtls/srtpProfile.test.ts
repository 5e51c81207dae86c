import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SUITES, suiteByDtlsId } from '../../../src/crypto/suites.ts';
import { Alert, DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import { acceptableSuites, checkSelectedProfile, negotiateSrtpProfile, offeredProfiles, type SrtpProfileDecision } from '../../../src/keying/dtls/srtpProfile.ts';

const GCM256 = 0x0008;
const GCM128 = 0x0007;
const CM80 = 0x0001;
const CM32 = 0x0002;
const NULL80 = 0x0005;

function chosen(r: SrtpProfileDecision | DtlsError): number {
  assert.ok(!(r instanceof DtlsError), r instanceof DtlsError ? r.message : '');
  assert.equal(r.suite, suiteByDtlsId(r.profileId));
  return r.profileId;
}

function refused(r: SrtpProfileDecision | DtlsError, alert: number = Alert.handshakeFailure): void {
  assert.ok(r instanceof DtlsError);
  assert.equal(r.code, 'E_DTLS_NO_SRTP_PROFILE');
  assert.equal(r.alert, alert);
}

describe('SRTP profile negotiation', () => {
  test('our offer: every encrypting table profile, strongest first by rank', () => {
    assert.deepEqual(offeredProfiles(), [GCM256, GCM128, CM80, CM32]);
    const ranks = acceptableSuites().map((s) => s.rank);
    assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a));
    assert.ok(acceptableSuites().every((s) => s.encrypts && s.dtlsId !== null));
  });

  test('server picks in our order, not the peer’s', () => {
    assert.equal(chosen(negotiateSrtpProfile([CM32, CM80, GCM128])), GCM128);
    assert.equal(chosen(negotiateSrtpProfile([CM32, CM80])), CM80);
    assert.equal(chosen(negotiateSrtpProfile([0x1234, CM32])), CM32, 'unknown ids are ignored');
  });

  test('policy narrows: a subset, a minimum rank; empty intersections fail closed', () => {
    assert.equal(chosen(negotiateSrtpProfile([GCM256, CM80], { suites: ['AES_CM_128_HMAC_SHA1_80'] })), CM80);
    refused(negotiateSrtpProfile([CM32], { suites: ['AES_CM_128_HMAC_SHA1_80'] }));
    const cm80rank = suiteByDtlsId(CM80)?.rank ?? 0;
    refused(negotiateSrtpProfile([CM32], { minRank: cm80rank }));
    refused(negotiateSrtpProfile([]));
    refused(negotiateSrtpProfile([0x9999]));
  });

  test('NULL profiles only with insecureAllowNullCipher, and then only if also listed or not excluded', () => {
    refused(negotiateSrtpProfile([NULL80]));
    refused(negotiateSrtpProfile([NULL80], { suites: ['NULL_HMAC_SHA1_80'] }));
    assert.equal(chosen(negotiateSrtpProfile([NULL80], { insecureAllowNullCipher: true })), NULL80);
    assert.equal(chosen(negotiateSrtpProfile([NULL80, CM32], { insecureAllowNullCipher: true })), CM32, 'NULL never beats a real cipher');
  });

  test('client side: exactly one profile, one we offered, one the policy allows', () => {
    const offer = offeredProfiles({ suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] });
    assert.equal(chosen(checkSelectedProfile([CM32], offer)), CM32);
    refused(checkSelectedProfile(null, offer));
    refused(checkSelectedProfile([], offer));
    refused(checkSelectedProfile([GCM256], offer), Alert.illegalParameter);
    refused(checkSelectedProfile([CM80, CM32], offer), Alert.illegalParameter);
    refused(checkSelectedProfile([CM80], offer, { suites: ['AES_CM_128_HMAC_SHA1_32'] }), Alert.illegalParameter);
  });

  test('every profile of the table is reachable by a one-suite policy', () => {
    for (const s of SUITES.filter((x) => x.dtlsId !== null)) {
      const policy = { suites: [s.name], insecureAllowNullCipher: !s.encrypts };
      assert.equal(chosen(negotiateSrtpProfile([s.dtlsId as number], policy)), s.dtlsId);
    }
  });
});
