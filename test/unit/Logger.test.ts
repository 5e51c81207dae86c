// Structured logs: shape, levels, and the redaction that keeps keys and tokens out of them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, REDACTED, redactText } from '../../src/Logger.ts';
import { RelayError } from '../../src/errors.ts';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = new Logger({ level, write: (l) => out.push(l), now: () => 0 });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SDP = 'v=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4;inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo1Njc4\r\n';

describe('Logger', () => {
  it('writes one JSON object per line: level, ts, msg, context', () => {
    const { log, lines } = capture();
    log.child({ component: 'ng' }).info('hello', { n: 1 });
    assert.deepEqual(lines(), [{ level: 'info', ts: '1970-01-01T00:00:00.000Z', msg: 'hello', context: { component: 'ng', n: 1 } }]);
  });

  it('drops lines below its level', () => {
    const { log, lines } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    assert.deepEqual(lines().map((l) => l.msg), ['c', 'd']);
  });

  it('blanks every SDES inline key, in messages and in context strings', () => {
    const { log, lines } = capture();
    log.info(`sdp ${SDP}`, { sdp: SDP, nested: { list: [SDP] } });
    const text = JSON.stringify(lines());
    assert.doesNotMatch(text, /WVNfX19|QUJDREVG/);
    assert.equal((text.match(/inline:\[REDACTED\]/g) ?? []).length, 6);
    assert.equal(redactText('Authorization: Bearer abc.def'), `Authorization: Bearer ${REDACTED}`);
  });

  it('replaces secret-named fields whole and never dumps bytes', () => {
    const { log, lines } = capture();
    log.info('keys', { masterKey: 'x', master_salt: 'y', token: 'z', Authorization: 'Bearer q', key: { a: 1 }, material: new Uint8Array(30) });
    assert.deepEqual(lines()[0]!.context, {
      masterKey: REDACTED, master_salt: REDACTED, token: REDACTED, Authorization: REDACTED, key: REDACTED, material: '[30 bytes]',
    });
  });

  it('renders errors as name, code and (redacted) message, and survives cycles, bigints and huge strings', () => {
    const { log, lines } = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.error('failed', { err: new RelayError('E_BAD_SDP', 'bad line inline:SECRETKEY'), cyclic, big: 2n ** 70n, long: 'x'.repeat(10_000) });
    const ctx = lines()[0]!.context as Record<string, unknown>;
    assert.deepEqual(ctx.err, { name: 'RelayError', code: 'E_BAD_SDP', message: 'bad line inline:[REDACTED]' });
    assert.equal(ctx.big, (2n ** 70n).toString());
    assert.ok((ctx.long as string).length < 2100);
    assert.match(JSON.stringify(ctx.cyclic), /\[depth\]/);
  });

  it('a throwing sink does not throw into the caller', () => {
    const log = new Logger({ write: () => { throw new Error('EPIPE'); } });
    assert.doesNotThrow(() => log.error('x'));
  });
});
