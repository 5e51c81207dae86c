// Typed errors. Callers tell errors apart by `code`, never by message text.
// Messages carry [key:value] context and never contain key material.
import { statusName, type StatusName } from './crypto/abi.ts';

export type RelayErrorCode =
  | 'E_BAD_REQUEST'
  | 'E_BAD_SDP'
  | 'E_BAD_CRYPTO'
  | 'E_BAD_BENCODE'
  | 'E_NO_COMMON_SUITE'
  | 'E_BID_DOWN'
  | 'E_INVALID_STATE'
  | 'E_RATE_LIMITED'
  | 'E_NOT_FOUND'
  | 'E_PORTS_EXHAUSTED'
  | 'E_SESSION_LIMIT'
  | 'E_CRYPTO_SELFTEST'
  | 'E_INTERNAL';

/** Base class of every control-path error. */
export class RelayError extends Error {
  readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: string, context?: Readonly<Record<string, string | number | boolean>>) {
    super(context ? `${message} ${formatContext(context)}` : message);
    this.name = new.target.name;
    this.code = code;
  }
}

export function formatContext(context: Readonly<Record<string, string | number | boolean>>): string {
  return Object.entries(context).map(([k, v]) => `[${k}:${String(v)}]`).join('');
}

export type SrtpErrorCode = `E_${StatusName}` | 'E_UNKNOWN';

/** An SRTP/SRTCP operation failed; `status` is the WASM core's negative status code. */
export class SrtpError extends Error {
  readonly code: SrtpErrorCode;
  readonly status: number;
  constructor(status: number, operation: string) {
    const name = statusName(status);
    super(`${operation} failed: ${name} [status:${status}]`);
    this.name = 'SrtpError';
    this.status = status;
    this.code = name === 'UNKNOWN' ? 'E_UNKNOWN' : `E_${name}`;
  }
}
