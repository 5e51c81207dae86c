// SDES keys to and from their stored form: suite, tag and key-param attributes in clear, every
// key‖salt of the line sealed as one blob. Buffers made on the way are zeroed before returning.
import { SdesCrypto, SdesKeyParam } from '../keying/sdes.ts';
import { suiteByName } from '../crypto/suites.ts';
import type { StreamCrypto } from '../session/MediaStream.ts';
import type { SealedKeyRecord } from './callRecord.ts';
import { HaError } from './HaError.ts';
import type { SealBinding, StateSealer } from './StateSealer.ts';

export function sealKey(sealer: StateSealer, c: SdesCrypto, binding: SealBinding): SealedKeyRecord {
  const plain = Buffer.concat(c.keys.map((k) => k.material));
  try {
    return {
      suite: c.suite.name, tag: c.tag,
      ...(c.params.kdr !== undefined ? { kdr: c.params.kdr } : {}),
      params: c.keys.map((k) => ({
        padded: k.padded,
        ...(k.mki ? { mki: { value: k.mki.value.toString(), length: k.mki.length } } : {}),
        ...(k.lifetime !== undefined ? { lifetime: k.lifetime } : {}),
      })),
      sealed: sealer.seal(plain, binding),
    };
  } finally {
    plain.fill(0);
  }
}

/**
 * A DTLS-exported key (one direction) in the same stored form: no SDES attributes (tag 0, one
 * key-param), so a takeover opens it with openKey like any other. The caller wipes `c`.
 */
export function sealStreamCrypto(sealer: StateSealer, c: StreamCrypto, binding: SealBinding): SealedKeyRecord {
  const plain = Buffer.concat([c.masterKey, c.masterSalt]);
  try {
    return { suite: c.suite, tag: 0, params: [{ padded: true }], sealed: sealer.seal(plain, binding) };
  } finally {
    plain.fill(0);
  }
}

/** Opens a stored key; the caller owns the result and wipes it. Throws E_HA_UNSEAL / E_HA_RECORD. */
export function openKey(sealer: StateSealer, r: SealedKeyRecord, binding: SealBinding): SdesCrypto {
  const suite = suiteByName(r.suite);
  if (suite === undefined) throw new HaError('E_HA_RECORD', 'unknown suite in a stored key', { field: binding.field });
  const plain = sealer.open(r.sealed, binding);
  const each = suite.keyLen + suite.saltLen;
  try {
    if (plain.length !== each * r.params.length) throw new HaError('E_HA_RECORD', 'stored key has the wrong length', { field: binding.field });
    const keys = r.params.map((p, i) => new SdesKeyParam(Uint8Array.from(plain.subarray(i * each, (i + 1) * each)), suite.keyLen, {
      padded: p.padded,
      ...(p.mki ? { mki: { value: BigInt(p.mki.value), length: p.mki.length } } : {}),
      ...(p.lifetime !== undefined ? { lifetime: p.lifetime } : {}),
    }));
    return new SdesCrypto({ tag: r.tag, suite, keys, ...(r.kdr !== undefined ? { params: { kdr: r.kdr } } : {}) });
  } finally {
    plain.fill(0);
  }
}

/** The stream crypto for a key (views into the key's buffers: install before wiping it). */
export function streamCryptoOf(c: SdesCrypto): StreamCrypto {
  const [first, ...rest] = c.keys;
  return {
    suite: c.suite.name, masterKey: first!.key, masterSalt: first!.salt,
    ...(first!.mki ? { mki: { length: first!.mki.length, value: Number(first!.mki.value) } } : {}),
    ...(c.params.kdr !== undefined && c.params.kdr > 0 ? { kdr: c.params.kdr } : {}),
    ...(first!.lifetime !== undefined ? { lifetime: BigInt(first!.lifetime) } : {}),
    ...(rest.length > 0 && first!.mki ? {
      moreKeys: rest.map((k) => ({ masterKey: k.key, masterSalt: k.salt, mki: Number(k.mki!.value),
        ...(k.lifetime !== undefined ? { lifetime: BigInt(k.lifetime) } : {}) })),
    } : {}),
  };
}
