// The daemon as a process (spawned by test/helpers/daemon.ts) with a test config on free ports,
// driven over ng by the independent test client and over HTTP by fetch, then stopped with a
// signal. Loopback only; every wait is bounded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { DaemonProcess, type DaemonLogLine } from '../helpers/daemon.ts';
import { suiteByName } from '../../src/crypto/suites.ts';

const TOKEN = `e2e-${randomBytes(16).toString('hex')}`;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const b64key = (): string => randomBytes(30).toString('base64');

function offerSdp(port: number, key: string): string {
  return [
    'v=0', 'o=alice 2890844526 2890844526 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/SAVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key}`, 'a=sendrecv', '',
  ].join('\r\n');
}

/** The answerer's SDP: picks the relay's first crypto line (tag and suite) with a fresh key of its own. */
function answerSdp(offerFromRelay: string, port: number, keys: string[]): string {
  const m = /a=crypto:(\d+) (\S+) inline:/.exec(offerFromRelay);
  assert.ok(m, 'the relay offers a=crypto to the answerer');
  const suite = suiteByName(m[2]!);
  assert.ok(suite, `the relay offers a suite it knows: ${m[2]}`);
  const key = randomBytes(suite.keyLen + suite.saltLen).toString('base64');
  keys.push(key);
  return [
    'v=0', 'o=bob 2808844564 2808844564 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/SAVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000',
    `a=crypto:${m[1]} ${m[2]} inline:${key}`, 'a=sendrecv', '',
  ].join('\r\n');
}

/** Kamailio 5.6's offer for `rtpengine_offer("replace-origin replace-session-connection ICE=remove")`. */
function kamailioOffer(callId: string, fromTag: string, sdp: string): { [k: string]: BVal } {
  return {
    command: 'offer', supports: ['load limit'], sdp, ICE: 'remove', replace: ['origin', 'session-connection'],
    'call-id': callId, 'received-from': ['IP4', '127.0.0.1'], 'from-tag': fromTag,
  };
}

