// The HTTP/JSON API: calls as resources, for orchestration and operators (node:http only).
//
//   POST   /v1/calls/{callId}/offer    {fromTag, sdp, policy?, transportProtocol?, ice?, rtcpMux?, replace?}
//   POST   /v1/calls/{callId}/answer   {fromTag, toTag, sdp, policy?, ...}
//   GET    /v1/calls                   ?limit=N
//   GET    /v1/calls/{callId}
//   DELETE /v1/calls/{callId}          ?fromTag=&toTag=
//   GET    /openapi.json  /metrics  /healthz
//
// Where ng carries security choices as flag strings (`SDES-no-…`, `SDES-only-…`), this API
// takes one typed policy object and validates it at the edge; it is then expressed in ng's
// vocabulary and goes through the same request schema (normalizeNgDict) as an ng request, so
// both interfaces reach the controller with identically validated requests.
//
// Order per request, cheapest first: route → auth → rate limit → body (size-limited, JSON,
// validated) → controller. Authentication comes before the rate limit so unauthenticated
// traffic cannot use up the budget of the real client. Every error is `{error: {code,
// message}}` with a status from one table; responses are `no-store` (offer and answer
// replies carry SRTP keys in their SDP).
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { RelayError, type RelayErrorCode } from '../errors.ts';
import { silentLogger, type Logger } from '../Logger.ts';
import { isLoopbackAddress } from '../net/AddressFilter.ts';
import { PROMETHEUS_CONTENT_TYPE, type Metrics } from '../metrics/Metrics.ts';
import { SUITES, suiteByName } from '../crypto/suites.ts';
import { isSecureProtocol, parseSdp } from '../sdp/parse.ts';
import { TokenBucket } from './TokenBucket.ts';
import { kebabOf, POLICY_CHECKS, type PolicyCheck } from './policyChecks.ts';
import { FINGERPRINT_HASHES, KEY_EXCHANGES } from './policy.ts';
import type { CallControl } from './commands.ts';
import {
  ICE_MODES, normalizeNgDict, REPLACE_OPTIONS, RTCP_MUX_OPTIONS, TRANSPORT_PROTOCOLS,
  type NgAnswerRequest, type NgOfferRequest,
} from './ngRequest.ts';
import { openApiDocument } from './openapi.ts';
import type { Admission } from './Admission.ts';

export interface HttpApiOptions {
  /** The call controller. Required. */
  control: CallControl;
  /** Rendered at /metrics (counting is wired by the owner: metrics.observeHttpApi). Default: /metrics answers 404. */
  metrics?: Metrics;
  /** Address to bind. Default '127.0.0.1'. A non-loopback address requires `token`. */
  address?: string;
  /** Further addresses served on the same port (e.g. '::1' beside '127.0.0.1'), same rules. Default none. */
  alsoListen?: readonly string[];
  /** TCP port. Default 8080; 0 picks a free one. */
  port?: number;
  /** Bearer token for every route but /healthz. Default '' (none: loopback binds only). */
  token?: string;
  /** Largest request body, bytes. Default 262144. */
  maxBodyBytes?: number;
  /** Requests per second over all clients (token bucket); 0 = unlimited. Default 200. */
  requestsPerSecond?: number;
  /** Drain switch and admission state for /v1/drain. Default: /v1/drain answers 404. */
  admission?: Pick<Admission, 'setDrain' | 'snapshot' | 'check' | 'admitted'>;
  /** Call-state replication for POST /v1/ha/takeover. Default: the route answers 404. */
  ha?: HaControl;
  /** Reported in /openapi.json and /healthz. Default '0.0.0'. */
  version?: string;
  /** Default: no logging. */
  logger?: Logger;
}

/** What /v1/ha/takeover needs (src/ha/Replicator). */
export interface HaControl {
  takeover(node: string): Promise<{ node: string; calls: number; failed: number; durationMs: number }>;
  /** Hands every call to the standby (the route drains admission first). */
  release(): Promise<{ node: string; released: number; ended: number; durationMs: number }>;
}

export const HTTP_API_DEFAULTS = Object.freeze({ address: '127.0.0.1', port: 8080, maxBodyBytes: 262_144, requestsPerSecond: 200 });

