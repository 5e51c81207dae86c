// Ephemeral ECDH over X25519 (RFC 7748 / RFC 8422 §5.11) and secp256r1 (uncompressed points).
// A fresh key pair per handshake gives forward secrecy. Peer shares are validated: a P-256
// point must be on the curve (node:crypto refuses it otherwise) and an X25519 result must not
// be all zeros (a small-order point, RFC 7748 §6.1).
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync, type ECDH, type KeyObject } from 'node:crypto';
import { DtlsError } from './DtlsError.ts';
import { NamedGroup } from './messages.ts';

/** Our preference order. */
export const SUPPORTED_GROUPS: readonly number[] = Object.freeze([NamedGroup.x25519, NamedGroup.secp256r1]);

export function pickGroup(peerGroups: readonly number[]): number | undefined {
  return SUPPORTED_GROUPS.find((g) => peerGroups.includes(g));
}

export interface EcdheKeyPair {
  readonly group: number;
  /** Our share as it goes on the wire. */
  readonly publicKey: Uint8Array;
  /** Derives the pre-master secret from the peer's share; throws E_DTLS_ILLEGAL_PARAMETER on a bad share. */
  deriveSecret(peerPublic: Uint8Array): Buffer;
}

export function generateEcdhe(group: number): EcdheKeyPair {
  if (group === NamedGroup.x25519) return new X25519Pair();
  if (group === NamedGroup.secp256r1) return new P256Pair();
  throw new RangeError(`unsupported group ${group}`);
}

function badShare(group: number, why: string): DtlsError {
  return new DtlsError('E_DTLS_ILLEGAL_PARAMETER', `invalid ECDHE share: ${why}`, { group });
}

class X25519Pair implements EcdheKeyPair {
  readonly group = NamedGroup.x25519;
  readonly publicKey: Uint8Array;
  readonly #privateKey: KeyObject;

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const x = publicKey.export({ format: 'jwk' }).x;
    if (typeof x !== 'string') throw new Error('X25519 public key export failed');
    this.publicKey = Buffer.from(x, 'base64url');
    this.#privateKey = privateKey;
  }

  deriveSecret(peerPublic: Uint8Array): Buffer {
    if (peerPublic.length !== 32) throw badShare(this.group, 'X25519 share must be 32 bytes');
    let peer: KeyObject;
    try {
      peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublic).toString('base64url') }, format: 'jwk' });
    } catch {
      throw badShare(this.group, 'unparsable');
    }
    const secret = diffieHellman({ privateKey: this.#privateKey, publicKey: peer });
    if (secret.every((b) => b === 0)) throw badShare(this.group, 'small-order point');
    return secret;
  }
}

class P256Pair implements EcdheKeyPair {
  readonly group = NamedGroup.secp256r1;
  readonly publicKey: Uint8Array;
  readonly #ecdh: ECDH;

  constructor() {
    this.#ecdh = createECDH('prime256v1');
    this.publicKey = this.#ecdh.generateKeys();
  }

  deriveSecret(peerPublic: Uint8Array): Buffer {
    // We advertise only the uncompressed format, so anything else is a protocol violation.
    if (peerPublic.length !== 65 || peerPublic[0] !== 0x04) throw badShare(this.group, 'P-256 share must be an uncompressed point');
    try {
      return this.#ecdh.computeSecret(peerPublic);
    } catch {
      throw badShare(this.group, 'not on the curve');
    }
  }
}
