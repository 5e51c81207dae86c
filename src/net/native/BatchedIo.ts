// Batched UDP I/O for one relay's data path, over the native addon (native/udpbatch.c).
//
// Receive: the addon reads up to `batch` datagrams per event-loop wakeup with recvmmsg,
// straight into free ring slots of the WASM memory taken from a small stash of slot numbers
// that JS keeps filled, then calls #onReady ONCE with a table of (socket, slot, len, source).
// Each row goes to its port's handler, which owns the slot from then on.
// Send: BatchedMediaPort.send() only queues (socket, offset in memory, len, destination);
// the queue goes out with one sendmmsg per socket at the end of the batch, or on
// setImmediate for sends made outside one. `done` runs after that flush, so a slot is never
// reused while the kernel may still read it. A full socket buffer (EAGAIN) keeps the rest
// of that socket's sends queued until epoll says it is writable; a full queue, a bad
// destination or a closed port fails the send through `done` — never blocking, never throwing.
import { loadAddon, BUILD_COMMAND, CTL_STASH, FLAG_DETACHED, INDEX_MASK, RX_STRIDE, Stat,
  STAT_COUNT, TX_DEFERRED, TX_STRIDE, type UdpBatchAddon, type UdpBatchContext } from './addon.ts';
import { BatchedMediaPort, type BatchedPortHandler } from './BatchedMediaPort.ts';
import { NativeIoError } from './NativeIoError.ts';
import type { AddressFamily } from '../types.ts';
import { RelayError } from '../../errors.ts';
import { constants } from 'node:os';

const { EBADF, EINVAL, EAFNOSUPPORT, ENOBUFS, EMSGSIZE } = constants.errno;

/** The packet slots: Buffer views over one ArrayBuffer that never detaches (CryptoCore). */
export interface SlotMemory {
  readonly slots: readonly Buffer[];
  readonly slotBytes: number;
  readonly ringSlots: number;
  slotPtr(i: number): number;
}

/** The free list of those slots (SlotRing). */
export interface SlotSupply {
  acquire(): number;
  release(slot: number): void;
}

/** What BatchedIo needs of a data path; DataPath has this shape. */
export interface BatchedIoTarget {
  readonly core: SlotMemory;
  readonly ring: SlotSupply;
  /** Largest datagram accepted; longer ones are dropped as 'tooLarge'. */
  readonly maxPacket: number;
}

export interface BatchedIoOptions {
  /** Datagrams read per wakeup, and so per call into JS, at most; 1..1024. Default 64. */
  batch?: number;
  /** Sends that may wait in the queue (end of batch, or a full socket buffer); 1..1024. Default 1024. */
  sendQueue?: number;
}

export interface BatchedIoStats {
  /** Event-loop wakeups with at least one ready socket. */
  wakeups: number;
  rxPackets: number;
  rxSyscalls: number;
  rxErrors: number;
  txPackets: number;
  txSyscalls: number;
  /** sendmmsg calls that found the socket buffer full. */
  txEagain: number;
  /** Datagrams the kernel refused (no route, EMSGSIZE, ...). */
  txErrors: number;
  /** Sends failed before the kernel: queue full, no slot for a copy, bad destination, closed port. */
  txRejected: number;
}

type Done = (err: Error | null) => void;

export class BatchedIo {
  /** Whether the addon is built and loads here. */
  static available(): boolean { return loadAddon().addon !== null; }

  /** Why the addon is unavailable, or null when it is available. */
  static unavailableReason(): string | null { return loadAddon().reason; }

  /** The command that builds the addon. */
  static readonly buildCommand = BUILD_COMMAND;

  /** Throws E_INTERNAL when the addon is unavailable (check available() first). */
  static create(target: BatchedIoTarget, options: BatchedIoOptions = {}): BatchedIo {
    const load = loadAddon();
    if (load.addon === null) throw new RelayError('E_INTERNAL', 'batched I/O unavailable', { reason: load.reason });
    return new BatchedIo(load.addon, target, options);
  }

  readonly batch: number;
  readonly #addon: UdpBatchAddon;
  readonly #ctx: UdpBatchContext;
  readonly #memory: ArrayBuffer;
  readonly #ringPtr: number;
  readonly #target: BatchedIoTarget;
  readonly #ctl = new Int32Array(1);
  readonly #stash: Int32Array;
  readonly #rx: Int32Array;
  readonly #tx: Int32Array;
  readonly #txStatus: Int32Array;
  readonly #txCap: number;
  readonly #txDone: (Done | null)[];
  /** The slot a send copied a foreign buffer into (released after the send), or -1. */
  readonly #txCopySlot: Int32Array;
  #txCount = 0;
  // Completions gathered by a flush and run after it, so a `done` that sends again cannot
  // disturb the queue being walked.
  readonly #doneFns: (Done | null)[];
  readonly #doneErrs: (Error | null)[];
  /** Sends failed before reaching the queue; their `done` runs at the next flush (async). */
  #rejected: { done: Done; err: Error }[] = [];
  readonly #stats = new Float64Array(STAT_COUNT);
  #txRejected = 0;
  readonly #ports: (BatchedMediaPort | undefined)[] = [];
  readonly #out = new Int32Array(2);
  readonly #errors = new Map<number, NativeIoError>();
  #inBatch = false;
  #flushing = false;
  #flushScheduled = false;
  #closed = false;

