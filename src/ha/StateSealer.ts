// Seals key material for storage outside the process (Redis) with AES-256-GCM under a key
// the relays share from configuration (ha.stateKey / ha.stateKeyFile).
//
// Each seal draws a fresh random 96-bit nonce: with at most a few seals per call signalling
// event the birthday bound on nonces (2^32 seals per key) is far away. The additional data
// binds a blob to (node, call-id, field): a blob copied into another call's record, another
// relay's record or another field fails to open, so whoever can write Redis cannot swap keys
// between calls. The key id (a digest of the key, not a counter operators must keep in step)
// names the key a blob was sealed under, so a relay can carry the previous key for a
// rotation and open both generations.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { HaError } from './HaError.ts';

/** A sealed value as stored: key id, nonce and ciphertext‖tag (base64). */
export interface SealedBlob {
  /** Id of the state key it was sealed under (see StateSealer.keyId). */
  readonly k: string;
  readonly n: string;
  readonly c: string;
}

/** What a blob is bound to: opening it under any other binding fails. */
export interface SealBinding {
  readonly node: string;
  readonly callId: string;
  readonly field: string;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bumped if the additional-data layout ever changes. */
const AAD_VERSION = 'srtpgate-ha-seal-v1';

/** The id of a state key: the first 8 bytes of a domain-separated SHA-256, hex. */
export function stateKeyId(key: Uint8Array): string {
  return createHash('sha256').update('srtpgate-ha-key-id').update(key).digest('hex').slice(0, 16);
}

/** Decodes a configured key (base64 of exactly 32 bytes). Throws E_HA_KEY. */
export function parseStateKey(text: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new HaError('E_HA_KEY', 'state key is not base64');
  const key = Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) {
    const n = key.length;
    key.fill(0);
    throw new HaError('E_HA_KEY', 'state key must be 32 bytes', { bytes: n });
  }
  return key;
}

function aad(b: SealBinding, keyId: string): Buffer {
  // JSON of an array: unambiguous whatever characters the call-id holds.
  return Buffer.from(JSON.stringify([AAD_VERSION, b.node, b.callId, b.field, keyId]), 'utf8');
}

export class StateSealer {
  readonly #keys = new Map<string, Buffer>();
  readonly #current: string;

  /**
   * `key` seals and opens; `previous` keys only open (rotation: deploy the new key with the
   * old one as previous on every relay, then drop the old one once records are rewritten).
   * Takes copies; the caller may wipe its buffers.
   */
  constructor(key: Uint8Array, previous: readonly Uint8Array[] = []) {
    for (const k of [key, ...previous]) {
      if (k.length !== KEY_BYTES) throw new HaError('E_HA_KEY', 'state key must be 32 bytes', { bytes: k.length });
      this.#keys.set(stateKeyId(k), Buffer.from(k));
    }
    this.#current = stateKeyId(key);
  }

  /** Id of the key new blobs are sealed under. */
  get keyId(): string { return this.#current; }

  seal(plain: Uint8Array, binding: SealBinding): SealedBlob {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#current)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(binding, this.#current));
    const c = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { k: this.#current, n: nonce.toString('base64'), c: c.toString('base64') };
  }

  /** Opens a blob sealed under `binding`. Throws E_HA_UNSEAL (never says which check failed). */
  open(blob: SealedBlob, binding: SealBinding): Buffer {
    const key = this.#keys.get(blob.k);
    if (key === undefined) throw new HaError('E_HA_UNSEAL', 'sealed under an unknown state key', { keyId: String(blob.k).slice(0, 16), field: binding.field });
    const nonce = Buffer.from(blob.n, 'base64');
    const all = Buffer.from(blob.c, 'base64');
    if (nonce.length !== NONCE_BYTES || all.length < TAG_BYTES) throw new HaError('E_HA_UNSEAL', 'malformed sealed value', { field: binding.field });
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      d.setAAD(aad(binding, blob.k));
      d.setAuthTag(all.subarray(all.length - TAG_BYTES));
      return Buffer.concat([d.update(all.subarray(0, all.length - TAG_BYTES)), d.final()]);
    } catch {
      throw new HaError('E_HA_UNSEAL', 'sealed value does not open (wrong key, wrong call or tampered)', { field: binding.field });
    }
  }

  /** Zeroes the keys. */
  close(): void {
    for (const k of this.#keys.values()) k.fill(0);
    this.#keys.clear();
  }
}
