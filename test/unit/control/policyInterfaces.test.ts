// Where the policy's per-check verdicts and signalling marks come in and where its audit
// events go out: the HTTP API's policy object and signalling fields become the ng flags the
// controller reads; SecurityLog and Metrics turn controller 'audit' events into security
// lines and srtpgate_security_events_total{kind="policy-audit"}; the daemon's srtp.* options.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { HttpApi } from '../../../src/control/HttpApi.ts';
import type { CallControl } from '../../../src/control/commands.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { requestPolicy, resolvePolicy, policyKnobsOf } from '../../../src/control/policy.ts';
import type { PolicyEvents } from '../../../src/control/RequestGuard.ts';
import { POLICY_CHECKS, checkByName, kebabOf } from '../../../src/control/policyChecks.ts';
import { SecurityLog } from '../../../src/security/SecurityLog.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';
import { Logger } from '../../../src/Logger.ts';
import { RelayError } from '../../../src/errors.ts';
import { loadConfig } from '../../../src/config.ts';
import { cryptoPolicyOf } from '../../../src/cli.ts';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n';

class Recorder implements CallControl {
  offers: NgOfferRequest[] = [];
  async offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: string[] }> { this.offers.push(req); return { sdp: SDP, warnings: [] }; }
  async answer(_req: NgAnswerRequest): Promise<{ sdp: string; warnings: string[] }> { return { sdp: SDP, warnings: [] }; }
  delete(): { deleted: boolean } { return { deleted: false }; }
  query(): object { throw new RelayError('E_NOT_FOUND', 'Unknown call-id'); }
  list(): string[] { return []; }
  statistics(): { currentSessions: number; totals: Record<string, number> } { return { currentSessions: 0, totals: {} }; }
}

