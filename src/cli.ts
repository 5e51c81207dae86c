// The srtpgate daemon: `npm start` (node --import tsx src/cli.ts).
//
// Builds the relay, the call controller and the two control interfaces from the
// configuration, logs JSON lines on stdout, and on SIGTERM/SIGINT shuts down in order:
//   stop accepting (ng socket and HTTP listener; in-flight commands finish and are answered)
//   → close every session (media sockets closed, crypto contexts destroyed, keys zeroed)
//   → exit 0.
// A shutdown that takes longer than shutdownTimeoutMs, a second signal, or an error nobody
// caught ends the process with status 1 instead: after a bug the state (keys included) is not
// trusted enough to keep serving.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { Logger } from './Logger.ts';
import { Relay } from './session/Relay.ts';
import { CallController } from './control/CallController.ts';
import { ControlServer } from './control/ControlServer.ts';
import { Admission } from './control/Admission.ts';
import { HttpApi } from './control/HttpApi.ts';
import { Metrics } from './metrics/Metrics.ts';
import { SecurityLog } from './security/SecurityLog.ts';
import { policyKnobsOf, resolvePolicy, type CryptoPolicy } from './control/policy.ts';
import { suiteByName, type SuiteName } from './crypto/suites.ts';
import { RelayError } from './errors.ts';
import { replicatorFromConfig } from './ha/fromConfig.ts';

/** Exit statuses: 0 clean stop, 1 failure at run time, 2 bad configuration or arguments. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface Daemon {
  readonly relay: Relay;
  readonly ng: ControlServer;
  readonly http: HttpApi | null;
  /** New-call admission: drain switch, per-SBE/CPU/load caps. */
  readonly admission: Admission;
  readonly policy: CryptoPolicy;
  /** Graceful stop (see the file comment). Idempotent. */
  stop(reason: string): Promise<void>;
}

/**
 * The controller's crypto policy from the srtp.* options, validated (throws ConfigError).
 * A minimum without a suite list trims the default list rather than contradicting it.
 */
export function cryptoPolicyOf(c: Config['srtp']): CryptoPolicy {
  const minRank = c.minimumSuite === '' ? undefined : suiteByName(c.minimumSuite)?.rank;
  let suites: readonly SuiteName[] | undefined = c.suites.length > 0 ? c.suites : undefined;
  try {
    if (suites === undefined && minRank !== undefined) {
      suites = resolvePolicy({ allowAes192: c.allowAes192 }).suites.filter((n) => (suiteByName(n)?.rank ?? -1) >= minRank);
    }
    return resolvePolicy({ suites, minRank, allowAes192: c.allowAes192, ...policyKnobsOf(c) });
  } catch (e) {
    if (e instanceof RelayError) throw new ConfigError(`srtp options: ${e.message}`);
    throw e;
  }
}

