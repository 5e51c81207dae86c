// Daemon configuration: embedded defaults < JSON config file < SRTPGATE_* environment
// variables < command-line flags.
//
// One table describes every option (its key in the file, its flag, its variable, its type,
// its default and what it does); parsing, validation and --help are all driven by it, so an
// option cannot be documented but not parsed, or parsed but not documented.
//
// Fail closed: an unknown key in the config file, an unknown flag or a value of the wrong type
// stops the daemon with a message naming the option. A typo in a security setting must not
// silently fall back to a default. Unknown SRTPGATE_* variables only warn, because other tools
// (the test suite) use that prefix too.
//
// Secrets: `http.token` cannot be given as a flag, since any local user can read a process's
// command line; use the file, SRTPGATE_HTTP_TOKEN, or --http-token-file.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { RelayError } from './errors.ts';
import { LOG_LEVELS, type LogLevel } from './Logger.ts';
import { AddressFilter } from './net/AddressFilter.ts';
import { parseInterfaceSpec, resolveInterfaces, type MediaInterfaceOptions } from './net/mediaInterfaces.ts';
import { isSuiteName, SUITES, type SuiteName } from './crypto/suites.ts';
import type { RelayIo } from './session/Relay.ts';

/** Spelled here rather than imported as a value: config must not load the relay to parse flags. */
const RELAY_IO: readonly RelayIo[] = ['auto', 'dgram', 'native'];

export interface Config {
  ng: {
    address: string;
    port: number;
    allowFrom: string[];
    /** More addresses the ng socket also listens on, same port (e.g. ::1 beside 127.0.0.1). */
    alsoListen: string[];
    maxDatagramBytes: number;
    commandsPerSecond: number;
    commandBurst: number;
    replyCacheTtlMs: number;
    maxInFlight: number;
    loadLimit: number;
  };
  /** Admission of new calls (src/control/Admission.ts). */
  control: {
    drain: boolean;
    maxSessionsPerSbe: number;
    maxCpu: number;
    maxLoad: number;
    cpuWindowMs: number;
  };
  http: {
    enabled: boolean;
    address: string;
    port: number;
    /** More addresses the HTTP API also listens on, same port. */
    alsoListen: string[];
    /** Bearer token; '' = none. Filled from tokenFile when that is set. */
    token: string;
    tokenFile: string;
    maxBodyBytes: number;
    requestsPerSecond: number;
  };
  media: {
    address: string;
    advertisedAddress: string;
    /** Named media interfaces; [] = one interface 'default' from address/advertisedAddress. */
    interfaces: MediaInterfaceOptions[];
    /** Replace RTCP SDES text on calls crossing interfaces. */
    hideTopology: boolean;
    portMin: number;
    portMax: number;
    timeout: number;
    lifetime: number;
    maxSessions: number;
    strictSource: boolean;
    workers: number;
    io: RelayIo;
    /** PEM files of the DTLS certificate and its key; '' = generate one at start. */
    dtlsCertFile: string;
    dtlsKeyFile: string;
  };
  srtp: {
    /** SDES suites the relay agrees to and offers; [] = the built-in default set. */
    suites: SuiteName[];
    /** Nothing weaker than this suite; '' = the weakest of `suites`. */
    minimumSuite: SuiteName | '';
    allowAes192: boolean;
    /** Comma-separated policy checks that audit instead of refuse ('' = every check refuses). */
    audit: string;
    minAuthTagBits: number;
    minKeyLifetime: number;
    maxKeyLifetime: number;
    sdesOverInsecureSignalling: string;
    /** Comma-separated key exchanges the relay allows (sdes, dtls). */
    keyExchanges: string;
    /** Weakest peer a=fingerprint hash, and the relay's own (sha-256, sha-384, sha-512). */
    minFingerprintHash: string;
    /** Which leg must use SRTP (none, offerer = the caller's, answerer = the callee's, both). */
    requireSrtp: string;
  };
  log: { level: LogLevel };
  shutdownTimeoutMs: number;
  rateLimits: {
    /** IPv6 media sources share one rate limit and ban per prefix of this length. */
    ipv6PrefixBits: number;
  };
  /** Call-state replication and takeover (src/ha); off while redisUrl is ''. */
  ha: {
    redisUrl: string;
    nodeId: string;
    /** Base64 of 32 bytes; filled from stateKeyFile when that is set. */
    stateKey: string;
    stateKeyFile: string;
    /** Base64 of the key being rotated out: opens old records, never seals. */
    previousStateKey: string;
    peers: string[];
    autoTakeover: boolean;
    keyPrefix: string;
    indexIntervalMs: number;
    heartbeatIntervalMs: number;
    heartbeatTtlMs: number;
    /** SIGTERM hands the calls to the standby (POST /v1/ha/release) instead of ending them. */
    handoverOnStop: boolean;
    releaseTimeoutMs: number;
    releaseHoldMs: number;
  };
}

