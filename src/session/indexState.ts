// Per-SSRC SRTP/SRTCP index state of one stream, as a relay that takes over another relay's calls
// needs it: the failed relay persists a high-water mark *ahead of use* (aheadOf), and the
// standby applies it as a floor (MediaStreamHandle.applyIndexFloor) so it never protects with an
// index the failed relay may have used under the same key, and never accepts a packet the failed
// relay may already have accepted.
import { RelayError, SrtpError } from '../errors.ts';
import type { CryptoCore, IndexKind } from '../crypto/CryptoCore.ts';

/** Largest SRTP packet index (48 bits: ROC·2^16 + SEQ, RFC 3711 §3.3.1). */
export const MAX_SRTP_INDEX = 2 ** 48 - 1;
/** Largest SRTCP index (31 bits, RFC 3711 §3.4). */
export const MAX_SRTCP_INDEX = 2 ** 31 - 1;

/** One SSRC's highest index. 48-bit SRTP or 31-bit SRTCP: exact in a JS number. */
export interface SsrcIndex {
  readonly ssrc: number;
  readonly index: number;
}

/**
 * The highest index per SSRC of a stream's current contexts. An SSRC absent from a list has
 * no index yet (nothing authenticated in, or nothing protected out).
 */
export interface StreamIndexState {
  /** Highest authenticated SRTP index received per SSRC. */
  readonly srtpIn: readonly SsrcIndex[];
  /** Highest SRTP index sent per SSRC. */
  readonly srtpOut: readonly SsrcIndex[];
  /** Highest authenticated SRTCP index received per SSRC. */
  readonly srtcpIn: readonly SsrcIndex[];
  /** Highest SRTCP index sent per SSRC. */
  readonly srtcpOut: readonly SsrcIndex[];
}

/** How far past the state a persisted high-water mark reaches (packets per SSRC). */
export interface IndexMargin {
  readonly srtp: number;
  readonly srtcp: number;
}

/**
 * What MediaStreamHandle (MediaStream in-thread, RemoteMediaStream in a worker) offers for takeover.
 * Both act on the stream's current contexts, so call them after setInboundCrypto/setOutboundCrypto.
 */
export interface StreamIndexOps {
  /** Current per-SSRC state (in-thread resolves at once). */
  indexState(): Promise<StreamIndexState>;
  /**
   * Raises each listed SSRC to at least `floor`: inbound indexes ≤ floor are rejected as replays,
   * outbound SRTP ≤ floor is refused (E_INDEX_REUSE) with the ROC continuing from the floor's, and
   * outbound SRTCP continues at floor+1. Lowers nothing. Rejects E_BAD_REQUEST on malformed input,
   * E_INVALID_STATE when the direction has no context (closed, or no crypto set).
   */
  applyIndexFloor(floor: StreamIndexState): Promise<void>;
}

export const EMPTY_INDEX_STATE: StreamIndexState = Object.freeze({
  srtpIn: Object.freeze([]),
  srtpOut: Object.freeze([]),
  srtcpIn: Object.freeze([]),
  srtcpOut: Object.freeze([]),
});

/**
 * The state pushed `margin` packets forward: the value to persist *before* the packets it covers
 * are sent or accepted, so a relay taking over from it starts past anything the old one used.
 * Indexes are plain 48/31-bit integers, so ROC·2^16+SEQ carries into the ROC by itself; the result
 * saturates at the largest index (the core then refuses further use of that key).
 */
export function aheadOf(state: StreamIndexState, margin: IndexMargin): StreamIndexState {
  checkMargin(margin.srtp, 'srtp');
  checkMargin(margin.srtcp, 'srtcp');
  const push = (list: readonly SsrcIndex[], by: number, max: number): SsrcIndex[] =>
    list.map((e) => ({ ssrc: e.ssrc, index: Math.min(max, e.index + by) }));
  return {
    srtpIn: push(state.srtpIn, margin.srtp, MAX_SRTP_INDEX),
    srtpOut: push(state.srtpOut, margin.srtp, MAX_SRTP_INDEX),
    srtcpIn: push(state.srtcpIn, margin.srtcp, MAX_SRTCP_INDEX),
    srtcpOut: push(state.srtcpOut, margin.srtcp, MAX_SRTCP_INDEX),
  };
}

/**
 * Throws E_BAD_REQUEST unless every entry is a 32-bit SSRC with an integer index in range and no
 * SSRC repeats within a list. State read back from Redis passes through here before it reaches
 * the core.
 */
