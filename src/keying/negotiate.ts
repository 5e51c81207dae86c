// SDES negotiation as pure functions that fail closed (STYLE rule 18, after pion/dtls):
// each returns a decision value or a typed error and changes nothing. Committing a decision
// (creating contexts, writing SDP) is the caller's separate step.
//
// Three questions, one function each:
// - negotiateOffer: which of an offerer's a=crypto lines does the relay accept?
//   The strongest the policy allows, by the table's rank.
// - suitesToOffer: which suites does the relay offer to the answering side?
//   The policy's, strongest first, none weaker than the offerer accepted (the other leg).
// - checkAnswer: is the answerer's a=crypto line one the relay offered, unchanged?
//
// Error codes: E_BID_DOWN when something weaker than allowed was all that was left or was
// chosen (below the minimum rank, a NULL cipher, UNENCRYPTED_*/UNAUTHENTICATED_SRTP, a suite
// swapped under an offered tag); E_NO_COMMON_SUITE when the offer was simply not usable (unknown
// or unlisted suites, parameters the data path cannot carry); E_BAD_SDP for answers that break
// RFC 4568's rules. Messages name tags, suites and counts only, never key material.
import { CIPHER_AES_CM, CIPHER_AES_F8 } from '../crypto/abi.ts';
import { suiteByName, type CryptoSuite } from '../crypto/suites.ts';
import { RelayError } from '../errors.ts';
import type { CryptoPolicy } from '../control/policy.ts';
import type { PolicyCheck, PolicyViolation } from '../control/policyChecks.ts';
import type { SdesCrypto, SdesUnknownSuite } from './sdes.ts';

/** An a=crypto line that did not parse (the caller keeps only where it was). */
export interface MalformedCryptoLine {
  readonly kind: 'malformed';
  /** SDP line number, when known. */
  readonly line?: number;
}

/** One a=crypto line as the SDP carried it, parsed. */
export type CryptoLine = SdesCrypto | SdesUnknownSuite | MalformedCryptoLine;

/** Why a line was or was not acceptable. */
export type LineVerdict =
  | 'accepted'
  | 'malformed'
  | 'unknown-suite'
  | 'duplicate-tag'
  | 'null-cipher'
  | 'below-minimum'
  | 'weakening-params'
  | 'not-allowed'
  | 'unsupported-params'
  | 'short-tag'
  | 'bad-lifetime';

/** Verdicts that mean "weaker than allowed": if nothing else is left, the offer is a bid-down. */
const WEAK: ReadonlySet<LineVerdict> = new Set(['null-cipher', 'below-minimum', 'weakening-params', 'short-tag', 'bad-lifetime']);

/**
 * Verdicts a policy may let through with an audit (the line is otherwise carried exactly as
 * the relay carries any line), and the check each one fires. The others never can: a NULL or
 * switched-off cipher, weakening parameters or parameters the core cannot carry would make
 * the relay itself weaken the call or break it.
 */
const AUDITABLE: ReadonlyMap<LineVerdict, PolicyCheck> = new Map([
  ['below-minimum', 'weakerThanPolicy'], ['short-tag', 'shortTag'], ['bad-lifetime', 'lifetime'],
]);

export interface LineReport {
  /** Position among the media's crypto lines, 0-based. */
  readonly index: number;
  readonly tag: number | null;
  /** Suite name: the table's, or the unknown name as sent (RFC 4568 charset, ≤ 64 chars). */
  readonly suite: string | null;
  readonly verdict: LineVerdict;
}

export interface OfferDecision {
  /** The offerer's tag the answer must repeat. */
  readonly tag: number;
  readonly suite: CryptoSuite;
  /** The accepted line (holds the offerer's key). */
  readonly line: SdesCrypto;
  /** Rank of the weakest line the relay would also have accepted: the floor for the other leg. */
  readonly floorRank: number;
  readonly reports: readonly LineReport[];
  /** Checks the policy let through (audit) to accept this line; empty when none fired. */
  readonly violations: readonly PolicyViolation[];
}

export type OfferResult =
  | { readonly ok: true; readonly decision: OfferDecision }
  | { readonly ok: false; readonly error: RelayError; readonly reports: readonly LineReport[] };

/** What checkAnswer needs to know of each line the relay offered. */
export interface OfferedSuite {
  readonly tag: number;
  readonly suite: CryptoSuite;
}

export interface AnswerDecision<T extends OfferedSuite = OfferedSuite> {
  /** The relay's offered line the answerer chose, as the caller passed it. */
  readonly offered: T;
  /** The answerer's line (holds the answerer's key). */
  readonly answer: SdesCrypto;
  /** Checks the policy let through (audit) to accept this answer; empty when none fired. */
  readonly violations: readonly PolicyViolation[];
}

