// Pure SDP rewriting: SDP text in, SDP text out, following a typed plan the call controller
// built. Only the lines the plan is about change; every other line (unknown attributes, b=,
// rtpmap/fmtp, directions, unknown m= sections) is copied byte for byte and in its place
// (RFC 6271 requirement 17). Output uses CRLF line ends whatever the input used.
//
// What is always removed, because it must never cross the relay:
// - a=crypto and a=key-mgmt lines and k= lines in relayed or disabled sections and at session
//   level: they carry the other side's keys (a=crypto at session level is not even valid);
//   relayed sections get the plan's own a=crypto lines instead;
// - with `removeIce`, ICE attributes in every section (candidates name the peer's addresses).
import { RelayError } from '../errors.ts';
import { attributeName, splitSdp } from './parse.ts';
import type { MediaRewrite, RewritePlan, SdpAddress, SdpDocument, SdpLine } from './sdpTypes.ts';

const ICE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'ice-ufrag', 'ice-pwd', 'ice-options', 'ice-lite', 'ice-mismatch', 'ice-pacing',
  'candidate', 'remote-candidates', 'end-of-candidates',
]);
const KEYING_ATTRIBUTES: ReadonlySet<string> = new Set(['crypto', 'key-mgmt']);
/**
 * DTLS-SRTP attributes (RFC 8122, RFC 4145, RFC 8842): they describe one transport hop, so the
 * peer's never cross the relay; a DTLS side gets the relay's own fingerprint and setup.
 */
const DTLS_ATTRIBUTES: ReadonlySet<string> = new Set(['fingerprint', 'setup', 'tls-id', 'connection']);

/** Rewritten lines carry no input position. */
type OutLine = Pick<SdpLine, 'type' | 'value'>;

function connectionValue(a: SdpAddress): string {
  return `IN ${a.addrType} ${a.address}`;
}

function isIce(l: OutLine): boolean {
  return l.type === 'a' && ICE_ATTRIBUTES.has(attributeName(l.value));
}

/** Whether any section carries ICE attributes (so that removing them is worth a warning). */
export function hasIceAttributes(doc: SdpDocument): boolean {
  return doc.session.some(isIce) || doc.media.some((lines) => lines.some(isIce));
}

function isDtls(l: OutLine): boolean {
  return l.type === 'a' && DTLS_ATTRIBUTES.has(attributeName(l.value));
}

function isKeying(l: OutLine): boolean {
  return l.type === 'k' || (l.type === 'a' && KEYING_ATTRIBUTES.has(attributeName(l.value)));
}

/** Index after the m= line and any i= lines: where RFC 4566 puts a media-level c=. */
function connectionSlot(lines: readonly OutLine[]): number {
  let i = 1;
  while (i < lines.length && lines[i]!.type === 'i') i++;
  return i;
}

function withPort(mValue: string, port: number, protocol?: string): string {
  const f = mValue.split(' ');
  f[1] = String(port);
  if (protocol !== undefined) f[2] = protocol;
  return f.join(' ');
}

function rewriteRelay(lines: readonly OutLine[], plan: Extract<MediaRewrite, { kind: 'relay' }>,
  sessionConnection: string | null, removeIce: boolean): OutLine[] {
  const conn = connectionValue(plan.connection);
  const out: OutLine[] = [{ type: 'm', value: withPort(lines[0]!.value, plan.port, plan.protocol) }];
  const cryptoLines = plan.crypto.map((value): OutLine => ({ type: 'a', value: `crypto:${value}` }));
  const dtlsLines: OutLine[] = plan.dtls ? [{ type: 'a', value: `fingerprint:${plan.dtls.fingerprint}` }, { type: 'a', value: `setup:${plan.dtls.setup}` }] : [];
  let cryptoPlaced = false;
  let dtlsPlaced = false;
  let rtcpSeen = false;
  let muxPresent = false;
  const hasConnection = lines.some((l) => l.type === 'c');
  for (const l of lines.slice(1)) {
    if (l.type === 'c') { out.push({ type: 'c', value: conn }); continue; }
    if (removeIce && isIce(l)) continue;
    if (isDtls(l)) {
      if (!dtlsPlaced) { out.push(...dtlsLines); dtlsPlaced = true; }
      continue;
    }
    if (isKeying(l)) {
      // The relay's own lines go where the peer's first line was, so the section keeps its shape.
      if (!cryptoPlaced && l.type === 'a') { out.push(...cryptoLines); cryptoPlaced = true; }
      continue;
    }
    if (l.type === 'a' && attributeName(l.value) === 'rtcp') {
      const hadAddress = l.value.includes(' ');
      out.push({ type: 'a', value: hadAddress ? `rtcp:${plan.rtcpPort} ${conn}` : `rtcp:${plan.rtcpPort}` });
      rtcpSeen = true;
      if (plan.rtcpMux && !lines.some((x) => x.type === 'a' && x.value === 'rtcp-mux')) {
        out.push({ type: 'a', value: 'rtcp-mux' });
        muxPresent = true;
      }
      continue;
    }
    if (l.type === 'a' && l.value === 'rtcp-mux') {
      if (plan.rtcpMux && !muxPresent) { out.push(l); muxPresent = true; }
      continue;
    }
    out.push(l);
  }
  if (!hasConnection && sessionConnection !== conn) out.splice(connectionSlot(out), 0, { type: 'c', value: conn });
  if (!rtcpSeen && plan.addRtcp) out.push({ type: 'a', value: `rtcp:${plan.rtcpPort}` });
  if (plan.rtcpMux && !muxPresent) out.push({ type: 'a', value: 'rtcp-mux' });
  if (!cryptoPlaced) out.push(...cryptoLines);
  if (!dtlsPlaced) out.push(...dtlsLines);
  return out;
}

