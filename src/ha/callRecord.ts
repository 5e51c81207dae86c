// The replicated form of a call: what a standby needs to carry its media on (legs and SIP
// tags, per m= line and side the bound ports, addresses, rtcp-mux, protocol, suite, SDES tag
// and the sealed keys), and the separate, more frequently written index record (per stream
// the high-water marks). JSON text both; decoding checks every field a takeover relies on,
// because whoever can write Redis must not be able to crash or steer a relay with it.
import type { StreamIndexState } from '../session/indexState.ts';
import { validateIndexState } from '../session/indexState.ts';
import { isSuiteName, type SuiteName } from '../crypto/suites.ts';
import { HaError } from './HaError.ts';
import type { SealedBlob } from './StateSealer.ts';

export const RECORD_VERSION = 1;

export interface EndpointRecord { readonly address: string; readonly port: number }

/** One SDES key-param's public attributes; its key‖salt lives in the sealed blob. */
export interface KeyParamRecord {
  /** MKI value (decimal string: up to 128 bytes) and length. */
  readonly mki?: { readonly value: string; readonly length: number };
  readonly lifetime?: number;
  readonly padded: boolean;
}

/** An SDES key as stored: suite and parameters in clear, every key‖salt sealed as one blob. */
export interface SealedKeyRecord {
  readonly suite: SuiteName;
  readonly tag: number;
  readonly kdr?: number;
  readonly params: readonly KeyParamRecord[];
  readonly sealed: SealedBlob;
}

export interface SideRecord {
  /** Index of the side's leg in CallRecord.legs. */
  readonly leg: number;
  readonly rtpPort: number;
  readonly rtcpPort: number | null;
  readonly rtcpMux: boolean;
  readonly strictSource: boolean;
  readonly protocol: string;
  readonly remoteRtp: EndpointRecord | null;
  readonly remoteRtcp: EndpointRecord | null;
  readonly latchedRtp: EndpointRecord | null;
  readonly latchedRtcp: EndpointRecord | null;
  readonly inMode: 'pending' | 'plain' | 'srtp';
  readonly outMode: 'pending' | 'plain' | 'srtp';
  /** The key this side's endpoint sends with (null: plain, DTLS, or not committed). */
  readonly inKey: SealedKeyRecord | null;
  /** The relay's key towards this side's endpoint, and how it was announced. */
  readonly outKey: SealedKeyRecord | null;
  readonly outTag: number;
  readonly outPadded: boolean;
  /**
   * DTLS-SRTP side. Its association cannot move, but the keys it exported can: inKey/outKey
   * hold them (sealed) once the handshake completed, and a takeover runs on them until the
   * side's next offer or answer starts a new handshake. No keys: not taken over.
   */
  readonly dtls: boolean;
  /** The stream's SDP-derived flood budget (MediaStreamHandle.rateLimit); absent or null: the configured one. */
  readonly rate?: { readonly pps: number; readonly bps: number } | null;
  /** For a DTLS side: the relay's role and what the peer signalled (absent in older records). */
  readonly dtlsPeer?: DtlsPeerRecord | null;
}

export interface DtlsPeerRecord {
  readonly role: 'client' | 'server';
  /** Canonical a=fingerprint values, sorted. */
  readonly fingerprints: readonly string[];
  readonly setup: 'active' | 'passive' | 'actpass' | null;
}

export interface MediaRecord {
  readonly type: string;
  readonly sides: readonly [SideRecord, SideRecord];
}

export interface CallRecord {
  readonly v: number;
  readonly callId: string;
  readonly node: string;
  /** Wall clock (ms) of the write, and of the call's creation. */
  readonly at: number;
  readonly created: number;
  /** The call's two legs: relay leg tag, SIP tag, media interface name (null: the default). */
  readonly legs: readonly { readonly tag: string; readonly sipTag: string | null; readonly interface: string | null }[];
  /** Per m= line; null for lines not relayed. */
  readonly media: readonly (MediaRecord | null)[];
}

