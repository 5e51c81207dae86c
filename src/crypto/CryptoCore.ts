// The only module that touches WebAssembly or views over its memory. One CryptoCore is one
// WASM instance: a fixed arena of context slots, an IO buffer, and the per-packet exports.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ABI_VERSION, Status, STATUS_EXPORTS, MAX_PACKET, MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW,
  FLAG_OUTBOUND, FLAG_ALLOW_NULL_CIPHER, FLAG_ALLOW_UNENCRYPTED_SRTCP, FLAG_ALLOW_REPEAT_TX,
  CIPHER_NULL, CIPHER_AES_CM, CIPHER_AES_GCM, CIPHER_AES_F8, type StatusName,
} from './abi.ts';
import type { CryptoSuite } from './suites.ts';
import { RelayError, SrtpError } from '../errors.ts';
import { runSelfTest } from './selfTest.ts';

export type CoreBuild = 'simd' | 'scalar';

export interface CryptoCoreOptions {
  /** Context slots in this instance (each direction of each key is one). Default 1024. */
  maxContexts?: number;
  /** SSRCs one context can track. Default 8. */
  maxSsrcsPerContext?: number;
  /** Master keys one context can hold (MKI re-keying). Default 2. */
  maxKeysPerContext?: number;
  /** Largest replay window any context of this instance may use; rounded up to a power of
   *  two, 64..32768. Default 1024. Memory per slot grows with it. */
  maxReplayWindow?: number;
  /** 'simd' or 'scalar'; default: simd when the engine validates it. */
  build?: CoreBuild;
  /** Load the debug build (assertions and names kept). Default false. */
  debug?: boolean;
}

export type ContextDirection = 'inbound' | 'outbound';

export interface ContextParams {
  suite: CryptoSuite;
  direction: ContextDirection;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  /** Replay window in packets, 64..maxReplayWindow. Default 1024 (or the instance max if smaller). */
  replayWindow?: number;
  /** SDES KDR=n: re-derive session keys every 2^n packets (0..24). Undefined: derive once. */
  kdr?: number;
  /** MKI carried on the wire: its length in bytes (1..4) and this key's value. */
  mki?: { length: number; value: number };
  /** Packets this master key may protect (SDES lifetime); capped at the suite's limits. */
  lifetime?: bigint;
  insecureAllowNullCipher?: boolean;
  insecureAllowUnencryptedSrtcp?: boolean;
  insecureAllowRepeatTx?: boolean;
}

/** One SSRC of a context: its highest SRTP and SRTCP index, undefined while it has none. */
export interface ContextSsrcIndex {
  readonly ssrc: number;
  readonly srtp: number | undefined;
  readonly srtcp: number | undefined;
}

export type IndexKind = 'srtp' | 'srtcp';

interface CoreExports {
  memory: WebAssembly.Memory;
  ABI_VERSION: WebAssembly.Global;
  IO_BYTES: WebAssembly.Global;
  IO_SLOT_BYTES: WebAssembly.Global;
  IO_RING_SLOTS: WebAssembly.Global;
  ioPtr(): number;
  ioRingPtr(): number;
  keyInPtr(): number;
  simdBuild(): number;
  coreInit(contexts: number, ssrcs: number, windowBits: number, keys: number): number;
  ctxCreate(cipher: number, keyPtr: number, keyLen: number, saltPtr: number, saltLen: number,
    rtpTag: number, rtcpTag: number, window: number, flags: number, kdrLog2: number, mkiLen: number, mki: number): number;
  ctxAddKey(h: number, keyPtr: number, saltPtr: number, mki: number): number;
  ctxSetTxKey(h: number, mki: number): number;
  ctxSetKeyLimit(h: number, mki: number, srtp: bigint, srtcp: bigint): number;
  ctxDestroy(h: number): number;
  ctxSetRoc(h: number, ssrc: number, roc: number): number;
  ctxGetRoc(h: number, ssrc: number): bigint;
  ctxTakeEvents(h: number): number;
  ctxSetPacketCounts(h: number, srtp: bigint, srtcp: bigint): number;
  ctxSlotPtr(h: number): number;
  ctxSlotBytes(): number;
  ctxApplyFloor(h: number, ssrc: number, rtcp: number, floor: bigint): number;
  ctxSsrcCount(h: number): number;
  ctxEntrySsrc(h: number, i: number): bigint;
  ctxEntryIndex(h: number, i: number, rtcp: number): bigint;
  srtpProtect(h: number, ptr: number, len: number, cap: number): number;
  srtpUnprotect(h: number, ptr: number, len: number): number;
  srtcpProtect(h: number, ptr: number, len: number, cap: number): number;
  srtcpUnprotect(h: number, ptr: number, len: number): number;
  [name: string]: unknown;
}

