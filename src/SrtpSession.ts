// The public, embeddable SRTP session: one master key, an outbound (protect) and an
// inbound (unprotect) context, so one object can be both ends of a stream.
import { EventEmitter } from 'node:events';
import { CryptoCore } from './crypto/CryptoCore.ts';
import { poolForWindow } from './crypto/CorePool.ts';
import { suiteByName, type CryptoSuite, type SuiteName } from './crypto/suites.ts';
import { EV_SRTCP_SOFT_LIMIT, EV_SRTP_SOFT_LIMIT, Status } from './crypto/abi.ts';
import { RelayError, SrtpError } from './errors.ts';
import { applyStreamIndexFloor, readStreamIndexState, type StreamIndexState } from './session/indexState.ts';

export interface SrtpSessionOptions {
  /** SDES suite name (RFC 4568 / RFC 6188). */
  suite: SuiteName;
  /** Master key, suite.keyLen bytes. Copied into the core; wipe your copy when done. */
  masterKey: Uint8Array;
  /** Master salt, 14 bytes. */
  masterSalt: Uint8Array;
  /** Replay window in packets, 64..32768. Default 1024. */
  replayWindow?: number;
  /** Permit NULL_HMAC_SHA1_* (no confidentiality). Default false; logged at warn by callers. */
  insecureAllowNullCipher?: boolean;
  /** Accept SRTCP with the E flag clear. Default false. */
  insecureAllowUnencryptedSrtcp?: boolean;
  /** Carry an MKI of `length` bytes (1..4); this first key's value is `value`. Default: no MKI. */
  mki?: { length: number; value: number };
  /** SDES KDR=n: re-derive session keys every 2^n packets. Default: derive once. */
  kdr?: number;
  /** Packets the master key may protect (SDES lifetime). Default: the suite's limit. */
  lifetime?: bigint;
  /** Use this core instead of the shared pool (the relay passes its worker's core). */
  core?: CryptoCore;
}

export interface SrtpSessionEvents {
  /** The key has been used for 2^48 − 2^16 SRTP or 2^31 − 2^16 SRTCP packets: re-key soon. */
  keysoftlimit: [{ kind: 'srtp' | 'srtcp'; direction: 'inbound' | 'outbound' }];
  close: [];
}

export class SrtpSession extends EventEmitter<SrtpSessionEvents> {
  readonly suite: CryptoSuite;
  readonly #core: CryptoCore;
  readonly #out: number;
  readonly #in: number;
  #closed = false;

  /** Use createSrtpSession(). */
  constructor(core: CryptoCore, suite: CryptoSuite, out: number, inb: number) {
    super();
    this.#core = core;
    this.suite = suite;
    this.#out = out;
    this.#in = inb;
  }

