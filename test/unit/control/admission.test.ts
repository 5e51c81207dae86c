// Admission control: the caps on their own (fake clock), then the refusal replies an SBE sees
// over ng, in both spellings Kamailio's rtpengine module fails over on.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, type AdmissionClock, type AdmissionRefusal } from '../../../src/control/Admission.ts';
import { ControlServer } from '../../../src/control/ControlServer.ts';
import type { CallControl } from '../../../src/control/commands.ts';
import type { NgAnswerRequest, NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';
import { HttpApi } from '../../../src/control/HttpApi.ts';
import { loadConfig } from '../../../src/config.ts';
import { NgClient } from '../../helpers/ngClient.ts';

/** Time and CPU that only move when the test says so. */
class FakeClock implements AdmissionClock {
  t = 0;
  cpu = 0;
  load = 0;
  now(): number { return this.t; }
  cpuMicros(): number { return this.cpu; }
  loadAverage(): number { return this.load; }
  /** `ms` of wall time during which the process used `percent` of one core. */
  advance(ms: number, percent: number): void {
    this.t += ms;
    this.cpu += ms * 10 * percent;
  }
}

function admission(extra: Partial<ConstructorParameters<typeof Admission>[0]> = {}, calls = new Set<string>()): { a: Admission; calls: Set<string>; clock: FakeClock } {
  const clock = new FakeClock();
  const a = new Admission({ hasCall: (id) => calls.has(id), clock, sampleMs: 0, ...extra });
  return { a, calls, clock };
}

describe('Admission', () => {
  it('admits everything with no caps configured', () => {
    const { a } = admission();
    for (let i = 0; i < 100; i++) assert.equal(a.check(`c${i}`, '10.0.0.1'), null);
    assert.deepEqual(a.snapshot().refusals, { 'drain': 0, 'sbe-sessions': 0, 'cpu': 0, 'load': 0 });
  });

  it('drain refuses new Call-IDs but never a call that exists (re-INVITE)', () => {
    const { a, calls } = admission({ drain: true });
    calls.add('up');
    assert.equal(a.check('up', 'sbe'), null);
    assert.equal(a.check('new', 'sbe')?.reason, 'drain');
    const seen: boolean[] = [];
    a.observer.on('drain', (e) => seen.push(e.enabled));
    a.setDrain(false);
    a.setDrain(false);
    assert.equal(a.check('new', 'sbe'), null);
    a.setDrain(true);
    assert.deepEqual(seen, [false, true], 'one event per change, none for a no-op');
    assert.equal(a.snapshot().refusals.drain, 1);
    assert.equal(a.snapshot().draining, true);
  });

  it('caps open sessions per SBE address, released when the session closes', () => {
    const { a, calls } = admission({ maxSessionsPerSbe: 2 });
    for (const id of ['a1', 'a2']) calls.add(id);
    a.admitted('gone', '10.0.0.1');
    assert.equal(a.sessionsOf('10.0.0.1'), 0, 'a call deleted before its offer finished is not counted');
    a.admitted('a1', '10.0.0.1');
    a.admitted('a1', '10.0.0.1'); // a re-offer does not count twice
    assert.equal(a.sessionsOf('10.0.0.1'), 1);
    a.admitted('a2', '10.0.0.1');
    assert.equal(a.check('a3', '10.0.0.1')?.reason, 'sbe-sessions');
    assert.equal(a.check('b1', '10.0.0.2'), null, 'another SBE has its own budget');
    a.released('a1');
    a.released('a1');
    a.released('never-admitted');
    assert.equal(a.sessionsOf('10.0.0.1'), 1);
    assert.equal(a.check('a3', '10.0.0.1'), null);
    a.released('a2');
    assert.deepEqual(a.snapshot().sessionsBySbe, {}, 'an SBE with no sessions is forgotten');
  });

  it('measures CPU over a sliding window and refuses at the cap', () => {
    const { a, clock } = admission({ maxCpu: 80, cpuWindowMs: 5000 });
    assert.equal(a.cpuPercent(), null, 'one sample: no measurement yet');
    assert.equal(a.check('c', 's'), null, 'unknown CPU never refuses');
    for (let i = 0; i < 10; i++) { clock.advance(500, 20); a.sample(); }
    assert.ok(Math.abs(a.cpuPercent()! - 20) < 1e-9, `20 % measured: ${a.cpuPercent()}`);
    assert.equal(a.check('c', 's'), null);
    // A burst: 5 s at 100 % pushes the whole window over the cap.
    for (let i = 0; i < 10; i++) { clock.advance(500, 100); a.sample(); }
    assert.ok(Math.abs(a.cpuPercent()! - 100) < 1e-9, `the old 20 % samples left the window: ${a.cpuPercent()}`);
    assert.equal(a.check('c', 's')?.reason, 'cpu');
    // Half the window idle: 50 %, below the cap again.
    for (let i = 0; i < 5; i++) { clock.advance(500, 0); a.sample(); }
    assert.ok(Math.abs(a.cpuPercent()! - 50) < 1e-9, `${a.cpuPercent()}`);
    assert.equal(a.check('c', 's'), null);
  });

  it('reads this process\'s real CPU time: a busy loop reads more than an idle wait', async () => {
    // The machine is shared, so no absolute figure is asserted: busy > idle, and busy is real work.
    const idle = new Admission({ hasCall: () => false, maxCpu: 5, cpuWindowMs: 1000, sampleMs: 0 });
    await new Promise((r) => setTimeout(r, 250));
    idle.sample();
    const busy = new Admission({ hasCall: () => false, maxCpu: 5, cpuWindowMs: 1000, sampleMs: 0 });
    const until = performance.now() + 250;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    busy.sample();
    const [i, b] = [idle.cpuPercent()!, busy.cpuPercent()!];
    assert.ok(b > i && b >= 5, `busy ${b.toFixed(1)} % vs idle ${i.toFixed(1)} % (${x > 0})`);
    assert.equal(busy.check('c', 's')?.reason, 'cpu');
    idle.close();
    busy.close();
  });

  it('refuses on the 1-minute load average when maxLoad is set', () => {
    const { a, clock } = admission({ maxLoad: 4 });
    clock.load = 3.9;
    assert.equal(a.check('c', 's'), null);
    clock.load = 4;
    assert.equal(a.check('c', 's')?.reason, 'load');
  });

  it('checks the cheapest reason first and counts each refusal once, with an event', () => {
    const { a, clock } = admission({ drain: true, maxLoad: 1 });
    clock.load = 10;
    const events: AdmissionRefusal[] = [];
    a.observer.on('refusal', (e) => events.push(e.reason));
    assert.equal(a.check('x', 's')?.reason, 'drain');
    a.setDrain(false);
    assert.equal(a.check('x', 's')?.reason, 'load');
    assert.deepEqual(events, ['drain', 'load']);
  });

  it('exports srtpgate_draining and srtpgate_admission_refusals_total{reason}', () => {
    const { a } = admission({ maxSessionsPerSbe: 1 }, new Set(['one']));
    const m = new Metrics();
    m.observeAdmission(a.observer, a.draining);
    a.admitted('one', 's');
    a.check('two', 's');
    a.setDrain(true);
    a.check('three', 's');
    const text = m.render();
    assert.match(text, /^srtpgate_draining 1$/m);
    assert.match(text, /^srtpgate_admission_refusals_total\{reason="sbe-sessions"\} 1$/m);
    assert.match(text, /^srtpgate_admission_refusals_total\{reason="drain"\} 1$/m);
    assert.match(text, /^srtpgate_admission_refusals_total\{reason="cpu"\} 0$/m);
  });
});

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n';

/** A controller that creates a "call" per offer, so admission sees real existence. */
class CallsControl implements CallControl {
  readonly calls = new Set<string>();
  offers = 0;
  async offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: string[] }> {
    this.offers++;
    this.calls.add(req.callId);
    return { sdp: SDP, warnings: [] };
  }
  async answer(req: NgAnswerRequest): Promise<{ sdp: string; warnings: string[] }> {
    if (!this.calls.has(req.callId)) throw new Error('unknown call');
    return { sdp: SDP, warnings: [] };
  }
  delete(req: { callId: string }): { deleted: boolean } { return { deleted: this.calls.delete(req.callId) }; }
  query(callId: string): object { return { callId }; }
  list(): string[] { return [...this.calls]; }
  statistics(): { currentSessions: number; totals: Record<string, number> } { return { currentSessions: this.calls.size, totals: {} }; }
}

