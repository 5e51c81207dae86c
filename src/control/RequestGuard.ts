// The crypto policy's checks for one offer or answer, as the call controller meets them:
// the request's own verdicts (relay policy + ng flags), the legs it marks as having
// unprotected signalling, and the checks that need the call's current state (a re-INVITE that
// re-keys weaker, SDES over unprotected signalling, the DTLS profile floor). The controller
// calls these at its decision points; every refusal happens before the request's first side
// effect, and the audit events leave only once the request committed (`events()`).
import { EventEmitter } from 'node:events';
import { suiteByName, type CryptoSuite, type SuiteName } from '../crypto/suites.ts';
import { RelayError } from '../errors.ts';
import type { CryptoPolicy, RequestPolicy } from './policy.ts';
import { requestPolicy, requiresSrtp } from './policy.ts';
import { Audit, type PolicyCheck, type PolicyViolation } from './policyChecks.ts';

/** One audited violation of a committed request, as SecurityLog and metrics see it. */
export interface PolicyAuditEvent {
  readonly callId: string;
  readonly command: 'offer' | 'answer' | 'dtls';
  readonly check: PolicyCheck;
  /** The code the refusal would have carried. */
  readonly code: string;
  readonly media?: number;
}

export interface PolicyEvents {
  audit: [PolicyAuditEvent];
}

/** What a side runs now, for the re-INVITE check. */
export interface RunningCrypto {
  readonly mode: 'pending' | 'plain' | 'srtp';
  readonly suite: CryptoSuite | null;
}

export class RequestGuard {
  readonly policy: CryptoPolicy;
  readonly request: RequestPolicy;
  readonly audit: Audit;

  /** `base`: the relay's policy (or the offer's, for an answer); `flags`: the request's ng flags. */
  constructor(base: CryptoPolicy, flags: readonly string[]) {
    this.request = requestPolicy(base, flags);
    this.policy = this.request.policy;
    // 'allow' switches the SDES-over-insecure check off; 'audit' is its audit verdict.
    this.audit = new Audit(base.sdesOverInsecureSignalling === 'audit' && !flags.includes('refuse-sdes-insecure-signalling')
      ? { ...this.policy.onViolation, sdesInsecureSignalling: 'audit' } : this.policy.onViolation);
  }

  /** `p` with this request's verdicts (an offer's media keep their SDES restrictions). */
  withVerdicts(p: CryptoPolicy): CryptoPolicy {
    return p.onViolation === this.policy.onViolation ? p : { ...p, onViolation: this.policy.onViolation, dtlsBidDown: this.policy.dtlsBidDown };
  }

  /** Records what a pure negotiation step let through, against media `media`. */
  record(violations: readonly PolicyViolation[], media: number): void {
    for (const v of violations) this.audit.record({ ...v, media });
  }

  violate(check: PolicyCheck, error: RelayError, media: number): void {
    this.audit.violate(check, error, media);
  }

  /**
   * SDES keys would come from (`sender`) or go to (`peer`) a leg whose signalling the SBE
   * marked unprotected. Throws when the policy refuses; records it when it audits; nothing
   * when the check is off or the leg is not marked.
   */
  insecureSdes(which: 'sender' | 'peer', media: number): void {
    if (this.policy.sdesOverInsecureSignalling === 'allow') return;
    const marked = which === 'sender' ? this.request.insecureSender : this.request.insecurePeer;
    if (!marked) return;
    const what = which === 'sender' ? 'SDES keys received over signalling marked insecure' : 'SDES keys would be sent over signalling marked insecure';
    this.violate('sdesInsecureSignalling', new RelayError('E_BID_DOWN', what, { media }), media);
  }

  /** Whether SDES keying from (`sender`) or to (`peer`) a marked leg is refused outright (DTLS must be used). */
  refusesSdes(which: 'sender' | 'peer'): boolean {
    const marked = which === 'sender' ? this.request.insecureSender : this.request.insecurePeer;
    return marked && this.policy.sdesOverInsecureSignalling !== 'allow' && this.audit.verdict('sdesInsecureSignalling') === 'refuse';
  }


  /** Refuses keying with `kind` when this request's policy does not allow that key exchange. */
  keyExchange(kind: 'sdes' | 'dtls', media: number): void {
    if (this.policy.keyExchanges.includes(kind)) return;
    if (kind === 'sdes') throw new RelayError('E_BID_DOWN', 'a=crypto (SDES) keying but the policy allows no SDES key exchange', { media });
    throw new RelayError('E_NO_COMMON_SUITE', 'DTLS-SRTP keying but the policy allows SDES key exchange only', { media });
  }

  /**
   * Refuses plain RTP on `party`'s side when this request's policy requires SRTP there. Not an
   * audited check: the requirement is the SBE's or operator's explicit word, so it always holds.
   */
  requireSrtp(party: 'offerer' | 'answerer', media: number): void {
    if (requiresSrtp(this.policy, party)) throw new RelayError('E_BID_DOWN', `policy requires SRTP from the ${party} but it is plain RTP`, { media });
  }

  /** An answer's checks of the offerer's side, decided at the offer (`keying`: null = plain RTP). */
  offererSide(keying: 'sdes' | 'dtls' | null, media: number): void {
    if (keying === null) this.requireSrtp('offerer', media);
    else this.keyExchange(keying, media);
  }

  /**
   * A re-offer or re-answer re-keys a side that runs `current` to `next` (null: plain RTP;
   * 'dtls': a DTLS association, whose profile the handshake checks). Weaker is a lower rank,
   * or plain RTP where SRTP runs now.
   */
  rekey(current: RunningCrypto, next: CryptoSuite | null | 'dtls', media: number): void {
    if (current.mode !== 'srtp' || current.suite === null || next === 'dtls') return;
    if (next !== null && next.rank >= current.suite.rank) return;
    const message = next === null ? 're-INVITE turns an SRTP side into plain RTP' : 're-INVITE re-keys a side to a weaker suite than it runs';
    this.violate('reinviteWeaker', new RelayError('E_BID_DOWN', message, { media, running: current.suite.name, ...(next !== null ? { next: next.name } : {}) }), media);
  }

  /**
   * The lowest rank a DTLS handshake on a side may agree: `floor` (what the SDP committed the
   * call to), or with `dtlsWeakerProfile: audit` the policy's own minimum (then `watch` reports
   * a weaker outcome).
   */
  dtlsFloor(floor: number): number {
    return this.audit.verdict('dtlsWeakerProfile') === 'audit' ? Math.min(floor, this.policy.minRank) : floor;
  }

  /** The request's audit warnings (for the reply). */
  warnings(): string[] {
    return [...this.request.warnings, ...this.audit.warnings()];
  }

  /** Emits one `audit` event per violation the request let through. Call once, after commit. */
  emit(observer: EventEmitter<PolicyEvents>, callId: string, command: 'offer' | 'answer'): void {
    for (const v of this.audit.violations) {
      observer.emit('audit', { callId, command, check: v.check, code: v.code, ...(v.media !== undefined ? { media: v.media } : {}) });
    }
  }
}

/**
 * The audit event for a DTLS handshake that agreed `suite` below `floor` (the call's committed
 * strength), or null when it did not. The handshake was allowed to because the check audits.
 */
export function dtlsProfileAudit(callId: string, suite: SuiteName, floor: number, media: number): PolicyAuditEvent | null {
  const s = suiteByName(suite);
  if (s === undefined || s.rank >= floor) return null;
  return { callId, command: 'dtls', check: 'dtlsWeakerProfile', code: 'E_BID_DOWN', media };
}
