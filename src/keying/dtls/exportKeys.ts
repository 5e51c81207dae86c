// RFC 5705 keying material exporter and the RFC 5764 §4.2 split of its output into SRTP
// master keys and salts.
//
// The exporter output for DTLS-SRTP is laid out
//   client_write_SRTP_master_key | server_write_SRTP_master_key |
//   client_write_SRTP_master_salt | server_write_SRTP_master_salt
// with lengths from the suite table. "Local" is what this endpoint protects with: the client
// writes with the client key, so for a client local = client and remote = server.
import { inspect } from 'node:util';
import type { CryptoSuite } from '../../crypto/suites.ts';
import { prf } from './keySchedule.ts';
import { Writer, concatBytes } from './wire.ts';

/** RFC 5764 §4.2 exporter label. */
export const SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '<redacted>';

/**
 * RFC 5705 §4: PRF(master_secret, label, client_random + server_random [+ context_len + context]).
 * "No context" (what DTLS-SRTP uses) is different from an empty context, hence `undefined`.
 */
export function exportKeyingMaterial(
  masterSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array,
  label: string, length: number, context?: Uint8Array,
): Buffer {
  const seed = context === undefined
    ? concatBytes([clientRandom, serverRandom])
    : new Writer().bytes(clientRandom).bytes(serverRandom).vec16(context).finish();
  return prf(masterSecret, label, seed, length);
}

/** Bytes of exporter output a profile needs: two keys and two salts. */
export function srtpKeyingMaterialLength(suite: CryptoSuite): number {
  return 2 * (suite.keyLen + suite.saltLen);
}

export type DtlsRole = 'client' | 'server';

/**
 * The SRTP keying material a DTLS-SRTP handshake produced. Keys live in one buffer that
 * `wipe()` zeroes; the getters return views into it, and toJSON / util.inspect never print them.
 */
export class DtlsSrtpKeys {
  /** RFC 5764 protection profile id (the suite table's dtlsId). */
  readonly profileId: number;
  readonly suite: CryptoSuite;
  readonly role: DtlsRole;
  readonly #material: Uint8Array;
  readonly #localKey: Uint8Array;
  readonly #localSalt: Uint8Array;
  readonly #remoteKey: Uint8Array;
  readonly #remoteSalt: Uint8Array;
  #wiped = false;

  /** Takes ownership of `material` (the exporter output; not copied). */
  constructor(material: Uint8Array, suite: CryptoSuite, role: DtlsRole) {
    if (suite.dtlsId === null) throw new RangeError('suite has no DTLS-SRTP profile');
    if (material.length !== srtpKeyingMaterialLength(suite)) throw new RangeError('keying material length does not match the suite');
    const k = suite.keyLen;
    const s = suite.saltLen;
    const clientKey = material.subarray(0, k);
    const serverKey = material.subarray(k, 2 * k);
    const clientSalt = material.subarray(2 * k, 2 * k + s);
    const serverSalt = material.subarray(2 * k + s, 2 * k + 2 * s);
    this.#material = material;
    this.profileId = suite.dtlsId;
    this.suite = suite;
    this.role = role;
    const isClient = role === 'client';
    this.#localKey = isClient ? clientKey : serverKey;
    this.#localSalt = isClient ? clientSalt : serverSalt;
    this.#remoteKey = isClient ? serverKey : clientKey;
    this.#remoteSalt = isClient ? serverSalt : clientSalt;
  }

  /** RFC 5764 profile name as the suite table spells it (SRTP_AEAD_AES_128_GCM, ...). */
  get profile(): string { return this.suite.dtlsName ?? ''; }

  /** Master key we protect outgoing SRTP/SRTCP with. */
  get localKey(): Uint8Array { return this.#live(this.#localKey); }
  get localSalt(): Uint8Array { return this.#live(this.#localSalt); }
  /** Master key the peer protects with: we unprotect incoming SRTP/SRTCP with it. */
  get remoteKey(): Uint8Array { return this.#live(this.#remoteKey); }
  get remoteSalt(): Uint8Array { return this.#live(this.#remoteSalt); }

  get wiped(): boolean { return this.#wiped; }

  #live(v: Uint8Array): Uint8Array {
    if (this.#wiped) throw new Error('DTLS-SRTP keys were wiped');
    return v;
  }

  /** Zeroes the key material; further reads throw. Call once the SRTP contexts are created. */
  wipe(): void {
    this.#material.fill(0);
    this.#wiped = true;
  }

  toJSON(): Record<string, unknown> {
    return { profile: this.profile, profileId: this.profileId, suite: this.suite.name, role: this.role, localKey: REDACTED, localSalt: REDACTED, remoteKey: REDACTED, remoteSalt: REDACTED };
  }

  [INSPECT](): string {
    return `DtlsSrtpKeys ${inspect(this.toJSON())}`;
  }
}

/** Runs the exporter for `suite` and splits the result for `role`. */
export function deriveSrtpKeys(
  masterSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array, suite: CryptoSuite, role: DtlsRole,
): DtlsSrtpKeys {
  const material = exportKeyingMaterial(masterSecret, clientRandom, serverRandom, SRTP_EXPORTER_LABEL, srtpKeyingMaterialLength(suite));
  return new DtlsSrtpKeys(new Uint8Array(material.buffer, material.byteOffset, material.length), suite, role);
}
