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

// The relay and its embedding API.
export { Relay } from './session/Relay.ts';
export type { RelayOptions, RelayEvents, RelayIo } from './session/Relay.ts';
export { Session } from './session/Session.ts';
export type { SessionCloseReason, SessionEvents } from './session/Session.ts';
export { Leg } from './session/Leg.ts';
export { MediaStream, linkStreams } from './session/MediaStream.ts';
export type { StreamCrypto, CryptoMode, MediaStreamEvents } from './session/MediaStream.ts';
export type { MediaStreamHandle } from './session/MediaStreamHandle.ts';
export type { RateLimiterOptions, Rate, SecurityEvent } from './session/RateLimiter.ts';
export { StreamStats } from './media/StreamStats.ts';
export type { DropReason } from './media/StreamStats.ts';

// Keying: SDES (RFC 4568) and DTLS-SRTP (RFC 5764).
export * from './keying/dtls/index.ts';
