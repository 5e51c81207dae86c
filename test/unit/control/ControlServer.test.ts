// The ng UDP server against a fake controller, driven by the independent test client.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ControlServer, type ControlServerOptions, type NgCommandEvent } from '../../../src/control/ControlServer.ts';
import type { CallControl } from '../../../src/control/commands.ts';
import type { NgAnswerRequest, NgOfferRequest } from '../../../src/control/ngRequest.ts';
import { RelayError } from '../../../src/errors.ts';
import { NgClient, bencode } from '../../helpers/ngClient.ts';

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

/** Records every call; behaviour per test through the public fields. */
class FakeControl implements CallControl {
  offers: NgOfferRequest[] = [];
  answers: NgAnswerRequest[] = [];
  deletes: string[] = [];
  /** When set, offer() waits for it (an offer still binding ports). */
  gate: Deferred<void> | null = null;
  offerError: unknown = null;
  async offer(req: NgOfferRequest): Promise<{ sdp: string; warnings: string[] }> {
    this.offers.push(req);
    if (this.gate) await this.gate.promise;
    if (this.offerError !== null) throw this.offerError;
    return { sdp: `${SDP}a=x-offer:${this.offers.length}\r\n`, warnings: [] };
  }
  async answer(req: NgAnswerRequest): Promise<{ sdp: string; warnings: string[] }> {
    this.answers.push(req);
    return { sdp: SDP, warnings: ['answer warning'] };
  }
  delete(req: { callId: string }): { deleted: boolean } {
    this.deletes.push(req.callId);
    return { deleted: req.callId === 'known' };
  }
  query(callId: string): object {
    if (callId !== 'known') throw new RelayError('E_NOT_FOUND', 'Unknown call-id');
    return {
      callId: 'known', created: 1700000000, lastSignal: 1700000001, ratio: 0.5, secure: true, skipped: null,
      tags: { fromTagX: { tag: 'fromTagX', medias: [{ localPort: 30000, cryptoSuite: 'S', remote: '127.0.0.1:4000', key: new Uint8Array(4) }] } },
      totals: { RTP: { packets: 1 }, RTCP: { packets: 0 } },
    };
  }
  list(): string[] { return ['known']; }
  statistics(): { currentSessions: number; totals: Record<string, number> } {
    return { currentSessions: 1, totals: { offers: this.offers.length } };
  }
}

const offer = (callId = 'call-1'): { [k: string]: string | string[] } => ({ command: 'offer', 'call-id': callId, 'from-tag': 'ft', sdp: SDP });

