// A committed call as a CallRecord. Runs synchronously inside the controller's commit (the
// state changes with the next request), reading what the controller and streams hold; keys
// arrive already sealed (inbound, sealed before the controller wiped them) or are sealed here
// once per key object (the relay's own keys, kept for the call's life).
import type { CallState, SideState } from '../control/CallState.ts';
import type { Endpoint } from '../net/types.ts';
import type { Leg } from '../session/Leg.ts';
import type { SdesCrypto } from '../keying/sdes.ts';
import type { SetupValue } from '../control/dtlsSdp.ts';
import { RECORD_VERSION, type CallRecord, type EndpointRecord, type SealedKeyRecord, type SideRecord } from './callRecord.ts';
import { sealKey } from './sealedKeys.ts';
import type { StateSealer } from './StateSealer.ts';

export interface SnapshotKeys {
  /** Inbound keys by side, sealed under this node and call when they were installed. */
  readonly inbound: WeakMap<SideState, SealedKeyRecord>;
  /** The relay's own keys, sealed once per key object. */
  readonly outbound: WeakMap<SdesCrypto, SealedKeyRecord>;
  /** Keys the side's DTLS handshake exported, sealed when it completed (both directions). */
  readonly dtls?: WeakMap<SideState, DtlsSealedKeys>;
}

export interface DtlsSealedKeys {
  readonly inKey: SealedKeyRecord;
  readonly outKey: SealedKeyRecord;
}

const SETUPS: readonly (SetupValue | null)[] = ['active', 'passive', 'actpass', null];

/** Field names a key is sealed under: one per stream (its RTP port) and direction. */
export const inKeyField = (rtpPort: number): string => `in:${rtpPort}`;
export const outKeyField = (rtpPort: number): string => `out:${rtpPort}`;

const ep = (e: Endpoint | null): EndpointRecord | null => (e === null ? null : { address: e.address, port: e.port });

export function snapshotCall(state: CallState, node: string, sealer: StateSealer, keys: SnapshotKeys, now: number,
  interfaceOf: (leg: Leg) => string | null = () => null): CallRecord {
  const legIndex = new Map(state.legs.map((l, i) => [l.leg, i]));
  const sideRecord = (leg: number, s: SideState): SideRecord => {
    const st = s.stream;
    const port = st.rtpPort.port;
    let outKey: SealedKeyRecord | null = null;
    if (s.outKey !== null && st.outMode === 'srtp' && s.dtls == null) {
      outKey = keys.outbound.get(s.outKey) ?? null;
      if (outKey === null) {
        outKey = sealKey(sealer, s.outKey, { node, callId: state.callId, field: outKeyField(port) });
        keys.outbound.set(s.outKey, outKey);
      }
    }
    const dtlsKeys = s.dtls != null ? keys.dtls?.get(s) ?? null : null;
    const dtlsSetup = s.dtls != null && SETUPS.includes(s.dtls.peerSetup as SetupValue | null) ? s.dtls.peerSetup as SetupValue | null : null;
    return {
      leg, rtpPort: port, rtcpPort: st.rtcpPort?.port ?? null, rtcpMux: st.rtcpMux, strictSource: st.strictSource,
      protocol: s.protocol,
      remoteRtp: ep(st.remoteRtp), remoteRtcp: ep(st.remoteRtcp), latchedRtp: ep(st.latchedRtp), latchedRtcp: ep(st.latchedRtcp),
      inMode: st.inMode, outMode: st.outMode,
      inKey: st.inMode !== 'srtp' ? null : s.dtls == null ? keys.inbound.get(s) ?? null : dtlsKeys?.inKey ?? null,
      outKey: dtlsKeys !== null && st.outMode === 'srtp' ? dtlsKeys.outKey : outKey,
      outTag: s.outTag, outPadded: s.outPadded,
      dtls: s.dtls != null,
      ...(st.rateLimit != null ? { rate: { pps: st.rateLimit.pps, bps: st.rateLimit.bps } } : {}),
      ...(s.dtls != null ? { dtlsPeer: { role: s.dtls.role, fingerprints: [...s.dtls.fingerprints], setup: dtlsSetup } } : {}),
    };
  };
  return {
    v: RECORD_VERSION, callId: state.callId, node, at: now, created: state.created,
    legs: state.legs.map((l) => ({ tag: l.leg.tag, sipTag: l.sipTag, interface: interfaceOf(l.leg) })),
    media: state.media.map((pair) => {
      if (pair === null || pair === undefined) return null;
      const sides = [...pair.sides].map(([leg, s]) => sideRecord(legIndex.get(leg) ?? 0, s));
      if (sides.length !== 2) return null;
      return { type: pair.type, sides: [sides[0]!, sides[1]!] as const };
    }),
  };
}