/** Per stream (keyed by its RTP port) the high-water mark; sealed as a whole for integrity. */
export interface IndexRecord {
  readonly v: number;
  readonly at: number;
  readonly streams: Readonly<Record<string, StreamIndexState>>;
}

export function encodeRecord(r: CallRecord | IndexRecord): string {
  return JSON.stringify(r);
}

// ------------------------------------------------------------------ decoding

type Obj = Record<string, unknown>;

function bad(what: string): never {
  throw new HaError('E_HA_RECORD', 'malformed replicated record', { field: what });
}
function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(what);
  return v as Obj;
}
function str(v: unknown, what: string, max = 1024): string {
  if (typeof v !== 'string' || v.length > max) bad(what);
  return v as string;
}
function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(what);
  return v as number;
}
function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') bad(what);
  return v as boolean;
}
function endpoint(v: unknown, what: string): EndpointRecord | null {
  if (v === null) return null;
  const o = obj(v, what);
  return { address: str(o.address, what, 64), port: int(o.port, what, 1, 65535) };
}
function mode(v: unknown, what: string): 'pending' | 'plain' | 'srtp' {
  if (v !== 'pending' && v !== 'plain' && v !== 'srtp') bad(what);
  return v as 'pending' | 'plain' | 'srtp';
}
function blob(v: unknown, what: string): SealedBlob {
  const o = obj(v, what);
  return { k: str(o.k, what, 64), n: str(o.n, what, 64), c: str(o.c, what, 8192) };
}
function sealedKey(v: unknown, what: string): SealedKeyRecord | null {
  if (v === null) return null;
  const o = obj(v, what);
  const suite = str(o.suite, what, 64);
  if (!isSuiteName(suite)) bad(what);
  if (!Array.isArray(o.params) || o.params.length < 1 || o.params.length > 16) bad(what);
  const params = (o.params as unknown[]).map((p): KeyParamRecord => {
    const q = obj(p, what);
    const mki = q.mki === undefined ? undefined : (() => {
      const m = obj(q.mki, what);
      const value = str(m.value, what, 320);
      if (!/^\d+$/.test(value)) bad(what);
      return { value, length: int(m.length, what, 1, 128) };
    })();
    return {
      padded: bool(q.padded, what),
      ...(mki ? { mki } : {}),
      ...(q.lifetime !== undefined ? { lifetime: int(q.lifetime, what, 1, 2 ** 48) } : {}),
    };
  });
  return {
    suite, tag: int(o.tag, what, 0, 999_999_999), params, sealed: blob(o.sealed, what),
    ...(o.kdr !== undefined ? { kdr: int(o.kdr, what, 0, 24) } : {}),
  };
}
function side(v: unknown, what: string, legs: number): SideRecord {
  const o = obj(v, what);
  return {
    leg: int(o.leg, what, 0, legs - 1),
    rtpPort: int(o.rtpPort, what, 1, 65535),
    rtcpPort: o.rtcpPort === null ? null : int(o.rtcpPort, what, 1, 65535),
    rtcpMux: bool(o.rtcpMux, what),
    strictSource: bool(o.strictSource, what),
    protocol: str(o.protocol, what, 64),
    remoteRtp: endpoint(o.remoteRtp, what), remoteRtcp: endpoint(o.remoteRtcp, what),
    latchedRtp: endpoint(o.latchedRtp, what), latchedRtcp: endpoint(o.latchedRtcp, what),
    inMode: mode(o.inMode, what), outMode: mode(o.outMode, what),
    inKey: sealedKey(o.inKey, `${what}.inKey`), outKey: sealedKey(o.outKey, `${what}.outKey`),
    outTag: int(o.outTag, what, 0, 999_999_999), outPadded: bool(o.outPadded, what),
    dtls: bool(o.dtls, what),
    ...(o.dtlsPeer !== undefined && o.dtlsPeer !== null ? { dtlsPeer: dtlsPeer(o.dtlsPeer, `${what}.dtlsPeer`) } : {}),
    ...(o.rate !== undefined && o.rate !== null ? { rate: rate(o.rate, `${what}.rate`) } : {}),
  };
}
/** A rate as setRateLimit takes it: finite, not negative (0: that dimension unlimited). */
function rate(v: unknown, what: string): { pps: number; bps: number } {
  const o = obj(v, what);
  const n = (x: unknown): number => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1e12) bad(what);
    return x as number;
  };
  return { pps: n(o.pps), bps: n(o.bps) };
}
function dtlsPeer(v: unknown, what: string): DtlsPeerRecord {
  const o = obj(v, what);
  if (o.role !== 'client' && o.role !== 'server') bad(what);
  if (o.setup !== null && o.setup !== 'active' && o.setup !== 'passive' && o.setup !== 'actpass') bad(what);
  if (!Array.isArray(o.fingerprints) || o.fingerprints.length > 8) bad(what);
  // Checked again (parsed) when a re-INVITE starts a handshake; here only the shape.
  const fingerprints = (o.fingerprints as unknown[]).map((f) => {
    const s = str(f, what, 200);
    if (!/^[a-z0-9-]{1,16} [0-9A-F:]{2,200}$/.test(s)) bad(what);
    return s;
  });
  return { role: o.role as DtlsPeerRecord['role'], fingerprints, setup: o.setup as DtlsPeerRecord['setup'] };
}

