import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Logger } from '../../../src/Logger.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';
import { SecurityLog, type StormSession } from '../../../src/security/SecurityLog.ts';
import type { SecurityEvent } from '../../../src/session/RateLimiter.ts';
import type { ControlServerEvents } from '../../../src/control/ControlServer.ts';
import type { HttpApiEvents } from '../../../src/control/HttpApi.ts';

function capture() {
  const lines: { level: string; msg: string; context: Record<string, unknown> }[] = [];
  const log = new Logger({ level: 'debug', write: (l) => { lines.push(JSON.parse(l)); } });
  return { log, lines };
}

function fakeSession(callId: string, auths: number[][]): StormSession & { set(leg: number, s: number, v: number): void } {
  const legs = auths.map((streams, li) => ({
    tag: `tag-${li}`,
    streams: streams.map((auth, index) => ({ index, stats: { drops: { auth } } })),
  }));
  return { callId, legs, set: (l, s, v) => { legs[l]!.streams[s]!.stats.drops.auth = v; } };
}

describe('SecurityLog', () => {
  it('a relay ban becomes one security line and one counted event', () => {
    const { log, lines } = capture();
    const sec = new SecurityLog({ log });
    const metrics = new Metrics();
    metrics.observeSecurity(sec.observer);
    const relay = new EventEmitter<{ security: [SecurityEvent] }>();
    sec.observeRelay(relay);
    relay.emit('security', { kind: 'ban', source: '192.0.2.7', failures: 50, untilMs: 123456 });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'warn');
    assert.equal(lines[0]!.msg, 'security');
    assert.deepEqual(lines[0]!.context, { event: 'ban', source: '192.0.2.7', failures: 50, untilMs: 123456 });
    assert.equal(sec.count('ban'), 1);
    assert.equal(metrics.securityEventCount('ban'), 1);
    assert.match(metrics.render(), /^srtpgate_security_events_total\{kind="ban"\} 1$/m);
  });

  it('E_BID_DOWN and E_NO_COMMON_SUITE from ng and HTTP are bid-down events; other codes are not', () => {
    const { log, lines } = capture();
    const sec = new SecurityLog({ log });
    const ng = new EventEmitter<ControlServerEvents>();
    const http = new EventEmitter<HttpApiEvents>();
    sec.observeControlServer(ng);
    sec.observeHttpApi(http);
    ng.emit('command', { command: 'offer', result: 'error', code: 'E_BID_DOWN', durationMs: 1 });
    ng.emit('command', { command: 'answer', result: 'error', code: 'E_NO_COMMON_SUITE', durationMs: 1 });
    ng.emit('command', { command: 'offer', result: 'error', code: 'E_BAD_SDP', durationMs: 1 });
    ng.emit('command', { command: 'offer', result: 'ok', durationMs: 1 });
    http.emit('request', { route: 'offer', status: 422, code: 'E_BID_DOWN' });
    http.emit('request', { route: 'offer', status: 400, code: 'E_BAD_REQUEST' });
    assert.deepEqual(lines.map((l) => l.context), [
      { event: 'bid-down', code: 'E_BID_DOWN', interface: 'ng', command: 'offer' },
      { event: 'bid-down', code: 'E_NO_COMMON_SUITE', interface: 'ng', command: 'answer' },
      { event: 'bid-down', code: 'E_BID_DOWN', interface: 'http', command: 'offer' },
    ]);
    assert.equal(sec.count('bid-down'), 3);
  });

  it('auth-failure storm: a rise of >= threshold within one check interval, per stream', () => {
    const { log, lines } = capture();
    const s1 = fakeSession('call-1', [[5, 0], [0]]);
    const sessions: StormSession[] = [s1];
    const sec = new SecurityLog({ log, media: { sessions: () => sessions }, stormThreshold: 10, stormIntervalMs: 0 });
    const metrics = new Metrics();
    metrics.observeSecurity(sec.observer);
    // Baseline at construction: the 5 failures from before are not a storm.
    assert.equal(sec.checkStorms(), 0);
    s1.set(0, 0, 14); // +9: below
    s1.set(1, 0, 10); // +10: a storm
    assert.equal(sec.checkStorms(), 1);
    assert.deepEqual(lines.map((l) => l.context), [
      { event: 'auth-failure-storm', callId: 'call-1', leg: 'tag-1', stream: 0, failures: 10, intervalMs: 0, total: 10 },
    ]);
    // The rise is measured per interval: no new failures, no new storm.
    assert.equal(sec.checkStorms(), 0);
    s1.set(0, 0, 30); // +16 since the last check
    assert.equal(sec.checkStorms(), 1);
    // A stream created after the baseline counts from 0.
    sessions.push(fakeSession('call-2', [[12]]));
    assert.equal(sec.checkStorms(), 1);
    assert.equal(sec.count('auth-failure-storm'), 3);
    assert.equal(metrics.securityEventCount('auth-failure-storm'), 3);
    sec.close();
    sec.close();
    s1.set(0, 0, 1000);
    assert.equal(sec.checkStorms(), 0, 'closed: no checks');
  });

  it('caps storm lines per check but counts every storm', () => {
    const { log, lines } = capture();
    const s = fakeSession('c', [[0, 0, 0, 0, 0]]);
    const sec = new SecurityLog({ log, media: { sessions: () => [s] }, stormThreshold: 1, stormIntervalMs: 0, maxStormLinesPerCheck: 2 });
    for (let i = 0; i < 5; i++) s.set(0, i, 7);
    assert.equal(sec.checkStorms(), 5);
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.context.suppressed, 3);
    assert.equal(sec.count('auth-failure-storm'), 5);
  });

  it('the timer syncs worker stats, then checks; close stops it', async () => {
    const { log, lines } = capture();
    const s = fakeSession('timed', [[0]]);
    let syncs = 0;
    const sec = new SecurityLog({
      log, stormThreshold: 3, stormIntervalMs: 20,
      media: { sessions: () => [s], syncStats: async () => { syncs++; s.set(0, 0, syncs * 10); } },
    });
    await new Promise((r) => setTimeout(r, 70));
    sec.close();
    const seen = lines.length;
    assert.ok(syncs >= 1 && seen >= 1, `syncs ${syncs}, lines ${seen}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lines.length, seen, 'no checks after close');
  });

  it('never writes key material, even if an event source carried some', () => {
    const { log, lines } = capture();
    const sec = new SecurityLog({ log });
    const relay = new EventEmitter<{ security: [SecurityEvent] }>();
    sec.observeRelay(relay);
    const leaky = { kind: 'ban', source: '198.51.100.1', failures: 3, untilMs: 1, masterKey: 'c2VjcmV0LWtleS1tYXRlcmlhbA==', inline: 'inline:QUJD' };
    relay.emit('security', leaky as unknown as SecurityEvent);
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('c2VjcmV0') && !text.includes('QUJD'), text);
    assert.deepEqual(Object.keys(lines[0]!.context).sort(), ['event', 'failures', 'source', 'untilMs']);
  });

  it('Metrics exports every kind at 0 before any event', () => {
    const text = new Metrics().render();
    for (const k of ['ban', 'bid-down', 'auth-failure-storm']) {
      assert.match(text, new RegExp(`^srtpgate_security_events_total\\{kind="${k}"\\} 0$`, 'm'));
    }
  });
});
