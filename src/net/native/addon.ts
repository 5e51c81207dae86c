// Loads the optional batched-UDP addon (native/udpbatch.c) and types its ABI. The addon is
// built by `node scripts/build-native.mjs`; when it is missing or does not load, `loadAddon()`
// says why and the relay stays on node:dgram.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Must equal ABI_VERSION in native/udpbatch.c. */
export const ABI_VERSION = 1;
/** Receive meta row: [socket id, slot (-1: no free slot, dropped), len, port, scope, a0, a1, a2, a3]. */
export const RX_STRIDE = 9;
/** Send row: [socket id, byte offset in memory, len, port, scope, a0, a1, a2, a3]. */
export const TX_STRIDE = 9;
/** txStatus value of a send kept for later (socket buffer full); 0 is sent, > 0 an errno. */
export const TX_DEFERRED = -1;
/** onReady flags. */
export const FLAG_WRITABLE = 1;
export const FLAG_DETACHED = 2;
/** ctl[CTL_STASH]: how many entries of the stash hold free slots; the addon pops from the top. */
export const CTL_STASH = 0;
/** Socket ids: the low INDEX_BITS are a table index (the rest a generation). */
export const INDEX_MASK = (1 << 20) - 1;
/** Indexes into the stats Float64Array. */
export const Stat = {
  wakeups: 0, rxPackets: 1, rxSyscalls: 2, rxErrors: 3, txPackets: 4, txSyscalls: 5, txEagain: 6, txErrors: 7,
} as const;
export const STAT_COUNT = 8;

declare const contextBrand: unique symbol;
/** An addon context (one epoll set and its sockets); opaque to JS. */
export interface UdpBatchContext { readonly [contextBrand]: true }

/** The addon's exports. Every argument is a number, a string or a typed array. */
export interface UdpBatchAddon {
  readonly abiVersion: number;
  /** onReady(count, flags): `count` rows of `rx` are filled; slots named there now belong to JS. */
  create(memory: ArrayBuffer, ringPtr: number, slotBytes: number, ringSlots: number, maxRecv: number,
    ctl: Int32Array, stash: Int32Array, rx: Int32Array, tx: Int32Array, txStatus: Int32Array, stats: Float64Array,
    onReady: (count: number, flags: number) => void): UdpBatchContext;
  /** out = [socket id, bound port]; throws an Error whose `code` is the errno name. */
  bind(ctx: UdpBatchContext, family: 4 | 6, address: string, port: number, out: Int32Array): void;
  close(ctx: UdpBatchContext, id: number): void;
  setBufferSizes(ctx: UdpBatchContext, id: number, bytes: number): void;
  /** Sends tx rows [0, n); fills txStatus; returns how many were deferred. */
  flush(ctx: UdpBatchContext, n: number): number;
  destroy(ctx: UdpBatchContext): void;
  /** Formats an address as node's rinfo.address does. */
  ntop(family: 4 | 6, a0: number, a1: number, a2: number, a3: number, scope: number): string;
  /** Parses an IP literal into out = [scope, a0, a1, a2, a3]; returns 4, 6, or 0 if not one. */
  pton(address: string, out: Int32Array): number;
}

export type AddonLoad = { addon: UdpBatchAddon; reason: null } | { addon: null; reason: string };

/** The build command, for messages and test skips. */
export const BUILD_COMMAND = 'node scripts/build-native.mjs';

const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/udpbatch.node', import.meta.url));

let loaded: AddonLoad | null = null;

function isAddon(x: unknown): x is UdpBatchAddon {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return ['create', 'bind', 'close', 'setBufferSizes', 'flush', 'destroy', 'ntop', 'pton'].every((k) => typeof o[k] === 'function');
}

/** Loads the addon once per process; `reason` says why it is unavailable. */
export function loadAddon(): AddonLoad {
  if (loaded) return loaded;
  loaded = tryLoad();
  return loaded;
}

function tryLoad(): AddonLoad {
  if (process.platform !== 'linux') return { addon: null, reason: `Linux only, this is ${process.platform}` };
  if (process.env.SRTPGATE_NO_NATIVE === '1') return { addon: null, reason: 'disabled by SRTPGATE_NO_NATIVE=1' };
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(ADDON_PATH);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND') return { addon: null, reason: `addon not built: run ${BUILD_COMMAND}` };
    return { addon: null, reason: `addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!isAddon(mod)) return { addon: null, reason: 'addon has the wrong exports' };
  if (mod.abiVersion !== ABI_VERSION) {
    return { addon: null, reason: `addon ABI ${String(mod.abiVersion)} != ${ABI_VERSION}: run ${BUILD_COMMAND}` };
  }
  return { addon: mod, reason: null };
}
