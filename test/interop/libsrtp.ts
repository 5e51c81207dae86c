// Driver for the system libsrtp2 peer (test/interop/harness/srtp_harness.c).
//
// libsrtpHarnessPath() compiles the harness with gcc + pkg-config into test/interop/bin/
// (gitignored) and recompiles when the .c is newer; it resolves null when libsrtp2, pkg-config
// or gcc is missing, and skipReason() then says why and how to install them.
// LibsrtpPeer speaks the harness's `serve` line protocol (including MKI sessions); runLibsrtpBench()
// runs its `bench` mode. Rng is the seeded generator the interop tests share. Run this file directly to regenerate the canonical vectors:
//   node --import tsx test/interop/libsrtp.ts canonical > test/vectors/libsrtp-canonical.json
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestContext } from 'node:test';

/** The Debian packages the libsrtp2 peer needs. */
export const LIBSRTP_INSTALL = 'apt-get install -y libsrtp2-dev pkg-config gcc';

/** Every suite the harness knows, by SDES name. Which of them this libsrtp2 accepts: `suites()`. */
export const LIBSRTP_SUITES = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AES_192_CM_HMAC_SHA1_80',
  'AES_192_CM_HMAC_SHA1_32',
  'AES_256_CM_HMAC_SHA1_80',
  'AES_256_CM_HMAC_SHA1_32',
  'NULL_HMAC_SHA1_80',
  'NULL_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
] as const;
export type LibsrtpSuite = (typeof LIBSRTP_SUITES)[number];

/** Master key and salt lengths in bytes, per suite. */
export const LIBSRTP_KEY_LENGTHS: Readonly<Record<LibsrtpSuite, { key: number; salt: number }>> = {
  AES_CM_128_HMAC_SHA1_80: { key: 16, salt: 14 },
  AES_CM_128_HMAC_SHA1_32: { key: 16, salt: 14 },
  AES_192_CM_HMAC_SHA1_80: { key: 24, salt: 14 },
  AES_192_CM_HMAC_SHA1_32: { key: 24, salt: 14 },
  AES_256_CM_HMAC_SHA1_80: { key: 32, salt: 14 },
  AES_256_CM_HMAC_SHA1_32: { key: 32, salt: 14 },
  NULL_HMAC_SHA1_80: { key: 16, salt: 14 },
  NULL_HMAC_SHA1_32: { key: 16, salt: 14 },
  AEAD_AES_128_GCM: { key: 16, salt: 12 },
  AEAD_AES_256_GCM: { key: 32, salt: 12 },
};

/** libsrtp2's srtp_err_status_t values the tests look for. */
export const LibsrtpStatus = {
  BAD_PARAM: 2,
  AUTH_FAIL: 7,
  CIPHER_FAIL: 8,
  REPLAY_FAIL: 9,
  REPLAY_OLD: 10,
  NO_CTX: 13,
  CANT_CHECK: 14,
  PARSE_ERR: 21,
  /** The packet's MKI names no key of the session, or protect asked for an index with no key. */
  BAD_MKI: 25,
} as const;

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const SOURCE = here('./harness/srtp_harness.c');
const BIN_DIR = here('./bin/');
const BINARY = here('./bin/srtp_harness');

// ---------------------------------------------------------------- building

let buildPromise: Promise<string | null> | null = null;
let lastFailure = '';

interface RunResult { code: number; stdout: string; stderr: string; notInstalled: boolean }

function run(cmd: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      const detail = err !== null && code === -1 ? `${err.message}\n` : '';
      resolve({ code, stdout: String(stdout), stderr: detail + String(stderr), notInstalled: err?.code === 'ENOENT' });
    });
  });
}

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

async function build(): Promise<string | null> {
  const src = mtimeMs(SOURCE);
  if (src === null) {
    lastFailure = `${SOURCE} is missing`;
    return null;
  }
  const bin = mtimeMs(BINARY);
  if (bin !== null && bin >= src) return BINARY;
  const flags = await run('pkg-config', ['--cflags', '--libs', 'libsrtp2']);
  if (flags.code !== 0) {
    lastFailure = flags.notInstalled ? 'pkg-config is not installed'
      : `pkg-config cannot find libsrtp2 (${flags.stderr.trim() || `exit ${flags.code}`})`;
    return null;
  }
  mkdirSync(BIN_DIR, { recursive: true });
  // Compile to a private name and rename: concurrent test processes never see half a binary.
  const tmp = `${BINARY}.${process.pid}.tmp`;
  const args = ['-std=c99', '-O2', '-Wall', '-Wextra', '-o', tmp, SOURCE, ...flags.stdout.trim().split(/\s+/).filter(Boolean)];
  const cc = await run('gcc', args);
  if (cc.code !== 0) {
    rmSync(tmp, { force: true });
    lastFailure = cc.notInstalled ? 'gcc is not installed'
      : `gcc failed (${cc.stderr.trim().split('\n').slice(0, 5).join(' | ') || `exit ${cc.code}`})`;
    return null;
  }
  renameSync(tmp, BINARY);
  return BINARY;
}

