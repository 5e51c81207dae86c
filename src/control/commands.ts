// One parsed ng request in, one ng reply out: the mapping between the wire vocabulary of
// rtpengine's ng protocol and the call controller.
//
// Transport-free on purpose (no sockets, no cookies, no caching) so the same mapping serves
// the UDP server and can be tested with a fake controller. Errors never escape: every
// failure becomes an `error` reply, and the two reasons Kamailio fails over on are spelled
// exactly as its rtpengine module compares them (REFERENCE §3).
import { RelayError, type RelayErrorCode } from '../errors.ts';
import type {
  NgAnswerRequest, NgOfferRequest, NgReply, NgReplyValue, NgRequest,
} from './ngRequest.ts';
import { ngErrorReply } from './ngRequest.ts';

/**
 * What the control interfaces need from the call controller. `CallController` satisfies it;
 * tests use fakes. `query` returns a plain data object (CallInfo), rendered generically.
 */
export interface CallControl {
  offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: readonly string[] }>;
  answer(req: NgAnswerRequest): Promise<{ sdp: string; warnings: readonly string[] }>;
  delete(req: { callId: string; fromTag?: string; toTag?: string }): { deleted: boolean };
  query(callId: string): object;
  list(limit?: number): readonly string[];
  statistics(): { currentSessions: number; totals: Readonly<Record<string, number>> };
}

/** Soft session cap for SBEs that understand `result: load limit`. */
export interface LoadLimit {
  /** True when a *new* call with this Call-ID would exceed the cap (existing calls pass). */
  atLimit(callId: string): boolean;
}

/** Admission of new calls (Admission.ts): drain mode, per-SBE, CPU and load caps. */
export interface AdmissionGate {
  /** Why a new call with this Call-ID from `sbe` is refused now, or null (known Call-IDs: always null). */
  check(callId: string, sbe: string): { readonly reason: string; readonly message: string } | null;
  /** The offer finished (created the call or not): frees the slot check() held, counts the call if it exists. */
  admitted(callId: string, sbe: string): void;
  /** Reported in `statistics`. */
  snapshot(): object;
}

export interface DispatchContext {
  /** Checked for `offer` when the request `supports` "load limit". Default: none. */
  readonly loadLimit?: LoadLimit;
  /** Checked for every `offer`, before the soft cap. Default: none. */
  readonly admission?: AdmissionGate;
  /** Address of the SBE that sent the request (per-SBE accounting). Default ''. */
  readonly source?: string;
}

/** Error code of a failed command: a RelayError code, or E_INTERNAL for anything else. */
export type CommandErrorCode = RelayErrorCode;

export interface DispatchResult {
  readonly reply: NgReply;
  /** Set when the reply is `error` (or `load limit`): what to count and log. */
  readonly error?: { readonly code: CommandErrorCode; readonly message: string };
}

/** Kamailio's rtpengine module fails over to the next relay on exactly these reasons. */
export const NG_REASON_PORTS = 'Ran out of ports';
export const NG_REASON_SESSION_LIMIT = 'Parallel session limit reached';
export const LOAD_LIMIT_SUPPORT = 'load limit';
const MAX_WARNING_CHARS = 1024;
const MAX_VALUE_DEPTH = 12;

function supportsLoadLimit(req: NgRequest): boolean {
  return req.supports.some((s) => s.toLowerCase() === LOAD_LIMIT_SUPPORT);
}

/** The ng error reply for `e`, with the fail-over reasons spelled without context. */
export function ngReplyForError(e: unknown): DispatchResult {
  if (e instanceof RelayError) {
    if (e.code === 'E_PORTS_EXHAUSTED') return { reply: { result: 'error', 'error-reason': NG_REASON_PORTS }, error: { code: e.code, message: e.message } };
    if (e.code === 'E_SESSION_LIMIT') return { reply: { result: 'error', 'error-reason': NG_REASON_SESSION_LIMIT }, error: { code: e.code, message: e.message } };
    return { reply: ngErrorReply(e), error: { code: e.code, message: e.message } };
  }
  // Not a RelayError: a bug. The reply says only "internal error"; the caller logs the rest.
  const message = e instanceof Error ? `${e.name}: ${e.message}` : 'non-error thrown';
  return { reply: ngErrorReply(e), error: { code: 'E_INTERNAL', message } };
}

/** Joins warnings into the one `warning` string ng carries; undefined when there are none. */
export function joinWarnings(...lists: readonly (readonly string[])[]): string | undefined {
  const all = lists.flat().filter((w) => w.length > 0);
  if (all.length === 0) return undefined;
  const s = all.join('; ').replace(/[\x00-\x1f\x7f]/g, ' ');
  return s.length > MAX_WARNING_CHARS ? `${s.slice(0, MAX_WARNING_CHARS)}…` : s;
}

/**
 * Converts controller data (CallInfo, statistics) into values both bencode and JSON carry
 * the same way: integers stay numbers, other numbers become strings (bencode has no floats),
 * booleans become "yes"/"no" (rtpengine's spelling), null/undefined are left out, and byte
 * arrays are dropped entirely because the only bytes a session holds are key material.
 */
