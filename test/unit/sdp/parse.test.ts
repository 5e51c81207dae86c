// SDP parsing: the line/section structure, the typed values the relay reads, and E_BAD_SDP
// (with a line number, without SDP text) for everything malformed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSdp, splitSdp, isZeroAddress, classify, MAX_MEDIA } from '../../../src/sdp/parse.ts';
import { RelayError } from '../../../src/errors.ts';

const KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';
const sdp = (...lines: string[]): string => `${lines.join('\r\n')}\r\n`;
const HEAD = ['v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0'];

function badSdp(text: string, pattern: RegExp, line?: number): void {
  assert.throws(() => parseSdp(text), (e: unknown) => {
    assert.ok(e instanceof RelayError, String(e));
    assert.equal(e.code, 'E_BAD_SDP');
    assert.match(e.message, pattern);
    if (line !== undefined) assert.match(e.message, new RegExp(`\\[line:${line}\\]`));
    assert.ok(!e.message.includes(KEY.slice(0, 10)), 'message must not quote SDP text');
    return true;
  });
}

describe('parseSdp', () => {
  it('reads origin, connections, ports, protocols, a=rtcp, rtcp-mux and the raw crypto lines', () => {
    const p = parseSdp(sdp(...HEAD,
      'm=audio 4000 RTP/SAVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, 'a=rtcp:4001 IN IP4 192.0.2.9', 'a=rtcp-mux',
      'm=video 4002 RTP/AVPF 96', 'c=IN IP6 2001:db8::1', 'a=rtcp-mux-only',
      'm=application 5000/2 UDP/BFCP *'));
    assert.deepEqual(p.origin, { username: '-', sessionId: '1', sessionVersion: '2', address: { addrType: 'IP4', address: '192.0.2.1' } });
    assert.deepEqual(p.connection, { addrType: 'IP4', address: '192.0.2.1' });
    const [a, v, app] = p.media;
    assert.equal(a!.port, 4000);
    assert.equal(a!.cls, 'rtp');
    assert.deepEqual(a!.rtcp, { port: 4001, address: { addrType: 'IP4', address: '192.0.2.9' } });
    assert.equal(a!.rtcpMux, true);
    assert.deepEqual(a!.crypto, [{ value: `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, lineNo: 7 }]);
    assert.deepEqual(v!.connection, { addrType: 'IP6', address: '2001:db8::1' });
    // sdp-transform reads a=rtcp-mux-only as rtcp-mux; the exact name must not.
    assert.equal(v!.rtcpMux, false);
    assert.equal(app!.cls, 'other');
    assert.equal(app!.port, -1); // a port count: not read, because not relayed
  });

  it('accepts LF and CR line ends and trailing empty lines', () => {
    const p = parseSdp(`${HEAD.join('\n')}\nm=audio 4000 RTP/AVP 0\n\n\n`);
    assert.equal(p.media.length, 1);
    assert.equal(splitSdp(HEAD.join('\r')).session.length, 5);
  });

  it('rejects what it cannot read, naming the line', () => {
    badSdp('o=- 1 2 IN IP4 1.2.3.4\r\n', /v=0/, 1);
    badSdp(sdp(...HEAD, 'garbage'), /malformed SDP line/, 6);
    badSdp(sdp(...HEAD, '', 'm=audio 1 RTP/AVP 0'), /malformed SDP line/, 6);
    badSdp(sdp(...HEAD, 'a=x\x00y'), /control character/, 6);
    badSdp(sdp('v=0', 's=-'), /missing o=/);
    badSdp(sdp('v=0', 'o=- 1 IN IP4 1.2.3.4', 'm=audio 1 RTP/AVP 0', 'c=IN IP4 1.2.3.4'), /malformed o=/, 2);
    badSdp(sdp(...HEAD, 'm=audio 4000/2 RTP/AVP 0'), /plain port/, 6);
    badSdp(sdp(...HEAD, 'm=audio 70000 RTP/AVP 0'), /plain port/, 6);
    badSdp(sdp(...HEAD, 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 224.2.1.1/127'), /unicast/, 7);
    badSdp(sdp(...HEAD, 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 1.2.3.4', 'c=IN IP4 1.2.3.5'), /more than one c=/, 8);
    badSdp(sdp(...HEAD, 'm=audio 4000 RTP/AVP 0', 'c=IN IP6 1.2.3.4'), /unicast/, 7);
    badSdp(sdp(...HEAD, 'm=audio 4000 RTP/AVP 0', 'a=rtcp:x'), /a=rtcp/, 7);
    badSdp(sdp(...HEAD, 'm=audio 4000 RTP/AVP 0', 'a=rtcp:4001', 'a=rtcp:4003'), /more than one a=rtcp/, 8);
    badSdp(sdp('v=0', 'o=- 1 2 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0'), /connection address/, 5);
    badSdp(sdp(...HEAD, ...Array.from({ length: MAX_MEDIA + 1 }, () => 'm=audio 0 RTP/AVP 0')), /too many m=/);
  });

  it('a rejected (port 0) RTP stream needs no connection address', () => {
    const p = parseSdp(sdp('v=0', 'o=- 1 2 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 0 RTP/AVP 0'));
    assert.equal(p.media[0]!.port, 0);
  });

  it('classifies transports and hold addresses', () => {
    assert.equal(classify('RTP/SAVPF'), 'rtp');
    assert.equal(classify('UDP/TLS/RTP/SAVPF'), 'dtls');
    assert.equal(classify('udptl'), 'other');
    assert.equal(classify('rtp/avp'), 'other'); // SDP tokens are case-sensitive as registered
    for (const z of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) assert.ok(isZeroAddress(z), z);
    for (const nz of ['0.0.0.1', '::1', '10.0.0.0']) assert.ok(!isZeroAddress(nz), nz);
  });

  it('never throws anything but RelayError on arbitrary input (fuzz property)', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('v=0', 'o=- 1 2 IN IP4 1.2.3.4', 'c=IN IP4 1.2.3.4', 'c=IN IP6 ::1', 'm=audio 4000 RTP/AVP 0',
        'm=video 0 RTP/SAVP 96', 'm=x 1/2 y', 'a=rtcp:9', 'a=rtcp:9 IN IP4 1.1.1.1', 'a=rtcp-mux', 'a=crypto:1 X inline:AAAA'),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
      try {
        parseSdp(lines.join(eol));
      } catch (e) {
        if (!(e instanceof RelayError)) throw e;
      }
    }), { numRuns: 2000 });
  });
});
