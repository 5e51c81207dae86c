// Fuzzing the RTCP SDES walker and rewriter (topology hiding; the compound comes from a peer,
// authenticated but otherwise arbitrary). Invariants: nothing throws; a refused compound is
// left byte for byte as it was; an accepted one keeps its length, every byte outside item
// text, and the same items (SSRC, type, length) when walked again, and has only null octets
// past each SDES packet's declared chunks; in a larger slot nothing past the length changes.
// Seeds: test/fuzz/corpus/rtcp-sdes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SdesRewriter, walkSdes } from '../../src/media/rtcpSdes.ts';
import { fuzz, iterations, report } from './harness.ts';

const ITER = iterations(40_000);
const TOKENS = ['\x80\xc9\x00\x01', '\x81\xca', '\x82\xca', '\xa1\xca', '\x80\xcb\x00\x01', '\x01', '\x08', '\x00\x00\x00\x00', '\xff'];

interface Item { ssrc: number; type: number; start: number; length: number }
/**
 * Written apart from the walker: the octets of each SDES packet after its declared chunks and
 * before its padding. In a compound the relay forwards they must all be null (any other octet
 * could carry a name past the rewriter).
 */
function trailingOctets(buf: Uint8Array): number[] {
  const out: number[] = [];
  for (let off = 0; off + 4 <= buf.length;) {
    const size = (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
    if (off + size > buf.length) break;
    const end = off + size - ((buf[off]! & 0x20) !== 0 ? buf[off + size - 1]! : 0);
    if (buf[off + 1] === 202) {
      let p = off + 4;
      for (let c = 0; c < (buf[off]! & 0x1f) && p + 4 <= end; c++) {
        p += 4;
        while (p < end && buf[p] !== 0) p += 2 + (buf[p + 1] ?? 0);
        p = off + ((p - off + 4) & ~3);
      }
      for (; p < end; p++) out.push(buf[p]!);
    }
    off += size;
  }
  return out;
}

const itemsOf = (buf: Uint8Array): Item[] | null => {
  const out: Item[] = [];
  return walkSdes(buf, buf.length, (ssrc, type, start, length) => out.push({ ssrc, type, start, length })) < 0 ? null : out;
};

describe('fuzz: RTCP SDES walker and rewriter', () => {
  it(`walkSdes + SdesRewriter.rewrite: ≤${ITER} inputs, no throw, refused input unchanged, structure kept`, () => {
    const rewriter = new SdesRewriter(new Uint8Array(32).fill(3));
    const res = fuzz({
      name: 'rtcp-sdes',
      corpus: 'rtcp-sdes',
      dictionary: TOKENS,
      run(input) {
        const buf = new Uint8Array(input);
        const before = itemsOf(buf);
        const copy = buf.slice();
        // As the pipeline calls it: a slot larger than the packet; nothing past `len` is touched.
        const slot = new Uint8Array(buf.length + 16).fill(0xa5);
        slot.set(buf);
        assert.equal(rewriter.rewrite(slot, buf.length), before !== null, 'slot and exact buffer disagree');
        assert.ok(slot.subarray(buf.length).every((x) => x === 0xa5), 'bytes past len were written');
        const ok = rewriter.rewrite(buf, buf.length);
        assert.equal(ok, before !== null, 'rewrite and walk disagree on validity');
        assert.deepEqual(slot.subarray(0, buf.length), buf, 'same input, same output');
        if (!ok) {
          assert.deepEqual(buf, copy, 'a refused compound was modified');
          return 'malformed';
        }
        assert.deepEqual(itemsOf(buf), before, 'items changed shape after a rewrite');
        assert.ok(trailingOctets(buf).every((x) => x === 0), 'an accepted SDES packet carries octets past its declared chunks');
        const text = new Uint8Array(buf.length);
        for (const it of before!) text.fill(1, it.start, it.start + it.length);
        for (let i = 0; i < buf.length; i++) if (text[i] === 0) assert.equal(buf[i], copy[i], `byte ${i} outside item text changed`);
        return `ok:${Math.min(before!.length, 6)}:${new Set(before!.map((x) => x.type)).size}`;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 5, `only ${res.outcomes} distinct outcomes`);
  });
});
