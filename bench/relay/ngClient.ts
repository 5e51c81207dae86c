// A small ng-protocol client (rtpengine's control protocol, REFERENCE §3) for the bench:
// `<cookie> <bencoded dict>` over UDP, the reply echoes the cookie. Requests are
// retransmitted with the same cookie like Kamailio does, so a server with a reply cache
// answers a lost datagram once.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { bdecode, bencode, type BValue } from './bencode.ts';

export type NgDict = { [key: string]: BValue };

export interface NgClientOptions {
  /** Server address. */
  host: string;
  port: number;
  /** Wait before retransmitting, ms. Default 500. */
  retransmitMs?: number;
  /** Attempts in all before giving up. Default 5. */
  attempts?: number;
}

/** An ng reply with `result: error` (or any result the caller did not expect). */
export class NgError extends Error {
  readonly reply: NgDict;
  constructor(command: string, reply: NgDict) {
    const reason = typeof reply['error-reason'] === 'string' ? reply['error-reason'] : String(reply.result);
    super(`ng ${command}: ${reason}`);
    this.name = 'NgError';
    this.reply = reply;
  }
}

interface Pending {
  readonly datagram: Buffer;
  readonly command: string;
  resolve(reply: NgDict): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
  attemptsLeft: number;
}

export class NgClient {
  readonly #socket: dgram.Socket;
  readonly #options: Required<NgClientOptions>;
  readonly #pending = new Map<string, Pending>();
  // A random prefix keeps cookies of two bench runs apart in a server's reply cache.
  readonly #prefix = `bench_${randomBytes(3).toString('hex')}_`;
  #seq = 0;
  #closed = false;

  private constructor(socket: dgram.Socket, options: Required<NgClientOptions>) {
    this.#socket = socket;
    this.#options = options;
    socket.on('message', (msg) => this.#onMessage(msg));
    socket.on('error', () => { /* ICMP port unreachable while the server starts: retransmission covers it */ });
  }

  static async connect(options: NgClientOptions): Promise<NgClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new NgClient(socket, { retransmitMs: 500, attempts: 5, ...options });
  }

  /** Sends one command and resolves with the reply dict; rejects on timeout or `result: error`. */
  request(command: string, body: NgDict = {}): Promise<NgDict> {
    if (this.#closed) return Promise.reject(new Error('ng client closed'));
    const cookie = `${this.#prefix}${++this.#seq}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `), bencode({ ...body, command })]);
    return new Promise<NgDict>((resolve, reject) => {
      const p: Pending = { datagram, command, resolve, reject, timer: null, attemptsLeft: this.#options.attempts };
      this.#pending.set(cookie, p);
      this.#send(cookie, p);
    }).then((reply) => {
      if (reply.result === 'error' || reply.result === 'load limit') throw new NgError(command, reply);
      return reply;
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [cookie, p] of this.#pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new Error(`ng ${p.command}: client closed`));
      this.#pending.delete(cookie);
    }
    this.#socket.close();
  }

  #send(cookie: string, p: Pending): void {
    if (p.attemptsLeft-- <= 0) {
      this.#pending.delete(cookie);
      p.reject(new Error(`ng ${p.command}: no reply from ${this.#options.host}:${this.#options.port} after ${this.#options.attempts} attempts`));
      return;
    }
    this.#socket.send(p.datagram, this.#options.port, this.#options.host);
    p.timer = setTimeout(() => this.#send(cookie, p), this.#options.retransmitMs);
  }

  #onMessage(msg: Buffer): void {
    const space = msg.indexOf(0x20);
    if (space < 0) return;
    const cookie = msg.toString('latin1', 0, space);
    const p = this.#pending.get(cookie);
    if (!p) return; // a reply to a retransmission we already have
    this.#pending.delete(cookie);
    if (p.timer) clearTimeout(p.timer);
    try {
      const body = bdecode(msg.subarray(space + 1));
      if (typeof body !== 'object' || Array.isArray(body)) throw new Error('reply is not a dictionary');
      p.resolve(body);
    } catch (e) {
      p.reject(new Error(`ng ${p.command}: bad reply (${e instanceof Error ? e.message : String(e)})`));
    }
  }
}