function parse(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('json');
  }
  const o = obj(v, 'record');
  if (o.v !== RECORD_VERSION) bad('v');
  return o;
}

export function decodeCallRecord(text: string): CallRecord {
  const o = parse(text);
  if (!Array.isArray(o.legs) || o.legs.length !== 2) bad('legs');
  const legs = (o.legs as unknown[]).map((l) => {
    const q = obj(l, 'legs');
    return {
      tag: str(q.tag, 'legs', 256), sipTag: q.sipTag === null ? null : str(q.sipTag, 'legs', 256),
      interface: q.interface === null || q.interface === undefined ? null : str(q.interface, 'legs', 64),
    };
  });
  if (!Array.isArray(o.media) || o.media.length > 64) bad('media');
  const media = (o.media as unknown[]).map((m, i): MediaRecord | null => {
    if (m === null) return null;
    const q = obj(m, `media${i}`);
    if (!Array.isArray(q.sides) || q.sides.length !== 2) bad(`media${i}`);
    const sides = q.sides as unknown[];
    return { type: str(q.type, `media${i}`, 64), sides: [side(sides[0], `m${i}.0`, legs.length), side(sides[1], `m${i}.1`, legs.length)] };
  });
  return {
    v: RECORD_VERSION, callId: str(o.callId, 'callId', 1024), node: str(o.node, 'node', 64),
    at: int(o.at, 'at', 0, Number.MAX_SAFE_INTEGER), created: int(o.created, 'created', 0, Number.MAX_SAFE_INTEGER), legs, media,
  };
}

export function decodeIndexRecord(text: string): IndexRecord {
  const o = parse(text);
  const s = obj(o.streams, 'streams');
  const streams: Record<string, StreamIndexState> = {};
  for (const [port, v] of Object.entries(s)) {
    if (!/^\d{1,5}$/.test(port)) bad('streams');
    const st = obj(v, `streams.${port}`);
    const list = (x: unknown): { ssrc: number; index: number }[] => {
      if (!Array.isArray(x)) bad(`streams.${port}`);
      return (x as unknown[]).map((e) => { const q = obj(e, `streams.${port}`); return { ssrc: q.ssrc as number, index: q.index as number }; });
    };
    const state = { srtpIn: list(st.srtpIn), srtpOut: list(st.srtpOut), srtcpIn: list(st.srtcpIn), srtcpOut: list(st.srtcpOut) };
    try {
      validateIndexState(state);
    } catch {
      bad(`streams.${port}`);
    }
    streams[port] = state;
  }
  return { v: RECORD_VERSION, at: int(o.at, 'at', 0, Number.MAX_SAFE_INTEGER), streams };
}