/** Starts every component; on a failure part-way, closes what was started and rethrows. */
export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const v = version();
  const policy = cryptoPolicyOf(config.srtp);
  const relay = await Relay.create({
    // Named interfaces (media.interfaces) replace the single media address when configured.
    ...(config.media.interfaces.length > 0 ? { interfaces: config.media.interfaces }
      : { mediaAddress: config.media.address, advertisedAddress: config.media.advertisedAddress || undefined }),
    hideTopology: config.media.hideTopology,
    rateLimits: { ipv6PrefixBits: config.rateLimits.ipv6PrefixBits },
    ports: { min: config.media.portMin, max: config.media.portMax },
    mediaTimeout: config.media.timeout,
    sessionLifetime: config.media.lifetime,
    maxSessions: config.media.maxSessions,
    strictSource: config.media.strictSource,
    workers: config.media.workers,
    io: config.media.io,
    warn: (m) => log.warn(m),
    ...dtlsCertificateOf(config),
  });
  let ng: ControlServer | null = null;
  let http: HttpApi | null = null;
  // Bans, bid-down refusals and auth-failure storms: `security` log lines and metrics.
  const security = new SecurityLog({ log: log.child({ component: 'security' }), media: relay });
  const admission = new Admission({
    hasCall: (callId) => relay.getSession(callId) !== undefined,
    drain: config.control.drain,
    maxSessionsPerSbe: config.control.maxSessionsPerSbe,
    maxCpu: config.control.maxCpu,
    maxLoad: config.control.maxLoad,
    cpuWindowMs: config.control.cpuWindowMs,
  });
  // Call-state replication and takeover (ha.*): null without ha.redisUrl, and nothing changes.
  let replicator: ReturnType<typeof replicatorFromConfig> = null;
  try {
    replicator = replicatorFromConfig(config, log);
    const controller = new CallController({ relay, policy, ...(replicator ? { replication: replicator } : {}) });
    security.observeCallController(controller.observer);
    const metrics = new Metrics({ media: relay, version: v });
    const sessionLog = log.child({ component: 'relay' });
    relay.on('sessionclose', (session, reason) => {
      admission.released(session.callId);
      metrics.sessionClosed(session, reason);
      sessionLog.info('session closed', { callId: session.callId, reason });
    });
    metrics.observeSecurity(security.observer);
    security.observeRelay(relay);
    metrics.observeAdmission(admission.observer, admission.draining);
    const admissionLog = log.child({ component: 'admission' });
    admission.observer.on('drain', (e) => admissionLog.warn(e.enabled ? 'drain mode on: new calls refused' : 'drain mode off', { sessions: relay.sessionCount }));
    // Debug only: the ng server already logs each refused command at info.
    admission.observer.on('refusal', (e) => admissionLog.debug('new call refused', { reason: e.reason, sbe: e.sbe, callId: e.callId }));

    const loadCap = config.ng.loadLimit > 0 ? config.ng.loadLimit : config.media.maxSessions;
    ng = await ControlServer.listen({
      control: controller,
      address: config.ng.address,
      alsoListen: config.ng.alsoListen,
      port: config.ng.port,
      allowFrom: config.ng.allowFrom,
      maxDatagramBytes: config.ng.maxDatagramBytes,
      commandsPerSecond: config.ng.commandsPerSecond,
      commandBurst: config.ng.commandBurst > 0 ? config.ng.commandBurst : undefined,
      maxInFlight: config.ng.maxInFlight,
      replyCacheTtlMs: config.ng.replyCacheTtlMs,
      // Re-offers of calls already up are never refused: only new calls count against the cap.
      loadLimit: { atLimit: (callId) => relay.sessionCount >= loadCap && relay.getSession(callId) === undefined },
      admission,
      logger: log.child({ component: 'ng' }),
    });
    metrics.observeControlServer(ng.observer);
    security.observeControlServer(ng.observer);

    if (config.http.enabled) {
      http = await HttpApi.listen({
        control: controller,
        metrics,
        admission,
        ...(replicator ? { ha: replicator } : {}),
        address: config.http.address,
        alsoListen: config.http.alsoListen,
        port: config.http.port,
        token: config.http.token,
        maxBodyBytes: config.http.maxBodyBytes,
        requestsPerSecond: config.http.requestsPerSecond,
        version: v,
        logger: log.child({ component: 'http' }),
      });
      metrics.observeHttpApi(http.observer);
      security.observeHttpApi(http.observer);
    }
    if (replicator) {
      const r = replicator;
      metrics.addFamilies(() => r.metricFamilies());
      await r.start(controller);
    }
  } catch (e) {
    await replicator?.close();
    security.close();
    admission.close();
    await ng?.close(0);
    await http?.close(0);
    await relay.close();
    throw e;
  }

  const ngServer = ng;
  const httpApi = http;
  let stopping: Promise<void> | null = null;
  return {
    relay,
    ng: ngServer,
    http: httpApi,
    admission,
    policy,
    stop(reason: string): Promise<void> {
      if (stopping) return stopping;
      stopping = (async () => {
        const sessions = relay.sessionCount;
        log.info('stopping', { reason, sessions });
        if (replicator && config.ha.handoverOnStop) {
          // Hand-over: no new calls, then every call released to the standby (bounded; the
          // calls it could not hand over end below as on any stop).
          admission.setDrain(true);
          await replicator.release();
        }
        const drainMs = Math.max(100, Math.floor(config.shutdownTimeoutMs / 2));
        await Promise.all([ngServer.close(drainMs), httpApi?.close(drainMs)]);
        security.close();
        admission.close();
        // Closes every session (sockets, then crypto contexts: keys zeroed in the core) and
        // stops the media hosts, worker threads included.
        await relay.close();
        // After the sessions: their records are removed (the calls ended) before the store goes.
        await replicator?.close();
        log.info('stopped', { reason, sessionsClosed: sessions });
      })();
      return stopping;
    },
  };
}

