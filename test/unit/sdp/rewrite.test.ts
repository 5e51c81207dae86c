// The pure rewriter: only the lines a plan is about change; everything else is copied byte for
// byte and in place; keys and ICE never leak through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rewriteSdp, hasIceAttributes } from '../../../src/sdp/rewrite.ts';
import { splitSdp } from '../../../src/sdp/parse.ts';
import type { MediaRewrite, RewritePlan, SdpAddress } from '../../../src/sdp/sdpTypes.ts';
import { RelayError } from '../../../src/errors.ts';

const RELAY: SdpAddress = { addrType: 'IP4', address: '203.0.113.1' };
const KEY_A = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';
const crlf = (...lines: string[]): string => `${lines.join('\r\n')}\r\n`;

function relay(over: Partial<Extract<MediaRewrite, { kind: 'relay' }>> = {}): MediaRewrite {
  return { kind: 'relay', port: 30000, protocol: 'RTP/SAVP', connection: RELAY, rtcpPort: 30001, addRtcp: false, rtcpMux: false, crypto: ['1 AES_CM_128_HMAC_SHA1_80 inline:RELAYKEY'], ...over };
}
function plan(media: MediaRewrite[], over: Partial<RewritePlan> = {}): RewritePlan {
  return { origin: null, sessionConnection: null, removeIce: false, media, ...over };
}

