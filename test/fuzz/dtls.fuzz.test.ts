// Fuzzing the DTLS-SRTP stack (RFC 5764): every datagram on a media port whose first byte is
// 20..63 reaches DtlsEndpoint.handleDatagram, from anyone who can send to the port.
// Targets and invariants:
//   - the wire parsers (parseRecords, parseHandshakeFragments, every handshake message
//     decoder, HandshakeReassembler.add): framing functions never throw, decoders throw only
//     DtlsError, the reassembler stays within its buffer bound;
//   - a listening server endpoint fed mutated datagrams from a spoofed address: handleDatagram
//     never throws, the endpoint never fails or connects, and afterwards a genuine client
//     still completes a handshake with it (rejected input changed nothing that matters);
//   - a connecting client endpoint fed mutated server flights: handleDatagram never throws; if
//     it gives up, it fails with a DtlsError (then a fresh client takes its place).
// Seeds: test/fuzz/corpus/dtls (a recorded handshake, both directions) plus one recorded live.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecords, ContentType } from '../../src/keying/dtls/records.ts';
import { HandshakeReassembler, parseHandshakeFragments } from '../../src/keying/dtls/handshake.ts';
import * as messages from '../../src/keying/dtls/messages.ts';
import { DtlsEndpoint } from '../../src/keying/dtls/DtlsEndpoint.ts';
import { DtlsCertificate } from '../../src/keying/dtls/certificate.ts';
import { DtlsError } from '../../src/keying/dtls/DtlsError.ts';
import { errorOutcome, fuzz, iterations, loadCorpus, report } from './harness.ts';
import { FAST, makePair } from '../unit/dtls/helpers.ts';

const ITER = iterations(15_000);

const DECODERS: [string, (b: Uint8Array) => unknown][] = [
  ['ClientHello', messages.decodeClientHello], ['ServerHello', messages.decodeServerHello],
  ['HelloVerifyRequest', messages.decodeHelloVerifyRequest], ['Certificate', messages.decodeCertificate],
  ['ServerKeyExchange', messages.decodeServerKeyExchange], ['CertificateRequest', messages.decodeCertificateRequest],
  ['ClientKeyExchange', messages.decodeClientKeyExchange], ['DigitallySigned', (b) => messages.decodeDigitallySigned(b, 'fuzz')],
  ['Finished', messages.decodeFinished], ['UseSrtp', messages.decodeUseSrtp], ['PointFormats', messages.decodePointFormats],
  ['U16List', (b) => messages.decodeU16ListExtension(b, 'fuzz')],
];

/** Which decoder a handshake message type reaches in the endpoint (RFC 5246 §7.4). */
const DECODER_OF: Readonly<Record<number, string>> = {
  1: 'ClientHello', 2: 'ServerHello', 3: 'HelloVerifyRequest', 11: 'Certificate', 12: 'ServerKeyExchange',
  13: 'CertificateRequest', 15: 'DigitallySigned', 16: 'ClientKeyExchange', 20: 'Finished',
};

// DTLS 1.2 record headers and handshake types the mutator can splice in.
const TOKENS = ['\x16\xfe\xfd', '\x16\xfe\xff', '\x14\xfe\xfd', '\x15\xfe\xfd', '\x17\xfe\xfd', '\x00\x01', '\x00\x00', '\xff\xff',
  '\x01', '\x02', '\x03', '\x0b', '\x0c', '\x0d', '\x0e', '\x0f', '\x10', '\x14', '\x00\x0e', '\x00\x0b', '\x00\x0a', '\xc0\x2b'];

interface Recorded { c2s: Uint8Array[]; s2c: Uint8Array[] }

async function recordHandshake(clientCert: DtlsCertificate, serverCert: DtlsCertificate): Promise<Recorded> {
  const rec: Recorded = { c2s: [], s2c: [] };
  const p = makePair({ clientCert, serverCert, filter: (dir, g) => { rec[dir].push(g); return [g]; } });
  p.client.start();
  p.server.start();
  const out = await p.settled(5000);
  p.close();
  assert.ok(out.client.keys && out.server.keys, 'recorded handshake completed');
  return rec;
}

