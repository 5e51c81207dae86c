// Admission control: may a *new* call be created now?
//
// One question, asked by the ng server before an offer for an unknown Call-ID. Calls already
// up are never refused here (re-INVITEs, answers, deletes, queries pass), so draining a relay
// or running it hot never breaks a call in progress. The refusal itself is spelled by the
// control protocol layer (commands.ts) in the words Kamailio's rtpengine module fails over on:
// `result: load limit` for SBEs that announce `supports: ["load limit"]` (the module logs our
// `message`), else `error-reason: Parallel session limit reached`. Either way the module
// marks nothing dead and asks the next relay of the set for this call only.
//
// Checks, cheapest first:
//   drain         operator switch (config, HTTP POST /v1/drain, SIGUSR2)
//   sbe-sessions  sessions created by one SBE (ng source address) at once
//   cpu           this process's CPU over a sliding window (process.cpuUsage, sampled)
//   load          the host's 1-minute load average (os.loadavg)
// The overall session caps (ng.loadLimit, media.maxSessions) stay where they were: the relay
// enforces the hard one itself, for every interface.
import { EventEmitter } from 'node:events';
import { loadavg } from 'node:os';

/** Why a new call was refused. */
export type AdmissionRefusal = 'drain' | 'sbe-sessions' | 'cpu' | 'load';
export const ADMISSION_REFUSALS: readonly AdmissionRefusal[] = ['drain', 'sbe-sessions', 'cpu', 'load'];

/** What the ng reply's `message` says per refusal (Kamailio writes it into its log). */
const REFUSAL_TEXT: Readonly<Record<AdmissionRefusal, string>> = {
  'drain': 'draining: no new calls',
  'sbe-sessions': 'session limit for this SBE reached',
  'cpu': 'CPU limit reached',
  'load': 'load average limit reached',
};

/** Time and resource readings; tests pass a fake one. */
export interface AdmissionClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** CPU time this process has used (user + system), microseconds. */
  cpuMicros(): number;
  /** 1-minute load average of the host. */
  loadAverage(): number;
}

export const systemClock: AdmissionClock = {
  now: () => performance.now(),
  cpuMicros: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  loadAverage: () => loadavg()[0] ?? 0,
};

export interface AdmissionOptions {
  /** Tells whether a call exists already (its re-offers are always admitted). Required. */
  hasCall: (callId: string) => boolean;
  /** Sessions one SBE (ng source address) may have created and still open; 0 = no cap. Default 0. */
  maxSessionsPerSbe?: number;
  /**
   * Process CPU, in percent of one core (worker threads included, so it can exceed 100),
   * averaged over `cpuWindowMs`, at or above which new calls are refused; 0 = no cap. Default 0.
   */
  maxCpu?: number;
  /** 1-minute load average at or above which new calls are refused; 0 = no cap. Default 0. */
  maxLoad?: number;
  /** Start in drain mode. Default false. */
  drain?: boolean;
  /** Width of the CPU window, ms. Default 5000. */
  cpuWindowMs?: number;
  /** CPU sampling period, ms; 0 = no timer (the owner calls sample()). Default 500. */
  sampleMs?: number;
  /** Default: the process's real clock and counters. */
  clock?: AdmissionClock;
}

export const ADMISSION_DEFAULTS = Object.freeze({ maxSessionsPerSbe: 0, maxCpu: 0, maxLoad: 0, cpuWindowMs: 5000, sampleMs: 500 });

/**
 * How long a slot admitted by check() is held for an offer that never reports back through
 * admitted(). The control layer always reports (ng: a 'finally'); this only bounds a leak.
 */
const RESERVATION_MS = 30_000;

export interface AdmissionEvents {
  refusal: [{ reason: AdmissionRefusal; sbe: string; callId: string }];
  drain: [{ enabled: boolean }];
}

