// Driver for ffmpeg as an SRTP peer (Debian `ffmpeg`; it has its own SRTP code, libavformat/srtp.c,
// independent of libsrtp). ffmpeg sends SRTP with `-f rtp ... srtp://host:port` and receives it
// only through an SDP file carrying `a=crypto` (the sdp demuxer). Every process started here is
// tracked and bounded by a hard timeout; killStartedFfmpeg() ends the ones still running (by
// their own handle, never by name).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';

/** The Debian package the ffmpeg peer needs. */
export const FFMPEG_INSTALL = 'apt-get install -y ffmpeg';

/**
 * The suite names ffmpeg's SRTP accepts (libavformat/srtp.c): the RFC 4568 SDES names and the
 * RFC 5764 DTLS-SRTP profile names. They are not synonyms for the 32-bit suite: under the SDES
 * name AES_CM_128_HMAC_SHA1_32 ffmpeg (5.1 at least) truncates the *SRTCP* tag to 32 bits as
 * well, whereas under SRTP_AES128_CM_HMAC_SHA1_32 it keeps SRTCP at 80 bits, as RFC 5764 §4.1.2
 * says and as srtpgate and libsrtp2 do for both names. See FFMPEG_SRTCP_TAG_BYTES.
 */
export const FFMPEG_SUITES = [
  'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'SRTP_AES128_CM_HMAC_SHA1_80', 'SRTP_AES128_CM_HMAC_SHA1_32',
] as const;
export type FfmpegSuite = (typeof FFMPEG_SUITES)[number];

/** SRTCP tag bytes ffmpeg writes and expects under each name (measured on Debian's ffmpeg 5.1). */
export const FFMPEG_SRTCP_TAG_BYTES: Readonly<Record<FfmpegSuite, number>> = {
  AES_CM_128_HMAC_SHA1_80: 10,
  AES_CM_128_HMAC_SHA1_32: 4,
  SRTP_AES128_CM_HMAC_SHA1_80: 10,
  SRTP_AES128_CM_HMAC_SHA1_32: 10,
};

export interface FfmpegInfo {
  readonly path: string;
  /** First line of `ffmpeg -version`. */
  readonly version: string;
}

let probe: Promise<FfmpegInfo | null> | null = null;
let probeFailure = '';

function runCapture(cmd: string, args: readonly string[]): Promise<{ ok: boolean; out: string; why: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve({ ok: true, out: String(stdout), why: '' });
      else resolve({ ok: false, out: String(stdout), why: err.code === 'ENOENT' ? 'not installed' : `${err.message} ${String(stderr).slice(0, 200)}` });
    });
  });
}

/** Finds ffmpeg and checks it has what the tests use: the srtp protocol both ways, lavfi's sine, the sdp demuxer. */
async function probeFfmpeg(): Promise<FfmpegInfo | null> {
  const path = process.env.FFMPEG ?? 'ffmpeg';
  const v = await runCapture(path, ['-hide_banner', '-version']);
  if (!v.ok) {
    probeFailure = `ffmpeg (${path}) ${v.why}`;
    return null;
  }
  const protocols = await runCapture(path, ['-hide_banner', '-protocols']);
  // `-protocols` lists inputs, then "Output:", then outputs; srtp must be in both halves.
  const [input = '', output = ''] = protocols.out.split(/^Output:\s*$/m);
  const has = (list: string, name: string): boolean => new RegExp(`^\\s*${name}\\s*$`, 'm').test(list);
  if (!has(input, 'srtp') || !has(output, 'srtp')) {
    probeFailure = 'this ffmpeg was built without the srtp protocol';
    return null;
  }
  const filters = await runCapture(path, ['-hide_banner', '-filters']);
  if (!/\bsine\b/.test(filters.out)) {
    probeFailure = 'this ffmpeg has no lavfi sine source';
    return null;
  }
  const formats = await runCapture(path, ['-hide_banner', '-formats']);
  if (!/^\s*D\S*\s+sdp\b/m.test(formats.out)) {
    probeFailure = 'this ffmpeg has no sdp demuxer';
    return null;
  }
  return { path, version: v.out.split('\n', 1)[0] ?? '' };
}

/** ffmpeg's path and version, or null when it is missing or lacks SRTP (see ffmpegSkipReason()). */
export function ffmpegInfo(): Promise<FfmpegInfo | null> {
  probe ??= probeFfmpeg();
  return probe;
}

export function ffmpegSkipReason(): string {
  return `ffmpeg peer unavailable: ${probeFailure || 'not probed'}; install with: ${FFMPEG_INSTALL}`;
}

