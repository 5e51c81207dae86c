// Turns configuration results into table rows, ratios and the printed table.
import type { BenchMode } from './types.ts';
import type { ConfigResult } from './procedure.ts';

export interface Row {
  relay: string;
  mode: BenchMode;
  calls: number;
  maxRate: number;
  limitedBy: ConfigResult['limitedBy'];
  /** Relay CPU per relayed packet at the highest passing rate, µs. */
  relayUsPerPacket: number | null;
  /** Cores (CPU seconds per second) at the highest passing rate. */
  relayCores: number | null;
  genCores: number | null;
  sinkCores: number | null;
  otherCores: number | null;
  latencyRate: number | null;
  /** Raw kernel-receive minus send latency at half the max rate, µs. */
  p50Us: number | null;
  p99Us: number | null;
  /** Loss during the latency trial (rtpengine may mute an overloaded socket for good). */
  latencyLossPct: number | null;
  /** The same minus the direct path's (the generator's own share). */
  addedP50Us: number | null;
  addedP99Us: number | null;
  forgedSent: number | null;
  forgedDelivered: number | null;
  keyCopied: number;
  error?: string;
}

export interface Ratio {
  /** The srtpgate variant compared with rtpengine. */
  relay: string;
  mode: BenchMode;
  calls: number;
  /** Which side stopped at the generator's limit (its max is a lower bound), if any. */
  generatorBound: 'srtpgate' | 'rtpengine' | 'both' | null;
  /** srtpgate / rtpengine; above 1 means srtpgate relays more. */
  maxRate: number | null;
  /** srtpgate / rtpengine; below 1 means srtpgate spends less CPU per packet. */
  relayUsPerPacket: number | null;
  addedP50Us: number | null;
  addedP99Us: number | null;
}

export function toRow(c: ConfigResult, baseline: ConfigResult | undefined): Row {
  const b = c.best;
  const lat = c.latency;
  const base = baseline?.latency;
  // CPU read around the whole trial window is divided by that window; the sender thread's by
  // the send period it covers.
  const per = (v: number | null | undefined, s: number | undefined): number | null =>
    v === null || v === undefined || s === undefined || s <= 0 ? null : v / s;
  const valid = (v: number | undefined): v is number => v !== undefined && v >= 0;
  return {
    relay: c.relay,
    mode: c.mode === 'direct' ? 'srtp-srtp' : c.mode,
    calls: c.calls,
    maxRate: c.maxRate,
    limitedBy: c.limitedBy,
    relayUsPerPacket: b && b.relayCpuS !== null && b.received > 0 ? (b.relayCpuS / b.received) * 1e6 : null,
    relayCores: per(b?.relayCpuS, b?.windowS),
    genCores: per(b?.genCpuS, b?.seconds),
    sinkCores: per(b?.sinkCpuS, b?.windowS),
    otherCores: per(b?.otherCpuS, b?.windowS),
    latencyRate: lat ? lat.rate : null,
    p50Us: lat && valid(lat.p50Us) ? lat.p50Us : null,
    p99Us: lat && valid(lat.p99Us) ? lat.p99Us : null,
    latencyLossPct: lat ? lat.lossPct : null,
    addedP50Us: lat && base && valid(lat.p50Us) && valid(base.p50Us) ? lat.p50Us - base.p50Us : null,
    addedP99Us: lat && base && valid(lat.p99Us) && valid(base.p99Us) ? lat.p99Us - base.p99Us : null,
    forgedSent: c.probe ? c.probe.forgedSent : null,
    forgedDelivered: c.forgedDelivered,
    keyCopied: c.keyCopied,
    ...(c.error ? { error: c.error } : {}),
  };
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

export function ratios(rows: readonly Row[]): Ratio[] {
  const out: Ratio[] = [];
  for (const s of rows.filter((r) => r.relay.startsWith('srtpgate'))) {
    const e = rows.find((r) => r.relay === 'rtpengine' && r.mode === s.mode && r.calls === s.calls);
    if (!e) continue;
    const sg = s.limitedBy === 'generator';
    const eg = e.limitedBy === 'generator';
    out.push({
      relay: s.relay,
      mode: s.mode,
      calls: s.calls,
      generatorBound: sg && eg ? 'both' : sg ? 'srtpgate' : eg ? 'rtpengine' : null,
      maxRate: ratio(s.maxRate || null, e.maxRate || null),
      relayUsPerPacket: ratio(s.relayUsPerPacket, e.relayUsPerPacket),
      addedP50Us: ratio(s.addedP50Us, e.addedP50Us),
      addedP99Us: ratio(s.addedP99Us, e.addedP99Us),
    });
  }
  return out;
}

const num = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));
const kpps = (v: number): string => (v === 0 ? '-' : `${(v / 1000).toFixed(1)}k`);
const times = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}×`);

export function formatTable(rows: readonly Row[], rs: readonly Ratio[], baselines: readonly ConfigResult[]): string {
  const head = ['relay', 'mode', 'calls', 'max pkt/s', 'limit', 'relay µs/pkt', 'relay cores', 'gen cores', 'sink cores', 'other cores',
    'lat @ pkt/s', 'lat loss%', 'p50 µs', 'p99 µs', '+p50 µs', '+p99 µs', 'forged→sink'];
  const body: string[][] = [];
  const modes = [...new Set(rows.map((r) => r.mode))];
  const callCounts = [...new Set(rows.map((r) => r.calls))];
  for (const calls of callCounts) {
    for (const mode of modes) {
      const group = rows.filter((r) => r.mode === mode && r.calls === calls);
      if (group.length === 0) continue;
      for (const r of group) {
        body.push([
          r.relay, r.mode + (r.keyCopied ? ' (key copied)' : ''), String(r.calls), kpps(r.maxRate), r.error ? 'error' : r.limitedBy,
          num(r.relayUsPerPacket, 1), num(r.relayCores, 2), num(r.genCores, 2), num(r.sinkCores, 2), num(r.otherCores, 2),
          r.latencyRate === null ? '-' : kpps(r.latencyRate), num(r.latencyLossPct, 2), num(r.p50Us), num(r.p99Us), num(r.addedP50Us), num(r.addedP99Us),
          r.forgedSent === null ? '-' : `${r.forgedDelivered ?? '-'}/${r.forgedSent}`,
        ]);
      }
      for (const q of rs.filter((x) => x.mode === mode && x.calls === calls)) {
        // A generator-bound max is a lower bound: the ratio is then one too (≥), an upper
        // bound (≤), or two lower bounds compared (~).
        const mark = { srtpgate: '≥', rtpengine: '≤', both: '~' } as const;
        body.push([`  ${q.relay}/rtpengine`, '', '', `${q.generatorBound ? mark[q.generatorBound] : ''}${times(q.maxRate)}`, '', times(q.relayUsPerPacket), '', '', '', '', '', '', '', '',
          times(q.addedP50Us), times(q.addedP99Us), '']);
      }
    }
  }
  for (const b of baselines) {
    const l = b.latency;
    body.push(['direct (no relay)', 'srtp-srtp', String(b.calls), kpps(b.maxRate), b.maxRate ? b.limitedBy : '', '', '', '', '', '',
      l ? kpps(l.rate) : '-', l ? num(l.lossPct, 2) : '-', l ? num(l.p50Us) : '-', l ? num(l.p99Us) : '-', '', '', '']);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
