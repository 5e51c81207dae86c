// Vocabulary shared by the relay drivers, the load generator driver and the procedure.
import { randomBytes } from 'node:crypto';

/** Loopback transport address. */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * The suites the bench uses, as plain data rather than imported from src/crypto/suites.ts:
 * the harness must not depend on the code it measures. Leg A always uses the _80 suite
 * (REFERENCE §5 measures with it); the _32 one exists for leg B, see BenchMode.
 */
export const BENCH_SUITES = {
  AES_CM_128_HMAC_SHA1_80: { keyLen: 16, saltLen: 14 },
  AES_CM_128_HMAC_SHA1_32: { keyLen: 16, saltLen: 14 },
} as const;
export type BenchSuite = keyof typeof BENCH_SUITES;

export function isBenchSuite(s: string): s is BenchSuite {
  return Object.hasOwn(BENCH_SUITES, s);
}

/** SDES master key and salt, hex, as the bench passes them between processes. */
export interface SrtpKey {
  suite: BenchSuite;
  key: string;
  salt: string;
}

export function randomKey(suite: BenchSuite): SrtpKey {
  const l = BENCH_SUITES[suite];
  return { suite, key: randomBytes(l.keyLen).toString('hex'), salt: randomBytes(l.saltLen).toString('hex') };
}

/**
 * What leg B (relay → sink) carries; leg A (generator → relay) is always SRTP with
 * AES_CM_128_HMAC_SHA1_80.
 * - srtp-srtp: SRTP with a key the relay chose, so the relay must unprotect and protect
 *   again. The sink answers AES_CM_128_HMAC_SHA1_32: rtpengine 10.5 copies the offerer's key
 *   onto the other leg whenever the answer picks the offerer's suite (see srtp-srtp-same), so
 *   a different suite is the only SDES answer that makes it re-key. Both suites cost the
 *   same (full HMAC-SHA1, the tag is only truncated); every relay gets the same answer.
 * - srtp-srtp-same: the sink answers the offerer's own suite. Each relay does what it does
 *   by default: rtpengine forwards the ciphertext untouched (keys copied, nothing verified);
 *   srtpgate still re-keys. Reported, but it is not like-for-like work.
 * - srtp-rtp: plain RTP/AVP on leg B (unprotect only).
 */
export type BenchMode = 'srtp-srtp' | 'srtp-srtp-same' | 'srtp-rtp';
export const BENCH_MODES: readonly BenchMode[] = ['srtp-srtp', 'srtp-rtp', 'srtp-srtp-same'];

export function isBenchMode(s: string): s is BenchMode {
  return (BENCH_MODES as readonly string[]).includes(s);
}

/** The suite the sink accepts on leg B in each mode; null for plain RTP. */
export function legBSuite(mode: BenchMode): BenchSuite | null {
  switch (mode) {
    case 'srtp-srtp': return 'AES_CM_128_HMAC_SHA1_32';
    case 'srtp-srtp-same': return 'AES_CM_128_HMAC_SHA1_80';
    case 'srtp-rtp': return null;
  }
}

export const LEG_A_SUITE: BenchSuite = 'AES_CM_128_HMAC_SHA1_80';

/** What the bench asks of the relay for one call: A (the generator) → relay → B (the sink). */
export interface CallPlan {
  callId: string;
  /** A's media address: where A sends from (and would receive on). */
  sender: Endpoint;
  /** Key A protects with (its offer's a=crypto). */
  senderKey: SrtpKey;
  /** B's media address: where the relay must send to. */
  receiver: Endpoint;
  /**
   * B's answer on leg B: the suite it accepts and the key it would send with (B sends
   * nothing, but SDES answers carry a key); null for plain RTP/AVP.
   */
  receiverKey: SrtpKey | null;
}

/** What the relay answered for one call. */
export interface CallSetup {
  /** Where A sends to (the relay's A-leg port). */
  relayA: Endpoint;
  /** The relay's B-leg port, which sends to B. */
  relayB: Endpoint;
  /** Key the relay protects with toward B; null on a plain-RTP B leg. */
  outKey: SrtpKey | null;
}

/** CPU seconds the relay process has used since it started (all threads). */
export interface CpuTimes {
  user: number;
  system: number;
}

/** One relay implementation under test, driven the same way whatever its control surface. */
export interface RelayUnderTest {
  readonly name: string;
  /** Version or build string for the report. */
  readonly version: string;
  /** Sets the calls up and says where to send and which keys to expect. */
  setupCalls(calls: readonly CallPlan[]): Promise<CallSetup[]>;
  /** Tears the calls down, so the next setupCalls starts from an empty relay. */
  teardownCalls(calls: readonly CallPlan[]): Promise<void>;
  cpu(): Promise<CpuTimes>;
  /** Relay-side counters worth keeping in the results (packets, drops), or null. */
  diagnostics(calls: readonly CallPlan[]): Promise<Record<string, number> | null>;
  close(): Promise<void>;
}