/** HTTP-level error codes, beside the RelayError codes the controller throws. */
export type HttpErrorCode =
  | RelayErrorCode
  | 'E_UNAUTHORIZED' | 'E_METHOD_NOT_ALLOWED' | 'E_PAYLOAD_TOO_LARGE' | 'E_UNSUPPORTED_MEDIA_TYPE' | 'E_UNAVAILABLE';

const STATUS: Readonly<Record<HttpErrorCode, number>> = {
  E_BAD_REQUEST: 400, E_BAD_SDP: 400, E_BAD_CRYPTO: 400, E_BAD_BENCODE: 400,
  E_NO_COMMON_SUITE: 422, E_BID_DOWN: 422, E_INVALID_STATE: 409, E_RATE_LIMITED: 429,
  E_NOT_FOUND: 404, E_PORTS_EXHAUSTED: 503, E_SESSION_LIMIT: 503, E_CRYPTO_SELFTEST: 500, E_INTERNAL: 500,
  E_UNAUTHORIZED: 401, E_METHOD_NOT_ALLOWED: 405, E_PAYLOAD_TOO_LARGE: 413, E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_UNAVAILABLE: 503,
};

class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: HttpErrorCode, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.code = code;
    this.headers = headers;
  }
}

// ---------------------------------------------------------------- routes

export type RouteName = 'offer' | 'answer' | 'list' | 'query' | 'delete' | 'getDrain' | 'setDrain' | 'haTakeover' | 'haRelease' | 'openapi' | 'metrics' | 'healthz';
export interface RouteSpec {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI path template. */
  readonly path: string;
  /** False only for /healthz (load balancers and orchestrators probe it without secrets). */
  readonly auth: boolean;
}

/** Every route served; openapi.ts documents exactly these (a test holds them together). */
export const HTTP_ROUTES: readonly RouteSpec[] = [
  { name: 'offer', method: 'POST', path: '/v1/calls/{callId}/offer', auth: true },
  { name: 'answer', method: 'POST', path: '/v1/calls/{callId}/answer', auth: true },
  { name: 'list', method: 'GET', path: '/v1/calls', auth: true },
  { name: 'query', method: 'GET', path: '/v1/calls/{callId}', auth: true },
  { name: 'delete', method: 'DELETE', path: '/v1/calls/{callId}', auth: true },
  { name: 'getDrain', method: 'GET', path: '/v1/drain', auth: true },
  { name: 'setDrain', method: 'POST', path: '/v1/drain', auth: true },
  { name: 'haTakeover', method: 'POST', path: '/v1/ha/takeover', auth: true },
  { name: 'haRelease', method: 'POST', path: '/v1/ha/release', auth: true },
  { name: 'openapi', method: 'GET', path: '/openapi.json', auth: true },
  { name: 'metrics', method: 'GET', path: '/metrics', auth: true },
  { name: 'healthz', method: 'GET', path: '/healthz', auth: false },
];

/** Matches a request path against the templates; `{callId}` takes one decoded segment. */
function matchRoute(pathname: string): { routes: RouteSpec[]; callId: string | undefined } {
  const segs = pathname.split('/');
  const routes: RouteSpec[] = [];
  let callId: string | undefined;
  for (const r of HTTP_ROUTES) {
    const t = r.path.split('/');
    if (t.length !== segs.length) continue;
    let id: string | undefined;
    let ok = true;
    for (let i = 0; i < t.length && ok; i++) {
      if (t[i] === '{callId}') {
        try {
          id = decodeURIComponent(segs[i]!);
        } catch {
          ok = false;
        }
        if (id === '') ok = false;
      } else if (t[i] !== segs[i]) {
        ok = false;
      }
    }
    if (ok) {
      routes.push(r);
      callId = id;
    }
  }
  return { routes, callId };
}

// ---------------------------------------------------------------- bodies and the policy

/** The typed crypto policy of one offer or answer (instead of ng's SDES flag strings). */
export interface HttpCryptoPolicy {
  /** Suites the relay may agree to on either leg, by SDES name. Default: every suite the relay carries. */
  allowedSuites?: string[];
  /** Nothing weaker than this suite (compared by the suite table's rank). Default: no minimum. */
  minimumSuite?: string;
  /**
   * Refuse plain RTP: this party's SDP must use SRTP profiles (RTP/SAVP, RTP/SAVPF) on every
   * active RTP section, and so must the transport offered to the other party. Default false.
   */
  requireSrtp?: boolean;
  /** Key exchanges this call may use (sdes, dtls): narrows the relay's srtp.keyExchanges. Default: the relay's. */
  keyExchanges?: string[];
  /** Weakest a=fingerprint hash for this call: raises the relay's srtp.minFingerprintHash, never lowers it. */
  minFingerprintHash?: string;
  /** Per check (POLICY_CHECKS): refuse or audit, for this request. Default: the relay's verdicts. */
  onViolation?: Partial<Record<PolicyCheck, 'refuse' | 'audit'>>;
}

