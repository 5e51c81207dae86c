// The `query` view of a call: plain data, no key material (suite names only), shaped after
// rtpengine's query reply (created, last signal, tags → medias, totals) in camelCase; the ng
// server renders it. Each tag also names the media interface its leg's sockets are bound on and
// that interface's address family (a call may bridge an IPv4 and an IPv6 network), and each
// media its local address: the address this side's SDP advertised, never the other side's.
import { formatEndpoint, type AddressFamily } from '../net/types.ts';
import type { MediaInterface } from '../net/mediaInterfaces.ts';
import type { Leg } from '../session/Leg.ts';
import type { DropReason } from '../media/StreamStats.ts';
import type { CallState, ControlledStream, SideState } from './CallState.ts';

export interface StreamStatsInfo {
  /** Packets and bytes received from this side's endpoint and accepted (RTP and RTCP). */
  readonly packets: number;
  readonly bytes: number;
  /** Packets received from this side and dropped, all reasons. */
  readonly errors: number;
  /** Packets and bytes sent to this side's endpoint. */
  readonly packetsOut: number;
  readonly bytesOut: number;
  /** Of `packets`, how many were RTCP. */
  readonly rtcpPackets: number;
  readonly drops: Readonly<Record<DropReason, number>>;
}

export interface MediaInfo {
  /** Position of the m= line, 1-based (as rtpengine numbers medias). */
  readonly index: number;
  readonly type: string;
  /** The address this side's SDP gives for the relay (its interface's advertised address). */
  readonly localAddress: string;
  /** Transport this side's endpoint agreed to; '' before the first answer. */
  readonly protocol: string;
  readonly localPort: number;
  readonly localRtcpPort: number | null;
  readonly rtcpMux: boolean;
  /** Where media for this side goes: the latched address, else the signalled one; null if none. */
  readonly remote: string | null;
  /** SRTP suite on this side (never keys); null for plain RTP or before keys are set. */
  readonly cryptoSuite: string | null;
  readonly stats: StreamStatsInfo;
}

export interface TagInfo {
  /** The SIP tag; '' for an answerer whose to-tag is not known yet. */
  readonly tag: string;
  /** Name of the media interface this leg's streams are bound on (ng `direction`). */
  readonly interface: string;
  /** That interface's address family. */
  readonly family: AddressFamily;
  readonly medias: readonly MediaInfo[];
}

export interface ProtocolTotals {
  readonly packets: number;
  readonly bytes: number;
  readonly errors: number;
}

export interface CallInfo {
  readonly callId: string;
  /** Unix time, seconds. */
  readonly created: number;
  readonly lastSignal: number;
  readonly tags: Readonly<Record<string, TagInfo>>;
  /**
   * Received-side totals over every stream. The data path counts bytes and drops for RTP and
   * RTCP together, so RTP's bytes and errors include RTCP's; RTCP reports its packet count only.
   */
  readonly totals: { readonly RTP: ProtocolTotals; readonly RTCP: { readonly packets: number } };
}

function statsOf(s: ControlledStream): StreamStatsInfo {
  const st = s.stats;
  return {
    packets: st.packetsIn, bytes: st.bytesIn, errors: st.totalDrops, packetsOut: st.packetsOut,
    bytesOut: st.bytesOut, rtcpPackets: st.rtcpIn, drops: { ...st.drops },
  };
}

function mediaInfo(index: number, type: string, side: SideState, iface: MediaInterface): MediaInfo {
  const s = side.stream;
  const dest = s.latchedRtp ?? s.remoteRtp;
  return {
    index: index + 1,
    type,
    localAddress: iface.advertised,
    protocol: side.protocol,
    localPort: s.rtpPort.port,
    localRtcpPort: s.rtcpPort?.port ?? null,
    rtcpMux: s.rtcpMux,
    remote: dest === null ? null : formatEndpoint(dest),
    cryptoSuite: s.inSuite?.name ?? s.outSuite?.name ?? null,
    stats: statsOf(s),
  };
}

/** Builds the query view of `state`; `interfaceOf` names the interface a leg is bound on. */
export function callInfo(state: CallState, interfaceOf: (leg: Leg) => MediaInterface): CallInfo {
  const tags: Record<string, TagInfo> = {};
  let packets = 0, bytes = 0, errors = 0, rtcp = 0;
  for (const leg of state.legs) {
    const iface = interfaceOf(leg.leg);
    const medias: MediaInfo[] = [];
    state.media.forEach((pair, i) => {
      const side = pair?.sides.get(leg.leg);
      if (pair === null || side === undefined) return;
      const info = mediaInfo(i, pair.type, side, iface);
      medias.push(info);
      packets += info.stats.packets - info.stats.rtcpPackets;
      rtcp += info.stats.rtcpPackets;
      bytes += info.stats.bytes;
      errors += info.stats.errors;
    });
    const tag = leg.sipTag ?? '';
    tags[tag] = { tag, interface: iface.name, family: iface.family, medias };
  }
  return {
    callId: state.callId,
    created: Math.floor(state.created / 1000),
    lastSignal: Math.floor(state.lastSignal / 1000),
    tags,
    totals: { RTP: { packets, bytes, errors }, RTCP: { packets: rtcp } },
  };
}
