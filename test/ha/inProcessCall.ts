// What the in-process replication tests (two Relays and CallControllers in one process) share:
// the relay pair itself, a one-line SDES call without rtcp-mux, and polling.
import { randomBytes } from 'node:crypto';
import { normalizeNgDict, type NgAnswerRequest, type NgOfferRequest } from '../../src/control/ngRequest.ts';
import { CallController } from '../../src/control/CallController.ts';
import type { CallStateStore } from '../../src/ha/CallStateStore.ts';
import { Replicator, type ReplicatorOptions } from '../../src/ha/Replicator.ts';
import { StateSealer } from '../../src/ha/StateSealer.ts';
import { Logger } from '../../src/Logger.ts';
import { Relay } from '../../src/session/Relay.ts';

/** An RTP/SAVP audio offer with one AES_CM_128_HMAC_SHA1_80 line (`key` = base64 key‖salt), RTCP on port + 1. */
export function sdesSdp(port: number, key: string, tag = 1): string {
  return `${['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/SAVP 0`, 'a=rtpmap:0 PCMU/8000',
    `a=crypto:${tag} AES_CM_128_HMAC_SHA1_80 inline:${key}`].join('\r\n')}\r\n`;
}

export const offerReq = (callId: string, body: string): NgOfferRequest =>
  normalizeNgDict({ command: 'offer', 'call-id': callId, 'from-tag': 'ft', sdp: body }) as NgOfferRequest;
export const answerReq = (callId: string, body: string): NgAnswerRequest =>
  normalizeNgDict({ command: 'answer', 'call-id': callId, 'from-tag': 'ft', 'to-tag': 'tt', sdp: body }) as NgAnswerRequest;

/** Resolves once `ok` holds; throws after `ms`. */
export async function until(ok: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Relays A and B, each with a CallController and a Replicator following the other, sharing one store. */
export interface RelayPair {
  relayA: Relay; relayB: Relay; ctlA: CallController; ctlB: CallController; repA: Replicator; repB: Replicator;
  close(): Promise<void>;
}

export async function startRelayPair(o: {
  addresses: readonly [string, string];
  ports: { min: number; max: number };
  stores: readonly [CallStateStore, CallStateStore];
  key: Uint8Array;
  /** Extra options for A's replicator (B's keeps the defaults: autoTakeover off). */
  optionsA?: Partial<ReplicatorOptions>;
}): Promise<RelayPair> {
  const log = new Logger({ write: () => {} });
  const relayA = await Relay.create({ mediaAddress: o.addresses[0], ports: o.ports });
  const relayB = await Relay.create({ mediaAddress: o.addresses[1], ports: o.ports });
  const repA = new Replicator({ node: 'A', store: o.stores[0], sealer: new StateSealer(o.key), log, peers: ['B'], ...o.optionsA });
  const repB = new Replicator({ node: 'B', store: o.stores[1], sealer: new StateSealer(o.key), log, peers: ['A'] });
  const ctlA = new CallController({ relay: relayA, replication: repA });
  const ctlB = new CallController({ relay: relayB, replication: repB });
  await repA.start(ctlA);
  await repB.start(ctlB);
  return {
    relayA, relayB, ctlA, ctlB, repA, repB,
    async close() {
      await repA.close();
      await repB.close();
      await relayA.close();
      await relayB.close();
    },
  };
}

/** An SDES call offered and answered on `ctl`; the SDPs the relay returned to each side. */
export async function sdesCall(ctl: CallController, callId: string): Promise<{ toOfferer: string; toAnswerer: string }> {
  const o = await ctl.offer(offerReq(callId, sdesSdp(5000, randomBytes(30).toString('base64'))));
  const tag = Number(/a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80/.exec(o.sdp)![1]);
  const a = await ctl.answer(answerReq(callId, sdesSdp(6000, randomBytes(30).toString('base64'), tag)));
  return { toOfferer: a.sdp, toAnswerer: o.sdp };
}
