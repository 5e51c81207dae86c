// The RTCP SDES walker and rewriter (topology hiding): named cases, then properties with
// fast-check — random bytes never throw, generated compounds are walked exactly, a rewrite
// keeps every length and every non-SDES byte, and removes the original text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SdesRewriter, walkSdes } from '../../../src/media/rtcpSdes.ts';
import { compound, readSdes, sdesPacket, type SdesChunk } from '../../helpers/rtcpSdes.ts';
import { rtcpBye, rtcpRr } from '../../helpers/packets.ts';

const SECRET = new Uint8Array(32).fill(7);
const items = (pkt: Uint8Array) => {
  const out: [number, number, string][] = [];
  const n = walkSdes(pkt, pkt.length, (ssrc, type, start, len) => out.push([ssrc, type, Buffer.from(pkt.subarray(start, start + len)).toString('latin1')]));
  return { n, out };
};

describe('walkSdes', () => {
  it('walks every item of every chunk in a compound (RR + SDES with two chunks + BYE)', () => {
    const pkt = compound(rtcpRr(1, 24), sdesPacket([
      { ssrc: 1, items: [{ type: 1, text: 'a@10.0.0.1' }, { type: 2, text: 'Alice' }] },
      { ssrc: 0xdeadbeef, items: [{ type: 1, text: 'b@[fd00::2]' }] },
    ]), rtcpBye(1));
    const { n, out } = items(pkt);
    assert.equal(n, 3);
    assert.deepEqual(out, [[1, 1, 'a@10.0.0.1'], [1, 2, 'Alice'], [0xdeadbeef, 1, 'b@[fd00::2]']]);
  });

  it('accepts empty chunks, zero-length items and no SDES at all', () => {
    assert.equal(walkSdes(rtcpRr(5), 8, null), 0);
    const pkt = sdesPacket([{ ssrc: 9, items: [] }, { ssrc: 10, items: [{ type: 1, text: '' }] }]);
    assert.deepEqual(items(pkt), { n: 1, out: [[10, 1, '']] });
  });

  it('honours RTCP padding on the last packet', () => {
    const sdes = sdesPacket([{ ssrc: 3, items: [{ type: 1, text: 'xyz' }] }]);
    const padded = new Uint8Array(sdes.length + 4);
    padded.set(sdes);
    padded[0]! |= 0x20;
    padded[3] = padded.length / 4 - 1;
    padded[padded.length - 1] = 4;
    assert.deepEqual(items(padded).out, [[3, 1, 'xyz']]);
    padded[padded.length - 1] = 0;
    assert.equal(walkSdes(padded, padded.length, null), -1, 'a zero padding count is malformed');
    padded[padded.length - 1] = 200;
    assert.equal(walkSdes(padded, padded.length, null), -1, 'padding longer than the packet');
  });

  it('reports malformed compounds instead of throwing: named cases', () => {
    const good = compound(rtcpRr(1), sdesPacket([{ ssrc: 1, items: [{ type: 1, text: 'host' }] }]));
    const cases: [string, (p: Uint8Array) => void, number?][] = [
      ['version 1', (p) => { p[8] = 0x41; }],
      ['packet length past the end', (p) => { p[11] = 40; }],
      ['item length past the packet', (p) => { p[17] = 60; }],
      ['chunk without END', (p) => { p[18] = 0x41; p[19] = 0x41; p[20] = 0x41; p[21] = 0x41; p[22] = 0x41; p[23] = 0x41; }],
      ['more chunks than room', (p) => { p[8] = 0x83; }],
      ['truncated header', () => {}, good.length - 2],
    ];
    for (const [name, mutate, len] of cases) {
      const p = good.slice();
      mutate(p);
      assert.equal(walkSdes(p, len ?? p.length, null), -1, name);
    }
    assert.equal(walkSdes(new Uint8Array(0), 0, null), -1);
    assert.equal(walkSdes(good, good.length + 1, null), -1, 'len beyond the buffer');
  });
});