/** The RFC 4568 inline key-params ffmpeg takes (`-srtp_out_params`, `a=crypto ... inline:`): base64(key || salt). */
export function srtpInlineKey(masterKey: Uint8Array, masterSalt: Uint8Array): string {
  return Buffer.concat([masterKey, masterSalt]).toString('base64');
}

// ------------------------------------------------------------- processes

export interface FfmpegResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when our hard timeout had to kill it. */
  readonly timedOut: boolean;
  readonly stdout: Buffer;
  /** The last 64 KiB of stderr. */
  readonly stderr: string;
  /** How many stderr lines matched each pattern the caller asked to count. */
  readonly counts: ReadonlyMap<string, number>;
}

const STDERR_KEEP = 64 << 10;
const STDOUT_MAX = 64 << 20;

/** One ffmpeg process: its output collected, stderr lines counted, a hard timeout armed. */
export class FfmpegRun {
  readonly args: readonly string[];
  readonly done: Promise<FfmpegResult>;
  readonly #child: ChildProcess;
  #stderrTail = '';

  constructor(path: string, args: readonly string[], hardTimeoutMs: number, countPatterns: readonly RegExp[] = []) {
    this.args = args;
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(this);
    const out: Buffer[] = [];
    let outBytes = 0;
    const counts = new Map<string, number>(countPatterns.map((p) => [p.source, 0]));
    let partial = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => {
      if (outBytes + d.length <= STDOUT_MAX) { out.push(d); outBytes += d.length; }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.#stderrTail = (this.#stderrTail + d).slice(-STDERR_KEEP);
      // ffmpeg ends progress lines with \r, log lines with \n.
      const lines = (partial + d).split(/[\r\n]/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        for (const p of countPatterns) if (p.test(line)) counts.set(p.source, (counts.get(p.source) ?? 0) + 1);
      }
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, hardTimeoutMs);
    this.done = new Promise<FfmpegResult>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        live.delete(this);
        resolve({ code, signal, timedOut, stdout: Buffer.concat(out), stderr: this.#stderrTail, counts });
      };
      child.once('error', (err) => { this.#stderrTail += `\nspawn failed: ${err.message}`; finish(null, null); });
      child.once('close', finish);
    });
  }

  get pid(): number | undefined { return this.#child.pid; }
  get stderrSoFar(): string { return this.#stderrTail; }

  /** Ends this process (SIGTERM, then SIGKILL after `graceMs`) and waits for it. */
  async stop(graceMs = 1000): Promise<FfmpegResult> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const t = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      const r = await this.done;
      clearTimeout(t);
      return r;
    }
    return this.done;
  }
}

const live = new Set<FfmpegRun>();

/** Stops every ffmpeg this module started that is still running (for after() hooks). */
export async function killStartedFfmpeg(): Promise<void> {
  await Promise.all([...live].map((r) => r.stop(500)));
}

// ------------------------------------------------------------- sender

export interface SenderOptions {
  readonly suite: FfmpegSuite;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  readonly ssrc: number;
  /** Where to send RTP; RTCP goes to port + 1. */
  readonly host: string;
  readonly port: number;
  readonly frequency: number;
  readonly seconds: number;
  /** Send an RTCP BYE at the end (-rtpflags send_bye), so the receiver ends at once. Default true. */
  readonly sendBye?: boolean;
  readonly hardTimeoutMs?: number;
}

/**
 * ffmpeg sending a generated tone as PCMU over SRTP in real time (-re): 8 kHz, 160 samples
 * (20 ms) per packet, so `seconds` × 50 RTP packets, plus an RTCP SR at the start and a BYE.
 */
export async function startSrtpSender(o: SenderOptions): Promise<FfmpegRun> {
  const info = await ffmpegInfo();
  if (info === null) throw new Error(ffmpegSkipReason());
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'info',
    '-re', '-f', 'lavfi', '-i', `sine=frequency=${o.frequency}:duration=${o.seconds}:sample_rate=8000:samples_per_frame=160`,
    '-c:a', 'pcm_mulaw', '-f', 'rtp', '-ssrc', String(o.ssrc >>> 0),
    ...(o.sendBye ?? true ? ['-rtpflags', 'send_bye'] : []),
    '-srtp_out_suite', o.suite, '-srtp_out_params', srtpInlineKey(o.masterKey, o.masterSalt),
    `srtp://${o.host}:${o.port}`,
  ];
  return new FfmpegRun(info.path, args, o.hardTimeoutMs ?? (o.seconds * 1000 + 15_000));
}

