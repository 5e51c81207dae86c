// Raw-handle access to a CryptoCore for tests that need a context's handle (index floors,
// index state): one call on a copy of the packet, the result or the negative status.
import type { CryptoCore, ContextDirection } from '../../src/crypto/CryptoCore.ts';
import type { CryptoSuite } from '../../src/crypto/suites.ts';

export type CoreOp = 'srtpProtect' | 'srtpUnprotect' | 'srtcpProtect' | 'srtcpUnprotect';

/** Runs op on context h over a copy of packet: the output bytes, or the negative Status. */
export function coreRun(core: CryptoCore, op: CoreOp, h: number, packet: Uint8Array): Uint8Array | number {
  const io = core.io;
  io.set(packet, 0);
  const n = core[op](h, packet.length);
  return n < 0 ? n : io.slice(0, n);
}

/** Like coreRun but throws on a negative status (the caller expects success). */
export function coreOk(core: CryptoCore, op: CoreOp, h: number, packet: Uint8Array): Uint8Array {
  const r = coreRun(core, op, h, packet);
  if (typeof r === 'number') throw new Error(`${op} failed with status ${r}`);
  return r;
}

export function makeContext(core: CryptoCore, suite: CryptoSuite, direction: ContextDirection,
  key: Uint8Array, salt: Uint8Array, extra: { replayWindow?: number; insecureAllowRepeatTx?: boolean } = {}): number {
  return core.createContext({
    suite, direction, masterKey: key.slice(), masterSalt: salt.slice(),
    insecureAllowNullCipher: !suite.encrypts, ...extra,
  });
}
