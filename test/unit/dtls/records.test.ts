import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ContentType, DTLS_1_2, GCM_OVERHEAD, GcmRecordProtection, RECORD_HEADER_LEN, ReplayWindow, encodeRecord, parseRecords,
} from '../../../src/keying/dtls/records.ts';
import { Rng } from './helpers.ts';

const SEED = Number(process.env.DTLS_SEED ?? 0x5eed) >>> 0;

describe('record framing', () => {
  test('several records per datagram; 48-bit sequence numbers survive', () => {
    const a = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 0xffff_ffff_fffe, Uint8Array.of(1, 2, 3));
    const b = encodeRecord(ContentType.alert, DTLS_1_2, 1, 7, Uint8Array.of(2, 40));
    const recs = parseRecords(Buffer.concat([a, b]));
    assert.equal(recs.length, 2);
    assert.deepEqual([recs[0]?.type, recs[0]?.epoch, recs[0]?.seq, Array.from(recs[0]?.fragment ?? [])], [22, 0, 0xffff_ffff_fffe, [1, 2, 3]]);
    assert.deepEqual([recs[1]?.type, recs[1]?.epoch, recs[1]?.seq], [21, 1, 7]);
  });

  test('a truncated record ends parsing but keeps the records before it', () => {
    const a = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 1, Uint8Array.of(9));
    const b = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 2, new Uint8Array(10));
    assert.equal(parseRecords(Buffer.concat([a, b.subarray(0, b.length - 1)])).length, 1);
    assert.equal(parseRecords(a.subarray(0, RECORD_HEADER_LEN - 1)).length, 0);
    assert.equal(parseRecords(new Uint8Array(0)).length, 0);
  });
});

describe('AES-128-GCM record protection', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const iv = Uint8Array.of(0xa0, 0xa1, 0xa2, 0xa3);

  test('seal → open round trip; overhead is nonce + tag', () => {
    const w = new GcmRecordProtection(key, iv);
    const r = new GcmRecordProtection(key, iv);
    const plain = new TextEncoder().encode('finished-ish');
    const rec = w.seal(ContentType.handshake, DTLS_1_2, 1, 5, plain);
    assert.equal(rec.length, RECORD_HEADER_LEN + plain.length + GCM_OVERHEAD);
    const parsed = parseRecords(rec)[0];
    assert.ok(parsed);
    assert.deepEqual(r.open(parsed), plain);
  });

  test('any flipped bit anywhere in the record (header included, it is AAD) fails authentication', () => {
    const w = new GcmRecordProtection(key, iv);
    const rec = w.seal(ContentType.applicationData, DTLS_1_2, 1, 77, Uint8Array.of(1, 2, 3, 4));
    for (let i = 0; i < rec.length; i++) {
      // Flipping the length bytes breaks framing; the rest must fail the tag.
      if (i === 11 || i === 12) continue;
      const x = Uint8Array.from(rec);
      x[i] = (x[i] as number) ^ 0x10;
      const parsed = parseRecords(x)[0];
      assert.ok(parsed);
      assert.equal(w.open(parsed), null, `byte ${i}`);
    }
  });

  test('wrong key or salt fails; a record too short for nonce + tag fails', () => {
    const rec = parseRecords(new GcmRecordProtection(key, iv).seal(23, DTLS_1_2, 1, 1, Uint8Array.of(5)))[0];
    assert.ok(rec);
    assert.equal(new GcmRecordProtection(Uint8Array.from(key, (b) => b ^ 1), iv).open(rec), null);
    assert.equal(new GcmRecordProtection(key, Uint8Array.of(0, 0, 0, 0)).open(rec), null);
    const short = parseRecords(encodeRecord(23, DTLS_1_2, 1, 1, new Uint8Array(GCM_OVERHEAD - 1)))[0];
    assert.ok(short);
    assert.equal(new GcmRecordProtection(key, iv).open(short), null);
  });
});

describe('replay window (64 per epoch)', () => {
  const scenarios: { name: string; steps: [number, boolean][] }[] = [
    { name: 'fresh numbers are accepted, a duplicate is not', steps: [[0, true], [1, true], [1, false], [0, false]] },
    { name: 'reordering inside the window is accepted once', steps: [[10, true], [5, true], [7, true], [5, false], [9, true]] },
    { name: 'exactly 63 behind the highest is in, 64 behind is out', steps: [[100, true], [37, true], [36, false]] },
    { name: 'a jump of more than 64 forgets the old window', steps: [[1, true], [200, true], [1, false], [150, true], [136, false], [137, true]] },
    { name: 'sequence 0 first', steps: [[0, true], [0, false], [64, true], [0, false], [1, true]] },
  ];
  for (const s of scenarios) {
    test(s.name, () => {
      const w = new ReplayWindow();
      for (const [seq, ok] of s.steps) {
        assert.equal(w.check(seq), ok, `seq ${seq}`);
        if (ok) w.commit(seq);
      }
    });
  }

  test('check() has no side effect: an unauthenticated record cannot move the window', () => {
    const w = new ReplayWindow();
    w.commit(5);
    assert.ok(w.check(10_000));
    assert.ok(w.check(4), 'still judged against 5, not 10 000');
    assert.equal(w.highest, 5);
  });

  test('matches a naive model under random reordering and gaps', () => {
    const rng = new Rng(SEED);
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let max = -1;
    let next = 0;
    for (let i = 0; i < 20_000; i++) {
      const seq = rng.next() < 0.3 ? Math.max(0, next - rng.int(0, 80)) : (next += rng.int(1, rng.next() < 0.05 ? 100 : 3));
      const model = !seen.has(seq) && (seq > max || max - seq < 64);
      assert.equal(w.check(seq), model, `seq ${seq} max ${max} [seed:${SEED}]`);
      if (model) { w.commit(seq); seen.add(seq); max = Math.max(max, seq); }
    }
  });
});