export type AnswerResult<T extends OfferedSuite = OfferedSuite> =
  | { readonly ok: true; readonly decision: AnswerDecision<T> }
  /** `check`: the policy check that refused, when the refusal is one a caller may audit. */
  | { readonly ok: false; readonly error: RelayError; readonly check?: PolicyCheck };

function isAes192(s: CryptoSuite): boolean {
  // AES-192 is the only AES-CM key length of 24 bytes; the table answers, not the name.
  return s.cipher === CIPHER_AES_CM && s.keyLen === 24;
}

/**
 * Whether the policy's algorithm switches admit the suite at all, whatever its list says:
 * never a NULL cipher, AES-192 and F8 only when switched on.
 */
export function suiteAdmitted(policy: Pick<CryptoPolicy, 'allowAes192' | 'allowF8'>, s: CryptoSuite): boolean {
  if (!s.encrypts) return false;
  if (isAes192(s) && !policy.allowAes192) return false;
  if (s.cipher === CIPHER_AES_F8 && !policy.allowF8) return false;
  return true;
}

/** Session parameters that remove encryption or authentication (RFC 4568 §6.3.3–6.3.5). */
function weakens(c: SdesCrypto): boolean {
  return c.params.unencryptedSrtp || c.params.unencryptedSrtcp || c.params.unauthenticatedSrtp;
}

/**
 * Parameters the data path cannot honour: a context holds up to MAX_KEYS master keys with
 * MKIs of at most 4 bytes; no FEC keys. RFC 4568 §6.3 says an endpoint must decline a line
 * whose parameters it does not support rather than ignore them; an unknown parameter without
 * the `-` prefix is mandatory, so it too makes the line unusable. KDR, lifetimes and WSH are
 * carried (the core re-derives keys and enforces lifetimes).
 */
const MAX_KEYS = 2;
function unsupported(c: SdesCrypto): boolean {
  if (c.keys.length > MAX_KEYS) return true;
  if (c.keys.some((k) => k.mki !== undefined && (k.mki.length > 4 || k.mki.value > 0xffffffffn))) return true;
  if (c.keys.length > 1 && c.keys.some((k) => k.mki === undefined)) return true;
  if (c.params.fecKeys.length > 0) return true;
  return c.params.extensions.some((e) => !e.startsWith('-'));
}

/** An 80-bit-or-longer SRTP tag (bytes in the table), or the policy accepts 32-bit ones. */
function tagLongEnough(policy: CryptoPolicy, suite: CryptoSuite): boolean {
  return policy.minAuthTagBits <= 32 || suite.rtpTagLen * 8 >= policy.minAuthTagBits;
}

/** Whether the policy lets the relay use `suite` (list, switches, minimum and tag length). */
export function suiteAllowed(policy: CryptoPolicy, suite: CryptoSuite): boolean {
  return suiteAdmitted(policy, suite) && policy.suites.includes(suite.name) && suite.rank >= policy.minRank && tagLongEnough(policy, suite);
}
const allowed = suiteAllowed;

/** Whether every key of the line has a lifetime within the policy's bounds (absent: the suite's maximum). */
function lifetimeOk(c: SdesCrypto, policy: CryptoPolicy): boolean {
  return c.keys.every((k) => k.lifetime === undefined || (k.lifetime >= policy.minKeyLifetime && k.lifetime <= policy.maxKeyLifetime));
}

/**
 * Every reason the line is not acceptable, most serious first (the first is its verdict).
 * Weakness is listed before "not listed" so that a bid-down is reported as one; a suite the
 * list lacks only because of its rank or tag is not also reported as 'not-allowed'.
 */
function problemsOf(c: SdesCrypto, policy: CryptoPolicy): LineVerdict[] {
  if (!c.suite.encrypts) return ['null-cipher'];
  const out: LineVerdict[] = [];
  const low = c.suite.rank < policy.minRank;
  const short = !tagLongEnough(policy, c.suite);
  if (low) out.push('below-minimum');
  if (weakens(c)) out.push('weakening-params');
  if (short) out.push('short-tag');
  if (!suiteAdmitted(policy, c.suite) || (!low && !short && !policy.suites.includes(c.suite.name))) out.push('not-allowed');
  if (unsupported(c)) out.push('unsupported-params');
  if (!lifetimeOk(c, policy)) out.push('bad-lifetime');
  return out;
}

function verdictOf(c: SdesCrypto, policy: CryptoPolicy): LineVerdict {
  return problemsOf(c, policy)[0] ?? 'accepted';
}

/** The checks to audit for accepting `c`, or null when the policy does not let it through. */
function auditedChecks(c: SdesCrypto, policy: CryptoPolicy): PolicyCheck[] | null {
  const checks: PolicyCheck[] = [];
  for (const p of problemsOf(c, policy)) {
    const check = AUDITABLE.get(p);
    if (check === undefined || policy.onViolation[check] !== 'audit') return null;
    checks.push(check);
  }
  return checks;
}

