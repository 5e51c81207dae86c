// The call controller: maps ng offer / answer / delete / query onto the relay.
//
// Offer (SDP of the offerer, from-tag): decide the offerer's SRTP per m= line (pure, before
// anything is allocated, so a refused offer costs nothing), bind a stream pair per new relayed
// m= line, make the relay's own a=crypto lines with fresh keys for the answerer, and return the
// answerer's SDP. Answer (SDP of the answerer, to-tag): check the answerer picked one of the
// relay's lines unchanged, then commit both sides (contexts, addresses, rtcp-mux) and return
// the offerer's SDP with one a=crypto line under the offerer's chosen tag.
//
// Deciding and committing are separate (STYLE rule 18): every check of a request runs before
// its first side effect, so a refused request leaves the call as it was. Requests for one
// Call-ID run one at a time, in arrival order.
//
// Keys: the offerer's chosen key is kept only until the answer commits it; every other peer
// key is wiped when negotiation is done. The relay's own keys are kept for the call's life to
// re-announce them (see SideState.outKey). Nothing secret reaches warnings, errors or query.
import type { StreamCrypto } from '../session/MediaStream.ts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CryptoSuite } from '../crypto/suites.ts';
import { RelayError, SrtpError, type RelayErrorCode } from '../errors.ts';
import { generateSdesCrypto, wipe, type SdesCrypto } from '../keying/sdes.ts';
import { checkAnswer, negotiateOffer, suitesToOffer } from '../keying/negotiate.ts';
import { isSecureProtocol, parseSdp } from '../sdp/parse.ts';
import { rewriteSdp } from '../sdp/rewrite.ts';
import type { MediaRewrite, ParsedSdp, RewritePlan, SdpAddress, SdpMedia } from '../sdp/sdpTypes.ts';
import { linkStreams } from '../session/MediaStream.ts';
import type { Relay } from '../session/Relay.ts';
import type { Leg } from '../session/Leg.ts';
import { callInfo, type CallInfo } from './callInfo.ts';
import {
  CallState, type ControlledStream, type LegInfo, type MediaPair, type OfferedLine, type OfferMedia, type RelayOfferMedia, type SideState,
} from './CallState.ts';
import type { DtlsMode, NgAnswerRequest, NgOfferRequest } from './ngRequest.ts';
import { SUITES, type SuiteName } from '../crypto/suites.ts';
import type { DtlsExportedKeys, DtlsSrtpPolicy, StartDtlsOptions } from '../session/StreamDtls.ts';
import {
  answeringRole, canonicalFingerprints, peerSetup, roleFromAnswer, sameFingerprints, setupOf, type DtlsRole, type SetupValue,
} from './dtlsSdp.ts';
import { exchangeRequirement, isPolicyFlag, requiresSrtp, resolvePolicy, restrictPolicy, type CryptoPolicy, type PolicyInput } from './policy.ts';
import { EventEmitter } from 'node:events';
import { dtlsProfileAudit, RequestGuard, type PolicyEvents } from './RequestGuard.ts';
import { applyMediaRates } from './mediaRate.ts';
import {
  addressOf, connectionFor, cryptoValue, ignoredOptions, inMedia, mediaNo, optionsOf, parseLines, remoteOf, sessionPlan,
  type RemoteAddress, type RequestOptions,
} from './requestPlan.ts';
import { InterfacePlanner, offererFamily, sideOptions, type LegInterfaces } from './interfaces.ts';

export type { CallInfo } from './callInfo.ts';

export interface CallControllerOptions {
  /** The relay whose sessions and ports the controller uses. */
  relay: Relay;
  /** SDES policy; missing fields take the defaults of CryptoPolicy. Validated at construction. */
  policy?: PolicyInput;
  /** Told of every committed change (call-state replication, src/ha). Default none. */
  replication?: CallReplicationHooks;
}

/**
 * Hooks for replicating calls (src/ha/Replicator). Called synchronously inside the commit;
 * a hook that throws is ignored: replication never fails signalling.
 */
export interface CallReplicationHooks {
  /** An offer or answer committed, or a call was adopted; `interfaceOf` names a leg's media interface. */
  committed(state: CallState, interfaceOf: (leg: Leg) => string): void;
  /** The call ended. */
  deleted(callId: string): void;
  /** A peer's key is being installed and is wiped right after: the last moment to seal it. */
  inboundKey(callId: string, side: SideState, key: SdesCrypto): void;
  /**
   * A DTLS-SRTP handshake on `side` installed these keys; they are zeroed when the hook
   * returns. Present only when replication wants them: the streams export keys only then.
   */
  dtlsKeys?(callId: string, side: SideState, keys: DtlsExportedKeys): void;
}

export interface SdpResult {
  sdp: string;
  /** Things ignored or refused, one short line each (no SDP text, no keys). */
  warnings: string[];
}

/** Leg tag of an answerer whose SIP to-tag is not known yet: a space can never be in an ng tag. */
const PENDING_TAG = 'pending answerer';
/** rtpengine's default for `list`. */
const DEFAULT_LIST_LIMIT = 32;
type OfferDecision =
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'disabled' }
  | {
      readonly kind: 'relay';
      readonly media: SdpMedia;
      readonly offererCrypto: { tag: number; suite: CryptoSuite; line: SdesCrypto; padded: boolean } | null;
      readonly floorRank: number;
      readonly answererProtocol: string;
      readonly answererSrtp: 'required' | 'optional' | 'none';
      readonly suites: readonly CryptoSuite[];
      readonly remote: RemoteAddress;
      readonly offererDtls: { readonly fingerprints: readonly string[]; readonly setup: SetupValue | null } | null;
      readonly answererDtls: { readonly setup: SetupValue } | null;
    };

type AnswerDecision =
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'disabled' }
  | {
      readonly kind: 'relay';
      readonly offer: RelayOfferMedia;
      readonly media: SdpMedia;
      /** null: plain RTP on the answerer side. */
      readonly srtp: { readonly offered: OfferedLine; readonly answer: SdesCrypto } | null;
      readonly remote: RemoteAddress;
      readonly muxAnswerer: boolean;
      readonly muxOfferer: boolean;
      /** DTLS on the answerer's side: the relay's role and the answerer's fingerprints. */
      readonly answererDtls: { readonly role: DtlsRole; readonly fingerprints: readonly string[]; readonly setup: SetupValue | null } | null;
      /** The relay's role on the offerer's DTLS side (null: not DTLS). */
      readonly offererRole: DtlsRole | null;
    };

/**
 * Runs a context installation. The crypto core reports a full context table as an SrtpError;
 * on the control path that is capacity, reported the way Kamailio fails over on, and anything
 * else unexpected still leaves as a RelayError (callers tell errors apart by code only).
 */
