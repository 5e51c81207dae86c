// DTLS-SRTP signalling decisions of the call controller, pure (STYLE rule 18): the peer's
// a=fingerprint values in canonical form, and which DTLS role the relay takes from a=setup
// (RFC 5763 §5, RFC 4145 §4). Nothing here touches a stream.
//
// - Fingerprints: hash names in any case (baresip writes `SHA-256`); those at or above the
//   policy's minimum hash kept (sha-1 never); a section whose only parseable fingerprints are
//   weaker is a bid-down (E_BID_DOWN); nothing parseable is E_BAD_SDP.
// - Roles: answering `actpass`, the relay answers `active` (it is the DTLS client) unless the
//   request's `DTLS` says passive; answering `active` or no a=setup at all (baresip's default
//   is active), it answers `passive`; answering `passive`, it answers `active`.
import { RelayError } from '../errors.ts';
import { DtlsError, formatFingerprint, parseFingerprint } from '../keying/dtls/index.ts';
import type { DtlsMode } from './ngRequest.ts';
import { hashAtLeast, type FingerprintHash } from './policy.ts';

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
 * The peer's fingerprints at or above `min`, canonical and sorted (so a re-offer can be
 * compared). Throws E_BID_DOWN when only weaker ones parse, E_BAD_SDP when no line parses.
 * Weaker ones are dropped rather than kept alongside: the handshake checks the strongest
 * expected hash, and a stored weak one could only ever matter to a later comparison.
 */
export function canonicalFingerprints(values: readonly string[], media: number, min: FingerprintHash = 'sha-256'): string[] {
  if (values.length === 0) throw new RelayError('E_BAD_SDP', 'DTLS-SRTP media without a=fingerprint', { media });
  const out = new Set<string>();
  let weak = 0;
  for (const v of values) {
    try {
      const fp = parseFingerprint(v, { insecureAllowSha1: true });
      if (!hashAtLeast(fp.algorithm, min)) { weak++; continue; }
      out.add(formatFingerprint(fp));
    } catch (e) {
      if (!(e instanceof DtlsError)) throw e;
    }
  }
  if (out.size === 0 && weak > 0) throw new RelayError('E_BID_DOWN', `a=fingerprint hashes are all weaker than the policy's ${min}`, { media, minimum: min });
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
