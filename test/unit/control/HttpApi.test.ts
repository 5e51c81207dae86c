// The HTTP/JSON API against a fake controller: auth, routing, validation at the edge, the
// typed policy, error shapes, OpenAPI completeness and the Prometheus exposition.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HttpApi, HTTP_ROUTES, policySuites, type HttpApiOptions } from '../../../src/control/HttpApi.ts';
import type { CallControl } from '../../../src/control/commands.ts';
import type { NgAnswerRequest, NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';
import { SUITES } from '../../../src/crypto/suites.ts';
import { RelayError } from '../../../src/errors.ts';

const TOKEN = 'test-token-0123456789abcdef';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

class FakeControl implements CallControl {
  offers: NgOfferRequest[] = [];
  answers: NgAnswerRequest[] = [];
  offerError: unknown = null;
  async offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: string[] }> {
    this.offers.push(req);
    if (this.offerError !== null) throw this.offerError;
    return { sdp: SDP, warnings: [] };
  }
  async answer(req: NgAnswerRequest): Promise<{ sdp: string; warnings: string[] }> {
    this.answers.push(req);
    return { sdp: SDP, warnings: ['w'] };
  }
  delete(req: { callId: string }): { deleted: boolean } { return { deleted: req.callId === 'known' }; }
  query(callId: string): object {
    if (callId !== 'known') throw new RelayError('E_NOT_FOUND', 'Unknown call-id');
    return { created: 1, key: new Uint8Array([1, 2, 3]), big: 5n, tags: {} };
  }
  list(limit?: number): string[] { return ['known', 'other'].slice(0, limit ?? 2); }
  statistics(): { currentSessions: number; totals: Record<string, number> } { return { currentSessions: 0, totals: {} }; }
}

