// Test plumbing for DTLS endpoints: an in-memory lossy link between two endpoints, a
// man-in-the-middle that rewrites plaintext handshake messages, and a seeded RNG.
import { DtlsEndpoint, type DtlsEndpointOptions } from '../../../src/keying/dtls/DtlsEndpoint.ts';
import { DtlsCertificate } from '../../../src/keying/dtls/certificate.ts';
import type { DtlsError } from '../../../src/keying/dtls/DtlsError.ts';
import type { DtlsSrtpKeys } from '../../../src/keying/dtls/exportKeys.ts';
import { encodeHandshakeFragment, parseHandshakeFragments } from '../../../src/keying/dtls/handshake.ts';
import { ContentType, encodeRecord, parseRecords } from '../../../src/keying/dtls/records.ts';

export { Rng } from '../../helpers/rng.ts';

export type Direction = 'c2s' | 's2c';

/**
 * What the network does to one datagram: return null to drop it, or the datagrams to deliver
 * (the same one, a rewritten one, duplicates).
 */
export type LinkFilter = (dir: Direction, datagram: Uint8Array, index: number) => Uint8Array[] | null;

export interface PairOptions {
  client?: Partial<DtlsEndpointOptions>;
  server?: Partial<DtlsEndpointOptions>;
  clientCert?: DtlsCertificate;
  serverCert?: DtlsCertificate;
  filter?: LinkFilter;
  /** Give each side the other's real fingerprint. Default true. */
  fingerprints?: boolean;
  /** Extra delivery delay per datagram in ms (reordering). Default none: setImmediate. */
  delay?: () => number;
}

export interface Outcome {
  keys: DtlsSrtpKeys | null;
  error: DtlsError | null;
}

export interface Pair {
  client: DtlsEndpoint;
  server: DtlsEndpoint;
  clientCert: DtlsCertificate;
  serverCert: DtlsCertificate;
  /** Resolves when both endpoints connected, failed or closed (or after `ms`). */
  settled(ms?: number): Promise<{ client: Outcome; server: Outcome }>;
  close(): void;
}

/** Short timers so loss tests run in well under a second per retransmission round. */
export const FAST = { initialRetransmitMs: 40, maxRetransmitMs: 400, handshakeTimeoutMs: 15_000 } as const;

export function makePair(opts: PairOptions = {}): Pair {
  const clientCert = opts.clientCert ?? DtlsCertificate.generate();
  const serverCert = opts.serverCert ?? DtlsCertificate.generate();
  const fp = opts.fingerprints !== false;
  const filter = opts.filter ?? ((_d, g) => [g]);
  let index = 0;
  let open = true;
  const deliver = (dir: Direction, d: Uint8Array): void => {
    const out = filter(dir, Uint8Array.from(d), index++);
    if (out === null) return;
    for (const g of out) {
      const run = (): void => {
        if (!open) return;
        if (dir === 'c2s') server.handleDatagram(g, 'client:1');
        else client.handleDatagram(g, 'server:2');
      };
      const ms = opts.delay?.() ?? 0;
      if (ms > 0) setTimeout(run, ms);
      else setImmediate(run);
    }
  };
  const client: DtlsEndpoint = new DtlsEndpoint({
    role: 'client', certificate: clientCert, send: (d) => deliver('c2s', d), ...FAST,
    ...(fp ? { remoteFingerprints: [serverCert.fingerprint()] } : {}), ...opts.client,
  });
  const server: DtlsEndpoint = new DtlsEndpoint({
    role: 'server', certificate: serverCert, send: (d) => deliver('s2c', d), ...FAST,
    ...(fp ? { remoteFingerprints: [clientCert.fingerprint()] } : {}), ...opts.server,
  });
  const outcomes = new Map<DtlsEndpoint, Outcome>([[client, { keys: null, error: null }], [server, { keys: null, error: null }]]);
  for (const e of [client, server]) {
    e.on('connected', (k) => { (outcomes.get(e) as Outcome).keys = k; });
    e.on('error', (err) => { (outcomes.get(e) as Outcome).error = err; });
  }
  const done = (e: DtlsEndpoint): boolean => e.state === 'connected' || e.state === 'failed' || e.state === 'closed';
  return {
    client, server, clientCert, serverCert,
    async settled(ms = 10_000) {
      const deadline = Date.now() + ms;
      // Let a failure on one side reach the other (its alert) before looking.
      while (Date.now() < deadline && !(done(client) && done(server))) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
      return { client: outcomes.get(client) as Outcome, server: outcomes.get(server) as Outcome };
    },
    close() {
      open = false;
      client.close();
      server.close();
    },
  };
}

/**
 * Rewrites every unfragmented plaintext handshake message of type `msgType` in a datagram with
 * `fn(body)`, keeping record and message sequence numbers. What an on-path attacker can do to
 * epoch-0 traffic.
 */
export function rewriteHandshake(datagram: Uint8Array, msgType: number, fn: (body: Uint8Array) => Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  for (const rec of parseRecords(datagram)) {
    let fragment = rec.fragment;
    if (rec.type === ContentType.handshake && rec.epoch === 0) {
      const frags = parseHandshakeFragments(rec.fragment);
      if (frags !== null) {
        fragment = Buffer.concat(frags.map((f) => {
          if (f.msgType !== msgType || f.fragmentOffset !== 0 || f.body.length !== f.length) {
            return encodeHandshakeFragment(f.msgType, f.length, f.messageSeq, f.fragmentOffset, f.body);
          }
          const body = fn(f.body);
          return encodeHandshakeFragment(f.msgType, body.length, f.messageSeq, 0, body);
        }));
      }
    }
    out.push(encodeRecord(rec.type, rec.version, rec.epoch, rec.seq, fragment));
  }
  return Buffer.concat(out);
}

/** True when the datagram carries a plaintext handshake fragment of `msgType`. */
export function carries(datagram: Uint8Array, msgType: number): boolean {
  return parseRecords(datagram).some((r) => r.type === ContentType.handshake && r.epoch === 0
    && (parseHandshakeFragments(r.fragment) ?? []).some((f) => f.msgType === msgType));
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