  get closed(): boolean { return this.#closed; }

  protectRtp(packet: Uint8Array): Uint8Array { return this.#run(packet, 'protectRtp'); }
  unprotectRtp(packet: Uint8Array): Uint8Array { return this.#run(packet, 'unprotectRtp'); }
  protectRtcp(packet: Uint8Array): Uint8Array { return this.#run(packet, 'protectRtcp'); }
  unprotectRtcp(packet: Uint8Array): Uint8Array { return this.#run(packet, 'unprotectRtcp'); }

  /**
   * Allocation-free forms: transform buf[0..len) in place and return the new length, or a
   * negative Status (never throws for a bad packet). buf needs room for the trailer:
   * len + rtpTagLen (RTP) or len + 4 + rtcpTagLen (RTCP).
   */
  protectRtpInPlace(buf: Uint8Array, len: number): number { return this.#inPlace(buf, len, 'protectRtp'); }
  unprotectRtpInPlace(buf: Uint8Array, len: number): number { return this.#inPlace(buf, len, 'unprotectRtp'); }
  protectRtcpInPlace(buf: Uint8Array, len: number): number { return this.#inPlace(buf, len, 'protectRtcp'); }
  unprotectRtcpInPlace(buf: Uint8Array, len: number): number { return this.#inPlace(buf, len, 'unprotectRtcp'); }

  /** Adds a master key with its MKI (the session must have been created with `mki`).
   *  Receivers accept it at once; protect keeps using the current key until useKey(). */
  addKey(masterKey: Uint8Array, masterSalt: Uint8Array, mki: number, lifetime?: bigint): void {
    this.#check();
    this.#core.addKey(this.#out, this.suite, masterKey, masterSalt, mki, lifetime);
    this.#core.addKey(this.#in, this.suite, masterKey, masterSalt, mki, lifetime);
  }

  /** Protect with the key whose MKI is `mki` from now on. */
  useKey(mki: number): void {
    this.#check();
    this.#core.setTxKey(this.#out, mki);
  }

  /** Sets the rollover counter for ssrc on both sides (RFC 3711 §3.3.1, out-of-band ROC). */
  setRoc(ssrc: number, roc: number): void {
    this.#check();
    for (const h of [this.#out, this.#in]) {
      const st = this.#core.setRoc(h, ssrc, roc);
      if (st !== Status.OK) throw new SrtpError(st, 'setRoc');
    }
  }

  /** ROC of the highest index seen for ssrc in one direction, or undefined if unseen. */
  getRoc(ssrc: number, direction: 'inbound' | 'outbound' = 'outbound'): number | undefined {
    this.#check();
    return this.#core.getRoc(direction === 'outbound' ? this.#out : this.#in, ssrc);
  }

  /** Highest SRTP/SRTCP index per SSRC received (authenticated) and sent; see session/indexState.ts. */
  indexState(): StreamIndexState {
    this.#check();
    return readStreamIndexState(this.#core, this.#in, this.#out);
  }

  /**
   * Continues from a high-water mark another holder of this key persisted (aheadOf): unprotect
   * treats indexes ≤ the floor as replays, protect refuses them (SrtpError E_INDEX_REUSE, or
   * Status.INDEX_REUSE from the in-place forms), SRTCP is sent from floor + 1. Raises, never lowers.
   */
  applyIndexFloor(floor: StreamIndexState): void {
    this.#check();
    applyStreamIndexFloor(this.#core, this.#in, this.#out, floor, 0);
  }

  /** Copy of both contexts' state bytes, for tests asserting a rejected packet changed nothing. */
  snapshotState(): Uint8Array {
    this.#check();
    const a = this.#core.snapshot(this.#out);
    const b = this.#core.snapshot(this.#in);
    const all = new Uint8Array(a.length + b.length);
    all.set(a, 0);
    all.set(b, a.length);
    return all;
  }

  /** Test hook: pretend `srtp`/`srtcp` packets were already processed (key-limit tests). */
  setPacketCountsForTest(srtp: bigint, srtcp: bigint): void {
    this.#check();
    this.#core.setPacketCounts(this.#out, srtp, srtcp);
    this.#core.setPacketCounts(this.#in, srtp, srtcp);
  }

  /** Destroys both contexts (keys zeroed in WASM memory). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.destroyContext(this.#out);
    this.#core.destroyContext(this.#in);
    this.emit('close');
  }

  toJSON(): object { return { suite: this.suite.name, closed: this.#closed }; }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return `SrtpSession<${this.suite.name}${this.#closed ? ', closed' : ''}>`; }

  #check(): void {
    if (this.#closed) throw new RelayError('E_INVALID_STATE', 'SRTP session is closed');
  }

  #call(op: Op, len: number): number {
    const c = this.#core;
    switch (op) {
      case 'protectRtp': return c.srtpProtect(this.#out, len);
      case 'unprotectRtp': return c.srtpUnprotect(this.#in, len);
      case 'protectRtcp': return c.srtcpProtect(this.#out, len);
      case 'unprotectRtcp': return c.srtcpUnprotect(this.#in, len);
    }
  }

  #inPlace(buf: Uint8Array, len: number, op: Op): number {
    this.#check();
    const io = this.#core.io;
    if (len < 0 || len > buf.length || len > io.length - 64) return Status.NO_ROOM;
    io.set(buf.subarray(0, len), 0);
    const n = this.#call(op, len);
    if (n >= 0) {
      if (n > buf.length) return Status.NO_ROOM;
      buf.set(io.subarray(0, n), 0);
      this.#events(op);
    }
    return n;
  }

  #run(packet: Uint8Array, op: Op): Uint8Array {
    this.#check();
    const io = this.#core.io;
    if (packet.length > io.length - 64) throw new SrtpError(Status.NO_ROOM, op);
    io.set(packet, 0);
    const n = this.#call(op, packet.length);
    if (n < 0) throw new SrtpError(n, op);
    this.#events(op);
    return io.slice(0, n);
  }

  #events(op: Op): void {
    const direction = op.startsWith('protect') ? 'outbound' : 'inbound';
    const ev = this.#core.takeEvents(direction === 'outbound' ? this.#out : this.#in);
    if (ev > 0) {
      if (ev & EV_SRTP_SOFT_LIMIT) this.emit('keysoftlimit', { kind: 'srtp', direction });
      if (ev & EV_SRTCP_SOFT_LIMIT) this.emit('keysoftlimit', { kind: 'srtcp', direction });
    }
  }
}

type Op = 'protectRtp' | 'unprotectRtp' | 'protectRtcp' | 'unprotectRtcp';

/** Creates an SRTP session on a shared core (or `options.core`). */
export async function createSrtpSession(options: SrtpSessionOptions): Promise<SrtpSession> {
  return createSrtpSessionSync(options);
}

export function createSrtpSessionSync(options: SrtpSessionOptions): SrtpSession {
  const suite = suiteByName(options.suite);
  if (!suite) throw new RelayError('E_BAD_REQUEST', 'unknown SRTP suite', { suite: String(options.suite) });
  if (!suite.encrypts && !options.insecureAllowNullCipher) {
    throw new RelayError('E_BAD_REQUEST', 'NULL cipher suites need insecureAllowNullCipher', { suite: suite.name });
  }
  const window = options.replayWindow ?? 1024;
  const core = options.core ?? poolForWindow(window).acquire(2);
  const params = {
    suite, masterKey: options.masterKey, masterSalt: options.masterSalt, replayWindow: window,
    insecureAllowNullCipher: options.insecureAllowNullCipher ?? false,
    insecureAllowUnencryptedSrtcp: options.insecureAllowUnencryptedSrtcp ?? false,
    ...(options.mki ? { mki: options.mki } : {}),
    ...(options.kdr !== undefined ? { kdr: options.kdr } : {}),
    ...(options.lifetime !== undefined ? { lifetime: options.lifetime } : {}),
  };
  const out = core.createContext({ ...params, direction: 'outbound' });
  let inb: number;
  try {
    inb = core.createContext({ ...params, direction: 'inbound' });
  } catch (e) {
    core.destroyContext(out);
    throw e;
  }
  return new SrtpSession(core, suite, out, inb);
}
