// Fuzz-style properties for the control-plane parsers (STYLE rule 25): whatever the input,
// the only exception is RelayError; valid values survive format → parse unchanged.
// The seed corpora under test/fuzz/corpus are replayed as-is and mutated.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decodeBencode, encodeBencode, type BValue, type BDict } from '../../src/control/bencode.ts';
import { parseNgRequest, normalizeNgDict, tokenizeRtppFlags } from '../../src/control/ngRequest.ts';
import {
  parseCryptoAttribute, formatCryptoAttribute, SdesCrypto, SdesKeyParam,
  MAX_TAG, MAX_LIFETIME, MIN_WSH, MAX_WSH, MAX_KDR, type SdesFormatOptions,
} from '../../src/keying/sdes.ts';
import { SUITES, type CryptoSuite } from '../../src/crypto/suites.ts';
import { RelayError } from '../../src/errors.ts';

const RUNS = { numRuns: 400 };

/** Runs f; any exception other than RelayError fails the property. */
function onlyRelayError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof RelayError)) throw e;
  }
}

// ---------------------------------------------------------------- corpora

function corpus(dir: string): { name: string; data: Buffer }[] {
  const url = new URL(`../fuzz/corpus/${dir}/`, import.meta.url);
  return readdirSync(url).sort().map((name) => ({ name, data: readFileSync(new URL(name, url)) }));
}
const sdesCorpus = corpus('sdes');
const bencodeCorpus = corpus('bencode');

/** Random point mutations (flip, insert, delete, duplicate a slice) of a seed. */
function mutated(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 3 }), byte: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 1, max: 8 }) });
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([seed, edits]) => {
    let b = Buffer.from(seed);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length;
      if (e.kind === 0 && b.length > 0) b[at] = e.byte;
      else if (e.kind === 1) b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
      else if (e.kind === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
      else b = Buffer.concat([b.subarray(0, at + e.len), b.subarray(at)]);
    }
    return b;
  });
}

describe('seed corpora', () => {
  test('sdes: bad-* files are rejected with RelayError, the others parse', () => {
    assert.ok(sdesCorpus.length >= 10);
    for (const { name, data } of sdesCorpus) {
      const run = (): unknown => parseCryptoAttribute(data.toString('latin1'));
      if (name.startsWith('bad-')) assert.throws(run, RelayError, name);
      else assert.doesNotThrow(run, name);
    }
  });
  test('bencode: bad-* files are rejected with RelayError, the others decode; ng requests parse', () => {
    assert.ok(bencodeCorpus.length >= 10);
    for (const { name, data } of bencodeCorpus) {
      const run = (): unknown => decodeBencode(data);
      if (name.startsWith('bad-')) {
        assert.throws(run, RelayError, name);
      } else {
        const v = decodeBencode(data);
        assert.deepEqual(decodeBencode(encodeBencode(v)), v, name);
      }
      const r = parseNgRequest(Buffer.concat([Buffer.from('seed_1 '), data]));
      assert.equal(r.cookie, 'seed_1');
      if (/^(ping|offer|answer|delete|query)/.test(name)) assert.ok(r.ok, `${name}: ${r.ok ? '' : r.error.message}`);
    }
  });
  test('mutated sdes seeds throw nothing but RelayError', () => {
    fc.assert(fc.property(mutated(sdesCorpus.map((c) => c.data)), (b) => {
      onlyRelayError(() => parseCryptoAttribute(b.toString('latin1')));
    }), { numRuns: 2000 });
  });
  test('mutated bencode seeds throw nothing but RelayError; ng parsing never throws', () => {
    fc.assert(fc.property(mutated(bencodeCorpus.map((c) => c.data)), (b) => {
      onlyRelayError(() => decodeBencode(b));
      const r = parseNgRequest(Buffer.concat([Buffer.from('m_1 '), b]));
      assert.equal(r.cookie, 'm_1');
    }), { numRuns: 2000 });
  });
});

// ---------------------------------------------------------------- bencode