describe('policy verdicts in and audit events out', () => {
  let api: HttpApi | null = null;
  after(() => api?.close(0));

  it('check names: camelCase and kebab-case both resolve; flags use kebab-case', () => {
    for (const c of POLICY_CHECKS) {
      assert.equal(checkByName(c), c);
      assert.equal(checkByName(kebabOf(c)), c);
    }
    assert.equal(kebabOf('sdesInsecureSignalling'), 'sdes-insecure-signalling');
    assert.equal(checkByName('nonsense'), undefined);
  });

  it('ng flags: audit-/refuse-<check>, audit-all, insecure-signalling[-peer]; the relay policy is not changed', () => {
    const base = resolvePolicy();
    const r = requestPolicy(base, ['audit-all', 'refuse-lifetime', 'insecure-signalling', 'trust-address']);
    assert.equal(r.policy.onViolation.shortTag, 'audit');
    assert.equal(r.policy.onViolation.lifetime, 'refuse');
    assert.equal(r.policy.dtlsBidDown, 'warn');
    assert.equal(r.insecureSender, true);
    assert.equal(r.insecurePeer, false);
    assert.deepEqual([...r.consumed].sort(), ['audit-all', 'insecure-signalling', 'refuse-lifetime']);
    assert.equal(base.onViolation.shortTag, 'refuse');
    assert.equal(requestPolicy(base, []).policy, base, 'no flags: the same object');
  });

  it('Kamailio spellings: bare words in rtpp-flags or in the flags list reach the controller as flags', () => {
    const viaRtpp = normalizeNgDict({ command: 'offer', 'call-id': 'c', 'from-tag': 'a', sdp: SDP, 'rtpp-flags': 'replace-origin audit-short-tag insecure-signalling' });
    assert.deepEqual([...requestPolicy(resolvePolicy(), viaRtpp.flags).consumed].sort(), ['audit-short-tag', 'insecure-signalling']);
    const viaList = normalizeNgDict({ command: 'offer', 'call-id': 'c', 'from-tag': 'a', sdp: SDP, flags: ['Insecure_Signalling', 'REFUSE-ALL'] });
    const r = requestPolicy(resolvePolicy({ onViolation: { lifetime: 'audit' } }), viaList.flags);
    assert.equal(r.insecureSender, true);
    assert.equal(r.policy.onViolation.lifetime, 'refuse');
  });

  it('resolvePolicy validates verdicts, tag bits and lifetimes (E_BAD_REQUEST)', () => {
    const bad = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST');
    bad(() => resolvePolicy({ onViolation: { nonsense: 'audit' } as never }));
    bad(() => resolvePolicy({ onViolation: { shortTag: 'maybe' } as never }));
    bad(() => resolvePolicy({ minAuthTagBits: 64 as never }));
    bad(() => resolvePolicy({ minKeyLifetime: 2 ** 20, maxKeyLifetime: 2 ** 10 }));
    bad(() => resolvePolicy({ sdesOverInsecureSignalling: 'sometimes' as never }));
    const d = resolvePolicy();
    assert.equal(d.minKeyLifetime, 2 ** 16);
    assert.equal(d.maxKeyLifetime, 2 ** 48);
    assert.equal(d.sdesOverInsecureSignalling, 'refuse');
    assert.ok(POLICY_CHECKS.every((c) => d.onViolation[c] === 'refuse'));
  });

  it('daemon options srtp.audit / minAuthTagBits / key lifetimes / sdesOverInsecureSignalling reach the policy', () => {
    const r = loadConfig({ argv: ['--srtp-audit', 'shortTag,reinvite-weaker', '--srtp-min-auth-tag-bits', '80', '--srtp-sdes-over-insecure-signalling', 'audit'], env: {} });
    assert.equal(r.kind, 'config');
    if (r.kind !== 'config') return;
    const p = cryptoPolicyOf(r.config.srtp);
    assert.equal(p.onViolation.shortTag, 'audit');
    assert.equal(p.onViolation.reinviteWeaker, 'audit');
    assert.equal(p.onViolation.lifetime, 'refuse');
    assert.equal(p.minAuthTagBits, 80);
    assert.equal(p.sdesOverInsecureSignalling, 'audit');
    assert.throws(() => policyKnobsOf({ ...r.config.srtp, audit: 'bogus' }), RelayError);
  });

  it('HTTP: policy.onViolation and signalling/peerSignalling become the ng flags; unknown checks are a 400', async () => {
    const control = new Recorder();
    api = await HttpApi.listen({ control, metrics: new Metrics({ version: 't' }), port: 0, version: 't' });
    const post = (body: unknown) => fetch(`http://127.0.0.1:${api!.address.port}/v1/calls/c1/offer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000),
    });
    let r = await post({ fromTag: 'a', sdp: SDP, signalling: 'insecure', peerSignalling: 'insecure', policy: { onViolation: { shortTag: 'audit', lifetime: 'refuse' } } });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.deepEqual([...control.offers[0]!.flags].sort(), ['audit-short-tag', 'insecure-signalling', 'insecure-signalling-peer', 'refuse-lifetime']);
    r = await post({ fromTag: 'a', sdp: SDP, policy: { onViolation: { nonsense: 'audit' } } });
    assert.equal(r.status, 400);
    await r.body?.cancel();
    r = await post({ fromTag: 'a', sdp: SDP, signalling: 'maybe' });
    assert.equal(r.status, 400);
    await r.body?.cancel();
    assert.equal(control.offers.length, 1);
    const doc = await (await fetch(`http://127.0.0.1:${api.address.port}/openapi.json`)).json() as { components: { schemas: { CryptoPolicy: { properties: { onViolation: { properties: Record<string, unknown> } } } } } };
    assert.deepEqual(Object.keys(doc.components.schemas.CryptoPolicy.properties.onViolation.properties), [...POLICY_CHECKS]);
  });

  it('SecurityLog: a controller audit event is one policy-audit line and one metric count, without SDP or keys', () => {
    const lines: Record<string, unknown>[] = [];
    const log = new Logger({ level: 'debug', write: (l) => { lines.push(JSON.parse(l) as Record<string, unknown>); } });
    const sec = new SecurityLog({ log });
    const metrics = new Metrics({ version: 't' });
    metrics.observeSecurity(sec.observer);
    const observer = new EventEmitter<PolicyEvents>();
    sec.observeCallController(observer);
    observer.emit('audit', { callId: 'call-1', command: 'offer', check: 'shortTag', code: 'E_BID_DOWN', media: 1 });
    assert.equal(sec.count('policy-audit'), 1);
    assert.equal(metrics.securityEventCount('policy-audit'), 1);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'security');
    assert.deepEqual(lines[0]!.context, { event: 'policy-audit', check: 'shortTag', code: 'E_BID_DOWN', callId: 'call-1', command: 'offer', media: 1 });
    assert.match(metrics.render(), /^srtpgate_security_events_total\{kind="policy-audit"\} 1$/m);
    assert.doesNotMatch(JSON.stringify(lines), /inline:|a=crypto/);
    sec.close();
  });
});
