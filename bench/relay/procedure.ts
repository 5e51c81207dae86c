// The measurement procedure for one configuration (relay × mode × number of calls):
//   1. set the calls up through the relay's control surface, configure the generator;
//   2. probe: a short low-rate trial with forged copies mixed in (does the relay forward
//      SRTP it has not verified?), which also checks the path and warms the relay up;
//   3. search the highest rate carried with < 0.5% loss: double the offered rate from a start
//      rate until a trial fails, then bisect (geometric midpoints) to a tolerance or a time
//      budget. A trial is credited with the rate the sender actually achieved; when that
//      falls short of the offer while nothing is lost, the generator (not the relay) is the
//      limit on this machine and the search stops there;
//   4. one longer trial at half that rate for latency.
// The direct configuration (no relay: each sender sends straight to its own receiver) gives
// the generator's own latency, which the report subtracts, and its ceiling.
import { randomInt } from 'node:crypto';
import { Loadgen, type TrialOptions, type TrialResult } from './loadgen.ts';
import { machineCpu } from './procStat.ts';
import {
  LEG_A_SUITE, legBSuite, randomKey, type BenchMode, type CallPlan, type CallSetup, type RelayUnderTest,
} from './types.ts';

export const LOSS_LIMIT_PCT = 0.5;
/** A sender that achieved less than this share of the offered rate could not offer it. */
const ACHIEVED_MIN = 0.97;

export interface ProcedureOptions {
  trialMs: number;
  warmupMs: number;
  drainMs: number;
  latencyMs: number;
  /** First rate of the doubling search. */
  startRate: number;
  /** Never offer more than this. */
  maxRate: number;
  /** Stop bisecting when hi/lo is at most this. */
  tolerance: number;
  /** Re-run a failed trial once when its loss is below this (noise on shared cores). */
  retryBelowLossPct: number;
  /** Wall-clock budget for one search, ms; bisection stops when it is spent. */
  searchBudgetMs: number;
  probeRate: number;
  probeMs: number;
  forgeEvery: number;
  /** nice value for the generator (the same as the relays get). */
  nice: number;
  log(line: string): void;
}

export interface TrialRecord extends TrialResult {
  /** CPU seconds the relay process used during the trial (send window plus drain). */
  relayCpuS: number | null;
  /** Wall time over which relay and machine CPU were read (trial, drain, bookkeeping). */
  windowS: number;
  /** All cores together: busy seconds (hypervisor steal excluded), and what is left after
   *  the relay and the generator process. */
  machineBusyS: number;
  otherCpuS: number;
  stealS: number;
  /** Share of sent packets that arrived more than 50 ms late (counted with loss). */
  latePct: number;
  pass: boolean;
  /** The sender achieved less than 97% of the offered rate (starved of CPU). */
  genShort: boolean;
  retried?: boolean;
}

export interface ConfigResult {
  relay: string;
  mode: BenchMode | 'direct';
  calls: number;
  setupMs: number;
  /** Calls whose leg-B key the relay copied from A's offer instead of choosing its own. */
  keyCopied: number;
  /** Times the calls were set up again after a failed trial. */
  resetups: number;
  probe: TrialRecord | null;
  /** Forged copies that reached the sink (it failed to authenticate or parse them). */
  forgedDelivered: number | null;
  search: TrialRecord[];
  /** Highest rate carried (achieved by the sender) in a passing trial; 0 if none passed. */
  maxRate: number;
  /** What ended the search: loss (the relay), the generator's limit (it could not offer more
   *  while nothing was lost), the cap, or nothing (budget spent). */
  limitedBy: 'loss' | 'generator' | 'cap' | 'none';
  best: TrialRecord | null;
  latency: TrialRecord | null;
  diagnostics: Record<string, number> | null;
  error?: string;
}

function distinctSsrcs(n: number): number[] {
  const set = new Set<number>();
  while (set.size < n) set.add(randomInt(1, 0xffffffff));
  return [...set];
}

/** Runs one trial with the relay's and the machine's CPU accounted around it. */
async function measuredTrial(lg: Loadgen, relay: RelayUnderTest | null, o: TrialOptions): Promise<TrialRecord> {
  const r0 = relay ? await relay.cpu() : null;
  const m0 = machineCpu();
  const w0 = performance.now();
  const t = await lg.trial(o);
  const windowS = (performance.now() - w0) / 1000;
  const m1 = machineCpu();
  const r1 = relay ? await relay.cpu() : null;
  const relayCpuS = r0 && r1 ? r1.user + r1.system - r0.user - r0.system : null;
  const machineBusyS = m1.busy - m0.busy - (m1.steal - m0.steal);
  return {
    ...t,
    relayCpuS,
    windowS,
    machineBusyS,
    otherCpuS: Math.max(0, machineBusyS - (relayCpuS ?? 0) - t.procCpuS),
    stealS: m1.steal - m0.steal,
    latePct: t.sent > 0 ? (100 * t.late) / t.sent : 0,
    // A packet 50 ms late is lost to the listener; a relay that queues instead of dropping
    // must not pass on latency it hides in buffers.
    pass: t.lossPct + (t.sent > 0 ? (100 * t.late) / t.sent : 0) < LOSS_LIMIT_PCT,
    genShort: t.achievedRate < ACHIEVED_MIN * t.rate,
  };
}

