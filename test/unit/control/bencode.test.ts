import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBencode, encodeBencode, BENCODE_DEFAULTS, type BValue } from '../../../src/control/bencode.ts';
import { RelayError } from '../../../src/errors.ts';

/** Asserts a RelayError('E_BAD_BENCODE') whose message carries `[offset:n]` (when given). */
function rejects(input: Uint8Array | string, offset?: number, options = {}): RelayError {
  try {
    decodeBencode(input, options);
  } catch (e) {
    assert.ok(e instanceof RelayError, `expected RelayError, got ${String(e)}`);
    assert.equal(e.code, 'E_BAD_BENCODE');
    if (offset !== undefined) assert.match(e.message, new RegExp(`\\[offset:${offset}\\]`));
    return e;
  }
  assert.fail(`expected ${JSON.stringify(String(input)).slice(0, 60)} to be rejected`);
}

function encodeRejects(value: unknown, pattern: RegExp): void {
  assert.throws(() => encodeBencode(value as BValue), (e: unknown) => {
    assert.ok(e instanceof RelayError);
    assert.equal(e.code, 'E_BAD_BENCODE');
    assert.match(e.message, pattern);
    return true;
  });
}

describe('bencode decode: integers', () => {
  test('accepts canonical integers up to the safe range', () => {
    assert.equal(decodeBencode('i0e'), 0);
    assert.equal(decodeBencode('i42e'), 42);
    assert.equal(decodeBencode('i-42e'), -42);
    assert.equal(decodeBencode(`i${Number.MAX_SAFE_INTEGER}e`), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeBencode(`i${Number.MIN_SAFE_INTEGER}e`), Number.MIN_SAFE_INTEGER);
  });
  test('rejects non-canonical and out-of-range integers', () => {
    rejects('i-0e', 0);
    rejects('i03e', 0);
    rejects('i-03e', 0);
    rejects('ie', 0);
    rejects('i-e', 0);
    rejects('i9007199254740992e', 0);
    rejects('i12345678901234567890e', 0);
    rejects('i1.5e', 2);
    rejects('i12', 3);
    rejects('i', 1);
  });
});

describe('bencode decode: byte strings', () => {
  test('decodes UTF-8 text to string, BOM and CRLF kept', () => {
    assert.equal(decodeBencode('0:'), '');
    assert.equal(decodeBencode('4:spam'), 'spam');
    assert.equal(decodeBencode(Buffer.from('2:\xc3\xa9', 'latin1')), 'é');
    assert.equal(decodeBencode(Buffer.from('3:\xef\xbb\xbf', 'latin1')), '\ufeff');
    assert.equal(decodeBencode('5:a\r\nb\n'), 'a\r\nb\n');
  });
  test('non-UTF-8 bytes come back as an exact Uint8Array copy, not a view', () => {
    const input = Buffer.from([0x33, 0x3a, 0xff, 0x00, 0xc3]); // 3:\xff\x00\xc3
    const v = decodeBencode(input);
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual([...v], [0xff, 0x00, 0xc3]);
    input[2] = 0x41;
    assert.equal((v as Uint8Array)[0], 0xff, 'decoded bytes must not alias the input buffer');
  });
  test('rejects malformed lengths and truncation', () => {
    rejects('05:hello', 0);
    rejects('00:', 0);
    rejects('5:abc', 0);
    rejects('3abc', 1);
    rejects('4', 1);
    rejects('12345678901:x', 0);
  });
});

describe('bencode decode: lists and dicts', () => {
  test('nested containers', () => {
    assert.deepEqual(decodeBencode('le'), []);
    assert.deepEqual(decodeBencode('de'), {});
    assert.deepEqual(decodeBencode('l4:spami7eli1eee'), ['spam', 7, [1]]);
    assert.deepEqual(decodeBencode('d3:cow3:moo4:spaml1:a1:bee'), { cow: 'moo', spam: ['a', 'b'] });
  });
  test('accepts unsorted keys, as Kamailio sends them', () => {
    assert.deepEqual(decodeBencode('d7:command4:ping3:abci1ee'), { command: 'ping', abc: 1 });
  });
  test('rejects duplicate keys and non-string keys', () => {
    rejects('d1:ai1e1:ai2ee', 7);
    rejects('di1ei2ee', 1);
    rejects('dl1:aei1ee', 1);
    rejects(Buffer.from('d1:\xffi1ee', 'latin1'), 1);
  });
  test('a __proto__ key is an own property and does not touch the prototype', () => {
    const v = decodeBencode('d9:__proto__d5:admini1eee') as Record<string, BValue>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { admin: 1 });
    assert.equal(({} as Record<string, unknown>)['admin'], undefined);
  });
  test('rejects truncation, stray bytes and trailing garbage with the offset', () => {
    rejects('', 0);
    rejects('l', 1);
    rejects('d3:cow', 6);
    rejects('d3:cowe', 6);
    rejects('li1e', 4);
    rejects('e', 0);
    rejects('x', 0);
    rejects('i1ei2e', 3);
    rejects('dee', 2);
    rejects('le\n', 2);
  });
});