interface SdpBody {
  fromTag: string;
  toTag?: string;
  sdp: string;
  policy?: HttpCryptoPolicy;
  /** 'insecure': this party's signalling is unprotected (ng flag insecure-signalling). */
  signalling?: string;
  /** 'insecure': the other party's signalling is unprotected (ng flag insecure-signalling-peer). */
  peerSignalling?: string;
  transportProtocol?: string;
  ice?: string;
  rtcpMux?: string[];
  replace?: string[];
}

type JsonObject = Record<string, unknown>;

function bad(message: string): never {
  throw new HttpError('E_BAD_REQUEST', message);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: JsonObject, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) bad(`${where}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  }
}

function str(o: JsonObject, k: string, where: string, required: boolean, max = 512): string | undefined {
  const v = o[k];
  if (v === undefined) {
    if (required) bad(`${where}.${k} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) bad(`${where}.${k} must be a non-empty string of at most ${max} characters`);
  return v;
}

function strList(o: JsonObject, k: string, where: string, allowed?: readonly string[]): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 16 || !v.every((x) => typeof x === 'string')) bad(`${where}.${k} must be a list of at most 16 strings`);
  const list = v as string[];
  if (allowed) for (const x of list) if (!allowed.includes(x)) bad(`${where}.${k}: unsupported value ${JSON.stringify(x.slice(0, 40))}`);
  return list;
}

function oneOf(o: JsonObject, k: string, where: string, allowed: readonly string[]): string | undefined {
  const v = str(o, k, where, false);
  if (v !== undefined && !allowed.includes(v)) bad(`${where}.${k} must be one of ${allowed.join(', ')}`);
  return v;
}

/** Suites the relay can carry (NULL ciphers never: they need an insecure option). */
const CARRIED = SUITES.filter((s) => s.encrypts).map((s) => s.name as string);

function parsePolicy(v: unknown): HttpCryptoPolicy | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) bad('policy must be an object');
  onlyKeys(v, ['allowedSuites', 'minimumSuite', 'requireSrtp', 'keyExchanges', 'minFingerprintHash', 'onViolation'], 'policy');
  const keyExchanges = strList(v, 'keyExchanges', 'policy', KEY_EXCHANGES);
  if (keyExchanges !== undefined && keyExchanges.length === 0) bad('policy.keyExchanges must name sdes, dtls or both');
  const minFingerprintHash = oneOf(v, 'minFingerprintHash', 'policy', FINGERPRINT_HASHES);
  const allowedSuites = strList(v, 'allowedSuites', 'policy', CARRIED);
  const minimumSuite = oneOf(v, 'minimumSuite', 'policy', CARRIED);
  const requireSrtp = v.requireSrtp;
  if (requireSrtp !== undefined && typeof requireSrtp !== 'boolean') bad('policy.requireSrtp must be a boolean');
  let onViolation: HttpCryptoPolicy['onViolation'];
  if (v.onViolation !== undefined) {
    const ov = v.onViolation;
    if (!isObject(ov)) bad('policy.onViolation must be an object');
    onlyKeys(ov, POLICY_CHECKS, 'policy.onViolation');
    onViolation = {};
    for (const c of POLICY_CHECKS) {
      const verdict = oneOf(ov, c, 'policy.onViolation', ['refuse', 'audit']);
      if (verdict !== undefined) onViolation[c] = verdict as 'refuse' | 'audit';
    }
  }
  return { allowedSuites, minimumSuite, requireSrtp, keyExchanges, minFingerprintHash, onViolation };
}

