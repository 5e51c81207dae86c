// Mirror of assembly/abi.ts. CryptoCore.load() checks every value against the WASM exports.
export const ABI_VERSION = 2;

export const Status = {
  OK: 0,
  BAD_CTX: -1,
  TOO_SHORT: -2,
  BAD_HEADER: -3,
  AUTH_FAIL: -4,
  REPLAY_DUPLICATE: -5,
  REPLAY_OLD: -6,
  KEY_EXPIRED: -7,
  SSRC_TABLE_FULL: -8,
  BAD_PADDING: -9,
  NO_ROOM: -10,
  UNENCRYPTED_SRTCP: -11,
  BAD_PARAM: -12,
  INDEX_REUSE: -13,
  NO_SLOT: -14,
  UNKNOWN_MKI: -15,
  NOT_SUPPORTED: -16,
} as const;
export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

/** WASM export name of each status constant, for the load-time ABI check. */
export const STATUS_EXPORTS: Readonly<Record<StatusName, string>> = {
  OK: 'ST_OK', BAD_CTX: 'ST_BAD_CTX', TOO_SHORT: 'ST_TOO_SHORT', BAD_HEADER: 'ST_BAD_HEADER',
  AUTH_FAIL: 'ST_AUTH_FAIL', REPLAY_DUPLICATE: 'ST_REPLAY_DUPLICATE', REPLAY_OLD: 'ST_REPLAY_OLD',
  KEY_EXPIRED: 'ST_KEY_EXPIRED', SSRC_TABLE_FULL: 'ST_SSRC_TABLE_FULL', BAD_PADDING: 'ST_BAD_PADDING',
  NO_ROOM: 'ST_NO_ROOM', UNENCRYPTED_SRTCP: 'ST_UNENCRYPTED_SRTCP', BAD_PARAM: 'ST_BAD_PARAM',
  INDEX_REUSE: 'ST_INDEX_REUSE', NO_SLOT: 'ST_NO_SLOT', UNKNOWN_MKI: 'ST_UNKNOWN_MKI',
  NOT_SUPPORTED: 'ST_NOT_SUPPORTED',
};

const statusNames = new Map<number, StatusName>(
  (Object.keys(Status) as StatusName[]).map((k) => [Status[k], k]),
);
/** Name of a negative status, e.g. -4 → 'AUTH_FAIL'. */
export function statusName(code: number): StatusName | 'UNKNOWN' {
  return statusNames.get(code) ?? 'UNKNOWN';
}

export const CIPHER_NULL = 0;
export const CIPHER_AES_CM = 1;
export const CIPHER_AES_GCM = 2;
export const CIPHER_AES_F8 = 3;
export type CipherKind = typeof CIPHER_NULL | typeof CIPHER_AES_CM | typeof CIPHER_AES_GCM | typeof CIPHER_AES_F8;

export const FLAG_OUTBOUND = 1;
export const FLAG_ALLOW_UNENCRYPTED_SRTCP = 2;
export const FLAG_ALLOW_NULL_CIPHER = 4;
export const FLAG_ALLOW_REPEAT_TX = 8;

export const EV_SRTP_SOFT_LIMIT = 1;
export const EV_SRTCP_SOFT_LIMIT = 2;

export const MAX_PACKET = 16384;
export const MIN_REPLAY_WINDOW = 64;
export const MAX_REPLAY_WINDOW = 32768;
