// Security events as structured log lines and counters (RFC 6404 §4: a border element should
// make attacks visible). Three sources feed it, none of which knows it exists (STYLE rule 6):
//   - the relay's `security` event (a source banned for repeated authentication failures);
//   - the control interfaces' observers: an offer or answer refused with E_BID_DOWN or
//     E_NO_COMMON_SUITE (a downgrade attempt, or a misconfigured peer);
//   - the call controller's observer: a policy check set to 'audit' that fired while the call
//     went on ('policy-audit', with the check's name);
//   - a timer that reads every live stream's `stats.drops.auth` and reports a stream whose
//     count rose by at least `stormThreshold` within one interval (an auth-failure storm:
//     forged or stale-key packets aimed at one stream, below or before a ban).
// Each event becomes one `log.warn('security', {event, ...})` line and a `security` event on
// `observer` (Metrics counts it as srtpgate_security_events_total{kind}). Nothing here ever
// sees key material: events carry addresses, counts, Call-IDs, tags and error codes only.
import { EventEmitter } from 'node:events';
import type { Logger } from '../Logger.ts';
import type { SecurityEvent as RelaySecurityEvent } from '../session/RateLimiter.ts';
import type { ControlServerEvents } from '../control/ControlServer.ts';
import type { HttpApiEvents } from '../control/HttpApi.ts';
import type { PolicyEvents } from '../control/RequestGuard.ts';

export type SecurityEventKind = 'ban' | 'bid-down' | 'auth-failure-storm' | 'policy-audit';
export const SECURITY_EVENT_KINDS: readonly SecurityEventKind[] = ['ban', 'bid-down', 'auth-failure-storm', 'policy-audit'];

/** Control error codes that are reported as a 'bid-down' event. */
const BID_DOWN_CODES: ReadonlySet<string> = new Set(['E_BID_DOWN', 'E_NO_COMMON_SUITE']);

export type SecurityLogEntry =
  | { readonly event: 'ban'; readonly source: string; readonly failures: number; readonly untilMs: number }
  | { readonly event: 'bid-down'; readonly code: string; readonly interface: 'ng' | 'http'; readonly command: string }
  /** A policy check set to 'audit' fired and the call went on (the refusal's code, never the SDP). */
  | {
    readonly event: 'policy-audit';
    readonly check: string;
    readonly code: string;
    readonly callId: string;
    readonly command: string;
    readonly media?: number;
  }
  | {
    readonly event: 'auth-failure-storm';
    readonly callId: string;
    readonly leg: string;
    readonly stream: number;
    /** Auth drops counted within the last interval. */
    readonly failures: number;
    readonly intervalMs: number;
    /** Auth drops on the stream since it was created. */
    readonly total: number;
  };

export interface SecurityLogEvents {
  security: [SecurityLogEntry];
}

/** What emits the relay's security events (Relay satisfies it). */
export interface SecurityEventSource {
  on(event: 'security', listener: (e: RelaySecurityEvent) => void): unknown;
}

/** A stream as the storm check sees it (MediaStreamHandle satisfies it). */
export interface StormStream {
  readonly index: number;
  readonly stats: { readonly drops: { readonly auth: number } };
}

/** A session as the storm check sees it (Session satisfies it). */
export interface StormSession {
  readonly callId: string;
  readonly legs: readonly { readonly tag: string; readonly streams: readonly StormStream[] }[];
}

/** Where live sessions come from (Relay satisfies it). */
export interface StormSource {
  sessions(): Iterable<StormSession>;
  /** Brings counters kept in media workers up to date before a check. */
  syncStats?(): Promise<void>;
}

export interface SecurityLogOptions {
  /** Where the `security` lines go (at warn). Required. */
  log: Logger;
  /** Live sessions for the auth-failure-storm check. Default: none (no storm check). */
  media?: StormSource;
  /** A stream whose auth drops rise by at least this much within one interval is a storm. Default 100. */
  stormThreshold?: number;
  /** Storm check period in ms; 0 disables the timer (call `checkStorms()` yourself). Default 10000. */
  stormIntervalMs?: number;
  /** At most this many storm lines per check; the rest are summed in one line. Default 20. */
  maxStormLinesPerCheck?: number;
}