/** The state `statistics`, GET /v1/drain and the metrics report. */
export interface AdmissionSnapshot {
  readonly draining: boolean;
  /** Process CPU over the window, percent of one core; null before two samples. */
  readonly cpuPercent: number | null;
  readonly refusals: Readonly<Record<AdmissionRefusal, number>>;
  /** Open sessions per SBE address that created them. */
  readonly sessionsBySbe: Readonly<Record<string, number>>;
}

interface CpuSample { readonly t: number; readonly cpu: number }

export class Admission {
  /** Monitoring events (metrics and logs subscribe here). */
  readonly observer = new EventEmitter<AdmissionEvents>();
  readonly #hasCall: (callId: string) => boolean;
  readonly #maxPerSbe: number;
  readonly #maxCpu: number;
  readonly #maxLoad: number;
  readonly #windowMs: number;
  readonly #clock: AdmissionClock;
  readonly #timer: NodeJS.Timeout | null;
  /** Call-ID → SBE that created it; a call counts against its creator until its session closes. */
  readonly #owner = new Map<string, string>();
  readonly #perSbe = new Map<string, number>();
  /**
   * Call-ID → SBE and time of an offer admitted by check() and still running. Offers run
   * concurrently (binding ports takes a while): without these, a burst of new calls would
   * all pass the per-SBE cap before the first one counted.
   */
  readonly #reserved = new Map<string, { readonly sbe: string; readonly at: number }>();
  readonly #reservedPerSbe = new Map<string, number>();
  readonly #refusals: Record<AdmissionRefusal, number> = { 'drain': 0, 'sbe-sessions': 0, 'cpu': 0, 'load': 0 };
  /** Oldest first; spans a little more than the window so a full window is always measurable. */
  readonly #samples: CpuSample[] = [];
  #draining: boolean;

  constructor(options: AdmissionOptions) {
    this.#hasCall = options.hasCall;
    this.#maxPerSbe = options.maxSessionsPerSbe ?? ADMISSION_DEFAULTS.maxSessionsPerSbe;
    this.#maxCpu = options.maxCpu ?? ADMISSION_DEFAULTS.maxCpu;
    this.#maxLoad = options.maxLoad ?? ADMISSION_DEFAULTS.maxLoad;
    this.#windowMs = options.cpuWindowMs ?? ADMISSION_DEFAULTS.cpuWindowMs;
    this.#clock = options.clock ?? systemClock;
    this.#draining = options.drain ?? false;
    const sampleMs = options.sampleMs ?? ADMISSION_DEFAULTS.sampleMs;
    this.sample();
    // Sampling costs one cpuUsage() call; it only runs when a CPU cap is configured.
    this.#timer = sampleMs > 0 && this.#maxCpu > 0 ? setInterval(() => this.sample(), sampleMs) : null;
    this.#timer?.unref();
  }