const modules = new Map<string, WebAssembly.Module>();

function wasmFile(build: CoreBuild, debug: boolean): string {
  return fileURLToPath(new URL(`../../build/srtpgate.${build}.${debug ? 'debug' : 'release'}.wasm`, import.meta.url));
}

function moduleFor(build: CoreBuild, debug: boolean): WebAssembly.Module {
  const key = `${build}.${debug}`;
  let m = modules.get(key);
  if (!m) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(wasmFile(build, debug)));
    } catch {
      throw new RelayError('E_INTERNAL', 'WASM core not built: run npm run build:wasm', { build, debug });
    }
    m = new WebAssembly.Module(bytes);
    modules.set(key, m);
  }
  return m;
}

/** The SIMD build when this engine validates WASM SIMD, else the scalar one. */
export function preferredBuild(): CoreBuild {
  // A minimal module using one v128 instruction (i32x4.splat of a constant, dropped).
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0,
    10, 9, 1, 7, 0, 65, 0, 253, 17, 26, 11]);
  return WebAssembly.validate(probe) ? 'simd' : 'scalar';
}

function cipherSupported(cipher: number): boolean {
  return cipher === CIPHER_NULL || cipher === CIPHER_AES_CM || cipher === CIPHER_AES_GCM || cipher === CIPHER_AES_F8;
}

export class CryptoCore {
  readonly build: CoreBuild;
  readonly debug: boolean;
  readonly maxContexts: number;
  readonly maxReplayWindow: number;
  #x: CoreExports;
  #io: Uint8Array;
  #ioPtr: number;
  #keyIn: Uint8Array;
  #live = new Set<number>();
  #ringPtr: number;
  /** Packet ring slots (see assembly/layout.ts): Buffer views made once, never per packet. */
  readonly ringSlots: number;
  readonly slotBytes: number;
  readonly slots: readonly Buffer[];

