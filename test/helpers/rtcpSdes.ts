// RTCP SDES packets for tests, built and read here independently of src/media/rtcpSdes.ts
// (a shared codec would let one bug hide in both the relay and its tests).

export interface SdesItem { type: number; text: Uint8Array | string }
export interface SdesChunk { ssrc: number; items: SdesItem[] }

const bytes = (t: Uint8Array | string): Uint8Array => (typeof t === 'string' ? new TextEncoder().encode(t) : t);

/** One SDES packet (PT 202): each chunk's items, the END item, null octets to a 32-bit boundary. */
export function sdesPacket(chunks: SdesChunk[]): Uint8Array {
  const parts: number[] = [];
  for (const c of chunks) {
    parts.push((c.ssrc >>> 24) & 0xff, (c.ssrc >>> 16) & 0xff, (c.ssrc >>> 8) & 0xff, c.ssrc & 0xff);
    for (const it of c.items) {
      const t = bytes(it.text);
      parts.push(it.type, t.length, ...t);
    }
    parts.push(0);
    while (parts.length % 4 !== 0) parts.push(0);
  }
  const out = new Uint8Array(4 + parts.length);
  out[0] = 0x80 | chunks.length;
  out[1] = 202;
  const words = out.length / 4 - 1;
  out[2] = words >> 8; out[3] = words & 0xff;
  out.set(parts, 4);
  return out;
}

/** The SDES items of a compound packet, in order; throws on anything malformed. */
export function readSdes(pkt: Uint8Array): { ssrc: number; type: number; text: Buffer }[] {
  const out: { ssrc: number; type: number; text: Buffer }[] = [];
  let off = 0;
  while (off < pkt.length) {
    const size = ((pkt[off + 2]! << 8) | pkt[off + 3]!) * 4 + 4;
    if (off + size > pkt.length || pkt[off]! >> 6 !== 2) throw new Error('malformed RTCP');
    if (pkt[off + 1] === 202) {
      let p = off + 4;
      for (let c = 0; c < (pkt[off]! & 0x1f); c++) {
        const ssrc = Buffer.from(pkt.buffer, pkt.byteOffset + p, 4).readUInt32BE(0);
        p += 4;
        while (pkt[p] !== 0) {
          const len = pkt[p + 1]!;
          out.push({ ssrc, type: pkt[p]!, text: Buffer.from(pkt.subarray(p + 2, p + 2 + len)) });
          p += 2 + len;
        }
        p = off + ((p - off + 4) & ~3);
      }
    }
    off += size;
  }
  return out;
}

/** Concatenates RTCP packets into one compound. */
export function compound(...pkts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(pkts));
}