type OptionType = 'string' | 'address' | 'int' | 'bool' | 'cidrs' | 'level' | 'suites' | 'suite' | 'io' | 'interfaces' | 'addresses';
type Value = string | number | boolean | string[];

interface OptionSpec {
  /** Dotted path in the config file and in Config. */
  readonly key: string;
  readonly type: OptionType;
  readonly default: Value;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  /** Never accepted as a flag and never echoed (secrets). */
  readonly secret?: boolean;
  /** Shown in --help instead of the default value. */
  readonly defaultText?: string;
  /** A second flag for the option (rtpengine's spelling). */
  readonly alias?: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'ng.address', type: 'address', default: '127.0.0.1', doc: 'Address the ng (rtpengine protocol) UDP control socket binds to.' },
  { key: 'ng.port', type: 'int', default: 2223, min: 0, max: 65535, doc: 'ng control port (0 = any free port).' },
  { key: 'ng.allowFrom', type: 'cidrs', default: [], defaultText: 'none (only allowed on a loopback bind)', doc: 'Comma-separated CIDR blocks whose ng requests are answered; required when ng.address is not loopback.' },
  { key: 'ng.alsoListen', type: 'addresses', default: [], defaultText: 'none', doc: 'Comma-separated further addresses the ng socket listens on, same port and allow list (e.g. ::1 beside 127.0.0.1).' },
  { key: 'ng.maxDatagramBytes', type: 'int', default: 65536, min: 512, max: 65536, doc: 'Largest ng datagram accepted; larger ones get an error reply.' },
  { key: 'ng.commandsPerSecond', type: 'int', default: 200, min: 0, max: 1_000_000, doc: 'ng commands per second over all sources (token bucket); 0 = unlimited.' },
  { key: 'ng.commandBurst', type: 'int', default: 0, min: 0, max: 1_000_000, defaultText: '0 (= 2 × ng.commandsPerSecond)', doc: 'ng commands allowed at once above the rate.' },
  { key: 'ng.replyCacheTtlMs', type: 'int', default: 60_000, min: 1000, max: 600_000, doc: 'How long a reply is replayed to a retransmitted request, ms.' },
  { key: 'ng.maxInFlight', type: 'int', default: 256, min: 1, max: 65536, doc: 'ng commands executing at once; more get an error reply.' },
  { key: 'ng.loadLimit', type: 'int', default: 0, min: 0, max: 1_000_000, defaultText: '0 (= media.maxSessions)', doc: 'Sessions at which new offers from SBEs that support it get "result: load limit".' },
  { key: 'control.drain', type: 'bool', default: false, doc: 'Start in drain mode: refuse new calls (SBEs fail over to the next relay), keep serving current ones. Switch at run time with POST /v1/drain or SIGUSR2.' },
  { key: 'control.maxSessionsPerSbe', type: 'int', default: 0, min: 0, max: 1_000_000, defaultText: '0 (no cap)', doc: 'Open sessions one SBE (ng source address) may have created; beyond it its new calls are refused ("load limit").' },
  { key: 'control.maxCpu', type: 'int', default: 0, min: 0, max: 6400, defaultText: '0 (no cap)', doc: 'Process CPU, percent of one core over control.cpuWindowMs, at which new calls are refused ("load limit").' },
  { key: 'control.maxLoad', type: 'int', default: 0, min: 0, max: 10_000, defaultText: '0 (no cap)', doc: 'Host 1-minute load average at which new calls are refused ("load limit").' },
  { key: 'control.cpuWindowMs', type: 'int', default: 5000, min: 1000, max: 60_000, doc: 'Sliding window over which control.maxCpu is measured, ms.' },
  { key: 'http.enabled', type: 'bool', default: true, doc: 'Serve the HTTP/JSON API, /metrics and /healthz.' },
  { key: 'http.address', type: 'address', default: '127.0.0.1', doc: 'Address the HTTP API binds to; a non-loopback address requires http.token.' },
  { key: 'http.alsoListen', type: 'addresses', default: [], defaultText: 'none', doc: 'Comma-separated further addresses the HTTP API listens on, same port (e.g. ::1).' },
  { key: 'http.port', type: 'int', default: 8080, min: 0, max: 65535, doc: 'HTTP API port (0 = any free port).' },
  { key: 'http.token', type: 'string', default: '', secret: true, defaultText: 'none', doc: 'Bearer token required on every route but /healthz (at least 16 characters). Config file or SRTPGATE_HTTP_TOKEN only.' },
  { key: 'http.tokenFile', type: 'string', default: '', defaultText: 'none', doc: 'File holding the bearer token (alternative to http.token).' },
  { key: 'http.maxBodyBytes', type: 'int', default: 262_144, min: 1024, max: 16 * 1024 * 1024, doc: 'Largest HTTP request body accepted.' },
  { key: 'http.requestsPerSecond', type: 'int', default: 200, min: 0, max: 1_000_000, doc: 'HTTP API requests per second (token bucket); 0 = unlimited.' },
  { key: 'media.address', type: 'address', default: '127.0.0.1', doc: 'Address media sockets bind to.' },
  { key: 'media.advertisedAddress', type: 'string', default: '', defaultText: 'media.address', doc: 'Address written into SDP when it differs from the bind address (NAT).' },
  { key: 'media.interfaces', type: 'interfaces', default: [], alias: '--interface', defaultText: 'one interface "default" on media.address', doc: 'Named media interfaces, IPv4 or IPv6, as name/address[!advertised] (rtpengine style; repeat the flag or separate by commas). The ng direction key names them; the first is the default. Replaces media.address and media.advertisedAddress.' },
  { key: 'media.hideTopology', type: 'bool', default: true, doc: 'On calls whose legs are on different interfaces, replace RTCP SDES text (CNAMEs name inside hosts) with opaque tokens.' },
  { key: 'media.portMin', type: 'int', default: 30000, min: 1024, max: 65535, doc: 'Lowest media port.' },
  { key: 'media.portMax', type: 'int', default: 40000, min: 1024, max: 65535, doc: 'Highest media port.' },
  { key: 'media.timeout', type: 'int', default: 60, min: 1, max: 86_400, doc: 'Seconds without media before a session is closed.' },
  { key: 'media.lifetime', type: 'int', default: 10_800, min: 1, max: 604_800, doc: 'Seconds a session may live at most.' },
  { key: 'media.maxSessions', type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Concurrent sessions; beyond it offers fail with "Parallel session limit reached".' },
  { key: 'media.strictSource', type: 'bool', default: false, doc: 'After latching, drop packets from other sources even when they authenticate.' },
  { key: 'media.dtlsCertFile', type: 'string', default: '', defaultText: 'a new ECDSA P-256 certificate at each start', doc: 'PEM certificate for DTLS-SRTP (its sha-256 fingerprint goes into a=fingerprint).' },
  { key: 'media.dtlsKeyFile', type: 'string', default: '', defaultText: 'none', doc: 'PEM private key of media.dtlsCertFile.' },
  { key: 'media.workers', type: 'int', default: 0, min: 0, max: 64, doc: 'Worker threads carrying media (each with its own crypto core and sockets); 0 keeps media in the main thread.' },
  { key: 'media.io', type: 'io', default: 'auto', doc: `Media socket backend (${RELAY_IO.join(', ')}): native = batched recvmmsg/sendmmsg addon, auto = native when it loads.` },
  { key: 'srtp.suites', type: 'suites', default: [], defaultText: 'the strongest suites with 80-bit tags, plus AES_CM_128_HMAC_SHA1_32', doc: 'Comma-separated SDES suites the relay agrees to and offers, by RFC 4568 name.' },
  { key: 'srtp.minimumSuite', type: 'suite', default: '', defaultText: 'the weakest of srtp.suites', doc: 'Refuse (E_BID_DOWN) offers whose usable suites are all weaker than this one.' },
  { key: 'srtp.allowAes192', type: 'bool', default: false, doc: 'Allow AES-192 suites (off: libsrtp2 <= 2.5.0 derives their keys wrongly, so calls fail).' },
  { key: 'srtp.audit', type: 'string', default: '', defaultText: 'none (every check refuses)', doc: 'Comma-separated offer/answer policy checks that let the call go on with a security event instead of refusing it (answerSuiteNotOffered, weakerThanPolicy, transportDowngrade, cryptoStripped, dtlsChanged, dtlsWeakerProfile, weakeningParams, shortTag, lifetime, reinviteWeaker, sdesInsecureSignalling, or all).' },
  { key: 'srtp.minAuthTagBits', type: 'int', default: 32, min: 32, max: 80, doc: 'Shortest SRTP authentication tag accepted: 32 or 80 (80: 32-bit suites are never offered, and an offer of them alone fires the shortTag check).' },
  { key: 'srtp.minKeyLifetime', type: 'int', default: 2 ** 16, min: 1, max: 2 ** 48, doc: 'Shortest a=crypto key lifetime accepted, packets (lifetime check).' },
  { key: 'srtp.maxKeyLifetime', type: 'int', default: 2 ** 48, min: 1, max: 2 ** 48, doc: 'Longest a=crypto key lifetime accepted, packets (lifetime check; 2^48 is the SRTP maximum).' },
  { key: 'srtp.sdesOverInsecureSignalling', type: 'string', default: 'refuse', doc: 'SDES keys from or to a leg the SBE marks insecure-signalling: refuse (DTLS-SRTP only), audit, or allow.' },
  { key: 'srtp.keyExchanges', type: 'string', default: 'sdes,dtls', doc: 'Comma-separated key exchanges allowed: sdes, dtls. Without sdes a=crypto is refused (E_BID_DOWN) and the relay offers UDP/TLS; without dtls DTLS-SRTP offers are refused (E_NO_COMMON_SUITE).' },
  { key: 'srtp.minFingerprintHash', type: 'string', default: 'sha-256', doc: 'Weakest a=fingerprint hash accepted from a peer, and the hash of the relay\'s own: sha-256, sha-384 or sha-512 (sha-1 never).' },
  { key: 'srtp.requireSrtp', type: 'string', default: 'none', doc: 'Which leg must use SRTP (plain RTP refused, only SRTP offered to it): none, offerer (the caller\'s leg, which sent the first offer), answerer (the callee\'s) or both. Default none: plain-RTP phones inside the network are bridged to SRTP.' },
  { key: 'log.level', type: 'level', default: 'info', doc: `Lowest log level written (${LOG_LEVELS.join(', ')}).` },
  { key: 'shutdownTimeoutMs', type: 'int', default: 5000, min: 100, max: 120_000, doc: 'Longest graceful shutdown on SIGTERM/SIGINT before a forced exit, ms.' },
  { key: 'rateLimits.ipv6PrefixBits', type: 'int', default: 64, min: 1, max: 128, doc: 'IPv6 media sources are rate-limited and banned per prefix of this many bits, so one host cannot rotate addresses within its prefix.' },
  { key: 'ha.redisUrl', type: 'string', default: '', defaultText: 'none (call state stays in memory, no replication)', doc: 'Redis holding replicated call state, redis://[user:password@]host:port[/db]. Setting it turns replication on.' },
  { key: 'ha.nodeId', type: 'string', default: '', defaultText: 'none (required with ha.redisUrl)', doc: 'This relay\'s node id in Redis keys (letters, digits, . _ -; at most 64).' },
  { key: 'ha.stateKey', type: 'string', default: '', secret: true, defaultText: 'none', doc: 'Base64 of the 32-byte AES-256-GCM key that seals SRTP keys in Redis; the same on every relay. Config file or SRTPGATE_HA_STATE_KEY only.' },
  { key: 'ha.stateKeyFile', type: 'string', default: '', defaultText: 'none', doc: 'File holding ha.stateKey (alternative to it).' },
  { key: 'ha.previousStateKey', type: 'string', default: '', secret: true, defaultText: 'none', doc: 'Base64 of the state key being rotated out: records sealed under it still open.' },
  { key: 'ha.peers', type: 'string', default: '', defaultText: 'none', doc: 'Comma-separated node ids whose calls this relay keeps (sealed) and may take over.' },
  { key: 'ha.autoTakeover', type: 'bool', default: false, doc: 'Take a peer\'s calls over when its heartbeat key expires (off: only POST /v1/ha/takeover, e.g. from keepalived; see README).' },
  { key: 'ha.keyPrefix', type: 'string', default: 'srtpgate', doc: 'Prefix of every Redis key the relays write.' },
  { key: 'ha.indexIntervalMs', type: 'int', default: 250, min: 20, max: 5000, doc: 'How often SRTP/SRTCP index high-water marks are checked (and written when use nears them), ms.' },
  { key: 'ha.heartbeatIntervalMs', type: 'int', default: 500, min: 50, max: 60_000, doc: 'How often this relay refreshes its heartbeat key, ms.' },
  { key: 'ha.heartbeatTtlMs', type: 'int', default: 1500, min: 100, max: 600_000, doc: 'Expiry of the heartbeat key: a relay silent this long counts as failed, ms.' },
  { key: 'ha.handoverOnStop', type: 'bool', default: false, doc: 'On SIGTERM hand every call to the standby (as POST /v1/ha/release) instead of ending it; off: a stop ends the calls (see README).' },
  { key: 'ha.releaseTimeoutMs', type: 'int', default: 1000, min: 50, max: 30_000, doc: 'How long a release waits for Redis to acknowledge the calls\' final state; calls not acknowledged end as on a stop, ms.' },
  { key: 'ha.releaseHoldMs', type: 'int', default: 10_000, min: 1000, max: 600_000, doc: 'Expiry of a call\'s "released" key: a standby that has not taken it by then leaves it in Redis (takeover command), ms.' },
];