/** Well-formed strings (whole code points): the only strings bencode must round-trip. */
const text = fc.string({ unit: 'binary', maxLength: 24 });

function dictOf(entries: readonly (readonly [string, BValue])[]): BDict {
  const d: BDict = {};
  // defineProperty so that a generated "__proto__" key is a key, as the decoder makes it.
  for (const [k, v] of entries) Object.defineProperty(d, k, { value: v, enumerable: true, writable: true, configurable: true });
  return d;
}

const { bvalue } = fc.letrec<{ bvalue: BValue }>((tie) => ({
  bvalue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.maxSafeInteger(),
    fc.array(tie('bvalue'), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(text, tie('bvalue')), { maxLength: 5, selector: (e) => e[0] }).map(dictOf),
  ),
}));

/** Byte strings too: any bytes, UTF-8 or not. */
const { bvalueBytes } = fc.letrec<{ bvalueBytes: BValue }>((tie) => ({
  bvalueBytes: fc.oneof(
    { depthSize: 'small' },
    fc.uint8Array({ maxLength: 16 }),
    text,
    fc.maxSafeInteger(),
    fc.array(tie('bvalueBytes'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(text, tie('bvalueBytes')), { maxLength: 4, selector: (e) => e[0] }).map(dictOf),
  ),
}));

/** Strings over the bencode alphabet reach much deeper into the decoder than random bytes. */
const bencodeish = fc.array(fc.constantFrom('i', 'l', 'd', 'e', '0', '1', '2', '3', '9', ':', '-', 'a', '\xff'), { maxLength: 40 })
  .map((cs) => Buffer.from(cs.join(''), 'latin1'));

describe('bencode properties', () => {
  test('decode(encode(v)) = v for text, integers, lists and dicts', () => {
    fc.assert(fc.property(bvalue, (v) => {
      assert.deepStrictEqual(decodeBencode(encodeBencode(v)), v);
    }), RUNS);
  });
  test('encoding is canonical: encode(decode(encode(v))) = encode(v), bytes included', () => {
    fc.assert(fc.property(bvalueBytes, (v) => {
      const once = encodeBencode(v);
      assert.deepStrictEqual(encodeBencode(decodeBencode(once)), once);
    }), RUNS);
  });
  test('decode of arbitrary bytes throws nothing but RelayError', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), bencodeish), (b) => {
      onlyRelayError(() => decodeBencode(b));
      onlyRelayError(() => decodeBencode(b, { maxDepth: 2, maxElements: 3, maxBytes: 20 }));
    }), { numRuns: 3000 });
  });
  test('whatever decodes re-encodes to something that decodes to the same value', () => {
    fc.assert(fc.property(bencodeish, (b) => {
      let v: BValue;
      try {
        v = decodeBencode(b);
      } catch (e) {
        assert.ok(e instanceof RelayError);
        return;
      }
      assert.deepStrictEqual(decodeBencode(encodeBencode(v)), v);
    }), { numRuns: 3000 });
  });
});

// ---------------------------------------------------------------- ng requests

const NG_KEYS = ['command', 'call-id', 'call id', 'from-tag', 'to-tag', 'via-branch', 'sdp', 'flags', 'replace',
  'transport-protocol', 'ICE', 'DTLS', 'SDES', 'rtcp-mux', 'direction', 'received-from', 'address family',
  'record-call', 'supports', 'sip-message-type', 'rtpp-flags', '__proto__', 'constructor', 'toString'];
const NG_WORDS = ['offer', 'answer', 'ping', 'delete', 'query', 'remove', 'force', 'off', 'passive', 'IP4', 'IP6',
  '127.0.0.1', '::1', 'RTP/AVP', 'RTP/SAVP', 'DTLS', 'SRTP', 'AVPF', 'RTP', 'origin', 'demux', 'yes', 'internal',
  'SDES-off', 'SDES-no-X', 'ICE=remove', 'direction=a', 'x=[a b]', '[', ']', '=', ' ', 'request', 'v=0\r\n'];
