import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseNgRequest, formatNgReply, ngErrorReply, normalizeNgDict, tokenizeRtppFlags,
  type NgParseResult, type NgRequest,
} from '../../../src/control/ngRequest.ts';
import { RelayError } from '../../../src/errors.ts';

// Bencode written in wire order, unsorted, the way Kamailio's rtpengine module builds it.
const s = (v: string): string => `${Buffer.byteLength(v)}:${v}`;
const l = (...items: string[]): string => `l${items.join('')}e`;
const d = (...pairs: [string, string][]): string => `d${pairs.map(([k, v]) => s(k) + v).join('')}e`;

const SDP = [
  'v=0', 'o=- 1545997027 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0',
  'm=audio 30000 RTP/SAVP 0 8 101',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32',
  'a=sendrecv', '',
].join('\r\n');

/** Kamailio 5.6 `rtpengine_offer("replace-origin replace-session-connection ICE=remove")`. */
const KAMAILIO_OFFER = d(
  ['command', s('offer')],
  ['supports', l(s('load limit'))],
  ['sdp', s(SDP)],
  ['ICE', s('remove')],
  ['replace', l(s('origin'), s('session-connection'))],
  ['call-id', s('a84b4c76e66710@pc33.example.com')],
  ['received-from', l(s('IP4'), s('127.0.0.1'))],
  ['from-tag', s('1928301774')],
);

function ok(r: NgParseResult): NgRequest {
  if (!r.ok) assert.fail(`expected success, got ${r.error.message}`);
  return r.request;
}

function failed(r: NgParseResult, pattern: RegExp, code = 'E_BAD_REQUEST'): RelayError {
  if (r.ok) assert.fail(`expected failure matching ${pattern}`);
  assert.equal(r.error.code, code);
  assert.match(r.error.message, pattern);
  return r.error;
}

const offerDict = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  command: 'offer', 'call-id': 'c1', 'from-tag': 'f1', sdp: SDP, ...extra,
});
const json = (v: unknown): string => `j1 ${JSON.stringify(v)}`;

describe('ng datagrams from Kamailio', () => {
  test('REFERENCE §3 ping → pong, bytes exact', () => {
    const r = parseNgRequest(Buffer.from('5323_1 d7:command4:pinge'));
    assert.ok(r.ok);
    assert.equal(r.cookie, '5323_1');
    assert.equal(r.format, 'bencode');
    assert.equal(r.request.command, 'ping');
    assert.deepEqual(r.request.warnings, []);
    assert.equal(formatNgReply(r.cookie, { result: 'pong' }, r.format).toString(), '5323_1 d6:result4:ponge');
  });
  test('Kamailio 5.6 offer: every key mapped, SDP CRLF untouched', () => {
    const r = parseNgRequest(Buffer.from(`kam1_4711_12 ${KAMAILIO_OFFER}`));
    const q = ok(r);
    assert.equal(q.command, 'offer');
    if (q.command !== 'offer') return;
    assert.equal(q.callId, 'a84b4c76e66710@pc33.example.com');
    assert.equal(q.fromTag, '1928301774');
    assert.equal(q.toTag, undefined);
    assert.equal(q.sdp, SDP);
    assert.ok(q.sdp.includes('\r\nm=audio'));
    assert.deepEqual(q.supports, ['load limit']);
    assert.equal(q.ice, 'remove');
    assert.deepEqual(q.replace, ['origin', 'session-connection']);
    assert.deepEqual(q.receivedFrom, ['IP4', '127.0.0.1']);
    assert.deepEqual(q.warnings, []);
  });
  test('answer adds to-tag; delete needs only call-id', () => {
    const answer = d(['command', s('answer')], ['sdp', s(SDP)], ['call-id', s('c1')], ['from-tag', s('f1')], ['to-tag', s('t1')]);
    const a = ok(parseNgRequest(`k_1_2 ${answer}`));
    assert.equal(a.command === 'answer' && a.toTag, 't1');
    const del = ok(parseNgRequest(`k_1_3 ${d(['command', s('delete')], ['call-id', s('c1')], ['from-tag', s('f1')])}`));
    assert.equal(del.command, 'delete');
    assert.equal(del.fromTag, 'f1');
    assert.equal(ok(parseNgRequest(`k_1_4 ${d(['command', s('query')], ['call-id', s('c1')])}`)).command, 'query');
  });
  test('required keys per command', () => {
    failed(parseNgRequest(`k ${d(['command', s('offer')], ['call-id', s('c1')], ['from-tag', s('f1')])}`), /missing key \[key:sdp\]\[command:offer\]/);
    failed(parseNgRequest(`k ${d(['command', s('answer')], ['sdp', s('v=0')], ['call-id', s('c')], ['from-tag', s('f')])}`), /\[key:to-tag\]/);
    failed(parseNgRequest(`k ${d(['command', s('delete')])}`), /\[key:call-id\]/);
    failed(parseNgRequest(`k ${d(['call-id', s('c')])}`), /\[key:command\]/);
  });
  test('unknown command: an error result with the cookie, never a throw', () => {
    const r = parseNgRequest(`k_9 ${d(['command', s('start recording')], ['call-id', s('c')])}`);
    const e = failed(r, /unknown command/);
    assert.equal(r.cookie, 'k_9');
    assert.equal(formatNgReply('k_9', ngErrorReply(e), 'bencode').toString(),
      `k_9 d12:error-reason${s(e.message)}6:result5:errore`);
  });
});

