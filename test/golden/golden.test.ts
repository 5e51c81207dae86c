// Golden SDP: <case>.offer.in.sdp → CallController.offer → <case>.offer.out.sdp, then
// <case>.answer.in.sdp → CallController.answer → <case>.answer.out.sdp (STYLE rule 27).
//
// The output is normalised before comparing: every RTP port the relay allocated for the call
// becomes {{PORT}} and every RTCP port {{RTCP}} (after checking it belongs to the right leg), and every key after `inline:`
// becomes {{KEY}} with its base64 padding kept visible (after checking its length fits the
// suite and that it is fresh: no input key, no repeat). Everything else must match byte for
// byte, CRLF included. Run with UPDATE_GOLDEN=1 to rewrite the .out.sdp files (then review them).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { suiteByName } from '../../src/crypto/suites.ts';

const DIR = new URL('./sdp/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const RELAY_ADDRESS = '203.0.113.1';

interface Case {
  name: string;
  /** Extra ng keys of the offer / answer, as Kamailio would send them. */
  offer: Record<string, unknown>;
  answer: Record<string, unknown>;
  offerWarnings?: RegExp[];
  answerWarnings?: RegExp[];
}

const KAMAILIO = { replace: ['origin', 'session-connection'], ICE: 'remove' };
const CASES: Case[] = [
  { name: 'sdes-sdes', offer: KAMAILIO, answer: { replace: ['origin', 'session-connection'] } },
  { name: 'sdes-rtp', offer: { ...KAMAILIO, 'transport-protocol': 'RTP/AVP' }, answer: { replace: ['origin', 'session-connection'] } },
  { name: 'rtp-sdes', offer: { ...KAMAILIO, 'transport-protocol': 'RTP/SAVP' }, answer: { replace: ['origin', 'session-connection'] } },
  {
    name: 'multi', offer: {}, answer: {},
    offerWarnings: [/^ICE not supported: ICE attributes removed$/, /^media 3 \(UDP\/BFCP\) is not RTP: passed through, not relayed$/],
  },
  { name: 'rtcp-mux', offer: { ICE: 'remove' }, answer: {} },
  // DTLS-SRTP (the relay's fingerprint becomes {{FINGERPRINT}}): a DTLS offerer with its
  // fingerprint at session level bridged to SDES, and SDES bridged to a DTLS answerer without a=setup.
  { name: 'dtls-sdes', offer: { ...KAMAILIO, 'transport-protocol': 'RTP/SAVP' }, answer: { replace: ['origin', 'session-connection'] } },
  { name: 'sdes-dtls', offer: { ...KAMAILIO, 'transport-protocol': 'UDP/TLS/RTP/SAVPF' }, answer: { replace: ['origin', 'session-connection'] } },
];

const read = (file: string): string => readFileSync(new URL(file, DIR), 'utf8');

/** Every input key (base64 after inline:), to prove none reaches the output. */
function inputKeys(...sdps: string[]): Set<string> {
  return new Set(sdps.flatMap((s) => [...s.matchAll(/inline:([A-Za-z0-9+/]+)/g)].map((m) => m[1]!)));
}

interface Normalised { text: string; ports: number[]; keys: string[] }

interface RelayPorts { rtp: ReadonlySet<number>; rtcp: ReadonlySet<number> }

/** Replaces the relay's ports and keys by placeholders, checking each key's length. */
function normalise(sdp: string, relayPorts: RelayPorts, fingerprint: string): Normalised {
  const ports: number[] = [];
  const keys: string[] = [];
  const port = (p: string): string | null => {
    const n = Number(p);
    const name = relayPorts.rtp.has(n) ? '{{PORT}}' : relayPorts.rtcp.has(n) ? '{{RTCP}}' : null;
    if (name !== null) ports.push(n);
    return name;
  };
  const lines = sdp.split('\r\n').map((l) => {
    let m = /^(m=\S+ )(\d+)( .*)$/.exec(l);
    if (m !== null && port(m[2]!) !== null) return `${m[1]}${port(m[2]!)}${m[3]}`;
    m = /^(a=rtcp:)(\d+)(.*)$/.exec(l);
    if (m !== null && port(m[2]!) !== null) return `${m[1]}${port(m[2]!)}${m[3]}`;
    if (l === `a=fingerprint:${fingerprint}`) return 'a=fingerprint:{{FINGERPRINT}}';
    m = /^(a=crypto:\d+ (\S+) inline:)([A-Za-z0-9+/]+)(=*)(.*)$/.exec(l);
    if (m !== null) {
      const suite = suiteByName(m[2]!);
      assert.ok(suite, `unknown suite in output: ${m[2]}`);
      const bytes = Buffer.from(m[3]! + m[4]!, 'base64');
      assert.equal(bytes.length, suite.keyLen + suite.saltLen, `key length for ${suite.name}`);
      keys.push(m[3]!);
      return `${m[1]}{{KEY}}${m[4]}${m[5]}`;
    }
    return l;
  });
  return { text: lines.join('\r\n'), ports, keys };
}

function compare(file: string, actual: Normalised): void {
  if (UPDATE) {
    writeFileSync(new URL(file, DIR), actual.text);
    return;
  }
  assert.equal(actual.text, read(file).replace(/\r?\n/g, '\r\n'));
}

function checkWarnings(actual: readonly string[], expected: readonly RegExp[] = []): void {
  assert.equal(actual.length, expected.length, `warnings: ${JSON.stringify(actual)}`);
  expected.forEach((re, i) => assert.match(actual[i]!, re));
}

describe('golden SDP: offer in → offer out, answer in → answer out', () => {
  let relay: Relay;
  let controller: CallController;
  before(async () => {
    relay = await Relay.create({ ports: { min: 44000, max: 44999 }, mediaAddress: '127.0.0.1', advertisedAddress: RELAY_ADDRESS });
    controller = new CallController({ relay });
  });
  after(() => relay.close());

  for (const c of CASES) {
    it(c.name, async () => {
      const offerIn = read(`${c.name}.offer.in.sdp`);
      const answerIn = read(`${c.name}.answer.in.sdp`);
      const callId = `golden-${c.name}`;
      const offer = normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'alice-tag', sdp: offerIn, ...c.offer }) as NgOfferRequest;
      const o = await controller.offer(offer);
      assert.ok(!/[^\r]\n/.test(o.sdp) && o.sdp.endsWith('\r\n'), 'CRLF line ends');
      checkWarnings(o.warnings, c.offerWarnings);

      // Before the answer the answerer's tag is unknown: its leg shows as ''.
      const before = controller.query(callId);
      const portsOf = (tag: string): Set<number> => new Set(before.tags[tag]!.medias.flatMap((m) => [m.localPort, m.localRtcpPort ?? -1]));
      const answererPorts = portsOf('');
      const offererPorts = portsOf('alice-tag');
      const medias = Object.values(before.tags).flatMap((t) => t.medias);
      const allPorts = { rtp: new Set(medias.map((m) => m.localPort)), rtcp: new Set(medias.map((m) => m.localRtcpPort ?? -1)) };

      const no = normalise(o.sdp, allPorts, relay.dtlsFingerprint);
      for (const p of no.ports) assert.ok(answererPorts.has(p), `offer output port ${p} must be one of the answerer leg's`);
      compare(`${c.name}.offer.out.sdp`, no);

      const answer = normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'alice-tag', 'to-tag': 'bob-tag', sdp: answerIn, ...c.answer }) as NgAnswerRequest;
      const a = await controller.answer(answer);
      assert.ok(!/[^\r]\n/.test(a.sdp) && a.sdp.endsWith('\r\n'), 'CRLF line ends');
      checkWarnings(a.warnings, c.answerWarnings);
      const na = normalise(a.sdp, allPorts, relay.dtlsFingerprint);
      for (const p of na.ports) assert.ok(offererPorts.has(p), `answer output port ${p} must be one of the offerer leg's`);
      compare(`${c.name}.answer.out.sdp`, na);

      // Keys: fresh from the CSPRNG, never copied from either peer, never repeated.
      const theirs = inputKeys(offerIn, answerIn);
      const ours = [...no.keys, ...na.keys];
      assert.equal(new Set(ours).size, ours.length, 'every relay key is distinct');
      for (const k of ours) assert.ok(!theirs.has(k), 'a peer key was copied');
      assert.ok(Object.keys(controller.query(callId).tags).includes('bob-tag'));
      assert.deepEqual(controller.delete({ callId }), { deleted: true });
    });
  }
});
