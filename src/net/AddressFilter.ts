// Which source addresses may talk to a control interface: a list of CIDR blocks.
//
// Built on node:net's BlockList, so address parsing and prefix matching are Node's, not ours.
// An IPv4-mapped IPv6 source (::ffff:a.b.c.d, what a dual-stack socket reports) is checked
// as the IPv4 address it carries, so `10.0.0.0/8` also admits it; without that, binding to
// `::` would silently lock out every IPv4 SBE, or an IPv6 rule would be needed to let one in.
import { BlockList, isIP } from 'node:net';
import { RelayError } from '../errors.ts';

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export class AddressFilter {
  readonly #list = new BlockList();
  /** The entries as given (normalised to `address/prefix`), for logs and --help. */
  readonly entries: readonly string[];

  /** Throws RelayError E_BAD_REQUEST on an entry that is not `address` or `address/prefix`. */
  constructor(cidrs: readonly string[]) {
    const entries: string[] = [];
    for (const raw of cidrs) {
      const s = raw.trim();
      const slash = s.indexOf('/');
      const address = slash < 0 ? s : s.slice(0, slash);
      const family = isIP(address);
      if (family === 0) throw new RelayError('E_BAD_REQUEST', 'not an IP address or CIDR block', { entry: s.slice(0, 64) });
      const max = family === 4 ? 32 : 128;
      const prefixText = slash < 0 ? String(max) : s.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
        throw new RelayError('E_BAD_REQUEST', 'bad CIDR prefix length', { entry: s.slice(0, 64) });
      }
      this.#list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      entries.push(`${address}/${prefix}`);
    }
    this.entries = entries;
  }

  /** True when `address` lies in one of the blocks. Unparseable addresses are refused. */
  allows(address: string): boolean {
    const mapped = MAPPED_V4.exec(address);
    const a = mapped ? mapped[1]! : address;
    const family = isIP(a);
    if (family === 0) return false;
    return this.#list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** True for addresses only this host can reach: 127.0.0.0/8, ::1, and ::ffff:127.x. */
export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK.allows(address) || address.toLowerCase() === 'localhost';
}

const LOOPBACK = new AddressFilter(['127.0.0.0/8', '::1/128']);
