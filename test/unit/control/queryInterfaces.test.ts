// `query` over ng (UDP, bencode) and HTTP (JSON) names each leg's media interface, its address
// family and the address its SDP advertised, on a real relay bridging 127.0.0.1 and ::1; the
// rest of the reply keeps rtpengine's shape (tags → medias with local port and endpoint).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../../src/session/Relay.ts';
import { CallController } from '../../../src/control/CallController.ts';
import { ControlServer } from '../../../src/control/ControlServer.ts';
import { HttpApi } from '../../../src/control/HttpApi.ts';
import { Metrics } from '../../../src/metrics/Metrics.ts';
import { NgClient, type BVal } from '../../helpers/ngClient.ts';

const TOKEN = 'query-interfaces-token-0123456789';

function sdp(family: 'IP4' | 'IP6', addr: string, port: number): string {
  return `v=0\r\no=- 1 1 IN ${family} ${addr}\r\ns=-\r\nc=IN ${family} ${addr}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
}

type Dict = { [k: string]: BVal };
const dict = (v: BVal | undefined): Dict => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `not a dict: ${JSON.stringify(v)}`);
  return v;
};

describe('query: media interface and address family per leg', () => {
  let relay: Relay;
  let cc: CallController;
  let server: ControlServer;
  let ng: NgClient;
  let api: HttpApi;
  before(async () => {
    relay = await Relay.create({
      ports: { min: 51400, max: 51449 },
      interfaces: [{ name: 'inside', address: '127.0.0.1' }, { name: 'outside', address: '::1' }],
    });
    cc = new CallController({ relay });
    server = await ControlServer.listen({ control: cc, address: '127.0.0.1', port: 0, commandsPerSecond: 0 });
    ng = await NgClient.open(server.address, '127.0.0.1');
    api = await HttpApi.listen({ control: cc, metrics: new Metrics({ version: 't' }), port: 0, token: TOKEN, version: 't' });
  });
  after(async () => { await ng.close(); await server.close(0); await api.close(0); await relay.close(); });

  async function ngOk(d: Dict): Promise<Dict> {
    const r = await ng.request(d);
    assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
    return r.reply;
  }

  async function crossingCall(callId: string): Promise<void> {
    await ngOk({ command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp('IP4', '127.0.0.1', 4000), direction: ['inside', 'outside'] });
    await ngOk({ command: 'answer', 'call-id': callId, 'from-tag': 'alice', 'to-tag': 'bob', sdp: sdp('IP6', '::1', 6000) });
  }

  it('ng: each tag names its interface and family; medias keep local port/endpoint and add local address', async () => {
    const callId = `qi-ng-${Date.now()}`;
    await crossingCall(callId);
    const reply = await ngOk({ command: 'query', 'call-id': callId });
    const tags = dict(reply.tags);
    const alice = dict(tags.alice), bob = dict(tags.bob);
    assert.equal(alice.interface, 'inside');
    assert.equal(alice.family, 'IPv4');
    assert.equal(bob.interface, 'outside');
    assert.equal(bob.family, 'IPv6');
    const am = dict((alice.medias as BVal[])[0]), bm = dict((bob.medias as BVal[])[0]);
    assert.equal(am['local address'], '127.0.0.1');
    assert.equal(bm['local address'], '::1');
    // rtpengine's keys stay as they were.
    assert.equal(typeof am['local port'], 'number');
    assert.equal(am.endpoint, '127.0.0.1:4000');
    assert.equal(bm.endpoint, '[::1]:6000');
    assert.equal(am.index, 1);
    assert.equal(am.type, 'audio');
    assert.ok('totals' in reply && 'created' in reply && 'last signal' in reply);
  });

  it('HTTP: the same fields in camelCase JSON', async () => {
    const callId = `qi-http-${Date.now()}`;
    await crossingCall(callId);
    const r = await fetch(`http://127.0.0.1:${api.address.port}/v1/calls/${callId}`,
      { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    const body = await r.json() as { tags: Record<string, { interface: string; family: string; medias: { localAddress: string; localPort: number }[] }> };
    assert.deepEqual([body.tags.alice!.interface, body.tags.alice!.family, body.tags.alice!.medias[0]!.localAddress], ['inside', 'IPv4', '127.0.0.1']);
    assert.deepEqual([body.tags.bob!.interface, body.tags.bob!.family, body.tags.bob!.medias[0]!.localAddress], ['outside', 'IPv6', '::1']);
  });

  it('a call on one interface names it for both legs; an unanswered callee tag has it too', async () => {
    const callId = `qi-one-${Date.now()}`;
    await ngOk({ command: 'offer', 'call-id': callId, 'from-tag': 'alice', sdp: sdp('IP6', '::1', 4100) });
    const q = cc.query(callId);
    const tags = Object.values(q.tags);
    assert.equal(tags.length, 2);
    for (const t of tags) assert.deepEqual([t.interface, t.family], ['outside', 'IPv6'], JSON.stringify(t));
  });
});