/** Parses Prometheus text into `name{labels}` → value, failing on any malformed line. */
function prometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `bad exposition line ${JSON.stringify(line)}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('srtpgate daemon (spawned process)', () => {
  after(() => DaemonProcess.killAll());

  it('--help documents the options and exits 0', { timeout: START_TIMEOUT_MS }, async () => {
    const d = DaemonProcess.spawn({}, { args: ['--help'] });
    const { code } = await d.exited;
    assert.equal(code, 0);
    for (const s of ['--ng-port', 'SRTPGATE_NG_PORT', 'Default: 2223', '--media-port-min', 'Default: 30000', '--config']) {
      assert.ok(d.stdout.includes(s), s);
    }
  });

  it('a bad configuration exits 2 with a JSON error line', { timeout: START_TIMEOUT_MS }, async () => {
    const d = DaemonProcess.spawn({}, { args: ['--ng-port', 'not-a-port'] });
    const { code } = await d.exited;
    assert.equal(code, 2);
    const line = JSON.parse(d.stdout.trim().split('\n').at(-1)!) as DaemonLogLine;
    assert.equal(line.level, 'error');
    assert.equal(line.msg, 'invalid configuration');
  });

  describe('one daemon driven over ng and HTTP, then SIGTERM', () => {
    let d: DaemonProcess;
    let ng: NgClient;
    let http: string;
    const keys: string[] = [];

    before(async () => {
      // The token comes from the environment, the port override from a flag: all three layers.
      d = await DaemonProcess.start({
        ng: { port: 0, maxDatagramBytes: 4096 },
        http: { port: 0 },
        media: { portMin: 44000, portMax: 44199 },
        log: { level: 'debug' },
      }, { env: { SRTPGATE_HTTP_TOKEN: TOKEN }, args: ['--http-port', '0'], startTimeoutMs: START_TIMEOUT_MS });
      assert.ok(d.http, 'the start-up line names the HTTP address');
      ng = await NgClient.open({ port: d.ng.port });
      http = `http://127.0.0.1:${d.http.port}`;
    });
    after(async () => {
      await ng?.close();
      d?.kill();
    });

    const get = (path: string, token: string | null = TOKEN): Promise<Response> =>
      fetch(`${http}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });

    it('answers ping in bencode and JSON', async () => {
      await ng.sendRaw(Buffer.from('5323_1 d7:command4:pinge'));
      assert.equal((await ng.waitFor('5323_1')).raw.toString(), '5323_1 d6:result4:ponge');
      const r = await ng.request({ command: 'ping' }, { format: 'json' });
      assert.deepEqual(r.reply, { result: 'pong' });
    });

    it('answers malformed bencode, malformed JSON and oversized datagrams with errors, and keeps serving', async () => {
      for (const body of ['d7:command4:ping', 'i12', '{"command":', '{"command":"ping"}x', `d7:command4:ping3:pad${'9000:'}${'x'.repeat(9000)}e`]) {
        const cookie = NgClient.cookie();
        await ng.sendRaw(Buffer.from(`${cookie} ${body}`));
        const r = await ng.waitFor(cookie);
        assert.equal(r.reply.result, 'error', body.slice(0, 30));
      }
      assert.equal((await ng.request({ command: 'ping' })).reply.result, 'pong');
    });

    it('HTTP: /healthz open, 401 without or with a wrong token, OpenAPI and Prometheus with it', async () => {
      assert.equal((await get('/healthz', null)).status, 200);
      let r = await get('/v1/calls', null);
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'E_UNAUTHORIZED');
      r = await get('/v1/calls', `${TOKEN}0`);
      assert.equal(r.status, 401);
      await r.body?.cancel();
      r = await get('/openapi.json');
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { openapi: string }).openapi, '3.1.0');
      r = await get('/metrics');
      assert.equal(r.status, 200);
      assert.equal(prometheus(await r.text()).get('srtpgate_sessions'), 0);
    });

    it('offer (retransmitted: one command, identical reply bytes), answer, query, delete over ng', async () => {
      const callId = `e2e-${randomBytes(4).toString('hex')}@127.0.0.1`;
      const aKey = b64key();
      keys.push(aKey);
      const cookie = NgClient.cookie();
      const datagram = NgClient.datagram(cookie, kamailioOffer(callId, 'alice-tag', offerSdp(50000, aKey)));
      // Three copies at once (coalesced while the offer binds ports), then two from the cache.
      await Promise.all([ng.sendRaw(datagram), ng.sendRaw(datagram), ng.sendRaw(datagram)]);
      const first = await ng.waitFor(cookie);
      assert.equal(first.reply.result, 'ok', JSON.stringify(first.reply));
      for (let i = 0; i < 2; i++) await ng.waitFor(cookie);
      for (let i = 0; i < 2; i++) {
        await ng.sendRaw(datagram);
        assert.deepEqual((await ng.waitFor(cookie)).raw, first.raw);
      }
      const toBob = String(first.reply.sdp);
      assert.match(toBob, /RTP\/SAVP/);
      assert.doesNotMatch(toBob, new RegExp(aKey.replace(/[+/]/g, '\\$&')), 'the relay re-keys the answerer side');
      const relayKey = /inline:([A-Za-z0-9+/=]+)/.exec(toBob)?.[1];
      if (relayKey) keys.push(relayKey);

      let r = await ng.request({ command: 'list' });
      assert.deepEqual(r.reply.calls, [callId], 'the offer ran once: one session');
      const metrics = prometheus(await (await get('/metrics')).text());
      assert.equal(metrics.get('srtpgate_control_commands_total{interface="ng",command="offer"}'), 1);
      assert.ok((metrics.get('srtpgate_ng_retransmissions_total') ?? 0) >= 4);
      assert.equal(metrics.get('srtpgate_sessions'), 1);

      r = await ng.request({
        command: 'answer', supports: ['load limit'], sdp: answerSdp(toBob, 50010, keys), ICE: 'remove',
        replace: ['origin', 'session-connection'], 'call-id': callId, 'received-from': ['IP4', '127.0.0.1'],
        'from-tag': 'alice-tag', 'to-tag': 'bob-tag',
      });
      assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
      const toAlice = String(r.reply.sdp);
      assert.match(toAlice, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/, 'alice gets one line under her own tag');
      const aliceKey = /inline:([A-Za-z0-9+/=]+)/.exec(toAlice)?.[1];
      if (aliceKey) keys.push(aliceKey);

      r = await ng.request({ command: 'query', 'call-id': callId });
      assert.equal(r.reply.result, 'ok');
      const tags = r.reply.tags as { [tag: string]: { medias: { [k: string]: BVal }[] } };
      assert.deepEqual(Object.keys(tags).sort(), ['alice-tag', 'bob-tag']);
      assert.equal(typeof tags['alice-tag']!.medias[0]!['local port'], 'number');
      assert.equal(tags['alice-tag']!.medias[0]!['crypto suite'], 'AES_CM_128_HMAC_SHA1_80');
      assert.ok(typeof r.reply.totals === 'object');
      assert.doesNotMatch(JSON.stringify(r.reply), /inline/);

      const httpQuery = await get(`/v1/calls/${encodeURIComponent(callId)}`);
      assert.equal(httpQuery.status, 200);
      assert.equal(((await httpQuery.json()) as { callId: string }).callId, callId);

      r = await ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'alice-tag' });
      assert.equal(r.reply.result, 'ok');
      r = await ng.request({ command: 'list' });
      assert.deepEqual(r.reply.calls, []);
    });

    it('SIGTERM with a call up: sessions closed, exit 0, and no key ever reached the log', async () => {
      const aKey = b64key();
      keys.push(aKey);
      const r = await ng.request(kamailioOffer(`e2e-live-${randomBytes(4).toString('hex')}`, 'carol', offerSdp(50020, aKey)));
      assert.equal(r.reply.result, 'ok');
      const { code, signal } = await d.stop('SIGTERM', STOP_TIMEOUT_MS);
      assert.equal(signal, null);
      assert.equal(code, 0, d.stdout);
      const stopped = d.lines.find((l) => l.msg === 'stopped');
      assert.ok(stopped, 'logs "stopped"');
      assert.equal(stopped.context.sessionsClosed, 1);
      for (const l of d.lines) {
        assert.notEqual(l.level, 'raw', `stdout carries JSON lines only: ${l.msg}`);
        assert.equal(typeof l.ts, 'string');
      }
      assert.doesNotMatch(d.stdout, /inline:(?!\[REDACTED\])/);
      for (const k of keys) assert.equal(d.stdout.includes(k), false, 'a master key in the log');
      assert.equal(d.stdout.includes(TOKEN), false, 'the bearer token in the log');
    });
  });

  it('answers only the configured ng sources; media in a worker thread; stops on SIGINT', { timeout: START_TIMEOUT_MS + STOP_TIMEOUT_MS }, async () => {
    const d = await DaemonProcess.start({ ng: { port: 0, allowFrom: ['127.0.0.2/32'] }, http: { enabled: false } },
      { args: ['--media-port-min', '44200', '--media-port-max', '44299', '--media-workers', '1'], startTimeoutMs: START_TIMEOUT_MS });
    let allowed: NgClient | null = null;
    let other: NgClient | null = null;
    try {
      const port = d.ng.port;
      other = await NgClient.open({ port }, '127.0.0.1');
      allowed = await NgClient.open({ port }, '127.0.0.2');
      await other.sendRaw(NgClient.datagram('refused_1', { command: 'ping' }));
      assert.equal(await other.silentFor(200), true, 'no reply to a source outside the allow list');
      assert.equal((await allowed.request({ command: 'ping' })).reply.result, 'pong');
      const r = await allowed.request(kamailioOffer('worker-call', 'dave', offerSdp(50030, b64key())));
      assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
    } finally {
      await allowed?.close();
      await other?.close();
      const { code } = await d.stop('SIGINT', STOP_TIMEOUT_MS);
      assert.equal(code, 0, d.stdout);
    }
  });
});
