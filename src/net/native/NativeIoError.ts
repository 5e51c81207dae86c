// The error of the batched UDP backend: a failed bind (the Relay tries another port pair) or
// a refused send, handed to the send's `done` (the data path only counts it).
import { constants } from 'node:os';
import { RelayError } from '../../errors.ts';

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export class NativeIoError extends RelayError {
  /** The errno name, as on node's system errors: 'EADDRINUSE', 'EAGAIN', 'EBADF'... */
  readonly errno: string;
  constructor(errno: string, operation: string, context: Readonly<Record<string, string | number>> = {}) {
    super('E_INTERNAL', `${operation} failed`, { errno, ...context });
    this.errno = errno;
  }

  /** The name of an errno number ('E<n>' when node does not know it). */
  static nameOf(errno: number): string {
    return ERRNO_NAMES.get(errno) ?? `E${errno}`;
  }
}
