// The SDP the bench sends to an ng relay, and the few fields it reads back: where to send
// media, the transport protocol, and the SDES keys (RFC 4568) the relay chose for its side.
import type { Endpoint, SrtpKey } from './types.ts';
import { BENCH_SUITES, isBenchSuite } from './types.ts';

export interface SdpOfferOptions {
  /** Where this party receives media (and, symmetric RTP, sends it from). */
  media: Endpoint;
  /** SDES key this party sends with, or null for plain RTP/AVP. */
  key: SrtpKey | null;
  /** RTP/SAVP crypto tag. Default 1. */
  cryptoTag?: number;
  sessionId: number;
}

// PCMU at 8 kHz: 160-byte payload = 20 ms, which is the packet the generator sends.
const PT = 0;

/** One audio stream, rtcp-mux, PCMU, CRLF line ends as SIP carries it. */
export function buildSdp(o: SdpOfferOptions): string {
  const lines = [
    'v=0',
    `o=- ${o.sessionId} 1 IN IP4 ${o.media.address}`,
    's=srtpgate-bench',
    `c=IN IP4 ${o.media.address}`,
    't=0 0',
    `m=audio ${o.media.port} ${o.key ? 'RTP/SAVP' : 'RTP/AVP'} ${PT}`,
    `a=rtpmap:${PT} PCMU/8000`,
    'a=rtcp-mux',
    'a=sendrecv',
  ];
  if (o.key) lines.push(`a=crypto:${o.cryptoTag ?? 1} ${o.key.suite} inline:${keyToInline(o.key)}`);
  return `${lines.join('\r\n')}\r\n`;
}

export interface SdpCrypto {
  tag: number;
  suite: string;
  key: SrtpKey | null;
  /** The whole attribute value, for the report (session parameters included). */
  raw: string;
}

export interface ParsedSdp {
  /** Address and port of the (first) audio stream. */
  media: Endpoint;
  proto: string;
  rtcpMux: boolean;
  cryptos: SdpCrypto[];
}

/** Reads the first m=audio section; throws when the SDP has none or no address. */
export function parseSdp(sdp: string): ParsedSdp {
  const lines = sdp.split(/\r?\n/);
  let sessionAddr: string | null = null;
  let mediaAddr: string | null = null;
  let port = -1;
  let proto = '';
  let inAudio = false;
  let seenAudio = false;
  let rtcpMux = false;
  const cryptos: SdpCrypto[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (seenAudio) break; // only the first audio stream matters to the bench
      const m = /^m=audio (\d+)(?:\/\d+)? (\S+)/.exec(line);
      inAudio = m !== null;
      if (m) { seenAudio = true; port = Number(m[1]); proto = m[2]!; }
      continue;
    }
    const c = /^c=IN IP[46] (\S+)/.exec(line);
    if (c) {
      if (inAudio) mediaAddr = c[1]!;
      else if (!seenAudio) sessionAddr = c[1]!;
      continue;
    }
    if (!inAudio) continue;
    if (line === 'a=rtcp-mux') rtcpMux = true;
    const a = /^a=crypto:(\d+) (\S+) (\S+)(.*)$/.exec(line);
    if (a) cryptos.push({ tag: Number(a[1]), suite: a[2]!, key: inlineToKey(a[2]!, a[3]!), raw: line.slice(2) });
  }
  const address = mediaAddr ?? sessionAddr;
  if (!seenAudio || address === null || port < 0) throw new Error('SDP without an audio stream and address');
  return { media: { address, port }, proto, rtcpMux, cryptos };
}

function keyToInline(k: SrtpKey): string {
  return Buffer.concat([Buffer.from(k.key, 'hex'), Buffer.from(k.salt, 'hex')]).toString('base64');
}

/** `inline:<base64 key||salt>[|lifetime][|mki:len]` for the bench's suites; null for others. */
function inlineToKey(suite: string, param: string): SrtpKey | null {
  const m = /^inline:([A-Za-z0-9+/=]+)/.exec(param);
  if (!m || !isBenchSuite(suite)) return null;
  const l = BENCH_SUITES[suite];
  const bytes = Buffer.from(m[1]!, 'base64');
  if (bytes.length !== l.keyLen + l.saltLen) return null;
  return { suite, key: bytes.subarray(0, l.keyLen).toString('hex'), salt: bytes.subarray(l.keyLen).toString('hex') };
}
