// Pieces of a hand-over (Replicator.release) that need no relay: the final marks written for a
// released call, and waiting, bounded, for the store to acknowledge a write.
import type { StreamIndexState } from '../session/indexState.ts';
import type { CallStateStore } from './CallStateStore.ts';
import { maxIndexState } from './hwm.ts';

/** One released call's keys and values (the record and the sealed index text). */
export interface ReleasedCall {
  readonly callKey: string;
  readonly indexKey: string;
  readonly releaseKey: string;
  readonly record: string;
  readonly index: string;
  /** Written as the release key's value: the releasing node. */
  readonly node: string;
}

export interface PublishOptions {
  readonly recordTtlMs: number;
  readonly holdMs: number;
  /** Epoch ms by which every acknowledgement must have come. */
  readonly deadline: number;
  readonly now?: () => number;
}

/**
 * Writes the call's record and final marks, and once both are acknowledged its release key:
 * true when all three were acknowledged by the deadline.
 */
export async function publishRelease(store: CallStateStore, c: ReleasedCall, o: PublishOptions): Promise<boolean> {
  const now = o.now ?? Date.now;
  const ttl = { ttlMs: o.recordTtlMs };
  const [a, b] = await Promise.all([
    awaitWritten((cb) => store.write(c.callKey, c.record, { ...ttl, onWritten: cb }), o.deadline, now),
    awaitWritten((cb) => store.write(c.indexKey, c.index, { ...ttl, onWritten: cb }), o.deadline, now),
  ]);
  if (!a || !b) return false;
  return awaitWritten((cb) => store.write(c.releaseKey, c.node, { ttlMs: o.holdMs, onWritten: cb }), o.deadline, now);
}

/** A release that was not acknowledged: the call has ended on its owner, so its keys go, as on a stop. */
export function unpublishRelease(store: CallStateStore, keys: Pick<ReleasedCall, 'callKey' | 'indexKey' | 'releaseKey'>): void {
  store.remove(keys.releaseKey);
  store.remove(keys.callKey);
  store.remove(keys.indexKey);
}

/**
 * The mark a standby starts a released stream from: the exact state read as the stream closed
 * (MediaStreamHandle.closeWithIndexState, so no packet came after it), never below the floor this
 * relay itself started from (a stream it took over and has not used since).
 */
export function releaseMarks(final: StreamIndexState, floor: StreamIndexState | null): StreamIndexState {
  return maxIndexState(final, floor);
}

/**
 * Resolves true once `write` reports its value stored, false when `deadline` (epoch ms) passes
 * first. `write` gets the acknowledgement callback to hand to CallStateStore.write.
 */
export function awaitWritten(write: (onWritten: () => void) => void, deadline: number, now: () => number = Date.now): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const timer = setTimeout(() => { if (!done) { done = true; resolve(false); } }, Math.max(0, deadline - now()));
    write(() => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(true);
    });
  });
}