/** The trial with the median p99, carrying the median p50 and p99.9 of all of them. */
function medianTrial(runs: readonly TrialRecord[]): TrialRecord {
  const med = (f: (t: TrialRecord) => number): number => {
    const v = runs.map(f).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  const p99 = med((t) => t.p99Us);
  const pick = runs.find((t) => t.p99Us === p99)!;
  return { ...pick, p50Us: med((t) => t.p50Us), p999Us: med((t) => t.p999Us) };
}

function describe(t: TrialRecord): string {
  const cpu = t.relayCpuS === null ? '' : ` relay ${(t.relayCpuS / t.windowS).toFixed(2)} cores`;
  return `${(t.rate / 1000).toFixed(1)}k pps: loss ${t.lossPct.toFixed(2)}%${t.latePct > 0 ? ` late ${t.latePct.toFixed(2)}%` : ''}${t.genShort ? ` (generator reached only ${(t.achievedRate / 1000).toFixed(1)}k)` : ''}`
    + ` p50 ${t.p50Us.toFixed(0)} µs p99 ${t.p99Us.toFixed(0)} µs${cpu} gen+sink ${(t.procCpuS / t.windowS).toFixed(2)} other ${(t.otherCpuS / t.windowS).toFixed(2)}`
    + `${t.pass ? ' ok' : ' FAIL'}${t.retried ? ' (retry)' : ''}`;
}

/**
 * Sets `calls` calls up on `relay` (or, with relay null, the direct baseline path) in `mode`
 * and runs the whole procedure. `search` false skips the rate search (baseline latency only).
 */
export async function runConfig(relay: RelayUnderTest | null, mode: BenchMode, calls: number, o: ProcedureOptions,
  plan: { search: boolean; latencyRate: number | null; latencyRepeats?: number }): Promise<ConfigResult> {
  const label = `${relay?.name ?? 'direct'} ${relay ? mode : ''} ${calls} call${calls > 1 ? 's' : ''}`.replace(/\s+/g, ' ');
  const result: ConfigResult = {
    relay: relay?.name ?? 'direct', mode: relay ? mode : 'direct', calls, setupMs: 0, keyCopied: 0, resetups: 0,
    probe: null, forgedDelivered: null, search: [], maxRate: 0, limitedBy: 'none', best: null, latency: null, diagnostics: null,
  };
  const lg = await Loadgen.start(calls, o.nice);
  let plans: CallPlan[] = [];
  const bSuite = legBSuite(mode);
  const ssrcs = distinctSsrcs(calls);
  let generation = 0;
  // Sets fresh calls up (new Call-IDs, new keys, new relay ports) and points the generator
  // at them. Used once at the start and again after every failed trial: rtpengine 10.5 stops
  // reading a socket for good once it has found more than 50 packets queued on 5 wakeups,
  // so an overloaded trial would otherwise poison every trial after it.
  const setUp = async (): Promise<void> => {
    if (relay && plans.length > 0) await relay.teardownCalls(plans);
    const runId = `${Date.now().toString(36)}${randomInt(0, 1 << 24).toString(36)}g${generation++}`;
    plans = lg.ports.map((p, i) => ({
      callId: `bench-${runId}-${i}`,
      sender: { address: '127.0.0.1', port: p.send },
      senderKey: randomKey(LEG_A_SUITE),
      receiver: { address: '127.0.0.1', port: p.recv },
      receiverKey: bSuite ? randomKey(bSuite) : null,
    }));
    const t0 = performance.now();
    // Direct: each sender protects with its key and sends to its own receiver.
    const setups: CallSetup[] = relay ? await relay.setupCalls(plans)
      : plans.map((p) => ({ relayA: p.receiver, relayB: p.receiver, outKey: p.senderKey }));
    const ms = performance.now() - t0;
    let copied = 0;
    for (let i = 0; i < calls; i++) {
      const st = setups[i]!;
      const p = plans[i]!;
      if (relay && st.outKey && st.outKey.key === p.senderKey.key && st.outKey.salt === p.senderKey.salt) copied++;
      await lg.configureSender(i, st.relayA.port, ssrcs[i]!, p.senderKey);
      await lg.configureReceiver(i, st.outKey);
    }
    if (generation === 1) {
      result.setupMs = ms;
      result.keyCopied = copied;
      o.log(`${label}: ${calls} calls set up in ${ms.toFixed(0)} ms${copied ? `; the relay copied A's key onto leg B in ${copied}/${calls} calls` : ''}`);
    } else {
      result.resetups++;
    }
  };
  try {
    await setUp();

    const base = { warmupMs: o.warmupMs, drainMs: o.drainMs };
    if (relay) {
      // Each call needs 2 × forgeEvery packets in the probe to carry two forged copies.
      const probeRate = Math.max(o.probeRate, Math.ceil((calls * 2 * o.forgeEvery * 1000) / o.probeMs));
      const probe = await measuredTrial(lg, relay, { ...base, rate: probeRate, ms: o.probeMs, warmupMs: 0, forgeEvery: o.forgeEvery });
      result.probe = probe;
      result.forgedDelivered = probe.authFail + probe.badPayload;
      o.log(`${label}: probe ${describe(probe)}; forged ${probe.forgedSent} sent, ${result.forgedDelivered} delivered to the sink`);
      if (probe.received === 0) throw new Error('the relay forwarded nothing during the probe');
    }

    if (plan.search) {
      const deadline = performance.now() + o.searchBudgetMs;
      const run = async (rate: number): Promise<TrialRecord> => {
        let t = await measuredTrial(lg, relay, { ...base, rate, ms: o.trialMs });
        if (!t.pass && t.lossPct < o.retryBelowLossPct) {
          o.log(`${label}: ${describe(t)}; retrying`);
          result.search.push(t);
          if (relay) await setUp();
          t = { ...(await measuredTrial(lg, relay, { ...base, rate, ms: o.trialMs })), retried: true };
        }
        result.search.push(t);
        o.log(`${label}: ${describe(t)}`);
        if (!t.pass && relay) await setUp();
        return t;
      };
      let lo = 0;
      let hi = Infinity;
      // Held in an object: TypeScript does not track assignments made inside `passed`.
      const found: { best: TrialRecord | null } = { best: null };
      let failed = false;
      let capped = false;
      let generatorBound = false;
      const passed = (t: TrialRecord): void => {
        if (found.best === null || t.achievedRate > found.best.achievedRate) found.best = t;
        // Offering more would not be sent: the machine, not the relay, is the limit here.
        if (t.genShort) generatorBound = true;
      };
      let rate = o.startRate;
      // Doubling phase; if the start rate already fails, halve until something passes.
      for (;;) {
        const t = await run(rate);
        if (t.pass) {
          lo = rate; passed(t);
          if (hi !== Infinity || generatorBound) break;
          if (rate >= o.maxRate) { capped = true; break; }
          rate = Math.min(rate * 2, o.maxRate);
        } else {
          hi = rate; failed = true;
          if (lo > 0 || rate / 2 < 500) break;
          rate /= 2;
        }
      }
      // Bisection phase.
      while (!generatorBound && lo > 0 && hi !== Infinity && hi / lo > o.tolerance && performance.now() < deadline) {
        const mid = Math.round(Math.sqrt(lo * hi));
        const t = await run(mid);
        if (t.pass) { lo = mid; passed(t); } else { hi = mid; failed = true; }
      }
      const b = found.best;
      result.best = b;
      result.maxRate = b === null ? 0 : Math.round(b.achievedRate);
      result.limitedBy = generatorBound ? 'generator' : capped ? 'cap' : failed ? 'loss' : 'none';
    }

    const latencyRate = plan.latencyRate ?? (result.maxRate > 0 ? result.maxRate / 2 : null);
    if (latencyRate !== null) {
      // The baseline is subtracted from every row, so one scheduling hiccup in it would shift
      // them all: it takes the median of several trials, percentile by percentile.
      const runs: TrialRecord[] = [];
      for (let i = 0; i < (plan.latencyRepeats ?? 1); i++) runs.push(await measuredTrial(lg, relay, { ...base, rate: latencyRate, ms: o.latencyMs }));
      const t = medianTrial(runs);
      result.latency = t;
      o.log(`${label}: latency at ${(latencyRate / 1000).toFixed(1)}k pps${runs.length > 1 ? ` (median of ${runs.length})` : ''}: ${describe(t)}`);
    }
    if (relay) result.diagnostics = await relay.diagnostics(plans).catch(() => null);
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    o.log(`${label}: ERROR ${result.error}`);
  } finally {
    await lg.close();
    if (relay && plans.length > 0) await relay.teardownCalls(plans).catch(() => undefined);
  }
  return result;
}
