// The SDES crypto policy: which suites the relay agrees to with an offerer and offers to an
// answerer, and how weak is too weak; and what each offer/answer consistency check does when
// it fires (`onViolation`: refuse or audit, see policyChecks.ts), per relay and, through
// `requestPolicy`, per call.
//
// Suites are named only through the suite table (STYLE rule 2): the default set is derived
// from table properties, never from a list of names, so a suite added to the table (GCM was)
// joins the default when it qualifies and nothing here changes.
//
// NULL-cipher suites have no switch here: MediaStream refuses to create a context for them
// (no confidentiality), so a policy allowing them could only produce calls that fail later.
// Their ranks sit far below every default minimum, so an offer of NULL alone is a bid-down.
import { SUITES, suiteByName, type CryptoSuite, type SuiteName } from '../crypto/suites.ts';
import { RelayError } from '../errors.ts';
import { suiteAdmitted } from '../keying/negotiate.ts';
import { checkByName, POLICY_CHECKS, REFUSE_ALL, type CheckVerdict, type PolicyCheck, type ViolationVerdicts } from './policyChecks.ts';

export interface CryptoPolicy {
  /**
   * Suites the relay may agree to and offer, by SDES name. Order does not matter: preference
   * is always the table's rank, strongest first. Default: every suite of the table that
   * encrypts, is not AES-192 or F8 (see the flags below), and has an 80-bit or longer SRTP tag
   * or a registered DTLS-SRTP profile — today AEAD_AES_256_GCM, AEAD_AES_128_GCM,
   * AES_256_CM_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32. A 32-bit tag
   * is admitted only where a DTLS profile shows the suite is deployed widely enough to be
   * needed for interop (the 3GPP/RFC 4568 voice suite), not for every key length.
   */
  readonly suites: readonly SuiteName[];
  /**
   * Lowest rank the relay agrees to. An offer whose known suites are all below it fails with
   * E_BID_DOWN (a suite that is merely not listed gives E_NO_COMMON_SUITE). Default: the
   * lowest rank in `suites`.
   */
  readonly minRank: number;
  /**
   * Allow AES-192 suites (RFC 6188). Default false: libsrtp2 up to 2.5.0 (Debian's) derives
   * AES-192 session keys with the AES-256 KDF (cisco/libsrtp#763), so such calls fail
   * authentication against those peers although both sides "agree".
   */
  readonly allowAes192: boolean;
  /** Allow AES-F8 suites (3GPP legacy). Default false. */
  readonly allowF8: boolean;
  /**
   * Offer the answering side only suites at least as strong as the weakest acceptable suite
   * in the offerer's offer, so the relay never makes one leg weaker than the offerer was
   * willing to go (STYLE rule 18: "no lower than the other leg"). Default true.
   */
  readonly matchOffererFloor: boolean;
  /**
   * For an offer carrying both a=crypto and a=fingerprint on RTP/SAVP(F) (a "dual" offer):
   * key that leg with DTLS-SRTP when it can (usable fingerprint, rtcp-mux, the request's
   * `DTLS` not `off`), else SDES. Default true: DTLS keys never cross the signalling path.
   */
  readonly preferDtls: boolean;
  /**
   * What a re-offer that removes or changes a=fingerprint or a=setup on an established
   * DTLS-SRTP leg does: 'refuse' (E_BID_DOWN, the default) or 'warn' (the running DTLS
   * association is kept unchanged and a warning returned).
   */
  readonly dtlsBidDown: 'refuse' | 'warn';
  /**
   * What each offer/answer consistency check does when it fires (see POLICY_CHECKS):
   * 'refuse' (the request fails with the check's error code, nothing changes) or 'audit' (the
   * call proceeds in the safest way still possible, never weaker than the relay would go on its
   * own, and a security event plus a warning report it). Where no safe way exists (no common
   * suite, weakening session parameters the data path cannot carry) 'audit' still refuses.
   * Default: every check 'refuse'. `dtlsBidDown: 'warn'` is an alias of `dtlsChanged: 'audit'`.
   */
  readonly onViolation: ViolationVerdicts;
  /**
   * Shortest authentication tag accepted, in bits (32 or 80). Default 32: AES_CM_128_HMAC_SHA1_32
   * is the 3GPP/RFC 4568 voice suite and phones still offer it alone. With 80 the relay never
   * offers a 32-bit suite and an offerer's 32-bit-only offer fires `shortTag`.
   */
  readonly minAuthTagBits: 32 | 80;
  /**
   * Shortest a=crypto key lifetime accepted, in packets. Default 2^16: the core warns 2^16
   * packets before a key's end (keysoftlimit), so a shorter key is "about to expire" from its
   * first packet; SDES can only re-key by re-INVITE, and 2^16 packets are ~22 minutes of 20 ms
   * audio. Nobody sends less in the field (RFC 4568's example is 2^20); less is a DoS lever.
   */
  readonly minKeyLifetime: number;
  /**
   * Longest a=crypto key lifetime accepted, in packets. Default 2^48, the SRTP maximum
   * (RFC 3711 §9.2; a larger value does not even parse). The core caps every key at 2^48 SRTP
   * and 2^31 SRTCP packets whatever the line says; set this lower (2^31) to refuse lines that
   * promise more than SRTCP can give.
   */
  readonly maxKeyLifetime: number;
  /**
   * SDES keys (a=crypto) from or to a leg whose signalling the SBE marked unprotected
   * (`insecure-signalling`): RFC 4568 §8.3 requires a secure signalling channel, because the
   * keys travel in the clear inside the SDP. 'refuse' (the default) neither accepts SDES keys
   * from such a leg nor sends them to it (DTLS-SRTP still works); 'audit' goes on and reports
   * it; 'allow' does not check. Refuse is the default because the mark is explicit: an SBE that
   * sets it has said the keys would be readable on the wire, and calls it does not mark are
   * not affected at all.
   */
  readonly sdesOverInsecureSignalling: 'refuse' | 'audit' | 'allow';
  /**
   * Weakest hash a peer's a=fingerprint may use, and the hash of the relay's own a=fingerprint
   * (RFC 8122 §5). Weaker peer fingerprints are ignored; a DTLS media section with only weaker
   * ones is E_BID_DOWN. Default 'sha-256' (what every deployed endpoint sends); sha-1 is never
   * accepted: collisions on it are practical, and the fingerprint is all that binds the DTLS
   * certificate to the signalling (RFC 8122 §5 forbids it for new use).
   */
  readonly minFingerprintHash: FingerprintHash;
  /**
   * How SRTP keys may be agreed: SDES (a=crypto, keys inside the SDP) and/or DTLS-SRTP (keys
   * from a handshake on the media path). Without 'sdes', a=crypto offers and answers are refused
   * (E_BID_DOWN; a dual offer is keyed with DTLS) and the relay offers UDP/TLS instead of
   * RTP/SAVP; without 'dtls', DTLS-SRTP offers are refused (E_NO_COMMON_SUITE) and never made.
   * Default both: SDES is what most SIP phones and trunks do, DTLS what WebRTC does. Per call
   * the ng `key-exchange-<x>` flags, `DTLS=off` and `SDES-off` only narrow it.
   */
  readonly keyExchanges: readonly KeyExchange[];
  /**
   * Which party must use SRTP: its plain RTP/AVP(F) SDP is refused (E_BID_DOWN, whatever the
   * audit verdicts say) and the relay offers it only SRTP. 'offerer' is the caller's leg (the one
   * that sent the call's first offer), 'answerer' the callee's; a re-INVITE in the other direction
   * keeps the requirement on the same leg (exchangeRequirement). Default 'none': plain-RTP phones
   * inside the network exist and the relay bridges them to SRTP; per request the ng flags
   * `require-srtp`, `require-srtp-offerer` and `require-srtp-answerer` (parties of that request's
   * offer/answer exchange) only add to it.
   */
  readonly requireSrtp: SrtpRequirement;
}

