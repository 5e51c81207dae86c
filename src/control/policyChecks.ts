// The offer/answer consistency checks of the crypto policy (issue 7, RFC 6404 §2.4 bid-down),
// their names, and what one check does when it fires: refuse (throw the check's RelayError) or
// audit (record the violation and let the caller go on in the safest way still possible).
//
// Deciding stays pure: a check never logs or emits. Violations are collected in an Audit that
// the caller turns into warnings and, only once the request committed, into security events,
// so a request that is refused later (by another check) leaves no "proceeded" event behind.
import { RelayError } from '../errors.ts';

/**
 * Every check the policy names, in the order of the issue's list. The kebab-case form of each
 * (`short-tag`) is how ng flags name it (`audit-short-tag`, `refuse-short-tag`).
 */
export const POLICY_CHECKS = [
  /** The answer chose a tag the relay did not offer, or another suite under an offered tag. */
  'answerSuiteNotOffered',
  /** Only suites weaker than the policy's minimum were offered (or answered). */
  'weakerThanPolicy',
  /** The answer fell back from RTP/SAVP(F) or UDP/TLS to plain RTP/AVP(F). */
  'transportDowngrade',
  /** RTP/SAVP(F) without any a=crypto line (offer or answer). */
  'cryptoStripped',
  /** a=fingerprint or a=setup changed on an established DTLS-SRTP leg (re-offer or re-answer). */
  'dtlsChanged',
  /** The DTLS handshake agreed a weaker SRTP profile than the SDP committed the call to. */
  'dtlsWeakerProfile',
  /** UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP or UNAUTHENTICATED_SRTP on the only usable line. */
  'weakeningParams',
  /** A 32-bit authentication tag where the policy wants 80 bits or more. */
  'shortTag',
  /** An a=crypto key lifetime below the policy's minimum or above its maximum. */
  'lifetime',
  /** A re-offer or re-answer that re-keys a side to a weaker suite (or to plain RTP) than it runs. */
  'reinviteWeaker',
  /** SDES keys from or to a leg whose signalling the SBE marked unprotected (RFC 4568 §8.3). */
  'sdesInsecureSignalling',
] as const;
export type PolicyCheck = (typeof POLICY_CHECKS)[number];

export type CheckVerdict = 'refuse' | 'audit';
export type ViolationVerdicts = Readonly<Record<PolicyCheck, CheckVerdict>>;

/** Every check refuses: the default, and the only safe reading of a missing entry. */
export const REFUSE_ALL: ViolationVerdicts = Object.freeze(
  Object.fromEntries(POLICY_CHECKS.map((c) => [c, 'refuse'])) as Record<PolicyCheck, CheckVerdict>,
);

export function isPolicyCheck(v: string): v is PolicyCheck {
  return (POLICY_CHECKS as readonly string[]).includes(v);
}

/** `shortTag` → `short-tag` (ng flag spelling). */
export function kebabOf(check: PolicyCheck): string {
  return check.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const BY_KEBAB = new Map<string, PolicyCheck>(POLICY_CHECKS.map((c) => [kebabOf(c), c]));

/** A check from its camelCase or kebab-case name (case-insensitive), or undefined. */
export function checkByName(name: string): PolicyCheck | undefined {
  const lower = name.toLowerCase();
  return BY_KEBAB.get(lower) ?? POLICY_CHECKS.find((c) => c.toLowerCase() === lower.replace(/[-_]/g, ''));
}

/** One violation the policy let through: what fired and the error it would have refused with. */
export interface PolicyViolation {
  readonly check: PolicyCheck;
  /** The error code the refusal would have carried (E_BID_DOWN, E_BAD_SDP, ...). */
  readonly code: RelayError['code'];
  /** The refusal's message: check names, tags, suites and counts only, never keys. */
  readonly message: string;
  /** 1-based m= line, when the violation concerns one. */
  readonly media?: number;
}

/**
 * Collects the violations of one request. `violate` is the single place a check's verdict is
 * applied: it throws the refusal, or records it and returns so the caller can go on.
 */
export class Audit {
  readonly #verdicts: ViolationVerdicts;
  readonly #list: PolicyViolation[] = [];

  constructor(verdicts: ViolationVerdicts) {
    this.#verdicts = verdicts;
  }

  get violations(): readonly PolicyViolation[] { return this.#list; }

  verdict(check: PolicyCheck): CheckVerdict {
    return this.#verdicts[check] ?? 'refuse';
  }

  /** Throws `error` when `check` refuses; otherwise records it (tagged with `media`) and returns. */
  violate(check: PolicyCheck, error: RelayError, media?: number): void {
    if (this.verdict(check) !== 'audit') throw error;
    this.record({ check, code: error.code, message: error.message, ...(media !== undefined ? { media } : {}) });
  }

  /** Records a violation already let through by a pure step (negotiate.ts decisions carry them). */
  record(v: PolicyViolation): void {
    this.#list.push(Object.freeze({ ...v }));
  }

  /** One warning line per violation, for the ng/HTTP reply. */
  warnings(): string[] {
    return this.#list.map((v) => `${v.media !== undefined ? `media ${v.media}: ` : ''}policy audit ${v.check} (${v.code}): call proceeds`);
  }
}
