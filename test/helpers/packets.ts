// Builders for RTP/RTCP test packets.
import { randomBytes } from 'node:crypto';

export interface RtpSpec {
  seq: number;
  ssrc: number;
  ts?: number;
  pt?: number;
  marker?: boolean;
  csrcs?: number[];
  /** Header extension: profile and body (length a multiple of 4). */
  ext?: { profile: number; body: Uint8Array };
  payload?: Uint8Array;
  /** Padding bytes to append (sets P; the last byte is the count). */
  padding?: number;
}

export function rtp(s: RtpSpec): Uint8Array {
  const csrcs = s.csrcs ?? [];
  const payload = s.payload ?? randomBytes(160);
  const extLen = s.ext ? 4 + s.ext.body.length : 0;
  const pad = s.padding ?? 0;
  const out = new Uint8Array(12 + csrcs.length * 4 + extLen + payload.length + pad);
  const dv = new DataView(out.buffer);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (s.ext ? 0x10 : 0) | csrcs.length;
  out[1] = (s.marker ? 0x80 : 0) | ((s.pt ?? 0) & 0x7f);
  dv.setUint16(2, s.seq & 0xffff);
  dv.setUint32(4, (s.ts ?? s.seq * 160) >>> 0);
  dv.setUint32(8, s.ssrc >>> 0);
  let o = 12;
  for (const c of csrcs) { dv.setUint32(o, c >>> 0); o += 4; }
  if (s.ext) {
    dv.setUint16(o, s.ext.profile);
    dv.setUint16(o + 2, s.ext.body.length / 4);
    out.set(s.ext.body, o + 4);
    o += 4 + s.ext.body.length;
  }
  out.set(payload, o);
  o += payload.length;
  if (pad) out[out.length - 1] = pad;
  return out;
}

/** A receiver report (PT 201) from ssrc with `extra` bytes of body. */
export function rtcpRr(ssrc: number, extra = 0): Uint8Array {
  const words = 1 + Math.ceil(extra / 4);
  const out = new Uint8Array(4 + words * 4);
  const dv = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = 201;
  dv.setUint16(2, words);
  dv.setUint32(4, ssrc >>> 0);
  out.set(randomBytes(out.length - 8), 8);
  return out;
}

/** An RTCP BYE (PT 203) from ssrc. */
export function rtcpBye(ssrc: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = 0x81; out[1] = 203;
  new DataView(out.buffer).setUint16(2, 1);
  new DataView(out.buffer).setUint32(4, ssrc >>> 0);
  return out;
}

export function keyFor(len: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed * 7) & 0xff);
}
