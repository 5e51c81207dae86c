// Rebuilds one foreign call on this relay (takeover): the same ports, the keys opened from
// their sealed form, the persisted high-water marks applied as index floors before any
// remote is set, then the remotes (latched addresses first), and the call registered with
// the controller so ng query / delete / re-INVITE work on it.
//
// A DTLS-SRTP side comes back as plain SRTP contexts on the keys its association exported (the
// association itself cannot move), marked `restored`: its next offer or answer starts a fresh
// handshake, while these keys carry media until that one completes.
//
// Everything that can fail on the record's content (decoding, opening keys) runs before the
// first port is bound; a failure after that closes the half-built session (the controller
// does), so nothing half taken over keeps ports.
import type { CallState, SideState } from '../control/CallState.ts';
import type { SdesCrypto } from '../keying/sdes.ts';
import { wipe } from '../keying/sdes.ts';
import type { LegInfo } from '../control/CallState.ts';
import { linkStreams } from '../session/MediaStream.ts';
import type { MediaStreamHandle } from '../session/MediaStreamHandle.ts';
import { EMPTY_INDEX_STATE, type StreamIndexOps, type StreamIndexState } from '../session/indexState.ts';
import type { CallRecord, IndexRecord, SideRecord } from './callRecord.ts';
import { HaError } from './HaError.ts';
import { openKey, streamCryptoOf } from './sealedKeys.ts';
import { inKeyField, outKeyField } from './snapshot.ts';
import type { StateSealer } from './StateSealer.ts';
import type { DtlsExportedKeys } from '../session/StreamDtls.ts';

/** What restore needs of the controller (CallController.adopt). */
export interface CallAdopter {
  /**
   * Creates the call's session and state, runs `build` on it, and registers the call. `build`
   * returns the inbound key of each SDES side (the controller keeps their digests, so a
   * re-INVITE with the same key leaves the context alone) — the controller wipes them.
   */
  adopt(callId: string, interfaces: readonly string[], build: (state: CallState) => Promise<ReadonlyMap<SideState, SdesCrypto>>): Promise<CallState>;
}

export interface RestoreResult {
  readonly state: CallState;
  /** The floor applied per stream: the new owner never persists below it. */
  readonly floors: ReadonlyMap<MediaStreamHandle, StreamIndexState>;
  /** Streams with SRTP but no persisted mark (the old owner died before its first index write). */
  readonly unmarked: number;
}

interface OpenedSide {
  readonly rec: SideRecord;
  readonly inKey: SdesCrypto | null;
  readonly outKey: SdesCrypto | null;
}

export function indexOps(s: MediaStreamHandle): StreamIndexOps | null {
  const o = s as Partial<StreamIndexOps>;
  return typeof o.indexState === 'function' && typeof o.applyIndexFloor === 'function' ? (o as StreamIndexOps) : null;
}

/** The persisted mark restricted to the directions that have a context. */
function floorFor(rec: SideRecord, mark: StreamIndexState | undefined): StreamIndexState {
  const m = mark ?? EMPTY_INDEX_STATE;
  const inOn = rec.inMode === 'srtp', outOn = rec.outMode === 'srtp';
  return { srtpIn: inOn ? m.srtpIn : [], srtcpIn: inOn ? m.srtcpIn : [], srtpOut: outOn ? m.srtpOut : [], srtcpOut: outOn ? m.srtcpOut : [] };
}

/** A DTLS side can be carried on only with both exported keys (its handshake had completed). */
function checkDtlsSide(rec: SideRecord, callId: string): void {
  if (!rec.dtls) return;
  if (rec.dtlsPeer == null || rec.inMode !== 'srtp' || rec.outMode !== 'srtp' || rec.inKey === null || rec.outKey === null) {
    throw new HaError('E_HA_TAKEOVER', 'DTLS-SRTP side without exported keys (handshake not completed)', { callId: callId.slice(0, 64), port: rec.rtpPort });
  }
}

/**
 * `onDtls` gets each restored DTLS side's keys (views, wiped when it returns) so this relay can
 * seal them under its own name.
 */
