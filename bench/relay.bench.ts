// npm run bench:relay — end-to-end packets/s of the relay: srtpgate against rtpengine, same
// harness, same run. For each relay × mode × number of calls: the highest aggregate rate
// with < 0.5% loss, then p50/p99 latency at half that rate minus the generator's own
// (measured on a direct sender → receiver path), and the CPU of relay, generator and sink.
// Writes bench/results/relay-<timestamp>.json. How it works: bench/relay/README.md.
//   node --import tsx bench/relay.bench.ts [--quick] [--relays srtpgate,rtpengine]
//     [--modes srtp-srtp,srtp-rtp,srtp-srtp-same] [--calls 1,100] [--no-install]
//     [--srtpgate-io auto|dgram|native] [--srtpgate-workers 0] [--baseline-rate 20000] [--nice=N] [--verbose]
// --relays also takes srtpgate-dgram (a second srtpgate on node:dgram) and srtpgate-w2 (one
// with 2 media worker threads, as many as rtpengine runs by default on 2 cores).
// --nice gives relays and generator alike a priority (negative: root) to hold their own
// against other work on a shared machine (bench/relay/nice.ts); the results record it.
// Both relays, the generator and the sink share the machine's cores (and, here, with other
// work): the CPU columns say where the time went, "other" is everything else on the box.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildLoadgen } from './relay/loadgen.ts';
import { runConfig, LOSS_LIMIT_PCT, type ConfigResult, type ProcedureOptions } from './relay/procedure.ts';
import { formatTable, ratios, toRow } from './relay/report.ts';
import { SrtpgateRelay } from './relay/srtpgateDriver.ts';
import { startRtpengine } from './relay/rtpengine.ts';
import type { NgRelay } from './relay/ngRelay.ts';
import { applyPriority, type Priority } from './relay/nice.ts';
import { BENCH_MODES, isBenchMode, legBSuite, LEG_A_SUITE, type RelayUnderTest } from './relay/types.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
// Variants beside the default srtpgate: srtpgate-dgram forced onto node:dgram (what batched
// I/O buys), srtpgate-w2 with 2 media worker threads (rtpengine's thread count here).
const RELAYS = ['srtpgate', 'rtpengine', 'srtpgate-dgram', 'srtpgate-w2'] as const;
const DEFAULT_RELAYS = ['srtpgate', 'rtpengine'];
type RelayName = (typeof RELAYS)[number];
const isRelayName = (s: string): s is RelayName => (RELAYS as readonly string[]).includes(s);

// Port ranges below Linux's ephemeral range (32768+), where the generator's sockets live,
// and apart from srtpgate's default (30000-40000) that tests running beside us may use.
const SRTPGATE_PORTS = { min: 24000, max: 25999 };
const SRTPGATE_VARIANT_PORTS = { 'srtpgate-dgram': { min: 28000, max: 29999 }, 'srtpgate-w2': { min: 20000, max: 21999 } } as const;
const RTPENGINE_PORTS = { min: 26000, max: 27999 };

