// The ng control server: rtpengine's `<cookie> <dict>` protocol over UDP, as Kamailio's and
// OpenSIPS's rtpengine modules speak it (REFERENCE §3).
//
// One datagram, cheapest rejections first:
//   source not allowed          → dropped, no reply (answering would confirm we exist)
//   already answered            → the cached reply bytes, again (Kamailio retransmits)
//   still being answered        → the same reply once ready; the command runs once
//   over the command rate       → `error` (not cached, so a later retransmission is served)
//   too many commands in flight → `error` (likewise)
//   malformed / oversized       → `error` when a cookie could be read, else dropped
//   otherwise                   → dispatched to the controller (commands.ts)
//
// Replies are cached by (source address, digest of the whole datagram), not by cookie alone:
// - another host that guesses or reuses a cookie must never receive this host's offer reply
//   (it carries the relay's SRTP keys in its SDP);
// - a cookie reused for a *different* request (Kamailio restarted and its pid/sequence came
//   round again) is a new request, not a replay of an unrelated call's reply.
// The port is left out of the key: a retransmission is the same datagram from the same
// worker, and matching on address is what keeps the keys above per host.
import dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { RelayError } from '../errors.ts';
import { silentLogger, type Logger } from '../Logger.ts';
import { AddressFilter, isLoopbackAddress } from '../net/AddressFilter.ts';
import { ReplyCache } from './ReplyCache.ts';
import { TokenBucket } from './TokenBucket.ts';
import { dispatchNg, type AdmissionGate, type CallControl, type CommandErrorCode, type LoadLimit } from './commands.ts';
import {
  formatNgReply, MAX_COOKIE_LENGTH, NG_DEFAULTS, ngErrorReply, parseNgRequest, type NgCommand, type NgFormat, type NgReply, type NgResult,
} from './ngRequest.ts';

export interface ControlServerOptions {
  /** The call controller commands go to. Required. */
  control: CallControl;
  /** Address to bind. Default '127.0.0.1'. */
  address?: string;
  /**
   * Further addresses to listen on, same port (e.g. '::1' beside '127.0.0.1'): one socket
   * each, every reply sent from the socket its request came in on (Kamailio's connected
   * sockets drop replies from another address). The same rules apply to every address
   * (allowFrom, and an allow list for a non-loopback one). Default none.
   */
  alsoListen?: readonly string[];
  /** UDP port. Default 2223 (rtpengine's ng port in Kamailio examples); 0 picks a free one. */
  port?: number;
  /**
   * Source addresses answered, as CIDR blocks. Default []: on a loopback bind, every (local)
   * source; on any other bind an empty list is refused at start, since it would either answer
   * the whole network or nobody.
   */
  allowFrom?: readonly string[];
  /** Largest datagram accepted, cookie included. Default 65536. */
  maxDatagramBytes?: number;
  /** Commands per second over all sources; 0 = unlimited. Default 200. */
  commandsPerSecond?: number;
  /** Commands that may arrive at once above the rate. Default 2 × commandsPerSecond. */
  commandBurst?: number;
  /** Commands being executed at once (offers wait on socket binds). Default 256. */
  maxInFlight?: number;
  /** How long a reply is replayed to retransmissions, ms. Default 60_000 (rtpengine: 30–60 s). */
  replyCacheTtlMs?: number;
  /** Most replies cached. Default 10_000. */
  replyCacheMaxEntries?: number;
  /** Soft cap answered with `result: load limit`. Default none. */
  loadLimit?: LoadLimit;
  /** Admission of new calls (drain, per-SBE, CPU and load caps); the SBE is the source address. Default none. */
  admission?: AdmissionGate;
  /** Default: no logging. */
  logger?: Logger;
}

export const CONTROL_SERVER_DEFAULTS = Object.freeze({
  address: '127.0.0.1',
  port: 2223,
  maxDatagramBytes: NG_DEFAULTS.maxDatagramBytes,
  commandsPerSecond: 200,
  maxInFlight: 256,
  replyCacheTtlMs: 60_000,
  replyCacheMaxEntries: 10_000,
});

