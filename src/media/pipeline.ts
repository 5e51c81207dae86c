// The path of one packet, top to bottom:
//   socket → stream (bound per socket) → demux → source check → rate limit → unprotect →
//   hide topology (RTCP SDES, across interfaces) → latch → protect for the other leg → send
//   from the same slot.
// DTLS (first byte 20–63) branches off after the rate limit to the stream's DTLS endpoint.
// handleDatagram is the node:dgram entry; a batched I/O backend receives straight into slots
// and calls handlePacket.
// Nothing here allocates or throws: every refusal is a counted drop (StreamStats).
import type { MediaStream } from '../session/MediaStream.ts';
import type { DataPath } from './DataPath.ts';
import { sameEndpoint } from '../net/types.ts';

/** RFC 5761 §4: on a muxed port, RTCP packet types 192–223 in the second byte. */
function isRtcpType(b1: number): boolean {
  return b1 >= 192 && b1 <= 223;
}

/** node:dgram entry: the datagram arrives in a JS Buffer and is copied into a free slot. */
export function handleDatagram(dp: DataPath, stream: MediaStream, onRtcpPort: boolean,
  msg: Buffer, address: string, port: number): void {
  const len = msg.length;
  if (len > dp.maxPacket) { stream.stats.drops.tooLarge++; return; }
  const slot = dp.ring.acquire();
  if (slot < 0) { stream.stats.drops.backlog++; return; }
  msg.copy(dp.core.slots[slot]!, 0, 0, len);
  handlePacket(dp, stream, onRtcpPort, slot, len, address, port);
}

/**
 * The packet is in ring slot `slot` (len bytes), received on `stream`'s RTP port or, when
 * onRtcpPort, its RTCP port. Takes ownership of the slot: it is released here on a drop, or
 * by the send completion.
 */
export function handlePacket(dp: DataPath, stream: MediaStream, onRtcpPort: boolean,
  slot: number, len: number, address: string, port: number): void {
  const stats = stream.stats;
  const core = dp.core;
  const buf = core.slots[slot]!;

  // Demux by first byte (RFC 7983): 128–191 is RTP/RTCP; 20–63 is DTLS, for a stream that
  // runs DTLS-SRTP, on its RTP port only (where the relay runs it, muxed or not). STUN (0–3)
  // is not handled yet: like anything else, not media.
  const b0 = buf[0]!;
  const dtls = b0 >= 128 || onRtcpPort ? null : stream.streamDtls;
  const isDtls = dtls !== null && b0 >= 20 && b0 <= 63;
  if (!isDtls && (len < 8 || b0 < 128 || b0 > 191)) { stats.drops.notRtp++; dp.ring.release(slot); return; }
  const rtcp = !isDtls && (onRtcpPort || isRtcpType(buf[1]!));

  // Source check. Before latching anyone may send (the packet must still authenticate);
  // after, a plain-RTP leg or a strict leg accepts only its latched peer.
  const latched = rtcp && !stream.rtcpMux ? stream.latchedRtcp : stream.latchedRtp;
  const fromLatched = sameEndpoint(latched, address, port);
  if (latched !== null && !fromLatched && (stream.strictSource || stream.inMode !== 'srtp')) {
    stats.drops.wrongSource++; dp.ring.release(slot); return;
  }

  // Rate limits come before any crypto so a flood costs as little as possible.
  if (stream.rateLimiter !== null && !stream.rateLimiter.take(address, len, dp.now, port)) {
    stats.drops.rateLimited++; dp.ring.release(slot); return;
  }

  if (isDtls) {
    // Handshake traffic is rare: a copy lets the endpoint keep what it likes and frees the
    // slot now. Nothing here latches; only a completed handshake does (StreamDtls).
    const datagram = new Uint8Array(buf.subarray(0, len));
    dp.ring.release(slot);
    dtls.receive(datagram, address, port);
    return;
  }

  const peer = stream.peer;
  if (peer === null || stream.inMode === 'pending' || peer.outMode === 'pending') {
    stats.drops.noKeys++; dp.ring.release(slot); return;
  }
  const ptr = core.slotPtr(slot);

  // Unprotect: length, index, replay check, tag, decrypt, commit — all inside one call.
  let n = len;
  if (stream.inMode === 'srtp') {
    n = rtcp ? core.srtcpUnprotectAt(stream.inCtx, ptr, len) : core.srtpUnprotectAt(stream.inCtx, ptr, len);
    if (n < 0) {
      stats.dropStatus(n);
      if (stream.rateLimiter !== null) stream.rateLimiter.authFailed(address, dp.now, port);
      dp.ring.release(slot);
      return;
    }
  } else if (!rtcp && len < 12) {
    stats.drops.malformed++; dp.ring.release(slot); return;
  }

  // Topology hiding: SDES items (CNAME user@10.1.2.3) name inside hosts. A compound the walk
  // cannot parse is dropped rather than forwarded with its names (rtcpSdes.ts).
  if (rtcp && stream.sdesRewriter !== null && !stream.sdesRewriter.rewrite(buf, n)) {
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