/** Checks Prometheus text format 0.0.4 line by line; returns samples by name+labels. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        assert.match(m[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        typed.add(m[2]!);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    assert.ok(typed.has(m[1]!), `sample before its TYPE line: ${m[1]}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

describe('HttpApi', () => {
  let control: FakeControl;
  let api: HttpApi;
  let metrics: Metrics;
  let base: string;

  async function start(extra: Partial<HttpApiOptions> = {}): Promise<void> {
    await api?.close(0);
    control = new FakeControl();
    metrics = new Metrics({ version: '9.9.9' });
    api = await HttpApi.listen({ control, metrics, port: 0, token: TOKEN, version: '9.9.9', ...extra });
    metrics.observeHttpApi(api.observer);
    base = `http://127.0.0.1:${api.address.port}`;
  }

  const call = (path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${base}${path}`, { ...init, headers, signal: AbortSignal.timeout(5000) });
  };
  const post = (path: string, body: unknown, init: RequestInit & { token?: string | null } = {}): Promise<Response> =>
    call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
  const errorCode = async (r: Response): Promise<string> => ((await r.json()) as { error: { code: string } }).error.code;

  before(() => start());
  after(() => api.close(0));

  it('a refused request whose body was not read says Connection: close, and the next request on a keep-alive client succeeds', async () => {
    // The relay drops such a connection after replying; without the header a keep-alive client
    // (fetch) sends its next request into the closing socket and gets "other side closed".
    for (let i = 0; i < 20; i++) {
      const r = await post('/v1/calls/x/offer', { sdp: 'v=0' }, { token: 'wrong-token-wrong-token' });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('connection'), 'close');
      await r.body?.cancel();
      const ok = await call('/v1/calls');
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    }
  });

  it('requires the bearer token everywhere but /healthz (401 without it or with a wrong one)', async () => {
    for (const path of ['/v1/calls', '/v1/calls/known', '/openapi.json', '/metrics']) {
      let r = await call(path, { token: null });
      assert.equal(r.status, 401, path);
      assert.equal(await errorCode(r), 'E_UNAUTHORIZED');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      r = await call(path, { token: `${TOKEN}x` });
      assert.equal(r.status, 401, path);
      await r.body?.cancel();
      r = await call(path, { token: 'short' });
      assert.equal(r.status, 401, path);
      await r.body?.cancel();
      r = await call(path);
      assert.equal(r.status, 200, path);
      await r.body?.cancel();
    }
    let r = await post('/v1/calls/c1/offer', { fromTag: 'a', sdp: SDP }, { token: null });
    assert.equal(r.status, 401);
    await r.body?.cancel();
    assert.equal(control.offers.length, 0, 'an unauthenticated offer never reaches the controller');
    r = await call('/healthz', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok', version: '9.9.9' });
  });

  it('refuses to start on a non-loopback address without a token', async () => {
    await assert.rejects(HttpApi.listen({ control, address: '0.0.0.0', port: 0 }), /non-loopback/);
    await assert.rejects(HttpApi.listen({ control, address: '::', port: 0, token: '' }), /non-loopback/);
  });

  it('serves an OpenAPI 3.1 document listing every route, and only those', async () => {
    const r = await call('/openapi.json');
    assert.equal(r.status, 200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> };
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    const served = HTTP_ROUTES.map((x) => `${x.method} ${x.path}`).sort();
    assert.deepEqual(documented, served);
    assert.deepEqual(doc.paths['/healthz']!.get!.security, [], '/healthz is documented as open');
  });

  it('serves /metrics as Prometheus text with control commands by command', async () => {
    await start();
    await (await call('/v1/calls')).body?.cancel();
    await (await call('/v1/calls/nope')).body?.cancel();
    const r = await call('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const s = parsePrometheus(await r.text());
    assert.equal(s.get('srtpgate_sessions'), 0);
    assert.equal(s.get('srtpgate_control_commands_total{interface="http",command="list"}'), 1);
    assert.equal(s.get('srtpgate_control_errors_total{interface="http",command="query",code="E_NOT_FOUND"}'), 1);
    assert.equal(s.get('srtpgate_packet_drops_total{reason="auth"}'), 0);
    assert.ok(s.has('srtpgate_auth_failures_total'));
  });

  it('offer: validates the body at the edge and turns the typed policy into suite restrictions', async () => {
    let r = await post('/v1/calls/call%201/offer', { fromTag: 'a', sdp: SDP });
    assert.equal(r.status, 400, 'a Call-ID with a space is refused like in ng');
    await r.body?.cancel();
    const weakest = SUITES.filter((s) => s.encrypts).sort((a, b) => a.rank - b.rank)[0]!;
    const strongest = SUITES.filter((s) => s.encrypts).sort((a, b) => b.rank - a.rank)[0]!;
    r = await post('/v1/calls/c-1/offer', {
      fromTag: 'a', sdp: SDP, transportProtocol: 'RTP/SAVP',
      policy: { allowedSuites: [weakest.name, strongest.name], minimumSuite: strongest.name },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await r.json(), { sdp: SDP, warnings: [] });
    const o = control.offers.at(-1)!;
    assert.equal(o.callId, 'c-1');
    assert.equal(o.fromTag, 'a');
    assert.equal(o.transportProtocol, 'RTP/SAVP');
    assert.deepEqual(o.sdes, [`only-${strongest.name}`], 'the weaker suite is cut by the minimum');
    assert.deepEqual(policySuites({ minimumSuite: weakest.name }).length, SUITES.filter((s) => s.encrypts).length);
  });

  it('policy.requireSrtp refuses plain RTP in the SDP or as the transport, before the controller', async () => {
    const savp = SDP.replace('RTP/AVP', 'RTP/SAVP');
    const before = control.offers.length;
    let r = await post('/v1/calls/c-3/offer', { fromTag: 'a', sdp: SDP, policy: { requireSrtp: true } });
    assert.equal(r.status, 422);
    assert.deepEqual(await r.json(), { error: { code: 'E_BID_DOWN', message: 'policy requires SRTP but media 1 is plain RTP' } });
    r = await post('/v1/calls/c-3/offer', { fromTag: 'a', sdp: savp, transportProtocol: 'RTP/AVP', policy: { requireSrtp: true } });
    assert.equal(r.status, 422);
    await r.body?.cancel();
    r = await post('/v1/calls/c-3/answer', { fromTag: 'b', toTag: 'a', sdp: SDP, policy: { requireSrtp: true } });
    assert.equal(r.status, 422);
    await r.body?.cancel();
    assert.equal(control.offers.length, before);
    r = await post('/v1/calls/c-3/offer', { fromTag: 'a', sdp: savp, policy: { requireSrtp: true } });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    // A disabled section (port 0) is not media and does not count.
    r = await post('/v1/calls/c-4/offer', { fromTag: 'a', sdp: `${savp}m=video 0 RTP/AVP 96\r\n`, policy: { requireSrtp: true } });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });

  it('offer/answer: every kind of bad body is a typed 4xx error, never a crash', async () => {
    const cases: [unknown, number, string, Record<string, string>?][] = [
      ['{"fromTag": ', 400, 'E_BAD_REQUEST'],
      [[], 400, 'E_BAD_REQUEST'],
      [{ sdp: SDP }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, extra: 1 }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, policy: { allowedSuites: ['NULL_HMAC_SHA1_80'] } }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, policy: { allowedSuites: ['ROT13'] } }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, policy: { requireSrtp: 'yes' } }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, policy: { minimumSuite: 'x' } }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP, ice: 'sometimes' }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: 7 }, 400, 'E_BAD_REQUEST'],
      [{ fromTag: 'a', sdp: SDP }, 415, 'E_UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'text/plain' }],
    ];
    for (const [body, status, code, headers] of cases) {
      const r = await post('/v1/calls/c-2/offer', body, headers ? { headers } : {});
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(await errorCode(r), code);
    }
    const r = await post('/v1/calls/c-2/answer', { fromTag: 'b', sdp: SDP });
    assert.equal(r.status, 400, 'answer needs toTag');
    await r.body?.cancel();
    assert.equal(control.offers.length + control.answers.length, 3, 'only the earlier valid offers reached the controller');
  });

  it('refuses an oversized body with 413', async () => {
    await start({ maxBodyBytes: 2048 });
    const r = await post('/v1/calls/c/offer', { fromTag: 'a', sdp: 'x'.repeat(4096) });
    assert.equal(r.status, 413);
    assert.equal(await errorCode(r), 'E_PAYLOAD_TOO_LARGE');
    assert.equal((await call('/healthz')).status, 200);
  });

  it('answer, list, query, delete', async () => {
    let r = await post('/v1/calls/known/answer', { fromTag: 'b', toTag: 'a', sdp: SDP });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { sdp: SDP, warnings: ['w'] });
    assert.equal(control.answers.at(-1)!.toTag, 'a');
    r = await call('/v1/calls?limit=1');
    assert.deepEqual(await r.json(), { calls: ['known'] });
    r = await call('/v1/calls?limit=0');
    assert.equal(r.status, 400);
    await r.body?.cancel();
    r = await call('/v1/calls/known');
    assert.deepEqual(await r.json(), { created: 1, big: 5, tags: {} }, 'binary values never leave the process');
    r = await call('/v1/calls/unknown');
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { error: { code: 'E_NOT_FOUND', message: 'Unknown call-id' } });
    r = await call('/v1/calls/known', { method: 'DELETE' });
    assert.deepEqual(await r.json(), { deleted: true });
    r = await call('/v1/calls/unknown', { method: 'DELETE' });
    assert.equal(r.status, 404);
    await r.body?.cancel();
  });

  it('maps controller errors to statuses by code', async () => {
    control.offerError = new RelayError('E_PORTS_EXHAUSTED', 'Ran out of ports');
    let r = await post('/v1/calls/c/offer', { fromTag: 'a', sdp: SDP });
    assert.equal(r.status, 503);
    assert.equal(await errorCode(r), 'E_PORTS_EXHAUSTED');
    control.offerError = new RelayError('E_BID_DOWN', 'offer is weaker than the policy');
    r = await post('/v1/calls/c/offer', { fromTag: 'a', sdp: SDP });
    assert.equal(r.status, 422);
    await r.body?.cancel();
    control.offerError = new Error('something internal with inline:SECRET');
    r = await post('/v1/calls/c/offer', { fromTag: 'a', sdp: SDP });
    assert.equal(r.status, 500);
    assert.deepEqual(await r.json(), { error: { code: 'E_INTERNAL', message: 'internal error' } });
    control.offerError = null;
  });

  it('404 for unknown paths, 405 with Allow for wrong methods', async () => {
    let r = await call('/v2/whatever');
    assert.equal(r.status, 404);
    assert.equal(await errorCode(r), 'E_NOT_FOUND');
    r = await call('/v1/calls/x/offer');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    await r.body?.cancel();
  });

  it('rate-limits requests with 429 and Retry-After', async () => {
    await start({ requestsPerSecond: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('/v1/calls');
      statuses.push(r.status);
      if (r.status === 429) assert.equal(r.headers.get('retry-after'), '1');
      await r.body?.cancel();
    }
    assert.deepEqual(statuses.filter((s) => s === 429).length, 3);
    assert.equal((await call('/healthz')).status, 200, 'health checks are not rate-limited');
  });

  it('runs open (no token) on loopback', async () => {
    await start({ token: '' });
    const r = await call('/v1/calls', { token: null });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });
});
