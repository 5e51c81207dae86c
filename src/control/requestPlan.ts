// Per-request helpers of the call controller, pure: the options an ng request sets, the far
// end's address from a media section, the session-level rewrite, warnings for what is ignored,
// and the a=crypto text in and out. No state and no key retention here: parsed keys go into
// the caller's `held` list, which the caller wipes.
import { isIP, SocketAddress } from 'node:net';
import { RelayError } from '../errors.ts';
import { formatCryptoAttribute, parseCryptoAttribute, SdesCrypto } from '../keying/sdes.ts';
import type { CryptoLine } from '../keying/negotiate.ts';
import type { Endpoint } from '../net/types.ts';
import { isZeroAddress } from '../sdp/parse.ts';
import { hasIceAttributes } from '../sdp/rewrite.ts';
import type { ParsedSdp, SdpAddress, SdpCryptoText, SdpMedia } from '../sdp/sdpTypes.ts';
import type { NgRequestBase, RtcpMuxOption } from './ngRequest.ts';

/** Flags that need no action (their behaviour is the default) or that optionsOf reads. */
const KNOWN_FLAGS = new Set(['trust-address', 'symmetric', 'strict-source', 'sip-source-address', 'fatal']);
const HANDLED_REPLACE = new Set(['origin', 'origin-full', 'session-connection', 'zero-address']);

export interface RemoteAddress {
  readonly rtp: Endpoint | null;
  readonly rtcp: Endpoint | null;
  /** The c= was a hold address; it is echoed instead of the relay's unless `replace zero-address`. */
  readonly hold: SdpAddress | null;
}

/** One request's options that shape the SDP and the streams, read once. */
export interface RequestOptions {
  /** The relay's media address as SDP writes it: the advertised address of this side's interface. */
  readonly address: SdpAddress;
  /** The call's legs are on different interfaces: o= and the session c= are always rewritten,
   *  and disabled sections lose their c=, so no address of the other side shows (topology hiding). */
  readonly crossing: boolean;
  readonly replaceOrigin: boolean;
  readonly replaceSession: boolean;
  readonly replaceZero: boolean;
  readonly sourceAddress: string | null;
  readonly strictSource: boolean | undefined;
  readonly mux: ReadonlySet<RtcpMuxOption>;
}

export function mediaNo(m: SdpMedia): number {
  return m.index + 1;
}

/** The same error with the m= line it concerns appended to its context. */
export function inMedia(e: RelayError, m: SdpMedia): RelayError {
  return new RelayError(e.code, `${e.message}[media:${mediaNo(m)}]`);
}

export function addressOf(ip: string): SdpAddress {
  return { addrType: isIP(ip) === 6 ? 'IP6' : 'IP4', address: ip };
}

/** Parses a media's a=crypto lines; malformed ones become markers, known ones go into `held`. */
export function parseLines(texts: readonly SdpCryptoText[], held: SdesCrypto[]): CryptoLine[] {
  return texts.map((t): CryptoLine => {
    try {
      const c = parseCryptoAttribute(t.value, { line: t.lineNo });
      if (c.kind === 'crypto') held.push(c);
      return c;
    } catch (e) {
      if (e instanceof RelayError && e.code === 'E_BAD_CRYPTO') return { kind: 'malformed', line: t.lineNo };
      throw e;
    }
  });
}

/** Formats the relay's key as an a=crypto value under `tag`, in the peer's base64 style. */
export function cryptoValue(key: SdesCrypto, tag: number, padded: boolean): string {
  // A re-announced key may need another tag; the view shares (does not copy) the key buffers.
  const view = key.tag === tag ? key : new SdesCrypto({ tag, suite: key.suite, keys: key.keys });
  return formatCryptoAttribute(view, { padding: padded ? 'padded' : 'unpadded' });
}

export function optionsOf(req: NgRequestBase, address: SdpAddress): RequestOptions {
  const flags = new Set(req.flags);
  return {
    address,
    crossing: false,
    replaceOrigin: req.replace.includes('origin') || req.replace.includes('origin-full'),
    replaceSession: req.replace.includes('session-connection'),
    replaceZero: req.replace.includes('zero-address'),
    sourceAddress: flags.has('sip-source-address') && req.receivedFrom !== undefined ? req.receivedFrom[1] : null,
    strictSource: flags.has('strict-source') ? true : undefined,
    mux: new Set(req.rtcpMux),
  };
}

/** Warnings for request options the controller does not act on. */
export function ignoredOptions(req: NgRequestBase, sdp: ParsedSdp): string[] {
  const warnings: string[] = [];
  if (req.recordCall === true) warnings.push('record-call not supported');
  if (req.ice !== 'remove' && hasIceAttributes(sdp.doc)) warnings.push('ICE not supported: ICE attributes removed');
  const replace = req.replace.filter((r) => !HANDLED_REPLACE.has(r));
  if (replace.length > 0) warnings.push(`replace options not supported: ${replace.join(',')}`);
  const flags = req.flags.filter((f) => !KNOWN_FLAGS.has(f));
  if (flags.length > 0) warnings.push(`flags ignored: ${flags.slice(0, 8).map((f) => f.slice(0, 32)).join(',')}`);
  return warnings;
}

/** Where the far end of a media section wants media; a hold address gives no destination. */
export function remoteOf(m: SdpMedia, sdp: ParsedSdp, o: RequestOptions): RemoteAddress {
  const conn = m.connection ?? sdp.connection;
  if (conn === null) throw new RelayError('E_BAD_SDP', 'media without a connection address', { media: mediaNo(m) });
  if (isZeroAddress(conn.address)) return { rtp: null, rtcp: null, hold: conn };
  const address = canonical(o.sourceAddress ?? conn.address);
  const rtcpAddress = canonical(o.sourceAddress ?? m.rtcp?.address?.address ?? address);
  return {
    rtp: { address, port: m.port },
    rtcp: { address: rtcpAddress, port: m.rtcp?.port ?? m.port + 1 },
    hold: null,
  };
}

/**
 * An IPv6 address as the socket layer writes a packet's source (`2001:db8::1`): SDP may spell
 * it otherwise (`2001:DB8:0:0::1`), and the data path compares addresses as strings (the
 * signalled peer is never banned, strict source, latching).
 */
function canonical(address: string): string {
  if (isIP(address) !== 6) return address;
  const zone = address.indexOf('%');
  const plain = new SocketAddress({ address: zone < 0 ? address : address.slice(0, zone), family: 'ipv6' }).address;
  return zone < 0 ? plain : `${plain}${address.slice(zone)}`;
}

/** The relay's address for a section, or the peer's hold address when that must be echoed. */
export function connectionFor(remote: RemoteAddress, o: RequestOptions): SdpAddress {
  return remote.hold !== null && !o.replaceZero ? remote.hold : o.address;
}

/**
 * Session-level parts of a plan: o= and c= per the request's `replace` options, and always
 * when the call crosses interfaces (the other side's address must not show there).
 */
export function sessionPlan(sdp: ParsedSdp, o: RequestOptions): { origin: SdpAddress | null; sessionConnection: SdpAddress | null } {
  const c = sdp.connection;
  const replaceC = (o.replaceSession || o.crossing) && c !== null && (o.replaceZero || !isZeroAddress(c.address));
  return { origin: o.replaceOrigin || o.crossing ? o.address : null, sessionConnection: replaceC ? o.address : null };
}