describe('ng JSON form', () => {
  test('JSON dict parses to the same request as bencode', () => {
    const r = parseNgRequest(`abc ${JSON.stringify({
      command: 'offer', supports: ['load limit'], sdp: SDP, ICE: 'remove', replace: ['origin', 'session-connection'],
      'call-id': 'a84b4c76e66710@pc33.example.com', 'received-from': ['IP4', '127.0.0.1'], 'from-tag': '1928301774',
    })}`);
    assert.equal(r.format, 'json');
    assert.deepEqual(ok(r), ok(parseNgRequest(`abc ${KAMAILIO_OFFER}`)));
  });
  test('JSON reply and errors keep the format', () => {
    assert.equal(formatNgReply('abc', { result: 'ok', sdp: 'v=0\r\n', 'warning': undefined }, 'json').toString(),
      'abc {"result":"ok","sdp":"v=0\\r\\n"}');
    const r = parseNgRequest('abc {"command":"ping",');
    failed(r, /^invalid JSON$/);
    assert.equal(r.format, 'json');
    failed(parseNgRequest('abc ["command","ping"]'), /bencode \(d\.\.\.\) or JSON/);
    failed(parseNgRequest(Buffer.concat([Buffer.from('abc {"command":"'), Buffer.from([0xff]), Buffer.from('"}')])), /not valid UTF-8/);
  });
  test('an invalid JSON body is never quoted back (it may hold SDES keys)', () => {
    const r = parseNgRequest(`abc {"sdp": "${SDP.replace(/\r\n/g, '\\r\\n')}", oops}`);
    const e = failed(r, /invalid JSON/);
    assert.ok(!e.message.includes('inline'));
  });
  test('__proto__ is just an unknown key', () => {
    const q = ok(parseNgRequest('abc {"command":"ping","__proto__":{"polluted":1}}'));
    assert.deepEqual(q.warnings, ['unknown key "__proto__" ignored']);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('ng key spellings', () => {
  test('spaces, hyphens, underscores and case are interchangeable', () => {
    const q = ok(parseNgRequest(json({
      command: 'answer', 'call id': 'c', 'From Tag': 'f', to_tag: 't', sdp: 'v=0', 'via branch': 'z9hG4bK1',
      'transport protocol': 'RTP/SAVPF', 'received from': ['IP6', '2001:db8::1'], 'address family': 'ip6',
      'record call': 'yes', 'rtcp mux': ['demux'], 'sip message type': 'SIP-reply', 'dtls': 'no', sdes: ['no-AES_CM_128_HMAC_SHA1_32'],
    })));
    assert.equal(q.callId, 'c');
    assert.equal(q.fromTag, 'f');
    assert.equal(q.toTag, 't');
    assert.equal(q.viaBranch, 'z9hG4bK1');
    assert.equal(q.transportProtocol, 'RTP/SAVPF');
    assert.deepEqual(q.receivedFrom, ['IP6', '2001:db8::1']);
    assert.equal(q.addressFamily, 'IP6');
    assert.equal(q.recordCall, true);
    assert.deepEqual(q.rtcpMux, ['demux']);
    assert.equal(q.sipMessageType, 'reply');
    assert.equal(q.dtls, 'off');
    assert.deepEqual(q.sdes, ['no-AES_CM_128_HMAC_SHA1_32']);
  });
  test('the same key in two spellings is ambiguous', () => {
    failed(parseNgRequest(json(offerDict({ 'call id': 'other' }))), /duplicate key \[key:"call id"\]/);
  });
  test('unknown keys are ignored with a warning that never shows the value', () => {
    const q = ok(parseNgRequest(json(offerDict({ TOS: 184, 'DTLS-fingerprint': 'SHA-256', label: 'secret-value' }))));
    assert.deepEqual(q.warnings, ['unknown key "TOS" ignored', 'unknown key "DTLS-fingerprint" ignored', 'unknown key "label" ignored']);
    assert.ok(!q.warnings.join().includes('secret-value'));
  });
});

describe('ng value validation (schema at the edge)', () => {
  const bad = (extra: Record<string, unknown>, pattern: RegExp): void => {
    failed(parseNgRequest(json(offerDict(extra))), pattern);
  };
  test('types and enumerations', () => {
    bad({ sdp: ['v=0'] }, /must be a string \[key:sdp\]/);
    bad({ 'call-id': 'has space' }, /printable ASCII without spaces/);
    bad({ 'call-id': '' }, /bad length/);
    bad({ 'from-tag': 'x'.repeat(513) }, /bad length/);
    bad({ ICE: 'sometimes' }, /unsupported value \[key:ice\]/);
    bad({ DTLS: 'maybe' }, /unsupported value \[key:dtls\]/);
    bad({ 'transport-protocol': 'TCP/RTP/AVP' }, /unsupported value/);
    bad({ 'rtcp-mux': ['sometimes'] }, /unsupported value/);
    bad({ 'rtcp-mux': 'demux' }, /must be a list/);
    bad({ replace: ['everything'] }, /unsupported value \[key:replace\]/);
    bad({ 'received-from': ['IP4'] }, /\[family, address\]/);
    bad({ 'received-from': ['IP4', '2001:db8::1'] }, /address is not valid/);
    bad({ 'received-from': ['IP5', '1.2.3.4'] }, /unsupported value/);
    bad({ 'record-call': 'perhaps' }, /unsupported value/);
    bad({ flags: ['ok', 7] }, /must be a string \[key:flags\]/);
    bad({ flags: Array.from({ length: 65 }, (_, i) => `f${i}`) }, /list too long/);
    bad({ direction: ['a', 'b', 'c'] }, /more than two direction/);
    bad({ supports: ['tab\there'] }, /printable ASCII/);
  });
  test('bencode byte strings that are not UTF-8 are rejected where text is required', () => {
    const raw = Buffer.concat([Buffer.from('k d7:command4:ping7:call-id2:'), Buffer.from([0xc3, 0x28]), Buffer.from('e')]);
    failed(parseNgRequest(raw), /not valid UTF-8 text \[key:call-id\]/);
  });
  test('transport-protocol accept (answers) and case-insensitive names', () => {
    assert.equal(ok(parseNgRequest(json(offerDict({ 'transport-protocol': 'accept' })))).transportProtocol, 'accept');
    assert.equal(ok(parseNgRequest(json(offerDict({ 'transport-protocol': 'udp/tls/rtp/savpf' })))).transportProtocol, 'UDP/TLS/RTP/SAVPF');
  });
  test('flags list: prefixed forms map to keys, other words are normalised flags', () => {
    const q = ok(parseNgRequest(json(offerDict({
      flags: ['trust address', 'SIP_source_address', 'SDES-off', 'SDES-only-AES_256_CM_HMAC_SHA1_80', 'rtcp-mux-offer',
        'replace-session-name', 'symmetric', 'symmetric', 'RTP/SAVP', 'ICE=force', 'constructor'],
    }))));
    assert.deepEqual(q.flags, ['trust-address', 'sip-source-address', 'symmetric', 'constructor']);
    assert.deepEqual(q.sdes, ['off', 'only-AES_256_CM_HMAC_SHA1_80']);
    assert.deepEqual(q.rtcpMux, ['offer']);
    assert.deepEqual(q.replace, ['session-name']);
    assert.equal(q.transportProtocol, 'RTP/SAVP');
    assert.equal(q.ice, 'force');
  });
});

describe('ng rtpp-flags', () => {
  test('REFERENCE §3 mappings', () => {
    const q = ok(parseNgRequest(json(offerDict({
      'rtpp-flags': 'replace-origin replace-session-connection ICE=remove RTP/SAVP SDES-off SDES-no-AES_CM_128_HMAC_SHA1_32 '
        + 'DTLS=passive rtcp-mux-demux rtcp-mux-accept direction=internal direction=external address-family=IP6 '
        + 'trust-address strict-source record-call=on SDES=[only-AES_256_CM_HMAC_SHA1_80 pad] received-from=[IP4 10.0.0.1]',
    }))));
    assert.deepEqual(q.replace, ['origin', 'session-connection']);
    assert.equal(q.ice, 'remove');
    assert.equal(q.transportProtocol, 'RTP/SAVP');
    assert.deepEqual(q.sdes, ['off', 'no-AES_CM_128_HMAC_SHA1_32', 'only-AES_256_CM_HMAC_SHA1_80', 'pad']);
    assert.equal(q.dtls, 'passive');
    assert.deepEqual(q.rtcpMux, ['demux', 'accept']);
    assert.deepEqual(q.direction, ['internal', 'external']);
    assert.equal(q.addressFamily, 'IP6');
    assert.deepEqual(q.flags, ['trust-address', 'strict-source']);
    assert.equal(q.recordCall, true);
    assert.deepEqual(q.receivedFrom, ['IP4', '10.0.0.1']);
    assert.deepEqual(q.warnings, []);
  });
  test('transport words compose as in rtpengine; full names win; contradictions fail', () => {
    const t = (flags: string): string | undefined => ok(parseNgRequest(json(offerDict({ 'rtpp-flags': flags })))).transportProtocol;
    assert.equal(t('SRTP AVPF'), 'RTP/SAVPF');
    assert.equal(t('AVPF'), 'RTP/AVPF');
    assert.equal(t('DTLS'), 'UDP/TLS/RTP/SAVP');
    assert.equal(t('DTLS AVPF'), 'UDP/TLS/RTP/SAVPF');
    assert.equal(t('SRTP RTP'), 'RTP/AVP');
    assert.equal(t('UDP/TLS/RTP/SAVPF AVP'), 'UDP/TLS/RTP/SAVP');
    assert.equal(t('transport-protocol=RTP/AVPF'), 'RTP/AVPF');
    failed(parseNgRequest(json(offerDict({ 'rtpp-flags': 'DTLS RTP' }))), /contradictory transport/);
  });
  test('a setting given twice with different values is an error, the same value is fine', () => {
    failed(parseNgRequest(json(offerDict({ 'transport-protocol': 'RTP/AVP', 'rtpp-flags': 'RTP/SAVP' }))), /conflicting values for one setting \[key:rtpp-flags\]/);
    failed(parseNgRequest(json(offerDict({ ICE: 'force', 'rtpp-flags': 'ICE=remove' }))), /conflicting values/);
    assert.equal(ok(parseNgRequest(json(offerDict({ ICE: 'remove', 'rtpp-flags': 'ICE=remove' })))).ice, 'remove');
  });
  test('identity and body keys cannot come from rtpp-flags', () => {
    const q = ok(parseNgRequest(json(offerDict({ 'rtpp-flags': 'call-id=evil from-tag=x sdp=v label=foo' }))));
    assert.equal(q.callId, 'c1');
    assert.equal(q.fromTag, 'f1');
    assert.equal(q.warnings.length, 4);
    assert.match(q.warnings[0]!, /rtpp-flags key "call-id" ignored/);
  });
  test('nested lists are opaque unless a known key needs a flat list', () => {
    const q = ok(parseNgRequest(json(offerDict({ 'rtpp-flags': 'codec=[strip=[PCMA] offer=[opus]] symmetric' }))));
    assert.deepEqual(q.flags, ['symmetric']);
    assert.equal(q.warnings.length, 1);
    failed(parseNgRequest(json(offerDict({ 'rtpp-flags': 'SDES=[[off]]' }))), /nested list not allowed/);
  });
  test('tokenizer', () => {
    assert.deepEqual(tokenizeRtppFlags('  a b=c  d=[x y] e= f=[ ]\tg=[[h] i]'), [
      { key: 'a', value: null }, { key: 'b', value: 'c' }, { key: 'd', value: ['x', 'y'] },
      { key: 'e', value: null }, { key: 'f', value: [] }, { key: 'g', value: [['h'], 'i'] },
    ]);
    assert.deepEqual(tokenizeRtppFlags('label=a=b'), [{ key: 'label', value: 'a=b' }]);
    for (const bad of ['a=[x', 'a=[x]y', ']', '[a]', '=x', 'a=x]', `a=${'['.repeat(6)}${']'.repeat(6)}`]) {
      assert.throws(() => tokenizeRtppFlags(bad), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST', bad);
    }
  });
});

describe('ng cookies and size limits', () => {
  test('cookie: printable, no spaces, 1..128 characters', () => {
    assert.equal(ok(parseNgRequest(`${'c'.repeat(128)} d7:command4:pinge`)).command, 'ping');
    for (const bad of [`${'c'.repeat(129)} d7:command4:pinge`, ' d7:command4:pinge', 'd7:command4:pinge', 'ab\u0001c d7:command4:pinge', '']) {
      const r = parseNgRequest(bad);
      assert.equal(r.ok, false);
      assert.equal(r.cookie, null, JSON.stringify(bad));
    }
    assert.equal(parseNgRequest(Buffer.from([0x61, 0xff, 0x20, 0x64, 0x65])).cookie, null);
  });
  test('oversized datagrams fail with the cookie so an error reply can go back', () => {
    const big = `k_1 ${d(['command', s('offer')], ['sdp', s('x'.repeat(70000))])}`;
    const r = parseNgRequest(Buffer.from(big));
    failed(r, /datagram too large \[max:65536\]/);
    assert.equal(r.cookie, 'k_1');
    assert.equal(parseNgRequest(big).cookie, 'k_1');
    failed(parseNgRequest('k_1 d7:command4:pinge', { maxDatagramBytes: 10 }), /too large/);
  });
  test('a body that is neither bencode nor JSON, and broken bencode', () => {
    failed(parseNgRequest('k ping'), /bencode \(d\.\.\.\) or JSON/);
    failed(parseNgRequest('k '), /bencode \(d\.\.\.\) or JSON/);
    const r = parseNgRequest('k d7:command4:ping');
    // Offsets count from the start of the dictionary, after `<cookie> `.
    failed(r, /truncated input \[offset:16\]/, 'E_BAD_BENCODE');
    assert.equal(r.cookie, 'k');
    failed(parseNgRequest('k d7:command4:pingee'), /trailing data/, 'E_BAD_BENCODE');
    failed(parseNgRequest(`k ${'d1:a'.repeat(40)}i1e${'e'.repeat(40)}`), /nesting too deep/, 'E_BAD_BENCODE');
  });
});

describe('ng replies', () => {
  test('bencode reply keys are sorted; optional fields skipped', () => {
    const out = formatNgReply('c', { result: 'ok', warning: undefined, sdp: 'v=0\r\n', 'error-reason': undefined }, 'bencode');
    assert.equal(out.toString(), 'c d6:result2:ok3:sdp5:v=0\r\ne');
  });
  test('error replies carry only the message, flattened to one line', () => {
    assert.deepEqual(ngErrorReply(new RelayError('E_BAD_REQUEST', 'bad\r\nthing')), { result: 'error', 'error-reason': 'bad  thing' });
    assert.deepEqual(ngErrorReply(new Error('secret internals')), { result: 'error', 'error-reason': 'internal error' });
    assert.equal(formatNgReply('c', { result: 'load limit' }, 'bencode').toString(), 'c d6:result10:load limite');
  });
  test('formatting refuses bad cookies and values the format cannot carry', () => {
    const isBad = (e: unknown): boolean => e instanceof RelayError;
    assert.throws(() => formatNgReply('has space', { result: 'ok' }, 'bencode'), isBad);
    assert.throws(() => formatNgReply('', { result: 'ok' }, 'json'), isBad);
    assert.throws(() => formatNgReply('c', { result: 'ok', x: 1.5 }, 'bencode'), isBad);
    assert.throws(() => formatNgReply('c', { result: 'ok', x: Number.NaN }, 'json'), isBad);
  });
});

describe('normalizeNgDict', () => {
  test('rejects non-dictionaries', () => {
    for (const v of [null, 'x', 1, [], new Uint8Array(1)]) {
      assert.throws(() => normalizeNgDict(v), (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST');
    }
  });
});