function installing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof RelayError) throw e;
    if (e instanceof SrtpError && e.code === 'E_NO_SLOT') throw new RelayError('E_SESSION_LIMIT', 'Parallel session limit reached', { reason: 'crypto contexts' });
    throw new RelayError('E_INTERNAL', 'crypto context could not be created', { reason: e instanceof SrtpError ? e.code : 'error' });
  }
}

export class CallController {
  readonly #relay: Relay;
  readonly #policy: CryptoPolicy;
  readonly #replication: CallReplicationHooks | null;
  readonly #calls = new Map<string, CallState>();
  readonly #queues = new Map<string, Promise<void>>();
  /** Keys the inbound-key digests; per process, never stored: digests are only compared. */
  readonly #digestKey = randomBytes(32);
  readonly #address: SdpAddress;
  /** Each leg's media interface (ng direction, address-family, the offerer's family). */
  readonly #interfaces: InterfacePlanner;
  /** Policy checks a committed request let through by audit (SecurityLog subscribes). */
  readonly observer = new EventEmitter<PolicyEvents>();
  /** The offer SDP of each outstanding offer: the answer derives media rates from both. */
  readonly #offerSdp = new WeakMap<object, ParsedSdp>();
  /** Streams whose exported DTLS keys go to replication (one listener per stream, whatever its handshakes). */
  readonly #keyWatched = new WeakSet<ControlledStream>();
  readonly #totals = {
    offers: 0, answers: 0, deletes: 0, failedOffers: 0, failedAnswers: 0, bidDownRefusals: 0,
    noCommonSuiteRefusals: 0, policyAudits: 0, sessionsCreated: 0, sessionsClosed: 0, sessionTimeouts: 0,
  };

  constructor(options: CallControllerOptions) {
    this.#relay = options.relay;
    this.#policy = resolvePolicy(options.policy);
    this.observer.on('audit', () => { this.#totals.policyAudits++; });
    this.#address = addressOf(options.relay.advertisedAddress);
    this.#interfaces = new InterfacePlanner(options.relay.interfaces);
    this.#replication = options.replication ?? null;
  }

  /** The resolved policy (defaults filled in). */
  get policy(): CryptoPolicy { return this.#policy; }

  offer(req: NgOfferRequest): Promise<SdpResult> {
    return this.#serial(req.callId, () => this.#counted('offer', () => this.#offer(req)));
  }

  answer(req: NgAnswerRequest): Promise<SdpResult> {
    return this.#serial(req.callId, () => this.#counted('answer', () => this.#answer(req)));
  }

  /**
   * Ends the call: ports closed, contexts destroyed, keys wiped. With tags, only when one of
   * them names a leg of the call (rtpengine answers a mismatch with "not found").
   */
  delete(req: { callId: string; fromTag?: string; toTag?: string }): { deleted: boolean } {
    const state = this.#calls.get(req.callId);
    if (state === undefined) return { deleted: false };
    const tags = [req.fromTag, req.toTag].filter((t): t is string => t !== undefined);
    if (tags.length > 0 && !tags.some((t) => state.legByTag(t) !== undefined)) return { deleted: false };
    this.#totals.deletes++;
    state.session.close('deleted');
    return { deleted: true };
  }

  query(callId: string): CallInfo {
    const state = this.#calls.get(callId);
    if (state === undefined) throw new RelayError('E_NOT_FOUND', 'Unknown call-id');
    return callInfo(state, (leg) => this.#interfaces.of(leg));
  }

  list(limit: number = DEFAULT_LIST_LIMIT): string[] {
    const out: string[] = [];
    for (const id of this.#calls.keys()) {
      if (out.length >= limit) break;
      out.push(id);
    }
    return out;
  }

  statistics(): { currentSessions: number; totals: Record<string, number> } {
    return { currentSessions: this.#calls.size, totals: { ...this.#totals } };
  }

  // ---------------------------------------------------------------- plumbing

  /** Runs `fn` after every earlier request for the same Call-ID has finished. */
  #serial<T>(callId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(callId) ?? Promise.resolve();
    const run = before.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.#queues.set(callId, tail);
    void tail.then(() => { if (this.#queues.get(callId) === tail) this.#queues.delete(callId); });
    return run;
  }

  async #counted<T>(what: 'offer' | 'answer', fn: () => Promise<T>): Promise<T> {
    this.#totals[what === 'offer' ? 'offers' : 'answers']++;
    try {
      return await fn();
    } catch (e) {
      this.#totals[what === 'offer' ? 'failedOffers' : 'failedAnswers']++;
      const code: RelayErrorCode | undefined = e instanceof RelayError ? e.code : undefined;
      if (code === 'E_BID_DOWN') this.#totals.bidDownRefusals++;
      if (code === 'E_NO_COMMON_SUITE') this.#totals.noCommonSuiteRefusals++;
      throw e;
    }
  }

  #newCall(callId: string): CallState {
    const session = this.#relay.createSession(callId);
    const state = new CallState(callId, session);
    this.#calls.set(callId, state);
    this.#totals.sessionsCreated++;
    session.once('close', (reason) => {
      state.close();
      if (this.#calls.get(callId) === state) {
        this.#calls.delete(callId);
        this.#replicate((r) => r.deleted(callId));
      }
      this.#totals.sessionsClosed++;
      if (reason === 'timeout' || reason === 'lifetime') this.#totals.sessionTimeouts++;
    });
    return state;
  }

  #replicate(fn: (r: CallReplicationHooks) => void): void {
    if (this.#replication === null) return;
    try {
      fn(this.#replication);
    } catch { /* counted by the replicator; the call goes on from memory */ }
  }

  /**
   * Registers a call rebuilt from replicated state (HA takeover): creates its session, lets
   * `build` bind and key its legs and streams, commits the legs' interfaces, keeps digests of
   * the inbound keys `build` returns (a re-INVITE with the same key then leaves the contexts,
   * replay windows and ROCs alone) and wipes those keys. A failing build closes the session.
   */
  adopt(callId: string, interfaces: readonly string[],
    build: (state: CallState) => Promise<ReadonlyMap<SideState, SdesCrypto>>): Promise<CallState> {
    return this.#serial(callId, async () => {
      if (this.#calls.has(callId)) throw new RelayError('E_INVALID_STATE', 'call exists', { callId: callId.slice(0, 64) });
      const state = this.#newCall(callId);
      let inbound: ReadonlyMap<SideState, SdesCrypto>;
      try {
        inbound = await build(state);
      } catch (e) {
        state.session.close('deleted');
        throw e;
      }
      for (const [side, key] of inbound) {
        side.inDigest = this.#digest(key.suite, key.keys[0]!.material);
        wipe(key);
      }
      const iface = (name: string | undefined) => this.#relay.interfaces.find((i) => i.name === name) ?? this.#interfaces.of(state.legs[0]!.leg);
      const [a, b] = [iface(interfaces[0]), iface(interfaces[1])];
      if (state.legs.length === 2) this.#interfaces.commit(state.legs[0]!.leg, state.legs[1]!.leg, { offerer: a, answerer: b, crossing: a !== b });
      state.lastSignal = Date.now();
      this.#replicate((r) => r.committed(state, (leg) => this.#interfaces.of(leg).name));
      return state;
    });
  }

  #digest(suite: CryptoSuite, material: Uint8Array): Buffer {
    return createHmac('sha256', this.#digestKey).update(suite.name).update(material).digest();
  }

  // ---------------------------------------------------------------- offer

  async #offer(req: NgOfferRequest): Promise<SdpResult> {
    const warnings: string[] = [];
    const sdp = parseSdp(req.sdp);
    const o = optionsOf(req, this.#address);
    warnings.push(...ignoredOptions(withoutPolicyFlags(req), sdp));
    // The relay's requireSrtp names the call's legs (caller = first offerer): a re-offer from the callee swaps the parties.
    const first = this.#calls.get(req.callId)?.legs[0];
    const restricted = restrictPolicy(exchangeRequirement(this.#policy, first !== undefined && first.sipTag !== req.fromTag), req.sdes);
    warnings.push(...restricted.warnings);
    const guard = new RequestGuard(restricted.policy, req.flags);
    let transport: string | undefined;
    if (req.transportProtocol === 'accept') warnings.push('transport-protocol accept applies to answers only');
    else if (req.transportProtocol?.startsWith('UDP/TLS/') && req.dtls === 'off') throw new RelayError('E_BAD_REQUEST', 'transport-protocol UDP/TLS with DTLS off');
    else transport = req.transportProtocol;

    // Every peer key parsed for this request; whatever is not kept is wiped on the way out.
    const parsed: SdesCrypto[] = [];
    const kept = new Set<SdesCrypto>();
    try {
      const decisions = sdp.media.map((m) => this.#decideOffer(m, sdp, guard.policy, restricted.off, transport, req.dtls, o, parsed, warnings, guard));
      const existing = this.#calls.get(req.callId);
      if (existing !== undefined) this.#checkDtlsReoffer(existing, req.fromTag, decisions, warnings, guard);
      if (existing !== undefined && sdp.media.length < existing.media.length) {
        throw new RelayError('E_BAD_SDP', 're-offer has fewer m= lines than the call', { media: sdp.media.length, before: existing.media.length });
      }
      const state = existing ?? this.#newCall(req.callId);
      try {
        const { offerer, answerer } = this.#offerRoles(state, req, existing === undefined);
        const ifaces = this.#interfaces.forOffer(req, offererFamily(req, sdp, o), offerer.leg, answerer.leg, warnings);
        // A section passed through keeps its peer's address: across interfaces that would name an
        // inside host on the outside (topology hiding), and could not reach it anyway. Disabled there.
        decisions.forEach((d, i) => {
          const m = sdp.media[i]!;
          if (d.kind !== 'passthrough' || m.port === 0) return;
          const what = `media ${mediaNo(m)} (${m.protocol.slice(0, 32)}) is not RTP`;
          if (!ifaces.crossing) { warnings.push(`${what}: passed through, not relayed`); return; }
          decisions[i] = { kind: 'disabled' };
          warnings.push(`${what} and the call crosses interfaces: disabled`);
        });
        const pairs = await this.#bindPairs(state, decisions, offerer, answerer, o, ifaces);
        this.#interfaces.commit(offerer.leg, answerer.leg, ifaces);
        // From here on nothing awaits and nothing throws on peer input: the offer is committed.
        const media = decisions.map((d, i): OfferMedia => {
          // Every index gets an entry (null when not relayed): a sparse array would hide lines.
          state.media[i] = pairs[i] ?? null;
          if (d.kind !== 'relay') return d;
          const pair = pairs[i]!;
          pair.type = d.media.type;
          if (d.offererCrypto !== null) kept.add(d.offererCrypto.line);
          return this.#offerMedia(state, d, pair, answerer, guard.policy, o);
        });
        state.offer = { offerer, answerer, media };
        this.#offerSdp.set(state.offer, sdp);
        warnings.push(...guard.warnings());
        guard.emit(this.observer, req.callId, 'offer');
        state.lastSignal = Date.now();
        for (const k of kept) state.own(k);
        state.collect();
        this.#replicate((r) => r.committed(state, (leg) => this.#interfaces.of(leg).name));
        return { sdp: rewriteSdp(req.sdp, this.#answererPlan(sdp, media, answerer, sideOptions(o, ifaces.answerer, ifaces.crossing))), warnings };
      } catch (e) {
        kept.clear();
        if (existing === undefined) state.session.close('deleted');
        throw e;
      }
    } finally {
      for (const c of parsed) if (!kept.has(c)) wipe(c);
    }
  }

  /** Offerer and answerer legs of an offer; creates the legs of a new call. */
  #offerRoles(state: CallState, req: NgOfferRequest, isNew: boolean): { offerer: LegInfo; answerer: LegInfo } {
    if (isNew) {
      if (req.toTag === req.fromTag) throw new RelayError('E_BAD_REQUEST', 'from-tag and to-tag are the same');
      const offerer: LegInfo = { leg: state.session.createLeg(req.fromTag), sipTag: req.fromTag };
      const answerer: LegInfo = { leg: state.session.createLeg(req.toTag ?? PENDING_TAG), sipTag: req.toTag ?? null };
      state.legs.push(offerer, answerer);
      return { offerer, answerer };
    }
    let offerer = state.legByTag(req.fromTag);
    if (offerer === undefined) {
      // A leg whose tag is still unknown can only be the answerer of the first offer, now
      // offering itself (an UPDATE before the answer); any other tag is a third party.
      offerer = state.legs.find((l) => l.sipTag === null);
      if (offerer === undefined) throw new RelayError('E_INVALID_STATE', 'offer from a tag that is not in the call');
      offerer.sipTag = req.fromTag;
    }
    const answerer = state.other(offerer);
    if (req.toTag !== undefined && answerer.sipTag === null && req.toTag !== req.fromTag) answerer.sipTag = req.toTag;
    return { offerer, answerer };
  }

  /**
   * A re-offer must not re-key the offering side weaker than it runs (reinviteWeaker), and
   * one from a side whose DTLS-SRTP is established must keep it: the same fingerprints
   * and the same a=setup. Dropping DTLS is always refused (E_BID_DOWN); a change is refused or,
   * by policy, reported and ignored (the running association stays as it is).
   */
  #checkDtlsReoffer(state: CallState, fromTag: string, decisions: readonly OfferDecision[], warnings: string[], guard: RequestGuard): void {
    const leg = state.legByTag(fromTag) ?? state.legs.find((l) => l.sipTag === null);
    if (leg === undefined) return;
    decisions.forEach((d, i) => {
      const side = state.media[i]?.sides.get(leg.leg);
      if (side != null && d.kind === 'relay' && side.dtls == null) {
        guard.rekey({ mode: side.stream.inMode, suite: side.stream.inSuite }, d.offererDtls !== null ? 'dtls' : d.offererCrypto?.suite ?? null, i + 1);
      }
      if (side?.dtls == null) return;
      const media = i + 1;
      if (d.kind !== 'relay') return;
      if (d.offererDtls === null) throw new RelayError('E_BID_DOWN', 're-offer drops DTLS-SRTP (a=fingerprint removed) on an established DTLS leg', { media });
      // Taken over: no association runs here to keep; the answer starts a new one.
      if (side.dtls.restored === true) return;
      const changed = !sameFingerprints(d.offererDtls.fingerprints, side.dtls.fingerprints) ? 'a=fingerprint'
        : d.offererDtls.setup !== side.dtls.peerSetup ? 'a=setup' : null;
      if (changed === null) return;
      guard.violate('dtlsChanged', new RelayError('E_BID_DOWN', `re-offer changes ${changed} on an established DTLS leg`, { media }), media);
      warnings.push(`media ${media}: re-offer changes ${changed} on an established DTLS leg: the running DTLS association is kept`);
    });
  }

  #decideOffer(m: SdpMedia, sdp: ParsedSdp, policy: CryptoPolicy, sdesOff: boolean, transport: string | undefined,
    dtlsMode: DtlsMode | undefined, o: RequestOptions, parsed: SdesCrypto[], warnings: string[], guard: RequestGuard): OfferDecision {
    // Whether a section the relay does not carry may pass through depends on the interfaces (#offer).
    if (m.cls === 'other') return { kind: 'passthrough' };
    if (m.port === 0) return { kind: 'disabled' };
    const media = mediaNo(m);

    const secure = isSecureProtocol(m.protocol);
    // DTLS on the offerer's side: a UDP/TLS m= line, or a dual offer (a=crypto and
    // a=fingerprint on RTP/SAVP) when the policy prefers DTLS and DTLS can run here.
    let offererDtls: Extract<OfferDecision, { kind: 'relay' }>['offererDtls'] = null;
    // The policy's key exchanges, narrowed by the request's DTLS=off (never widened by it).
    const sdesOk = policy.keyExchanges.includes('sdes');
    const dtlsOk = policy.keyExchanges.includes('dtls') && dtlsMode !== 'off';
    if (m.cls === 'dtls') {
      if (dtlsMode === 'off') throw new RelayError('E_BAD_REQUEST', 'DTLS off for a DTLS-SRTP only offer', { media });
      if (!dtlsOk) throw new RelayError('E_NO_COMMON_SUITE', 'DTLS-SRTP offered but the policy allows SDES key exchange only', { media });
      if (!m.rtcpMux) throw new RelayError('E_BAD_SDP', 'DTLS-SRTP offered without a=rtcp-mux', { media });
      offererDtls = { fingerprints: canonicalFingerprints(m.fingerprints, media, policy.minFingerprintHash), setup: peerSetup(m.setup, media) };
    } else if (secure && m.fingerprints.length > 0) {
      // SDES from a leg marked insecure is refused: DTLS then even when the policy prefers SDES.
      // Without SDES in the policy a dual offer is DTLS or nothing (refused below).
      if (!dtlsOk || !m.rtcpMux || (sdesOk && !policy.preferDtls && !guard.refusesSdes('sender'))) {
        warnings.push(`media ${media}: a=fingerprint ignored: SDES chosen`);
      } else {
        try {
          offererDtls = { fingerprints: canonicalFingerprints(m.fingerprints, media, policy.minFingerprintHash), setup: peerSetup(m.setup, media) };
        } catch (e) {
          if (!(e instanceof RelayError) || m.crypto.length === 0 || !sdesOk) throw e;
          warnings.push(`media ${media}: DTLS-SRTP not usable (${e.code}): SDES chosen`);
        }
      }
    }

    const lines = offererDtls === null ? parseLines(m.crypto, parsed) : [];
    let offererCrypto: Extract<OfferDecision, { kind: 'relay' }>['offererCrypto'] = null;
    let floorRank = policy.minRank;
    if (offererDtls !== null) {
      if (dtlsSuites(policy, policy.minRank).length === 0) throw new RelayError('E_NO_COMMON_SUITE', 'no DTLS-SRTP profile allowed by the policy', { media });
    } else if (lines.length > 0 && !sdesOk) {
      if (secure) throw new RelayError('E_BID_DOWN', 'a=crypto (SDES) offered but the policy allows no SDES key exchange', { media });
      warnings.push(`media ${media}: SDES on RTP/AVP not used (the policy allows no SDES key exchange): plain RTP`);
    } else if (!secure && lines.length > 0 && guard.refusesSdes('sender')) {
      warnings.push(`media ${media}: SDES on RTP/AVP from signalling marked insecure not used: plain RTP`);
    } else if (secure || lines.length > 0) {
      const r = negotiateOffer(lines, policy);
      if (r.ok) {
        const d = r.decision;
        guard.record(d.violations, media);
        guard.insecureSdes('sender', media);
        offererCrypto = { tag: d.tag, suite: d.suite, line: d.line, padded: d.line.keys[0]!.padded };
        floorRank = d.floorRank;
        for (const rep of r.decision.reports) {
          if (rep.verdict !== 'accepted') warnings.push(`media ${mediaNo(m)}: crypto tag ${rep.tag ?? '?'} ${rep.suite ?? ''} not used: ${rep.verdict}`);
        }
      } else if (secure) {
        throw inMedia(r.error, m);
      } else {
        warnings.push(`media ${mediaNo(m)}: SDES on RTP/AVP not acceptable (${r.error.code}): plain RTP`);
      }
    }

    if (requiresSrtp(policy, 'offerer') && offererDtls === null && offererCrypto === null) {
      throw new RelayError('E_BID_DOWN', 'policy requires SRTP from the offerer but the offer is plain RTP', { media });
    }
    let answererProtocol = transport ?? m.protocol;
    if (requiresSrtp(policy, 'answerer') && !isSecureProtocol(answererProtocol)) {
      if (transport !== undefined) throw new RelayError('E_BID_DOWN', 'policy requires SRTP towards the answerer but transport-protocol is plain RTP', { media });
      // SDES where it may travel (RFC 4568 §8.3 with insecure-signalling-peer), else DTLS-SRTP.
      const via = sdesOk && !sdesOff && !guard.refusesSdes('peer') ? 'sdes' : dtlsOk ? 'dtls' : null;
      if (via === null) throw new RelayError('E_BID_DOWN', 'policy requires SRTP towards the answerer but no key exchange is left', { media });
      answererProtocol = securedProtocol(answererProtocol, via);
    }
    if (!sdesOk && isSecureProtocol(answererProtocol) && !answererProtocol.startsWith('UDP/TLS/')) {
      // Never SDES towards the answerer: DTLS-SRTP instead, unless the SBE insisted on RTP/SAVP.
      if (transport !== undefined) throw new RelayError('E_BAD_REQUEST', 'transport-protocol RTP/SAVP but the policy allows no SDES key exchange', { media });
      if (!dtlsOk) throw new RelayError('E_NO_COMMON_SUITE', 'no key exchange left to offer the answerer', { media });
      answererProtocol = securedProtocol(answererProtocol, 'dtls');
    }
    if (answererProtocol.startsWith('UDP/TLS/')) {
      if (dtlsMode === 'off') throw new RelayError('E_BAD_REQUEST', 'DTLS off but the answerer side is UDP/TLS', { media });
      if (!dtlsOk) throw new RelayError('E_BAD_REQUEST', 'transport-protocol UDP/TLS but the policy allows no DTLS-SRTP', { media });
      const floor = policy.matchOffererFloor ? Math.max(floorRank, policy.minRank) : policy.minRank;
      if (dtlsSuites(policy, floor).length === 0) throw new RelayError('E_NO_COMMON_SUITE', 'no DTLS-SRTP profile left to offer', { media });
      const setup: SetupValue = dtlsMode === 'active' || dtlsMode === 'passive' ? dtlsMode : 'actpass';
      return {
        kind: 'relay', media: m, offererCrypto, floorRank, answererProtocol, answererSrtp: 'required', suites: [],
        remote: remoteOf(m, sdp, o), offererDtls, answererDtls: { setup },
      };
    }
    let answererSrtp: 'required' | 'optional' | 'none' = isSecureProtocol(answererProtocol) ? 'required'
      // Best-effort SDES (a=crypto on RTP/AVP) is mirrored, with the relay's keys, when the SBE did not choose a transport.
      : transport === undefined && lines.length > 0 ? 'optional' : 'none';
    let suites: CryptoSuite[] = [];
    if (answererSrtp !== 'none' && sdesOff) {
      if (answererSrtp === 'required') throw new RelayError('E_BAD_REQUEST', 'SDES-off leaves RTP/SAVP without keying', { media: mediaNo(m) });
      answererSrtp = 'none';
    }
    if (answererSrtp === 'optional' && (guard.refusesSdes('peer') || !sdesOk)) answererSrtp = 'none';
    if (answererSrtp !== 'none') guard.insecureSdes('peer', media);
    if (answererSrtp !== 'none') {
      suites = suitesToOffer(policy, floorRank);
      if (suites.length === 0) {
        // Never offer SAVP without a usable crypto line.
        if (answererSrtp === 'required') throw new RelayError('E_NO_COMMON_SUITE', 'no suite left to offer', { media: mediaNo(m) });
        answererSrtp = 'none';
      }
    }
    return { kind: 'relay', media: m, offererCrypto, floorRank, answererProtocol, answererSrtp, suites, remote: remoteOf(m, sdp, o), offererDtls, answererDtls: null };
  }

  /** Binds a stream pair for each relayed m= line that has none; on failure closes what it bound. */
  async #bindPairs(state: CallState, decisions: readonly OfferDecision[], offerer: LegInfo, answerer: LegInfo,
    o: RequestOptions, ifaces: LegInterfaces): Promise<(MediaPair | null)[]> {
    const bound: ControlledStream[] = [];
    const pairs: (MediaPair | null)[] = [];
    const side = (stream: ControlledStream): SideState => ({ stream, protocol: '', outKey: null, outTag: 0, outPadded: true, inDigest: null, dtls: null });
    try {
      for (const [i, d] of decisions.entries()) {
        const existing = state.media[i] ?? null;
        if (d.kind !== 'relay') { pairs.push(existing); continue; }
        if (existing !== null) {
          if (o.strictSource !== undefined) for (const s of existing.sides.values()) s.stream.strictSource = o.strictSource;
          pairs.push(existing);
          continue;
        }
        const opts = { rtcpMux: false, strictSource: o.strictSource, hideTopology: ifaces.crossing };
        const a = await state.session.addStream(offerer.leg, { ...opts, interface: ifaces.offerer.name });
        bound.push(a);
        const b = await state.session.addStream(answerer.leg, { ...opts, interface: ifaces.answerer.name });
        bound.push(b);
        linkStreams(a, b);
        pairs.push({ type: d.media.type, sides: new Map([[offerer.leg, side(a)], [answerer.leg, side(b)]]) });
      }
    } catch (e) {
      for (const s of bound) s.close();
      throw e;
    }
    return pairs;
  }

  /** The committed offer state of one relayed line, with the relay's lines for the answerer. */
  #offerMedia(state: CallState, d: Extract<OfferDecision, { kind: 'relay' }>, pair: MediaPair, answerer: LegInfo,
    policy: CryptoPolicy, o: RequestOptions): RelayOfferMedia {
    const theirs = pair.sides.get(answerer.leg)!;
    const offered = d.suites.map((suite, i): OfferedLine => {
      const tag = i + 1;
      // Re-offer the key the answerer already has for this suite, so an unchanged answer changes nothing.
      const key = theirs.outKey !== null && theirs.outKey.suite === suite ? theirs.outKey : state.own(generateSdesCrypto(tag, suite));
      return { tag, suite, key };
    });
    const offererMux = d.media.rtcpMux;
    // DTLS runs on the RTP port only: a DTLS side is always muxed.
    const muxToAnswerer = d.answererDtls !== null || o.mux.has('require') || o.mux.has('offer') || (offererMux && !o.mux.has('demux') && !o.mux.has('reject'));
    return {
      kind: 'relay', pair, offererProtocol: d.media.protocol, answererProtocol: d.answererProtocol,
      offererCrypto: d.offererCrypto === null ? null : { ...d.offererCrypto },
      offererCommitted: false, answererSrtp: d.answererSrtp, offered, floorRank: d.floorRank, policy,
      offererMux, muxToAnswerer, muxFlags: o.mux,
      offererRemote: { rtp: d.remote.rtp, rtcp: d.remote.rtcp },
      offererDtls: d.offererDtls,
      // A side already running DTLS keeps its role: the relay re-offers the setup it took.
      answererDtls: d.answererDtls === null ? null : { setup: theirs.dtls != null && theirs.dtls.restored !== true ? setupOf(theirs.dtls.role) : d.answererDtls.setup },
    };
  }

  #answererPlan(sdp: ParsedSdp, media: readonly OfferMedia[], answerer: LegInfo, o: RequestOptions): RewritePlan {
    return {
      ...sessionPlan(sdp, o),
      removeIce: true,
      media: media.map((om, i): MediaRewrite => {
        if (om.kind === 'passthrough') return om;
        if (om.kind === 'disabled') return { kind: 'disabled', connection: o.crossing ? o.address : null };
        const s = om.pair.sides.get(answerer.leg)!.stream;
        const m = sdp.media[i]!;
        const require = om.muxFlags.has('require');
        return {
          kind: 'relay',
          port: s.rtpPort.port,
          protocol: om.answererProtocol,
          connection: connectionFor(remoteOf(m, sdp, o), o),
          rtcpPort: require || om.answererDtls !== null ? s.rtpPort.port : s.rtcpPort?.port ?? s.rtpPort.port + 1,
          addRtcp: false,
          rtcpMux: om.muxToAnswerer,
          crypto: om.offered.map((l) => cryptoValue(l.key, l.tag, true)),
          dtls: om.answererDtls === null ? null : { fingerprint: this.#relay.dtlsFingerprintFor(om.policy.minFingerprintHash), setup: om.answererDtls.setup },
        };
      }),
    };
  }

  // ---------------------------------------------------------------- answer

  async #answer(req: NgAnswerRequest): Promise<SdpResult> {
    const warnings: string[] = [];
    const state = this.#calls.get(req.callId);
    if (state === undefined) throw new RelayError('E_NOT_FOUND', 'Unknown call-id');
    const offer = state.offer;
    if (offer === null) throw new RelayError('E_INVALID_STATE', 'answer without an offer');
    const sdp = parseSdp(req.sdp);
    const ifaces = this.#interfaces.forAnswer(req, offer.offerer.leg, offer.answerer.leg, warnings);
    // The answer's SDP goes to the offerer: it names the offerer's interface.
    const o = sideOptions(optionsOf(req, this.#address), ifaces.offerer, ifaces.crossing);
    warnings.push(...ignoredOptions(withoutPolicyFlags(req), sdp));
    const firstRelay = offer.media.find((m): m is RelayOfferMedia => m.kind === 'relay');
    const guard = new RequestGuard(firstRelay?.policy ?? this.#policy, req.flags);
    if (req.transportProtocol !== undefined && req.transportProtocol !== 'accept') {
      warnings.push('transport-protocol ignored in an answer: the offerer keeps its protocol');
    }
    // The answer belongs to the to-tag; an SBE may send the tags swapped for callee re-INVITEs.
    const offererTag = offer.offerer.sipTag;
    const answererTag = req.fromTag === offererTag ? req.toTag : req.toTag === offererTag ? req.fromTag : null;
    if (answererTag === null) throw new RelayError('E_INVALID_STATE', 'answer tags do not match the offer');
    if (answererTag === offererTag) throw new RelayError('E_BAD_REQUEST', 'from-tag and to-tag are the same');
    if (sdp.media.length !== offer.media.length) {
      throw new RelayError('E_BAD_SDP', 'answer and offer have different numbers of m= lines', { answer: sdp.media.length, offer: offer.media.length });
    }
    const parsed: SdesCrypto[] = [];
    try {
      const decisions = sdp.media.map((m, i) => this.#decideAnswer(m, sdp, offer.media[i]!, o, req.dtls, offer.answerer, parsed, warnings, guard));
      // Committed from here: nothing below depends on peer input being valid.
      if (offer.answerer.sipTag !== answererTag) {
        if (offer.answerer.sipTag !== null) warnings.push('answer from another to-tag (forked call): it replaces the earlier answer');
        offer.answerer.sipTag = answererTag;
      }
      const plan = decisions.map((d): MediaRewrite => this.#commitAnswer(state, offer.offerer, offer.answerer, d, o, warnings, guard));
      const offerSdp = this.#offerSdp.get(offer);
      if (offerSdp !== undefined) applyMediaRates(offerSdp, sdp, offer.media, offer.offerer.leg, offer.answerer.leg);
      warnings.push(...guard.warnings());
      guard.emit(this.observer, req.callId, 'answer');
      state.lastSignal = Date.now();
      state.collect();
      this.#replicate((r) => r.committed(state, (leg) => this.#interfaces.of(leg).name));
      return { sdp: rewriteSdp(req.sdp, { ...sessionPlan(sdp, o), removeIce: true, media: plan }), warnings };
    } finally {
      for (const c of parsed) wipe(c);
    }
  }

  #decideAnswer(m: SdpMedia, sdp: ParsedSdp, om: OfferMedia, o: RequestOptions, dtlsMode: DtlsMode | undefined, answerer: LegInfo,
    parsed: SdesCrypto[], warnings: string[], guard: RequestGuard): AnswerDecision {
    if (om.kind === 'passthrough') return om;
    if (om.kind === 'disabled') {
      if (m.port !== 0) warnings.push(`media ${mediaNo(m)}: answer accepted a disabled stream: kept disabled`);
      return om;
    }
    if (m.port === 0) return { kind: 'disabled' };
    const media = mediaNo(m);
    const flags = new Set([...om.muxFlags, ...o.mux]);
    const mine = om.pair.sides.get(answerer.leg);
    const offererSide = om.pair.sides.get(this.#otherLeg(om, answerer))?.dtls;
    const offererRole = om.offererDtls === null ? null
      : (offererSide?.restored !== true ? offererSide?.role : undefined) ?? answeringRole(om.offererDtls.setup as SetupValue | null, dtlsMode, warnings, media);
    // Plain RTP answering DTLS-SRTP is a transport downgrade: the check below decides it.
    const dtlsToPlain = om.answererDtls !== null && m.cls === 'rtp' && !isSecureProtocol(m.protocol);
    if (om.answererDtls !== null && !dtlsToPlain) {
      // The relay offered DTLS-SRTP: the answer must keep it, with a fingerprint and rtcp-mux.
      if (m.cls !== 'dtls' && !(isSecureProtocol(m.protocol) && m.fingerprints.length > 0)) {
        throw new RelayError(isSecureProtocol(m.protocol) || m.cls === 'rtp' ? 'E_BID_DOWN' : 'E_BAD_SDP', 'answer to a DTLS-SRTP offer without DTLS-SRTP', { media });
      }
      if (m.fingerprints.length === 0) throw new RelayError('E_BID_DOWN', 'answer to a DTLS-SRTP offer without a=fingerprint', { media });
      const fingerprints = canonicalFingerprints(m.fingerprints, media, guard.policy.minFingerprintHash);
      const setup = peerSetup(m.setup, media);
      const role = roleFromAnswer(om.answererDtls.setup, setup, media);
      if (!m.rtcpMux) throw new RelayError('E_BAD_SDP', 'DTLS-SRTP answer without a=rtcp-mux', { media });
      const running = mine?.dtls?.restored === true ? null : mine?.dtls ?? null;
      if (running !== null && (!sameFingerprints(running.fingerprints, fingerprints) || running.role !== role)) {
        guard.violate('dtlsChanged', new RelayError('E_BID_DOWN', 'answer changes a=fingerprint or a=setup on an established DTLS leg', { media }), media);
        warnings.push(`media ${media}: answer changes a=fingerprint or a=setup on an established DTLS leg: the running DTLS association is kept`);
      }
      if (m.crypto.length > 0) warnings.push(`media ${media}: a=crypto in a DTLS-SRTP answer ignored`);
      if (om.offererCrypto !== null && om.offererDtls === null) guard.insecureSdes('peer', media);
      guard.keyExchange('dtls', media);
      guard.offererSide(om.offererDtls !== null ? 'dtls' : om.offererCrypto !== null ? 'sdes' : null, media);
      return {
        kind: 'relay', offer: om, media: m, srtp: null, remote: remoteOf(m, sdp, o), muxAnswerer: true,
        muxOfferer: om.offererDtls !== null || (om.offererMux && !flags.has('reject')),
        answererDtls: { role, fingerprints, setup }, offererRole,
      };
    }
    if (mine?.dtls != null) throw new RelayError('E_BID_DOWN', 'answer drops DTLS-SRTP on an established DTLS leg', { media });
    if (m.cls !== 'rtp') throw new RelayError('E_BAD_SDP', 'answer changed the transport of a relayed stream', { media: mediaNo(m) });
    const offeredSecure = isSecureProtocol(om.answererProtocol);
    const downgraded = offeredSecure && !isSecureProtocol(m.protocol);
    if (downgraded) guard.violate('transportDowngrade', new RelayError('E_BID_DOWN', 'answer fell back from SRTP to plain RTP', { media }), media);
    if (!offeredSecure && isSecureProtocol(m.protocol)) throw new RelayError('E_BAD_SDP', 'answer uses SRTP where plain RTP was offered', { media: mediaNo(m) });
    const lines = parseLines(m.crypto, parsed);
    let srtp: Extract<AnswerDecision, { kind: 'relay' }>['srtp'] = null;
    if (downgraded) {
      // Audited: the answerer's side runs plain RTP; the offerer's keeps the SRTP it agreed.
    } else if (om.answererSrtp === 'required' || (om.answererSrtp === 'optional' && lines.length > 0)) {
      const r = checkAnswer(om.offered, lines, guard.withVerdicts(om.policy), om.floorRank);
      if (!r.ok && r.check === 'cryptoStripped') guard.violate('cryptoStripped', inMedia(r.error, m), media);
      else if (!r.ok) throw inMedia(r.error, m);
      else {
        guard.record(r.decision.violations, media);
        guard.insecureSdes('sender', media);
        srtp = { offered: r.decision.offered, answer: r.decision.answer };
      }
    } else if (lines.length > 0) {
      warnings.push(`media ${mediaNo(m)}: a=crypto in the answer ignored: none was offered`);
    }
    if (om.offererCrypto !== null && om.offererDtls === null) guard.insecureSdes('peer', media);
    if (mine !== undefined) guard.rekey({ mode: mine.stream.inMode, suite: mine.stream.inSuite }, srtp?.answer.suite ?? null, media);
    if (srtp !== null) guard.keyExchange('sdes', media);
    else guard.requireSrtp('answerer', media);
    guard.offererSide(om.offererDtls !== null ? 'dtls' : om.offererCrypto !== null ? 'sdes' : null, media);
    const muxAnswerer = om.muxToAnswerer && (m.rtcpMux || flags.has('require'));
    const muxOfferer = om.offererDtls !== null || (om.offererMux && !flags.has('reject') && (muxAnswerer || flags.has('accept') || flags.has('demux')));
    return { kind: 'relay', offer: om, media: m, srtp, remote: remoteOf(m, sdp, o), muxAnswerer, muxOfferer, answererDtls: null, offererRole };
  }

  #otherLeg(om: RelayOfferMedia, answerer: LegInfo): Leg {
    for (const leg of om.pair.sides.keys()) if (leg !== answerer.leg) return leg;
    throw new RelayError('E_INTERNAL', 'media pair without an offerer side');
  }

  /** Commits one answered line to both sides' streams and returns its plan for the offerer's SDP. */
  #commitAnswer(state: CallState, offerer: LegInfo, answerer: LegInfo, d: AnswerDecision, o: RequestOptions, warnings: string[], guard: RequestGuard): MediaRewrite {
    if (d.kind === 'passthrough') return d;
    if (d.kind === 'disabled') return { kind: 'disabled', connection: o.address };
    const om = d.offer;
    const mine = om.pair.sides.get(offerer.leg)!;
    const theirs = om.pair.sides.get(answerer.leg)!;

    theirs.protocol = d.media.protocol;
    theirs.stream.setRemote(d.remote.rtp, d.remote.rtcp);
    theirs.stream.rtcpMux = d.muxAnswerer;
    if (d.answererDtls !== null) {
      if (theirs.dtls == null || theirs.dtls.restored === true) {
        const floor = om.policy.matchOffererFloor ? Math.max(om.floorRank, om.policy.minRank) : om.policy.minRank;
        // dtlsWeakerProfile audited: the handshake may go down to the policy minimum, reported if it does.
        const handshakeFloor = guard.dtlsFloor(floor);
        this.#startDtls(state, theirs, { role: d.answererDtls.role, remoteFingerprints: d.answererDtls.fingerprints, srtpPolicy: dtlsPolicy(om.policy, handshakeFloor) });
        if (handshakeFloor < floor) {
          theirs.stream.once('dtlsconnected', ({ suite }) => {
            const e = dtlsProfileAudit(state.callId, suite, floor, mediaNo(d.media));
            if (e !== null) this.observer.emit('audit', e);
          });
        }
        theirs.dtls = { role: d.answererDtls.role, fingerprints: d.answererDtls.fingerprints, peerSetup: d.answererDtls.setup };
      }
    } else if (d.srtp !== null) {
      this.#setInbound(theirs, d.srtp.answer, state.callId);
      this.#setOutbound(theirs, d.srtp.offered.key, d.srtp.offered.tag, true);
    } else {
      this.#setPlain(theirs, warnings, mediaNo(d.media));
    }

    if (!om.offererCommitted) {
      mine.protocol = om.offererProtocol;
      mine.stream.setRemote(om.offererRemote.rtp, om.offererRemote.rtcp);
      const c = om.offererCrypto;
      if (om.offererDtls !== null && d.offererRole !== null) {
        mine.stream.rtcpMux = true;
        if (mine.dtls == null || mine.dtls.restored === true) {
          const { fingerprints, setup } = om.offererDtls;
          this.#startDtls(state, mine, { role: d.offererRole, remoteFingerprints: fingerprints, srtpPolicy: dtlsPolicy(om.policy, om.policy.minRank) });
          mine.dtls = { role: d.offererRole, fingerprints, peerSetup: setup };
        }
      } else if (c !== null && c.line !== null) {
        this.#setInbound(mine, c.line, state.callId);
        c.line = null;
        const key = mine.outKey !== null && mine.outKey.suite === c.suite ? mine.outKey : state.own(generateSdesCrypto(c.tag, c.suite));
        this.#setOutbound(mine, key, c.tag, c.padded);
      } else {
        this.#setPlain(mine, warnings, mediaNo(d.media));
      }
      om.offererCommitted = true;
    }
    mine.stream.rtcpMux = d.muxOfferer;

    const s = mine.stream;
    return {
      kind: 'relay',
      port: s.rtpPort.port,
      protocol: om.offererProtocol,
      // The answerer's hold address (if any) is what the offerer must see, not the offerer's own.
      connection: connectionFor(d.remote, o),
      rtcpPort: d.muxOfferer ? s.rtpPort.port : s.rtcpPort?.port ?? s.rtpPort.port + 1,
      addRtcp: false,
      rtcpMux: d.muxOfferer,
      crypto: mine.outKey === null || mine.dtls != null ? [] : [cryptoValue(mine.outKey, mine.outTag, mine.outPadded)],
      dtls: mine.dtls == null ? null : { fingerprint: this.#relay.dtlsFingerprintFor(guard.policy.minFingerprintHash), setup: setupOf(mine.dtls.role) },
    };
  }

  /**
   * Starts DTLS-SRTP on a side. With replication the stream exports the handshake's keys to it
   * (sealed there, then zeroed); a side taken over keeps its restored keys carrying media until
   * the new handshake replaces them.
   */
  #startDtls(state: CallState, side: SideState, o: StartDtlsOptions): void {
    const s = side.stream;
    const exportKeys = this.#replication?.dtlsKeys !== undefined;
    const keepKeys = side.dtls?.restored === true && (s.inMode === 'srtp' || s.outMode === 'srtp');
    installing(() => s.startDtls({ ...o, ...(exportKeys ? { exportKeys } : {}), ...(keepKeys ? { keepKeys } : {}) }));
    if (exportKeys && !this.#keyWatched.has(s)) {
      this.#keyWatched.add(s);
      s.on('dtlskeys', (keys) => this.#replicate((r) => r.dtlsKeys?.(state.callId, side, keys)));
    }
  }

  /** Installs the key(s) the side's endpoint sends with, unless they are the ones already installed. */
  #setInbound(side: SideState, line: SdesCrypto, callId: string): void {
    const kp = line.keys[0]!;
    const digest = this.#digest(line.suite, kp.material);
    const s = side.stream;
    const same = s.inMode === 'srtp' && s.inSuite === line.suite && side.inDigest !== null && timingSafeEqual(side.inDigest, digest);
    // Recreating an unchanged context would reset its replay window and ROC mid-call.
    try {
      if (!same) {
        installing(() => s.setInboundCrypto(inboundCrypto(line)));
        side.inDigest = digest;
        this.#replicate((r) => r.inboundKey(callId, side, line));
      }
    } finally {
      wipe(line);
    }
  }

  /** Installs the relay's key towards the side's endpoint, unless it is the one already installed. */
  #setOutbound(side: SideState, key: SdesCrypto, tag: number, padded: boolean): void {
    const s = side.stream;
    if (side.outKey !== key || s.outMode !== 'srtp') {
      const kp = key.keys[0]!;
      installing(() => s.setOutboundCrypto({ suite: key.suite.name, masterKey: kp.key, masterSalt: kp.salt }));
      side.outKey = key;
    }
    side.outTag = tag;
    side.outPadded = padded;
  }

  #setPlain(side: SideState, warnings: string[], media: number): void {
    const s = side.stream;
    if (s.inMode === 'srtp' || s.outMode === 'srtp') warnings.push(`media ${media}: a side changed from SRTP to plain RTP`);
    if (s.inMode !== 'plain') installing(() => s.setInboundCrypto(null));
    if (s.outMode !== 'plain') installing(() => s.setOutboundCrypto(null));
    side.outKey = null;
    side.inDigest = null;
  }
}

/** DTLS-SRTP profiles the policy allows at or above `floor`, strongest first. */
function dtlsSuites(policy: CryptoPolicy, floor: number): SuiteName[] {
  return SUITES.filter((s) => s.dtlsId !== null && s.encrypts && policy.suites.includes(s.name) && s.rank >= floor && s.rank >= policy.minRank
    && s.rtpTagLen * 8 >= policy.minAuthTagBits)
    .sort((a, b) => b.rank - a.rank).map((s) => s.name);
}

/** What a DTLS side may negotiate: the policy's profiles, none weaker than `floor`. */
function dtlsPolicy(policy: CryptoPolicy, floor: number): DtlsSrtpPolicy {
  return { suites: dtlsSuites(policy, floor), minRank: Math.max(floor, policy.minRank) };
}

/** The stream crypto for a peer's SDES line: every key with its MKI, KDR and lifetime. */
function inboundCrypto(line: SdesCrypto): StreamCrypto {
  const [first, ...rest] = line.keys;
  const mkiLen = first!.mki?.length;
  return {
    suite: line.suite.name, masterKey: first!.key, masterSalt: first!.salt,
    ...(first!.mki ? { mki: { length: first!.mki.length, value: Number(first!.mki.value) } } : {}),
    ...(line.params.kdr !== undefined && line.params.kdr > 0 ? { kdr: line.params.kdr } : {}),
    ...(first!.lifetime !== undefined ? { lifetime: BigInt(first!.lifetime) } : {}),
    ...(rest.length && mkiLen !== undefined ? {
      moreKeys: rest.map((k) => ({ masterKey: k.key, masterSalt: k.salt, mki: Number(k.mki!.value),
        ...(k.lifetime !== undefined ? { lifetime: BigInt(k.lifetime) } : {}) })),
    } : {}),
  };
}

/** `protocol` (RTP/AVP(F) or RTP/SAVP(F)) keyed by `via`, with the same feedback profile. */
function securedProtocol(protocol: string, via: 'sdes' | 'dtls'): string {
  const profile = protocol.endsWith('F') ? 'SAVPF' : 'SAVP';
  return via === 'sdes' ? `RTP/${profile}` : `UDP/TLS/RTP/${profile}`;
}

/** The request without the policy flags RequestGuard reads (they are not "ignored"). */
function withoutPolicyFlags<T extends { readonly flags: readonly string[] }>(req: T): T {
  const flags = req.flags.filter((f) => !isPolicyFlag(f));
  return flags.length === req.flags.length ? req : { ...req, flags };
}
