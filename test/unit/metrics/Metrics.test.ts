// Metrics: counters stay monotonic across session close, labels are escaped, control events counted.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Metrics, type MediaSource, type SessionLike } from '../../../src/metrics/Metrics.ts';
import { StreamStats } from '../../../src/media/StreamStats.ts';
import type { ControlServerEvents } from '../../../src/control/ControlServer.ts';

function session(packetsIn: number, authDrops: number): { s: SessionLike; stats: StreamStats } {
  const stats = new StreamStats();
  stats.packetsIn = packetsIn;
  stats.packetsOut = packetsIn;
  stats.drops.auth = authDrops;
  return { s: { legs: [{ streams: [{ stats }] }, { streams: [] }] }, stats };
}

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('Metrics', () => {
  it('keeps media counters monotonic when a session closes', () => {
    const live = new Set<SessionLike>();
    const media: MediaSource = { get sessionCount() { return live.size; }, sessions: () => live.values() };
    const m = new Metrics({ media });
    const a = session(10, 2);
    const b = session(5, 0);
    live.add(a.s).add(b.s);
    let text = m.render();
    assert.equal(sample(text, 'srtpgate_sessions'), 2);
    assert.equal(sample(text, 'srtpgate_packets_in_total'), 15);
    assert.equal(sample(text, 'srtpgate_auth_failures_total'), 2);
    assert.equal(sample(text, 'srtpgate_packet_drops_total{reason="auth"}'), 2);
    live.delete(a.s);
    m.sessionClosed(a.s, 'deleted');
    text = m.render();
    assert.equal(sample(text, 'srtpgate_sessions'), 1);
    assert.equal(sample(text, 'srtpgate_packets_in_total'), 15, 'the closed session still counts');
    assert.equal(sample(text, 'srtpgate_sessions_closed_total{reason="deleted"}'), 1);
  });

  it('counts ng commands, errors, drops and retransmissions from the server observer', () => {
    const m = new Metrics();
    const observer = new EventEmitter<ControlServerEvents>();
    m.observeControlServer(observer);
    observer.emit('command', { command: 'offer', result: 'ok', durationMs: 2 });
    observer.emit('command', { command: 'offer', result: 'error', code: 'E_PORTS_EXHAUSTED', durationMs: 1 });
    observer.emit('drop', { reason: 'source' });
    observer.emit('retransmit');
    const text = m.render();
    assert.equal(sample(text, 'srtpgate_control_commands_total{interface="ng",command="offer"}'), 2);
    assert.equal(sample(text, 'srtpgate_control_errors_total{interface="ng",command="offer",code="E_PORTS_EXHAUSTED"}'), 1);
    assert.equal(sample(text, 'srtpgate_ng_dropped_total{reason="source"}'), 1);
    assert.equal(sample(text, 'srtpgate_ng_retransmissions_total'), 1);
    assert.equal(m.commandCount('ng', 'offer'), 2);
  });

  it('escapes label values', () => {
    const m = new Metrics();
    m.countHttp('a"b\\c\nd', 200);
    assert.match(m.render(), /route="a\\"b\\\\c\\nd"/);
  });
});