/** Path of the compiled harness, building it when needed; null when libsrtp2, pkg-config or gcc is missing. */
export function libsrtpHarnessPath(): Promise<string | null> {
  buildPromise ??= build();
  return buildPromise;
}

/** Why the libsrtp2 peer is unavailable, with the install command. */
export function skipReason(): string {
  const why = lastFailure === '' ? 'the libsrtp2 harness is unavailable' : lastFailure;
  return `libsrtp2 peer unavailable: ${why}; install with: ${LIBSRTP_INSTALL}`;
}

/** True when running in CI, where a missing peer is a failure rather than a skip. */
export function inCi(): boolean {
  return process.env.CI === 'true';
}

/** Skips the test locally; in CI (CI=true) throws so the test fails instead. */
export function skipOrFail(t: TestContext, reason: string): void {
  if (inCi()) throw new Error(`${reason} [CI=true: skipping is not allowed]`);
  t.skip(reason);
}

// -------------------------------------------------------------------- peer

/** A harness reply of `err <status> <name>`. */
export class LibsrtpError extends Error {
  readonly status: number;
  readonly statusName: string;
  constructor(status: number, statusName: string, request: string) {
    super(`libsrtp2 ${request}: ${statusName} [status:${status}]`);
    this.name = 'LibsrtpError';
    this.status = status;
    this.statusName = statusName;
  }
}

/** Result of an operation that may legitimately fail (rejections are the point of some tests). */
export type LibsrtpResult =
  | { readonly ok: true; readonly packet: Uint8Array }
  | { readonly ok: false; readonly status: number; readonly statusName: string };

export type LibsrtpDirection = 'in' | 'out';

