// Structured JSON logs, one object per line: {level, ts, msg, context}.
//
// A log line ends up in places with weaker protection than the process (journald, log
// shippers, support tickets), so redaction happens here, at the only exit, rather than being
// left to every caller:
// - a context field whose name says it holds a secret (key, salt, token, password, ...) is
//   replaced whole;
// - every string, the message included, has SDES `inline:` key parameters blanked, so an SDP
//   or an error message quoting one can be logged without leaking the master key;
// - byte arrays are never dumped, only their length (they are usually key material);
// - nesting and string length are bounded, so a hostile value cannot make a line huge.
// Nothing is logged per packet (STYLE rule 7): the data path counts, the control path logs.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogContext = Readonly<Record<string, unknown>>;

export interface LoggerOptions {
  /** Lowest level written. Default 'info'. */
  level?: LogLevel;
  /** Where lines go. Default: process.stdout. */
  write?: (line: string) => void;
  /** Fields added to every line's context (a child logger's bindings). Default none. */
  bindings?: LogContext;
  /** Clock for `ts`. Default: Date.now. */
  now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };
const MAX_DEPTH = 6;
const MAX_STRING = 2048;
const MAX_ITEMS = 64;
export const REDACTED = '[REDACTED]';

// Field names are compared with case and separators removed: masterKey, master_key, MASTER-KEY.
const SECRET_FIELDS = new Set([
  'key', 'keys', 'masterkey', 'mastersalt', 'salt', 'secret', 'token', 'httptoken', 'bearer',
  'password', 'passphrase', 'authorization', 'inline', 'keyparams', 'keymaterial', 'privatekey',
]);

export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(name.toLowerCase().replace(/[-_ .]/g, ''));
}

// RFC 4568 key-params: `inline:<base64 key||salt>[|lifetime][|MKI:len]`. Everything after the
// colon up to white space, a quote or a `;` (the next key-param) is blanked, lifetime and MKI
// included: they are not secret, but keeping them would mean parsing the value, and a bad
// parse is exactly how a key slips through.
const INLINE = /inline:[^\s"';]*/gi;
// A bearer token that reached a message (a header quoted in an error, say).
const BEARER = /\bbearer\s+[^\s"',;]+/gi;

/** Blanks SDES inline key parameters and bearer tokens in `s`. */
export function redactText(s: string): string {
  return s.replace(INLINE, `inline:${REDACTED}`).replace(BEARER, `Bearer ${REDACTED}`);
}

function clip(s: string): string {
  return s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…[${s.length} chars]` : s;
}

/** A JSON-safe, redacted copy of `value`. Exported for the tests. */
export function sanitize(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value ?? null;
  switch (typeof value) {
    case 'string': return clip(redactText(value));
    case 'number': return Number.isFinite(value) ? value : String(value);
    case 'boolean': return value;
    case 'bigint': return value.toString();
    case 'function':
    case 'symbol': return `[${typeof value}]`;
    default: break;
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return '[binary]';
  if (value instanceof Error) {
    const code = (value as Error & { code?: unknown }).code;
    return {
      name: value.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: clip(redactText(value.message)),
    };
  }
  if (depth >= MAX_DEPTH) return '[depth]';
  if (Array.isArray(value)) {
    const out = value.slice(0, MAX_ITEMS).map((v: unknown) => sanitize(v, depth + 1));
    if (value.length > MAX_ITEMS) out.push(`[${value.length - MAX_ITEMS} more]`);
    return out;
  }
  if (value instanceof Map) return sanitize(Object.fromEntries(value), depth);
  if (value instanceof Set) return sanitize([...value], depth);
  // Objects with their own toJSON (StreamStats, redacted key objects) say what is safe to show.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return sanitize((toJSON as () => unknown).call(value), depth + 1);
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (++n > MAX_ITEMS) {
      out['…'] = `${Object.keys(value).length - MAX_ITEMS} more fields`;
      break;
    }
    out[k] = isSecretField(k) ? REDACTED : sanitize(v, depth + 1);
  }
  return out;
}

export class Logger {
  readonly level: LogLevel;
  readonly #write: (line: string) => void;
  readonly #bindings: LogContext;
  readonly #now: () => number;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? 'info';
    this.#write = options.write ?? ((line) => { process.stdout.write(line); });
    this.#bindings = options.bindings ?? {};
    this.#now = options.now ?? Date.now;
  }

  /** A logger whose lines carry `bindings` (e.g. {component: 'ng'}) in their context. */
  child(bindings: LogContext): Logger {
    return new Logger({ level: this.level, write: this.#write, bindings: { ...this.#bindings, ...bindings }, now: this.#now });
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  debug(msg: string, context?: LogContext): void { this.log('debug', msg, context); }
  info(msg: string, context?: LogContext): void { this.log('info', msg, context); }
  warn(msg: string, context?: LogContext): void { this.log('warn', msg, context); }
  error(msg: string, context?: LogContext): void { this.log('error', msg, context); }

  log(level: LogLevel, msg: string, context?: LogContext): void {
    if (!this.enabled(level)) return;
    const line = {
      level,
      ts: new Date(this.#now()).toISOString(),
      msg: clip(redactText(msg)),
      context: sanitize({ ...this.#bindings, ...context }),
    };
    // A throwing sink (closed pipe during shutdown) must not take the caller down with it.
    try {
      this.#write(`${JSON.stringify(line)}\n`);
    } catch {
      // Nowhere left to report it.
    }
  }
}

/** A logger that writes nothing (library use and tests). */
export const silentLogger = new Logger({ level: 'error', write: () => {} });