/** Why a datagram got no command run. */
export type NgDropReason = 'source' | 'no-cookie' | 'rate-limited' | 'busy' | 'closed';

/** One command answered (or refused with an error reply after parsing). */
export interface NgCommandEvent {
  /** 'invalid' when the request could not be parsed. */
  readonly command: NgCommand | 'invalid';
  readonly result: NgResult;
  readonly code?: CommandErrorCode;
  readonly durationMs: number;
}

export interface ControlServerEvents {
  command: [NgCommandEvent];
  drop: [{ reason: NgDropReason }];
  retransmit: [];
}

const RATE_LIMITED = new RelayError('E_RATE_LIMITED', 'control command rate limit exceeded');
const BUSY = new RelayError('E_RATE_LIMITED', 'too many control commands in progress');

interface Pending {
  readonly reply: Promise<Buffer | null>;
}

const PING_BENCODE = Buffer.from('d7:command4:pinge');
const PING_JSON = /^\{\s*"command"\s*:\s*"ping"\s*\}\s*$/;

/** True for `<cookie> ` + a bare ping dict, as Kamailio's module sends it (bencode or JSON). */
function isPing(msg: Buffer): boolean {
  const space = msg.indexOf(0x20);
  if (space <= 0 || space > MAX_COOKIE_LENGTH) return false;
  const body = msg.subarray(space + 1);
  if (body.equals(PING_BENCODE)) return true;
  return body.length <= 64 && body[0] === 0x7b && PING_JSON.test(body.toString('latin1'));
}

/** Reads `<cookie> ` and the body format without parsing: enough for a refusal reply. */
function peekCookie(msg: Buffer): { cookie: string; format: NgFormat } | null {
  const limit = Math.min(msg.length, MAX_COOKIE_LENGTH + 1);
  for (let i = 0; i < limit; i++) {
    const c = msg[i]!;
    if (c === 0x20) {
      if (i === 0) return null;
      return { cookie: msg.toString('latin1', 0, i), format: msg[i + 1] === 0x7b ? 'json' : 'bencode' };
    }
    if (c < 0x21 || c > 0x7e) return null;
  }
  return null;
}

export class ControlServer {
  /** Monitoring events (metrics subscribe here); never needed to operate the server. */
  readonly observer = new EventEmitter<ControlServerEvents>();
  /** One socket per listen address, the primary (`address`) first. */
  readonly #sockets: readonly dgram.Socket[];
  readonly #control: CallControl;
  readonly #filter: AddressFilter | null;
  readonly #bucket: TokenBucket;
  readonly #cache: ReplyCache<Buffer>;
  readonly #pending = new Map<string, Pending>();
  readonly #maxDatagramBytes: number;
  readonly #maxInFlight: number;
  readonly #loadLimit: LoadLimit | undefined;
  readonly #admission: AdmissionGate | undefined;
  readonly #log: Logger;
  #accepting = true;
  #socketClosed = false;
  /** Sends handed to the socket and not yet done: close() waits for them (send is async). */
  #sending = 0;
  readonly #sendWaiters: (() => void)[] = [];
  #closed: Promise<void> | null = null;