function parseSdpBody(v: unknown, answer: boolean): SdpBody {
  if (!isObject(v)) bad('body must be a JSON object');
  onlyKeys(v, ['fromTag', 'toTag', 'sdp', 'policy', 'signalling', 'peerSignalling', 'transportProtocol', 'ice', 'rtcpMux', 'replace'], 'body');
  return {
    fromTag: str(v, 'fromTag', 'body', true)!,
    toTag: str(v, 'toTag', 'body', answer),
    sdp: str(v, 'sdp', 'body', true, 65_536)!,
    policy: parsePolicy(v.policy),
    signalling: oneOf(v, 'signalling', 'body', ['secure', 'insecure']),
    peerSignalling: oneOf(v, 'peerSignalling', 'body', ['secure', 'insecure']),
    transportProtocol: oneOf(v, 'transportProtocol', 'body', TRANSPORT_PROTOCOLS),
    ice: oneOf(v, 'ice', 'body', ICE_MODES),
    rtcpMux: strList(v, 'rtcpMux', 'body', RTCP_MUX_OPTIONS),
    replace: strList(v, 'replace', 'body', REPLACE_OPTIONS),
  };
}

/**
 * The suites a policy leaves, strongest first; an empty result is a request error (the
 * relay would have nothing to agree to, and saying so now beats a failed call later).
 */
export function policySuites(p: HttpCryptoPolicy): string[] {
  const min = p.minimumSuite === undefined ? -Infinity : suiteByName(p.minimumSuite)!.rank;
  const names = SUITES.filter((s) => s.encrypts && s.rank >= min && (p.allowedSuites === undefined || p.allowedSuites.includes(s.name)))
    .sort((a, b) => b.rank - a.rank)
    .map((s) => s.name as string);
  if (names.length === 0) bad('policy allows no SRTP suite');
  return names;
}

/** The ng dict an HTTP offer/answer stands for; normalizeNgDict then validates it like any ng request. */
function toNgDict(command: 'offer' | 'answer', callId: string, b: SdpBody): Record<string, unknown> {
  const d: Record<string, unknown> = { command, 'call-id': callId, 'from-tag': b.fromTag, sdp: b.sdp };
  if (b.toTag !== undefined) d['to-tag'] = b.toTag;
  if (b.transportProtocol !== undefined) d['transport-protocol'] = b.transportProtocol;
  if (b.ice !== undefined) d.ICE = b.ice;
  if (b.rtcpMux !== undefined) d['rtcp-mux'] = b.rtcpMux;
  if (b.replace !== undefined) d.replace = b.replace;
  const p = b.policy;
  if (p !== undefined && (p.allowedSuites !== undefined || p.minimumSuite !== undefined)) {
    // `SDES-only-…` can only narrow the relay's configured policy, never widen it.
    d.SDES = policySuites(p).map((n) => `only-${n}`);
  }
  // Verdicts and signalling marks travel as the ng flags RequestGuard reads.
  const flags = Object.entries(p?.onViolation ?? {}).map(([c, verdict]) => `${verdict}-${kebabOf(c as PolicyCheck)}`);
  if (b.signalling === 'insecure') flags.push('insecure-signalling');
  if (b.peerSignalling === 'insecure') flags.push('insecure-signalling-peer');
  for (const x of p?.keyExchanges ?? []) flags.push(`key-exchange-${x}`);
  if (p?.minFingerprintHash !== undefined) flags.push(`min-fingerprint-hash-${p.minFingerprintHash}`);
  // The controller enforces it too (checkRequireSrtp below is the early, stricter check): an
  // offer's requirement covers both parties, an answer's the answering party.
  if (p?.requireSrtp === true) flags.push(command === 'offer' ? 'require-srtp' : 'require-srtp-answerer');
  if (flags.length > 0) d.flags = flags;
  return d;
}

/**
 * `requireSrtp`: every active RTP section of this party's SDP must use an SRTP profile, and
 * a transport chosen for the other side must be one too. ng has no flag for this (rtpengine
 * would bridge to plain RTP), so it is checked here, before the controller is involved; the
 * controller then offers SRTP to the other side, because the offer's profile carries over,
 * and refuses an answer without a usable crypto line.
 */
function checkRequireSrtp(b: SdpBody): void {
  if (b.policy?.requireSrtp !== true) return;
  if (b.transportProtocol !== undefined && !isSecureProtocol(b.transportProtocol)) {
    throw new HttpError('E_BID_DOWN', 'policy requires SRTP but transportProtocol is plain RTP');
  }
  const sdp = parseSdp(b.sdp);
  for (const m of sdp.media) {
    if (m.cls !== 'other' && m.port !== 0 && !isSecureProtocol(m.protocol)) {
      throw new HttpError('E_BID_DOWN', `policy requires SRTP but media ${m.index + 1} is plain RTP`);
    }
  }
}