// ------------------------------------------------------------- receiver

export interface ReceiverSdpOptions {
  readonly suite: FfmpegSuite;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  /** The port ffmpeg listens on (RTP; RTCP on port + 1). */
  readonly port: number;
  /** The c= address. With -localaddr ffmpeg binds there only for sending; it is the far end. */
  readonly connectionAddress: string;
}

/** An SDP offer for one PCMU stream over RTP/SAVP with one a=crypto line (RFC 4568), CRLF line ends. */
export function receiverSdp(o: ReceiverSdpOptions): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${o.connectionAddress}`,
    's=srtpgate ffmpeg interop',
    `c=IN IP4 ${o.connectionAddress}`,
    't=0 0',
    `m=audio ${o.port} RTP/SAVP 0`,
    'a=rtpmap:0 PCMU/8000',
    `a=crypto:1 ${o.suite} inline:${srtpInlineKey(o.masterKey, o.masterSalt)}`,
    'a=recvonly',
    '',
  ].join('\r\n');
}

export interface ReceiverOptions {
  readonly sdpPath: string;
  /** Address the receiving sockets bind to. */
  readonly localAddress: string;
  /** Seconds without any packet after which ffmpeg gives up (sdp demuxer's -listen_timeout). */
  readonly listenTimeoutS: number;
  readonly hardTimeoutMs: number;
}

/** stderr lines ffmpeg's SRTP writes when a packet fails authentication (libavformat/srtp.c). */
export const FFMPEG_HMAC_MISMATCH = /HMAC mismatch/;

/**
 * ffmpeg receiving what the SDP describes and decoding it to raw signed 16-bit little-endian
 * mono 8 kHz PCM on stdout. -sdp_flags rtcp_to_source sends its RTCP receiver reports back to
 * where the SRTCP came from (the relay) instead of to the c= address.
 */
export async function startSrtpReceiver(o: ReceiverOptions): Promise<FfmpegRun> {
  const info = await ffmpegInfo();
  if (info === null) throw new Error(ffmpegSkipReason());
  const args = [
    // `repeat`: print every repeated line instead of "Last message repeated N times", so each
    // rejected packet is counted.
    '-hide_banner', '-nostdin', '-loglevel', 'repeat+info',
    '-protocol_whitelist', 'file,udp,rtp,srtp',
    '-listen_timeout', String(o.listenTimeoutS),
    '-localaddr', o.localAddress,
    '-sdp_flags', 'rtcp_to_source',
    '-i', o.sdpPath,
    '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '1', '-ar', '8000', 'pipe:1',
  ];
  return new FfmpegRun(info.path, args, o.hardTimeoutMs, [FFMPEG_HMAC_MISMATCH]);
}

// ------------------------------------------------------------- UDP ports

/** True when some socket is bound to address:port over UDP/IPv4 (Linux /proc/net/udp). */
function udpBound(address: string, port: number): boolean | null {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return null;
  }
  // local_address is hex "AABBCCDD:PPPP" with the IPv4 address in host (little-endian) order.
  const ip = address.split('.').map(Number).reverse().map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  const want = `${ip}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  const any = `00000000:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  return table.split('\n').some((line) => {
    const local = line.trim().split(/\s+/)[1];
    return local === want || local === any;
  });
}

/** Waits until both ports are bound (ffmpeg is listening). Without /proc, waits `fallbackMs`. */
export async function waitUdpBound(address: string, ports: readonly number[], timeoutMs: number, fallbackMs = 1500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = ports.map((p) => udpBound(address, p));
    if (states.some((s) => s === null)) {
      await new Promise((r) => setTimeout(r, fallbackMs));
      return true;
    }
    if (states.every((s) => s === true)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function canBind(address: string, port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => resolve()); });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => { try { s.close(() => resolve()); } catch { resolve(); } });
  }
}

/** An even port P in [min, max) with P and P + 1 free on `address` right now (ffmpeg needs the pair). */
export async function freeUdpPortPair(address: string, min: number, max: number): Promise<number> {
  const pairs = Math.floor((max - min) / 2);
  const start = Math.floor(Math.random() * pairs);
  for (let i = 0; i < pairs; i++) {
    const p = min + (min & 1) + 2 * ((start + i) % pairs);
    if (await canBind(address, p) && await canBind(address, p + 1)) return p;
  }
  throw new Error(`no free UDP port pair on ${address} in ${min}..${max}`);
}
