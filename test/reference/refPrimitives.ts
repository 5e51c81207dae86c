// The reference's primitives, each written to be read next to its RFC section: byte helpers,
// the AES-CM keystream and IV (RFC 3711 §4.1.1), AES-f8 (§4.1.2), AES-GCM for SRTP/SRTCP
// (RFC 7714 §8–9, the AEAD itself from @noble/ciphers), HMAC-SHA1 (§4.2.1) and the key
// derivation PRF (§4.3). Speed does not matter; numbers wider than 32 bits are bigint.
// refSrtp.ts builds the packet transforms from these and re-exports them.
import { ecb, gcm } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';

// ---------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Big-endian bytes of a non-negative integer, `len` bytes wide. */
export function beBytes(value: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = value;
  for (let i = len - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

export function beBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function u16(b: Uint8Array, o: number): number { return (b[o]! << 8) | b[o + 1]!; }
export function u32(b: Uint8Array, o: number): number { return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0; }

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new Error('xor of unequal lengths');
  return a.map((x, i) => x ^ b[i]!);
}

/** Constant-time-ish comparison; the oracle does not need it, but it costs nothing. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** One AES block, E(key, block). ECB of a single block is exactly the forward cipher. */
export function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (block.length !== 16) throw new Error('an AES block is 16 bytes');
  return ecb(key, { disablePadding: true }).encrypt(block);
}

// ---------------------------------------------------------------------------------------
// AES in counter mode (RFC 3711 §4.1.1)
// ---------------------------------------------------------------------------------------

/** The 128-bit counter block `iv + j` (big-endian addition modulo 2^128). */
function counterBlock(iv: Uint8Array, j: number): Uint8Array {
  return beBytes((beBigint(iv) + BigInt(j)) % (1n << 128n), 16);
}

/**
 * The AES-CM keystream of `len` bytes starting at counter `iv`:
 * E(k, IV) || E(k, IV + 1) || E(k, IV + 2) || ... truncated to `len`.
 */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, len: number): Uint8Array {
  if (iv.length !== 16) throw new Error('AES-CM IV is 16 bytes');
  if (len === 0) return new Uint8Array(0); // GCM's absent auth key: nothing to derive
  const blocks = Math.ceil(len / 16);
  const counters = new Uint8Array(blocks * 16);
  for (let j = 0; j < blocks; j++) counters.set(counterBlock(iv, j), 16 * j);
  // ECB over the counter blocks is exactly the list of E(k, IV + j).
  const stream = ecb(key, { disablePadding: true }).encrypt(counters);
  return stream.slice(0, len);
}

/** RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16). */
export function aesCmIv(sessionSalt: Uint8Array, ssrc: number, index: bigint): Uint8Array {
  const ks = beBigint(sessionSalt) << 16n;
  const iv = ks ^ (BigInt(ssrc >>> 0) << 64n) ^ ((index & 0xffff_ffff_ffffn) << 16n);
  return beBytes(iv, 16);
}

// ---------------------------------------------------------------------------------------
// AES in f8 mode (RFC 3711 §4.1.2)
// ---------------------------------------------------------------------------------------

/** §4.1.2.1: m = k_s || 0x555..5, as long as the key. */
export function f8KeyMask(sessionSalt: Uint8Array, keyLen: number): Uint8Array {
  if (sessionSalt.length > keyLen) throw new Error('f8 salt longer than the key');
  return concat(sessionSalt, new Uint8Array(keyLen - sessionSalt.length).fill(0x55));
}

/** §4.1.2.1: IV' = E(k_e XOR m, IV). */
export function f8IvPrime(key: Uint8Array, sessionSalt: Uint8Array, iv: Uint8Array): Uint8Array {
  return aesBlock(xor(key, f8KeyMask(sessionSalt, key.length)), iv);
}

/**
 * §4.1.2.1: S(j) = E(k_e, IV' XOR j XOR S(j-1)), S(-1) = 0, with j an n_b-bit (128-bit)
 * integer; the keystream is S(0) || S(1) || ... truncated to `len`. Each block feeds the
 * next, so unlike AES-CM it cannot be computed in parallel.
 */