export function validateIndexState(state: StreamIndexState): void {
  if (typeof state !== 'object' || state === null) throw new RelayError('E_BAD_REQUEST', 'index state missing');
  checkList(state.srtpIn, MAX_SRTP_INDEX, 'srtpIn');
  checkList(state.srtpOut, MAX_SRTP_INDEX, 'srtpOut');
  checkList(state.srtcpIn, MAX_SRTCP_INDEX, 'srtcpIn');
  checkList(state.srtcpOut, MAX_SRTCP_INDEX, 'srtcpOut');
}

function checkMargin(m: number, what: string): void {
  if (!Number.isSafeInteger(m) || m < 0) throw new RelayError('E_BAD_REQUEST', 'index margin must be a non-negative integer', { margin: what });
}

function checkList(list: readonly SsrcIndex[], max: number, what: string): void {
  if (!Array.isArray(list)) throw new RelayError('E_BAD_REQUEST', 'index state list missing', { list: what });
  const seen = new Set<number>();
  for (const e of list) {
    if (typeof e !== 'object' || e === null) throw new RelayError('E_BAD_REQUEST', 'index state entry is not an object', { list: what });
    if (!Number.isInteger(e.ssrc) || e.ssrc < 0 || e.ssrc > 0xffffffff) {
      throw new RelayError('E_BAD_REQUEST', 'bad SSRC in index state', { list: what });
    }
    if (!Number.isInteger(e.index) || e.index < 0 || e.index > max) {
      throw new RelayError('E_BAD_REQUEST', 'index out of range', { list: what, ssrc: e.ssrc });
    }
    if (seen.has(e.ssrc)) throw new RelayError('E_BAD_REQUEST', 'SSRC repeated in index state', { list: what, ssrc: e.ssrc });
    seen.add(e.ssrc);
  }
}

/** A stream's state read from its two contexts (a handle < 0 is a direction without SRTP). */
export function readStreamIndexState(core: CryptoCore, inCtx: number, outCtx: number): StreamIndexState {
  const pick = (h: number, kind: IndexKind): SsrcIndex[] => {
    if (h < 0) return [];
    const out: SsrcIndex[] = [];
    for (const e of core.indexState(h)) {
      const index = kind === 'srtp' ? e.srtp : e.srtcp;
      if (index !== undefined) out.push({ ssrc: e.ssrc, index });
    }
    return out;
  };
  return { srtpIn: pick(inCtx, 'srtp'), srtpOut: pick(outCtx, 'srtp'), srtcpIn: pick(inCtx, 'srtcp'), srtcpOut: pick(outCtx, 'srtcp') };
}

/**
 * Applies `floor` to a stream's two contexts (see StreamIndexOps.applyIndexFloor). Everything is
 * checked before anything is applied; should the core still refuse one entry (its SSRC table
 * full), the entries before it stay applied — floors only ever make a context stricter, and
 * applying the same floor again is harmless.
 */
export function applyStreamIndexFloor(core: CryptoCore, inCtx: number, outCtx: number, floor: StreamIndexState, streamIndex: number): void {
  validateIndexState(floor);
  if (inCtx < 0 && (floor.srtpIn.length > 0 || floor.srtcpIn.length > 0)) {
    throw new RelayError('E_INVALID_STATE', 'inbound index floor on a stream without inbound SRTP', { index: streamIndex });
  }
  if (outCtx < 0 && (floor.srtpOut.length > 0 || floor.srtcpOut.length > 0)) {
    throw new RelayError('E_INVALID_STATE', 'outbound index floor on a stream without outbound SRTP', { index: streamIndex });
  }
  const apply = (h: number, list: readonly SsrcIndex[], kind: IndexKind): void => {
    for (const e of list) {
      try {
        core.applyIndexFloor(h, e.ssrc, kind, e.index);
      } catch (err) {
        if (!(err instanceof SrtpError)) throw err;
        throw new RelayError('E_INVALID_STATE', 'the crypto core refused an index floor', { index: streamIndex, ssrc: e.ssrc, status: err.code });
      }
    }
  };
  apply(inCtx, floor.srtpIn, 'srtp');
  apply(inCtx, floor.srtcpIn, 'srtcp');
  apply(outCtx, floor.srtpOut, 'srtp');
  apply(outCtx, floor.srtcpOut, 'srtcp');
}