const BY_KEY = new Map(OPTIONS.map((o) => [o.key, o]));

export class ConfigError extends RelayError {
  constructor(message: string, context?: Readonly<Record<string, string | number>>) {
    super('E_BAD_REQUEST', message, context);
  }
}

/** `ng.maxDatagramBytes` → `--ng-max-datagram-bytes`. */
export function flagOf(key: string): string {
  return `--${key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `ng.maxDatagramBytes` → `SRTPGATE_NG_MAX_DATAGRAM_BYTES`. */
export function envOf(key: string): string {
  return `SRTPGATE_${key.replace(/\./g, '_').replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const BY_FLAG = new Map(OPTIONS.flatMap((o) => [[flagOf(o.key), o] as const, ...(o.alias !== undefined ? [[o.alias, o] as const] : [])]));
const BY_ENV = new Map(OPTIONS.map((o) => [envOf(o.key), o]));
export const CONFIG_ENV = 'SRTPGATE_CONFIG';

type Origin = 'default' | 'file' | 'env' | 'flag';

function parseBool(s: string, where: string): boolean {
  const v = s.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  throw new ConfigError('expected a boolean (true/false)', { option: where });
}

/** Converts text (env, flag) or a JSON value (file) to the option's type, validating it. */
function coerce(spec: OptionSpec, raw: unknown, where: string): Value {
  const fail = (what: string): never => { throw new ConfigError(what, { option: where }); };
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') fail('expected a string');
      return raw as string;
    case 'address': {
      if (typeof raw !== 'string' || isIP(raw.trim()) === 0) fail('expected an IPv4 or IPv6 address');
      return (raw as string).trim();
    }
    case 'int': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) n = Number(raw);
      else return fail('expected an integer');
      if (!Number.isSafeInteger(n)) fail('expected an integer');
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        fail(`out of range ${spec.min ?? '-∞'}..${spec.max ?? '∞'}`);
      }
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') return parseBool(raw, where);
      return fail('expected a boolean');
    case 'level': {
      const l = typeof raw === 'string' ? LOG_LEVELS.find((x) => x === raw.trim().toLowerCase()) : undefined;
      if (l === undefined) fail(`expected one of ${LOG_LEVELS.join(', ')}`);
      return l as LogLevel;
    }
    case 'io': {
      const io = typeof raw === 'string' ? RELAY_IO.find((x) => x === raw.trim().toLowerCase()) : undefined;
      if (io === undefined) fail(`expected one of ${RELAY_IO.join(', ')}`);
      return io as RelayIo;
    }
    case 'suite': {
      if (typeof raw !== 'string') return fail('expected a suite name');
      const name = raw.trim();
      if (name !== '' && !isSuiteName(name)) fail(`unknown suite (known: ${SUITES.map((x) => x.name).join(', ')})`);
      return name;
    }
    case 'suites': {
      let list: string[];
      if (typeof raw === 'string') list = raw.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
      else if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) list = raw.map((x: string) => x.trim());
      else return fail('expected a list of suite names');
      const unknown = list.find((n) => !isSuiteName(n));
      if (unknown !== undefined) fail(`unknown suite ${JSON.stringify(unknown.slice(0, 48))}`);
      return list;
    }
    case 'addresses': {
      const list = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter((x) => x.length > 0)
        : Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? raw.map((x: string) => x.trim()) : fail('expected a list of IP addresses');
      if (list.some((a) => isIP(a) === 0)) fail('expected a list of IPv4 or IPv6 addresses');
      return list;
    }
    case 'interfaces': {
      const list = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter((x) => x.length > 0)
        : Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? raw.map((x: string) => x.trim()) : fail('expected a list of name/address[!advertised]');
      try {
        if (list.length > 0) resolveInterfaces(list.map(parseInterfaceSpec));
      } catch (e) {
        fail(e instanceof Error ? e.message : 'bad interface');
      }
      return list;
    }
    case 'cidrs': {
      let list: string[];
      if (typeof raw === 'string') list = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      else if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) list = raw.map((s: string) => s.trim());
      else return fail('expected a list of CIDR blocks');
      try {
        new AddressFilter(list);
      } catch (e) {
        fail(e instanceof Error ? e.message : 'bad CIDR block');
      }
      return list;
    }
  }
}

