// The path of one packet, top to bottom:
//   socket → stream (bound per socket) → demux → source check → rate limit → unprotect →
//   latch → protect for the other leg → send from the same slot.
// Nothing here allocates or throws: every refusal is a counted drop (StreamStats).
import type { MediaStream } from '../session/MediaStream.ts';
import type { DataPath } from './DataPath.ts';
import { sameEndpoint } from '../net/types.ts';

/** RFC 5761 §4: on a muxed port, RTCP packet types 192–223 in the second byte. */
function isRtcpType(b1: number): boolean {
  return b1 >= 192 && b1 <= 223;
}

export function handleDatagram(dp: DataPath, stream: MediaStream, onRtcpPort: boolean,
  msg: Buffer, address: string, port: number): void {
  const stats = stream.stats;
  const len = msg.length;

  // Demux by first byte (RFC 7983): 128–191 is RTP/RTCP. STUN (0–3) and DTLS (20–63) are
  // handed to their owners when a leg uses them; until then they are not media.
  if (len < 8 || msg[0]! < 128 || msg[0]! > 191) { stats.drops.notRtp++; return; }
  const rtcp = onRtcpPort || isRtcpType(msg[1]!);

  // Source check. Before latching anyone may send (the packet must still authenticate);
  // after, a plain-RTP leg or a strict leg accepts only its latched peer.
  const latched = rtcp && !stream.rtcpMux ? stream.latchedRtcp : stream.latchedRtp;
  const fromLatched = sameEndpoint(latched, address, port);
  if (latched !== null && !fromLatched && (stream.strictSource || stream.inMode !== 'srtp')) {
    stats.drops.wrongSource++;
    return;
  }

  // Rate limits come before any crypto so a flood costs as little as possible.
  if (stream.rateLimiter !== null && !stream.rateLimiter.take(address, len, dp.now)) {
    stats.drops.rateLimited++;
    return;
  }

  const peer = stream.peer;
  if (peer === null || stream.inMode === 'pending' || peer.outMode === 'pending') { stats.drops.noKeys++; return; }
  if (len > dp.maxPacket) { stats.drops.tooLarge++; return; }
  const slot = dp.ring.acquire();
  if (slot < 0) { stats.drops.backlog++; return; }
  const core = dp.core;
  const buf = core.slots[slot]!;
  const ptr = core.slotPtr(slot);
  msg.copy(buf, 0, 0, len);

  // Unprotect: length, index, replay check, tag, decrypt, commit — all inside one call.
  let n = len;
  if (stream.inMode === 'srtp') {
    n = rtcp ? core.srtcpUnprotectAt(stream.inCtx, ptr, len) : core.srtpUnprotectAt(stream.inCtx, ptr, len);
    if (n < 0) { stats.dropStatus(n); dp.ring.release(slot); return; }
  } else if (!rtcp && len < 12) {
    stats.drops.malformed++; dp.ring.release(slot); return;
  }

  // The packet is authentic (or the leg is plain RTP): now the source may be learned.
  if (!fromLatched) stream.latch(rtcp, address, port);
  stats.packetsIn++;
  stats.bytesIn += len;
  if (rtcp) stats.rtcpIn++;
  stats.lastPacketAt = dp.now;

  // Protect for the other leg with its own context.
  if (peer.outMode === 'srtp') {
    n = rtcp ? core.srtcpProtectAt(peer.outCtx, ptr, n, core.slotBytes) : core.srtpProtectAt(peer.outCtx, ptr, n, core.slotBytes);
    if (n < 0) { peer.stats.drops.protectFailed++; dp.ring.release(slot); return; }
  }

  // Send from the peer's own socket (symmetric RTP) to its latched or signalled address.
  const dest = rtcp ? peer.rtcpDestination() : peer.rtpDestination();
  if (dest === null) { peer.stats.drops.noDestination++; dp.ring.release(slot); return; }
  const sock = rtcp && !peer.rtcpMux && peer.rtcpPort !== null ? peer.rtcpPort : peer.rtpPort;
  sock.send(buf, n, dest.port, dest.address, dp.ring.onSent[slot]!);
  peer.stats.packetsOut++;
  peer.stats.bytesOut += n;
}
