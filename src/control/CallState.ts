// What the call controller remembers about one call between signalling events: the SIP tags
// of its two legs, the stream pair of each m= line, the outstanding offer, and every object
// holding key material so that none outlives its use.
//
// Key ownership: each SdesCrypto the controller creates or keeps (its own generated keys, the
// offerer's chosen key until the answer commits it) is registered with `own()`. `collect()`
// wipes every registered key nothing refers to any more; `close()` wipes them all. The peer's
// other keys never get registered: the controller wipes them as soon as negotiation is done.
import type { CryptoSuite } from '../crypto/suites.ts';
import type { Endpoint } from '../net/types.ts';
import type { Leg } from '../session/Leg.ts';
import type { Session } from '../session/Session.ts';
import type { MediaStreamHandle } from '../session/MediaStreamHandle.ts';
import { wipe, type SdesCrypto } from '../keying/sdes.ts';
import type { CryptoPolicy } from './policy.ts';
import type { RtcpMuxOption } from './ngRequest.ts';

/** What the controller uses of a stream: the handle both in-thread and worker streams give. */
export type ControlledStream = MediaStreamHandle;

/** DTLS-SRTP as agreed on one side: the relay's role and what the peer signalled. */
export interface SideDtls {
  /** The relay's role: 'client' is our a=setup:active, 'server' our a=setup:passive. */
  readonly role: 'client' | 'server';
  /** The peer's a=fingerprint values in canonical form (lower-case hash, upper-case hex), sorted. */
  readonly fingerprints: readonly string[];
  /** The peer's a=setup as it signalled it (null: absent, which means active). */
  readonly peerSetup: string | null;
  /**
   * Taken over from another relay (src/ha): the stream runs on the keys that relay's
   * association exported, and the association itself is gone. The side's next offer or answer
   * starts a fresh handshake (new keys), whatever fingerprint and setup it carries.
   */
  readonly restored?: boolean;
}

/** One leg and the SIP tag it answers to (null until the answerer's to-tag is known). */
export interface LegInfo {
  readonly leg: Leg;
  sipTag: string | null;
}

/** One leg's stream of one m= line, and the keying state of that side. */
export interface SideState {
  readonly stream: ControlledStream;
  /** Transport protocol this side's endpoint last agreed to ('' before any answer). */
  protocol: string;
  /**
   * The relay's key towards this side's endpoint. Kept (not wiped) for the life of the call so
   * a re-offer or a repeated answer can announce the same key again instead of re-keying a
   * peer that changed nothing (re-keying on every re-INVITE is how ROC resets start).
   */
  outKey: SdesCrypto | null;
  /** The tag `outKey` was last announced under. */
  outTag: number;
  /** Base64 style the peer used, echoed in the line sent to it (padding disagreements are a field bug). */
  outPadded: boolean;
  /**
   * Keyed digest of the key this side's endpoint sends with: a re-offer with the same key must
   * leave the inbound context (replay window, ROC) alone, and comparing digests in constant
   * time avoids keeping the peer's key itself.
   */
  inDigest: Buffer | null;
  /** DTLS-SRTP on this side once started (keys live in the stream, never here); null: SDES or plain. */
  dtls?: SideDtls | null;
}

/** The two streams (one per leg) of one m= line. */
export interface MediaPair {
  type: string;
  readonly sides: Map<Leg, SideState>;
}

/** One a=crypto line the relay put in its offer: tag, suite, and the key behind it. */
export interface OfferedLine {
  readonly tag: number;
  readonly suite: CryptoSuite;
  readonly key: SdesCrypto;
}

/** The offerer's SRTP as decided at offer time and committed at the first answer. */
export interface OffererCrypto {
  readonly tag: number;
  readonly suite: CryptoSuite;
  /** The offerer's line (its key); null once committed and wiped. */
  line: SdesCrypto | null;
  readonly padded: boolean;
}