/** Flattens the config file's nested objects into dotted keys, rejecting unknown ones. */
function flattenFile(obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError('config file section must be a JSON object', { key: prefix || '(top)' });
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (BY_KEY.has(key)) out.set(key, v);
    else if (OPTIONS.some((o) => o.key.startsWith(`${key}.`))) flattenFile(v, key, out);
    else throw new ConfigError('unknown key in config file', { key: key.slice(0, 80) });
  }
}

export interface LoadConfigInput {
  /** Arguments after the script name. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the config and token files. Default: fs.readFileSync as UTF-8. */
  readonly readFile?: (path: string) => string;
}

export type LoadConfigResult =
  | { readonly kind: 'help'; readonly text: string }
  | {
      readonly kind: 'config';
      readonly config: Config;
      /** Where each option's value came from (for the start-up log). */
      readonly origins: Readonly<Record<string, Origin>>;
      readonly warnings: readonly string[];
      readonly configFile: string | null;
    };

interface FlagValue {
  readonly spec: OptionSpec;
  readonly raw: string;
  readonly flag: string;
}

/** Splits argv into option flags, --config and --help. */
function parseArgv(argv: readonly string[]): { flags: FlagValue[]; configFile: string | null; help: boolean } {
  const flags: FlagValue[] = [];
  let configFile: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') { help = true; continue; }
    if (!arg.startsWith('--')) throw new ConfigError('unexpected argument (options start with --)', { argument: arg.slice(0, 80) });
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg : arg.slice(0, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    const next = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined) throw new ConfigError('flag needs a value', { flag: name });
      i++;
      return v;
    };
    if (name === '--config') { configFile = next(); continue; }
    let negated = false;
    if (!BY_FLAG.has(name) && name.startsWith('--no-') && BY_FLAG.get(`--${name.slice(5)}`)?.type === 'bool') {
      negated = true;
      name = `--${name.slice(5)}`;
    }
    const spec = BY_FLAG.get(name);
    if (spec === undefined) throw new ConfigError('unknown flag (see --help)', { flag: name.slice(0, 80) });
    if (spec.secret === true) throw new ConfigError('secret options cannot be flags (the command line is visible to every user); use the config file or the environment', { flag: name });
    if (spec.type === 'bool') {
      if (negated && inline !== undefined) throw new ConfigError('--no- flags take no value', { flag: arg.slice(0, 80) });
      // A bare boolean flag means true; its value, when given, must be attached with '='.
      const raw = negated ? 'false' : inline ?? 'true';
      inline = undefined;
      flags.push({ spec, raw, flag: name });
      continue;
    }
    flags.push({ spec, raw: next(), flag: name });
  }
  return { flags, configFile, help };
}

