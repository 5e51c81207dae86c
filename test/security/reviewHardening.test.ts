// Findings of the security review of issues 7–9 (per-check policy, SDP-derived rates,
// interfaces and topology hiding, index floors), one case each: every one of these failed
// before its fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { SdesRewriter, walkSdes } from '../../src/media/rtcpSdes.ts';
import { nominalRate } from '../../src/control/mediaRate.ts';
import { Bucket, SourceTable, StreamAdmission, RATE_LIMIT_DEFAULTS } from '../../src/session/RateLimiter.ts';
import { validateIndexState, type StreamIndexState } from '../../src/session/indexState.ts';
import { RelayError } from '../../src/errors.ts';
import type { SdpLine } from '../../src/sdp/sdpTypes.ts';
import { Admission } from '../../src/control/Admission.ts';
import { dispatchNg, type CallControl } from '../../src/control/commands.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest, type NgRequest } from '../../src/control/ngRequest.ts';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { HttpApi } from '../../src/control/HttpApi.ts';
import { Metrics } from '../../src/metrics/Metrics.ts';
import { ControlServer } from '../../src/control/ControlServer.ts';
import { NgClient } from '../helpers/ngClient.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { compound, sdesPacket } from '../helpers/rtcpSdes.ts';
import { rtcpRr, rtp } from '../helpers/packets.ts';

/** An SDES packet whose header declares `declared` chunks while it holds all of `chunks`. */
function undercounted(declared: number, ...chunks: Parameters<typeof sdesPacket>[0]): Uint8Array {
  const pkt = sdesPacket(chunks);
  pkt[0] = (pkt[0]! & 0xe0) | declared;
  return pkt;
}
const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('review: RTCP SDES topology hiding fails closed', () => {
  it('bytes after the declared chunks of an SDES packet (a CNAME the count leaves out) are not forwarded', () => {
    const pkt = compound(rtcpRr(1), undercounted(1,
      { ssrc: 1, items: [{ type: 1, text: 'a@x' }] },
      { ssrc: 2, items: [{ type: 1, text: 'user@10.1.2.3' }] }));
    assert.equal(walkSdes(pkt, pkt.length, null), -1, 'non-zero octets past the last declared chunk: malformed');
    const copy = Uint8Array.from(pkt);
    assert.equal(new SdesRewriter(new Uint8Array(32).fill(1)).rewrite(copy, copy.length), false);
    assert.deepEqual(copy, pkt, 'a refused compound is left untouched (the pipeline drops it)');
  });

  it('an SDES packet declaring no chunk but carrying one is refused', () => {
    const pkt = undercounted(0, { ssrc: 7, items: [{ type: 1, text: 'bob@192.168.1.9' }] });
    assert.equal(walkSdes(pkt, pkt.length, null), -1);
  });

  it('zero octets after the last chunk (over-padding without the P bit) stay accepted: they carry no text', () => {
    const sdes = sdesPacket([{ ssrc: 3, items: [{ type: 1, text: 'c@h' }] }]);
    const longer = new Uint8Array(sdes.length + 4);
    longer.set(sdes);
    longer[3] = longer[3]! + 1;
    const rw = new SdesRewriter(new Uint8Array(32).fill(2));
    assert.equal(rw.rewrite(longer, longer.length), true);
    assert.doesNotMatch(latin1(longer), /c@h/);
  });
});

describe('review: SDP-derived rates', () => {
  const m = (value: string, ...attrs: string[]): SdpLine[] =>
    [{ type: 'm', value } as SdpLine, ...attrs.map((a) => ({ type: 'a', value: a }) as SdpLine)];

  it('a huge format list is a rate, not a RangeError (no spread of SDP-sized arrays into Math.max)', () => {
    const fmts = Array(200_000).fill('0').join(' ');
    const r = nominalRate([], m(`audio 4000 RTP/AVP ${fmts}`));
    assert.ok(r !== null && Number.isFinite(r.pps) && Number.isFinite(r.bps));
  });

  it('an absurd a=ptime (1e300, 10^6 ms) counts as not said: the default 20 ms, never a budget of ~0 packets/s', () => {
    const plain = nominalRate([], m('audio 4000 RTP/AVP 0'))!;
    for (const p of ['1e300', '1000000']) {
      const r = nominalRate([], m('audio 4000 RTP/AVP 0', `ptime:${p}`))!;
      assert.equal(r.pps, plain.pps, p);
      assert.equal(r.bps, plain.bps, p);
    }
    // A plausible long ptime is honoured.
    assert.ok(nominalRate([], m('audio 4000 RTP/AVP 0', 'ptime:60'))!.pps < plain.pps);
  });
});

