import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HANDSHAKE_HEADER_LEN, HandshakeReassembler, HandshakeType, encodeHandshakeFragment, encodeHandshakeMessage, fragmentHandshake,
  parseHandshakeFragments, type HandshakeFragment,
} from '../../../src/keying/dtls/handshake.ts';
import { Rng, hex } from './helpers.ts';

const SEED = Number(process.env.DTLS_SEED ?? 0x5eed) >>> 0;

function frags(msgType: number, seq: number, body: Uint8Array, piece: number): HandshakeFragment[] {
  return fragmentHandshake(msgType, seq, body, piece).flatMap((f) => parseHandshakeFragments(f) ?? []);
}

describe('handshake framing', () => {
  test('the transcript form is one fragment with offset 0 and fragment_length = length', () => {
    const m = encodeHandshakeMessage(HandshakeType.certificate, 3, Uint8Array.of(7, 8, 9));
    assert.equal(hex(m), '0b000003' + '0003' + '000000' + '000003' + '070809');
  });

  test('fragments cover the body exactly; an empty body is one empty fragment', () => {
    const body = new Rng(SEED).bytes(1000);
    const f = frags(HandshakeType.certificate, 2, body, 300);
    assert.deepEqual(f.map((x) => [x.fragmentOffset, x.body.length]), [[0, 300], [300, 300], [600, 300], [900, 100]]);
    assert.ok(f.every((x) => x.length === 1000 && x.messageSeq === 2));
    const empty = frags(HandshakeType.serverHelloDone, 4, new Uint8Array(0), 300);
    assert.equal(empty.length, 1);
    assert.equal(empty[0]?.length, 0);
  });

  test('a fragment claiming bytes past the message length, or a short header, drops the record', () => {
    assert.equal(parseHandshakeFragments(encodeHandshakeFragment(1, 10, 0, 8, Uint8Array.of(1, 2, 3))), null);
    assert.equal(parseHandshakeFragments(new Uint8Array(HANDSHAKE_HEADER_LEN - 1)), null);
    const lying = encodeHandshakeFragment(1, 10, 0, 0, Uint8Array.of(1, 2, 3));
    assert.equal(parseHandshakeFragments(lying.subarray(0, lying.length - 1)), null);
  });
});

describe('reassembly', () => {
  test('shuffled, duplicated and overlapping fragments of several messages come out whole and in order', () => {
    const rng = new Rng(SEED);
    const bodies = [rng.bytes(700), rng.bytes(0), rng.bytes(1500), rng.bytes(33)];
    let pool: HandshakeFragment[] = [];
    bodies.forEach((b, i) => {
      pool.push(...frags(20 + i, i, b, 128), ...frags(20 + i, i, b, 200)); // two overlapping fragmentations
    });
    pool.push(...pool.slice(0, 5)); // duplicates
    for (let i = pool.length - 1; i > 0; i--) { const j = rng.int(0, i); [pool[i], pool[j]] = [pool[j] as HandshakeFragment, pool[i] as HandshakeFragment]; }
    const r = new HandshakeReassembler();
    const out: string[] = [];
    for (const f of pool) {
      r.add(f, 0);
      for (let m = r.next(); m !== undefined; m = r.next()) out.push(`${m.messageSeq}:${m.msgType}:${hex(m.body)}`);
    }
    assert.deepEqual(out, bodies.map((b, i) => `${i}:${20 + i}:${hex(b)}`));
    assert.equal(r.nextSeq, 4);
    pool = [];
  });

  test('delivered messages are "old" (the peer retransmitted); far-future ones are dropped', () => {
    const r = new HandshakeReassembler({ window: 4 });
    for (const f of frags(1, 0, Uint8Array.of(1), 100)) assert.equal(r.add(f, 0), 'accepted');
    assert.ok(r.next());
    assert.equal(r.add(frags(1, 0, Uint8Array.of(1), 100)[0] as HandshakeFragment, 0), 'old');
    assert.equal(r.add(frags(2, 5, Uint8Array.of(1), 100)[0] as HandshakeFragment, 0), 'dropped');
    assert.equal(r.add(frags(2, 4, Uint8Array.of(1), 100)[0] as HandshakeFragment, 0), 'accepted');
  });

  test('a fragment disagreeing with the first one seen (type, length, epoch) is dropped', () => {
    const r = new HandshakeReassembler();
    const body = new Uint8Array(100);
    const [a, b] = frags(11, 0, body, 50);
    assert.ok(a && b);
    assert.equal(r.add(a, 0), 'accepted');
    assert.equal(r.add({ ...b, msgType: 12 }, 0), 'dropped');
    assert.equal(r.add({ ...b, length: 101 }, 0), 'dropped');
    assert.equal(r.add(b, 1), 'dropped');
    assert.equal(r.next(), undefined);
    assert.equal(r.add(b, 0), 'accepted');
    assert.equal(r.next()?.body.length, 100);
  });

  test('size limits: per message and in total', () => {
    const r = new HandshakeReassembler({ maxMessageLength: 1000, maxBufferedBytes: 1500 });
    assert.equal(r.add({ msgType: 11, length: 1001, messageSeq: 0, fragmentOffset: 0, body: new Uint8Array(10) }, 0), 'dropped');
    assert.equal(r.add({ msgType: 11, length: 1000, messageSeq: 0, fragmentOffset: 0, body: new Uint8Array(10) }, 0), 'accepted');
    assert.equal(r.add({ msgType: 12, length: 600, messageSeq: 1, fragmentOffset: 0, body: new Uint8Array(10) }, 0), 'dropped');
    assert.equal(r.add({ msgType: 12, length: 500, messageSeq: 1, fragmentOffset: 0, body: new Uint8Array(10) }, 0), 'accepted');
  });

  test('resetTo() restarts at a given message_seq (server after the cookie exchange)', () => {
    const r = new HandshakeReassembler();
    r.resetTo(1);
    assert.equal(r.add(frags(1, 0, Uint8Array.of(1), 10)[0] as HandshakeFragment, 0), 'old');
    for (const f of frags(1, 1, Uint8Array.of(1), 10)) r.add(f, 0);
    assert.equal(r.next()?.messageSeq, 1);
  });
});