describe('bencode decode: limits', () => {
  test('maxBytes is checked before parsing, for bytes and strings', () => {
    const big = `${70000}:${'a'.repeat(70000)}`;
    rejects(big, BENCODE_DEFAULTS.maxBytes);
    rejects(Buffer.from(big), BENCODE_DEFAULTS.maxBytes);
    assert.equal((decodeBencode(big, { maxBytes: 80000 }) as string).length, 70000);
    rejects('4:spam', 3, { maxBytes: 3 });
    // A string of few code units but many bytes is measured in bytes.
    rejects(`6:${'€'.repeat(2)}`, 7, { maxBytes: 7 });
  });
  test('maxDepth: 32 nested lists pass, 33 fail', () => {
    assert.doesNotThrow(() => decodeBencode('l'.repeat(32) + 'e'.repeat(32)));
    rejects('l'.repeat(33) + 'e'.repeat(33), 32);
    rejects('d1:a'.repeat(4) + 'i1e' + 'e'.repeat(4), 12, { maxDepth: 3 });
  });
  test('hostile depth never overflows the stack', () => {
    const n = 60000;
    const deep = 'l'.repeat(n) + 'e'.repeat(n);
    rejects(deep, 32, { maxBytes: 2 * n });
    // Even with the depth limit lifted the parser is iterative: no RangeError.
    let v = decodeBencode(deep, { maxBytes: 2 * n, maxDepth: n, maxElements: n });
    let depth = 0;
    while (Array.isArray(v) && v.length === 1) {
      v = v[0]!;
      depth++;
    }
    assert.equal(depth, n - 1);
  });
  test('maxElements bounds the work per input', () => {
    const list = `l${'i1e'.repeat(10)}e`;
    assert.equal((decodeBencode(list, { maxElements: 11 }) as BValue[]).length, 10);
    rejects(list, 28, { maxElements: 10 });
  });
});

describe('bencode encode', () => {
  test('REFERENCE §3 reply bytes', () => {
    assert.equal(encodeBencode({ result: 'pong' }).toString(), 'd6:result4:ponge');
  });
  test('sorts keys by raw bytes and skips undefined', () => {
    assert.equal(encodeBencode({ b: 1, a: 'x', c: undefined }).toString(), 'd1:a1:x1:bi1ee');
    // UTF-16 order puts U+FFFF after U+10000's surrogates; UTF-8 byte order is the reverse.
    const out = encodeBencode({ '\u{10000}': 1, '\uffff': 2 });
    assert.deepEqual(Object.keys(decodeBencode(out) as object), ['\uffff', '\u{10000}']);
  });
  test('lengths count UTF-8 bytes; Uint8Array is written raw', () => {
    assert.equal(encodeBencode('é').toString('latin1'), '2:\xc3\xa9');
    assert.deepEqual([...encodeBencode(new Uint8Array([0, 255]))], [...Buffer.from('2:'), 0, 255]);
    assert.equal(encodeBencode(['a', -3, []]).toString(), 'l1:ai-3elee');
  });
  test('rejects what bencode cannot carry', () => {
    encodeRejects(1.5, /safe integer/);
    encodeRejects(Number.NaN, /safe integer/);
    encodeRejects(2 ** 53, /safe integer/);
    encodeRejects(null, /cannot encode null/);
    encodeRejects(true, /cannot encode boolean/);
    encodeRejects([undefined], /cannot encode undefined/);
    encodeRejects('\ud800', /well-formed/);
    encodeRejects({ '\udc00': 1 }, /well-formed/);
    encodeRejects(new Int16Array(2), /cannot encode object/);
    encodeRejects(10n, /cannot encode bigint/);
  });
  test('cyclic and over-deep values stop at maxDepth', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    encodeRejects(cyclic, /nesting too deep/);
    let deep: unknown = 1;
    for (let i = 0; i < 33; i++) deep = [deep];
    encodeRejects(deep, /nesting too deep/);
  });
  test('round trip of a Kamailio-style offer', () => {
    const offer = {
      command: 'offer',
      supports: ['load limit'],
      sdp: 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n',
      ICE: 'remove',
      replace: ['origin', 'session-connection'],
      'call-id': 'a84b4c76e66710@pc33',
      'received-from': ['IP4', '127.0.0.1'],
      'from-tag': '1928301774',
    };
    assert.deepEqual(decodeBencode(encodeBencode(offer)), offer);
  });
});