// ---------------------------------------------------------------- JSON output

/** JSON-safe copy of controller data: binary dropped (it can only be key material), bigint as number/string. */
function toJson(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v !== 'object' || depth > 12 || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return undefined;
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1) ?? null);
  if (v instanceof Map) return toJson(Object.fromEntries(v), depth);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return toJson((toJSON as () => unknown).call(v), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const j = toJson(x, depth + 1);
    if (j !== undefined) out[k] = j;
  }
  return out;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface HttpApiEvents {
  request: [{ route: RouteName | 'unknown'; status: number; code?: HttpErrorCode }];
}

export class HttpApi {
  /** Monitoring events (metrics subscribe here). */
  readonly observer = new EventEmitter<HttpApiEvents>();
  readonly #server: http.Server;
  /** Servers on the alsoListen addresses: the same routes and token. */
  readonly #alsoServers: http.Server[] = [];
  readonly #control: CallControl;
  readonly #metrics: Metrics | undefined;
  readonly #admission: Pick<Admission, 'setDrain' | 'snapshot' | 'check' | 'admitted'> | undefined;
  readonly #ha: HaControl | undefined;
  /** sha256 of the token: compared in constant time against the sha256 of what was sent. */
  readonly #tokenHash: Buffer | null;
  readonly #maxBodyBytes: number;
  readonly #bucket: TokenBucket;
  readonly #version: string;
  readonly #log: Logger;
  #stopping = false;
  #closed: Promise<void> | null = null;