/** Runs the daemon until a signal; resolves to the exit status. */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig({ argv, env });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Before the configuration is known the level is too: report at error, on stdout like the rest.
    new Logger().error('invalid configuration', { error: e.message, hint: 'run with --help' });
    return EXIT_USAGE;
  }
  if (loaded.kind === 'help') {
    process.stdout.write(loaded.text);
    return EXIT_OK;
  }
  const { config } = loaded;
  const log = new Logger({ level: config.log.level, bindings: { pid: process.pid } });
  for (const w of loaded.warnings) log.warn(w);

  let daemon: Daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error('invalid configuration', { error: e.message, hint: 'run with --help' });
      return EXIT_USAGE;
    }
    log.error('start-up failed', { err: e });
    return EXIT_FAILURE;
  }
  log.info('srtpgate started', {
    version: version(),
    configFile: loaded.configFile,
    ng: daemon.ng.address,
    http: daemon.http?.address ?? null,
    httpAuth: config.http.token !== '',
    media: { address: config.media.address, ports: `${config.media.portMin}-${config.media.portMax}`, maxSessions: config.media.maxSessions,
      interfaces: daemon.relay.interfaces.map((i) => `${i.name}/${i.address}${i.advertised !== i.address ? `!${i.advertised}` : ''}`) },
    ngAddresses: daemon.ng.addresses.map((a) => a.address),
    srtpSuites: daemon.policy.suites,
    io: daemon.relay.ioBackends,
  });

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (++signals > 1) {
        log.warn('second signal: exiting without finishing the shutdown', { signal });
        resolve(EXIT_FAILURE);
        return;
      }
      const timer = setTimeout(() => {
        log.error('shutdown timed out', { timeoutMs: config.shutdownTimeoutMs });
        resolve(EXIT_FAILURE);
      }, config.shutdownTimeoutMs);
      timer.unref();
      daemon.stop(signal).then(
        () => { clearTimeout(timer); resolve(EXIT_OK); },
        (e: unknown) => { clearTimeout(timer); log.error('shutdown failed', { err: e }); resolve(EXIT_FAILURE); },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Drain toggle for operators without HTTP access (kill -USR2 <pid>).
    process.on('SIGUSR2', () => daemon.admission.setDrain(!daemon.admission.draining));
  });
}

// Run only as the entry point, so tests can import startDaemon without starting a process.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const fatal = (kind: string) => (e: unknown): void => {
    new Logger().error(kind, { err: e });
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    fatal('daemon failed'),
  );
}

/** Reads the operator's DTLS certificate, when configured (both files or neither). */
function dtlsCertificateOf(config: Config): { dtlsCertificate?: { certPem: string; keyPem: string } } {
  const { dtlsCertFile, dtlsKeyFile } = config.media;
  if (!dtlsCertFile && !dtlsKeyFile) return {};
  if (!dtlsCertFile || !dtlsKeyFile) throw new RelayError('E_BAD_REQUEST', 'media.dtlsCertFile and media.dtlsKeyFile go together');
  return { dtlsCertificate: { certPem: readFileSync(dtlsCertFile, 'utf8'), keyPem: readFileSync(dtlsKeyFile, 'utf8') } };
}