/** Reads defaults, file, environment and flags, in that order of precedence. Throws ConfigError. */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const readFile = input.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const { flags, configFile: flagFile, help } = parseArgv(input.argv);
  if (help) return { kind: 'help', text: helpText() };

  const values = new Map<string, Value>();
  const origins: Record<string, Origin> = {};
  for (const o of OPTIONS) { values.set(o.key, o.default); origins[o.key] = 'default'; }
  const warnings: string[] = [];

  const configFile = flagFile ?? (input.env[CONFIG_ENV] || null);
  if (configFile !== null) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (e) {
      throw new ConfigError('cannot read config file', { file: configFile, reason: (e as NodeJS.ErrnoException).code ?? 'error' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ConfigError('config file is not valid JSON', { file: configFile });
    }
    const flat = new Map<string, unknown>();
    flattenFile(json, '', flat);
    for (const [key, raw] of flat) {
      const spec = BY_KEY.get(key)!;
      values.set(key, coerce(spec, raw, key));
      origins[key] = 'file';
    }
  }

  for (const [name, raw] of Object.entries(input.env)) {
    if (!name.startsWith('SRTPGATE_') || raw === undefined || name === CONFIG_ENV) continue;
    const spec = BY_ENV.get(name);
    if (spec === undefined) { warnings.push(`unknown environment variable ${name} ignored`); continue; }
    values.set(spec.key, coerce(spec, raw, name));
    origins[spec.key] = 'env';
  }

  // Repeated list flags add up (--ng-allow-from a --ng-allow-from b); other flags: last wins.
  const listsFromFlags = new Set<string>();
  for (const f of flags) {
    const v = coerce(f.spec, f.raw, f.flag);
    const isList = f.spec.type === 'cidrs' || f.spec.type === 'suites' || f.spec.type === 'interfaces' || f.spec.type === 'addresses';
    if (isList && listsFromFlags.has(f.spec.key)) {
      values.set(f.spec.key, [...(values.get(f.spec.key) as string[]), ...(v as string[])]);
    } else {
      values.set(f.spec.key, v);
    }
    if (isList) listsFromFlags.add(f.spec.key);
    origins[f.spec.key] = 'flag';
  }

  const config = build(values);
  if (config.http.tokenFile !== '') {
    if (config.http.token !== '') throw new ConfigError('set http.token or http.tokenFile, not both');
    let t: string;
    try {
      t = readFile(config.http.tokenFile);
    } catch (e) {
      throw new ConfigError('cannot read token file', { file: config.http.tokenFile, reason: (e as NodeJS.ErrnoException).code ?? 'error' });
    }
    config.http.token = t.trim();
    if (config.http.token === '') throw new ConfigError('token file is empty', { file: config.http.tokenFile });
  }
  readHaKey(config, readFile);
  validate(config);
  return { kind: 'config', config, origins, warnings, configFile };
}