export async function restoreCall(adopter: CallAdopter, record: CallRecord, index: IndexRecord | null, sealer: StateSealer,
  onInbound: (callId: string, side: SideState, key: SdesCrypto) => void,
  onDtls: (callId: string, side: SideState, keys: DtlsExportedKeys) => void = () => {}): Promise<RestoreResult> {
  const callId = record.callId;
  for (const m of record.media) for (const s of m?.sides ?? []) checkDtlsSide(s, callId);
  const opened: OpenedSide[][] = [];
  const floors = new Map<MediaStreamHandle, StreamIndexState>();
  let unmarked = 0;
  try {
    for (const m of record.media) {
      if (m === null) { opened.push([]); continue; }
      opened.push(m.sides.map((rec): OpenedSide => {
        const binding = (field: string) => ({ node: record.node, callId, field });
        const inKey = rec.inMode === 'srtp' && rec.inKey ? openKey(sealer, rec.inKey, binding(inKeyField(rec.rtpPort))) : null;
        const outKey = rec.outMode === 'srtp' && rec.outKey ? openKey(sealer, rec.outKey, binding(outKeyField(rec.rtpPort))) : null;
        if ((rec.inMode === 'srtp' && inKey === null) || (rec.outMode === 'srtp' && outKey === null)) {
          throw new HaError('E_HA_TAKEOVER', 'SRTP side without a stored key', { callId: callId.slice(0, 64), port: rec.rtpPort });
        }
        return { rec, inKey, outKey };
      }));
    }
  } catch (e) {
    for (const sides of opened) for (const s of sides) { if (s.inKey) wipe(s.inKey); if (s.outKey) wipe(s.outKey); }
    throw e;
  }

  const interfaces = record.legs.map((l) => l.interface ?? '');
  const state = await adopter.adopt(callId, interfaces, async (st) => {
    const inbound = new Map<SideState, SdesCrypto>();
    try {
      const legs: LegInfo[] = record.legs.map((l) => ({ leg: st.session.createLeg(l.tag), sipTag: l.sipTag }));
      st.legs.push(...legs);
      const built: { side: SideState; o: OpenedSide }[] = [];
      for (const [i, m] of record.media.entries()) {
        if (m === null) { st.media[i] = null; continue; }
        const sides = new Map<LegInfo['leg'], SideState>();
        const streams: MediaStreamHandle[] = [];
        for (const o of opened[i]!) {
          const leg = legs[o.rec.leg]!.leg;
          const iface = record.legs[o.rec.leg]!.interface;
          const stream = await st.session.addStream(leg, {
            rtcpMux: o.rec.rtcpMux, strictSource: o.rec.strictSource, port: o.rec.rtpPort, ...(iface !== null ? { interface: iface } : {}),
          });
          streams.push(stream);
          const p = o.rec.dtlsPeer;
          const side: SideState = {
            stream, protocol: o.rec.protocol, outKey: o.outKey && !o.rec.dtls ? st.own(o.outKey) : null, outTag: o.rec.outTag,
            outPadded: o.rec.outPadded, inDigest: null,
            dtls: o.rec.dtls && p != null ? { role: p.role, fingerprints: p.fingerprints, peerSetup: p.setup, restored: true } : null,
          };
          sides.set(leg, side);
          built.push({ side, o });
        }
        linkStreams(streams[0]!, streams[1]!);
        st.media[i] = { type: m.type, sides };
      }
      // Keys and floors with no await in between: no packet is handled between a context's
      // creation and its floor (in a worker, the messages are handled in order).
      const applied: Promise<void>[] = [];
      for (const { side, o } of built) {
        const s = side.stream;
        s.rtcpMux = o.rec.rtcpMux;
        if (o.rec.dtls && o.inKey && o.outKey) {
          const keys = { inbound: streamCryptoOf(o.inKey), outbound: streamCryptoOf(o.outKey) };
          s.setInboundCrypto(keys.inbound);
          s.setOutboundCrypto(keys.outbound);
          onDtls(callId, side, keys);
          // Not SDES keys the controller keeps: nothing refers to them once installed and sealed.
          wipe(o.inKey);
          wipe(o.outKey);
        } else if (o.inKey) { s.setInboundCrypto(streamCryptoOf(o.inKey)); inbound.set(side, o.inKey); onInbound(callId, side, o.inKey); }
        else if (o.rec.inMode === 'plain') s.setInboundCrypto(null);
        if (o.rec.dtls) { /* both directions installed above */ }
        else if (o.outKey) s.setOutboundCrypto(streamCryptoOf(o.outKey));
        else if (o.rec.outMode === 'plain') s.setOutboundCrypto(null);
        if (o.inKey || o.outKey) {
          const mark = index?.streams[String(o.rec.rtpPort)];
          if (mark === undefined) unmarked++;
          const floor = floorFor(o.rec, mark);
          floors.set(s, floor);
          const ops = indexOps(s);
          if (ops === null) throw new HaError('E_HA_TAKEOVER', 'streams cannot take index floors', { callId: callId.slice(0, 64) });
          applied.push(ops.applyIndexFloor(floor));
        }
      }
      await Promise.all(applied);
      for (const { side, o } of built) {
        const r = o.rec;
        // The SDP-derived budget the old owner applied (capped again by this relay's configuration).
        if (r.rate != null) side.stream.setRateLimit(r.rate);
        // Where the old owner was sending: the latched address when it had one.
        side.stream.setRemote(r.latchedRtp ?? r.remoteRtp, r.rtcpMux ? null : r.latchedRtcp ?? r.remoteRtcp);
      }
      return inbound;
    } catch (e) {
      // Keys already owned by the state are wiped again when the controller closes it: idempotent.
      for (const sides of opened) for (const s of sides) { if (s.inKey) wipe(s.inKey); if (s.outKey) wipe(s.outKey); }
      throw e;
    }
  });
  return { state, floors, unmarked };
}
