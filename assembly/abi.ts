// Status codes and ABI constants shared with src/crypto/abi.ts.
// A data-path call returns >= 0 (a length) or one of these negative codes.
// CryptoCore checks at load that the exported values equal its own copy.

export const ABI_VERSION: i32 = 2; // 2: takeover floors (ctxApplyFloor) and index read-out

export const ST_OK: i32 = 0;
export const ST_BAD_CTX: i32 = -1;          // unknown or stale context handle
export const ST_TOO_SHORT: i32 = -2;        // shorter than header + tag (+ trailer)
export const ST_BAD_HEADER: i32 = -3;       // version, CC or extension length out of bounds
export const ST_AUTH_FAIL: i32 = -4;        // tag mismatch
export const ST_REPLAY_DUPLICATE: i32 = -5; // index already seen inside the window
export const ST_REPLAY_OLD: i32 = -6;       // index behind the window
export const ST_KEY_EXPIRED: i32 = -7;      // hard key-usage limit reached
export const ST_SSRC_TABLE_FULL: i32 = -8;  // no room for another SSRC in this context
export const ST_BAD_PADDING: i32 = -9;      // P bit set but padding count impossible
export const ST_NO_ROOM: i32 = -10;         // buffer capacity too small for the trailer
export const ST_UNENCRYPTED_SRTCP: i32 = -11; // E flag clear where policy requires encryption
export const ST_BAD_PARAM: i32 = -12;       // invalid argument to a control export
export const ST_INDEX_REUSE: i32 = -13;     // protect would reuse a keystream index
export const ST_NO_SLOT: i32 = -14;         // context table full
export const ST_UNKNOWN_MKI: i32 = -15;     // MKI names no key of this context
export const ST_NOT_SUPPORTED: i32 = -16;   // cipher/option not built into this core

// Cipher kinds (suite table in src/crypto/suites.ts maps names to these).
export const CIPHER_NULL: i32 = 0;
export const CIPHER_AES_CM: i32 = 1;
export const CIPHER_AES_GCM: i32 = 2;
export const CIPHER_AES_F8: i32 = 3;

// ctxCreate flags.
export const FLAG_OUTBOUND: i32 = 1;                   // protect side (else unprotect side)
export const FLAG_ALLOW_UNENCRYPTED_SRTCP: i32 = 2;    // insecure: accept E = 0
export const FLAG_ALLOW_NULL_CIPHER: i32 = 4;          // insecure: permit CIPHER_NULL
export const FLAG_ALLOW_REPEAT_TX: i32 = 8;            // insecure: protect may reuse an index

// Event bits set in the context header when a soft limit is first crossed.
export const EV_SRTP_SOFT_LIMIT: i32 = 1;
export const EV_SRTCP_SOFT_LIMIT: i32 = 2;

export const MAX_PACKET: i32 = 16384;       // largest packet the IO buffer holds
export const MIN_REPLAY_WINDOW: i32 = 64;
export const MAX_REPLAY_WINDOW: i32 = 32768;
