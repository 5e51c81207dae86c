// What the dual-stack e2e tests share: an SDES offer/answer body for either address family,
// the relay's crypto line read back, and a burst of SRTP through the relay checked bit for
// bit at the far end's libsrtp2 receiver.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LibsrtpPeer } from '../interop/libsrtp.ts';
import { SUITE } from '../ha/callHelpers.ts';
import { rtp } from './packets.ts';

// The suite, the relay's a=crypto line and the m= port: as the replication tests read them.
export { SUITE, mPort, relayCrypto } from '../ha/callHelpers.ts';

/** Key and salt as an a=crypto inline value. */
export const b64 = (k: Uint8Array, s: Uint8Array): string => Buffer.concat([k, s]).toString('base64');

/** An SDES audio body naming `address` in o=, c= and a=rtcp; `sessionId` is o='s session id, which the relay keeps. */
export function sdesSdp(family: 'IP4' | 'IP6', address: string, port: number, crypto: string, tag = 1, sessionId = 7): string {
  return `${['v=0', `o=- ${sessionId} 1 IN ${family} ${address}`, 's=-', `c=IN ${family} ${address}`, 't=0 0',
    `m=audio ${port} RTP/SAVP 0`, 'a=rtpmap:0 PCMU/8000', `a=rtcp:${port} IN ${family} ${address}`, 'a=rtcp-mux',
    `a=crypto:${tag} ${SUITE} inline:${crypto}`].join('\r\n')}\r\n`;
}

/** A UDP far end: a loopback socket or one inside a network namespace. */
export interface FarEnd {
  readonly received: readonly { address: string; port: number }[];
  send(data: Uint8Array, port: number, address: string): void | Promise<void>;
  waitFor(count: number): Promise<Buffer[]>;
}

/** One side of a call: its far end, a libsrtp2 session there, and the relay's address and port on that side. */
export interface Side { peer: FarEnd; session: string; relay: { address: string; port: number } }

/**
 * `count` RTP packets (SSRC `ssrc`, `payload` random bytes each) from `from`'s far end,
 * protected in its session, to the relay on that side; all reach `to`'s far end, open in its
 * session bit-exact, and come from the relay's address and port on `to`'s side.
 */
export async function srtpBurst(lib: LibsrtpPeer, from: Side, to: Side, o: { ssrc: number; count: number; payload: number }): Promise<void> {
  const sent: Uint8Array[] = [];
  for (let seq = 0; seq < o.count; seq++) {
    const p = rtp({ seq, ssrc: o.ssrc, payload: randomBytes(o.payload) });
    sent.push(p);
    await from.peer.send(await lib.protectRtp(from.session, p), from.relay.port, from.relay.address);
  }
  const got = await to.peer.waitFor(o.count);
  assert.equal(got.length, o.count);
  for (let i = 0; i < o.count; i++) assert.deepEqual(await lib.unprotectRtp(to.session, got[i]!), sent[i]);
  assert.ok(to.peer.received.every((r) => r.address === to.relay.address && r.port === to.relay.port),
    `${to.session}'s far end hears only the relay's ${to.relay.address}:${to.relay.port}`);
}