describe('Admission refusals over ng (what Kamailio sees)', () => {
  let control: CallsControl;
  let gate: Admission;
  let server: ControlServer;
  let sbe1: NgClient;
  let sbe2: NgClient;
  const offer = (callId: string, loadAware: boolean): { [k: string]: string | string[] } => ({
    command: 'offer', 'call-id': callId, 'from-tag': 'ft', sdp: SDP, ...(loadAware ? { supports: ['load limit'] } : {}),
  });

  before(async () => {
    control = new CallsControl();
    gate = new Admission({ hasCall: (id) => control.calls.has(id), maxSessionsPerSbe: 2, sampleMs: 0 });
    server = await ControlServer.listen({ control, port: 0, admission: gate });
    sbe1 = await NgClient.open(server.address, '127.0.0.1');
    sbe2 = await NgClient.open(server.address, '127.0.0.2');
  });
  beforeEach(() => gate.setDrain(false));
  after(async () => {
    await sbe1.close();
    await sbe2.close();
    await server.close(0);
    gate.close();
  });

  it('per-SBE cap: "load limit" with a message to a load-aware SBE, the fail-over error reason otherwise', async () => {
    assert.equal((await sbe1.request(offer('s1-a', true))).reply.result, 'ok');
    assert.equal((await sbe1.request(offer('s1-b', false))).reply.result, 'ok');
    const before = control.offers;
    let r = await sbe1.request(offer('s1-c', true));
    assert.deepEqual(r.reply, { result: 'load limit', message: 'session limit for this SBE reached' });
    r = await sbe1.request(offer('s1-c', false));
    assert.deepEqual(r.reply, { result: 'error', 'error-reason': 'Parallel session limit reached' });
    assert.equal(control.offers, before, 'a refused offer never reaches the controller');
    // Another SBE (source address) is not affected; a re-INVITE of a call up is not refused.
    assert.equal((await sbe2.request(offer('s2-a', true))).reply.result, 'ok');
    assert.equal((await sbe1.request(offer('s1-a', true))).reply.result, 'ok', 're-offer of an existing call');
    // Closing a call frees its slot (the daemon calls released() on 'sessionclose').
    control.calls.delete('s1-a');
    gate.released('s1-a');
    assert.equal((await sbe1.request(offer('s1-c', true))).reply.result, 'ok');
  });

  it('drain: new calls refused, answers/deletes/queries of existing calls served, ping still pongs', async () => {
    assert.equal((await sbe2.request(offer('d-1', true))).reply.result, 'ok');
    gate.setDrain(true);
    assert.deepEqual((await sbe2.request(offer('d-2', true))).reply, { result: 'load limit', message: 'draining: no new calls' });
    assert.deepEqual((await sbe2.request(offer('d-2', false))).reply, { result: 'error', 'error-reason': 'Parallel session limit reached' });
    assert.equal((await sbe2.request(offer('d-1', true))).reply.result, 'ok', 're-INVITE while draining');
    const answer = await sbe2.request({ command: 'answer', 'call-id': 'd-1', 'from-tag': 'tt', 'to-tag': 'ft', sdp: SDP, supports: ['load limit'] });
    assert.equal(answer.reply.result, 'ok');
    assert.equal((await sbe2.request({ command: 'query', 'call-id': 'd-1' })).reply.result, 'ok');
    assert.deepEqual((await sbe2.request({ command: 'ping' })).reply, { result: 'pong' });
    const stats = (await sbe2.request({ command: 'statistics' })).reply as { statistics: { admission: { draining: string; refusals: Record<string, number> } } };
    assert.equal(stats.statistics.admission.draining, 'yes');
    assert.ok(stats.statistics.admission.refusals.drain! >= 2);
    assert.equal((await sbe2.request({ command: 'delete', 'call-id': 'd-1', 'from-tag': 'ft' })).reply.result, 'ok');
  });
});

