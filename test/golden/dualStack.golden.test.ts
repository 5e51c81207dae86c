// Golden SDP for IPv4 ↔ IPv6 bridging (STYLE rule 27): <case>.offer.in.sdp → offer →
// <case>.offer.out.sdp, then the answer, with the relay's ports as {{PORT}}/{{RTCP}} and its
// keys as {{KEY}}. The relay has an IPv4 interface advertised as 192.0.2.10 and an IPv6 one
// advertised as 2001:db8::10; each output must name only the interface of the side it goes
// to, in o= too (no `replace` flags are sent: crossing interfaces rewrites o= by itself).
// Run with UPDATE_GOLDEN=1 to rewrite the .out.sdp files (then review them).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';

const DIR = new URL('./sdp/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const V4 = '192.0.2.10', V6 = '2001:db8::10';

interface Case { name: string; offer: Record<string, unknown>; answer: Record<string, unknown>; toAnswerer: 'IP4' | 'IP6' }
const CASES: Case[] = [
  // IPv4 offerer, session and media c=, a=rtcp with an address, a disabled section with its own c=.
  { name: 'ip4-ip6', offer: { 'address-family': 'IP6', 'received-from': ['IP4', '10.1.2.3'] }, answer: {}, toAnswerer: 'IP6' },
  // IPv6 offerer with media-level c= only and rtcp-mux, bridged by ng direction names.
  { name: 'ip6-ip4', offer: { direction: ['v6', 'v4'], ICE: 'remove' }, answer: { direction: ['v6', 'v4'] }, toAnswerer: 'IP4' },
];

const read = (file: string): string => readFileSync(new URL(file, DIR), 'utf8');

function normalise(sdp: string, rtpPorts: ReadonlySet<number>): string {
  return sdp.split('\r\n').map((l) => l
    .replace(/^(m=\S+ )(\d+)/, (all, head: string, p: string) => (rtpPorts.has(Number(p)) ? `${head}{{PORT}}` : all))
    .replace(/^(a=rtcp:)(\d+)/, (all, head: string, p: string) => (rtpPorts.has(Number(p)) ? `${head}{{PORT}}` : rtpPorts.has(Number(p) - 1) ? `${head}{{RTCP}}` : all))
    .replace(/inline:[A-Za-z0-9+/]+=*/, 'inline:{{KEY}}')).join('\r\n');
}

function compare(file: string, text: string): void {
  if (UPDATE) { writeFileSync(new URL(file, DIR), text); return; }
  assert.equal(text, read(file).replace(/\r?\n/g, '\r\n'));
}

describe('golden SDP: IPv4 ↔ IPv6 bridging', () => {
  let relay: Relay;
  let controller: CallController;
  before(async () => {
    relay = await Relay.create({
      ports: { min: 50600, max: 50699 },
      interfaces: [{ name: 'v4', address: '127.0.0.1', advertised: V4 }, { name: 'v6', address: '::1', advertised: V6 }],
    });
    controller = new CallController({ relay });
  });
  after(() => relay.close());

  for (const c of CASES) {
    it(c.name, async () => {
      const callId = `golden-${c.name}`;
      const o = await controller.offer(normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: read(`${c.name}.offer.in.sdp`), ...c.offer }) as NgOfferRequest);
      assert.deepEqual(o.warnings, []);
      const ports = new Set(Object.values(controller.query(callId).tags).flatMap((t) => t.medias.map((m) => m.localPort)));
      const [own, other] = c.toAnswerer === 'IP6' ? [V6, V4] : [V4, V6];
      assert.ok(o.sdp.includes(own) && !o.sdp.includes(other), 'the offer output names only the answerer side interface');
      compare(`${c.name}.offer.out.sdp`, normalise(o.sdp, ports));

      const a = await controller.answer(normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: read(`${c.name}.answer.in.sdp`), ...c.answer }) as NgAnswerRequest);
      assert.deepEqual(a.warnings, []);
      assert.ok(a.sdp.includes(other) && !a.sdp.includes(own), 'the answer output names only the offerer side interface');
      compare(`${c.name}.answer.out.sdp`, normalise(a.sdp, ports));
      assert.deepEqual(controller.delete({ callId }), { deleted: true });
    });
  }
});