/** Fingerprint hashes a policy may ask for, weakest first (sha-1 is not one of them). */
export const FINGERPRINT_HASHES = ['sha-256', 'sha-384', 'sha-512'] as const;
export type FingerprintHash = (typeof FINGERPRINT_HASHES)[number];
export const KEY_EXCHANGES = ['sdes', 'dtls'] as const;
export type KeyExchange = (typeof KEY_EXCHANGES)[number];
export const SRTP_REQUIREMENTS = ['none', 'offerer', 'answerer', 'both'] as const;
export type SrtpRequirement = (typeof SRTP_REQUIREMENTS)[number];

function isFingerprintHash(v: unknown): v is FingerprintHash {
  return (FINGERPRINT_HASHES as readonly unknown[]).includes(v);
}

/** Whether `party` of an offer/answer exchange must use SRTP under `policy`. */
export function requiresSrtp(policy: Pick<CryptoPolicy, 'requireSrtp'>, party: 'offerer' | 'answerer'): boolean {
  return policy.requireSrtp === 'both' || policy.requireSrtp === party;
}

/**
 * The relay's requirement for one offer/answer exchange. The relay's `requireSrtp` names the
 * call's legs: 'offerer' is the caller's leg (the first offer's sender), 'answerer' the callee's,
 * so a re-INVITE from the callee (`reversed`) keeps the requirement on the same leg instead of
 * moving it to a phone that may only do plain RTP. Per-request flags are applied after this and
 * name the parties of that request's exchange (the SBE knows each message's direction).
 */
