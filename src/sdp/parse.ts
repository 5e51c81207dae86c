// SDP text → ParsedSdp: the section/line structure the rewriter edits, plus the few typed
// values the relay needs (addresses, ports, protocols, rtcp, rtcp-mux, raw a=crypto text).
//
// sdp-transform reads the values, but it cannot be the source of truth on its own:
// - it keeps no line positions and its writer reorders attributes (unknown ones go last),
//   so output is produced by editing our own line list, never by sdp-transform's write();
// - its regexes are prefix matches: `a=rtcp-mux-only` parses as rtcp-mux, and an m= line with
//   a port count (`5004/2`) yields no port at all; an unmatched line is silently dropped.
// So the line structure is ours, sdp-transform's values are cross-checked against it, and
// attribute names are compared exactly. Anything malformed is E_BAD_SDP with a line number;
// messages never quote SDP text (a=crypto lines hold keys).
import { isIP } from 'node:net';
import { parse as transformParse, type SdpTransformConnection } from 'sdp-transform';
import { RelayError } from '../errors.ts';
import type {
  AddrType, MediaClass, ParsedSdp, SdpAddress, SdpCryptoText, SdpDocument, SdpLine, SdpMedia, SdpOrigin,
} from './sdpTypes.ts';

/** Largest SDP accepted; an ng datagram is at most 64 KiB anyway. */
export const MAX_SDP_BYTES = 65536;
/** m= lines per SDP: each relayed one costs two port pairs, so one offer must not take hundreds. */
export const MAX_MEDIA = 32;

const RTP_PROTOCOLS = new Set(['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF']);
const DTLS_PROTOCOLS = new Set(['UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF']);

function bad(message: string, context?: Readonly<Record<string, string | number>>): never {
  throw new RelayError('E_BAD_SDP', message, context);
}

export function classify(protocol: string): MediaClass {
  if (RTP_PROTOCOLS.has(protocol)) return 'rtp';
  if (DTLS_PROTOCOLS.has(protocol)) return 'dtls';
  return 'other';
}

/** RTP/SAVP and RTP/SAVPF (and the DTLS forms) promise SRTP. */
export function isSecureProtocol(protocol: string): boolean {
  return protocol.includes('SAVP');
}

/** Name of an a= attribute value: the text before the first ':' (RFC 4566 `att-field`). */
export function attributeName(value: string): string {
  const colon = value.indexOf(':');
  return colon < 0 ? value : value.slice(0, colon);
}

/** True for 0.0.0.0 and :: (RFC 3264 §8.4 hold: "do not send"). */
export function isZeroAddress(address: string): boolean {
  if (address === '0.0.0.0') return true;
  return isIP(address) === 6 && /^[0:]+$/.test(address);
}

/**
 * Splits SDP text into lines and sections. Accepts CRLF, LF or CR line ends. Every line must
 * be `<letter>=...` with no control characters but tab; empty lines are allowed only at the end.
 */
export function splitSdp(text: string): SdpDocument {
  if (typeof text !== 'string') bad('SDP is not a string');
  if (text.length > MAX_SDP_BYTES) bad('SDP too large', { max: MAX_SDP_BYTES });
  const raw = text.split(/\r\n|\r|\n/);
  while (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const session: SdpLine[] = [];
  const media: SdpLine[][] = [];
  raw.forEach((l, i) => {
    const lineNo = i + 1;
    if (!/^[a-z]=/.test(l)) bad('malformed SDP line', { line: lineNo });
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(l)) bad('control character in SDP line', { line: lineNo });
    const line: SdpLine = { type: l[0]!, value: l.slice(2), lineNo };
    if (line.type === 'm') {
      if (media.length >= MAX_MEDIA) bad('too many m= lines', { max: MAX_MEDIA });
      media.push([line]);
    } else if (media.length > 0) {
      media[media.length - 1]!.push(line);
    } else {
      session.push(line);
    }
  });
  if (session[0]?.type !== 'v' || session[0].value !== '0') bad('SDP must start with v=0', { line: 1 });
  return { session, media };
}

function addrType(ipVer: string | number | undefined): AddrType | null {
  return String(ipVer) === '4' ? 'IP4' : String(ipVer) === '6' ? 'IP6' : null;
}

/** A unicast address whose family matches its type; null when it is not one. */
function address(type: AddrType | null, addr: unknown): SdpAddress | null {
  if (type === null || typeof addr !== 'string') return null;
  const family = isIP(addr);
  if ((type === 'IP4' && family !== 4) || (type === 'IP6' && family !== 6)) return null;
  return { addrType: type, address: addr };
}

function connection(lines: readonly SdpLine[], parsed: SdpTransformConnection | undefined, where: string): SdpAddress | null {
  const cs = lines.filter((l) => l.type === 'c');
  if (cs.length === 0) return null;
  // Several c= lines are a multicast layering feature (RFC 4566 §5.7) the relay cannot do.
  if (cs.length > 1) bad('more than one c= line', { line: cs[1]!.lineNo, section: where });
  // sdp-transform accepts `IN IP4 <anything>`; the strict form is checked here.
  if (!/^IN IP[46] \S+$/.test(cs[0]!.value)) bad('malformed c= line', { line: cs[0]!.lineNo });
  const a = address(addrType(parsed?.version), parsed?.ip);
  if (a === null) bad('c= address is not a unicast address of its type', { line: cs[0]!.lineNo });
  return a;
}

