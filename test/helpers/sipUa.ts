// A minimal SIP user agent pair for e2e tests through a real proxy (Kamailio): a UAC that
// places calls (INVITE with an SRTP offer → 2xx → ACK; BYE) and a UAS that answers every
// INVITE with an SRTP answer built from the offer it receives. UDP on loopback, one socket
// each, no authentication, no forking, no re-INVITE: just what a media relay test needs.
//
// Enough of RFC 3261 to go through a record-routing proxy: Via with rport, the route set from
// Record-Route (one proxy, so no reversal subtleties), the 2xx ACK and the BYE sent to the
// proxy with a Route header and the remote Contact as Request-URI.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

export interface SipMessage {
  /** 'INVITE', 'ACK', ... for requests; null for responses. */
  readonly method: string | null;
  readonly uri: string;
  /** Status code of a response; 0 for requests. */
  readonly status: number;
  /** Header names lower-cased, in order, repeats kept (Via, Record-Route). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

const COMPACT: Readonly<Record<string, string>> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

export function parseSip(buf: Buffer): SipMessage {
  const text = buf.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 4);
  const [first = '', ...lines] = head.split('\r\n');
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    headers.push([COMPACT[raw] ?? raw, line.slice(colon + 1).trim()]);
  }
  const resp = /^SIP\/2\.0 (\d{3})/.exec(first);
  if (resp) return { method: null, uri: '', status: Number(resp[1]), headers, body };
  const [method = '', uri = ''] = first.split(' ');
  return { method, uri, status: 0, headers, body };
}

export function header(m: SipMessage, name: string): string | undefined {
  return m.headers.find(([n]) => n === name)?.[1];
}

export function headersOf(m: SipMessage, name: string): string[] {
  return m.headers.filter(([n]) => n === name).map(([, v]) => v);
}

function cseqOf(m: SipMessage): { n: number; method: string } {
  const [n = '0', method = ''] = (header(m, 'cseq') ?? '').split(/\s+/);
  return { n: Number(n), method };
}

function tagOf(value: string): string | undefined {
  return /;tag=([^;>\s]+)/.exec(value)?.[1];
}

function build(first: string, headers: readonly (readonly [string, string])[], body = ''): Buffer {
  const lines = [first, ...headers.map(([n, v]) => `${n}: ${v}`)];
  if (body !== '') lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', '');
  return Buffer.from(lines.join('\r\n') + body);
}

const token = (): string => randomBytes(6).toString('hex');

/** One UDP socket that hands every datagram to a handler. */
class SipSocket {
  readonly socket: dgram.Socket;
  constructor(onMessage: (m: SipMessage, rinfo: dgram.RemoteInfo) => void) {
    this.socket = dgram.createSocket('udp4');
    this.socket.on('message', (buf, rinfo) => {
      let m: SipMessage;
      try {
        m = parseSip(buf);
      } catch {
        return;
      }
      onMessage(m, rinfo);
    });
  }
  async bind(address: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, address, () => { this.socket.off('error', reject); resolve(); });
    });
  }
  get port(): number { return this.socket.address().port; }
  get address(): string { return this.socket.address().address; }
  send(buf: Buffer, port: number, address: string): void {
    this.socket.send(buf, port, address);
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** What the UAS saw of one call. */
export interface UasCall {
  readonly callId: string;
  /** The SDP offer as it reached the UAS (rewritten by the relay). */
  readonly offer: string;
  /** performance.now() when the INVITE arrived. */
  readonly invitedAt: number;
  acked: boolean;
  byeAt: number | null;
}

/**
 * Answers every INVITE with 200 OK and an SDP answer from `answerSdp(offer)`, every BYE with
 * 200 OK; a retransmitted INVITE gets the same 200 again.
 */
export class SipUas {
  readonly calls = new Map<string, UasCall>();
  readonly #sock: SipSocket;
  readonly #answerSdp: (offer: string) => string;
  readonly #sent = new Map<string, Buffer>();

  private constructor(answerSdp: (offer: string) => string) {
    this.#answerSdp = answerSdp;
    this.#sock = new SipSocket((m, r) => this.#onMessage(m, r));
  }

  static async listen(answerSdp: (offer: string) => string, address = '127.0.0.1'): Promise<SipUas> {
    const uas = new SipUas(answerSdp);
    await uas.#sock.bind(address);
    return uas;
  }

  get uri(): string { return `sip:uas@${this.#sock.address}:${this.#sock.port}`; }

  #reply(req: SipMessage, rinfo: dgram.RemoteInfo, status: string, toTag: string, extra: [string, string][] = [], body = ''): Buffer {
    const headers: [string, string][] = [
      ...headersOf(req, 'via').map((v): [string, string] => ['Via', v]),
      ...headersOf(req, 'record-route').map((v): [string, string] => ['Record-Route', v]),
      ['From', header(req, 'from') ?? ''],
      ['To', tagOf(header(req, 'to') ?? '') ? header(req, 'to')! : `${header(req, 'to') ?? ''};tag=${toTag}`],
      ['Call-ID', header(req, 'call-id') ?? ''],
      ['CSeq', header(req, 'cseq') ?? ''],
      ...extra,
    ];
    const buf = build(`SIP/2.0 ${status}`, headers, body);
    this.#sock.send(buf, rinfo.port, rinfo.address);
    return buf;
  }

  #onMessage(m: SipMessage, rinfo: dgram.RemoteInfo): void {
    if (m.method === null) return;
    const callId = header(m, 'call-id') ?? '';
    const key = `${callId} ${header(m, 'cseq') ?? ''}`;
    if (m.method === 'INVITE') {
      const again = this.#sent.get(key);
      if (again) { this.#sock.send(again, rinfo.port, rinfo.address); return; }
      this.calls.set(callId, { callId, offer: m.body, invitedAt: performance.now(), acked: false, byeAt: null });
      const contact: [string, string] = ['Contact', `<${this.uri}>`];
      this.#sent.set(key, this.#reply(m, rinfo, '200 OK', token(), [contact], this.#answerSdp(m.body)));
    } else if (m.method === 'ACK') {
      const c = this.calls.get(callId);
      if (c) c.acked = true;
    } else if (m.method === 'BYE') {
      const c = this.calls.get(callId);
      if (c) c.byeAt = performance.now();
      this.#reply(m, rinfo, '200 OK', token());
    } else {
      this.#reply(m, rinfo, '405 Method Not Allowed', token());
    }
  }

  close(): Promise<void> { return this.#sock.close(); }
}

/** A call placed by the UAC. */
export interface UacCall {
  readonly callId: string;
  /** Final status of the INVITE (0 when none arrived in time). */
  readonly status: number;
  /** The SDP answer the UAC received (rewritten by the relay); '' when the call failed. */
  readonly answer: string;
  /** INVITE sent → final response received, ms. */
  readonly setupMs: number;
  readonly fromTag: string;
  readonly toTag: string;
  readonly remoteContact: string;
  readonly route: readonly string[];
  cseq: number;
}

/** Places calls through a proxy. One outstanding transaction per Call-ID. */
export class SipUac {
  readonly #sock: SipSocket;
  readonly #proxy: { address: string; port: number };
  readonly #waiting = new Map<string, (m: SipMessage) => void>();

  private constructor(proxy: { address: string; port: number }) {
    this.#proxy = proxy;
    this.#sock = new SipSocket((m) => this.#onMessage(m));
  }

  static async open(proxy: { address: string; port: number }, address = '127.0.0.1'): Promise<SipUac> {
    const uac = new SipUac(proxy);
    await uac.#sock.bind(address);
    return uac;
  }

  #onMessage(m: SipMessage): void {
    if (m.method !== null || m.status < 200) return; // requests to the UAC and provisionals: ignored
    const key = `${header(m, 'call-id') ?? ''} ${header(m, 'cseq') ?? ''}`;
    const w = this.#waiting.get(key);
    if (w) { this.#waiting.delete(key); w(m); }
  }

  #via(branch: string): [string, string] {
    return ['Via', `SIP/2.0/UDP ${this.#sock.address}:${this.#sock.port};branch=z9hG4bK${branch};rport`];
  }

  /** Sends a request and waits for its final response; retransmits on T1 doubling (RFC 3261 timer A/E). */
  async #transaction(callId: string, cseq: string, buf: Buffer, timeoutMs: number): Promise<SipMessage | null> {
    const key = `${callId} ${cseq}`;
    const got = new Promise<SipMessage>((resolve) => this.#waiting.set(key, resolve));
    const deadline = Date.now() + timeoutMs;
    let interval = 500;
    this.#sock.send(buf, this.#proxy.port, this.#proxy.address);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) { this.#waiting.delete(key); return null; }
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([got, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), Math.min(interval, left)); })]);
      clearTimeout(timer);
      if (r !== null) return r;
      this.#sock.send(buf, this.#proxy.port, this.#proxy.address);
      interval = Math.min(interval * 2, 4000);
    }
  }

  /** INVITE `target` with `sdp`; on 2xx the call is ACKed and returned up. */
  async invite(target: string, callId: string, sdp: string, timeoutMs = 10_000): Promise<UacCall> {
    const fromTag = token();
    const branch = token();
    const from = `<sip:uac@${this.#sock.address}>;tag=${fromTag}`;
    const to = `<${target}>`;
    const invite = build(`INVITE ${target} SIP/2.0`, [
      this.#via(branch), ['Max-Forwards', '70'], ['From', from], ['To', to], ['Call-ID', callId], ['CSeq', '1 INVITE'],
      ['Contact', `<sip:uac@${this.#sock.address}:${this.#sock.port}>`],
    ], sdp);
    const started = performance.now();
    const resp = await this.#transaction(callId, '1 INVITE', invite, timeoutMs);
    const setupMs = performance.now() - started;
    if (resp === null) return { callId, status: 0, answer: '', setupMs, fromTag, toTag: '', remoteContact: '', route: [], cseq: 1 };
    const toHeader = header(resp, 'to') ?? to;
    const toTag = tagOf(toHeader) ?? '';
    if (resp.status >= 300) {
      // Non-2xx: ACK hop by hop, same branch and Request-URI as the INVITE.
      this.#sock.send(build(`ACK ${target} SIP/2.0`, [
        this.#via(branch), ['Max-Forwards', '70'], ['From', from], ['To', toHeader], ['Call-ID', callId], ['CSeq', '1 ACK'],
      ]), this.#proxy.port, this.#proxy.address);
      return { callId, status: resp.status, answer: '', setupMs, fromTag, toTag, remoteContact: '', route: [], cseq: 1 };
    }
    const contact = /<([^>]+)>/.exec(header(resp, 'contact') ?? '')?.[1] ?? target;
    const call: UacCall = {
      callId, status: resp.status, answer: resp.body, setupMs, fromTag, toTag, remoteContact: contact,
      route: headersOf(resp, 'record-route').flatMap((v) => v.split(',').map((x) => x.trim())).reverse(), cseq: 1,
    };
    this.#sock.send(this.#inDialog(call, 'ACK', 1), this.#proxy.port, this.#proxy.address);
    return call;
  }

  #inDialog(call: UacCall, method: string, cseq: number): Buffer {
    return build(`${method} ${call.remoteContact} SIP/2.0`, [
      this.#via(token()), ['Max-Forwards', '70'],
      ...call.route.map((r): [string, string] => ['Route', r]),
      ['From', `<sip:uac@${this.#sock.address}>;tag=${call.fromTag}`],
      ['To', `<sip:uas@${this.#proxy.address}>;tag=${call.toTag}`],
      ['Call-ID', call.callId], ['CSeq', `${cseq} ${method}`],
    ]);
  }

  /** Ends an established call; resolves to the BYE's final status (0 on timeout). */
  async bye(call: UacCall, timeoutMs = 10_000): Promise<number> {
    call.cseq++;
    const r = await this.#transaction(call.callId, `${call.cseq} BYE`, this.#inDialog(call, 'BYE', call.cseq), timeoutMs);
    return r?.status ?? 0;
  }

  close(): Promise<void> { return this.#sock.close(); }
}
