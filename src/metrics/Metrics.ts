// Prometheus text exposition (format 0.0.4) of the relay's counters, written by hand: the
// format is a few lines of text and a client library would be the only dependency here.
//
// Media counters live in each stream's StreamStats and die with the session. To keep the
// exported counters monotonic (what Prometheus `rate()` needs), the stats of a closing session
// are folded into running totals, and a scrape adds the live sessions on top.
// Control counters are fed through `observer` events (STYLE rule 6), so neither the ng
// server nor the HTTP API knows metrics exist.
import type { EventEmitter } from 'node:events';
import { DROP_REASONS, type DropReason } from '../media/StreamStats.ts';
import type { ControlServerEvents } from '../control/ControlServer.ts';
import type { HttpApiEvents } from '../control/HttpApi.ts';
import { SECURITY_EVENT_KINDS, type SecurityLogEvents } from '../security/SecurityLog.ts';
import { ADMISSION_REFUSALS, type AdmissionEvents } from '../control/Admission.ts';

/** HTTP routes that are control commands (the rest are documents and probes). */
const HTTP_COMMANDS: ReadonlySet<string> = new Set(['offer', 'answer', 'list', 'query', 'delete']);

/** The per-stream counters a scrape reads (StreamStats satisfies it). */
export interface StatsLike {
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
  readonly rtcpIn: number;
  readonly drops: Readonly<Record<DropReason, number>>;
}

/** A session as the metrics see it (Session satisfies it). */
export interface SessionLike {
  readonly legs: readonly { readonly streams: readonly { readonly stats: StatsLike }[] }[];
}

/** Where live sessions come from (Relay satisfies it). */
export interface MediaSource {
  readonly sessionCount: number;
  sessions(): Iterable<SessionLike>;
  readonly ports?: { readonly inUse: number; readonly capacity: number };
  /** Brings counters kept in other threads up to date (Relay with media workers). */
  syncStats?(): Promise<void>;
}

export type ControlInterface = 'ng' | 'http';

export interface MetricsOptions {
  /** Live sessions to report. Default: none (media metrics read as 0). */
  media?: MediaSource;
  /** Reported in srtpgate_build_info. Default '0.0.0'. */
  version?: string;
  /** Wall clock in ms. Default Date.now. */
  now?: () => number;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface MediaTotals {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  drops: Record<DropReason, number>;
}

function zeroTotals(): MediaTotals {
  const drops = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) drops[r] = 0;
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, rtcpIn: 0, drops };
}

function addSession(t: MediaTotals, s: SessionLike): void {
  for (const leg of s.legs) {
    for (const { stats } of leg.streams) {
      t.packetsIn += stats.packetsIn;
      t.bytesIn += stats.bytesIn;
      t.packetsOut += stats.packetsOut;
      t.bytesOut += stats.bytesOut;
      t.rtcpIn += stats.rtcpIn;
      for (const r of DROP_REASONS) t.drops[r] += stats.drops[r];
    }
  }
}

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [Labels, number];

/** One metric family as another component reports it (see Metrics.addFamilies). */
export interface MetricFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: readonly Sample[];
}

/** Label values may hold anything; the format needs \\, " and newline escaped. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** A counter keyed by label values, in a fixed label order. */
class LabelledCounter {
  readonly labelNames: readonly string[];
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(labelNames: readonly string[]) {
    this.labelNames = labelNames;
  }

  inc(labels: Labels, by = 1): void {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    const e = this.#values.get(key);
    if (e) e.value += by;
    else this.#values.set(key, { labels: { ...labels }, value: by });
  }

  get(labels: Labels): number {
    return this.#values.get(this.labelNames.map((n) => labels[n] ?? '').join('\u0000'))?.value ?? 0;
  }

