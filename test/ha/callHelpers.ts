// Shared by the replication e2e tests: a timestamping UDP far end, SDES SDP for the offerer
// and answerer, the relay's crypto line read back from SDP, and one /metrics sample.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import type { DaemonProcess } from '../helpers/daemon.ts';

export const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;

/** A far end: a UDP socket that timestamps what arrives. */
export class Endpoint {
  readonly arrivals: { at: number; msg: Buffer }[] = [];
  private constructor(readonly socket: Socket, readonly port: number) {
    socket.on('message', (msg) => this.arrivals.push({ at: Date.now(), msg }));
  }
  static async open(): Promise<Endpoint> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new Endpoint(s, s.address().port);
  }
  send(data: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  close(): void { this.socket.close(); }
}

export function sdp(port: number, crypto: string, tag = 1): string {
  return `${['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/SAVP 0`,
    'a=rtpmap:0 PCMU/8000', 'a=sendrecv', 'a=rtcp-mux', `a=crypto:${tag} ${SUITE} inline:${crypto}`].join('\r\n')}\r\n`;
}

export function relayCrypto(s: string): { tag: number; key: Buffer; salt: Buffer } {
  const m = /a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)/.exec(s);
  assert.ok(m, `no ${SUITE} line in:\n${s}`);
  const raw = Buffer.from(m[2]!, 'base64');
  return { tag: Number(m[1]), key: raw.subarray(0, 16), salt: raw.subarray(16, 30) };
}
export const mPort = (s: string): number => Number(/^m=audio (\d+)/m.exec(s)![1]);
export const seqOf = (p: Uint8Array): number => (p[2]! << 8) | p[3]!;
export const ssrcOf = (p: Uint8Array): number => ((p[8]! << 24) | (p[9]! << 16) | (p[10]! << 8) | p[11]!) >>> 0;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One sample of `name` from the daemon's /metrics (NaN when absent). */
export async function metric(d: DaemonProcess, token: string, name: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${d.http!.port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}