const ngValue: fc.Arbitrary<BValue> = fc.oneof(
  fc.constantFrom(...NG_WORDS),
  fc.array(fc.constantFrom(...NG_WORDS), { maxLength: 4 }),
  fc.array(fc.constantFrom(...NG_WORDS), { maxLength: 12 }).map((w) => w.join(' ')),
  bvalue,
);
const ngDict = fc.uniqueArray(fc.tuple(fc.oneof(fc.constantFrom(...NG_KEYS), text), ngValue), { maxLength: 10, selector: (e) => e[0] })
  .map(dictOf);

describe('ng request properties', () => {
  test('parseNgRequest never throws, on any bytes', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), bencodeish.map((b) => Buffer.concat([Buffer.from('c '), b]))), (b) => {
      parseNgRequest(b);
    }), { numRuns: 3000 });
  });
  test('parseNgRequest never throws on ng-shaped dicts, bencode or JSON', () => {
    fc.assert(fc.property(ngDict, (dict) => {
      const ben = parseNgRequest(Buffer.concat([Buffer.from('c_1 '), encodeBencode(dict)]));
      const js = parseNgRequest(`c_1 ${JSON.stringify(dict)}`);
      assert.equal(ben.cookie, 'c_1');
      assert.equal(js.cookie, 'c_1');
    }), { numRuns: 2000 });
  });
  test('normalizeNgDict on arbitrary JSON values throws nothing but RelayError', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom(...NG_KEYS), fc.jsonValue())), (v) => {
      onlyRelayError(() => normalizeNgDict(v));
    }), { numRuns: 2000 });
  });
  test('rtpp-flags tokenizer throws nothing but RelayError', () => {
    const flagsText = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.constantFrom(...NG_WORDS, 'a', 'b=', '=[', ']]', '[['), { maxLength: 16 }).map((w) => w.join('')),
    );
    fc.assert(fc.property(flagsText, (s) => {
      onlyRelayError(() => tokenizeRtppFlags(s));
      onlyRelayError(() => normalizeNgDict({ command: 'ping', 'rtpp-flags': s }));
    }), { numRuns: 3000 });
  });
});

// ---------------------------------------------------------------- SDES

const SDES_PIECES = ['1', '0', '01', ' ', '\t', 'inline:', 'INLINE:', '|', ';', ':', '2^', '20', '48', '49', '=', '==',
  'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR', 'QUJjZGVmMTIzNDU2Nzg5', 'KDR=', 'WSH=', 'FEC_KEY=', 'FEC_ORDER=FEC_SRTP',
  'UNENCRYPTED_SRTP', '-X', ...SUITES.map((s) => s.name), '\r\n', '\u0000', 'é'];