  samples(): Sample[] {
    return [...this.#values.values()].map((e) => [e.labels, e.value] as const);
  }
}

export class Metrics {
  readonly #media: MediaSource | undefined;
  readonly #version: string;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #closedMedia = zeroTotals();
  readonly #sessionsClosed = new LabelledCounter(['reason']);
  readonly #commands = new LabelledCounter(['interface', 'command']);
  readonly #errors = new LabelledCounter(['interface', 'command', 'code']);
  readonly #ngDrops = new LabelledCounter(['reason']);
  readonly #http = new LabelledCounter(['route', 'status']);
  readonly #security = new LabelledCounter(['kind']);
  readonly #refusals = new LabelledCounter(['reason']);
  /** Drain mode as last reported by the admission observer; null = no admission control. */
  #draining: boolean | null = null;
  readonly #extra: (() => readonly MetricFamily[])[] = [];
  #retransmits = 0;
  #commandSeconds = 0;

  constructor(options: MetricsOptions = {}) {
    this.#media = options.media;
    this.#version = options.version ?? '0.0.0';
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    // Every kind is exported from the start, at 0, so rate() and alerts see the series.
    for (const kind of SECURITY_EVENT_KINDS) this.#security.inc({ kind }, 0);
  }

  /** Folds a closing session's counters into the totals; call from Relay 'sessionclose'. */
  sessionClosed(session: SessionLike, reason: string): void {
    addSession(this.#closedMedia, session);
    this.#sessionsClosed.inc({ reason });
  }

  /** Counts one control command; `code` marks it as an error. */
  countCommand(iface: ControlInterface, command: string, code?: string, seconds = 0): void {
    this.#commands.inc({ interface: iface, command });
    if (code !== undefined) this.#errors.inc({ interface: iface, command, code });
    this.#commandSeconds += seconds;
  }

  /** Counts one HTTP response by route template (never the raw path: Call-IDs are unbounded). */
  countHttp(route: string, status: number): void {
    this.#http.inc({ route, status: String(status) });
  }

  /** Families another component keeps (HA replication), read at every scrape. */
  addFamilies(source: () => readonly MetricFamily[]): void {
    this.#extra.push(source);
  }

  /** Subscribes to an ng server's observer. */
  observeControlServer(observer: EventEmitter<ControlServerEvents>): void {
    observer.on('command', (e) => this.countCommand('ng', e.command, e.code, e.durationMs / 1000));
    observer.on('drop', (e) => this.#ngDrops.inc({ reason: e.reason }));
    observer.on('retransmit', () => { this.#retransmits++; });
  }

  /** Subscribes to the HTTP API's observer: responses by route, API calls as control commands. */
  observeHttpApi(observer: EventEmitter<HttpApiEvents>): void {
    observer.on('request', (e) => {
      if (HTTP_COMMANDS.has(e.route)) this.countCommand('http', e.route, e.code);
      this.countHttp(e.route, e.status);
    });
  }

  /** Subscribes to a SecurityLog's observer: one count per security event, by kind. */
  observeSecurity(observer: EventEmitter<SecurityLogEvents>): void {
    observer.on('security', (e) => this.#security.inc({ kind: e.event }));
  }

  /** Subscribes to the admission control's observer: drain state and refused new calls by reason. */
  observeAdmission(observer: EventEmitter<AdmissionEvents>, draining: boolean): void {
    this.#draining = draining;
    for (const reason of ADMISSION_REFUSALS) this.#refusals.inc({ reason }, 0);
    observer.on('refusal', (e) => this.#refusals.inc({ reason: e.reason }));
    observer.on('drain', (e) => { this.#draining = e.enabled; });
  }

  /** Security events counted so far of one kind. */
  securityEventCount(kind: string): number {
    return this.#security.get({ kind });
  }

  /** Commands counted so far for one interface and command (for tests and /healthz). */
  commandCount(iface: ControlInterface, command: string): number {
    return this.#commands.get({ interface: iface, command });
  }

  /** One scrape with fresh counters: waits for media workers to report first. */
  async collect(): Promise<string> {
    await this.#media?.syncStats?.();
    return this.render();
  }

  /** The whole exposition from the counters as they are now (in-thread counters are always fresh). */
  render(): string {
    const media = zeroTotals();
    // Closed sessions first, then the live ones, so totals never go backwards between scrapes.
    addTotals(media, this.#closedMedia);
    let live = 0;
    if (this.#media) {
      live = this.#media.sessionCount;
      for (const s of this.#media.sessions()) addSession(media, s);
    }
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) {
        const ls = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
        out.push(`${name}${ls ? `{${ls}}` : ''} ${formatValue(value)}`);
      }
    };
    family('srtpgate_build_info', 'gauge', 'Version of the running srtpgate.', [[{ version: this.#version }, 1]]);
    family('srtpgate_start_time_seconds', 'gauge', 'Start time of the process, Unix seconds.', [[{}, Math.floor(this.#startedAt / 1000)]]);
    family('srtpgate_sessions', 'gauge', 'Sessions (calls) currently open.', [[{}, live]]);
    family('srtpgate_sessions_closed_total', 'counter', 'Sessions closed, by reason.', this.#sessionsClosed.samples());
    if (this.#media?.ports) {
      family('srtpgate_media_port_pairs_in_use', 'gauge', 'RTP/RTCP port pairs allocated.', [[{}, this.#media.ports.inUse]]);
      family('srtpgate_media_port_pairs', 'gauge', 'RTP/RTCP port pairs in the configured range.', [[{}, this.#media.ports.capacity]]);
    }
    family('srtpgate_packets_in_total', 'counter', 'Media packets received (RTP and RTCP).', [[{}, media.packetsIn]]);
    family('srtpgate_packets_out_total', 'counter', 'Media packets forwarded.', [[{}, media.packetsOut]]);
    family('srtpgate_bytes_in_total', 'counter', 'Media bytes received.', [[{}, media.bytesIn]]);
    family('srtpgate_bytes_out_total', 'counter', 'Media bytes forwarded.', [[{}, media.bytesOut]]);
    family('srtpgate_rtcp_packets_in_total', 'counter', 'RTCP packets received.', [[{}, media.rtcpIn]]);
    family('srtpgate_packet_drops_total', 'counter', 'Media packets dropped, by reason.',
      DROP_REASONS.map((r) => [{ reason: r }, media.drops[r]] as const));
    family('srtpgate_auth_failures_total', 'counter', 'SRTP/SRTCP packets that failed authentication.', [[{}, media.drops.auth]]);
    family('srtpgate_control_commands_total', 'counter', 'Control commands answered, by interface and command.', this.#commands.samples());
    family('srtpgate_control_errors_total', 'counter', 'Control commands answered with an error, by interface, command and code.', this.#errors.samples());
    family('srtpgate_control_command_seconds_total', 'counter', 'Time spent executing ng commands.', [[{}, this.#commandSeconds]]);
    family('srtpgate_ng_retransmissions_total', 'counter', 'ng requests answered from the reply cache or coalesced with one in progress.', [[{}, this.#retransmits]]);
    family('srtpgate_ng_dropped_total', 'counter', 'ng datagrams refused before any command ran, by reason.', this.#ngDrops.samples());
    family('srtpgate_security_events_total', 'counter', 'Security events (bans, bid-down attempts, auth-failure storms), by kind.', this.#security.samples());
    family('srtpgate_http_responses_total', 'counter', 'HTTP API responses, by route and status.', this.#http.samples());
    if (this.#draining !== null) {
      family('srtpgate_draining', 'gauge', '1 while drain mode refuses new calls.', [[{}, this.#draining ? 1 : 0]]);
      family('srtpgate_admission_refusals_total', 'counter', 'New calls refused by admission control (SBEs fail over), by reason.', this.#refusals.samples());
    }
    for (const source of this.#extra) for (const f of source()) family(f.name, f.type, f.help, f.samples);
    return `${out.join('\n')}\n`;
  }
}

function addTotals(t: MediaTotals, add: MediaTotals): void {
  t.packetsIn += add.packetsIn;
  t.bytesIn += add.bytesIn;
  t.packetsOut += add.packetsOut;
  t.bytesOut += add.bytesOut;
  t.rtcpIn += add.rtcpIn;
  for (const r of DROP_REASONS) t.drops[r] += add.drops[r];
}
