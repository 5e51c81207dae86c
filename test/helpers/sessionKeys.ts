// White-box helper for published test vectors that give *session* keys (RFC 7714 §16–17,
// RFC 3711 B.1): the core only takes master keys, so this writes the vector's session keys
// over the derived ones in a live context slot, then the real protect/unprotect path runs.
//
// It relies on the slot layout of assembly/srtp/context.ts (header, key set 0, the SRTP then
// the SRTCP key block; in a block: expanded key, salt, auth area, f8 mask after the HMAC
// midstates). So that a layout change fails loudly instead of testing garbage, it first
// checks that the slot holds exactly the session keys the reference derives from the
// context's master key at the offsets it computes.
import type { CryptoCore } from '../../src/crypto/CryptoCore.ts';
import type { SessionKeys } from '../reference/refSrtp.ts';

/** Offsets in assembly/srtp/context.ts that the core does not export. */
const C_HEADER_BYTES = 64;
const KS_KEYS = 128; // KS_SRTP_KEYS; KS_SRTCP_KEYS follows one key block later

export interface VectorKeys {
  key: Uint8Array;
  salt: Uint8Array;
}

type Fn = (...args: number[]) => number;

/**
 * Replaces key set 0's SRTP and SRTCP session keys of context `h` with `rtp` / `rtcp`.
 * `derived` is what the reference derives from the context's master key (the layout check).
 * kind 'gcm' recomputes the GHASH key from the new key; 'f8' rewrites the masked key
 * k_e XOR (salt || 0x55..) and keeps the derived HMAC key.
 */
export function injectSessionKeys(core: CryptoCore, h: number, derived: SessionKeys, kind: 'gcm' | 'f8',
  rtp: VectorKeys, rtcp: VectorKeys): void {
  const x = core.exports;
  const fn = (name: string): Fn => {
    const f = x[name];
    if (typeof f !== 'function') throw new Error(`core has no export ${name}`);
    return f as Fn;
  };
  const global = (name: string): number => (x[name] as WebAssembly.Global).value as number;
  const rkBytes = global('AES_RK_BYTES');
  const hmacBytes = global('HMAC_STATE_BYTES');
  const authBytes = Math.max(global('GHASH_KEY_BYTES'), hmacBytes);
  const kSalt = rkBytes;
  const kAuth = kSalt + 16;
  const kBytes = (kAuth + authBytes + 63) & ~63;
  const slot = fn('ctxSlotPtr')(h);
  if (slot === 0) throw new Error('not a live context');
  const blocks = [
    { at: slot + C_HEADER_BYTES + KS_KEYS, want: { key: derived.rtpKey, salt: derived.rtpSalt }, put: rtp },
    { at: slot + C_HEADER_BYTES + KS_KEYS + kBytes, want: { key: derived.rtcpKey, salt: derived.rtcpSalt }, put: rtcp },
  ];
  const scratch = fn('testScratchPtr')();
  const mem = () => new Uint8Array(x.memory.buffer);
  const expand = (key: Uint8Array, out: number) => {
    mem().set(key, scratch);
    if (fn('aesExpandKey')(scratch, key.length, out) !== 0) throw new Error('aesExpandKey refused the key');
  };
  try {
    for (const b of blocks) {
      const salt = mem().slice(b.at + kSalt, b.at + kSalt + b.want.salt.length);
      expand(b.want.key, scratch + 4096);
      const rkWant = mem().slice(scratch + 4096, scratch + 4096 + rkBytes);
      const rkHave = mem().slice(b.at, b.at + rkBytes);
      if (Buffer.compare(salt, b.want.salt) !== 0 || Buffer.compare(rkHave, rkWant) !== 0) {
        throw new Error('the context slot layout is not the one test/helpers/sessionKeys.ts assumes');
      }
      expand(b.put.key, b.at);
      mem().fill(0, b.at + kSalt, b.at + kSalt + 16);
      mem().set(b.put.salt.subarray(0, 16), b.at + kSalt);
      if (kind === 'gcm') {
        mem().fill(0, scratch, scratch + 32);
        fn('aesEncryptBlock')(b.at, scratch, scratch + 16); // H = E_K(0^128)
        fn('ghashSetKey')(scratch + 16, b.at + kAuth);
      } else {
        const mask = new Uint8Array(b.put.key.length).fill(0x55);
        mask.set(b.put.salt.subarray(0, mask.length));
        mem().set(b.put.key.map((v, i) => v ^ mask[i]!), b.at + kAuth + hmacBytes);
      }
    }
  } finally {
    mem().fill(0, scratch, scratch + 4096 + rkBytes);
  }
}