export interface RelayOfferMedia {
  readonly kind: 'relay';
  readonly pair: MediaPair;
  readonly offererProtocol: string;
  readonly answererProtocol: string;
  /** null: the offerer side is plain RTP. */
  readonly offererCrypto: OffererCrypto | null;
  /** Whether an answer has committed the offerer side (later answers touch only the answerer's). */
  offererCommitted: boolean;
  /** 'required' for SAVP, 'optional' for best-effort SDES on AVP, 'none' for plain RTP. */
  readonly answererSrtp: 'required' | 'optional' | 'none';
  readonly offered: readonly OfferedLine[];
  /** Weakest rank the offerer accepted: the floor for the answerer's choice. */
  readonly floorRank: number;
  readonly policy: CryptoPolicy;
  readonly offererMux: boolean;
  readonly muxToAnswerer: boolean;
  readonly muxFlags: ReadonlySet<RtcpMuxOption>;
  readonly offererRemote: { readonly rtp: Endpoint | null; readonly rtcp: Endpoint | null };
  /** DTLS-SRTP chosen for the offerer's side: its canonical fingerprints and a=setup (null: none). */
  readonly offererDtls: { readonly fingerprints: readonly string[]; readonly setup: string | null } | null;
  /** DTLS-SRTP offered to the answerer: the a=setup the relay offered ('actpass' unless told). */
  readonly answererDtls: { readonly setup: 'actpass' | 'active' | 'passive' } | null;
}

export type OfferMedia = { readonly kind: 'passthrough' } | { readonly kind: 'disabled' } | RelayOfferMedia;

export interface OfferState {
  readonly offerer: LegInfo;
  readonly answerer: LegInfo;
  readonly media: readonly OfferMedia[];
}

export class CallState {
  readonly callId: string;
  readonly session: Session;
  /** Wall clock (ms) of creation and of the last offer or answer. */
  readonly created = Date.now();
  lastSignal = Date.now();
  readonly legs: LegInfo[] = [];
  /** Stream pair per m= line index; null for lines the relay does not relay. */
  media: (MediaPair | null)[] = [];
  offer: OfferState | null = null;
  readonly #keys = new Set<SdesCrypto>();
  #closed = false;

  constructor(callId: string, session: Session) {
    this.callId = callId;
    this.session = session;
  }

  get closed(): boolean { return this.#closed; }

  legByTag(tag: string): LegInfo | undefined {
    return this.legs.find((l) => l.sipTag === tag);
  }

  other(leg: LegInfo): LegInfo {
    const o = this.legs.find((l) => l !== leg);
    if (o === undefined) throw new Error('call without a second leg');
    return o;
  }

  /** Registers a key object the call keeps; returns it. */
  own(key: SdesCrypto): SdesCrypto {
    if (this.#closed) {
      wipe(key);
    } else {
      this.#keys.add(key);
    }
    return key;
  }

  /** Wipes every registered key that no side and no outstanding offer refers to. */
  collect(): void {
    const live = new Set<SdesCrypto>();
    for (const pair of this.media) {
      if (!pair) continue;
      for (const side of pair.sides.values()) if (side.outKey !== null) live.add(side.outKey);
    }
    for (const m of this.offer?.media ?? []) {
      if (m.kind !== 'relay') continue;
      for (const o of m.offered) live.add(o.key);
      if (m.offererCrypto?.line) live.add(m.offererCrypto.line);
    }
    for (const k of this.#keys) {
      if (!live.has(k)) {
        wipe(k);
        this.#keys.delete(k);
      }
    }
  }

  /** Number of key objects still held (for tests and the leak check). */
  get heldKeys(): number {
    return this.#keys.size;
  }

  /** Wipes every key and forgets the offer. The session itself is closed by its owner. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const k of this.#keys) wipe(k);
    this.#keys.clear();
    this.offer = null;
    for (const pair of this.media) {
      if (!pair) continue;
      for (const side of pair.sides.values()) {
        side.outKey = null;
        side.inDigest = null;
      }
    }
  }
}