  private constructor(server: http.Server, options: HttpApiOptions) {
    this.#server = server;
    this.#control = options.control;
    this.#metrics = options.metrics;
    this.#admission = options.admission;
    this.#ha = options.ha;
    this.#tokenHash = options.token ? sha256(options.token) : null;
    this.#maxBodyBytes = options.maxBodyBytes ?? HTTP_API_DEFAULTS.maxBodyBytes;
    this.#bucket = new TokenBucket({ rate: options.requestsPerSecond ?? HTTP_API_DEFAULTS.requestsPerSecond });
    this.#version = options.version ?? '0.0.0';
    this.#log = options.logger ?? silentLogger;
    server.on('request', (req, res) => { void this.#onRequest(req, res); });
  }

  /** Binds and starts serving. Refuses a non-loopback address without a token. */
  static async listen(options: HttpApiOptions): Promise<HttpApi> {
    const address = options.address ?? HTTP_API_DEFAULTS.address;
    const port = options.port ?? HTTP_API_DEFAULTS.port;
    for (const a of [address, ...(options.alsoListen ?? [])]) {
      if (isIP(a) === 0) throw new RelayError('E_BAD_REQUEST', 'HTTP address is not an IP address', { address: a.slice(0, 64) });
      if (!options.token && !isLoopbackAddress(a)) {
        throw new RelayError('E_BAD_REQUEST', 'refusing to serve the HTTP API on a non-loopback address without a bearer token (set http.token)', { address: a });
      }
    }
    const server = newServer();
    const api = new HttpApi(server, options);
    await listenOn(server, port, address);
    try {
      for (const a of options.alsoListen ?? []) {
        const also = newServer();
        also.on('request', (req, res) => { void api.#onRequest(req, res); });
        api.#alsoServers.push(also);
        await listenOn(also, api.address.port, a);
      }
    } catch (e) {
      await api.close(0);
      throw e;
    }
    return api;
  }

  get address(): { address: string; port: number } {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new RelayError('E_INVALID_STATE', 'HTTP API is not listening');
    return { address: a.address, port: a.port };
  }

  /**
   * Stops accepting connections, answers requests in progress (new ones on open keep-alive
   * connections get 503), waits up to `drainMs`, then drops what is left. Idempotent.
   */
  close(drainMs = 2000): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#stopping = true;
    this.#closed = new Promise<void>((resolve) => {
      const servers = [this.#server, ...this.#alsoServers];
      const timer = setTimeout(() => { for (const s of servers) s.closeAllConnections(); }, drainMs);
      let open = servers.length;
      for (const s of servers) {
        // A server that never got to listen reports ERR_SERVER_NOT_RUNNING: closed all the same.
        s.close(() => { if (--open === 0) { clearTimeout(timer); resolve(); } });
        s.closeIdleConnections();
      }
    });
    return this.#closed;
  }

  #authorized(req: http.IncomingMessage): boolean {
    if (this.#tokenHash === null) return true;
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    // Hash first: timingSafeEqual needs equal lengths, and comparing digests keeps the
    // token's length from leaking through timing as well as its bytes.
    return m !== null && timingSafeEqual(sha256(m[1]!), this.#tokenHash);
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let route: RouteName | 'unknown' = 'unknown';
    let status = 500;
    let code: HttpErrorCode | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const { routes, callId } = matchRoute(url.pathname);
      if (routes.length === 0) throw new HttpError('E_NOT_FOUND', 'no such resource');
      const r = routes.find((x) => x.method === req.method);
      if (r === undefined) {
        throw new HttpError('E_METHOD_NOT_ALLOWED', 'method not allowed', { Allow: routes.map((x) => x.method).join(', ') });
      }
      route = r.name;
      if (r.auth && !this.#authorized(req)) {
        throw new HttpError('E_UNAUTHORIZED', 'missing or invalid bearer token', { 'WWW-Authenticate': 'Bearer realm="srtpgate"' });
      }
      if (this.#stopping && r.name !== 'healthz') throw new HttpError('E_UNAVAILABLE', 'shutting down');
      if (r.name !== 'healthz' && r.name !== 'metrics' && !this.#bucket.take()) {
        throw new HttpError('E_RATE_LIMITED', 'request rate limit exceeded', { 'Retry-After': '1' });
      }
      status = await this.#serve(r, callId, url, req, res);
    } catch (e) {
      const err = this.#toHttpError(e, route);
      code = err.code;
      status = STATUS[err.code];
      // The body of a refused upload is not read: close the connection rather than drain it, and
      // say so in the reply, or a keep-alive client sends its next request into a closing socket.
      const closing = !req.complete;
      this.#sendJson(res, status, { error: { code: err.code, message: err.message } }, closing ? { ...err.headers, Connection: 'close' } : err.headers);
      if (closing) res.once('finish', () => req.destroy());
    }
    this.observer.emit('request', { route, status, code });
  }

  #toHttpError(e: unknown, route: string): HttpError {
    if (e instanceof HttpError) return e;
    if (e instanceof RelayError) {
      this.#log.info('http command refused', { route, code: e.code, error: e.message });
      return new HttpError(e.code, e.message);
    }
    this.#log.error('http request failed', { route, err: e });
    return new HttpError('E_INTERNAL', 'internal error');
  }

  async #serve(r: RouteSpec, callId: string | undefined, url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    switch (r.name) {
      case 'healthz':
        return this.#sendJson(res, this.#stopping ? 503 : 200, { status: this.#stopping ? 'stopping' : 'ok', version: this.#version });
      case 'openapi':
        return this.#sendJson(res, 200, openApiDocument(this.#version));
      case 'metrics': {
        if (this.#metrics === undefined) throw new HttpError('E_NOT_FOUND', 'metrics are not enabled');
        return this.#send(res, 200, PROMETHEUS_CONTENT_TYPE, await this.#metrics.collect());
      }
      case 'getDrain':
      case 'setDrain': {
        if (this.#admission === undefined) throw new HttpError('E_NOT_FOUND', 'admission control is not enabled');
        if (r.name === 'setDrain') {
          const body = await this.#readJson(req);
          const enabled = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { enabled?: unknown }).enabled : undefined;
          if (typeof enabled !== 'boolean' || Object.keys(body as object).length !== 1) bad('body must be {"enabled": true|false}');
          this.#admission.setDrain(enabled);
          this.#log.info('drain mode switched', { enabled });
        }
        return this.#sendJson(res, 200, this.#admission.snapshot());
      }
      case 'haTakeover': {
        if (this.#ha === undefined) throw new HttpError('E_NOT_FOUND', 'replication is not enabled');
        const body = await this.#readJson(req);
        const node = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { node?: unknown }).node : undefined;
        if (typeof node !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(node) || Object.keys(body as object).length !== 1) bad('body must be {"node": "<node id>"}');
        try {
          return this.#sendJson(res, 200, await this.#ha.takeover(node));
        } catch (e) {
          if (e instanceof RelayError) throw e;
          throw new HttpError('E_INVALID_STATE', e instanceof Error ? e.message : 'takeover failed');
        }
      }
      case 'haRelease': {
        if (this.#ha === undefined) throw new HttpError('E_NOT_FOUND', 'replication is not enabled');
        // Maintenance: no new calls here from now on; the current ones go to the standby.
        this.#admission?.setDrain(true);
        const result = await this.#ha.release();
        this.#log.info('calls released for hand-over', { ...result });
        return this.#sendJson(res, 200, result);
      }
      case 'list': {
        const raw = url.searchParams.get('limit');
        let limit: number | undefined;
        if (raw !== null) {
          if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) bad('limit must be an integer from 1 to 999999');
          limit = Number(raw);
        }
        return this.#sendJson(res, 200, { calls: [...this.#control.list(limit)] });
      }
      case 'query':
        return this.#sendJson(res, 200, toJson(this.#control.query(this.#callId(callId))));
      case 'delete': {
        const q = (k: string): string | undefined => url.searchParams.get(k) ?? undefined;
        const d = normalizeNgDict(dropUndefined({ command: 'delete', 'call-id': callId, 'from-tag': q('fromTag'), 'to-tag': q('toTag') }));
        const { deleted } = this.#control.delete({ callId: d.callId!, fromTag: d.fromTag, toTag: d.toTag });
        if (!deleted) throw new HttpError('E_NOT_FOUND', 'no such call (or the tags did not match)');
        return this.#sendJson(res, 200, { deleted: true });
      }
      case 'offer':
      case 'answer': {
        const body = parseSdpBody(await this.#readJson(req), r.name === 'answer');
        checkRequireSrtp(body);
        const ng = normalizeNgDict(toNgDict(r.name, this.#callId(callId), body));
        // HTTP clients are admitted like SBEs (drain refuses their new calls too), keyed by address.
        const client = `http:${req.socket.remoteAddress ?? ''}`;
        if (ng.command === 'offer') {
          const refused = this.#admission?.check(ng.callId!, client) ?? null;
          if (refused !== null) throw new RelayError('E_SESSION_LIMIT', `new call refused: ${refused.message}`, { reason: refused.reason });
        }
        let result: { sdp: string; warnings: readonly string[] };
        try {
          result = ng.command === 'offer'
            ? await this.#control.offer(ng as NgOfferRequest)
            : await this.#control.answer(ng as NgAnswerRequest);
        } finally {
          // Settles the slot check() held, whether or not the offer created the call.
          if (ng.command === 'offer') this.#admission?.admitted(ng.callId!, client);
        }
        return this.#sendJson(res, 200, { sdp: result.sdp, warnings: [...ng.warnings, ...result.warnings] });
      }
    }
  }

  #callId(callId: string | undefined): string {
    // The same identifier rules as ng (printable ASCII, bounded): one schema for both edges.
    return normalizeNgDict({ command: 'query', 'call-id': callId ?? '' }).callId!;
  }

  async #readJson(req: http.IncomingMessage): Promise<unknown> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError('E_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.#maxBodyBytes) throw new HttpError('E_PAYLOAD_TOO_LARGE', `body larger than ${this.#maxBodyBytes} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > this.#maxBodyBytes) throw new HttpError('E_PAYLOAD_TOO_LARGE', `body larger than ${this.#maxBodyBytes} bytes`);
        chunks.push(b);
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      // The client went away mid-body: its business, not an internal error worth a log line.
      throw new HttpError('E_BAD_REQUEST', 'request body not received completely');
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      bad('body is not valid UTF-8');
    }
    try {
      return JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the input, which may hold an SDP with keys: say less.
      bad('body is not valid JSON');
    }
  }

  #sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): number {
    return this.#send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, headers);
  }

  #send(res: http.ServerResponse, status: number, type: string, body: string, headers: Readonly<Record<string, string>> = {}): number {
    if (res.headersSent) return status;
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...(this.#stopping ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(body);
    return status;
  }
}

function dropUndefined(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** An HTTP server with the API's slow-loris bounds: 10 s for the headers, 30 s for the whole request. */
function newServer(): http.Server {
  const server = http.createServer({ maxHeaderSize: 16 * 1024 });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

function listenOn(server: http.Server, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => { server.off('error', reject); resolve(); });
  });
}
