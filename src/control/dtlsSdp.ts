// DTLS-SRTP signalling decisions of the call controller, pure (STYLE rule 18): the peer's
// a=fingerprint values in canonical form, and which DTLS role the relay takes from a=setup
// (RFC 5763 §5, RFC 4145 §4). Nothing here touches a stream.
//
// - Fingerprints: hash names in any case (baresip writes `SHA-256`); sha-256/384/512 kept;
//   a line with only sha-1 is a bid-down (E_BID_DOWN); nothing parseable is E_BAD_SDP.
// - Roles: answering `actpass`, the relay answers `active` (it is the DTLS client) unless the
//   request's `DTLS` says passive; answering `active` or no a=setup at all (baresip's default
//   is active), it answers `passive`; answering `passive`, it answers `active`.
import { RelayError } from '../errors.ts';
import { DtlsError, formatFingerprint, parseFingerprint } from '../keying/dtls/index.ts';
import type { DtlsMode } from './ngRequest.ts';

export type DtlsRole = 'client' | 'server';
export type SetupValue = 'active' | 'passive' | 'actpass';

/** The a=setup the relay writes for a role it took. */
export function setupOf(role: DtlsRole): 'active' | 'passive' {
  return role === 'client' ? 'active' : 'passive';
}

/** Checks a peer's a=setup (lower-cased by the parser); null when absent. */
export function peerSetup(value: string | null, media: number): SetupValue | null {
  if (value === null) return null;
  if (value === 'active' || value === 'passive' || value === 'actpass') return value;
  throw new RelayError('E_BAD_SDP', 'a=setup value not supported for DTLS-SRTP (active, passive or actpass)', { media });
}

/**
 * The peer's fingerprints, canonical and sorted (so a re-offer can be compared). Throws
 * E_BID_DOWN when sha-1 is all there is, E_BAD_SDP when no line parses.
 */
export function canonicalFingerprints(values: readonly string[], media: number): string[] {
  if (values.length === 0) throw new RelayError('E_BAD_SDP', 'DTLS-SRTP media without a=fingerprint', { media });
  const out = new Set<string>();
  let sha1 = 0;
  for (const v of values) {
    try {
      const fp = parseFingerprint(v, { insecureAllowSha1: true });
      if (fp.algorithm === 'sha-1') { sha1++; continue; }
      out.add(formatFingerprint(fp));
    } catch (e) {
      if (!(e instanceof DtlsError)) throw e;
    }
  }
  if (out.size === 0 && sha1 > 0) throw new RelayError('E_BID_DOWN', 'a=fingerprint uses sha-1 only (sha-256 or stronger required)', { media });
  if (out.size === 0) throw new RelayError('E_BAD_SDP', 'no usable a=fingerprint for DTLS-SRTP (sha-256/384/512 expected)', { media, given: values.length });
  return [...out].sort();
}

/** The relay's role when it answers a DTLS offer with a=setup `setup`. */
export function answeringRole(setup: SetupValue | null, want: DtlsMode | undefined, warnings: string[], media: number): DtlsRole {
  switch (setup) {
    case 'actpass': return want === 'passive' ? 'server' : 'client';
    case 'passive':
      if (want === 'passive') warnings.push(`media ${media}: DTLS passive not possible: the peer is passive`);
      return 'client';
    default:
      // 'active', or no a=setup (RFC 4145 §4 default; what baresip sends): the peer connects.
      if (want === 'active') warnings.push(`media ${media}: DTLS active not possible: the peer is active`);
      return 'server';
  }
}

/** The relay's role from the a=setup of an answer to its own offer of `offered`. */
export function roleFromAnswer(offered: SetupValue, setup: SetupValue | null, media: number): DtlsRole {
  if (setup === 'actpass') throw new RelayError('E_BAD_SDP', 'a=setup:actpass in an answer', { media });
  const peer = setup ?? 'active';
  if (offered !== 'actpass' && peer === offered) throw new RelayError('E_BAD_SDP', 'answer took the same DTLS role as the offer', { media });
  return peer === 'active' ? 'server' : 'client';
}

export function sameFingerprints(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