describe('sdes properties', () => {
  test('parse of arbitrary strings throws nothing but RelayError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
      onlyRelayError(() => parseCryptoAttribute(s));
    }), { numRuns: 3000 });
  });
  test('parse of grammar-shaped strings throws nothing but RelayError', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...SDES_PIECES), { maxLength: 24 }), (pieces) => {
      onlyRelayError(() => parseCryptoAttribute(pieces.join('')));
    }), { numRuns: 5000 });
  });

  const keyFor = (suite: CryptoSuite, withMki: fc.Arbitrary<{ value: bigint; length: number } | undefined>) =>
    fc.record({
      material: fc.uint8Array({ minLength: suite.keyLen + suite.saltLen, maxLength: suite.keyLen + suite.saltLen }),
      lifetime: fc.option(fc.oneof(fc.integer({ min: 0, max: 48 }).map((n) => 2 ** n), fc.bigInt({ min: 1n, max: BigInt(MAX_LIFETIME) }).map(Number)), { nil: undefined }),
      mki: withMki,
      padded: fc.boolean(),
    });

  // Built once: a regex arbitrary is costly to construct, and .chain below runs per sample.
  const extension = fc.stringMatching(/^-?[A-Z][A-Z0-9_]{0,8}(=[\x21-\x7e]{1,8})?$/)
    .filter((e) => !/^(KDR|UNENCRYPTED_SRTP|UNENCRYPTED_SRTCP|UNAUTHENTICATED_SRTP|FEC_ORDER|FEC_KEY|WSH)(=|$)/.test(e));

  const sdesArb: fc.Arbitrary<SdesCrypto> = fc.record({
    suite: fc.constantFrom(...SUITES),
    n: fc.integer({ min: 1, max: 4 }),
    mkiLength: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(128)),
    useMki: fc.boolean(),
  }).chain(({ suite, n, mkiLength, useMki }) => {
    const maxMki = (1n << BigInt(8 * mkiLength)) - 1n;
    const mkis = n > 1 || useMki
      ? fc.uniqueArray(fc.bigInt({ min: 1n, max: maxMki }), { minLength: n, maxLength: n }).map((vs) => vs.map((value) => ({ value, length: mkiLength })))
      : fc.constant([undefined]);
    return fc.record({
      suite: fc.constant(suite),
      tag: fc.integer({ min: 0, max: MAX_TAG }),
      keys: mkis.chain((ms) => fc.tuple(...ms.map((m) => keyFor(suite, fc.constant(m))))),
      fecKey: fc.option(keyFor(suite, fc.constant(undefined)), { nil: undefined }),
      kdr: fc.option(fc.integer({ min: 0, max: MAX_KDR }), { nil: undefined }),
      wsh: fc.option(fc.integer({ min: MIN_WSH, max: MAX_WSH }), { nil: undefined }),
      fecOrder: fc.option(fc.constantFrom('FEC_SRTP' as const, 'SRTP_FEC' as const), { nil: undefined }),
      flags: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
      extensions: fc.array(extension, { maxLength: 3 }),
    });
  }).filter(({ keys }) => new Set(keys.map((k) => Buffer.from(k.material).toString('hex'))).size === keys.length)
    .map((g) => new SdesCrypto({
      tag: g.tag,
      suite: g.suite,
      keys: g.keys.map((k) => new SdesKeyParam(Uint8Array.from(k.material), g.suite.keyLen, k)),
      params: {
        kdr: g.kdr, wsh: g.wsh, fecOrder: g.fecOrder, extensions: g.extensions,
        unencryptedSrtp: g.flags[0], unencryptedSrtcp: g.flags[1], unauthenticatedSrtp: g.flags[2],
        fecKeys: g.fecKey === undefined ? [] : [new SdesKeyParam(Uint8Array.from(g.fecKey.material), g.suite.keyLen, g.fecKey)],
      },
    }));

  /** Everything that carries meaning, keys as hex. */
  const meaning = (c: SdesCrypto): unknown => {
    const key = (k: SdesKeyParam): unknown => ({ m: Buffer.from(k.material).toString('hex'), lifetime: k.lifetime, mki: k.mki });
    return { tag: c.tag, suite: c.suite.name, keys: c.keys.map(key), params: { ...c.params, fecKeys: c.params.fecKeys.map(key) } };
  };

  test('parse(format(c)) keeps the meaning, for every padding style', () => {
    fc.assert(fc.property(sdesArb, fc.constantFrom<SdesFormatOptions['padding']>('padded', 'unpadded', 'input'), (c, padding) => {
      const line = formatCryptoAttribute(c, { padding });
      const back = parseCryptoAttribute(line);
      assert.ok(back instanceof SdesCrypto);
      assert.deepStrictEqual(meaning(back), meaning(c));
      // Formatting is a fixed point after one parse.
      assert.equal(formatCryptoAttribute(back, { padding: padding === 'input' ? 'input' : padding }), line);
    }), RUNS);
  });
  test('formatted lines never contain CR, LF or other controls', () => {
    fc.assert(fc.property(sdesArb, (c) => {
      assert.ok(!/[^\x20-\x7e]/.test(formatCryptoAttribute(c)));
    }), RUNS);
  });
});