export function exchangeRequirement(policy: CryptoPolicy, reversed: boolean): CryptoPolicy {
  if (!reversed || policy.requireSrtp === 'none' || policy.requireSrtp === 'both') return policy;
  return Object.freeze({ ...policy, requireSrtp: policy.requireSrtp === 'offerer' ? 'answerer' as const : 'offerer' as const });
}

/** The union of two requirements (per-call flags only add to the relay's). */
function withRequirement(a: SrtpRequirement, offerer: boolean, answerer: boolean): SrtpRequirement {
  const o = offerer || a === 'offerer' || a === 'both';
  const r = answerer || a === 'answerer' || a === 'both';
  return o && r ? 'both' : o ? 'offerer' : r ? 'answerer' : 'none';
}

/** Whether fingerprint hash `a` is at least as strong as `min`. */
export function hashAtLeast(a: string, min: FingerprintHash): boolean {
  return isFingerprintHash(a) && FINGERPRINT_HASHES.indexOf(a) >= FINGERPRINT_HASHES.indexOf(min);
}

function keyExchangesOf(v: unknown, where: string): KeyExchange[] {
  if (!Array.isArray(v) || v.length === 0) bad(`${where} must list sdes, dtls or both`);
  const out: KeyExchange[] = [];
  for (const x of v as unknown[]) {
    if (x !== 'sdes' && x !== 'dtls') bad(`${where} lists an unknown key exchange`, { value: String(x).slice(0, 16) });
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

const SHORT_TAG_BYTES = 10;

function defaultSuites(flags: Pick<CryptoPolicy, 'allowAes192' | 'allowF8'>): SuiteName[] {
  return SUITES
    .filter((s) => suiteAdmitted(flags, s) && (s.rtpTagLen >= SHORT_TAG_BYTES || s.dtlsId !== null))
    .map((s) => s.name);
}

function bad(message: string, context?: Readonly<Record<string, string | number>>): never {
  throw new RelayError('E_BAD_REQUEST', message, context);
}

/**
 * Completes a partial policy with the defaults and validates it once (STYLE rule 17).
 * Throws RelayError('E_BAD_REQUEST') for an unknown suite, a suite its own flags exclude, an
 * empty list, or a list with suites below `minRank` (a contradiction better refused at start
 * than discovered in a call).
 */
/** What resolvePolicy takes: any field may be left out, and so may any check of `onViolation`. */
export type PolicyInput = Partial<Omit<CryptoPolicy, 'onViolation'>> & {
  readonly onViolation?: Readonly<Partial<Record<PolicyCheck, CheckVerdict>>>;
};

export function resolvePolicy(partial: PolicyInput = {}): CryptoPolicy {
  const allowAes192 = partial.allowAes192 ?? false;
  const allowF8 = partial.allowF8 ?? false;
  const flags = { allowAes192, allowF8 };
  const names = partial.suites ?? defaultSuites(flags);
  const suites: CryptoSuite[] = [];
  for (const name of names) {
    const s = suiteByName(name);
    if (s === undefined) bad('policy names an unknown suite', { suite: String(name).slice(0, 64) });
    if (!s.encrypts) bad('policy lists a NULL-cipher suite; the relay never carries them', { suite: s.name });
    if (!suiteAdmitted(flags, s)) bad('policy lists a suite its own flags exclude', { suite: s.name });
    if (!suites.includes(s)) suites.push(s);
  }
  if (suites.length === 0) bad('policy allows no suite');
  const lowest = Math.min(...suites.map((s) => s.rank));
  const minRank = partial.minRank ?? lowest;
  if (!Number.isFinite(minRank)) bad('policy minRank must be a number');
  const below = suites.find((s) => s.rank < minRank);
  if (below !== undefined) bad('policy lists a suite below its own minRank', { suite: below.name, minRank });
  suites.sort((a, b) => b.rank - a.rank);
  const onViolation = verdictsOf(partial.onViolation, dtlsBidDown(partial.dtlsBidDown));
  const minAuthTagBits = partial.minAuthTagBits ?? 32;
  if (minAuthTagBits !== 32 && minAuthTagBits !== 80) bad('policy minAuthTagBits must be 32 or 80');
  const minKeyLifetime = partial.minKeyLifetime ?? DEFAULT_MIN_KEY_LIFETIME;
  const maxKeyLifetime = partial.maxKeyLifetime ?? MAX_KEY_LIFETIME;
  if (!Number.isSafeInteger(minKeyLifetime) || minKeyLifetime < 1) bad('policy minKeyLifetime must be a positive integer');
  if (!Number.isSafeInteger(maxKeyLifetime) || maxKeyLifetime > MAX_KEY_LIFETIME || maxKeyLifetime < minKeyLifetime) {
    bad('policy maxKeyLifetime must lie between minKeyLifetime and 2^48');
  }
  const insecure = partial.sdesOverInsecureSignalling ?? 'refuse';
  if (insecure !== 'refuse' && insecure !== 'audit' && insecure !== 'allow') bad('policy sdesOverInsecureSignalling must be refuse, audit or allow');
  const minFingerprintHash = partial.minFingerprintHash ?? 'sha-256';
  if (!isFingerprintHash(minFingerprintHash)) bad('policy minFingerprintHash must be sha-256, sha-384 or sha-512');
  const keyExchanges = keyExchangesOf(partial.keyExchanges ?? KEY_EXCHANGES, 'policy keyExchanges');
  const requireSrtp = partial.requireSrtp ?? 'none';
  if (!(SRTP_REQUIREMENTS as readonly string[]).includes(requireSrtp)) bad('policy requireSrtp must be none, offerer, answerer or both');
  return Object.freeze({
    suites: Object.freeze(suites.map((s) => s.name)),
    minRank,
    allowAes192,
    allowF8,
    matchOffererFloor: partial.matchOffererFloor ?? true,
    preferDtls: partial.preferDtls ?? true,
    dtlsBidDown: onViolation.dtlsChanged === 'audit' ? 'warn' : 'refuse',
    onViolation,
    minAuthTagBits,
    minKeyLifetime,
    maxKeyLifetime,
    sdesOverInsecureSignalling: insecure,
    minFingerprintHash,
    keyExchanges: Object.freeze(keyExchanges),
    requireSrtp,
  });
}

/** RFC 3711 §9.2: at most 2^48 SRTP packets per master key. */
const MAX_KEY_LIFETIME = 2 ** 48;
const DEFAULT_MIN_KEY_LIFETIME = 2 ** 16;

/**
 * The full verdict map: given entries validated, the rest 'refuse'. An explicit `dtlsChanged`
 * wins over the `dtlsBidDown` alias.
 */
function verdictsOf(v: unknown, alias: 'refuse' | 'warn'): ViolationVerdicts {
  const out: Record<PolicyCheck, CheckVerdict> = { ...REFUSE_ALL };
  if (alias === 'warn') out.dtlsChanged = 'audit';
  if (v === undefined) return Object.freeze(out);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('policy onViolation must be an object');
  for (const [k, verdict] of Object.entries(v as Record<string, unknown>)) {
    const check = checkByName(k);
    if (check === undefined) bad('policy onViolation names an unknown check', { check: k.slice(0, 48) });
    if (verdict !== 'refuse' && verdict !== 'audit') bad('policy onViolation verdicts are refuse or audit', { check });
    out[check] = verdict;
  }
  return Object.freeze(out);
}

function dtlsBidDown(v: unknown): 'refuse' | 'warn' {
  if (v === undefined || v === 'refuse') return 'refuse';
  if (v === 'warn') return 'warn';
  bad('policy dtlsBidDown must be refuse or warn');
}

/** The daemon's `srtp.*` policy options as given (config.ts validates types and ranges only). */
export interface PolicyKnobs {
  /** Comma-separated checks (camelCase or kebab-case) that audit instead of refuse, or `all`. */
  readonly audit: string;
  readonly minAuthTagBits: number;
  readonly minKeyLifetime: number;
  readonly maxKeyLifetime: number;
  readonly sdesOverInsecureSignalling: string;
  /** Comma-separated key exchanges (`sdes,dtls`). */
  readonly keyExchanges: string;
  readonly minFingerprintHash: string;
  readonly requireSrtp: string;
}

/** The policy fields the knobs set; throws RelayError('E_BAD_REQUEST') for a value out of its set. */
export function policyKnobsOf(k: PolicyKnobs): PolicyInput {
  const onViolation: Partial<Record<PolicyCheck, CheckVerdict>> = {};
  for (const name of k.audit.split(',').map((x) => x.trim()).filter((x) => x.length > 0)) {
    const checks = name === 'all' ? POLICY_CHECKS : [checkByName(name)];
    if (checks[0] === undefined) bad('srtp.audit names an unknown check', { check: name.slice(0, 48) });
    for (const c of checks) if (c !== undefined) onViolation[c] = 'audit';
  }
  if (k.minAuthTagBits !== 32 && k.minAuthTagBits !== 80) bad('srtp.minAuthTagBits must be 32 or 80');
  const insecure = k.sdesOverInsecureSignalling;
  if (insecure !== 'refuse' && insecure !== 'audit' && insecure !== 'allow') bad('srtp.sdesOverInsecureSignalling must be refuse, audit or allow');
  const keyExchanges = keyExchangesOf(k.keyExchanges.split(',').map((x) => x.trim().toLowerCase()).filter((x) => x.length > 0), 'srtp.keyExchanges');
  const hash = k.minFingerprintHash.toLowerCase();
  if (!isFingerprintHash(hash)) bad('srtp.minFingerprintHash must be sha-256, sha-384 or sha-512');
  const requireSrtp = k.requireSrtp;
  if (!(SRTP_REQUIREMENTS as readonly string[]).includes(requireSrtp)) bad('srtp.requireSrtp must be none, offerer, answerer or both');
  return {
    onViolation, minAuthTagBits: k.minAuthTagBits, minKeyLifetime: k.minKeyLifetime, maxKeyLifetime: k.maxKeyLifetime, sdesOverInsecureSignalling: insecure,
    keyExchanges, minFingerprintHash: hash, requireSrtp: requireSrtp as SrtpRequirement,
  };
}

/** The default policy (see the field comments of CryptoPolicy). */
export const DEFAULT_CRYPTO_POLICY: CryptoPolicy = resolvePolicy();

/** What the `SDES` options of one request did to the policy. */
export interface SdesRestriction {
  readonly policy: CryptoPolicy;
  /** `SDES-off`: no SDES keying at all on the side we offer to. */
  readonly off: boolean;
  readonly warnings: readonly string[];
}

/** What one request's policy flags (ng `flags`) did: the policy and the flags it consumed. */
export interface RequestPolicy {
  readonly policy: CryptoPolicy;
  /** `insecure-signalling`: the leg that sent this request's SDP has unprotected signalling. */
  readonly insecureSender: boolean;
  /** `insecure-signalling-peer`: the leg the returned SDP goes to has unprotected signalling. */
  readonly insecurePeer: boolean;
  /** The flags read here (the caller leaves them out of its "flags ignored" warning). */
  readonly consumed: ReadonlySet<string>;
  readonly warnings: readonly string[];
}

const AUDIT_FLAG = /^(audit|refuse)-(.+)$/;
/** `require-srtp` (both parties), `require-srtp-offerer`, `require-srtp-answerer`. */
const REQUIRE_FLAG = /^require-srtp(?:-(offerer|answerer))?$/;
/** `key-exchange-sdes` / `key-exchange-dtls`: this call may use only the key exchanges named. */
const KEY_EXCHANGE_FLAG = /^key-exchange-(.+)$/;
/** `min-fingerprint-hash-sha-384`: this call's fingerprint minimum (raised, never lowered). */
const HASH_FLAG = /^min-fingerprint-hash-(.+)$/;

/** Whether an ng flag is one requestPolicy reads (so it is not reported as ignored). */
export function isPolicyFlag(flag: string): boolean {
  return flag === 'insecure-signalling' || flag === 'insecure-signalling-peer' || AUDIT_FLAG.test(flag)
    || REQUIRE_FLAG.test(flag) || KEY_EXCHANGE_FLAG.test(flag) || HASH_FLAG.test(flag);
}

/**
 * Applies one request's policy flags: `audit-<check>` / `refuse-<check>` (kebab-case names of
 * POLICY_CHECKS, or `all`) set that check's verdict for this call, as the SBE may widen or
 * narrow the relay's own; `insecure-signalling[-peer]` mark legs whose signalling is not
 * protected; `require-srtp[-offerer|-answerer]`, `key-exchange-<sdes|dtls>` and
 * `min-fingerprint-hash-<hash>` tighten the relay's requireSrtp, keyExchanges and
 * minFingerprintHash for this call (never loosen them). Unknown checks, key exchanges and hashes
 * are reported as warnings and change nothing.
 */
export function requestPolicy(policy: CryptoPolicy, flags: readonly string[]): RequestPolicy {
  const consumed = new Set<string>();
  const warnings: string[] = [];
  let verdicts: Record<PolicyCheck, CheckVerdict> | null = null;
  let insecureSender = false;
  let insecurePeer = false;
  let requireOfferer = false;
  let requireAnswerer = false;
  let exchanges: Set<KeyExchange> | null = null;
  let hash = policy.minFingerprintHash;
  for (const f of flags) {
    if (f === 'insecure-signalling') { insecureSender = true; consumed.add(f); continue; }
    if (f === 'insecure-signalling-peer') { insecurePeer = true; consumed.add(f); continue; }
    const req = REQUIRE_FLAG.exec(f);
    if (req !== null) {
      consumed.add(f);
      if (req[1] !== 'answerer') requireOfferer = true;
      if (req[1] !== 'offerer') requireAnswerer = true;
      continue;
    }
    const kx = KEY_EXCHANGE_FLAG.exec(f);
    if (kx !== null) {
      consumed.add(f);
      if (kx[1] === 'sdes' || kx[1] === 'dtls') (exchanges ??= new Set()).add(kx[1]);
      else warnings.push(`flag ${JSON.stringify(f.slice(0, 48))} names no key exchange (sdes, dtls), ignored`);
      continue;
    }
    const h = HASH_FLAG.exec(f);
    if (h !== null) {
      consumed.add(f);
      if (!isFingerprintHash(h[1])) warnings.push(`flag ${JSON.stringify(f.slice(0, 48))} names no fingerprint hash (sha-256, sha-384, sha-512), ignored`);
      else if (hashAtLeast(h[1], hash)) hash = h[1];
      continue;
    }
    const m = AUDIT_FLAG.exec(f);
    if (m === null) continue;
    consumed.add(f);
    const verdict = m[1] as CheckVerdict;
    const checks = m[2] === 'all' ? POLICY_CHECKS : [checkByName(m[2]!)];
    if (checks[0] === undefined) {
      warnings.push(`flag ${JSON.stringify(f.slice(0, 48))} names no policy check, ignored`);
      continue;
    }
    verdicts ??= { ...policy.onViolation };
    for (const c of checks) if (c !== undefined) verdicts[c] = verdict;
  }
  let p = verdicts === null ? policy : Object.freeze({
    ...policy, onViolation: Object.freeze(verdicts), dtlsBidDown: verdicts.dtlsChanged === 'audit' ? 'warn' as const : 'refuse' as const,
  });
  // The flags below only narrow: the intersection of key exchanges (possibly empty: then no
  // SRTP can be agreed on this call), the stronger hash, the union of SRTP requirements.
  const requireSrtp = withRequirement(policy.requireSrtp, requireOfferer, requireAnswerer);
  const keyExchanges = exchanges === null ? policy.keyExchanges : policy.keyExchanges.filter((x) => exchanges.has(x));
  if (requireSrtp !== policy.requireSrtp || keyExchanges.length !== policy.keyExchanges.length || hash !== policy.minFingerprintHash) {
    p = Object.freeze({ ...p, requireSrtp, keyExchanges: Object.freeze(keyExchanges), minFingerprintHash: hash });
  }
  return { policy: p, insecureSender, insecurePeer, consumed, warnings };
}

/** Options that would weaken SRTP (rtpengine's SDES-unencrypted_srtp etc.): refused, never applied. */
const WEAKENING_OPTION = /^(unencrypted|unauthenticated)[-_]/;
/** Options that change nothing here: padded base64 is already what the relay writes. */
const HARMLESS_OPTIONS = new Set(['pad']);

/**
 * Applies one request's `SDES` options (`off`, `no-<SUITE>`, `only-<SUITE>`, as ngRequest
 * normalised them). They can only narrow the policy: `only-` a suite the policy does not allow
 * does not enable it. Unknown suites and options are reported as warnings, never as values
 * (they came from the SBE, not from a peer, but stay short and escaped anyway).
 */
export function restrictPolicy(policy: CryptoPolicy, options: readonly string[]): SdesRestriction {
  const warnings: string[] = [];
  let off = false;
  const excluded = new Set<string>();
  const only = new Set<string>();
  for (const o of options) {
    if (o === 'off') {
      off = true;
    } else if (o.startsWith('no-') || o.startsWith('only-')) {
      const name = o.slice(o.indexOf('-') + 1);
      const s = suiteByName(name) ?? suiteByName(name.toUpperCase());
      if (s === undefined) {
        warnings.push(`SDES option names an unknown suite ${JSON.stringify(name.slice(0, 48))}, ignored`);
        continue;
      }
      (o.startsWith('no-') ? excluded : only).add(s.name);
    } else if (WEAKENING_OPTION.test(o)) {
      warnings.push(`SDES option ${JSON.stringify(o.slice(0, 48))} would weaken SRTP, refused`);
    } else if (!HARMLESS_OPTIONS.has(o)) {
      warnings.push(`SDES option ${JSON.stringify(o.slice(0, 48))} is not supported, ignored`);
    }
  }
  if (excluded.size === 0 && only.size === 0) return { policy, off, warnings };
  const suites = policy.suites.filter((n) => !excluded.has(n) && (only.size === 0 || only.has(n)));
  // An empty list is legal here: it means "no common suite" for this call, decided by negotiate.
  return { policy: Object.freeze({ ...policy, suites: Object.freeze(suites) }), off, warnings };
}
