// Flood control for the data path (RFC 6404 §4.9), applied before any crypto: token buckets
// per stream, per session and per source address, and a ban for sources that keep failing
// authentication. Clocks are passed in (the data path's coarse ms clock) so nothing here
// reads time or allocates per packet once a source is known.
import type { PacketAdmission } from './MediaStream.ts';

/** Packets and bytes per second; 0 means unlimited. Bursts hold `burstSeconds` of traffic. */
export interface Rate {
  pps: number;
  bps: number;
}

export interface RateLimiterOptions {
  /** Per stream. Default 1000 packets/s, 2.5 MB/s (HD video with headroom). */
  stream?: Rate;
  /** Per session, all streams together. Default 4000 packets/s, 10 MB/s. */
  session?: Rate;
  /** Per source address (IPv6 keyed by prefix), across sessions. Default 5000 packets/s, 12.5 MB/s. */
  source?: Rate;
  /** Seconds of traffic a bucket may save up. Default 1. */
  burstSeconds?: number;
  /** Share of the stream rate that sources other than the latched peer get together. Default 0.25. */
  othersShare?: number;
  /** Rejected packets (failed authentication, malformed, replayed) from one non-latched
   *  source within `authFailWindowMs` that ban it. Default 50. */
  authFailThreshold?: number;
  /** Default 10000 ms. */
  authFailWindowMs?: number;
  /** How long a ban lasts. Default 60000 ms. */
  banMs?: number;
  /** IPv6 sources are keyed by this prefix length so one host cannot rotate addresses. Default 64. */
  ipv6PrefixBits?: number;
  /** Source entries kept at most (oldest dropped first). Default 65536. */
  maxSources?: number;
}

/** A token bucket over two currencies (packets and bytes), refilled from the caller's clock. */
export class Bucket {
  #pps: number;
  #bps: number;
  readonly #burst: number;
  #packets: number;
  #bytes: number;
  #last: number;

  constructor(rate: Rate, burstSeconds: number, now: number) {
    this.#pps = rate.pps;
    this.#bps = rate.bps;
    this.#burst = burstSeconds;
    this.#packets = rate.pps * burstSeconds;
    this.#bytes = rate.bps * burstSeconds;
    this.#last = now;
  }

