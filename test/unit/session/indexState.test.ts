// aheadOf (the high-water mark replication persists) and validateIndexState (what it reads back).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aheadOf, validateIndexState, EMPTY_INDEX_STATE, MAX_SRTP_INDEX, MAX_SRTCP_INDEX, type StreamIndexState } from '../../../src/session/indexState.ts';
import { RelayError } from '../../../src/errors.ts';

const state: StreamIndexState = {
  srtpIn: [{ ssrc: 1, index: 0x1fff0 }],
  srtpOut: [{ ssrc: 2, index: 5 }, { ssrc: 0xffffffff, index: MAX_SRTP_INDEX - 3 }],
  srtcpIn: [{ ssrc: 1, index: 10 }],
  srtcpOut: [{ ssrc: 2, index: MAX_SRTCP_INDEX - 1 }],
};

function code(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof RelayError) return e.code; throw e; }
  return 'ok';
}

describe('aheadOf', () => {
  it('adds the margin, carrying SEQ into the ROC, and saturates at 2^48-1 / 2^31-1', () => {
    const a = aheadOf(state, { srtp: 0x20, srtcp: 5 });
    // 0x1fff0 is ROC 1, SEQ 0xfff0; 32 further is ROC 2, SEQ 0x0010.
    assert.deepEqual(a.srtpIn, [{ ssrc: 1, index: 0x20010 }]);
    assert.equal(a.srtpIn[0]!.index >> 16, 2);
    assert.deepEqual(a.srtpOut, [{ ssrc: 2, index: 0x25 }, { ssrc: 0xffffffff, index: MAX_SRTP_INDEX }]);
    assert.deepEqual(a.srtcpIn, [{ ssrc: 1, index: 15 }]);
    assert.deepEqual(a.srtcpOut, [{ ssrc: 2, index: MAX_SRTCP_INDEX }]);
    assert.deepEqual(state.srtpIn, [{ ssrc: 1, index: 0x1fff0 }], 'input untouched');
    assert.doesNotThrow(() => validateIndexState(a));
  });

  it('is exact at the top of the 48-bit range (no float rounding)', () => {
    const a = aheadOf({ ...EMPTY_INDEX_STATE, srtpOut: [{ ssrc: 9, index: 2 ** 48 - 1000 }] }, { srtp: 999, srtcp: 0 });
    assert.equal(a.srtpOut[0]!.index, 2 ** 48 - 1);
  });

  it('refuses negative or fractional margins', () => {
    assert.equal(code(() => aheadOf(state, { srtp: -1, srtcp: 0 })), 'E_BAD_REQUEST');
    assert.equal(code(() => aheadOf(state, { srtp: 1, srtcp: 0.5 })), 'E_BAD_REQUEST');
    assert.deepEqual(aheadOf(EMPTY_INDEX_STATE, { srtp: 10, srtcp: 10 }), { srtpIn: [], srtpOut: [], srtcpIn: [], srtcpOut: [] });
  });
});

describe('validateIndexState', () => {
  it('accepts the full ranges and refuses what the core would not', () => {
    assert.doesNotThrow(() => validateIndexState(state));
    const bad: StreamIndexState[] = [
      { ...EMPTY_INDEX_STATE, srtpIn: [{ ssrc: 1, index: MAX_SRTP_INDEX + 1 }] },
      { ...EMPTY_INDEX_STATE, srtcpIn: [{ ssrc: 1, index: MAX_SRTCP_INDEX + 1 }] },
      { ...EMPTY_INDEX_STATE, srtpOut: [{ ssrc: 1, index: -1 }] },
      { ...EMPTY_INDEX_STATE, srtpOut: [{ ssrc: 2 ** 32, index: 1 }] },
      { ...EMPTY_INDEX_STATE, srtcpOut: [{ ssrc: 1, index: 1.5 }] },
      { ...EMPTY_INDEX_STATE, srtpIn: [{ ssrc: 1, index: 1 }, { ssrc: 1, index: 2 }] },
      { ...EMPTY_INDEX_STATE, srtpIn: undefined as unknown as [] },
    ];
    for (const b of bad) assert.equal(code(() => validateIndexState(b)), 'E_BAD_REQUEST', JSON.stringify(b));
  });
});