const CHECK_MESSAGE: Readonly<Record<'weakerThanPolicy' | 'shortTag' | 'lifetime', string>> = {
  weakerThanPolicy: 'suite weaker than the policy minimum',
  shortTag: '32-bit authentication tag where the policy wants 80',
  lifetime: 'key lifetime outside the policy bounds',
};

/** Judges every line of one media's offer; a tag used twice makes each of its lines unusable. */
export function judgeOffer(lines: readonly CryptoLine[], policy: CryptoPolicy): LineReport[] {
  const tagCount = new Map<number, number>();
  for (const l of lines) if (l.kind !== 'malformed') tagCount.set(l.tag, (tagCount.get(l.tag) ?? 0) + 1);
  return lines.map((l, index): LineReport => {
    if (l.kind === 'malformed') return { index, tag: null, suite: null, verdict: 'malformed' };
    const suite = l.kind === 'crypto' ? l.suite.name : l.suiteName;
    // RFC 4568 §5.1.1: the tag identifies the line in the answer; with two, the answer is ambiguous.
    if ((tagCount.get(l.tag) ?? 0) > 1) return { index, tag: l.tag, suite, verdict: 'duplicate-tag' };
    if (l.kind === 'unknown-suite') return { index, tag: l.tag, suite, verdict: 'unknown-suite' };
    return { index, tag: l.tag, suite, verdict: verdictOf(l, policy) };
  });
}

function summary(reports: readonly LineReport[]): Record<string, string | number> {
  const counts = new Map<LineVerdict, number>();
  for (const r of reports) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  return { lines: reports.length, verdicts: [...counts].map(([v, n]) => `${v}*${n}`).join(',') };
}

/**
 * Picks the strongest acceptable line of an offer. Fails with E_NO_COMMON_SUITE when there is
 * none, or E_BID_DOWN when lines were refused for being too weak and nothing else was usable.
 */
export function negotiateOffer(lines: readonly CryptoLine[], policy: CryptoPolicy): OfferResult {
  const reports = judgeOffer(lines, policy);
  let best: SdesCrypto | null = null;
  let floorRank = Infinity;
  reports.forEach((r, i) => {
    if (r.verdict !== 'accepted') return;
    const c = lines[i] as SdesCrypto;
    if (best === null || c.suite.rank > best.suite.rank) best = c;
    floorRank = Math.min(floorRank, c.suite.rank);
  });
  if (best === null) {
    // Nothing acceptable as it is: the strongest line the policy lets through with an audit.
    let audited: { line: SdesCrypto; checks: PolicyCheck[] } | null = null;
    for (const l of lines) {
      if (l.kind !== 'crypto' || (reports[lines.indexOf(l)]?.verdict === 'duplicate-tag')) continue;
      const checks = auditedChecks(l, policy);
      if (checks !== null && checks.length > 0 && (audited === null || l.suite.rank > audited.line.suite.rank)) audited = { line: l, checks };
    }
    if (audited !== null) {
      const chosen = audited.line;
      const violations = audited.checks.map((check): PolicyViolation => ({
        check, code: 'E_BID_DOWN', message: `offer accepted with ${CHECK_MESSAGE[check as keyof typeof CHECK_MESSAGE]} [tag:${chosen.tag}][suite:${chosen.suite.name}]`,
      }));
      // The other leg gets what the policy gives on its own, never the audited weakness.
      return { ok: true, decision: { tag: chosen.tag, suite: chosen.suite, line: chosen, floorRank: policy.minRank, reports, violations } };
    }
    const weak = reports.some((r) => WEAK.has(r.verdict));
    const error = lines.length === 0
      ? new RelayError('E_NO_COMMON_SUITE', 'no a=crypto line offered')
      : weak
        ? new RelayError('E_BID_DOWN', 'offered SRTP is weaker than the policy allows', summary(reports))
        : new RelayError('E_NO_COMMON_SUITE', 'no offered crypto suite is acceptable', summary(reports));
    return { ok: false, error, reports };
  }
  const chosen: SdesCrypto = best;
  return { ok: true, decision: { tag: chosen.tag, suite: chosen.suite, line: chosen, floorRank, reports, violations: [] } };
}

/**
 * Suites to offer the answering side, strongest first: the policy's, none below `floorRank`
 * (the weakest suite the offering side accepted) when the policy asks for that. Empty when
 * nothing qualifies; the caller must then not offer SRTP at all.
 */
