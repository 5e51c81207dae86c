// Pieces of a hand-over (Replicator.release) that need no relay: the final marks written for a
// released call, and waiting, bounded, for the store to acknowledge a write.
import { aheadOf, type IndexMargin, type StreamIndexState } from '../session/indexState.ts';
import { maxIndexState } from './hwm.ts';

/**
 * The mark a standby starts a released stream from: the exact state read after the last packet
 * this relay could handle, plus `margin`, never below the floor this relay itself started from
 * (a stream it took over and has not used since).
 */
export function releaseMarks(final: StreamIndexState, margin: IndexMargin, floor: StreamIndexState | null): StreamIndexState {
  return maxIndexState(aheadOf(final, margin), floor);
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