/** ha.stateKeyFile into ha.stateKey, and the ha rows that only make sense together. */
function readHaKey(config: Config, readFile: (path: string) => string): void {
  const ha = config.ha;
  if (ha.stateKeyFile !== '') {
    if (ha.stateKey !== '') throw new ConfigError('set ha.stateKey or ha.stateKeyFile, not both');
    try {
      ha.stateKey = readFile(ha.stateKeyFile).trim();
    } catch (e) {
      throw new ConfigError('cannot read state key file', { file: ha.stateKeyFile, reason: (e as NodeJS.ErrnoException).code ?? 'error' });
    }
  }
  if (ha.redisUrl === '') return;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ha.nodeId)) throw new ConfigError('ha.nodeId is required with ha.redisUrl: letters, digits, . _ - (at most 64)');
  if (ha.stateKey === '') throw new ConfigError('ha.stateKey or ha.stateKeyFile is required with ha.redisUrl');
  const bad = ha.peers.find((p) => !/^[A-Za-z0-9_.-]{1,64}$/.test(p) || p === ha.nodeId);
  if (bad !== undefined) throw new ConfigError('ha.peers: not a node id, or this relay\'s own', { peer: bad.slice(0, 64) });
  if (ha.heartbeatTtlMs <= ha.heartbeatIntervalMs) throw new ConfigError('ha.heartbeatTtlMs must exceed ha.heartbeatIntervalMs');
}