describe('review: a stream rate that is not a number never unlimits the stream', () => {
  function admission(now: number): StreamAdmission {
    const rate = { pps: 100, bps: 100_000 };
    return new StreamAdmission(new Bucket(rate, 1, now), new Bucket({ pps: 50, bps: 50_000 }, 1, now), new Bucket({ pps: 0, bps: 0 }, 1, now),
      new SourceTable(RATE_LIMIT_DEFAULTS), () => true);
  }

  for (const bad of [NaN, Infinity, -Infinity, -5]) {
    it(`setStreamRate({pps: ${bad}, bps: ${bad}}) keeps the configured rate`, () => {
      const now = 1000;
      const adm = admission(now);
      adm.setStreamRate({ pps: bad, bps: bad });
      assert.deepEqual(adm.streamRate, { pps: 100, bps: 100_000 });
      let passed = 0;
      for (let i = 0; i < 1000; i++) if (adm.take('192.0.2.1', 100, now, 4000)) passed++;
      assert.ok(passed <= 100, `a flood of 1000 at one instant passed ${passed}`);
    });
  }
});

describe('review: index state read back from the store is checked without crashing', () => {
  const ok: StreamIndexState = { srtpIn: [], srtpOut: [], srtcpIn: [], srtcpOut: [] };
  const refused = (s: unknown) => assert.throws(() => validateIndexState(s as StreamIndexState),
    (e: unknown) => e instanceof RelayError && e.code === 'E_BAD_REQUEST', JSON.stringify(s));

  it('null, a number or an array entry in a list, or no state at all: E_BAD_REQUEST, not a TypeError', () => {
    refused({ ...ok, srtpIn: [null] });
    refused({ ...ok, srtcpOut: [7] });
    refused({ ...ok, srtpOut: [[1, 2]] });
    refused(null);
    refused(undefined);
    validateIndexState({ ...ok, srtpIn: [{ ssrc: 1, index: 5 }] });
  });
});

describe('review: the per-SBE session cap holds for offers in flight at once', () => {
  /** A controller whose offers take a while (port binding), as a real one's do. */
  class SlowControl implements CallControl {
    readonly calls = new Set<string>();
    fail = false;
    async offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: string[] }> {
      await new Promise((r) => setTimeout(r, 30));
      if (this.fail) throw new RelayError('E_BAD_SDP', 'refused by the controller');
      this.calls.add(req.callId);
      return { sdp: 'v=0\r\n', warnings: [] };
    }
    async answer(): Promise<{ sdp: string; warnings: string[] }> { throw new RelayError('E_NOT_FOUND', 'no'); }
    delete(): { deleted: boolean } { return { deleted: false }; }
    query(): object { return {}; }
    list(): string[] { return [...this.calls]; }
    statistics(): { currentSessions: number; totals: Record<string, number> } { return { currentSessions: this.calls.size, totals: {} }; }
  }
  const offer = (callId: string, loadAware = false) => normalizeNgDict({
    command: 'offer', 'call-id': callId, 'from-tag': 'f', sdp: 'v=0\r\n', ...(loadAware ? { supports: ['load limit'] } : {}),
  }) as NgRequest;

  it('ng: 10 concurrent new calls from one SBE with a cap of 3 → 3 created, 7 refused; slots of failed offers come back', async () => {
    const control = new SlowControl();
    const gate = new Admission({ hasCall: (id) => control.calls.has(id), maxSessionsPerSbe: 3, sampleMs: 0 });
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
      const replies = await Promise.all(ids.map((id) => dispatchNg(control, offer(id), { admission: gate, source: '10.0.0.1' })));
      assert.equal(replies.filter((r) => r.reply.result === 'ok').length, 3);
      assert.equal(control.calls.size, 3);
      assert.equal(gate.sessionsOf('10.0.0.1'), 3);
      // A failed offer and a load-limited one hold no slot afterwards.
      for (const id of control.calls) gate.released(id);
      control.calls.clear();
      control.fail = true;
      await Promise.all([0, 1, 2].map((i) => dispatchNg(control, offer(`fail-${i}`), { admission: gate, source: '10.0.0.1' })));
      await dispatchNg(control, offer('limited', true), { admission: gate, source: '10.0.0.1', loadLimit: { atLimit: () => true } });
      control.fail = false;
      const again = await Promise.all([0, 1, 2].map((i) => dispatchNg(control, offer(`again-${i}`), { admission: gate, source: '10.0.0.1' })));
      assert.deepEqual(again.map((r) => r.reply.result), ['ok', 'ok', 'ok']);
    } finally {
      gate.close();
    }
  });

  it('a gate that throws lets no call through and does not wedge the ng server', async () => {
    const control = new SlowControl();
    let offers = 0;
    const counting: CallControl = { ...control, offer: async (r) => { offers++; return control.offer(r); },
      answer: control.answer.bind(control), delete: control.delete.bind(control), query: control.query.bind(control),
      list: control.list.bind(control), statistics: control.statistics.bind(control) };
    const broken = { check: (): never => { throw new Error('gate bug'); }, admitted: (): void => undefined, snapshot: () => ({}) };
    const server = await ControlServer.listen({ control: counting, port: 0, admission: broken, commandsPerSecond: 0 });
    const ng = await NgClient.open(server.address, '127.0.0.1');
    try {
      for (let i = 0; i < 3; i++) {
        const r = await ng.request({ command: 'offer', 'call-id': `broken-${i}`, 'from-tag': 'f', sdp: 'v=0\r\n' });
        assert.equal(r.reply.result, 'error');
      }
      assert.equal(offers, 0, 'the controller never saw an offer the gate could not judge');
      assert.equal(server.inFlight, 0);
      assert.equal((await ng.request({ command: 'ping' })).reply.result, 'pong');
    } finally {
      await ng.close();
      await server.close(0);
    }
  });

  it('a slot never settled frees itself after 30 s; asking again for one call holds one slot', () => {
    let now = 0;
    const clock = { now: () => now, cpuMicros: () => 0, loadAverage: () => 0 };
    const gate = new Admission({ hasCall: () => false, maxSessionsPerSbe: 2, sampleMs: 0, clock });
    assert.equal(gate.check('x', 's'), null);
    assert.equal(gate.check('x', 's'), null, 'the same call again');
    assert.equal(gate.check('y', 's'), null, 'x holds one slot, not two');
    assert.equal(gate.check('z', 's')?.reason, 'sbe-sessions');
    now += 30_001;
    assert.equal(gate.check('z', 's'), null, 'x and y never reported back: their slots expired');
    gate.close();
  });

  it('HTTP: the same burst through POST /v1/calls/{id}/offer', async () => {
    const control = new SlowControl();
    const gate = new Admission({ hasCall: (id) => control.calls.has(id), maxSessionsPerSbe: 2, sampleMs: 0 });
    const token = 'review-token-0123456789abcdef';
    const api = await HttpApi.listen({ control, metrics: new Metrics({ version: 't' }), port: 0, token, version: 't', admission: gate });
    try {
      const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
      const statuses = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
        const r = await fetch(`http://127.0.0.1:${api.address.port}/v1/calls/h-${i}/offer`, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ fromTag: 'f', sdp }), signal: AbortSignal.timeout(5000),
        });
        await r.body?.cancel();
        return r.status;
      }));
      assert.equal(statuses.filter((s) => s === 200).length, 2, JSON.stringify(statuses));
      assert.equal(control.calls.size, 2);
    } finally {
      await api.close(0);
      gate.close();
    }
  });
});

