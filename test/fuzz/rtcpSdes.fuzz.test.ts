// Fuzzing the RTCP SDES walker and rewriter (topology hiding; the compound comes from a peer,
// authenticated but otherwise arbitrary). Invariants: nothing throws; a refused compound is
// left byte for byte as it was; an accepted one keeps its length, every byte outside item
// text, and the same items (SSRC, type, length) when walked again.
// Seeds: test/fuzz/corpus/rtcp-sdes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SdesRewriter, walkSdes } from '../../src/media/rtcpSdes.ts';
import { fuzz, iterations, report } from './harness.ts';

const ITER = iterations(40_000);
const TOKENS = ['\x80\xc9\x00\x01', '\x81\xca', '\x82\xca', '\xa1\xca', '\x80\xcb\x00\x01', '\x01', '\x08', '\x00\x00\x00\x00', '\xff'];

interface Item { ssrc: number; type: number; start: number; length: number }
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
        const ok = rewriter.rewrite(buf, buf.length);
        assert.equal(ok, before !== null, 'rewrite and walk disagree on validity');
        if (!ok) {
          assert.deepEqual(buf, copy, 'a refused compound was modified');
          return 'malformed';
        }
        assert.deepEqual(itemsOf(buf), before, 'items changed shape after a rewrite');
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
