export type AddressFamily = 'IPv4' | 'IPv6';

/** A UDP transport address. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export function sameEndpoint(a: Endpoint | null, address: string, port: number): boolean {
  return a !== null && a.port === port && a.address === address;
}

export function familyOf(address: string): AddressFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

export function formatEndpoint(e: Endpoint | null): string {
  if (!e) return '-';
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