describe('review: topology hiding covers sections the relay does not carry', () => {
  it('a call crossing interfaces disables non-RTP sections (T.38, BFCP) instead of passing the inside addresses out', async () => {
    const relay = await Relay.create({ ports: { min: 51500, max: 51549 }, interfaces: [{ name: 'inside', address: '127.0.0.1' }, { name: 'outside', address: '::1' }] });
    try {
      const cc = new CallController({ relay });
      const sdp = 'v=0\r\no=- 1 1 IN IP4 10.20.30.40\r\ns=-\r\nc=IN IP4 10.20.30.40\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n'
        + 'm=image 4002 udptl t38\r\nc=IN IP4 10.20.30.41\r\nm=application 5000 UDP/BFCP *\r\n';
      const crossing = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': 'topo-x', 'from-tag': 'a', sdp, direction: ['inside', 'outside'] }) as NgOfferRequest);
      assert.doesNotMatch(crossing.sdp, /10\.20\.30/, crossing.sdp);
      assert.match(crossing.sdp, /^m=image 0 udptl t38\r$/m);
      assert.match(crossing.sdp, /^m=application 0 UDP\/BFCP \*\r$/m);
      assert.ok(crossing.warnings.some((w) => /media 2 .*disabled/.test(w)), crossing.warnings.join('; '));
      // The answer to a disabled section is disabled too, and the call goes on.
      const answer = 'v=0\r\no=- 2 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\nm=image 0 udptl t38\r\nm=application 0 UDP/BFCP *\r\n';
      const a = await cc.answer(normalizeNgDict({ command: 'answer', 'call-id': 'topo-x', 'from-tag': 'a', 'to-tag': 'b', sdp: answer }) as NgAnswerRequest);
      assert.match(a.sdp, /^m=image 0 /m);
      // On one interface nothing is hidden: the section still passes through as before.
      const same = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': 'topo-1', 'from-tag': 'a', sdp }) as NgOfferRequest);
      assert.match(same.sdp, /^m=image 4002 udptl t38\r$/m);
    } finally {
      await relay.close();
    }
  });
});