describe('rewriteSdp', () => {
  it('keeps unknown and untouched lines byte for byte and in order; writes CRLF', () => {
    const input = [
      'v=0', 'o=alice 1 2 IN IP4 192.0.2.1', 's=Talk  with  spaces ', 'c=IN IP4 192.0.2.1', 'b=AS:256', 't=0 0',
      'a=x-session-unknown:α β', 'm=audio 4000 RTP/SAVP 0 8 101', 'i=audio info', 'b=TIAS:64000',
      'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`,
      'a=x-vendor:  odd   spacing\t', 'a=ptime:20', 'a=sendonly', 'a=3gpp-qos-hint:loss=0.5',
    ].join('\n');
    const out = rewriteSdp(input, plan([relay()]));
    assert.equal(out, crlf(
      'v=0', 'o=alice 1 2 IN IP4 192.0.2.1', 's=Talk  with  spaces ', 'c=IN IP4 192.0.2.1', 'b=AS:256', 't=0 0',
      'a=x-session-unknown:α β', 'm=audio 30000 RTP/SAVP 0 8 101', 'i=audio info', 'c=IN IP4 203.0.113.1', 'b=TIAS:64000',
      'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:RELAYKEY',
      'a=x-vendor:  odd   spacing\t', 'a=ptime:20', 'a=sendonly', 'a=3gpp-qos-hint:loss=0.5',
    ));
  });

  it('replaces o= and session c= when asked, and then needs no media c=', () => {
    const input = crlf('v=0', 'o=- 7 8 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0');
    const out = rewriteSdp(input, plan([relay({ protocol: 'RTP/AVP', crypto: [] })], { origin: RELAY, sessionConnection: RELAY }));
    assert.equal(out, crlf('v=0', 'o=- 7 8 IN IP4 203.0.113.1', 's=-', 'c=IN IP4 203.0.113.1', 't=0 0', 'm=audio 30000 RTP/AVP 0'));
  });

  it('replaces an existing media c= in place, IPv6 included', () => {
    const input = crlf('v=0', 'o=- 7 8 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'c=IN IP4 192.0.2.7', 'a=sendrecv');
    const v6: SdpAddress = { addrType: 'IP6', address: '2001:db8::5' };
    const out = rewriteSdp(input, plan([relay({ connection: v6, crypto: [] })]));
    assert.match(out, /m=audio 30000 RTP\/SAVP 0\r\nc=IN IP6 2001:db8::5\r\na=sendrecv\r\n$/);
  });

  it('rewrites a=rtcp with and without its address, and adds one only when asked', () => {
    const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0'];
    assert.match(rewriteSdp(crlf(...base, 'a=rtcp:4001 IN IP4 192.0.2.1'), plan([relay({ crypto: [] })], { sessionConnection: RELAY })),
      /a=rtcp:30001 IN IP4 203\.0\.113\.1\r\n$/);
    assert.match(rewriteSdp(crlf(...base, 'a=rtcp:4001'), plan([relay({ crypto: [] })], { sessionConnection: RELAY })), /a=rtcp:30001\r\n$/);
    assert.doesNotMatch(rewriteSdp(crlf(...base), plan([relay({ crypto: [] })], { sessionConnection: RELAY })), /a=rtcp/);
    assert.match(rewriteSdp(crlf(...base), plan([relay({ crypto: [], addRtcp: true, rtcpPort: 30000 })], { sessionConnection: RELAY })), /a=rtcp:30000\r\n$/);
  });

  it('adds or removes a=rtcp-mux, leaving a=rtcp-mux-only alone', () => {
    const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0'];
    const on = rewriteSdp(crlf(...base, 'a=rtcp:4000', 'a=sendrecv'), plan([relay({ crypto: [], rtcpMux: true, rtcpPort: 30000 })]));
    assert.match(on, /a=rtcp:30000\r\na=rtcp-mux\r\na=sendrecv\r\n$/);
    const appended = rewriteSdp(crlf(...base, 'a=sendrecv'), plan([relay({ crypto: [], rtcpMux: true })]));
    assert.match(appended, /a=sendrecv\r\na=rtcp-mux\r\n$/);
    const kept = rewriteSdp(crlf(...base, 'a=rtcp-mux', 'a=rtcp:4000'), plan([relay({ crypto: [], rtcpMux: true })]));
    assert.equal(kept.match(/a=rtcp-mux\r\n/g)?.length, 1);
    const off = rewriteSdp(crlf(...base, 'a=rtcp-mux', 'a=rtcp-mux-only', 'a=rtcp:4000'), plan([relay({ crypto: [] })]));
    assert.doesNotMatch(off, /a=rtcp-mux\r\n/);
    assert.match(off, /a=rtcp-mux-only\r\n/);
  });

  it('puts the relay crypto lines where the peer ones were, or at the end; drops k= and a=key-mgmt', () => {
    const base = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'k=clear:sessionkey', 'a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:SESSIONLEVEL',
      'a=key-mgmt:mikey AQAFgM0', 'c=IN IP4 192.0.2.1', 't=0 0'];
    const input = crlf(...base, 'm=audio 4000 RTP/SAVP 0', 'k=prompt', 'a=ptime:20', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`,
      'a=key-mgmt:mikey AQAFgM0', `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY_A}`, 'a=sendrecv', 'm=audio 4002 RTP/SAVP 0');
    const out = rewriteSdp(input, plan([relay({ crypto: ['1 X inline:ONE', '2 Y inline:TWO'] }), relay({ port: 30002, crypto: ['5 Z inline:FIVE'] })],
      { sessionConnection: RELAY }));
    assert.ok(!out.includes(KEY_A) && !out.includes('SESSIONLEVEL') && !out.includes('key-mgmt') && !/^k=/m.test(out), out);
    assert.match(out, /m=audio 30000 RTP\/SAVP 0\r\na=ptime:20\r\na=crypto:1 X inline:ONE\r\na=crypto:2 Y inline:TWO\r\na=sendrecv\r\n/);
    assert.match(out, /m=audio 30002 RTP\/SAVP 0\r\na=crypto:5 Z inline:FIVE\r\n$/);
  });

  it('disabled sections: port 0, no keys, the media c= optionally hidden', () => {
    const input = crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=video 0 RTP/SAVP 96', 'c=IN IP4 192.0.2.8',
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY_A}`, 'a=rtpmap:96 H264/90000');
    assert.equal(rewriteSdp(input, plan([{ kind: 'disabled', connection: null }])),
      crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 't=0 0', 'm=video 0 RTP/SAVP 96', 'c=IN IP4 192.0.2.8', 'a=rtpmap:96 H264/90000'));
    const answer = input.replace('m=video 0', 'm=video 5000');
    assert.match(rewriteSdp(answer, plan([{ kind: 'disabled', connection: RELAY }])), /m=video 0 RTP\/SAVP 96\r\nc=IN IP4 203\.0\.113\.1\r\n/);
  });

  it('passthrough sections keep pointing at the peer when the session c= is replaced', () => {
    const input = crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0',
      'm=audio 4000 RTP/AVP 0', 'm=application 5000 UDP/BFCP *', 'i=floor control', 'a=floorctrl:c-s',
      'm=image 6000 udptl t38', 'c=IN IP4 192.0.2.99');
    const out = rewriteSdp(input, plan([relay({ crypto: [] }), { kind: 'passthrough' }, { kind: 'passthrough' }], { sessionConnection: RELAY }));
    assert.match(out, /m=application 5000 UDP\/BFCP \*\r\ni=floor control\r\nc=IN IP4 192\.0\.2\.1\r\na=floorctrl:c-s\r\n/);
    assert.match(out, /m=image 6000 udptl t38\r\nc=IN IP4 192\.0\.2\.99\r\n$/);
    // Without a session c= replacement the passthrough section is not touched at all.
    const same = rewriteSdp(input, plan([relay({ crypto: [] }), { kind: 'passthrough' }, { kind: 'passthrough' }]));
    assert.match(same, /m=application 5000 UDP\/BFCP \*\r\ni=floor control\r\na=floorctrl:c-s\r\n/);
  });

  it('removes ICE attributes everywhere when asked', () => {
    const input = crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'a=ice-lite', 'a=ice-options:trickle',
      'm=audio 4000 RTP/AVP 0', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdef012345', 'a=candidate:1 1 UDP 2130706431 192.0.2.1 4000 typ host',
      'a=remote-candidates:1 192.0.2.2 5000', 'a=end-of-candidates', 'a=ice-pacing:50', 'a=icecream:yes',
      'm=application 5000 UDP/DTLS/SCTP webrtc-datachannel', 'a=candidate:1 1 UDP 1 192.0.2.1 5000 typ host');
    assert.ok(hasIceAttributes(splitSdp(input)));
    const out = rewriteSdp(input, plan([relay({ crypto: [] }), { kind: 'passthrough' }], { removeIce: true }));
    assert.ok(!hasIceAttributes(splitSdp(out)), out);
    assert.match(out, /a=icecream:yes/); // only exact ICE attribute names
    assert.equal(rewriteSdp(input, plan([{ kind: 'passthrough' }, { kind: 'passthrough' }])), input);
  });

  it('refuses a plan that does not match the SDP (caller bug)', () => {
    assert.throws(() => rewriteSdp(crlf('v=0', 'o=- 1 1 IN IP4 1.1.1.1', 's=-', 'm=audio 1 RTP/AVP 0'), plan([])),
      (e: unknown) => e instanceof RelayError && e.code === 'E_INTERNAL');
  });

  it('property: any unknown attribute lines survive a relay rewrite unchanged and in order', () => {
    const attr = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}(:[\x20-\x7e]{0,30})?$/)
      .filter((v) => !['crypto', 'key-mgmt', 'rtcp', 'rtcp-mux'].includes(v.split(':')[0]!) && !v.startsWith('ice-') && !v.startsWith('candidate')
        && !['remote-candidates', 'end-of-candidates'].includes(v.split(':')[0]!));
    fc.assert(fc.property(fc.array(attr, { maxLength: 12 }), fc.boolean(), (attrs, removeIce) => {
      const input = crlf('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/SAVP 0', ...attrs.map((a) => `a=${a}`));
      const out = rewriteSdp(input, plan([relay({ crypto: [] })], { removeIce, sessionConnection: RELAY }));
      const kept = out.split('\r\n').filter((l) => l.startsWith('a=')).map((l) => l.slice(2));
      assert.deepEqual(kept, attrs);
    }), { numRuns: 500 });
  });
});
