// RFC 3711 §4.3 key derivation: AES-CM PRF keyed with the master key over
// (label || index DIV KDR) XOR master_salt, shifted left 16 bits.
import { aesExpandKey, aesCtrXor, AES_RK_BYTES } from '../aes';
import { ST_OK, ST_BAD_PARAM } from '../abi';

export const LABEL_RTP_ENC: i32 = 0;
export const LABEL_RTP_AUTH: i32 = 1;
export const LABEL_RTP_SALT: i32 = 2;
export const LABEL_RTCP_ENC: i32 = 3;
export const LABEL_RTCP_AUTH: i32 = 4;
export const LABEL_RTCP_SALT: i32 = 5;

const PRF_RK: usize = memory.data(AES_RK_BYTES, 64);
const CTR: usize = memory.data(16, 16);

/** Expands the master key for the PRF; call once before a batch of kdfDerive. */
export function kdfBegin(masterKeyPtr: usize, keyLen: i32): i32 {
  return aesExpandKey(masterKeyPtr, keyLen, PRF_RK);
}

/** Writes outLen bytes of the key with `label` to outPtr. `r` is index DIV KDR (0 when KDR = 0). */
export function kdfDerive(masterSaltPtr: usize, label: i32, r: u64, outPtr: usize, outLen: i32): void {
  memory.fill(CTR, 0, 16);
  memory.copy(CTR, masterSaltPtr, 14);
  // key_id = label (8 bits) || r (48 bits) occupies salt bytes 7..13.
  store<u8>(CTR + 7, load<u8>(CTR + 7) ^ <u8>label);
  for (let i = 0; i < 6; i++) {
    store<u8>(CTR + 8 + <usize>i, load<u8>(CTR + 8 + <usize>i) ^ <u8>(r >> (<u64>(40 - 8 * i))));
  }
  memory.fill(outPtr, 0, <usize>outLen);
  aesCtrXor(PRF_RK, CTR, outPtr, outLen);
}

export function kdfEnd(): void {
  memory.fill(PRF_RK, 0, <usize>AES_RK_BYTES);
  memory.fill(CTR, 0, 16);
}

/** One-shot derivation with KDR = 0, for known-answer tests. */
export function srtpKdf(masterKeyPtr: usize, keyLen: i32, masterSaltPtr: usize, label: i32, outPtr: usize, outLen: i32): i32 {
  if (label < 0 || label > 7 || outLen < 0) return ST_BAD_PARAM;
  const st = kdfBegin(masterKeyPtr, keyLen);
  if (st != ST_OK) return st;
  kdfDerive(masterSaltPtr, label, 0, outPtr, outLen);
  kdfEnd();
  return ST_OK;
}