function rewriteDisabled(lines: readonly OutLine[], plan: Extract<MediaRewrite, { kind: 'disabled' }>, removeIce: boolean): OutLine[] {
  const out: OutLine[] = [{ type: 'm', value: withPort(lines[0]!.value, 0) }];
  for (const l of lines.slice(1)) {
    if (isKeying(l) || isDtls(l) || (removeIce && isIce(l))) continue;
    out.push(l.type === 'c' && plan.connection !== null ? { type: 'c', value: connectionValue(plan.connection) } : l);
  }
  return out;
}

function rewritePassthrough(lines: readonly OutLine[], originalSessionConnection: OutLine | null,
  sessionReplaced: boolean, removeIce: boolean, sessionDtls: readonly OutLine[]): OutLine[] {
  const out = removeIce ? lines.filter((l) => !isIce(l)) : [...lines];
  // Session-level DTLS attributes were taken off the session (they must not reach relayed
  // sections); a section that is not relayed still needs them, so it gets its own copies.
  for (const d of sessionDtls) {
    if (!lines.some((l) => l.type === 'a' && attributeName(l.value) === attributeName(d.value))) out.push(d);
  }
  // Not relayed: the section must keep pointing at the peer even when the session c= now names the relay.
  if (sessionReplaced && originalSessionConnection !== null && !lines.some((l) => l.type === 'c')) {
    out.splice(connectionSlot(out), 0, originalSessionConnection);
  }
  return out;
}

/**
 * Applies `plan` to `sdp`. Throws RelayError('E_BAD_SDP') for SDP that does not split into
 * lines and sections, and E_INTERNAL when the plan does not match the SDP (a caller bug).
 */
export function rewriteSdp(sdp: string, plan: RewritePlan): string {
  const doc = splitSdp(sdp);
  if (plan.media.length !== doc.media.length) {
    throw new RelayError('E_INTERNAL', 'rewrite plan does not match the SDP', { plan: plan.media.length, media: doc.media.length });
  }
  const out: OutLine[] = [];
  const originalC = doc.session.find((l) => l.type === 'c') ?? null;
  const sessionReplaced = originalC !== null && plan.sessionConnection !== null;
  const sessionDtls = doc.session.filter(isDtls);
  for (const l of doc.session) {
    if (isKeying(l) || isDtls(l) || (plan.removeIce && isIce(l))) continue;
    if (l.type === 'o' && plan.origin !== null) {
      const f = l.value.split(' ');
      if (f.length !== 6) throw new RelayError('E_BAD_SDP', 'malformed o= line', { line: l.lineNo });
      out.push({ type: 'o', value: `${f.slice(0, 3).join(' ')} ${connectionValue(plan.origin)}` });
    } else if (l.type === 'c' && plan.sessionConnection !== null) {
      out.push({ type: 'c', value: connectionValue(plan.sessionConnection) });
    } else {
      out.push(l);
    }
  }
  const sessionConnection = originalC === null ? null : plan.sessionConnection !== null ? connectionValue(plan.sessionConnection) : originalC.value;
  doc.media.forEach((lines, i) => {
    const m = plan.media[i]!;
    switch (m.kind) {
      case 'relay': out.push(...rewriteRelay(lines, m, sessionConnection, plan.removeIce)); break;
      case 'disabled': out.push(...rewriteDisabled(lines, m, plan.removeIce)); break;
      case 'passthrough': out.push(...rewritePassthrough(lines, originalC, sessionReplaced, plan.removeIce, sessionDtls)); break;
    }
  });
  return `${out.map((l) => `${l.type}=${l.value}`).join('\r\n')}\r\n`;
}