describe('review: per-source rate limiting of IPv6 costs what IPv4 does', () => {
  async function gcsDuring(fn: () => void): Promise<number> {
    let n = 0;
    const obs = new PerformanceObserver((l) => { n += l.getEntries().length; });
    obs.observe({ entryTypes: ['gc'] });
    await new Promise((r) => setTimeout(r, 20));
    const before = n;
    fn();
    // gc entries are delivered after the loop, on a later turn.
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    return n - before;
  }

  it('300k packets from one IPv6 source run without garbage collections (the /64 key is not rebuilt per packet)', async () => {
    const t = new SourceTable({ ...RATE_LIMIT_DEFAULTS, source: { pps: 0, bps: 0 } });
    const run = (addr: string) => () => { for (let i = 0; i < 300_000; i++) t.admit(addr, 100, i, true); };
    run('2001:db8:1:2:3:4:5:6')();
    const v6 = await gcsDuring(run('2001:db8:1:2:3:4:5:6'));
    assert.ok(v6 <= 3, `${v6} garbage collections for 300k IPv6 packets`);
    // Same keys as before: per /64, and per configured prefix.
    assert.equal(t.keyOf('2001:db8:1:2:3:4:5:6'), t.keyOf('2001:db8:1:2:ffff::1'));
    assert.notEqual(t.keyOf('2001:db8:1:2::1'), t.keyOf('2001:db8:1:3::1'));
    assert.equal(new SourceTable({ ...RATE_LIMIT_DEFAULTS, ipv6PrefixBits: 128 }).keyOf('2001:db8::1'), '2001:db8:0:0:0:0:0:1/128');
  });

  it('the key cache stays bounded under a flood of rotating addresses', () => {
    const t = new SourceTable({ ...RATE_LIMIT_DEFAULTS, maxSources: 64 });
    for (let i = 0; i < 10_000; i++) t.admit(`2001:db8:${(i >> 8).toString(16)}:1::${(i & 0xff).toString(16)}`, 100, i, false);
    assert.ok(t.size <= 64);
    assert.equal(t.keyOf('2001:db8:5:1::7'), t.keyOf('2001:db8:5:1::8'));
  });
});

describe('review: IPv6 addresses from SDP are compared in canonical form', () => {
  it('a peer whose SDP spells ::1 as 0:0:0:0:0:0:0:1 is still the expected source: forged packets from its address do not get it banned', async () => {
    const relay = await Relay.create({ ports: { min: 51700, max: 51749 }, interfaces: [{ name: 'v6', address: '::1' }], rateLimits: { authFailThreshold: 3 } });
    const a = await UdpPeer.open('::1'), b = await UdpPeer.open('::1'), forger = await UdpPeer.open('::1');
    try {
      const cc = new CallController({ relay });
      const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);
      const line = (tag: number, k: Uint8Array, s: Uint8Array) => `a=crypto:${tag} AES_CM_128_HMAC_SHA1_80 inline:${Buffer.concat([k, s]).toString('base64')}`;
      const sdp6 = (addr: string, port: number, crypto: string) =>
        `v=0\r\no=- 1 1 IN IP6 ${addr}\r\ns=-\r\nc=IN IP6 ${addr}\r\nt=0 0\r\nm=audio ${port} RTP/SAVP 0\r\n${crypto}\r\n`;
      const offer = await cc.offer(normalizeNgDict({ command: 'offer', 'call-id': 'canon', 'from-tag': 'a', sdp: sdp6('0:0:0:0:0:0:0:1', a.port, line(1, aKey, aSalt)) }) as NgOfferRequest);
      const tag = Number(/a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80/.exec(offer.sdp)![1]);
      const answer = await cc.answer(normalizeNgDict({ command: 'answer', 'call-id': 'canon', 'from-tag': 'a', 'to-tag': 'b',
        sdp: sdp6('::1', b.port, line(tag, bKey, bSalt)) }) as NgAnswerRequest);
      const relayPortForA = Number(/^m=audio (\d+)/m.exec(answer.sdp)![1]);
      assert.equal(cc.query('canon').tags.a!.medias[0]!.remote, `[::1]:${a.port}`, 'the signalled address in canonical form');
      // Someone else on the peer's address sends forged SRTP before the peer's first packet.
      for (let i = 0; i < 6; i++) await forger.send(rtp({ seq: i, ssrc: 0x1234 }), relayPortForA, '::1');
      await new Promise((r) => setTimeout(r, 100));
      const tx = createSrtpSessionSync({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: aKey, masterSalt: aSalt });
      try {
        await a.send(tx.protectRtp(rtp({ seq: 100, ssrc: 0xa11ce })), relayPortForA, '::1');
      } finally {
        tx.close();
      }
      assert.equal((await b.waitFor(1, 2000)).length, 1, 'the genuine peer was banned by packets it never sent');
    } finally {
      a.close(); b.close(); forger.close();
      await relay.close();
    }
  });
});
