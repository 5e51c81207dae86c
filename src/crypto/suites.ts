// The one table of SRTP crypto suites. Suite names appear nowhere else in the code:
// everything that needs a length, a DTLS id or a strength asks this table.
import { CIPHER_AES_CM, CIPHER_AES_F8, CIPHER_AES_GCM, CIPHER_NULL, type CipherKind } from './abi.ts';

export type SuiteName =
  | 'AEAD_AES_256_GCM'
  | 'AEAD_AES_128_GCM'
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'F8_128_HMAC_SHA1_80'
  | 'F8_128_HMAC_SHA1_32'
  | 'NULL_HMAC_SHA1_80'
  | 'NULL_HMAC_SHA1_32';

export interface CryptoSuite {
  /** RFC 4568 / RFC 6188 SDES name. */
  readonly name: SuiteName;
  /** Cipher kind as the WASM core numbers it. */
  readonly cipher: CipherKind;
  /** Master key length in bytes (also the session encryption key length). */
  readonly keyLen: number;
  /** Master salt length in bytes. */
  readonly saltLen: number;
  /** SRTP authentication tag length in bytes. */
  readonly rtpTagLen: number;
  /** SRTCP authentication tag length in bytes (80 bits for every HMAC suite, RFC 4568 §6.2). */
  readonly rtcpTagLen: number;
  /** RFC 5764 DTLS-SRTP protection profile id, when one is registered. */
  readonly dtlsId: number | null;
  /** RFC 5764 profile name as OpenSSL spells it. */
  readonly dtlsName: string | null;
  /** Strength rank: higher is stronger. Policies compare ranks, never names. */
  readonly rank: number;
  /** Provides confidentiality. NULL suites authenticate only and need an insecure option. */
  readonly encrypts: boolean;
  /** SRTP packets per master key before the hard stop (RFC 3711 §9.2). */
  readonly maxSrtpPackets: bigint;
  /** SRTCP packets per master key before the hard stop. */
  readonly maxSrtcpPackets: bigint;
}

const SRTP_LIMIT = 1n << 48n;
const SRTCP_LIMIT = 1n << 31n;

function suite(s: Omit<CryptoSuite, 'maxSrtpPackets' | 'maxSrtcpPackets'>): CryptoSuite {
  return Object.freeze({ ...s, maxSrtpPackets: SRTP_LIMIT, maxSrtcpPackets: SRTCP_LIMIT });
}

/** Every suite the core implements, strongest first. */
export const SUITES: readonly CryptoSuite[] = Object.freeze([
  // RFC 7714: 12-byte salt, 16-byte tag on SRTP and SRTCP, authenticated encryption.
  suite({ name: 'AEAD_AES_256_GCM', cipher: CIPHER_AES_GCM, keyLen: 32, saltLen: 12, rtpTagLen: 16, rtcpTagLen: 16, dtlsId: 0x0008, dtlsName: 'SRTP_AEAD_AES_256_GCM', rank: 80, encrypts: true }),
  suite({ name: 'AEAD_AES_128_GCM', cipher: CIPHER_AES_GCM, keyLen: 16, saltLen: 12, rtpTagLen: 16, rtcpTagLen: 16, dtlsId: 0x0007, dtlsName: 'SRTP_AEAD_AES_128_GCM', rank: 70, encrypts: true }),
  suite({ name: 'AES_256_CM_HMAC_SHA1_80', cipher: CIPHER_AES_CM, keyLen: 32, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 60, encrypts: true }),
  suite({ name: 'AES_256_CM_HMAC_SHA1_32', cipher: CIPHER_AES_CM, keyLen: 32, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 50, encrypts: true }),
  suite({ name: 'AES_192_CM_HMAC_SHA1_80', cipher: CIPHER_AES_CM, keyLen: 24, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 55, encrypts: true }),
  suite({ name: 'AES_192_CM_HMAC_SHA1_32', cipher: CIPHER_AES_CM, keyLen: 24, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 45, encrypts: true }),
  suite({ name: 'AES_CM_128_HMAC_SHA1_80', cipher: CIPHER_AES_CM, keyLen: 16, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10, dtlsId: 0x0001, dtlsName: 'SRTP_AES128_CM_SHA1_80', rank: 40, encrypts: true }),
  suite({ name: 'AES_CM_128_HMAC_SHA1_32', cipher: CIPHER_AES_CM, keyLen: 16, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10, dtlsId: 0x0002, dtlsName: 'SRTP_AES128_CM_SHA1_32', rank: 30, encrypts: true }),
  // RFC 3711 §4.1.2 AES-f8 (RFC 4568 §6.2 registers the 80-bit form): interop with 3GPP-era
  // endpoints only, ranked below every AES-CM suite and off unless a policy sets allowF8.
  suite({ name: 'F8_128_HMAC_SHA1_80', cipher: CIPHER_AES_F8, keyLen: 16, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 20, encrypts: true }),
  suite({ name: 'F8_128_HMAC_SHA1_32', cipher: CIPHER_AES_F8, keyLen: 16, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10, dtlsId: null, dtlsName: null, rank: 15, encrypts: true }),
  suite({ name: 'NULL_HMAC_SHA1_80', cipher: CIPHER_NULL, keyLen: 16, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10, dtlsId: 0x0005, dtlsName: 'SRTP_NULL_SHA1_80', rank: 2, encrypts: false }),
  suite({ name: 'NULL_HMAC_SHA1_32', cipher: CIPHER_NULL, keyLen: 16, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10, dtlsId: 0x0006, dtlsName: 'SRTP_NULL_SHA1_32', rank: 1, encrypts: false }),
]);

const byName = new Map<string, CryptoSuite>(SUITES.map((s) => [s.name, s]));
const byDtlsId = new Map<number, CryptoSuite>(SUITES.filter((s) => s.dtlsId !== null).map((s) => [s.dtlsId as number, s]));

/** Looks a suite up by its SDES name; undefined when the name is unknown. */
export function suiteByName(name: string): CryptoSuite | undefined {
  return byName.get(name);
}

/** Looks a suite up by its DTLS-SRTP protection profile id. */
export function suiteByDtlsId(id: number): CryptoSuite | undefined {
  return byDtlsId.get(id);
}

export function isSuiteName(name: string): name is SuiteName {
  return byName.has(name);
}
