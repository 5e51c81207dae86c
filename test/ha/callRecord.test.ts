// Call and index records: encode/decode round trip; malformed or hostile input is E_HA_RECORD.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCallRecord, decodeIndexRecord, encodeRecord, RECORD_VERSION, type CallRecord, type SideRecord } from '../../src/ha/callRecord.ts';
import { HaError } from '../../src/ha/HaError.ts';

const side = (leg: number, port: number): SideRecord => ({
  leg, rtpPort: port, rtcpPort: port + 1, rtcpMux: false, strictSource: false, protocol: 'RTP/SAVP',
  remoteRtp: { address: '127.0.0.1', port: 4000 + leg }, remoteRtcp: null, latchedRtp: { address: '127.0.0.1', port: 5000 + leg }, latchedRtcp: null,
  inMode: 'srtp', outMode: 'srtp',
  inKey: { suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1, params: [{ padded: true, mki: { value: '1', length: 1 } }], sealed: { k: 'ab', n: 'bm9uY2U=', c: 'Y3Q=' } },
  outKey: null, outTag: 1, outPadded: true, dtls: false, rate: { pps: 62.5, bps: 96_000 },
});
const record: CallRecord = {
  v: RECORD_VERSION, callId: 'c1', node: 'A', at: 5, created: 1,
  legs: [{ tag: 'ft', sipTag: 'ft', interface: 'pub' }, { tag: 'tt', sipTag: null, interface: null }],
  media: [{ type: 'audio', sides: [side(0, 30000), side(1, 30002)] }, null],
};
const isRecordError = (e: unknown): boolean => e instanceof HaError && e.code === 'E_HA_RECORD';

describe('call records', () => {
  it('round-trip', () => {
    assert.deepEqual(decodeCallRecord(encodeRecord(record)), record);
  });

  it('refuse malformed records', () => {
    const mutate = (f: (r: Record<string, unknown>) => void): string => {
      const r = JSON.parse(encodeRecord(record)) as Record<string, unknown>;
      f(r);
      return JSON.stringify(r);
    };
    const bad = [
      'not json', '[]', '{}', mutate((r) => { r.v = 2; }), mutate((r) => { r.legs = []; }),
      mutate((r) => { (r.media as { sides: { rtpPort: number }[] }[])[0]!.sides[0]!.rtpPort = 70000; }),
      mutate((r) => { (r.media as { sides: { leg: number }[] }[])[0]!.sides[0]!.leg = 2; }),
      mutate((r) => { (r.media as { sides: { inKey: { suite: string } }[] }[])[0]!.sides[0]!.inKey.suite = 'NOPE'; }),
      mutate((r) => { (r.media as { sides: { inMode: string }[] }[])[0]!.sides[0]!.inMode = 'x'; }),
      mutate((r) => { r.callId = 5; }),
      mutate((r) => { (r.media as { sides: { rate: unknown }[] }[])[0]!.sides[0]!.rate = { pps: -1, bps: 0 }; }),
      mutate((r) => { (r.media as { sides: { rate: unknown }[] }[])[0]!.sides[0]!.rate = { pps: 50, bps: '1' }; }),
      mutate((r) => { (r.media as { sides: { rate: unknown }[] }[])[0]!.sides[0]!.rate = 50; }),
    ];
    for (const text of bad) assert.throws(() => decodeCallRecord(text), isRecordError, text.slice(0, 60));
  });

  it('index records round-trip and refuse out-of-range indexes', () => {
    const idx = { v: RECORD_VERSION, at: 9, streams: { 30000: { srtpIn: [{ ssrc: 1, index: 2 ** 40 }], srtpOut: [], srtcpIn: [], srtcpOut: [{ ssrc: 1, index: 5 }] } } };
    assert.deepEqual(decodeIndexRecord(JSON.stringify(idx)), idx);
    const over = { ...idx, streams: { 30000: { ...idx.streams[30000], srtcpOut: [{ ssrc: 1, index: 2 ** 31 }] } } };
    assert.throws(() => decodeIndexRecord(JSON.stringify(over)), isRecordError);
    const dup = { ...idx, streams: { 30000: { ...idx.streams[30000], srtpIn: [{ ssrc: 1, index: 1 }, { ssrc: 1, index: 2 }] } } };
    assert.throws(() => decodeIndexRecord(JSON.stringify(dup)), isRecordError);
    assert.throws(() => decodeIndexRecord(JSON.stringify({ ...idx, streams: { abc: idx.streams[30000] } })), isRecordError);
  });
});