function origin(lines: readonly SdpLine[], parsed: ReturnType<typeof transformParse>['origin']): SdpOrigin {
  const o = lines.find((l) => l.type === 'o');
  if (o === undefined) bad('missing o= line');
  const parts = o.value.split(' ');
  if (parts.length !== 6 || parts.some((p) => p === '')) bad('malformed o= line', { line: o.lineNo });
  return {
    username: parts[0]!,
    sessionId: parts[1]!,
    sessionVersion: parts[2]!,
    // A non-IP origin (an FQDN) is legal; it only matters when the origin gets replaced.
    address: address(addrType(parsed?.ipVer), parsed?.address),
  };
}

function crypto(lines: readonly SdpLine[]): SdpCryptoText[] {
  const out: SdpCryptoText[] = [];
  for (const l of lines) {
    if (l.type === 'a' && attributeName(l.value) === 'crypto') out.push({ value: l.value.slice('crypto:'.length), lineNo: l.lineNo });
  }
  return out;
}

/** Values of one a= attribute, by exact name. */
function values(lines: readonly SdpLine[], name: string): string[] {
  const out: string[] = [];
  for (const l of lines) if (l.type === 'a' && attributeName(l.value) === name) out.push(l.value.slice(name.length + 1));
  return out;
}

/** DTLS attributes of a section, falling back to the session's (RFC 8122 §5, RFC 4145 §4). */
function dtlsAttributes(lines: readonly SdpLine[], session: readonly SdpLine[]): { fingerprints: string[]; setup: string | null } {
  const fps = values(lines, 'fingerprint');
  const setups = values(lines, 'setup');
  const setup = setups.length > 0 ? setups : values(session, 'setup');
  if (setup.length > 1) bad('more than one a=setup line');
  return { fingerprints: fps.length > 0 ? fps : values(session, 'fingerprint'), setup: setup[0]?.trim().toLowerCase() ?? null };
}

function mediaSection(lines: readonly SdpLine[], index: number, t: ReturnType<typeof transformParse>['media'][number] | undefined,
  session: readonly SdpLine[] = []): SdpMedia {
  const m = lines[0]!;
  const fields = m.value.split(' ');
  if (fields.length < 3 || fields.some((f) => f === '')) bad('malformed m= line', { line: m.lineNo });
  const [type, portText, protocol] = fields as [string, string, string];
  const cls = classify(protocol);
  const plainPort = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : -1;
  const base = { index, type, protocol, cls, crypto: crypto(lines), ...(cls === 'other' ? { fingerprints: [], setup: null } : dtlsAttributes(lines, session)) };
  if (cls === 'other') {
    // Not relayed: read nothing more, so unusual but valid sections (port counts, multicast) pass.
    return { ...base, port: plainPort, connection: null, rtcp: null, rtcpMux: false };
  }
  if (plainPort < 0 || plainPort > 65535) bad('m= port must be a plain port number for RTP media', { line: m.lineNo });
  if (t === undefined || Number(t.port) !== plainPort || t.protocol !== protocol) bad('m= line not understood', { line: m.lineNo });
  const attrs = lines.filter((l) => l.type === 'a');
  const rtcpLines = attrs.filter((l) => attributeName(l.value) === 'rtcp');
  let rtcp: SdpMedia['rtcp'] = null;
  if (rtcpLines.length > 1) bad('more than one a=rtcp line', { line: rtcpLines[1]!.lineNo });
  if (rtcpLines.length === 1) {
    const l = rtcpLines[0]!;
    const v = l.value.slice('rtcp:'.length);
    if (!/^[0-9]{1,5}( IN IP[46] \S+)?$/.test(v) || t.rtcp === undefined) bad('malformed a=rtcp line', { line: l.lineNo });
    const port = Number(t.rtcp.port);
    if (!(port >= 0 && port <= 65535)) bad('a=rtcp port out of range', { line: l.lineNo });
    let addr: SdpAddress | null = null;
    if (v.includes(' ')) {
      addr = address(addrType(t.rtcp.ipVer), t.rtcp.address);
      if (addr === null) bad('a=rtcp address is not a unicast address of its type', { line: l.lineNo });
    }
    rtcp = { port, address: addr };
  }
  return {
    ...base,
    port: plainPort,
    connection: connection(lines, t.connection, `media ${index + 1}`),
    rtcp,
    rtcpMux: attrs.some((l) => l.value === 'rtcp-mux'),
  };
}

/** Parses an SDP body. Throws RelayError('E_BAD_SDP') with a line number on anything malformed. */
export function parseSdp(text: string): ParsedSdp {
  const doc = splitSdp(text);
  const t = transformParse(text);
  // Both split on the same line rule, so the media lists line up one to one.
  if (t.media.length !== doc.media.length) bad('SDP structure not understood');
  const conn = connection(doc.session, t.connection, 'session');
  const media = doc.media.map((lines, i) => mediaSection(lines, i, t.media[i], doc.session));
  for (const m of media) {
    if (m.cls !== 'other' && m.port !== 0 && m.connection === null && conn === null) {
      bad('media without a connection address', { line: doc.media[m.index]![0]!.lineNo });
    }
  }
  return { doc, origin: origin(doc.session, t.origin), connection: conn, media };
}
