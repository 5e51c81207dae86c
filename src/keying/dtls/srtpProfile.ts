// DTLS-SRTP protection profile negotiation (RFC 5764 §4.1.1–4.1.2). Pure functions that fail
// closed and return a decision value; the state machine commits it (pion/dtls style).
//
// Profiles are suite-table entries with a `dtlsId`; our order is the table's `rank`
// (strongest first), never the peer's. The policy narrows the table: a named subset, a minimum
// rank, and NULL-cipher profiles only with an insecure option. An empty intersection is an
// error, never a silent fallback: OpenSSL would complete such a handshake with no profile at
// all, leaving the media unkeyed.
import { SUITES, suiteByDtlsId, type CryptoSuite, type SuiteName } from '../../crypto/suites.ts';
import { Alert, DtlsError } from './DtlsError.ts';

export interface SrtpProfilePolicy {
  /** Suites (SDES names from the suite table) that may be negotiated. Default: every table suite with a DTLS-SRTP profile. */
  readonly suites?: readonly SuiteName[];
  /** Lowest acceptable suite rank. Default 0. */
  readonly minRank?: number;
  /** Allow profiles that do not encrypt (SRTP_NULL_*). Default false. */
  readonly insecureAllowNullCipher?: boolean;
}

export interface SrtpProfileDecision {
  /** RFC 5764 profile id. */
  readonly profileId: number;
  readonly suite: CryptoSuite;
}

function permitted(s: CryptoSuite, policy: SrtpProfilePolicy): boolean {
  if (s.dtlsId === null) return false;
  if (!s.encrypts && policy.insecureAllowNullCipher !== true) return false;
  if (s.rank < (policy.minRank ?? 0)) return false;
  return policy.suites === undefined || policy.suites.includes(s.name);
}

/** Suites the policy allows over DTLS-SRTP, strongest first. */
export function acceptableSuites(policy: SrtpProfilePolicy = {}): CryptoSuite[] {
  return SUITES.filter((s) => permitted(s, policy)).sort((a, b) => b.rank - a.rank);
}

/** Profile ids a client offers in use_srtp, strongest first. */
export function offeredProfiles(policy: SrtpProfilePolicy = {}): number[] {
  return acceptableSuites(policy).map((s) => s.dtlsId as number);
}

/**
 * Server side: picks the strongest profile in offered ∩ policy, in our order. Profiles the
 * table does not know are ignored (RFC 5764 lets a client list unknown ones).
 */
export function negotiateSrtpProfile(offered: readonly number[], policy: SrtpProfilePolicy = {}): SrtpProfileDecision | DtlsError {
  for (const s of acceptableSuites(policy)) {
    if (offered.includes(s.dtlsId as number)) return { profileId: s.dtlsId as number, suite: s };
  }
  return new DtlsError('E_DTLS_NO_SRTP_PROFILE', 'no SRTP protection profile in common with the peer and the policy', {
    offered: offered.map((p) => `0x${p.toString(16).padStart(4, '0')}`).join(',') || 'none',
  }, Alert.handshakeFailure);
}

/**
 * Client side: the server's use_srtp answer must name exactly one profile, one we offered and
 * the policy allows (RFC 5764 §4.1.3: otherwise abort with illegal_parameter). `selected`
 * is null when the server sent no use_srtp at all.
 */
export function checkSelectedProfile(selected: readonly number[] | null, offered: readonly number[], policy: SrtpProfilePolicy = {}): SrtpProfileDecision | DtlsError {
  if (selected === null || selected.length === 0) {
    return new DtlsError('E_DTLS_NO_SRTP_PROFILE', 'server negotiated no SRTP protection profile', undefined, Alert.handshakeFailure);
  }
  const id = selected[0] as number;
  const suite = suiteByDtlsId(id);
  if (selected.length !== 1 || !offered.includes(id) || suite === undefined || !permitted(suite, policy)) {
    return new DtlsError('E_DTLS_NO_SRTP_PROFILE', 'server chose an SRTP protection profile we did not offer', {
      profile: `0x${id.toString(16).padStart(4, '0')}`, count: selected.length,
    }, Alert.illegalParameter);
  }
  return { profileId: id, suite };
}