function build(v: Map<string, Value>): Config {
  const str = (k: string): string => v.get(k) as string;
  const int = (k: string): number => v.get(k) as number;
  const bool = (k: string): boolean => v.get(k) as boolean;
  return {
    ng: {
      address: str('ng.address'),
      port: int('ng.port'),
      allowFrom: [...(v.get('ng.allowFrom') as string[])],
      alsoListen: [...(v.get('ng.alsoListen') as string[])],
      maxDatagramBytes: int('ng.maxDatagramBytes'),
      commandsPerSecond: int('ng.commandsPerSecond'),
      commandBurst: int('ng.commandBurst'),
      replyCacheTtlMs: int('ng.replyCacheTtlMs'),
      maxInFlight: int('ng.maxInFlight'),
      loadLimit: int('ng.loadLimit'),
    },
    control: {
      drain: bool('control.drain'),
      maxSessionsPerSbe: int('control.maxSessionsPerSbe'),
      maxCpu: int('control.maxCpu'),
      maxLoad: int('control.maxLoad'),
      cpuWindowMs: int('control.cpuWindowMs'),
    },
    http: {
      enabled: bool('http.enabled'),
      address: str('http.address'),
      port: int('http.port'),
      token: str('http.token'),
      tokenFile: str('http.tokenFile'),
      alsoListen: [...(v.get('http.alsoListen') as string[])],
      maxBodyBytes: int('http.maxBodyBytes'),
      requestsPerSecond: int('http.requestsPerSecond'),
    },
    media: {
      address: str('media.address'),
      advertisedAddress: str('media.advertisedAddress'),
      interfaces: (v.get('media.interfaces') as string[]).map(parseInterfaceSpec),
      hideTopology: bool('media.hideTopology'),
      portMin: int('media.portMin'),
      portMax: int('media.portMax'),
      timeout: int('media.timeout'),
      lifetime: int('media.lifetime'),
      maxSessions: int('media.maxSessions'),
      strictSource: bool('media.strictSource'),
      workers: int('media.workers'),
      io: v.get('media.io') as RelayIo,
      dtlsCertFile: str('media.dtlsCertFile'),
      dtlsKeyFile: str('media.dtlsKeyFile'),
    },
    srtp: {
      suites: (v.get('srtp.suites') as string[]).filter(isSuiteName),
      minimumSuite: (() => { const n = str('srtp.minimumSuite'); return isSuiteName(n) ? n : ''; })(),
      allowAes192: bool('srtp.allowAes192'),
      audit: str('srtp.audit'),
      minAuthTagBits: int('srtp.minAuthTagBits'),
      minKeyLifetime: int('srtp.minKeyLifetime'),
      maxKeyLifetime: int('srtp.maxKeyLifetime'),
      sdesOverInsecureSignalling: str('srtp.sdesOverInsecureSignalling'),
      keyExchanges: str('srtp.keyExchanges'),
      minFingerprintHash: str('srtp.minFingerprintHash'),
      requireSrtp: str('srtp.requireSrtp'),
    },
    log: { level: v.get('log.level') as LogLevel },
    rateLimits: { ipv6PrefixBits: int('rateLimits.ipv6PrefixBits') },
    shutdownTimeoutMs: int('shutdownTimeoutMs'),
    ha: {
      redisUrl: str('ha.redisUrl').trim(),
      nodeId: str('ha.nodeId').trim(),
      stateKey: str('ha.stateKey').trim(),
      stateKeyFile: str('ha.stateKeyFile'),
      previousStateKey: str('ha.previousStateKey').trim(),
      peers: str('ha.peers').split(',').map((p) => p.trim()).filter((p) => p.length > 0),
      autoTakeover: bool('ha.autoTakeover'),
      keyPrefix: str('ha.keyPrefix'),
      indexIntervalMs: int('ha.indexIntervalMs'),
      heartbeatIntervalMs: int('ha.heartbeatIntervalMs'),
      heartbeatTtlMs: int('ha.heartbeatTtlMs'),
      handoverOnStop: bool('ha.handoverOnStop'),
      releaseTimeoutMs: int('ha.releaseTimeoutMs'),
      releaseHoldMs: int('ha.releaseHoldMs'),
    },
  };
}