  private constructor(addon: UdpBatchAddon, target: BatchedIoTarget, options: BatchedIoOptions) {
    const batch = options.batch ?? 64;
    const queue = options.sendQueue ?? 1024;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024 || !Number.isInteger(queue) || queue < 1 || queue > 1024) {
      throw new RelayError('E_BAD_REQUEST', 'batch and sendQueue must be integers in 1..1024', { batch, sendQueue: queue });
    }
    const core = target.core;
    const first = core.slots[0];
    if (first === undefined || !(first.buffer instanceof ArrayBuffer)) {
      throw new RelayError('E_INTERNAL', 'slot memory must be an ArrayBuffer');
    }
    this.#addon = addon;
    this.#target = target;
    this.#memory = first.buffer;
    this.#ringPtr = core.slotPtr(0);
    this.batch = batch;
    this.#stash = new Int32Array(batch);
    this.#rx = new Int32Array(batch * RX_STRIDE);
    this.#tx = new Int32Array(queue * TX_STRIDE);
    this.#txStatus = new Int32Array(queue);
    this.#txCap = queue;
    this.#txDone = new Array<Done | null>(queue).fill(null);
    this.#txCopySlot = new Int32Array(queue).fill(-1);
    this.#doneFns = new Array<Done | null>(queue + 1).fill(null);
    this.#doneErrs = new Array<Error | null>(queue + 1).fill(null);
    // maxPacket + 1 bytes per read: anything longer than maxPacket is seen as too large.
    const maxRecv = Math.min(target.maxPacket + 1, core.slotBytes);
    this.#ctx = addon.create(this.#memory, core.slotPtr(0), core.slotBytes, core.ringSlots, maxRecv,
      this.#ctl, this.#stash, this.#rx, this.#tx, this.#txStatus, this.#stats, this.#onReady);
    this.#refill();
  }

  /** Binds a UDP socket; throws NativeIoError (errno 'EADDRINUSE', ...) on failure. */
  bind(family: AddressFamily, address: string, port: number, handler: BatchedPortHandler): BatchedMediaPort {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'batched I/O is closed');
    try {
      this.#addon.bind(this.#ctx, family === 'IPv6' ? 6 : 4, address, port, this.#out);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new NativeIoError(typeof code === 'string' ? code : 'EINVAL', 'bind', { address, port });
    }
    const p = new BatchedMediaPort(this, this.#out[0]!, family, address, this.#out[1]!, handler);
    this.#ports[p.id & INDEX_MASK] = p;
    return p;
  }

  get stats(): BatchedIoStats {
    const s = this.#stats;
    return {
      wakeups: s[Stat.wakeups]!, rxPackets: s[Stat.rxPackets]!, rxSyscalls: s[Stat.rxSyscalls]!, rxErrors: s[Stat.rxErrors]!,
      txPackets: s[Stat.txPackets]!, txSyscalls: s[Stat.txSyscalls]!, txEagain: s[Stat.txEagain]!, txErrors: s[Stat.txErrors]!,
      txRejected: this.#txRejected,
    };
  }

  /** Ring slots held in the receive stash (taken from the ring, not yet used). */
  get stashedSlots(): number { return this.#ctl[CTL_STASH]!; }

  /** Sends waiting for a flush or for a writable socket. */
  get queuedSends(): number { return this.#txCount; }

  get closed(): boolean { return this.#closed; }

  /** Sends everything queued now (normally automatic; for tests and shutdown). */
  flush(): void {
    if (!this.#closed && !this.#flushing) this.#flush();
  }

  /**
   * Closes every port, fails the sends still queued, gives the stash back to the ring and
   * frees the addon context. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    for (const p of this.#ports) p?.close(); // each sends what it still has queued, if it can
    this.#closed = true;
    // What is left (waiting on a full socket buffer, or queued from inside a completion) can
    // no longer go out: its slots come back now and its `done` gets EBADF, asynchronously.
    const ring = this.#target.ring;
    for (let i = 0; i < this.#txCount; i++) {
      if (this.#txCopySlot[i]! >= 0) ring.release(this.#txCopySlot[i]!);
      this.#rejected.push({ done: this.#txDone[i]!, err: this.#error(EBADF) });
      this.#txDone[i] = null;
      this.#txCopySlot[i] = -1;
    }
    this.#txCount = 0;
    if (this.#rejected.length > 0) this.#scheduleFlush();
    for (let n = this.#ctl[CTL_STASH]!; n > 0; n--) ring.release(this.#stash[n - 1]!);
    this.#ctl[CTL_STASH] = 0;
    this.#addon.destroy(this.#ctx);
  }

  // ---------------------------------------------------------------- for BatchedMediaPort

  /** Queues one send; see the file comment for when `done` runs. */
  enqueue(p: BatchedMediaPort, buf: Buffer, len: number, port: number, address: string, done: Done): void {
    if (this.#closed || p.closed) return this.#reject(done, EBADF);
    if ((port | 0) !== port || port < 1 || port > 65535 || (len | 0) !== len || len < 0 || len > buf.length) {
      return this.#reject(done, EINVAL);
    }
    const dest = p.destinationOf(address);
    if (dest === null) return this.#reject(done, EAFNOSUPPORT /* not an IP literal of the socket's family */);
    if (this.#txCount === this.#txCap && !this.#flushing) this.#flush();
    if (this.#txCount === this.#txCap) return this.#reject(done, ENOBUFS);
    let offset: number;
    let copySlot = -1;
    // A ring slot's own view (the relay's case) is recognised by arithmetic and identity;
    // reading `buf.buffer` costs a runtime call, so it is only the fallback.
    const core = this.#target.core;
    const k = (buf.byteOffset - this.#ringPtr) / core.slotBytes;
    if (((k >>> 0) === k && k < core.ringSlots && core.slots[k] === buf) || buf.buffer === this.#memory) {
      offset = buf.byteOffset; // in WASM memory: sent in place
    } else {
      // Any other buffer is copied into a slot, so the queue only ever points into memory
      // the addon knows and the caller may reuse its buffer at once.
      if (len > this.#target.core.slotBytes) return this.#reject(done, EMSGSIZE);
      copySlot = this.#target.ring.acquire();
      if (copySlot < 0) return this.#reject(done, ENOBUFS);
      buf.copy(this.#target.core.slots[copySlot]!, 0, 0, len);
      offset = this.#target.core.slotPtr(copySlot);
    }
    const n = this.#txCount++;
    const row = n * TX_STRIDE;
    const tx = this.#tx;
    tx[row] = p.id;
    tx[row + 1] = offset;
    tx[row + 2] = len;
    tx[row + 3] = port;
    tx[row + 4] = dest[0]!;
    tx[row + 5] = dest[1]!;
    tx[row + 6] = dest[2]!;
    tx[row + 7] = dest[3]!;
    tx[row + 8] = dest[4]!;
    this.#txDone[n] = done;
    this.#txCopySlot[n] = copySlot;
    if (!this.#inBatch) this.#scheduleFlush();
  }

  closePort(p: BatchedMediaPort): void {
    if (this.#closed) return;
    // Sends made before close() still go out, as with dgram; only those waiting on a full
    // socket buffer are lost (their `done` gets EBADF at the next flush).
    let queued = false;
    for (let i = 0; i < this.#txCount && !queued; i++) queued = this.#tx[i * TX_STRIDE] === p.id;
    if (queued && !this.#flushing) this.#flush();
    for (let i = 0; i < this.#txCount; i++) if (this.#tx[i * TX_STRIDE] === p.id) this.#tx[i * TX_STRIDE] = -1;
    this.#addon.close(this.#ctx, p.id);
    const idx = p.id & INDEX_MASK;
    if (this.#ports[idx] === p) this.#ports[idx] = undefined;
    if (this.#txCount > 0) this.#scheduleFlush();
  }

  setBufferSizes(p: BatchedMediaPort, bytes: number): void {
    if (!this.#closed && !p.closed) this.#addon.setBufferSizes(this.#ctx, p.id, bytes);
  }

  formatIpv6(a0: number, a1: number, a2: number, a3: number, scope: number): string {
    return this.#addon.ntop(6, a0, a1, a2, a3, scope);
  }

  parseAddress(address: string, out: Int32Array): number {
    return this.#addon.pton(address, out);
  }

  // ---------------------------------------------------------------- internals

  /** The addon's one call per wakeup: `count` received rows, and/or a socket became writable. */
  readonly #onReady = (count: number, flags: number): void => {
    if ((flags & FLAG_DETACHED) !== 0) {
      // The WASM memory detached (it grew): no slot address is valid any more. CryptoCore
      // rules this out; stop rather than corrupt memory if that ever changes.
      this.close();
      return;
    }
    const rx = this.#rx;
    const ring = this.#target.ring;
    const maxPacket = this.#target.maxPacket;
    const ports = this.#ports;
    this.#inBatch = true;
    let i = 0;
    try {
      for (; i < count; i++) {
        const o = i * RX_STRIDE;
        const id = rx[o]!, slot = rx[o + 1]!, len = rx[o + 2]!;
        const p = ports[id & INDEX_MASK];
        if (p === undefined || p.id !== id) { // its port closed earlier in this batch
          if (slot >= 0) ring.release(slot);
          continue;
        }
        if (slot < 0) { p.handler.drop('backlog'); continue; }
        if (len > maxPacket) { ring.release(slot); p.handler.drop('tooLarge'); continue; }
        p.handler.packet(slot, len, p.sourceOf(rx, o), rx[o + 3]!);
      }
    } finally {
      // If a handler threw, the rows after it never reached one: their slots come back here.
      for (let j = i + 1; j < count; j++) {
        const slot = rx[j * RX_STRIDE + 1]!;
        if (slot >= 0) ring.release(slot);
      }
      this.#inBatch = false;
      // Also the retry after FLAG_WRITABLE: sends deferred on EAGAIN go out now.
      if (!this.#closed && !this.#flushing) this.#flush();
    }
  };

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    if (this.#flushing) return;
    if (!this.#closed) { this.#flush(); return; }
    // Closed: nothing can be sent, but every rejected send still gets its `done`.
    const rejected = this.#rejected;
    this.#rejected = [];
    for (const r of rejected) r.done(r.err);
  };

  /**
   * Sends the queue, runs the completions, refills the receive stash. Not re-entrant: while
   * it runs (completions included) a full queue rejects instead of flushing again, so the
   * completion table being walked is never overwritten.
   */
  #flush(): void {
    this.#flushing = true;
    let completions = 0;
    let queued = 0;
    let threw = false;
    let thrown: unknown = null;
    try {
      const n = this.#txCount;
      if (n > 0) {
        this.#addon.flush(this.#ctx, n);
        const tx = this.#tx, status = this.#txStatus, dones = this.#txDone, copies = this.#txCopySlot;
        const ring = this.#target.ring;
        let keep = 0;
        for (let i = 0; i < n; i++) {
          const st = status[i]!;
          if (st === TX_DEFERRED) { // stays queued, in order, for EPOLLOUT
            if (keep !== i) {
              tx.copyWithin(keep * TX_STRIDE, i * TX_STRIDE, (i + 1) * TX_STRIDE);
              dones[keep] = dones[i]!;
              copies[keep] = copies[i]!;
            }
            keep++;
            continue;
          }
          if (copies[i]! >= 0) ring.release(copies[i]!);
          this.#doneFns[completions] = dones[i]!;
          this.#doneErrs[completions++] = st === 0 ? null : this.#error(st);
        }
        for (let i = keep; i < n; i++) { dones[i] = null; copies[i] = -1; }
        this.#txCount = keep;
      }
      queued = this.#txCount;
      const rejected = this.#rejected;
      if (rejected.length > 0) this.#rejected = [];
      for (let i = 0; i < completions; i++) {
        const done = this.#doneFns[i]!;
        const err = this.#doneErrs[i]!;
        this.#doneFns[i] = null;
        this.#doneErrs[i] = null;
        // A throwing `done` must not cost the other sends their completion (and slot).
        try { done(err); } catch (e) { if (!threw) { threw = true; thrown = e; } }
      }
      for (const r of rejected) {
        try { r.done(r.err); } catch (e) { if (!threw) { threw = true; thrown = e; } }
      }
    } finally {
      this.#flushing = false;
    }
    this.#refill();
    // Sends queued by the completions themselves go out on the next turn.
    if (this.#txCount > queued && !this.#inBatch) this.#scheduleFlush();
    if (threw) throw thrown;
  }

  #refill(): void {
    if (this.#closed) return;
    const stash = this.#stash;
    const ring = this.#target.ring;
    let n = this.#ctl[CTL_STASH]!;
    while (n < stash.length) {
      const slot = ring.acquire();
      if (slot < 0) break;
      stash[n++] = slot;
    }
    this.#ctl[CTL_STASH] = n;
  }

  #reject(done: Done, errno: number): void {
    this.#txRejected++;
    this.#rejected.push({ done, err: this.#error(errno) });
    if (!this.#inBatch) this.#scheduleFlush();
  }

  /** One shared error per errno: the data path counts failures, it does not keep them. */
  #error(errno: number): NativeIoError {
    let e = this.#errors.get(errno);
    if (!e) {
      e = new NativeIoError(NativeIoError.nameOf(errno), 'send');
      this.#errors.set(errno, e);
    }
    return e;
  }
}
