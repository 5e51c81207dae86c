// Named media interfaces: where a leg's sockets bind and which address its SDP advertises.
// A border element sits between networks (an `internal` interface on a private address, an
// `external` one on a public or IPv6 address); the ng `direction` key names them per leg.
//
// Text form, as rtpengine's --interface takes it: `name/address[!advertised]`, or a bare
// address for the interface 'default' (`10.0.0.1`, `external/2001:db8::1!2001:db8::99`).
import { isIP } from 'node:net';
import { RelayError } from '../errors.ts';
import { familyOf, type AddressFamily } from './types.ts';

export interface MediaInterfaceOptions {
  /** Name the ng `direction` key uses. Letters, digits, `-`, `_`, `.`; at most 32 characters. */
  name: string;
  /** Address the media sockets bind to (IPv4 or IPv6; `0.0.0.0`/`::` need `advertised`). */
  address: string;
  /** Address written into SDP when it differs from `address` (NAT, wildcard bind). Same family. Default `address`. */
  advertised?: string;
}

export interface MediaInterface {
  readonly name: string;
  readonly address: string;
  readonly advertised: string;
  readonly family: AddressFamily;
}

/** Name of the single interface made from `mediaAddress`/`advertisedAddress`. */
export const DEFAULT_INTERFACE = 'default';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;

function bad(message: string, entry: string): RelayError {
  return new RelayError('E_BAD_REQUEST', message, { interface: entry.slice(0, 80) });
}

/** Parses `name/address[!advertised]` or a bare address. Throws E_BAD_REQUEST. */
export function parseInterfaceSpec(text: string): MediaInterfaceOptions {
  const s = text.trim();
  const slash = s.indexOf('/');
  const name = slash < 0 ? DEFAULT_INTERFACE : s.slice(0, slash);
  const rest = slash < 0 ? s : s.slice(slash + 1);
  const bang = rest.indexOf('!');
  const address = bang < 0 ? rest : rest.slice(0, bang);
  const advertised = bang < 0 ? undefined : rest.slice(bang + 1);
  return advertised === undefined ? { name, address } : { name, address, advertised };
}

/** The one text form of an interface (for --help, logs and round trips). */
export function formatInterfaceSpec(i: MediaInterfaceOptions): string {
  return `${i.name}/${i.address}${i.advertised !== undefined && i.advertised !== i.address ? `!${i.advertised}` : ''}`;
}

/** Validates the list: at least one, unique names, IP addresses, advertised of the same family. */
export function resolveInterfaces(list: readonly MediaInterfaceOptions[]): MediaInterface[] {
  if (list.length === 0) throw new RelayError('E_BAD_REQUEST', 'at least one media interface is needed');
  const seen = new Set<string>();
  return list.map((o) => {
    const entry = formatInterfaceSpec(o);
    if (!NAME.test(o.name)) throw bad('interface name must be 1-32 letters, digits, -, _ or .', entry);
    if (seen.has(o.name)) throw bad('duplicate interface name', entry);
    seen.add(o.name);
    if (isIP(o.address) === 0) throw bad('interface address is not an IP address', entry);
    const advertised = o.advertised ?? o.address;
    if (isIP(advertised) === 0) throw bad('advertised address is not an IP address', entry);
    // The SDP address family decides where the far end sends: it must be the socket's family.
    if (familyOf(advertised) !== familyOf(o.address)) throw bad('advertised address must have the family of the bind address', entry);
    return { name: o.name, address: o.address, advertised, family: familyOf(o.address) };
  });
}