export function suitesToOffer(policy: CryptoPolicy, floorRank: number): CryptoSuite[] {
  const floor = policy.matchOffererFloor ? Math.max(floorRank, policy.minRank) : policy.minRank;
  const out: CryptoSuite[] = [];
  for (const name of policy.suites) {
    const s = suiteByName(name);
    if (s !== undefined && allowed(policy, s) && s.rank >= floor) out.push(s);
  }
  return out.sort((a, b) => b.rank - a.rank);
}

/**
 * Checks the answerer's crypto lines against what the relay offered it. The answer must carry
 * exactly one line, with a tag the relay offered and the same suite under it (RFC 4568 §5.1.2),
 * no weakening parameters, and parameters the data path can carry.
 *
 * Audited checks (policy.onViolation): `answerSuiteNotOffered` goes on when the answered
 * suite is one the relay offered under another tag (the relay keys with that line, the one
 * the answerer can decrypt); `weakerThanPolicy` and `lifetime` go on with the answered line.
 * A missing line is returned as a refusal with `check: 'cryptoStripped'` for the caller to
 * decide (it alone can fall back to plain RTP on that side).
 */
export function checkAnswer<T extends OfferedSuite>(offered: readonly T[], answered: readonly CryptoLine[],
  policy: CryptoPolicy, floorRank: number): AnswerResult<T> {
  const fail = (code: 'E_BID_DOWN' | 'E_BAD_SDP' | 'E_NO_COMMON_SUITE', message: string,
    context?: Record<string, string | number>, check?: PolicyCheck): AnswerResult<T> =>
    ({ ok: false, error: new RelayError(code, message, context), ...(check !== undefined ? { check } : {}) });
  const violations: PolicyViolation[] = [];
  /** Records the violation when `check` is audited; true when the caller must refuse. */
  const refuses = (check: PolicyCheck, code: RelayError['code'], message: string): boolean => {
    if (policy.onViolation[check] !== 'audit') return true;
    violations.push({ check, code, message });
    return false;
  };
  // SAVP answered without a usable crypto line would mean plain RTP where SRTP was agreed.
  if (answered.length === 0) return fail('E_BID_DOWN', 'answer carries no a=crypto line for SRTP', undefined, 'cryptoStripped');
  if (answered.length > 1) return fail('E_BAD_SDP', 'answer carries more than one a=crypto line', { lines: answered.length });
  const a = answered[0]!;
  if (a.kind === 'malformed') return fail('E_BAD_SDP', 'answer a=crypto line is malformed', a.line === undefined ? undefined : { line: a.line });
  const suiteName = a.kind === 'crypto' ? a.suite.name : a.suiteName;
  let mine = offered.find((o) => o.tag === a.tag);
  if (mine === undefined || a.kind !== 'crypto' || a.suite !== mine.suite) {
    const err = mine === undefined
      ? fail('E_BAD_SDP', 'answer chose a crypto tag that was not offered', { tag: a.tag })
      : fail('E_BID_DOWN', 'answer changed the suite of an offered tag', { tag: a.tag, offered: mine.suite.name, answered: suiteName });
    const same = a.kind === 'crypto' ? offered.find((o) => o.suite === a.suite) : undefined;
    if (same === undefined || err.ok || refuses('answerSuiteNotOffered', err.error.code, err.error.message)) return err;
    mine = same;
  }
  if (a.kind !== 'crypto') return fail('E_NO_COMMON_SUITE', 'answer uses an unknown suite', { tag: a.tag });
  if (weakens(a)) return fail('E_BID_DOWN', 'answer weakens SRTP with session parameters', { tag: a.tag, suite: suiteName });
  const floor = policy.matchOffererFloor ? Math.max(floorRank, policy.minRank) : policy.minRank;
  // Only reachable if the offer was built with another policy (or a per-call one); checked anyway.
  if (!allowed(policy, a.suite) || a.suite.rank < floor) {
    const message = 'answer chose a suite the policy does not allow here';
    if (!suiteAdmitted(policy, a.suite) || refuses('weakerThanPolicy', 'E_BID_DOWN', `${message} [tag:${a.tag}][suite:${suiteName}]`)) {
      return fail('E_BID_DOWN', message, { tag: a.tag, suite: suiteName });
    }
  }
  if (unsupported(a)) return fail('E_NO_COMMON_SUITE', 'answer uses SDES parameters the relay cannot carry (MKI, KDR, FEC or a mandatory extension)', { tag: a.tag, suite: suiteName });
  if (!lifetimeOk(a, policy)) {
    const message = 'answer key lifetime is outside the policy bounds';
    if (refuses('lifetime', 'E_BID_DOWN', `${message} [tag:${a.tag}][suite:${suiteName}]`)) return fail('E_BID_DOWN', message, { tag: a.tag, suite: suiteName }, 'lifetime');
  }
  return { ok: true, decision: { offered: mine, answer: a, violations } };
}
