// An ng client for tests, written apart from srtpgate's codec (src/control/bencode.ts,
// ngRequest.ts) on purpose: if both sides shared one encoder, a bug in it would cancel out
// and the tests would pass against a server no SBE could talk to. It speaks what Kamailio's
// rtpengine module sends: `<cookie> <bencode dict>` (or JSON), one datagram, reply matched by
// cookie.
import dgram from 'node:dgram';

export type BVal = string | number | BVal[] | { [key: string]: BVal };

/** Minimal bencode encoder: dict keys sorted by their bytes, as the spec asks. */
export function bencode(v: BVal): Buffer {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error('bencode: integers only');
    return Buffer.from(`i${v}e`);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from(`${b.length}:`), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(bencode), Buffer.from('e')]);
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [bencode(k), bencode(v[k]!)]), Buffer.from('e')]);
}

/** Minimal recursive bencode decoder (strings as UTF-8); throws on anything malformed. */
export function bdecode(buf: Buffer): BVal {
  let i = 0;
  const value = (): BVal => {
    const c = buf[i];
    if (c === 0x69) { // i
      const end = buf.indexOf(0x65, i);
      if (end < 0) throw new Error('bdecode: unterminated integer');
      const n = Number(buf.toString('latin1', i + 1, end));
      if (!Number.isInteger(n)) throw new Error('bdecode: bad integer');
      i = end + 1;
      return n;
    }
    if (c === 0x6c) { // l
      i++;
      const out: BVal[] = [];
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('bdecode: unterminated list');
        out.push(value());
      }
      i++;
      return out;
    }
    if (c === 0x64) { // d
      i++;
      const out: { [key: string]: BVal } = {};
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('bdecode: unterminated dict');
        const k = value();
        if (typeof k !== 'string') throw new Error('bdecode: dict key must be a string');
        out[k] = value();
      }
      i++;
      return out;
    }
    if (c !== undefined && c >= 0x30 && c <= 0x39) {
      const colon = buf.indexOf(0x3a, i);
      if (colon < 0) throw new Error('bdecode: bad string length');
      const len = Number(buf.toString('latin1', i, colon));
      const start = colon + 1;
      if (!Number.isInteger(len) || start + len > buf.length) throw new Error('bdecode: string runs past the end');
      i = start + len;
      return buf.toString('utf8', start, start + len);
    }
    throw new Error(`bdecode: unexpected byte at ${i}`);
  };
  const v = value();
  if (i !== buf.length) throw new Error('bdecode: trailing data');
  return v;
}

export type ReplyDict = { [key: string]: BVal };

export interface NgReplyMessage {
  readonly cookie: string;
  /** The datagram exactly as received. */
  readonly raw: Buffer;
  readonly reply: ReplyDict;
  readonly format: 'bencode' | 'json';
}

/** Splits `<cookie> <dict>` and decodes the dict in whichever format it came in. */
export function parseReply(raw: Buffer): NgReplyMessage {
  const sp = raw.indexOf(0x20);
  if (sp <= 0) throw new Error('ng reply without a cookie');
  const cookie = raw.toString('latin1', 0, sp);
  const body = raw.subarray(sp + 1);
  const format = body[0] === 0x7b ? 'json' : 'bencode';
  const decoded: unknown = format === 'json' ? JSON.parse(body.toString('utf8')) : bdecode(body);
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new Error('ng reply is not a dict');
  return { cookie, raw, reply: decoded as ReplyDict, format };
}

let cookieSeq = 0;

/** One UDP socket acting as one Kamailio worker. */
export class NgClient {
  readonly socket: dgram.Socket;
  readonly #server: { address: string; port: number };
  readonly #received: Buffer[] = [];
  #waiters: (() => void)[] = [];

  private constructor(socket: dgram.Socket, server: { address: string; port: number }) {
    this.socket = socket;
    this.#server = server;
    socket.on('message', (msg) => {
      this.#received.push(msg);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(server: { address?: string; port: number }, bindAddress = '127.0.0.1'): Promise<NgClient> {
    const s = dgram.createSocket(bindAddress.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, bindAddress, () => resolve()); });
    return new NgClient(s, { address: server.address ?? '127.0.0.1', port: server.port });
  }

  get port(): number { return this.socket.address().port; }

  /** A fresh Kamailio-style cookie: `<server>_<pid>_<seq>`. */
  static cookie(): string {
    return `test_${process.pid}_${++cookieSeq}`;
  }

  /** Builds the datagram for `dict` without sending it (for retransmission tests). */
  static datagram(cookie: string, dict: { [key: string]: BVal }, format: 'bencode' | 'json' = 'bencode'): Buffer {
    const body = format === 'json' ? Buffer.from(JSON.stringify(dict)) : bencode(dict);
    return Buffer.concat([Buffer.from(`${cookie} `), body]);
  }

  sendRaw(datagram: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(datagram, this.#server.port, this.#server.address, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Waits for the next reply carrying `cookie`; rejects after `timeoutMs`. */
  async waitFor(cookie: string, timeoutMs = 3000): Promise<NgReplyMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const idx = this.#received.findIndex((m) => m.toString('latin1', 0, m.indexOf(0x20)) === cookie);
      if (idx >= 0) return parseReply(this.#received.splice(idx, 1)[0]!);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ng reply for cookie ${cookie} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** True when nothing arrives for `ms` (for "no reply" assertions). */
  async silentFor(ms: number): Promise<boolean> {
    const before = this.#received.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.#received.length === before;
  }

  /** Sends one request and waits for its reply. */
  async request(dict: { [key: string]: BVal }, options: { format?: 'bencode' | 'json'; cookie?: string; timeoutMs?: number } = {}): Promise<NgReplyMessage> {
    const cookie = options.cookie ?? NgClient.cookie();
    await this.sendRaw(NgClient.datagram(cookie, dict, options.format));
    return this.waitFor(cookie, options.timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