describe('ping under command pressure', () => {
  it('answers pong even when the command rate limit refuses everything else (Kamailio disables a relay whose ping is not answered pong)', async () => {
    const control = new CallsControl();
    const server = await ControlServer.listen({ control, port: 0, commandsPerSecond: 1, commandBurst: 1 });
    const sbe = await NgClient.open(server.address);
    try {
      assert.equal((await sbe.request({ command: 'offer', 'call-id': 'p-1', 'from-tag': 'ft', sdp: SDP })).reply.result, 'ok');
      const limited = await sbe.request({ command: 'offer', 'call-id': 'p-2', 'from-tag': 'ft', sdp: SDP });
      assert.equal(limited.reply.result, 'error', 'the bucket is empty');
      for (let i = 0; i < 5; i++) {
        assert.deepEqual((await sbe.request({ command: 'ping' })).reply, { result: 'pong' }, `bencode ping ${i}`);
        assert.deepEqual((await sbe.request({ command: 'ping' }, { format: 'json' })).reply, { result: 'pong' }, `JSON ping ${i}`);
      }
      assert.equal((await sbe.request({ command: 'list' })).reply.result, 'error', 'other commands stay limited');
    } finally {
      await sbe.close();
      await server.close(0);
    }
  });
});

describe('Drain over HTTP and admission settings', () => {
  const TOKEN = 'drain-test-token-0123456789';
  let api: HttpApi;
  let gate: Admission;
  let control: CallsControl;
  const url = (path: string): string => `http://127.0.0.1:${api.address.port}${path}`;
  const req = (path: string, init: RequestInit = {}, token = TOKEN): Promise<Response> =>
    fetch(url(path), { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });

  before(async () => {
    control = new CallsControl();
    gate = new Admission({ hasCall: (id) => control.calls.has(id), sampleMs: 0 });
    api = await HttpApi.listen({ control, port: 0, token: TOKEN, admission: gate });
  });
  after(async () => { await api.close(0); gate.close(); });

  it('POST /v1/drain switches drain mode; GET shows it; the bearer token is required', async () => {
    let r = await req('/v1/drain', { method: 'POST', body: JSON.stringify({ enabled: true }) }, 'wrong-token-wrong-token');
    assert.equal(r.status, 401);
    await r.body?.cancel();
    assert.equal(gate.draining, false, 'an unauthenticated request changes nothing');
    r = await req('/v1/drain', { method: 'POST', body: JSON.stringify({ enabled: true }) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { draining: boolean }).draining, true);
    assert.equal(gate.draining, true);
    r = await req('/v1/drain');
    assert.equal(((await r.json()) as { draining: boolean }).draining, true);
    for (const body of ['{"enabled":"yes"}', '{}', '{"enabled":false,"x":1}', '[true]']) {
      r = await req('/v1/drain', { method: 'POST', body });
      assert.equal(r.status, 400, body);
      await r.body?.cancel();
    }
    assert.equal(gate.draining, true, 'a bad body changes nothing');
  });

  it('refuses HTTP offers for new calls while draining (503 E_SESSION_LIMIT) but not re-offers', async () => {
    gate.setDrain(false);
    const offerBody = JSON.stringify({ fromTag: 'ft', sdp: SDP });
    let r = await req('/v1/calls/h-1/offer', { method: 'POST', body: offerBody });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    gate.setDrain(true);
    r = await req('/v1/calls/h-2/offer', { method: 'POST', body: offerBody });
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'E_SESSION_LIMIT');
    r = await req('/v1/calls/h-1/offer', { method: 'POST', body: offerBody });
    assert.equal(r.status, 200, 're-offer of a call up');
    await r.body?.cancel();
    assert.equal(control.offers, 2);
  });

  it('reads control.* from file, environment and flags', () => {
    const files: Record<string, string> = { '/c.json': JSON.stringify({ control: { drain: true, maxSessionsPerSbe: 7 } }) };
    const r = loadConfig({
      argv: ['--config', '/c.json', '--control-max-cpu', '85'],
      env: { SRTPGATE_CONTROL_MAX_LOAD: '12' },
      readFile: (p) => { const f = files[p]; if (f === undefined) throw new Error('ENOENT'); return f; },
    });
    assert.equal(r.kind, 'config');
    if (r.kind !== 'config') return;
    assert.deepEqual(r.config.control, { drain: true, maxSessionsPerSbe: 7, maxCpu: 85, maxLoad: 12, cpuWindowMs: 5000 });
    assert.throws(() => loadConfig({ argv: ['--control-max-cpu', '-1'], env: {} }), /control-max-cpu|out of range/);
  });
});