/** Checks that span several options. */
function validate(c: Config): void {
  if (c.media.portMax < c.media.portMin + 1) {
    throw new ConfigError('media.portMax must exceed media.portMin (ports come in RTP/RTCP pairs)', { min: c.media.portMin, max: c.media.portMax });
  }
  if (c.media.advertisedAddress !== '' && isIP(c.media.advertisedAddress) === 0) {
    throw new ConfigError('expected an IPv4 or IPv6 address', { option: 'media.advertisedAddress' });
  }
  if (c.media.interfaces.length > 0) {
    // Repeated flags add up: names must be unique across all of them.
    try {
      resolveInterfaces(c.media.interfaces);
    } catch (e) {
      throw new ConfigError(`media.interfaces: ${e instanceof Error ? e.message : 'bad interface'}`);
    }
  }
  if (c.media.interfaces.length > 0 && c.media.advertisedAddress !== '') {
    throw new ConfigError('media.interfaces carries each interface\'s advertised address (name/address!advertised): drop media.advertisedAddress');
  }
  // A short token is a guessable token; the length is counted, never echoed.
  if (c.http.token !== '' && c.http.token.length < 16) throw new ConfigError('http.token must be at least 16 characters');
  if (/\s/.test(c.http.token)) throw new ConfigError('http.token must not contain white space');
  if (c.ng.loadLimit > c.media.maxSessions) {
    throw new ConfigError('ng.loadLimit cannot exceed media.maxSessions', { loadLimit: c.ng.loadLimit, maxSessions: c.media.maxSessions });
  }
}

function showDefault(o: OptionSpec): string {
  if (o.defaultText !== undefined) return o.defaultText;
  if (Array.isArray(o.default)) return o.default.length === 0 ? 'none' : o.default.join(',');
  return String(o.default);
}

const META: Readonly<Record<OptionType, string>> = {
  string: 'TEXT', address: 'ADDR', int: 'N', bool: '', cidrs: 'CIDR[,CIDR…]', level: 'LEVEL', suites: 'SUITE[,SUITE…]', suite: 'SUITE', io: 'IO',
  interfaces: 'NAME/ADDR[!ADV][,…]', addresses: 'ADDR[,ADDR…]',
};

/** The --help text: every option with its flag, variable, default and meaning. */
export function helpText(): string {
  const lines = [
    'srtpgate — secure SRTP/SRTCP media relay driven over rtpengine\'s ng protocol',
    '',
    'Usage: npm start -- [--config FILE] [options]',
    '       node --import tsx src/cli.ts [--config FILE] [options]',
    '',
    'Precedence: built-in defaults < config file (JSON) < SRTPGATE_* environment < flags.',
    'The config file nests keys by their dots: {"ng": {"port": 2223}, "media": {"portMin": 30000}}.',
    '',
    '  --config FILE   (env SRTPGATE_CONFIG)',
    '      JSON config file to read. Default: none.',
    '  -h, --help',
    '      Print this text and exit.',
    '',
  ];
  for (const o of OPTIONS) {
    const flag = o.secret === true ? '(no flag)' : `${flagOf(o.key)}${META[o.type] ? ` ${META[o.type]}` : ` | --no-${flagOf(o.key).slice(2)}`}`;
    lines.push(`  ${flag}${o.alias !== undefined ? ` | ${o.alias} ${META[o.type]}` : ''}   (file ${o.key}, env ${envOf(o.key)})`);
    lines.push(`      ${o.doc} Default: ${showDefault(o)}.`);
  }
  lines.push('', 'Signals: SIGTERM or SIGINT stops gracefully (sessions closed, keys wiped) and exits 0.', '');
  return lines.join('\n');
}