interface Pending {
  readonly request: string;
  resolve(text: string): void;
  reject(err: Error): void;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error(`bad hex from libsrtp2 harness: ${hex.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export { Rng } from '../helpers/rng.ts';

/** One master key of an MKI session: its MKI value, key and salt. */
export interface LibsrtpMasterKey {
  readonly mki: number;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
}

/** An MKI value as it travels: `length` bytes, big-endian (RFC 3711 §3.1), in hex. */
export function mkiHex(value: number, length: number): string {
  if (!Number.isInteger(length) || length < 1 || length > 4) throw new Error(`MKI length ${length} is not 1..4`);
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * length)) throw new Error(`MKI ${value} does not fit ${length} bytes`);
  return value.toString(16).padStart(2 * length, '0');
}

/**
 * One `srtp_harness serve` process. Requests may be pipelined: replies come back in order.
 * Sessions are named by the caller; `in` sessions unprotect (ssrc_any_inbound), `out` ones
 * protect (ssrc_any_outbound).
 */
export class LibsrtpPeer {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending: Pending[] = [];
  #stderr = '';
  #exited: Error | null = null;
  #closed = false;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => this.#onLine(line));
    child.stderr.on('data', (d: Buffer) => {
      if (this.#stderr.length < 4096) this.#stderr += d.toString();
    });
    child.stdin.on('error', () => { /* reported through 'exit' */ });
    child.on('error', (err) => this.#fail(err));
    child.on('exit', (code, signal) => this.#fail(new Error(
      `libsrtp2 harness exited (code ${String(code)}, signal ${String(signal)})${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`)));
  }

  /** Starts a peer; null when the harness cannot be built (see skipReason()). */
  static async start(): Promise<LibsrtpPeer | null> {
    const bin = await libsrtpHarnessPath();
    if (bin === null) return null;
    return new LibsrtpPeer(spawn(bin, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  #onLine(line: string): void {
    const p = this.#pending.shift();
    if (p === undefined) return;
    if (line === 'ok') p.resolve('');
    else if (line.startsWith('ok ')) p.resolve(line.slice(3));
    else {
      const m = /^err (\d+) (\S+)$/.exec(line);
      if (m) p.reject(new LibsrtpError(Number(m[1]), m[2] ?? '', p.request));
      else p.reject(new Error(`unexpected reply from libsrtp2 harness to "${p.request}": ${line.slice(0, 80)}`));
    }
  }

  #fail(err: Error): void {
    this.#exited ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  /** Sends one request line; resolves with the text after `ok`, rejects with LibsrtpError on `err`. */
  request(line: string): Promise<string> {
    if (this.#exited !== null) return Promise.reject(this.#exited);
    if (this.#closed) return Promise.reject(new Error('LibsrtpPeer is closed'));
    if (line.includes('\n')) return Promise.reject(new Error('request must be one line'));
    const request = line.split(' ', 2).join(' ');
    return new Promise<string>((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      this.#child.stdin.write(`${line}\n`);
    });
  }

  async version(): Promise<string> {
    return this.request('version');
  }

  /** Suites this libsrtp2 build accepts. */
  async suites(): Promise<LibsrtpSuite[]> {
    const known = new Set<string>(LIBSRTP_SUITES);
    return (await this.request('suites')).split(',').filter((s): s is LibsrtpSuite => known.has(s));
  }

  async session(id: string, direction: LibsrtpDirection, suite: LibsrtpSuite, masterKey: Uint8Array,
    masterSalt: Uint8Array, replayWindow = 1024): Promise<void> {
    await this.request(`session ${id} ${direction} ${suite} ${toHex(masterKey)} ${toHex(masterSalt)} ${replayWindow}`);
  }

  /**
   * A session whose packets carry an MKI of `mkiLength` bytes, with every key in `keys`
   * (libsrtp2's policy.keys / num_master_keys). keys[i] is MKI index i for useKey() and the
   * *Mki protect calls; protect starts with index 0; unprotect picks the key by the MKI.
   */
  async sessionMki(id: string, direction: LibsrtpDirection, suite: LibsrtpSuite, mkiLength: number,
    keys: readonly LibsrtpMasterKey[], replayWindow = 1024): Promise<void> {
    if (keys.length === 0 || keys.length > 16) throw new Error(`libsrtp2 takes 1..16 master keys, not ${keys.length}`);
    const list = keys.map((k) => `${mkiHex(k.mki, mkiLength)}:${toHex(k.masterKey)}:${toHex(k.masterSalt)}`);
    await this.request(`session_mki ${id} ${direction} ${suite} ${replayWindow} ${mkiLength} ${list.join(' ')}`);
  }

  /** Plain protect calls of an MKI session use the key at this index from now on. */
  async useKey(id: string, index: number): Promise<void> {
    await this.request(`use_key ${id} ${index >>> 0}`);
  }

  /** srtp_protect_mki with this MKI index (MKI sessions only). */
  async protectRtpMki(id: string, index: number, pkt: Uint8Array): Promise<Uint8Array> {
    return fromHex(await this.request(`protect_rtp_mki ${id} ${index >>> 0} ${toHex(pkt)}`));
  }

  /** srtp_protect_rtcp_mki with this MKI index (MKI sessions only). */
  async protectRtcpMki(id: string, index: number, pkt: Uint8Array): Promise<Uint8Array> {
    return fromHex(await this.request(`protect_rtcp_mki ${id} ${index >>> 0} ${toHex(pkt)}`));
  }

  async closeSession(id: string): Promise<void> {
    await this.request(`close ${id}`);
  }

  async #packet(op: string, id: string, pkt: Uint8Array): Promise<Uint8Array> {
    return fromHex(await this.request(`${op} ${id} ${toHex(pkt)}`));
  }

  protectRtp(id: string, pkt: Uint8Array): Promise<Uint8Array> { return this.#packet('protect_rtp', id, pkt); }
  unprotectRtp(id: string, pkt: Uint8Array): Promise<Uint8Array> { return this.#packet('unprotect_rtp', id, pkt); }
  protectRtcp(id: string, pkt: Uint8Array): Promise<Uint8Array> { return this.#packet('protect_rtcp', id, pkt); }
  unprotectRtcp(id: string, pkt: Uint8Array): Promise<Uint8Array> { return this.#packet('unprotect_rtcp', id, pkt); }

  /** Like request(), but a libsrtp2 error status is a result, not a rejection. */
  async try(op: 'protect_rtp' | 'unprotect_rtp' | 'protect_rtcp' | 'unprotect_rtcp', id: string,
    pkt: Uint8Array): Promise<LibsrtpResult> {
    try {
      return { ok: true, packet: await this.#packet(op, id, pkt) };
    } catch (err) {
      if (err instanceof LibsrtpError) return { ok: false, status: err.status, statusName: err.statusName };
      throw err;
    }
  }

  /** srtp_set_stream_roc; adds a stream for the SSRC first when none exists yet. */
  async setRoc(id: string, ssrc: number, roc: number): Promise<void> {
    await this.request(`set_roc ${id} ${ssrc >>> 0} ${roc >>> 0}`);
  }

  /** srtp_get_stream_roc (0 until the first packet after a set_roc). */
  async getRoc(id: string, ssrc: number): Promise<number> {
    return Number(await this.request(`get_roc ${id} ${ssrc >>> 0}`));
  }

  /** Asks the harness to quit and waits for it to exit (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#exited !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    this.#child.stdin.end('quit\n');
    await exited;
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ bench

/** Packets per second, one thread, as `srtp_harness bench` prints them. */
export interface LibsrtpBenchResult {
  readonly suite: LibsrtpSuite;
  /** Payload bytes after the 12-byte RTP header / the 8-byte RTCP header. */
  readonly payload: number;
  readonly rtpProtect: number;
  readonly rtpUnprotect: number;
  readonly rtcpProtect: number;
  readonly rtcpUnprotect: number;
}

function isBenchResult(v: unknown): v is LibsrtpBenchResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.suite === 'string' && (LIBSRTP_SUITES as readonly string[]).includes(r.suite) &&
    ['payload', 'rtpProtect', 'rtpUnprotect', 'rtcpProtect', 'rtcpUnprotect'].every((k) => typeof r[k] === 'number');
}

/**
 * Runs the native libsrtp2 benchmark: RTP protect, RTP unprotect, RTCP protect and RTCP
 * unprotect, about `millis` ms each (so ~4 × millis in all). Rejects when the harness is
 * unavailable (the message is skipReason()).
 */
export async function runLibsrtpBench(suite: LibsrtpSuite, payload: number, millis: number): Promise<LibsrtpBenchResult> {
  const bin = await libsrtpHarnessPath();
  if (bin === null) throw new Error(skipReason());
  const ms = Math.max(1, Math.round(millis));
  const r = await new Promise<string>((resolve, reject) => {
    execFile(bin, ['bench', suite, String(payload), String(ms)], { timeout: 4 * ms + 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`srtp_harness bench ${suite} ${payload}: ${err.message} ${String(stderr).trim()}`));
      else resolve(String(stdout));
    });
  });
  const parsed: unknown = JSON.parse(r.trim());
  if (!isBenchResult(parsed)) throw new Error(`unexpected srtp_harness bench output: ${r.slice(0, 200)}`);
  return parsed;
}

// -------------------------------------------------------- canonical vectors

/** RFC 3711 B.3 master key and salt. */
export const B3_MASTER_KEY = 'e1f97a0d3e018be0d64fa32c06de4139';
export const B3_MASTER_SALT = '0ec675ad498afeebb6960b3aabe6';

/** The documented master key / salt each suite's canonical vectors use. */
export function canonicalKeys(suite: LibsrtpSuite): { masterKey: string; masterSalt: string } {
  const { key, salt } = LIBSRTP_KEY_LENGTHS[suite];
  // The B.3 key repeated and cut to length; the B.3 salt cut to length (12 bytes for GCM).
  return { masterKey: B3_MASTER_KEY.repeat(2).slice(0, key * 2), masterSalt: B3_MASTER_SALT.slice(0, salt * 2) };
}

const PAYLOAD_AB = 'ab'.repeat(16);
/** The canonical plaintext packets (hex). */
export const CANONICAL_PACKETS = {
  /** V=2 PT=15 seq 0x1234 ts 0xdeadbeef SSRC 0xcafebabe + 16 × 0xab. */
  rtp: `800f1234deadbeefcafebabe${PAYLOAD_AB}`,
  /** libsrtp's test/srtp_driver.c packet: as `rtp` but ts 0xdecafbad. */
  rtpSrtpDriver: `800f1234decafbadcafebabe${PAYLOAD_AB}`,
  /** RR without report blocks (length 1), SSRC 0xcafebabe, + 16 × 0xab. */
  rtcp: `80c90001cafebabe${PAYLOAD_AB}`,
  /** libsrtp's srtp_driver.c SRTCP packet: SR header 81 c8 00 0b, SSRC 0xcafebabe, + 16 × 0xab. */
  rtcpSrtpDriver: `81c8000bcafebabe${PAYLOAD_AB}`,
} as const;
export type CanonicalPacketName = keyof typeof CANONICAL_PACKETS;

export interface CanonicalVector {
  readonly suite: LibsrtpSuite;
  readonly packet: CanonicalPacketName;
  readonly kind: 'rtp' | 'rtcp';
  readonly masterKey: string;
  readonly masterSalt: string;
  readonly plaintext: string;
  readonly protected: string;
  /** SRTP: the ROC (0). SRTCP: the 31-bit SRTCP index libsrtp2 used (its first packet is 1). */
  readonly index: number;
  /** Set when libsrtp2's output is known not to follow the RFC (the test must not expect it). */
  readonly libsrtpNonCompliant?: string;
}

export interface CanonicalVectorFile {
  readonly source: 'libsrtp-validate';
  readonly description: string;
  readonly generator: string;
  readonly libsrtp: string;
  readonly keys: string;
  readonly packets: Readonly<Record<CanonicalPacketName, string>>;
  readonly vectors: readonly CanonicalVector[];
}

/** libsrtp2 2.5.0 (and every release before the 2025 fix) derives AES-192 session keys with the AES-256 KDF. */
export const AES192_KDF_BUG = 'this libsrtp2 derives AES-192 session keys with the AES-256 KDF keyed by the ' +
  'first 32 bytes of key||salt, not as RFC 6188 says (cisco/libsrtp#763, fixed in 2025 by #765 and the 2.x backport #770)';

// RFC 6188 §7.4 master key/salt; the srtp_driver packet protected by a libsrtp2 with the #763 bug.
const AES192_PROBE_KEY = '73edc66c4fa15776fb57f9505c17136550ffda71f3e8e5f1';
const AES192_PROBE_SALT = 'c8522f3acd4ce86d5add78edbb11';
const AES192_PROBE_BUGGY = '800f1234decafbadcafebabe981a9c54696d0da00fe76244c035638f18e1a0b756b10b601602';

/** True when this libsrtp2 has the AES-192 KDF bug (so AES-192 cannot interoperate with an RFC 6188 peer). */
export async function hasAes192KdfBug(peer: LibsrtpPeer): Promise<boolean> {
  const id = 'aes192-probe';
  await peer.session(id, 'out', 'AES_192_CM_HMAC_SHA1_80', fromHex(AES192_PROBE_KEY), fromHex(AES192_PROBE_SALT), 128);
  const out = await peer.protectRtp(id, fromHex(CANONICAL_PACKETS.rtpSrtpDriver));
  await peer.closeSession(id);
  return toHex(out) === AES192_PROBE_BUGGY;
}

/**
 * libsrtp2 2.5 looks for the MKI of an SRTCP packet one *SRTP* tag length from the end. With
 * the _32 HMAC suites (4-byte SRTP tag, 10-byte SRTCP tag) it reads the wrong bytes and
 * answers bad_mki to every MKI SRTCP packet, its own included. Protect is right.
 */
export const LIBSRTP_MKI_SRTCP_TAG_BUG = 'this libsrtp2 locates the SRTCP MKI with the SRTP tag length, so it cannot ' +
  'unprotect MKI SRTCP when the SRTP tag is shorter than the SRTCP one (the _32 HMAC suites); fixed upstream by ' +
  'cisco/libsrtp#733 (2_x_dev) and #737 (main), December 2024';

/** True when this libsrtp2 rejects its own MKI SRTCP for AES_CM_128_HMAC_SHA1_32 (LIBSRTP_MKI_SRTCP_TAG_BUG). */
export async function hasMkiSrtcpTagBug(peer: LibsrtpPeer): Promise<boolean> {
  const key: LibsrtpMasterKey = { mki: 1, masterKey: fromHex(B3_MASTER_KEY), masterSalt: fromHex(B3_MASTER_SALT) };
  const tx = 'mki32-probe-tx';
  const rx = 'mki32-probe-rx';
  await peer.sessionMki(tx, 'out', 'AES_CM_128_HMAC_SHA1_32', 1, [key], 128);
  await peer.sessionMki(rx, 'in', 'AES_CM_128_HMAC_SHA1_32', 1, [key], 128);
  try {
    const p = await peer.protectRtcp(tx, fromHex(CANONICAL_PACKETS.rtcp));
    const r = await peer.try('unprotect_rtcp', rx, p);
    return !r.ok && r.status === LibsrtpStatus.BAD_MKI;
  } finally {
    await peer.closeSession(tx);
    await peer.closeSession(rx);
  }
}

/** The SRTCP index in a protected SRTCP packet (E flag masked off). AEAD suites put it last, HMAC ones before the tag. */
export function srtcpIndexOf(suite: LibsrtpSuite, protectedPkt: Uint8Array): number {
  const tagLen = suite.startsWith('AEAD_') ? 0 : 10;
  const at = protectedPkt.length - tagLen - 4;
  const view = new DataView(protectedPkt.buffer, protectedPkt.byteOffset, protectedPkt.byteLength);
  return view.getUint32(at) & 0x7fffffff;
}

/** Protects every canonical packet with libsrtp2, one fresh session per vector. */
export async function libsrtpCanonicalVectors(peer: LibsrtpPeer): Promise<CanonicalVectorFile> {
  const supported = await peer.suites();
  const aes192Bug = supported.includes('AES_192_CM_HMAC_SHA1_80') && await hasAes192KdfBug(peer);
  const vectors: CanonicalVector[] = [];
  for (const suite of supported) {
    const { masterKey, masterSalt } = canonicalKeys(suite);
    for (const packet of Object.keys(CANONICAL_PACKETS) as CanonicalPacketName[]) {
      const kind = packet.startsWith('rtcp') ? 'rtcp' : 'rtp';
      const plaintext = CANONICAL_PACKETS[packet];
      const id = `canon-${suite}-${packet}`;
      await peer.session(id, 'out', suite, fromHex(masterKey), fromHex(masterSalt), 128);
      const out = kind === 'rtp' ? await peer.protectRtp(id, fromHex(plaintext)) : await peer.protectRtcp(id, fromHex(plaintext));
      await peer.closeSession(id);
      const index = kind === 'rtp' ? 0 : srtcpIndexOf(suite, out);
      const nonCompliant = aes192Bug && suite.startsWith('AES_192_') ? { libsrtpNonCompliant: AES192_KDF_BUG } : {};
      vectors.push({ suite, packet, kind, masterKey, masterSalt, plaintext, protected: toHex(out), index, ...nonCompliant });
    }
  }
  return {
    source: 'libsrtp-validate',
    description: 'The canonical packet (SSRC 0xcafebabe, seq 0x1234, 16 x 0xab) protected by the system libsrtp2 ' +
      'for every suite it supports; one fresh sender session per vector (SRTP ROC 0, first SRTCP index). ' +
      'The AES_CM_128_HMAC_SHA1_80 rtpSrtpDriver and rtcpSrtpDriver vectors equal the bytes libsrtp itself ' +
      'expects in test/srtp_driver.c. AES-192 vectors carry libsrtpNonCompliant when this libsrtp2 has the ' +
      'AES-192 KDF bug: an RFC 6188 implementation must not reproduce them.',
    generator: 'node --import tsx test/interop/libsrtp.ts canonical (test/interop/harness/srtp_harness.c)',
    libsrtp: `${await peer.version()} (Debian libsrtp2-dev, NSS backend)`,
    keys: 'RFC 3711 B.3 master key E1F97A0D3E018BE0D64FA32C06DE4139 repeated and cut to the suite key length ' +
      '(24 bytes for AES-192, 32 for AES-256 and AEAD_AES_256_GCM); RFC 3711 B.3 master salt ' +
      '0EC675AD498AFEEBB6960B3AABE6, cut to its first 12 bytes for the AEAD suites',
    packets: CANONICAL_PACKETS,
    vectors,
  };
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] !== 'canonical') {
    process.stderr.write('usage: node --import tsx test/interop/libsrtp.ts canonical > test/vectors/libsrtp-canonical.json\n');
    return 2;
  }
  const peer = await LibsrtpPeer.start();
  if (peer === null) {
    process.stderr.write(`${skipReason()}\n`);
    return 1;
  }
  try {
    process.stdout.write(`${JSON.stringify(await libsrtpCanonicalVectors(peer), null, 2)}\n`);
  } finally {
    await peer.close();
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