describe('fuzz: DTLS records, handshake messages and endpoints', () => {
  const serverCert = DtlsCertificate.generate();
  const clientCert = DtlsCertificate.generate();
  let live: Recorded;
  const open: DtlsEndpoint[] = [];
  after(() => { for (const e of open) e.close(); });

  it('records a genuine handshake for seeds', async () => {
    live = await recordHandshake(clientCert, serverCert);
    assert.ok(live.c2s.length >= 2 && live.s2c.length >= 2);
  });

  it(`wire parsers: ≤${ITER} datagrams, framing never throws, decoders throw only DtlsError`, () => {
    const reasm = new HandshakeReassembler({ maxBufferedBytes: 64 * 1024 });
    const res = fuzz({
      name: 'dtls-parsers',
      corpus: [...loadCorpus('dtls'), ...live.c2s, ...live.s2c],
      dictionary: TOKENS,
      run(input) {
        const recs = parseRecords(input);
        let framed = 0;
        const outcome: string[] = [];
        for (const rec of recs) {
          framed += 13 + rec.fragment.length;
          if (rec.type !== ContentType.handshake) { outcome.push(`t${rec.type}`); continue; }
          const frags = parseHandshakeFragments(rec.fragment);
          if (frags === null) { outcome.push('unframed'); continue; }
          for (const f of frags) {
            reasm.add(f, rec.epoch);
            while (reasm.next() !== undefined) { /* drain */ }
            let label = `${f.msgType}`;
            for (const [name, decode] of DECODERS) {
              try {
                decode(f.body);
              } catch (e) {
                assert.ok(e instanceof DtlsError, `${name} threw ${e instanceof Error ? e.stack : String(e)}`);
                // Guidance from the decoder this message type goes to (the others see noise).
                if (name === DECODER_OF[f.msgType]) label += `:${errorOutcome(e)}`;
              }
            }
            outcome.push(label);
          }
        }
        assert.ok(framed <= input.length, 'records framed past the datagram');
        if (reasm.nextSeq > 1000) reasm.resetTo(0);
        return outcome.slice(0, 4).join('|');
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 10, `only ${res.outcomes} distinct outcomes`);
  });

  it(`listening server: ≤${ITER} spoofed datagrams change nothing; a genuine client still connects`, async () => {
    const toServer: { d: Uint8Array }[] = [];
    const server = new DtlsEndpoint({ role: 'server', certificate: serverCert, ...FAST, remoteFingerprints: [clientCert.fingerprint()],
      send: (d) => { toServer.push({ d }); } });
    open.push(server);
    let errors = 0;
    server.on('error', () => { errors++; });
    server.start();
    const res = fuzz({
      name: 'dtls-server',
      corpus: [...loadCorpus('dtls'), ...live.c2s],
      dictionary: TOKENS,
      run(input) {
        const before = server.stats.datagramsOut;
        server.handleDatagram(input, '198.51.100.66:5000');
        assert.equal(server.state, 'connecting', 'a spoofed datagram moved the listening server');
        assert.equal(errors, 0, 'server failed on a spoofed datagram');
        return `out+${server.stats.datagramsOut - before}`;
      },
    }, ITER);
    report(res);
    toServer.length = 0;
    // Now the real client, from its own address, on the same endpoint.
    const client = new DtlsEndpoint({ role: 'client', certificate: clientCert, ...FAST, remoteFingerprints: [serverCert.fingerprint()],
      send: (d) => { setImmediate(() => server.handleDatagram(d, '192.0.2.10:4000')); } });
    open.push(client);
    // Route the server's replies to the client from now on.
    const pump = setInterval(() => { for (const { d } of toServer.splice(0)) client.handleDatagram(d, '192.0.2.1:3000'); }, 2);
    try {
      client.start();
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !(client.state === 'connected' && server.state === 'connected')) await new Promise((r) => setTimeout(r, 5));
      assert.equal(client.state, 'connected', `client ${client.state} ${client.error?.message ?? ''}`);
      assert.equal(server.state, 'connected', `server ${server.state} ${server.error?.message ?? ''}`);
    } finally {
      clearInterval(pump);
    }
  });

  it(`connecting client: ≤${ITER} mutated server flights never throw; failures are DtlsError`, () => {
    let client: DtlsEndpoint;
    let failures = 0;
    const fresh = (): void => {
      client = new DtlsEndpoint({ role: 'client', certificate: clientCert, ...FAST, remoteFingerprints: [serverCert.fingerprint()], send: () => {} });
      client.on('error', (e) => { assert.ok(e instanceof DtlsError, `error is ${String(e)}`); failures++; });
      client.start();
      open.push(client);
    };
    fresh();
    const res = fuzz({
      name: 'dtls-client',
      corpus: [...loadCorpus('dtls'), ...live.s2c],
      dictionary: TOKENS,
      run(input) {
        client.handleDatagram(input, '192.0.2.1:3000');
        const s = client.state;
        if (s === 'failed' || s === 'closed') {
          if (s === 'failed') assert.ok(client.error instanceof DtlsError);
          const o = `${s}:${client.error ? errorOutcome(client.error) : ''}`;
          client.close();
          fresh();
          return o;
        }
        return s;
      },
    }, Math.floor(ITER / 2));
    report(res);
    console.log(`# dtls-client: ${failures} handshakes ended by hostile input (each replaced)`);
  });
});