export function f8Keystream(key: Uint8Array, sessionSalt: Uint8Array, iv: Uint8Array, len: number): Uint8Array {
  if (iv.length !== 16) throw new Error('f8 IV is 16 bytes');
  const ivPrime = f8IvPrime(key, sessionSalt, iv);
  const out = new Uint8Array(Math.ceil(len / 16) * 16);
  let s: Uint8Array = new Uint8Array(16);
  for (let j = 0; 16 * j < len; j++) {
    s = aesBlock(key, xor(xor(ivPrime, beBytes(BigInt(j), 16)), s));
    out.set(s, 16 * j);
  }
  return out.slice(0, len);
}

/** §4.1.2.2: the SRTP IV = 0x00 || M || PT || SEQ || TS || SSRC || ROC. */
export function f8IvRtp(rtpHeader: Uint8Array, roc: number): Uint8Array {
  return concat(new Uint8Array(1), rtpHeader.subarray(1, 12), beBytes(BigInt(roc >>> 0), 4));
}

/** §4.1.2.3: the SRTCP IV = 0..0 (32 bits) || E || SRTCP index || V || P || RC || PT || length || SSRC. */
export function f8IvRtcp(rtcpHeader: Uint8Array, eIndex: number): Uint8Array {
  return concat(new Uint8Array(4), beBytes(BigInt(eIndex >>> 0), 4), rtcpHeader.subarray(0, 8));
}

// ---------------------------------------------------------------------------------------
// AES-GCM for SRTP and SRTCP (RFC 7714)
// ---------------------------------------------------------------------------------------

/** RFC 7714 §8.1: IV = salt XOR (0x0000 || SSRC || ROC || SEQ), 12 bytes. */
export function gcmIvRtp(sessionSalt: Uint8Array, ssrc: number, index: bigint): Uint8Array {
  if (sessionSalt.length !== 12) throw new Error('GCM session salt is 96 bits');
  const roc = Number(index >> 16n);
  const seq = Number(index & 0xffffn);
  return xor(sessionSalt, concat(new Uint8Array(2), beBytes(BigInt(ssrc >>> 0), 4), beBytes(BigInt(roc), 4), beBytes(BigInt(seq), 2)));
}

/** RFC 7714 §9.1: IV = salt XOR (0x0000 || SSRC || 0x0000 || 0 || SRTCP index), 12 bytes. */
export function gcmIvRtcp(sessionSalt: Uint8Array, ssrc: number, index: number): Uint8Array {
  if (sessionSalt.length !== 12) throw new Error('GCM session salt is 96 bits');
  return xor(sessionSalt, concat(new Uint8Array(2), beBytes(BigInt(ssrc >>> 0), 4), new Uint8Array(2), beBytes(BigInt(index & 0x7fff_ffff), 4)));
}

/** AEAD encryption: ciphertext || 16-byte tag. */
export function gcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return gcm(key, iv, aad).encrypt(plaintext);
}

/** AEAD decryption of ciphertext || tag; null when the tag does not verify. */
export function gcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  try {
    return gcm(key, iv, aad).decrypt(sealed);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// HMAC-SHA1 (RFC 3711 §4.2.1) and the key derivation PRF (§4.3)
// ---------------------------------------------------------------------------------------

export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha1, key, data);
}

/**
 * The SRTP PRF: AES-CM keyed with the master key, IV = (master_salt XOR key_id) * 2^16,
 * where key_id = label || r, r = index DIV kdr (0 when kdr = 0), right-aligned with the
 * salt. r is 48 bits wide for SRTP and SRTCP alike (the 31-bit SRTCP index fits).
 */
export function srtpPrf(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, r: bigint, outLen: number): Uint8Array {
  if (masterKey.length !== 16 && masterKey.length !== 24 && masterKey.length !== 32) throw new Error('bad master key length');
  return aesCmKeystream(masterKey, prfIv(masterSalt, label, r), outLen);
}

/** The PRF's first counter block: (master_salt XOR (label || r)) * 2^16. */
export function prfIv(masterSalt: Uint8Array, label: number, r: bigint): Uint8Array {
  if (masterSalt.length !== 14) throw new Error('master salt is 112 bits');
  const keyId = beBytes((BigInt(label) << 48n) | (r & 0xffff_ffff_ffffn), 7);
  const x = xor(masterSalt, concat(new Uint8Array(7), keyId));
  return concat(x, new Uint8Array(2));
}

/** r = index DIV key_derivation_rate, with r = 0 for a rate of 0 (§4.3.1). */
export function kdfR(kdr: bigint, index: bigint): bigint {
  return kdr === 0n ? 0n : index / kdr;
}
