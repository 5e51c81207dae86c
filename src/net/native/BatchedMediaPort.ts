// One UDP socket of the batched backend: a MediaPort whose datagrams arrive in ring slots
// (see BatchedIo) and whose sends wait in the BatchedIo queue for one sendmmsg per batch.
import type { MediaPort } from '../MediaPort.ts';
import type { AddressFamily } from '../types.ts';
import type { BatchedIo } from './BatchedIo.ts';

/** Why a datagram never reached a slot: no free slot, or larger than a slot takes. */
export type PortDropReason = 'backlog' | 'tooLarge';

/** Where a batched port delivers. Called from inside BatchedIo's batch, never re-entrantly. */
export interface BatchedPortHandler {
  /** The datagram sits in ring slot `slot` (len bytes); the handler now owns the slot. */
  packet(slot: number, len: number, address: string, port: number): void;
  /** A datagram was dropped before reaching a slot (counted, never an exception). */
  drop(reason: PortDropReason): void;
}

export class BatchedMediaPort implements MediaPort {
  /** The addon's socket id (index and generation). */
  readonly id: number;
  readonly port: number;
  readonly address: string;
  readonly family: AddressFamily;
  readonly handler: BatchedPortHandler;
  readonly #io: BatchedIo;
  #closed = false;
  // The last source address and its string: a media port hears mostly one peer, so the
  // string is made once per peer, not once per packet.
  #srcA0 = 0; #srcA1 = 0; #srcA2 = 0; #srcA3 = 0; #srcScope = 0;
  #srcText: string | null = null;
  // The last destination string and its parsed form [scope, a0, a1, a2, a3].
  #destText: string | null = null;
  readonly #dest = new Int32Array(5);

  /** Made by BatchedIo.bind(). */
  constructor(io: BatchedIo, id: number, family: AddressFamily, address: string, port: number, handler: BatchedPortHandler) {
    this.#io = io;
    this.id = id;
    this.family = family;
    this.address = address;
    this.port = port;
    this.handler = handler;
  }

  get closed(): boolean { return this.#closed; }

  send(buf: Buffer, len: number, port: number, address: string, done: (err: Error | null) => void): void {
    this.#io.enqueue(this, buf, len, port, address, done);
  }

  setBufferSizes(bytes: number): void {
    this.#io.setBufferSizes(this, bytes);
  }

  /** Closes the socket now (the port can be bound again at once). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#io.closePort(this);
  }

  /** The source of rx row `o` as node would print it (cached per peer). For BatchedIo. */
  sourceOf(rx: Int32Array, o: number): string {
    const a0 = rx[o + 5]!;
    if (this.family === 'IPv4') {
      if (a0 === this.#srcA0 && this.#srcText !== null) return this.#srcText;
      this.#srcA0 = a0;
      this.#srcText = `${a0 >>> 24}.${(a0 >>> 16) & 255}.${(a0 >>> 8) & 255}.${a0 & 255}`;
      return this.#srcText;
    }
    const a1 = rx[o + 6]!, a2 = rx[o + 7]!, a3 = rx[o + 8]!, scope = rx[o + 4]!;
    if (this.#srcText !== null && a0 === this.#srcA0 && a1 === this.#srcA1 && a2 === this.#srcA2 &&
      a3 === this.#srcA3 && scope === this.#srcScope) return this.#srcText;
    this.#srcA0 = a0; this.#srcA1 = a1; this.#srcA2 = a2; this.#srcA3 = a3; this.#srcScope = scope;
    this.#srcText = this.#io.formatIpv6(a0, a1, a2, a3, scope);
    return this.#srcText;
  }

  /** [scope, a0, a1, a2, a3] of an IP literal of this port's family, or null. For BatchedIo. */
  destinationOf(address: string): Int32Array | null {
    if (address === this.#destText) return this.#dest;
    const family = this.#io.parseAddress(address, this.#dest);
    if (family !== (this.family === 'IPv4' ? 4 : 6)) { this.#destText = null; return null; }
    this.#destText = address;
    return this.#dest;
  }
}
