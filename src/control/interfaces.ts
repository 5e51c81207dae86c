// Which media interface each leg of a call uses, from the ng request and the offerer's SDP.
//
// rtpengine semantics: `direction: [A, B]` names the interface of the side the offer came
// from (A) and of the side it goes to (B). Without it the offerer's leg takes an interface of
// the family its media comes from (the address media goes to under `sip-source-address`, else
// the offer's c=, else `received-from`), and the answerer's leg the same interface, unless
// `address-family` asks for the other family on the answerer's side (IPv4↔IPv6 bridging).
//
// A leg keeps the interface its streams were bound on for the rest of the call: a re-offer
// (from either side) cannot move bound sockets, so it is reported and ignored.
import { RelayError } from '../errors.ts';
import type { MediaInterface } from '../net/mediaInterfaces.ts';
import { familyOf, type AddressFamily } from '../net/types.ts';
import type { ParsedSdp } from '../sdp/sdpTypes.ts';
import type { Leg } from '../session/Leg.ts';
import type { NgRequestBase } from './ngRequest.ts';
import { addressOf, type RequestOptions } from './requestPlan.ts';

/** The interfaces of one call's two legs. */
export interface LegInterfaces {
  readonly offerer: MediaInterface;
  readonly answerer: MediaInterface;
  /** The legs are on different interfaces: the SDP of each side must name only its own (topology hiding). */
  readonly crossing: boolean;
}

type InterfaceRequest = Pick<NgRequestBase, 'direction' | 'addressFamily' | 'receivedFrom'>;

const NG_FAMILY: Readonly<Record<'IP4' | 'IP6', AddressFamily>> = { IP4: 'IPv4', IP6: 'IPv6' };

/** The family the offerer's media comes from, or null when nothing in the request says. */
export function offererFamily(req: InterfaceRequest, sdp: ParsedSdp, o: RequestOptions): AddressFamily | null {
  if (o.sourceAddress !== null) return familyOf(o.sourceAddress);
  for (const m of sdp.media) {
    if (m.cls === 'other' || m.port === 0) continue;
    const c = m.connection ?? sdp.connection;
    // A hold address still names the family (0.0.0.0 is IP4, :: is IP6).
    if (c !== null) return c.addrType === 'IP6' ? 'IPv6' : 'IPv4';
  }
  if (sdp.connection !== null) return sdp.connection.addrType === 'IP6' ? 'IPv6' : 'IPv4';
  return req.receivedFrom !== undefined ? NG_FAMILY[req.receivedFrom[0]] : null;
}

/** The SDP options of one side: its interface's advertised address, and whether the call crosses interfaces. */
export function sideOptions(o: RequestOptions, iface: MediaInterface, crossing: boolean): RequestOptions {
  return { ...o, address: addressOf(iface.advertised), crossing };
}

/** Remembers each leg's interface; decides interfaces for offers and answers. One per controller. */
export class InterfacePlanner {
  readonly #interfaces: readonly MediaInterface[];
  readonly #byLeg = new WeakMap<Leg, MediaInterface>();

  constructor(interfaces: readonly MediaInterface[]) {
    if (interfaces.length === 0) throw new RelayError('E_INTERNAL', 'no media interface');
    this.#interfaces = interfaces;
  }

  /** The interface `leg` was bound on; the default (first) one for a leg not bound yet. */
  of(leg: Leg): MediaInterface {
    return this.#byLeg.get(leg) ?? this.#interfaces[0]!;
  }

  /**
   * Interfaces for an offer (pure: nothing is recorded until commit()). Throws E_BAD_REQUEST
   * for an unknown interface name, a direction that contradicts address-family, or a family
   * no interface has.
   */
  forOffer(req: InterfaceRequest, family: AddressFamily | null, offerer: Leg, answerer: Leg, warnings: string[]): LegInterfaces {
    const [offererName, answererName] = req.direction;
    const wanted = req.addressFamily === undefined ? null : NG_FAMILY[req.addressFamily];
    const named = (name: string | undefined): MediaInterface | null => (name === undefined ? null : this.#named(name));
    let o = named(offererName) ?? this.#ofFamily(family ?? this.#interfaces[0]!.family, 'the offerer\'s media');
    let a = named(answererName);
    if (a !== null && wanted !== null && a.family !== wanted) {
      throw new RelayError('E_BAD_REQUEST', 'address-family contradicts the direction interface', { interface: a.name, family: req.addressFamily ?? '' });
    }
    a ??= wanted === null || wanted === o.family ? o : this.#ofFamily(wanted, 'address-family');
    const boundO = this.#byLeg.get(offerer), boundA = this.#byLeg.get(answerer);
    if ((boundO !== undefined && boundO !== o) || (boundA !== undefined && boundA !== a)) {
      warnings.push('interfaces kept: the call\'s streams are bound already (direction/address-family apply to new calls)');
    }
    o = boundO ?? o;
    a = boundA ?? a;
    return { offerer: o, answerer: a, crossing: o !== a };
  }

  /** The interfaces an answer's call already uses; direction/address-family may only confirm them. */
  forAnswer(req: InterfaceRequest, offerer: Leg, answerer: Leg, warnings: string[]): LegInterfaces {
    const o = this.of(offerer), a = this.of(answerer);
    for (const name of req.direction) {
      const i = this.#named(name);
      if (i !== o && i !== a) warnings.push(`direction ignored in an answer: interface ${i.name} is not one of the call's`);
    }
    if (req.addressFamily !== undefined && NG_FAMILY[req.addressFamily] !== o.family) {
      warnings.push(`address-family ${req.addressFamily} ignored in an answer: the offerer's leg is ${o.family}`);
    }
    return { offerer: o, answerer: a, crossing: o !== a };
  }

  /** Records the interfaces once the legs' streams are bound on them. */
  commit(offerer: Leg, answerer: Leg, choice: LegInterfaces): void {
    if (!this.#byLeg.has(offerer)) this.#byLeg.set(offerer, choice.offerer);
    if (!this.#byLeg.has(answerer)) this.#byLeg.set(answerer, choice.answerer);
  }

  #named(name: string): MediaInterface {
    const i = this.#interfaces.find((x) => x.name === name);
    if (i === undefined) throw new RelayError('E_BAD_REQUEST', 'Unknown interface', { interface: name.slice(0, 32) });
    return i;
  }

  #ofFamily(family: AddressFamily, why: string): MediaInterface {
    const i = this.#interfaces.find((x) => x.family === family);
    if (i === undefined) {
      throw new RelayError('E_BAD_REQUEST', `no ${family} media interface for ${why}`, { interfaces: this.#interfaces.map((x) => x.name).join(',') });
    }
    return i;
  }
}