export class SecurityLog {
  /** One `security` event per entry logged (Metrics subscribes here). */
  readonly observer = new EventEmitter<SecurityLogEvents>();
  readonly #log: Logger;
  readonly #media: StormSource | undefined;
  readonly #threshold: number;
  readonly #intervalMs: number;
  readonly #maxLines: number;
  /** Auth drops seen at the previous check, per stream (a closed stream just falls out). */
  #lastAuth = new WeakMap<StormStream, number>();
  readonly #counts = new Map<SecurityEventKind, number>(SECURITY_EVENT_KINDS.map((k) => [k, 0]));
  #timer: NodeJS.Timeout | null = null;
  #checking = false;
  #primed = false;
  #closed = false;

  constructor(options: SecurityLogOptions) {
    this.#log = options.log;
    this.#media = options.media;
    this.#threshold = Math.max(1, options.stormThreshold ?? 100);
    this.#intervalMs = options.stormIntervalMs ?? 10_000;
    this.#maxLines = options.maxStormLinesPerCheck ?? 20;
    // Baseline first, so failures counted before this log existed are not reported as a storm.
    if (this.#media) this.checkStorms();
    if (this.#media && this.#intervalMs > 0) {
      this.#timer = setInterval(() => { void this.#tick(); }, this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Events reported so far, by kind. */
  count(kind: SecurityEventKind): number {
    return this.#counts.get(kind) ?? 0;
  }

  /** Subscribes to a relay's `security` events (bans). */
  observeRelay(relay: SecurityEventSource): void {
    relay.on('security', (e) => {
      if (e.kind === 'ban') this.#report({ event: 'ban', source: e.source, failures: e.failures, untilMs: e.untilMs });
    });
  }

  /** Subscribes to an ng server's observer: offers/answers refused as a bid-down. */
  observeControlServer(observer: EventEmitter<ControlServerEvents>): void {
    observer.on('command', (e) => {
      if (e.code !== undefined && BID_DOWN_CODES.has(e.code)) {
        this.#report({ event: 'bid-down', code: e.code, interface: 'ng', command: e.command });
      }
    });
  }

  /** Subscribes to the HTTP API's observer: offers/answers refused as a bid-down. */
  observeHttpApi(observer: EventEmitter<HttpApiEvents>): void {
    observer.on('request', (e) => {
      if (e.code !== undefined && BID_DOWN_CODES.has(e.code)) {
        this.#report({ event: 'bid-down', code: e.code, interface: 'http', command: e.route });
      }
    });
  }

  /** Subscribes to a call controller's observer: policy checks let through by audit. */
  observeCallController(observer: EventEmitter<PolicyEvents>): void {
    observer.on('audit', (e) => {
      this.#report({ event: 'policy-audit', check: e.check, code: e.code, callId: e.callId, command: e.command, ...(e.media !== undefined ? { media: e.media } : {}) });
    });
  }

  /**
   * One storm check over the live streams (the timer calls it; tests may call it directly).
   * Returns the number of storms found.
   */
  checkStorms(): number {
    if (!this.#media || this.#closed) return 0;
    let storms = 0;
    let suppressed = 0;
    for (const session of this.#media.sessions()) {
      for (const leg of session.legs) {
        for (const stream of leg.streams) {
          const total = stream.stats.drops.auth;
          // A stream first seen after the start-up baseline counts from 0 (it was created
          // since the last check); at the baseline nothing is a storm yet.
          const last = this.#lastAuth.get(stream) ?? (this.#primed ? 0 : total);
          this.#lastAuth.set(stream, total);
          const failures = total - last;
          if (failures < this.#threshold) continue;
          storms++;
          const entry = { event: 'auth-failure-storm', callId: session.callId, leg: leg.tag, stream: stream.index, failures, intervalMs: this.#intervalMs, total } as const;
          // Counted and emitted either way; only the first lines of a check are written.
          const writeLine = storms <= this.#maxLines;
          if (!writeLine) suppressed++;
          this.#report(entry, writeLine);
        }
      }
    }
    if (suppressed > 0) {
      this.#log.warn('security', { event: 'auth-failure-storm', suppressed, note: 'more streams in a storm than lines per check' });
    }
    this.#primed = true;
    return storms;
  }

  /** Stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#lastAuth = new WeakMap();
  }

  async #tick(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      await this.#media?.syncStats?.();
      this.checkStorms();
    } catch (e) {
      this.#log.warn('security: storm check failed', { err: e });
    } finally {
      this.#checking = false;
    }
  }

  #report(entry: SecurityLogEntry, writeLine = true): void {
    this.#counts.set(entry.event, this.count(entry.event) + 1);
    if (writeLine) this.#log.warn('security', { ...entry });
    this.observer.emit('security', entry);
  }
}