  private constructor(x: CoreExports, build: CoreBuild, debug: boolean, maxContexts: number, maxReplayWindow: number) {
    this.#x = x;
    this.build = build;
    this.debug = debug;
    this.maxContexts = maxContexts;
    this.maxReplayWindow = maxReplayWindow;
    this.#ioPtr = x.ioPtr();
    const buf = x.memory.buffer;
    this.#io = new Uint8Array(buf, this.#ioPtr, x.IO_BYTES.value as number);
    this.#keyIn = new Uint8Array(buf, x.keyInPtr(), 64);
    this.#ringPtr = x.ioRingPtr();
    this.ringSlots = x.IO_RING_SLOTS.value as number;
    this.slotBytes = x.IO_SLOT_BYTES.value as number;
    const slots: Buffer[] = [];
    for (let i = 0; i < this.ringSlots; i++) slots.push(Buffer.from(buf, this.#ringPtr + i * this.slotBytes, this.slotBytes));
    this.slots = slots;
  }

  /** Linear-memory address of ring slot i. */
  slotPtr(i: number): number { return this.#ringPtr + i * this.slotBytes; }

  // Data path on any buffer in linear memory (the relay's ring slots): new length or a negative Status.
  srtpProtectAt(h: number, ptr: number, len: number, cap: number): number { return this.#x.srtpProtect(h, ptr, len, cap); }
  srtpUnprotectAt(h: number, ptr: number, len: number): number { return this.#x.srtpUnprotect(h, ptr, len); }
  srtcpProtectAt(h: number, ptr: number, len: number, cap: number): number { return this.#x.srtcpProtect(h, ptr, len, cap); }
  srtcpUnprotectAt(h: number, ptr: number, len: number): number { return this.#x.srtcpUnprotect(h, ptr, len); }

  /** Instantiates a core, sizes its arena, checks the ABI and runs the known-answer tests.
   *  Refuses (throws E_CRYPTO_SELFTEST) on any mismatch. */
  static async load(options: CryptoCoreOptions = {}): Promise<CryptoCore> {
    return CryptoCore.loadSync(options);
  }

  static loadSync(options: CryptoCoreOptions = {}): CryptoCore {
    const build = options.build ?? preferredBuild();
    const debug = options.debug ?? false;
    const maxContexts = options.maxContexts ?? 1024;
    const ssrcs = options.maxSsrcsPerContext ?? 8;
    const window = Math.max(MIN_REPLAY_WINDOW, options.maxReplayWindow ?? 1024);
    let ring = MIN_REPLAY_WINDOW;
    while (ring < window) ring *= 2;
    if (ring > MAX_REPLAY_WINDOW) throw new RelayError('E_BAD_REQUEST', 'replay window too large', { max: MAX_REPLAY_WINDOW });
    const instance = new WebAssembly.Instance(moduleFor(build, debug), {
      env: {
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new RelayError('E_INTERNAL', 'WASM core aborted', { line, col });
        },
      },
    });
    const x = instance.exports as unknown as CoreExports;
    checkAbi(x);
    const st = x.coreInit(maxContexts, ssrcs, ring, options.maxKeysPerContext ?? 2);
    if (st !== Status.OK) throw new SrtpError(st, 'coreInit');
    const core = new CryptoCore(x, build, debug, maxContexts, ring);
    runSelfTest(core);
    return core;
  }

  /** Raw exports, for the self-test and primitive tests only. */
  get exports(): Readonly<CoreExports> { return this.#x; }

  /** The IO buffer: write a packet at offset 0, call a data-path method, read it back. */
  get io(): Uint8Array { return this.#io; }
  get ioPtr(): number { return this.#ioPtr; }
  get ioCapacity(): number { return this.#io.length; }
  get memoryBytes(): number { return this.#x.memory.buffer.byteLength; }
  get liveContexts(): number { return this.#live.size; }

  /** Creates a context; the caller's key arrays are not modified (wipe them yourself). */
  createContext(p: ContextParams): number {
    const { suite } = p;
    if (!cipherSupported(suite.cipher)) throw new SrtpError(Status.NOT_SUPPORTED, `createContext ${suite.name}`);
    if (p.masterKey.length !== suite.keyLen || p.masterSalt.length !== suite.saltLen) {
      throw new RelayError('E_BAD_REQUEST', 'master key or salt length does not match the suite',
        { suite: suite.name, keyLen: p.masterKey.length, saltLen: p.masterSalt.length });
    }
    const window = p.replayWindow ?? Math.min(1024, this.maxReplayWindow);
    if (!Number.isInteger(window) || window < MIN_REPLAY_WINDOW || window > this.maxReplayWindow) {
      throw new RelayError('E_BAD_REQUEST', 'replay window out of range', { window, min: MIN_REPLAY_WINDOW, max: this.maxReplayWindow });
    }
    let flags = p.direction === 'outbound' ? FLAG_OUTBOUND : 0;
    if (p.insecureAllowNullCipher) flags |= FLAG_ALLOW_NULL_CIPHER;
    if (p.insecureAllowUnencryptedSrtcp) flags |= FLAG_ALLOW_UNENCRYPTED_SRTCP;
    if (p.insecureAllowRepeatTx) flags |= FLAG_ALLOW_REPEAT_TX;
    const kdr = p.kdr ?? -1;
    if (!Number.isInteger(kdr) || kdr < -1 || kdr > 24) throw new RelayError('E_BAD_REQUEST', 'KDR out of range', { kdr });
    this.#keyIn.set(p.masterKey, 0);
    this.#keyIn.set(p.masterSalt, 32);
    const keyPtr = this.#keyIn.byteOffset;
    // ctxCreate wipes the key area itself; fill again in case of an early return.
    const h = this.#x.ctxCreate(suite.cipher, keyPtr, suite.keyLen, keyPtr + 32, suite.saltLen,
      suite.rtpTagLen, suite.rtcpTagLen, window, flags, kdr, p.mki?.length ?? 0, (p.mki?.value ?? 0) >>> 0);
    this.#keyIn.fill(0);
    if (h < 0) throw new SrtpError(h, `createContext ${suite.name}`);
    this.#live.add(h);
    if (p.lifetime !== undefined) this.setKeyLimit(h, p.mki?.value ?? 0, p.lifetime);
    return h;
  }

  /** Adds a master key selected by MKI (the context must have been created with an MKI). */
  addKey(h: number, suite: CryptoSuite, masterKey: Uint8Array, masterSalt: Uint8Array, mki: number, lifetime?: bigint): void {
    if (masterKey.length !== suite.keyLen || masterSalt.length !== suite.saltLen) {
      throw new RelayError('E_BAD_REQUEST', 'master key or salt length does not match the suite', { suite: suite.name });
    }
    this.#keyIn.set(masterKey, 0);
    this.#keyIn.set(masterSalt, 32);
    const st = this.#x.ctxAddKey(h, this.#keyIn.byteOffset, this.#keyIn.byteOffset + 32, mki >>> 0);
    this.#keyIn.fill(0);
    if (st < 0) throw new SrtpError(st, 'addKey');
    if (lifetime !== undefined) this.setKeyLimit(h, mki, lifetime);
  }

  /** Switches the key protect uses to the one with this MKI. */
  setTxKey(h: number, mki: number): void {
    const st = this.#x.ctxSetTxKey(h, mki >>> 0);
    if (st < 0) throw new SrtpError(st, 'setTxKey');
  }

  /** Caps a key's SRTP and SRTCP packet counts (an SDES lifetime). */
  setKeyLimit(h: number, mki: number, lifetime: bigint): void {
    const st = this.#x.ctxSetKeyLimit(h, mki >>> 0, lifetime, lifetime);
    if (st < 0) throw new SrtpError(st, 'setKeyLimit');
  }

  /** Zeroes the context's keys and state; idempotent. */
  destroyContext(h: number): void {
    if (!this.#live.delete(h)) return;
    this.#x.ctxDestroy(h);
  }

  /** In-place data path on the IO buffer: returns the new length or a negative Status. */
  srtpProtect(h: number, len: number): number { return this.#x.srtpProtect(h, this.#ioPtr, len, this.#io.length); }
  srtpUnprotect(h: number, len: number): number { return this.#x.srtpUnprotect(h, this.#ioPtr, len); }
  srtcpProtect(h: number, len: number): number { return this.#x.srtcpProtect(h, this.#ioPtr, len, this.#io.length); }
  srtcpUnprotect(h: number, len: number): number { return this.#x.srtcpUnprotect(h, this.#ioPtr, len); }

  setRoc(h: number, ssrc: number, roc: number): number { return this.#x.ctxSetRoc(h, ssrc >>> 0, roc >>> 0); }
  /** ROC for ssrc, or undefined when the context has not seen it. */
  getRoc(h: number, ssrc: number): number | undefined {
    const r = this.#x.ctxGetRoc(h, ssrc >>> 0);
    return r < 0n ? undefined : Number(r);
  }
  takeEvents(h: number): number { return this.#x.ctxTakeEvents(h); }

  /** Highest index accepted (inbound context) or sent (outbound) per SSRC; an applied floor counts
   *  as used. SSRCs with neither (e.g. only a setRoc) are left out. */
  indexState(h: number): ContextSsrcIndex[] {
    const n = this.#x.ctxSsrcCount(h);
    if (n < 0) throw new SrtpError(n, 'indexState');
    const out: ContextSsrcIndex[] = [];
    for (let i = 0; i < n; i++) {
      const ssrc = this.#x.ctxEntrySsrc(h, i);
      const rtp = this.#x.ctxEntryIndex(h, i, 0);
      const rtcp = this.#x.ctxEntryIndex(h, i, 1);
      if (ssrc < 0n || rtp < 0n || rtcp < 0n) throw new SrtpError(Number(ssrc < 0n ? ssrc : rtp < 0n ? rtp : rtcp), 'indexState');
      // The core returns index + 1 so that 0 can mean "none".
      if (rtp === 0n && rtcp === 0n) continue;
      out.push({ ssrc: Number(ssrc), srtp: rtp === 0n ? undefined : Number(rtp - 1n), srtcp: rtcp === 0n ? undefined : Number(rtcp - 1n) });
    }
    return out;
  }

  /**
   * Raises ssrc's index to at least `floor` (see ctxApplyFloor in assembly/srtp/context.ts):
   * inbound rejects ≤ floor as a replay; outbound SRTP refuses ≤ floor (INDEX_REUSE) and keeps the
   * floor's ROC; outbound SRTCP continues at floor + 1. Throws E_BAD_PARAM for a floor out of range
   * (2^48-1 SRTP, 2^31-1 SRTCP), E_SSRC_TABLE_FULL, E_BAD_CTX.
   */
  applyIndexFloor(h: number, ssrc: number, kind: IndexKind, floor: number): void {
    if (!Number.isSafeInteger(floor) || floor < 0) throw new SrtpError(Status.BAD_PARAM, 'applyIndexFloor');
    const st = this.#x.ctxApplyFloor(h, ssrc >>> 0, kind === 'srtcp' ? 1 : 0, BigInt(floor));
    if (st < 0) throw new SrtpError(st, 'applyIndexFloor');
  }
  setPacketCounts(h: number, srtp: bigint, srtcp: bigint): number { return this.#x.ctxSetPacketCounts(h, srtp, srtcp); }

  /** A copy of the context's slot bytes (keys included): for tests asserting "no change". */
  snapshot(h: number): Uint8Array {
    const p = this.#x.ctxSlotPtr(h);
    if (p === 0) throw new SrtpError(Status.BAD_CTX, 'snapshot');
    return new Uint8Array(this.#x.memory.buffer, p, this.#x.ctxSlotBytes()).slice();
  }
}

function checkAbi(x: CoreExports): void {
  const mismatches: string[] = [];
  if (x.ABI_VERSION.value !== ABI_VERSION) mismatches.push('ABI_VERSION');
  for (const [name, exp] of Object.entries(STATUS_EXPORTS) as [StatusName, string][]) {
    const g = x[exp] as WebAssembly.Global | undefined;
    if (!g || g.value !== Status[name]) mismatches.push(exp);
  }
  const constants: Record<string, number> = {
    MAX_PACKET, MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW, FLAG_OUTBOUND, FLAG_ALLOW_NULL_CIPHER,
    FLAG_ALLOW_UNENCRYPTED_SRTCP, FLAG_ALLOW_REPEAT_TX, CIPHER_NULL, CIPHER_AES_CM, CIPHER_AES_GCM, CIPHER_AES_F8,
  };
  for (const [name, v] of Object.entries(constants)) {
    const g = x[name] as WebAssembly.Global | undefined;
    if (!g || g.value !== v) mismatches.push(name);
  }
  if (mismatches.length) {
    throw new RelayError('E_CRYPTO_SELFTEST', 'WASM ABI does not match src/crypto/abi.ts', { mismatches: mismatches.join(',') });
  }
}
