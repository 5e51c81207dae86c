// A call set up directly on a Relay (no signalling): streams A and B linked, each pointed at its
// own loopback UdpPeer, A keyed for SRTP and B for SRTP or plain RTP, with the legitimate
// sender's session on A's side (aTx) and the receiver's on B's side (bRx). Used by the threat
// tests and the relay fuzzer, which attack such a call.
import { randomBytes } from 'node:crypto';
import type { Relay } from '../../src/session/Relay.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle } from '../../src/session/MediaStreamHandle.ts';
import { createSrtpSessionSync, type SrtpSession } from '../../src/SrtpSession.ts';
import type { SuiteName } from '../../src/crypto/suites.ts';
import { UdpPeer } from './udp.ts';

export const CALL_SUITE: SuiteName = 'AES_CM_128_HMAC_SHA1_80';
/** Fresh AES-128 master key and salt. */
export const freshKeys = () => ({ masterKey: randomBytes(16), masterSalt: randomBytes(14) });
const copy = (k: { masterKey: Uint8Array; masterSalt: Uint8Array }) => ({ masterKey: k.masterKey.slice(), masterSalt: k.masterSalt.slice() });

export interface RelayCall {
  a: MediaStreamHandle; b: MediaStreamHandle; peerA: UdpPeer; peerB: UdpPeer;
  /** What the legitimate A sends with, and what B receives with (when B's leg is SRTP). */
  aTx: SrtpSession; bRx: SrtpSession;
  close(): Promise<void>;
}

export async function openRelayCall(relay: Relay, callId: string, o: { bSrtp?: boolean } = {}): Promise<RelayCall> {
  const bSrtp = o.bSrtp ?? true;
  const s = relay.createSession(callId);
  const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
  const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
  linkStreams(a, b);
  const peerA = await UdpPeer.open(), peerB = await UdpPeer.open();
  a.setRemote({ address: '127.0.0.1', port: peerA.port });
  b.setRemote({ address: '127.0.0.1', port: peerB.port });
  const ka = freshKeys(), kb = freshKeys();
  a.setInboundCrypto({ suite: CALL_SUITE, ...copy(ka) });
  a.setOutboundCrypto({ suite: CALL_SUITE, ...freshKeys() });
  b.setInboundCrypto(bSrtp ? { suite: CALL_SUITE, ...freshKeys() } : null);
  b.setOutboundCrypto(bSrtp ? { suite: CALL_SUITE, ...copy(kb) } : null);
  const aTx = createSrtpSessionSync({ suite: CALL_SUITE, ...ka });
  const bRx = createSrtpSessionSync({ suite: CALL_SUITE, ...kb });
  return { a, b, peerA, peerB, aTx, bRx, close: async () => { s.close(); aTx.close(); bRx.close(); await peerA.close(); await peerB.close(); } };
}