export function toNgValue(v: unknown, depth = 0): NgReplyValue | undefined {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'string': return v;
    case 'number': return Number.isSafeInteger(v) ? v : String(v);
    case 'bigint': return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
    case 'boolean': return v ? 'yes' : 'no';
    case 'object': break;
    default: return undefined;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return undefined;
  if (depth >= MAX_VALUE_DEPTH) return undefined;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) {
    const out: NgReplyValue[] = [];
    for (const item of v) {
      const x = toNgValue(item, depth + 1);
      if (x !== undefined) out.push(x);
    }
    return out;
  }
  if (v instanceof Map) return toNgValue(Object.fromEntries(v), depth);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return toNgValue((toJSON as () => unknown).call(v), depth + 1);
  const out: Record<string, NgReplyValue> = {};
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    const x = toNgValue(item, depth + 1);
    if (x !== undefined) out[k] = x;
  }
  return out;
}

/** ng spells reply keys as words (`last signal`, `local port`); a few take rtpengine's name. */
const NG_KEY_NAMES: ReadonlyMap<string, string> = new Map([['callId', 'call-id'], ['remote', 'endpoint']]);

/** `lastSignal` → `last signal`; all-caps keys (`RTP`, `RTCP`) stay as they are. */
export function ngKey(key: string): string {
  const named = NG_KEY_NAMES.get(key);
  if (named !== undefined) return named;
  if (/^[A-Z0-9]+$/.test(key)) return key;
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/**
 * Renames the keys of controller data (camelCase, CallInfo) to ng's spelling. The keys of a
 * `tags` dict are SIP tags, i.e. data, and are kept byte for byte.
 */
function ngKeys(v: NgReplyValue, keysAreData = false): NgReplyValue {
  if (Array.isArray(v)) return v.map((x: NgReplyValue) => ngKeys(x));
  if (typeof v !== 'object') return v;
  const out: Record<string, NgReplyValue> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    out[keysAreData ? k : ngKey(k)] = ngKeys(x, !keysAreData && k === 'tags');
  }
  return out;
}

function asDict(v: unknown): Record<string, NgReplyValue> {
  const x = toNgValue(v);
  if (typeof x !== 'object' || Array.isArray(x)) return {};
  return ngKeys(x) as Record<string, NgReplyValue>;
}

async function run(control: CallControl, req: NgRequest, ctx: DispatchContext): Promise<DispatchResult> {
  const warning = (...more: (readonly string[])[]): string | undefined => joinWarnings(req.warnings, ...more);
  switch (req.command) {
    case 'ping':
      return { reply: { result: 'pong', warning: warning() } };
    case 'offer': {
      const loadAware = supportsLoadLimit(req);
      const refused = ctx.admission?.check(req.callId, ctx.source ?? '') ?? null;
      if (refused !== null) {
        // Both spellings make Kamailio try the next relay of the set for this call only.
        const error = { code: 'E_SESSION_LIMIT' as const, message: `new call refused [reason:${refused.reason}]` };
        return loadAware
          ? { reply: { result: 'load limit', message: refused.message }, error }
          : { reply: { result: 'error', 'error-reason': NG_REASON_SESSION_LIMIT }, error };
      }
      // check() holds a slot for a new call until admitted() settles it, on every way out.
      try {
        if (loadAware && ctx.loadLimit?.atLimit(req.callId) === true) {
          return { reply: { result: 'load limit' }, error: { code: 'E_SESSION_LIMIT', message: 'load limit reached' } };
        }
        const r = await control.offer(req);
        return { reply: { result: 'ok', sdp: r.sdp, warning: warning(r.warnings) } };
      } catch (e) {
        // An SBE that understands "load limit" gets it instead of the hard error (rtpengine).
        if (loadAware && e instanceof RelayError && e.code === 'E_SESSION_LIMIT') {
          return { reply: { result: 'load limit' }, error: { code: e.code, message: e.message } };
        }
        throw e;
      } finally {
        ctx.admission?.admitted(req.callId, ctx.source ?? '');
      }
    }
    case 'answer': {
      const r = await control.answer(req);
      return { reply: { result: 'ok', sdp: r.sdp, warning: warning(r.warnings) } };
    }
    case 'delete': {
      const r = control.delete({ callId: req.callId, fromTag: req.fromTag, toTag: req.toTag });
      if (r.deleted) return { reply: { result: 'ok', warning: warning() } };
      // rtpengine answers a delete of an unknown call with ok plus a warning unless the
      // request carries the `fatal` flag: Kamailio sends deletes for calls that never had media.
      if (req.flags.includes('fatal')) {
        throw new RelayError('E_NOT_FOUND', 'Call-ID not found or tags did not match');
      }
      return { reply: { result: 'ok', warning: warning(['Call-ID not found or tags did not match']) } };
    }
    case 'query':
      return { reply: { ...asDict(control.query(req.callId)), result: 'ok', warning: warning() } };
    case 'list':
      return { reply: { result: 'ok', calls: [...control.list()], warning: warning() } };
    case 'statistics': {
      const s = control.statistics();
      return {
        reply: {
          result: 'ok',
          statistics: {
            currentstatistics: { sessionsown: s.currentSessions, sessionstotal: s.currentSessions },
            totalstatistics: asDict(s.totals),
            ...(ctx.admission ? { admission: asDict(ctx.admission.snapshot()) } : {}),
          },
          warning: warning(),
        },
      };
    }
  }
}

/** Runs one request against the controller. Never throws: failures become error replies. */
export async function dispatchNg(control: CallControl, req: NgRequest, ctx: DispatchContext = {}): Promise<DispatchResult> {
  try {
    return await run(control, req, ctx);
  } catch (e) {
    return ngReplyForError(e);
  }
}