  private constructor(sockets: readonly dgram.Socket[], options: ControlServerOptions, filter: AddressFilter | null) {
    this.#sockets = sockets;
    this.#control = options.control;
    this.#filter = filter;
    const rate = options.commandsPerSecond ?? CONTROL_SERVER_DEFAULTS.commandsPerSecond;
    this.#bucket = new TokenBucket({ rate, burst: options.commandBurst ?? Math.max(1, 2 * rate) });
    this.#cache = new ReplyCache<Buffer>({
      ttlMs: options.replyCacheTtlMs ?? CONTROL_SERVER_DEFAULTS.replyCacheTtlMs,
      maxEntries: options.replyCacheMaxEntries ?? CONTROL_SERVER_DEFAULTS.replyCacheMaxEntries,
    });
    this.#maxDatagramBytes = options.maxDatagramBytes ?? CONTROL_SERVER_DEFAULTS.maxDatagramBytes;
    this.#maxInFlight = options.maxInFlight ?? CONTROL_SERVER_DEFAULTS.maxInFlight;
    this.#loadLimit = options.loadLimit;
    this.#admission = options.admission;
    this.#log = options.logger ?? silentLogger;
    for (const socket of sockets) {
      socket.on('message', (msg, rinfo) => this.#onMessage(socket, msg, rinfo));
      // A socket error after bind (ICMP unreachable reported on some systems) is not fatal for a
      // server that answers many peers: log it and keep serving.
      socket.on('error', (err) => this.#log.warn('ng socket error', { err }));
    }
  }

  /** Binds the socket and starts answering. Rejects on a bad option or a failed bind. */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const addresses = [options.address ?? CONTROL_SERVER_DEFAULTS.address, ...(options.alsoListen ?? [])];
    const port = options.port ?? CONTROL_SERVER_DEFAULTS.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RelayError('E_BAD_REQUEST', 'ng port out of range', { port });
    const allow = options.allowFrom ?? [];
    for (const address of addresses) {
      if (isIP(address) === 0) throw new RelayError('E_BAD_REQUEST', 'ng address is not an IP address', { address: address.slice(0, 64) });
      if (allow.length === 0 && !isLoopbackAddress(address)) {
        throw new RelayError('E_BAD_REQUEST', 'ng bound to a non-loopback address needs an allow list of SBE addresses', { address });
      }
    }
    const filter = allow.length > 0 ? new AddressFilter(allow) : null;
    const sockets: dgram.Socket[] = [];
    try {
      for (const address of addresses) {
        // With port 0 the first bind picks the port; the others take the same one.
        sockets.push(await bindUdp(address, sockets.length === 0 ? port : sockets[0]!.address().port));
      }
    } catch (e) {
      for (const s of sockets) s.close();
      throw e;
    }
    return new ControlServer(sockets, options, filter);
  }

  /** The primary bound address and port. */
  get address(): { address: string; port: number } {
    return this.addresses[0]!;
  }

  /** Every bound address (the primary first), all on one port. */
  get addresses(): { address: string; port: number }[] {
    return this.#sockets.map((s) => { const a = s.address(); return { address: a.address, port: a.port }; });
  }

  /** Commands currently executing. */
  get inFlight(): number { return this.#pending.size; }

  /**
   * Stops accepting datagrams, lets commands in flight finish and send their replies (for at
   * most `drainMs`), then closes the socket. Idempotent; later calls return the same promise.
   */
  close(drainMs = 2000): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#accepting = false;
    this.#closed = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, drainMs); });
      const pending = [...this.#pending.values()].map((p) => p.reply);
      if (pending.length > 0) await Promise.race([Promise.allSettled(pending), deadline]);
      this.#socketClosed = true;
      // Replies handed to the socket go out before it closes (send resolves the address first).
      if (this.#sending > 0) await Promise.race([new Promise<void>((resolve) => this.#sendWaiters.push(resolve)), deadline]);
      clearTimeout(timer);
      this.#cache.close();
      await Promise.all(this.#sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    })();
    return this.#closed;
  }

  #send(socket: dgram.Socket, reply: Buffer, port: number, address: string): void {
    // A reply finishing after close() gave up draining has nowhere to go.
    if (this.#socketClosed) return;
    this.#sending++;
    socket.send(reply, port, address, (err) => {
      // EMSGSIZE (an SDP too large for one datagram) or a closed socket: nothing to retry.
      if (err) this.#log.warn('ng reply not sent', { err, port, address, bytes: reply.length });
      if (--this.#sending === 0) for (const w of this.#sendWaiters.splice(0)) w();
    });
  }

  #drop(reason: NgDropReason, address: string): void {
    this.observer.emit('drop', { reason });
    this.#log.debug('ng datagram dropped', { reason, source: address });
  }

  #refuse(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, reason: NgDropReason, error: RelayError): void {
    this.#drop(reason, rinfo.address);
    const peek = peekCookie(msg);
    if (peek === null) return;
    const reply: NgReply = { result: 'error', 'error-reason': error.message };
    this.#send(socket, formatNgReply(peek.cookie, reply, peek.format), rinfo.port, rinfo.address);
  }

  #onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!this.#accepting) return;
    if (this.#filter !== null && !this.#filter.allows(rinfo.address)) {
      this.#drop('source', rinfo.address);
      return;
    }
    const key = `${rinfo.address} ${createHash('sha256').update(msg).digest('base64')}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.observer.emit('retransmit');
      this.#send(socket, cached, rinfo.port, rinfo.address);
      return;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      // Kamailio retransmitted while the first copy is still running (an offer binding ports):
      // answer this copy too, with the same bytes, without running the command again.
      this.observer.emit('retransmit');
      void pending.reply.then((r) => { if (r !== null) this.#send(socket, r, rinfo.port, rinfo.address); });
      return;
    }
    // Kamailio disables a relay whose ping gets anything but pong: pings skip the command rate
    // and the in-flight cap (answering one costs no more than refusing it would).
    const ping = isPing(msg);
    if (!ping && !this.#bucket.take()) {
      this.#refuse(socket, msg, rinfo, 'rate-limited', RATE_LIMITED);
      return;
    }
    if (!ping && this.#pending.size >= this.#maxInFlight) {
      this.#refuse(socket, msg, rinfo, 'busy', BUSY);
      return;
    }
    const reply = this.#handle(msg, rinfo);
    this.#pending.set(key, { reply });
    void reply.then((r) => {
      this.#pending.delete(key);
      if (r === null) return;
      this.#cache.set(key, r);
      this.#send(socket, r, rinfo.port, rinfo.address);
    });
  }

  /** Parses and runs one request; resolves to the reply bytes, or null when none can be sent. Never rejects. */
  async #handle(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<Buffer | null> {
    try {
      return await this.#run(msg, rinfo);
    } catch (e) {
      // Only a bug gets here (parse and dispatch turn bad input into replies): keep serving.
      this.#log.error('ng request crashed', { source: rinfo.address, err: e });
      const peek = peekCookie(msg);
      return peek === null ? null : this.#format(peek.cookie, { result: 'error', 'error-reason': 'internal error' }, peek.format);
    }
  }

  async #run(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<Buffer | null> {
    const started = performance.now();
    const parsed = parseNgRequest(msg, { maxDatagramBytes: this.#maxDatagramBytes });
    if (!parsed.ok) {
      if (parsed.cookie === null) {
        this.#drop('no-cookie', rinfo.address);
        return null;
      }
      this.#log.info('ng request refused', { source: rinfo.address, cookie: parsed.cookie, err: parsed.error });
      this.observer.emit('command', { command: 'invalid', result: 'error', code: parsed.error.code, durationMs: performance.now() - started });
      return this.#format(parsed.cookie, ngErrorReply(parsed.error), parsed.format);
    }
    const { cookie, request, format } = parsed;
    const r = await dispatchNg(this.#control, request, { loadLimit: this.#loadLimit, admission: this.#admission, source: rinfo.address });
    const durationMs = performance.now() - started;
    this.observer.emit('command', { command: request.command, result: r.reply.result, code: r.error?.code, durationMs });
    const context = { source: rinfo.address, cookie, command: request.command, callId: request.callId, result: r.reply.result, durationMs: Math.round(durationMs) };
    if (r.error === undefined) this.#log.debug('ng command', context);
    else if (r.error.code === 'E_INTERNAL') this.#log.error('ng command failed', { ...context, code: r.error.code, error: r.error.message });
    else this.#log.info('ng command refused', { ...context, code: r.error.code, error: r.error.message });
    return this.#format(cookie, r.reply, format);
  }

  #format(cookie: string, reply: NgReply, format: NgFormat): Buffer {
    try {
      return formatNgReply(cookie, reply, format);
    } catch (e) {
      // A reply value the format cannot carry is a bug in srtpgate; the SBE still gets an answer.
      this.#log.error('ng reply could not be encoded', { cookie, err: e });
      return formatNgReply(cookie, { result: 'error', 'error-reason': 'internal error' }, format);
    }
  }
}

/** A UDP socket bound to address:port, of the address's family. */
async function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => { socket.off('error', reject); resolve(); });
  }).catch((e: unknown) => { socket.close(); throw e; });
  return socket;
}
