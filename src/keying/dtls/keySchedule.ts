// TLS 1.2 key schedule for the two AES-128-GCM/SHA-256 suites (RFC 5246 §5, §6.3, §7.4.9;
// RFC 7627 §4 extended master secret). All secrets are Buffers the caller wipes.
import { createHash, createHmac } from 'node:crypto';
import { concatBytes } from './wire.ts';

const MASTER_SECRET_LEN = 48;
const AES128_KEY_LEN = 16;
/** RFC 5288 §3: the GCM "salt", the implicit 4 bytes of the nonce. */
const GCM_IMPLICIT_IV_LEN = 4;

const enc = new TextEncoder();

/** RFC 5246 §5 PRF with P_SHA256 (both our suites use SHA-256). */
export function prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const labelSeed = concatBytes([enc.encode(label), seed]);
  const out = Buffer.alloc(length);
  let a: Uint8Array = labelSeed; // A(0)
  let off = 0;
  while (off < length) {
    a = createHmac('sha256', secret).update(a).digest(); // A(i) = HMAC(secret, A(i-1))
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    off += block.copy(out, off);
  }
  return out;
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret", session_hash).
 * The session hash covers every handshake message up to and including ClientKeyExchange, which
 * binds the master secret to this handshake's certificates and key shares (the triple
 * handshake fix). We never compute the legacy, randoms-only master secret.
 */
export function extendedMasterSecret(preMasterSecret: Uint8Array, sessionHash: Uint8Array): Buffer {
  return prf(preMasterSecret, 'extended master secret', sessionHash, MASTER_SECRET_LEN);
}

export interface RecordKeys {
  readonly clientWriteKey: Buffer;
  readonly serverWriteKey: Buffer;
  readonly clientWriteIv: Buffer;
  readonly serverWriteIv: Buffer;
}

/** RFC 5246 §6.3 key_block for AEAD suites: no MAC keys, 16-byte keys, 4-byte implicit IVs. */
export function recordKeys(masterSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): RecordKeys {
  const len = 2 * AES128_KEY_LEN + 2 * GCM_IMPLICIT_IV_LEN;
  const block = prf(masterSecret, 'key expansion', concatBytes([serverRandom, clientRandom]), len);
  let o = 0;
  const take = (n: number): Buffer => { const b = Buffer.from(block.subarray(o, o + n)); o += n; return b; };
  const keys = { clientWriteKey: take(AES128_KEY_LEN), serverWriteKey: take(AES128_KEY_LEN), clientWriteIv: take(GCM_IMPLICIT_IV_LEN), serverWriteIv: take(GCM_IMPLICIT_IV_LEN) };
  block.fill(0);
  return keys;
}

export function wipeRecordKeys(k: RecordKeys): void {
  k.clientWriteKey.fill(0);
  k.serverWriteKey.fill(0);
  k.clientWriteIv.fill(0);
  k.serverWriteIv.fill(0);
}

/** RFC 5246 §7.4.9 verify_data over the SHA-256 transcript hash. */
export function finishedVerifyData(masterSecret: Uint8Array, sender: 'client' | 'server', transcriptHash: Uint8Array): Buffer {
  return prf(masterSecret, sender === 'client' ? 'client finished' : 'server finished', transcriptHash, 12);
}