describe('ControlServer (ng over UDP)', () => {
  let control: FakeControl;
  let server: ControlServer;
  let client: NgClient;
  const events: NgCommandEvent[] = [];

  async function start(extra: Partial<ControlServerOptions> = {}): Promise<void> {
    await client?.close();
    await server?.close(0);
    control = new FakeControl();
    server = await ControlServer.listen({ control, port: 0, ...extra });
    server.observer.on('command', (e) => events.push(e));
    client = await NgClient.open(server.address);
  }

  before(() => start());
  beforeEach(() => { events.length = 0; });
  after(async () => { await client.close(); await server.close(0); });

  it('answers ping in bencode with the exact bytes rtpengine sends', async () => {
    await client.sendRaw(Buffer.from('5323_1 d7:command4:pinge'));
    const r = await client.waitFor('5323_1');
    assert.equal(r.raw.toString(), '5323_1 d6:result4:ponge');
  });

  it('answers in the format of the request (JSON in, JSON out)', async () => {
    const r = await client.request({ command: 'ping' }, { format: 'json' });
    assert.equal(r.format, 'json');
    assert.deepEqual(r.reply, { result: 'pong' });
  });

  it('turns malformed bencode, malformed JSON and unknown commands into error replies, and keeps answering', async () => {
    for (const body of ['d7:command4:ping', 'd7:command4:pingee', 'd3:abci1e3:abci2ee', 'x', '{"command": "ping"', '{"command":"explode"}', '[1,2]']) {
      const cookie = NgClient.cookie();
      await client.sendRaw(Buffer.from(`${cookie} ${body}`));
      const r = await client.waitFor(cookie);
      assert.equal(r.reply.result, 'error', body);
      assert.equal(typeof r.reply['error-reason'], 'string');
    }
    const r = await client.request({ command: 'ping' });
    assert.equal(r.reply.result, 'pong');
  });

  it('drops a datagram without a cookie (no reply can be matched) and keeps answering', async () => {
    await client.sendRaw(Buffer.from('d7:command4:pinge'));
    await client.sendRaw(Buffer.alloc(0));
    assert.equal(await client.silentFor(100), true);
    assert.equal((await client.request({ command: 'ping' })).reply.result, 'pong');
  });

  it('warns about unknown keys without failing the command', async () => {
    const r = await client.request({ command: 'ping', 'no-such-key': 'x' });
    assert.equal(r.reply.result, 'pong');
    assert.match(String(r.reply.warning), /no-such-key/);
  });

  it('replies to each request\'s own source port (one socket per Kamailio worker)', async () => {
    const other = await NgClient.open(server.address);
    try {
      const [a, b] = await Promise.all([client.request({ command: 'ping' }), other.request({ command: 'ping' })]);
      assert.equal(a.reply.result, 'pong');
      assert.equal(b.reply.result, 'pong');
    } finally {
      await other.close();
    }
  });

  it('replays the first reply to a retransmission, byte for byte, and runs the offer once', async () => {
    const cookie = NgClient.cookie();
    const dgram = NgClient.datagram(cookie, offer('retx'));
    await client.sendRaw(dgram);
    const first = await client.waitFor(cookie);
    assert.equal(first.reply.result, 'ok');
    for (let i = 0; i < 5; i++) {
      await client.sendRaw(dgram);
      const again = await client.waitFor(cookie);
      assert.deepEqual(again.raw, first.raw);
    }
    assert.equal(control.offers.length, 1);
  });

  it('coalesces retransmissions that arrive while the first copy is still running', async () => {
    const gate = deferred<void>();
    control.gate = gate;
    const before = control.offers.length;
    const cookie = NgClient.cookie();
    const dgram = NgClient.datagram(cookie, offer('slow'));
    for (let i = 0; i < 4; i++) await client.sendRaw(dgram);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.inFlight, 1);
    control.gate = null;
    gate.resolve();
    const replies = await Promise.all([0, 1, 2, 3].map(() => client.waitFor(cookie)));
    for (const r of replies) assert.deepEqual(r.raw, replies[0]!.raw);
    assert.equal(control.offers.length - before, 1);
  });

  it('treats a reused cookie with a different body as a new request', async () => {
    const cookie = NgClient.cookie();
    await client.sendRaw(NgClient.datagram(cookie, offer('reuse-1')));
    const a = await client.waitFor(cookie);
    await client.sendRaw(NgClient.datagram(cookie, offer('reuse-2')));
    const b = await client.waitFor(cookie);
    assert.notDeepEqual(a.raw, b.raw);
    assert.deepEqual(control.offers.slice(-2).map((o) => o.callId), ['reuse-1', 'reuse-2']);
  });

  it('spells the fail-over reasons exactly as Kamailio compares them', async () => {
    control.offerError = new RelayError('E_PORTS_EXHAUSTED', 'Ran out of ports', { capacity: 10 });
    let r = await client.request(offer('ports'));
    assert.deepEqual(r.reply, { result: 'error', 'error-reason': 'Ran out of ports' });
    control.offerError = new RelayError('E_SESSION_LIMIT', 'Parallel session limit reached', { max: 1 });
    r = await client.request(offer('limit'));
    assert.deepEqual(r.reply, { result: 'error', 'error-reason': 'Parallel session limit reached' });
    // An SBE that supports "load limit" gets that result instead.
    r = await client.request({ ...offer('limit-2'), supports: ['load limit'] });
    assert.deepEqual(r.reply, { result: 'load limit' });
    control.offerError = null;
  });

  it('hides internal errors behind "internal error"', async () => {
    control.offerError = new TypeError('secret detail');
    const r = await client.request(offer('bug'));
    assert.deepEqual(r.reply, { result: 'error', 'error-reason': 'internal error' });
    control.offerError = null;
    assert.equal((await client.request({ command: 'ping' })).reply.result, 'pong');
  });

  it('maps answer, delete, query, list and statistics', async () => {
    let r = await client.request({ command: 'answer', 'call-id': 'known', 'from-tag': 'tt', 'to-tag': 'ft', sdp: SDP });
    assert.equal(r.reply.result, 'ok');
    assert.equal(r.reply.sdp, SDP);
    assert.equal(r.reply.warning, 'answer warning');
    r = await client.request({ command: 'delete', 'call-id': 'known', 'from-tag': 'ft' });
    assert.deepEqual(r.reply, { result: 'ok' });
    r = await client.request({ command: 'delete', 'call-id': 'unknown', 'from-tag': 'ft' });
    assert.equal(r.reply.result, 'ok');
    assert.match(String(r.reply.warning), /not found/);
    r = await client.request({ command: 'delete', 'call-id': 'unknown', flags: ['fatal'] });
    assert.equal(r.reply.result, 'error');
    r = await client.request({ command: 'query', 'call-id': 'known' });
    assert.equal(r.reply.result, 'ok');
    assert.equal(r.reply.created, 1700000000);
    assert.equal(r.reply['last signal'], 1700000001, 'camelCase keys are spelled as ng words');
    assert.equal(r.reply['call-id'], 'known');
    assert.deepEqual(r.reply.totals, { RTP: { packets: 1 }, RTCP: { packets: 0 } });
    assert.equal(r.reply.ratio, '0.5', 'non-integers travel as strings (bencode has no floats)');
    assert.equal(r.reply.secure, 'yes');
    assert.equal('skipped' in r.reply, false);
    assert.deepEqual(r.reply.tags, { fromTagX: { tag: 'fromTagX', medias: [{ 'local port': 30000, 'crypto suite': 'S', endpoint: '127.0.0.1:4000' }] } },
      'SIP tags used as keys are data and kept; byte arrays never leave');
    r = await client.request({ command: 'query', 'call-id': 'nope' });
    assert.deepEqual(r.reply, { result: 'error', 'error-reason': 'Unknown call-id' });
    r = await client.request({ command: 'list' });
    assert.deepEqual(r.reply, { result: 'ok', calls: ['known'] });
    r = await client.request({ command: 'statistics' });
    assert.equal(r.reply.result, 'ok');
    assert.equal(typeof r.reply.statistics, 'object');
    assert.ok(events.some((e) => e.command === 'query' && e.code === 'E_NOT_FOUND'));
  });

  it('sends "load limit" at the soft cap only to SBEs that support it, without running the offer', async () => {
    await start({ loadLimit: { atLimit: (callId) => callId !== 'existing' } });
    let r = await client.request({ ...offer('new'), supports: ['load limit'] });
    assert.deepEqual(r.reply, { result: 'load limit' });
    assert.equal(control.offers.length, 0);
    r = await client.request({ ...offer('existing'), supports: ['load limit'] });
    assert.equal(r.reply.result, 'ok', 're-offers of calls already up pass');
    r = await client.request(offer('old-sbe'));
    assert.equal(r.reply.result, 'ok', 'an SBE without "load limit" support is not refused by the soft cap');
  });

  it('oversized datagrams get an error reply', async () => {
    await start({ maxDatagramBytes: 1024 });
    const cookie = NgClient.cookie();
    await client.sendRaw(NgClient.datagram(cookie, { command: 'ping', pad: 'x'.repeat(2000) }));
    const r = await client.waitFor(cookie);
    assert.equal(r.reply.result, 'error');
    assert.match(String(r.reply['error-reason']), /too large/);
    assert.equal((await client.request({ command: 'ping' })).reply.result, 'pong');
  });

  it('rate-limits commands with an error reply that is not cached', async () => {
    await start({ commandsPerSecond: 2, commandBurst: 3 });
    const cookies = Array.from({ length: 6 }, () => NgClient.cookie());
    // `list`, not `ping`: pings are exempt from the rate (see the admission tests).
    for (const c of cookies) await client.sendRaw(NgClient.datagram(c, { command: 'list' }));
    const replies = await Promise.all(cookies.map((c) => client.waitFor(c)));
    const results = replies.map((r) => r.reply.result);
    assert.equal(results.filter((x) => x === 'ok').length, 3);
    const refused = replies.filter((r) => r.reply.result === 'error');
    assert.equal(refused.length, 3);
    assert.match(String(refused[0]!.reply['error-reason']), /rate limit/);
    // The retransmission of a refused request is served once tokens are back.
    await new Promise((r) => setTimeout(r, 600));
    await client.sendRaw(NgClient.datagram(refused[0]!.cookie, { command: 'list' }));
    assert.equal((await client.waitFor(refused[0]!.cookie)).reply.result, 'ok');
  });

  it('refuses commands beyond maxInFlight', async () => {
    await start({ maxInFlight: 1 });
    const gate = deferred<void>();
    control.gate = gate;
    const slow = NgClient.cookie();
    await client.sendRaw(NgClient.datagram(slow, offer('a')));
    await new Promise((r) => setTimeout(r, 30));
    const r = await client.request(offer('b'));
    assert.equal(r.reply.result, 'error');
    assert.match(String(r.reply['error-reason']), /in progress/);
    control.gate = null;
    gate.resolve();
    assert.equal((await client.waitFor(slow)).reply.result, 'ok');
  });

  it('answers only configured sources', async () => {
    await start({ allowFrom: ['10.0.0.0/8', '::1'] });
    await client.sendRaw(NgClient.datagram('blocked_1', { command: 'ping' }));
    assert.equal(await client.silentFor(150), true);
    await start({ allowFrom: ['192.168.0.0/16', '127.0.0.1/32'] });
    assert.equal((await client.request({ command: 'ping' })).reply.result, 'pong');
  });

  it('refuses to bind a non-loopback address without an allow list, and rejects bad CIDRs', async () => {
    const c = new FakeControl();
    await assert.rejects(ControlServer.listen({ control: c, address: '0.0.0.0', port: 0 }), /allow list/);
    await assert.rejects(ControlServer.listen({ control: c, port: 0, allowFrom: ['10.0.0.0/33'] }), /CIDR/);
    await assert.rejects(ControlServer.listen({ control: c, port: 0, allowFrom: ['not-an-ip'] }), /CIDR|IP/);
  });

  it('close() lets a command in flight send its reply, then stops answering', async () => {
    await start();
    const gate = deferred<void>();
    control.gate = gate;
    const cookie = NgClient.cookie();
    await client.sendRaw(NgClient.datagram(cookie, offer('draining')));
    await new Promise((r) => setTimeout(r, 30));
    const closing = server.close(2000);
    await client.sendRaw(NgClient.datagram(NgClient.cookie(), { command: 'ping' }));
    gate.resolve();
    assert.equal((await client.waitFor(cookie)).reply.result, 'ok');
    await closing;
    assert.equal(await client.silentFor(100), true);
    await start(); // leave a server for after()
  });

  it('the test client and the server agree on bencode key order', () => {
    assert.equal(bencode({ b: 1, a: 'x', ab: [] }).toString(), 'd1:a1:x2:able1:bi1ee');
  });
});