  /** The rate now in force. */
  get rate(): Rate { return { pps: this.#pps, bps: this.#bps }; }

  /**
   * Changes the rate from now on. Saved-up tokens are cut to the new burst, never raised: a
   * lower limit takes effect at once and a higher one fills up at its own pace.
   */
  setRate(rate: Rate): void {
    // A dimension that was unlimited saved nothing up: it starts with a full burst.
    this.#packets = this.#pps > 0 ? Math.min(this.#packets, rate.pps * this.#burst) : rate.pps * this.#burst;
    this.#bytes = this.#bps > 0 ? Math.min(this.#bytes, rate.bps * this.#burst) : rate.bps * this.#burst;
    this.#pps = rate.pps;
    this.#bps = rate.bps;
  }

  take(bytes: number, now: number): boolean {
    const dt = (now - this.#last) / 1000;
    if (dt > 0) {
      this.#last = now;
      if (this.#pps > 0) this.#packets = Math.min(this.#pps * this.#burst, this.#packets + dt * this.#pps);
      if (this.#bps > 0) this.#bytes = Math.min(this.#bps * this.#burst, this.#bytes + dt * this.#bps);
    }
    if ((this.#pps > 0 && this.#packets < 1) || (this.#bps > 0 && this.#bytes < bytes)) return false;
    if (this.#pps > 0) this.#packets -= 1;
    if (this.#bps > 0) this.#bytes -= bytes;
    return true;
  }
}

interface SourceState {
  bucket: Bucket;
  failures: number;
  windowStart: number;
  bannedUntil: number;
}

export interface SecurityEvent {
  kind: 'ban';
  source: string;
  failures: number;
  untilMs: number;
}

/** State shared by every stream of a relay: per-source buckets and bans. */
export class SourceTable {
  readonly #opts: Required<RateLimiterOptions>;
  readonly #sources = new Map<string, SourceState>();
  readonly #onEvent: (e: SecurityEvent) => void;
  bans = 0;

  constructor(opts: Required<RateLimiterOptions>, onEvent: (e: SecurityEvent) => void = () => {}) {
    this.#opts = opts;
    this.#onEvent = onEvent;
  }

  get size(): number { return this.#sources.size; }

  /**
   * IPv6 address → its prefix key. keyOf runs for every packet before any crypto, and working
   * the prefix out allocates (about 5 µs and a dozen objects per packet): done once per address.
   */
  readonly #v6Keys = new Map<string, string>();

  /** IPv4 addresses as they are; IPv6 reduced to their prefix. */
  keyOf(address: string): string {
    if (!address.includes(':')) return address;
    let key = this.#v6Keys.get(address);
    if (key === undefined) {
      // Bounded like the source table: a flood of rotating addresses rebuilds it, never grows it.
      if (this.#v6Keys.size >= this.#opts.maxSources) this.#v6Keys.clear();
      key = ipv6Prefix(address, this.#opts.ipv6PrefixBits);
      this.#v6Keys.set(address, key);
    }
    return key;
  }

  #state(address: string, now: number): SourceState {
    const key = this.keyOf(address);
    let s = this.#sources.get(key);
    if (!s) {
      if (this.#sources.size >= this.#opts.maxSources) {
        const oldest = this.#sources.keys().next();
        if (!oldest.done) this.#sources.delete(oldest.value);
      }
      s = { bucket: new Bucket(this.#opts.source, this.#opts.burstSeconds, now), failures: 0, windowStart: now, bannedUntil: 0 };
      this.#sources.set(key, s);
    }
    return s;
  }

  admit(address: string, bytes: number, now: number, latched: boolean): boolean {
    const s = this.#state(address, now);
    // A ban never silences the latched peer: an attacker spoofing its address must not be
    // able to get it banned; its forged packets still fail authentication one by one.
    if (!latched && s.bannedUntil > now) return false;
    return s.bucket.take(bytes, now);
  }

  authFailed(address: string, now: number, latched: boolean): void {
    if (latched) return;
    const s = this.#state(address, now);
    if (now - s.windowStart > this.#opts.authFailWindowMs) { s.windowStart = now; s.failures = 0; }
    if (++s.failures >= this.#opts.authFailThreshold && s.bannedUntil <= now) {
      s.bannedUntil = now + this.#opts.banMs;
      this.bans++;
      this.#onEvent({ kind: 'ban', source: this.keyOf(address), failures: s.failures, untilMs: s.bannedUntil });
    }
  }

  isBanned(address: string, now: number): boolean {
    const s = this.#sources.get(this.keyOf(address));
    return s !== undefined && s.bannedUntil > now;
  }
}

export const RATE_LIMIT_DEFAULTS: Required<RateLimiterOptions> = Object.freeze({
  stream: { pps: 1000, bps: 2_500_000 },
  session: { pps: 4000, bps: 10_000_000 },
  source: { pps: 5000, bps: 12_500_000 },
  burstSeconds: 1,
  othersShare: 0.25,
  authFailThreshold: 50,
  authFailWindowMs: 10_000,
  banMs: 60_000,
  ipv6PrefixBits: 64,
  maxSources: 65536,
});

/**
 * One stream's admission. The latched peer has its own bucket (and the session's); every
 * other source shares a separate, smaller one, so a flood from anywhere else — even one
 * below the per-source limit — cannot spend the budget the genuine peer needs.
 */
/**
 * The rate a stream reports (and a replica stores) for `rate`: null unless both dimensions are
 * finite and positive, since the bucket ignores any other value (see setStreamRate).
 */
export function reportedRate(rate: Rate | null): Rate | null {
  if (rate === null || ![rate.pps, rate.bps].every((v) => Number.isFinite(v) && v > 0)) return null;
  return { pps: rate.pps, bps: rate.bps };
}

export class StreamAdmission implements PacketAdmission {
  readonly #latched: Bucket;
  readonly #others: Bucket;
  readonly #session: Bucket;
  readonly #sources: SourceTable;
  readonly #isLatched: (address: string, port: number) => boolean;
  readonly #isExpected: (address: string) => boolean;
  /** The configured rate of the latched bucket, and the others' share of it. */
  readonly #defaultRate: Rate;
  readonly #othersShare: number;

  /**
   * isLatched: address:port is the stream's latched peer (its own bucket).
   * isExpected: address is where signalling says the peer is; such a source is never banned,
   * or anyone spoofing it with forged packets could lock the genuine peer out of new calls.
   */
  constructor(latched: Bucket, others: Bucket, session: Bucket, sources: SourceTable,
    isLatched: (address: string, port: number) => boolean, isExpected: (address: string) => boolean = () => false) {
    this.#latched = latched;
    this.#others = others;
    this.#session = session;
    this.#sources = sources;
    this.#isLatched = isLatched;
    this.#isExpected = isExpected;
    this.#defaultRate = latched.rate;
    const o = others.rate, d = this.#defaultRate;
    this.#othersShare = d.pps > 0 ? o.pps / d.pps : d.bps > 0 ? o.bps / d.bps : 0;
  }

  /**
   * The stream's own budget (latched peer; others keep their share of it), e.g. derived from
   * the SDP's codec and ptime; null restores the configured rate. Never above the configured
   * rate: signalling may tighten a stream's limit, never lift it (an unlimited dimension, 0,
   * stays unlimited only if the given rate says so too).
   */
  setStreamRate(rate: Rate | null): void {
    const d = this.#defaultRate;
    // NaN compares false everywhere: in a bucket it would mean "unlimited", so a rate that is
    // not a finite positive number leaves that dimension at its configured value.
    const cap = (v: number, c: number) => (!Number.isFinite(v) || v <= 0 ? c : c <= 0 ? v : Math.min(v, c));
    const r = rate === null ? d : { pps: cap(rate.pps, d.pps), bps: cap(rate.bps, d.bps) };
    this.#latched.setRate(r);
    this.#others.setRate({ pps: r.pps * this.#othersShare, bps: r.bps * this.#othersShare });
  }

  /** The latched peer's budget now in force. */
  get streamRate(): Rate { return this.#latched.rate; }

  take(address: string, bytes: number, now: number, port = 0): boolean {
    const latched = this.#isLatched(address, port);
    if (!this.#sources.admit(address, bytes, now, latched || this.#isExpected(address))) return false;
    if (!latched) return this.#others.take(bytes, now);
    return this.#latched.take(bytes, now) && this.#session.take(bytes, now);
  }

  /** Any packet that failed unprotect (forged, malformed, replayed) counts towards a ban. */
  rejected(address: string, now: number, port = 0): void {
    this.#sources.authFailed(address, now, this.#isLatched(address, port) || this.#isExpected(address));
  }

  authFailed(address: string, now: number, port = 0): void {
    this.rejected(address, now, port);
  }
}

/** Expands and truncates an IPv6 address to `bits`, as a canonical hex key. */
export function ipv6Prefix(address: string, bits: number): string {
  const zone = address.indexOf('%');
  const a = zone >= 0 ? address.slice(0, zone) : address;
  const [head = '', tail = ''] = a.split('::') as [string, string?] as [string, string];
  const h = head ? head.split(':') : [];
  const t = a.includes('::') && tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (g: string[]): string[] => g.flatMap((x) => {
    if (!x.includes('.')) return [x];
    const o = x.split('.').map(Number);
    return [(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16), (((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)];
  });
  const hh = expand(h), tt = expand(t);
  const groups = [...hh, ...Array<string>(Math.max(0, 8 - hh.length - tt.length)).fill('0'), ...tt].slice(0, 8);
  const words = groups.map((g) => parseInt(g || '0', 16) & 0xffff);
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push((words[i]! & mask).toString(16));
  }
  return `${out.join(':')}/${bits}`;
}
