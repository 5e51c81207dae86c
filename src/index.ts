// srtpgate's public surface.
export { createSrtpSession, createSrtpSessionSync, SrtpSession } from './SrtpSession.ts';
export type { SrtpSessionOptions, SrtpSessionEvents } from './SrtpSession.ts';
export { CryptoCore, preferredBuild } from './crypto/CryptoCore.ts';
export type { CryptoCoreOptions, ContextParams, CoreBuild } from './crypto/CryptoCore.ts';
export { SUITES, suiteByName, suiteByDtlsId, isSuiteName } from './crypto/suites.ts';
export type { CryptoSuite, SuiteName } from './crypto/suites.ts';
export { Status, statusName } from './crypto/abi.ts';
export type { StatusName } from './crypto/abi.ts';
export { RelayError, SrtpError } from './errors.ts';
export type { RelayErrorCode, SrtpErrorCode } from './errors.ts';
