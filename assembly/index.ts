// THE ABI: every export of the WASM core is declared here and nowhere else.
export {
  ABI_VERSION,
  ST_OK, ST_BAD_CTX, ST_TOO_SHORT, ST_BAD_HEADER, ST_AUTH_FAIL, ST_REPLAY_DUPLICATE,
  ST_REPLAY_OLD, ST_KEY_EXPIRED, ST_SSRC_TABLE_FULL, ST_BAD_PADDING, ST_NO_ROOM,
  ST_UNENCRYPTED_SRTCP, ST_BAD_PARAM, ST_INDEX_REUSE, ST_NO_SLOT, ST_UNKNOWN_MKI, ST_NOT_SUPPORTED,
  CIPHER_NULL, CIPHER_AES_CM, CIPHER_AES_GCM, CIPHER_AES_F8,
  FLAG_OUTBOUND, FLAG_ALLOW_UNENCRYPTED_SRTCP, FLAG_ALLOW_NULL_CIPHER, FLAG_ALLOW_REPEAT_TX,
  EV_SRTP_SOFT_LIMIT, EV_SRTCP_SOFT_LIMIT, MAX_PACKET, MIN_REPLAY_WINDOW, MAX_REPLAY_WINDOW,
} from './abi';
export { IO_BYTES, TEST_SCRATCH_BYTES, IO_SLOT_BYTES, IO_RING_SLOTS } from './layout';
import { IO_PTR, TEST_SCRATCH_PTR, IO_RING_PTR } from './layout';

// Primitives, exported for known-answer and differential tests.
export { AES_RK_BYTES, aesExpandKey, aesEncryptBlock, aesCtrXor } from './aes';

export function ioPtr(): usize { return IO_PTR; }
export function ioRingPtr(): usize { return IO_RING_PTR; }
export function testScratchPtr(): usize { return TEST_SCRATCH_PTR; }
/** 1 when this build uses WASM SIMD. */
export function simdBuild(): i32 { return ASC_FEATURE_SIMD ? 1 : 0; }

// GHASH for AES-GCM (RFC 7714); see assembly/ghash.ts.
export { GHASH_KEY_BYTES, ghashSetKey, ghashInit, ghashUpdate, ghashLengths } from './ghash';
export { HMAC_STATE_BYTES, hmacSha1Init, hmacSha1Compute, sha1Digest } from './hmacSha1';
export { srtpKdf } from './srtp/kdf';

// Contexts and the data path.
export {
  coreInit, ctxCreate, ctxDestroy, ctxSetRoc, ctxGetRoc, ctxTakeEvents, ctxSetPacketCounts,
  ctxSlotPtr, ctxSlotBytes, ctxAddKey, ctxSetTxKey, ctxSetKeyLimit,
  ctxApplyFloor, ctxSsrcCount, ctxEntrySsrc, ctxEntryIndex,
} from './srtp/context';
export { srtpProtect, srtpUnprotect } from './srtp/srtp';
export { srtcpProtect, srtcpUnprotect } from './srtp/srtcp';

/** Where JS writes master key and salt before ctxCreate (which wipes them). */
const KEY_IN: usize = memory.data(64, 64);
export function keyInPtr(): usize { return KEY_IN; }