describe('SdesRewriter', () => {
  it('replaces every item text with a same-length token, keeps everything else, PRIV prefix length kept', () => {
    const rr = rtcpRr(0x11, 24), bye = rtcpBye(0x11);
    const pkt = compound(rr, sdesPacket([{ ssrc: 0x11, items: [
      { type: 1, text: 'alice@192.168.7.9' }, { type: 6, text: 'softphone 1.2 on 10.1.1.1' }, { type: 8, text: '\x03abcsecret-10.0.0.1' },
    ] }]), bye);
    const before = readSdes(pkt);
    const out = pkt.slice();
    assert.equal(new SdesRewriter(SECRET).rewrite(out, out.length), true);
    assert.equal(out.length, pkt.length);
    assert.deepEqual(out.subarray(0, rr.length), rr);
    assert.deepEqual(out.subarray(out.length - bye.length), bye);
    const after = readSdes(out);
    assert.deepEqual(after.map((x) => [x.ssrc, x.type, x.text.length]), before.map((x) => [x.ssrc, x.type, x.text.length]));
    for (const x of after) assert.doesNotMatch(x.text.toString('latin1'), /alice|192\.168|10\.|secret|softphone/);
    assert.equal(after[2]!.text[0], 3);
    assert.match(after[0]!.text.toString('latin1'), /^[a-z2-7]+$/);
  });

  it('is stable per text and per secret: same CNAME, same token; another secret, another token', () => {
    const mk = () => sdesPacket([{ ssrc: 1, items: [{ type: 1, text: 'bob@10.9.8.7' }] }, { ssrc: 2, items: [{ type: 1, text: 'bob@10.9.8.7' }] }]);
    const r = new SdesRewriter(SECRET);
    const a = mk(), b = mk(), c = mk();
    r.rewrite(a, a.length);
    r.rewrite(b, b.length);
    new SdesRewriter(new Uint8Array(32).fill(8)).rewrite(c, c.length);
    const [a1, a2] = readSdes(a);
    assert.deepEqual(a1!.text, a2!.text, 'audio and video of one endpoint keep one CNAME');
    assert.deepEqual(readSdes(b)[0]!.text, a1!.text);
    assert.notDeepEqual(readSdes(c)[0]!.text, a1!.text);
  });

  it('caches by content, not by buffer: a reused Buffer slot with another CNAME gets another token', () => {
    const r = new SdesRewriter(SECRET);
    const slot = Buffer.alloc(64);
    const run = (cname: string): Buffer => {
      const p = sdesPacket([{ ssrc: 1, items: [{ type: 1, text: cname }] }]);
      slot.set(p);
      assert.equal(r.rewrite(slot, p.length), true);
      return Buffer.from(readSdes(slot.subarray(0, p.length))[0]!.text);
    };
    const a1 = run('aaaa@10.0.0.1'), b1 = run('bbbb@10.0.0.2'), a2 = run('aaaa@10.0.0.1');
    assert.notDeepEqual(a1, b1);
    assert.deepEqual(a2, a1);
  });

  it('leaves a malformed compound untouched and says so', () => {
    const pkt = compound(rtcpRr(1), sdesPacket([{ ssrc: 1, items: [{ type: 1, text: 'host@10.0.0.1' }] }]));
    pkt[17] = 200;
    const copy = pkt.slice();
    assert.equal(new SdesRewriter(SECRET).rewrite(pkt, pkt.length), false);
    assert.deepEqual(pkt, copy);
  });

  it('refuses a short secret', () => {
    assert.throws(() => new SdesRewriter(new Uint8Array(8)), RangeError);
  });
});

const chunkArb: fc.Arbitrary<SdesChunk> = fc.record({
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  items: fc.array(fc.record({ type: fc.integer({ min: 1, max: 7 }), text: fc.uint8Array({ minLength: 0, maxLength: 60 }) }), { maxLength: 5 }),
});

describe('rtcpSdes properties', () => {
  it('random bytes: the walker and the rewriter never throw, and a refused buffer is unchanged', () => {
    const r = new SdesRewriter(SECRET);
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (buf) => {
      const n = walkSdes(buf, buf.length, null);
      assert.ok(n >= -1);
      const copy = buf.slice();
      if (!r.rewrite(buf, buf.length)) assert.deepEqual(buf, copy);
    }), { numRuns: 2000 });
  });

  it('mutated valid compounds: never throw; every accepted one still walks to the same item lengths after a rewrite', () => {
    const r = new SdesRewriter(SECRET);
    fc.assert(fc.property(fc.array(chunkArb, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      (chunks, flips) => {
        const pkt = compound(rtcpRr(1, 8), sdesPacket(chunks));
        for (const [at, v] of flips) pkt[at % pkt.length] = v;
        const lengths: number[] = [];
        const n = walkSdes(pkt, pkt.length, (_s, _t, _st, len) => lengths.push(len));
        if (n < 0) return;
        assert.equal(r.rewrite(pkt, pkt.length), true);
        const again: number[] = [];
        assert.equal(walkSdes(pkt, pkt.length, (_s, _t, _st, len) => again.push(len)), n);
        assert.deepEqual(again, lengths);
      }), { numRuns: 1500 });
  });

  it('generated compounds: walked exactly; rewrite keeps structure and leaves no original text of 8+ bytes', () => {
    const r = new SdesRewriter(randomBytes(32));
    fc.assert(fc.property(fc.array(chunkArb, { minLength: 1, maxLength: 6 }), (chunks) => {
      const pkt = compound(rtcpRr(42, 4), sdesPacket(chunks));
      const { n, out } = items(pkt);
      const want = chunks.flatMap((c) => c.items.map((it) => [c.ssrc, it.type, Buffer.from(it.text as Uint8Array).toString('latin1')]));
      assert.equal(n, want.length);
      assert.deepEqual(out, want);
      assert.equal(r.rewrite(pkt, pkt.length), true);
      const after = items(pkt);
      assert.deepEqual(after.out.map(([s, t, x]) => [s, t, x.length]), want.map(([s, t, x]) => [s, t, (x as string).length]));
      for (const [, , x] of after.out) assert.match(x, /^[a-z2-7]*$/);
      for (const [, , x] of want) if ((x as string).length >= 8) assert.ok(!Buffer.from(pkt).toString('latin1').includes(x as string));
    }), { numRuns: 500 });
  });
});
