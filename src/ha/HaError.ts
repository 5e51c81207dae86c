// Errors of the replication layer. Callers tell them apart by `code`; messages carry
// [key:value] context and never key material, sealed blobs or record text.
import { formatContext } from '../errors.ts';

export type HaErrorCode =
  /** The state key is missing, malformed or not 32 bytes. */
  | 'E_HA_KEY'
  /** A sealed blob did not open: wrong key, wrong binding (node, call, field) or tampered. */
  | 'E_HA_UNSEAL'
  /** A record is not valid JSON or not of the expected shape. */
  | 'E_HA_RECORD'
  /** A call could not be taken over (ports, keys, indexes). */
  | 'E_HA_TAKEOVER';

export class HaError extends Error {
  readonly code: HaErrorCode;
  constructor(code: HaErrorCode, message: string, context?: Readonly<Record<string, string | number | boolean>>) {
    super(context ? `${message} ${formatContext(context)}` : message);
    this.name = 'HaError';
    this.code = code;
  }
}