  get draining(): boolean { return this.#draining; }

  /** Switches drain mode; emits 'drain' only on a change. */
  setDrain(enabled: boolean): void {
    if (this.#draining === enabled) return;
    this.#draining = enabled;
    this.observer.emit('drain', { enabled });
  }

  /** Records one CPU reading and forgets those the window no longer needs. */
  sample(): void {
    const t = this.#clock.now();
    this.#samples.push({ t, cpu: this.#clock.cpuMicros() });
    // Keep the newest sample at or before the window's start, so the window is fully covered.
    while (this.#samples.length > 2 && this.#samples[1]!.t <= t - this.#windowMs) this.#samples.shift();
  }

  /** CPU used over the window, percent of one core; null until two samples exist. */
  cpuPercent(): number | null {
    if (this.#samples.length < 2) return null;
    const first = this.#samples[0]!;
    const last = this.#samples[this.#samples.length - 1]!;
    const wallMs = last.t - first.t;
    if (wallMs <= 0) return null;
    return ((last.cpu - first.cpu) / 1000 / wallMs) * 100;
  }

  /**
   * Why a new call with this Call-ID from this SBE is refused now, or null to admit it. A
   * known Call-ID is always admitted. A refusal is counted and emitted.
   */
  check(callId: string, sbe: string): { reason: AdmissionRefusal; message: string } | null {
    if (this.#hasCall(callId)) return null;
    // Asked again for an offer still running (another cookie): judged afresh, one slot at most.
    this.#unreserve(callId);
    this.#expireReservations();
    const reason = this.#refusal(sbe);
    if (reason === null) {
      // The slot is held until admitted() settles this offer, whatever its outcome.
      this.#reserved.set(callId, { sbe, at: this.#clock.now() });
      this.#reservedPerSbe.set(sbe, (this.#reservedPerSbe.get(sbe) ?? 0) + 1);
      return null;
    }
    this.#refusals[reason]++;
    this.observer.emit('refusal', { reason, sbe, callId });
    return { reason, message: REFUSAL_TEXT[reason] };
  }

  #refusal(sbe: string): AdmissionRefusal | null {
    if (this.#draining) return 'drain';
    if (this.#maxPerSbe > 0 && (this.#perSbe.get(sbe) ?? 0) + (this.#reservedPerSbe.get(sbe) ?? 0) >= this.#maxPerSbe) return 'sbe-sessions';
    if (this.#maxCpu > 0) {
      const cpu = this.cpuPercent();
      if (cpu !== null && cpu >= this.#maxCpu) return 'cpu';
    }
    if (this.#maxLoad > 0 && this.#clock.loadAverage() >= this.#maxLoad) return 'load';
    return null;
  }

  /**
   * The offer for `callId` finished, whether or not it succeeded: its slot held by check() is
   * freed, and the call counts against `sbe` if it exists now (idempotent: a re-offer does not
   * count twice). A call already gone again (deleted while its offer finished, or never
   * created) is not counted: nothing would release it.
   */
  admitted(callId: string, sbe: string): void {
    this.#unreserve(callId);
    if (this.#owner.has(callId) || !this.#hasCall(callId)) return;
    this.#owner.set(callId, sbe);
    this.#perSbe.set(sbe, (this.#perSbe.get(sbe) ?? 0) + 1);
  }

  #unreserve(callId: string): void {
    const r = this.#reserved.get(callId);
    if (r === undefined) return;
    this.#reserved.delete(callId);
    const n = (this.#reservedPerSbe.get(r.sbe) ?? 1) - 1;
    if (n > 0) this.#reservedPerSbe.set(r.sbe, n);
    else this.#reservedPerSbe.delete(r.sbe);
  }

  /** Frees slots of offers that never reported back (oldest first; the map keeps insertion order). */
  #expireReservations(): void {
    const cutoff = this.#clock.now() - RESERVATION_MS;
    for (const [callId, r] of this.#reserved) {
      if (r.at > cutoff) break;
      this.#unreserve(callId);
    }
  }

  /** The call's session closed: it no longer counts against its SBE. Unknown Call-IDs are ignored. */
  released(callId: string): void {
    const sbe = this.#owner.get(callId);
    if (sbe === undefined) return;
    this.#owner.delete(callId);
    const n = (this.#perSbe.get(sbe) ?? 1) - 1;
    if (n > 0) this.#perSbe.set(sbe, n);
    else this.#perSbe.delete(sbe);
  }

  /** Open sessions created by `sbe`. */
  sessionsOf(sbe: string): number { return this.#perSbe.get(sbe) ?? 0; }

  snapshot(): AdmissionSnapshot {
    // Without a CPU cap nothing samples on a timer: take a reading so the report is current.
    if (this.#timer === null) this.sample();
    return {
      draining: this.#draining,
      cpuPercent: this.cpuPercent(),
      refusals: { ...this.#refusals },
      sessionsBySbe: Object.fromEntries(this.#perSbe),
    };
  }

  /** Stops the sampling timer. Idempotent. */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }
}