const log = (line: string): void => { process.stderr.write(`[bench:relay ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };

function procedureOptions(quick: boolean, nice: number): ProcedureOptions {
  return quick
    ? { trialMs: 800, warmupMs: 200, drainMs: 200, latencyMs: 2000, startRate: 16000, maxRate: 400000, tolerance: 1.2,
      retryBelowLossPct: 0, searchBudgetMs: 7000, probeRate: 2000, probeMs: 500, forgeEvery: 10, nice, log }
    : { trialMs: 2500, warmupMs: 500, drainMs: 300, latencyMs: 5000, startRate: 16000, maxRate: 400000, tolerance: 1.07,
      retryBelowLossPct: 2, searchBudgetMs: 30000, probeRate: 2000, probeMs: 1000, forgeEvery: 10, nice, log };
}

function list(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      relays: { type: 'string', default: DEFAULT_RELAYS.join(',') },
      'srtpgate-io': { type: 'string', default: 'auto' },
      'srtpgate-workers': { type: 'string', default: '0' },
      modes: { type: 'string', default: BENCH_MODES.join(',') },
      calls: { type: 'string', default: '1,100' },
      'baseline-rate': { type: 'string', default: '20000' },
      'no-install': { type: 'boolean', default: false },
      nice: { type: 'string', default: '0' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const relayNames = list(values.relays);
  const modes = list(values.modes);
  const callCounts = list(values.calls).map(Number);
  const baselineRate = Number(values['baseline-rate']);
  const srtpgateIo = values['srtpgate-io'];
  const srtpgateWorkers = Number(values['srtpgate-workers']);
  const nice = Number(values.nice);
  const badRelay = relayNames.filter((r) => !isRelayName(r));
  const badMode = modes.filter((m) => !isBenchMode(m));
  if (srtpgateIo !== 'auto' && srtpgateIo !== 'dgram' && srtpgateIo !== 'native') {
    process.stderr.write('--srtpgate-io auto|dgram|native\n');
    return 2;
  }
  if (!Number.isInteger(srtpgateWorkers) || srtpgateWorkers < 0 || srtpgateWorkers > 64) {
    process.stderr.write('--srtpgate-workers 0..64\n');
    return 2;
  }
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
    process.stderr.write('--nice -20..19\n');
    return 2;
  }
  if (badRelay.length || badMode.length || callCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 900) || !(baselineRate > 0)) {
    process.stderr.write(`bad arguments${badRelay.length ? `; relays: ${RELAYS.join(',')}` : ''}${badMode.length ? `; modes: ${BENCH_MODES.join(',')}` : ''}; calls 1..900\n`);
    return 2;
  }
  // A priority the bench cannot set (not root) stops it before anything has started.
  let priority: Priority;
  try {
    priority = applyPriority(nice);
  } catch (e) {
    process.stderr.write(`--nice=${nice}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const o = procedureOptions(quick, priority.childNice);
  const started = new Date();
  const load0 = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run: relays ${relayNames.join(',')}; modes ${modes.join(',')}; calls ${callCounts.join(',')}; loss limit ${LOSS_LIMIT_PCT}%`);
  log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  if (priority.mechanism !== 'none') log(`priority: nice ${priority.value} (${priority.mechanism}) for the generator and the relays alike`);
  if (load0[0]! > 0.5) log(`note: the machine is not idle (load ${load0[0]!.toFixed(2)}); figures will be lower and noisier than on a quiet box`);

  try {
    await buildLoadgen();
  } catch (e) {
    process.stderr.write(`bench:relay cannot build its load generator: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }

  const relays: RelayUnderTest[] = [];
  const skipped: Record<string, string> = {};
  const cleanup: (() => void)[] = [];
  process.once('SIGINT', () => { for (const c of cleanup) c(); priority.restore(); process.exit(130); });
  let ngInfo: NgRelay | null = null;
  const configs: ConfigResult[] = [];
  const baselines: ConfigResult[] = [];
  try {
    for (const name of relayNames) {
      if (name === 'srtpgate' || name === 'srtpgate-dgram' || name === 'srtpgate-w2') {
        const ports = name === 'srtpgate' ? SRTPGATE_PORTS : SRTPGATE_VARIANT_PORTS[name];
        const io = name === 'srtpgate-dgram' ? 'dgram' : srtpgateIo;
        const workers = name === 'srtpgate-w2' ? 2 : srtpgateWorkers;
        const r = await SrtpgateRelay.start({ name, portMin: ports.min, portMax: ports.max, io, workers, nice: priority.childNice });
        cleanup.push(() => r.killNow());
        relays.push(r);
        log(`srtpgate ${r.version}, pid ${String(r.pid)}`);
      } else {
        const r = await startRtpengine({ portMin: RTPENGINE_PORTS.min, portMax: RTPENGINE_PORTS.max, install: !values['no-install'], nice: priority.childNice, verbose: values.verbose, log });
        if ('skip' in r) { skipped.rtpengine = r.skip; log(`skipping rtpengine: ${r.skip}`); continue; }
        relays.push(r);
        ngInfo = r;
      }
    }

    // The generator's own latency (and, in a full run, its ceiling) on the direct path.
    for (const calls of callCounts) {
      baselines.push(await runConfig(null, 'srtp-srtp', calls, { ...o, searchBudgetMs: Math.min(o.searchBudgetMs, 20000) }, { search: !quick, latencyRate: baselineRate, latencyRepeats: 3 }));
    }
    // Relays interleaved per configuration, so drifting background load hits both alike.
    for (const calls of callCounts) {
      for (const mode of modes.filter(isBenchMode)) {
        // A quick run keeps the informative same-key mode at the larger call count only.
        if (quick && mode === 'srtp-srtp-same' && calls !== Math.max(...callCounts)) continue;
        for (const relay of relays) configs.push(await runConfig(relay, mode, calls, o, { search: true, latencyRate: null }));
      }
    }
  } finally {
    for (const r of relays) await r.close().catch(() => undefined);
    priority.restore();
  }

  const baselineFor = (calls: number): ConfigResult | undefined => baselines.find((b) => b.calls === calls);
  const rows = configs.map((c) => toRow(c, baselineFor(c.calls)));
  const rs = ratios(rows);
  const table = formatTable(rows, rs, baselines);
  const load1 = os.loadavg();
  const notes = [
    `Leg A: ${LEG_A_SUITE}, 12-byte header + 160-byte payload. Leg B: ${legBSuite('srtp-srtp')} in srtp-srtp, ${legBSuite('srtp-srtp-same')} in srtp-srtp-same, plain RTP in srtp-rtp (bench/relay/README.md says why).`,
    `max pkt/s: highest aggregate rate carried with < ${LOSS_LIMIT_PCT}% loss (packets > 50 ms late count as lost) (rate the sender achieved; offers doubled from ${o.startRate / 1000}k, then bisected to ×${o.tolerance}; ${o.trialMs} ms trials).`,
    `limit: what ended the search — loss (the relay lost ≥ ${LOSS_LIMIT_PCT}% at the next step), generator (nothing lost, but the sender could not offer more on this machine: a lower bound for the relay), cap (${o.maxRate / 1000}k).`,
    'CPU columns at the max rate: cores = CPU seconds per second; gen = sender thread, sink = receiver thread; other = everything else on the machine.',
    `The ${os.cpus().length} cores are shared by relay, generator and sink${load0[0]! > 0.5 ? ` and by other work running at the same time (load average ${load0[0]!.toFixed(1)} at the start, ${load1[0]!.toFixed(1)} at the end)` : ''}: the relay never had a core to itself.${priority.mechanism !== 'none' ? ` The bench ran at nice ${priority.value} (${priority.mechanism}).` : ''}`,
    `Latency at half the max rate: kernel receive timestamp minus send timestamp; +p50/+p99 subtract the direct path (median of 3 trials per call count at ${baselineRate / 1000}k pkt/s). Percentiles do not subtract exactly: a negative figure means "within the noise".`,
    'forged→sink: forged copies (one ciphertext bit flipped) that the relay forwarded to the sink, out of those sent during the probe.',
    'Ratios of max pkt/s: ≥ srtpgate stopped at the generator limit (ratio is a lower bound), ≤ rtpengine did (upper bound), ~ both did (two lower bounds). Relay µs/pkt is the figure least bent by the shared cores.',
  ];
  process.stdout.write(`\n${table}\n\n${notes.map((n) => `  ${n}`).join('\n')}\n`);
  if (ngInfo?.offeredSuites.length) process.stdout.write(`  rtpengine offered toward B: ${ngInfo.offeredSuites.join(' ')}\n`);
  for (const [k, v] of Object.entries(skipped)) process.stdout.write(`  skipped ${k}: ${v}\n`);

  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}relay-${started.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify({
    bench: 'relay',
    date: started.toISOString(),
    quick,
    durationS: (Date.now() - started.getTime()) / 1000,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? null, kernel: os.release(), node: process.version, loadavgStart: load0, loadavgEnd: load1 },
    relays: relays.map((r) => ({ name: r.name, version: r.version })),
    skipped,
    rtpengineOfferedSuites: ngInfo?.offeredSuites ?? null,
    options: { ...o, log: undefined, baselineRate, lossLimitPct: LOSS_LIMIT_PCT, priority: { mechanism: priority.mechanism, nice: priority.value } },
    notes,
    rows,
    ratios: rs,
    baselines,
    configs,
  }, null, 1)}\n`);
  log(`wrote ${file} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)`);
  return configs.some((c) => c.error) ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`bench:relay: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
