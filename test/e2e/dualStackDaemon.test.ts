// The daemon configured for dual stack: media.interfaces (rtpengine's --interface spelling),
// the ng socket and the HTTP API on 127.0.0.1 and ::1 (ng.alsoListen / http.alsoListen),
// an IPv6 CIDR in ng.allowFrom, rateLimits.ipv6PrefixBits; plus the config rows' parsing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { loadConfig, helpText, type Config } from '../../src/config.ts';
import { startDaemon } from '../../src/cli.ts';
import { Logger } from '../../src/Logger.ts';
import { ConfigError } from '../../src/config.ts';
import { NgClient } from '../helpers/ngClient.ts';

function configOf(argv: string[], env: Record<string, string> = {}): Config {
  const r = loadConfig({ argv, env });
  assert.equal(r.kind, 'config');
  return (r as { config: Config }).config;
}

function get(address: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: address, port, path, family: address.includes(':') ? 6 : 4 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('dual-stack configuration', () => {
  it('parses interfaces from flags (both spellings, repeated), env and file; validates them', () => {
    const c = configOf(['--interface=internal/127.0.0.1', '--interface', 'external/::1!2001:db8::1', '--media-hide-topology=false',
      '--ng-also-listen', '::1', '--http-also-listen=::1', '--rate-limits-ipv6-prefix-bits', '56']);
    assert.deepEqual(c.media.interfaces, [{ name: 'internal', address: '127.0.0.1' }, { name: 'external', address: '::1', advertised: '2001:db8::1' }]);
    assert.equal(c.media.hideTopology, false);
    assert.deepEqual(c.ng.alsoListen, ['::1']);
    assert.deepEqual(c.http.alsoListen, ['::1']);
    assert.equal(c.rateLimits.ipv6PrefixBits, 56);
    const e = configOf([], { SRTPGATE_MEDIA_INTERFACES: 'a/10.0.0.1,b/fd00::1', SRTPGATE_NG_ALSO_LISTEN: '::1' });
    assert.deepEqual(e.media.interfaces.map((i) => i.name), ['a', 'b']);
    const f = configOf(['--config', 'x.json'].slice(0, 0));
    assert.deepEqual([f.media.interfaces, f.media.hideTopology, f.rateLimits.ipv6PrefixBits, f.ng.alsoListen], [[], true, 64, []]);
    const file = loadConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => JSON.stringify({ media: { interfaces: ['in/10.0.0.1', 'out/2001:db8::5'] }, rateLimits: { ipv6PrefixBits: 48 } }) });
    assert.equal(file.kind, 'config');
    if (file.kind === 'config') {
      assert.deepEqual(file.config.media.interfaces.map((i) => i.address), ['10.0.0.1', '2001:db8::5']);
      assert.equal(file.config.rateLimits.ipv6PrefixBits, 48);
    }
    const refused: [string[], RegExp][] = [
      [['--interface', 'a/10.0.0.1', '--interface', 'a/::1'], /duplicate/],
      [['--interface', 'a/eth0'], /not an IP/],
      [['--interface', 'a/10.0.0.1!2001:db8::1'], /family/],
      [['--interface', 'a/10.0.0.1', '--media-advertised-address', '10.0.0.9'], /drop media.advertisedAddress/],
      [['--ng-also-listen', 'localhost'], /IPv4 or IPv6/],
      [['--rate-limits-ipv6-prefix-bits', '129'], /out of range/],
    ];
    for (const [argv, re] of refused) assert.throws(() => loadConfig({ argv, env: {} }), (x: unknown) => x instanceof ConfigError && re.test(x.message), argv.join(' '));
    const help = helpText();
    assert.match(help, /--media-interfaces NAME\/ADDR\[!ADV\]\[,…\] \| --interface NAME\/ADDR/);
    assert.match(help, /--rate-limits-ipv6-prefix-bits N/);
    assert.match(help, /--ng-also-listen ADDR/);
  });

  it('a daemon with two interfaces answers ng and HTTP on 127.0.0.1 and ::1 and bridges an offer to IPv6', async () => {
    const config = configOf(['--interface=v4/127.0.0.1', '--interface=v6/::1', '--ng-port=0', '--http-port=0',
      '--ng-also-listen=::1', '--http-also-listen=::1', '--ng-allow-from=127.0.0.1/32,::1/128',
      '--media-port-min=50700', '--media-port-max=50799', '--log-level=error']);
    const daemon = await startDaemon(config, new Logger({ level: 'error', write: () => {} }));
    const clients: NgClient[] = [];
    try {
      assert.deepEqual(daemon.relay.interfaces.map((i) => `${i.name} ${i.family}`), ['v4 IPv4', 'v6 IPv6']);
      const [ng4, ng6] = daemon.ng.addresses;
      assert.deepEqual([ng4!.address, ng6!.address, ng4!.port === ng6!.port], ['127.0.0.1', '::1', true]);
      for (const [server, bind] of [[ng4!, '127.0.0.1'], [ng6!, '::1']] as const) {
        const c = await NgClient.open(server, bind);
        clients.push(c);
        assert.equal((await c.request({ command: 'ping' })).reply.result, 'pong');
      }
      const k = Buffer.concat([randomBytes(16), randomBytes(14)]).toString('base64');
      const offer = await clients[1]!.request({ command: 'offer', 'call-id': 'daemon-v6', 'from-tag': 'a', 'address-family': 'IP6',
        sdp: `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${k}\r\n` });
      assert.equal(offer.reply.result, 'ok', JSON.stringify(offer.reply));
      assert.match(String(offer.reply.sdp), /^o=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\n/m);

      const httpPort = daemon.http!.address.port;
      for (const a of ['127.0.0.1', '::1']) assert.equal((await get(a, httpPort, '/healthz')).status, 200, a);
    } finally {
      for (const c of clients) await c.close();
      await daemon.stop('test');
    }
  });

  it('refuses an IPv6 ng address without an allow list, and serves only the allowed family', async () => {
    const config = configOf(['--ng-port=0', '--http-enabled=false', '--ng-also-listen=::1', '--ng-allow-from=::1/128', '--media-port-min=50800', '--media-port-max=50819', '--log-level=error']);
    const daemon = await startDaemon(config, new Logger({ level: 'error', write: () => {} }));
    const c4 = await NgClient.open(daemon.ng.addresses[0]!, '127.0.0.1');
    const c6 = await NgClient.open(daemon.ng.addresses[1]!, '::1');
    try {
      assert.equal((await c6.request({ command: 'ping' })).reply.result, 'pong');
      // 127.0.0.1 is not in the (IPv6-only) allow list: no reply at all.
      await c4.sendRaw(NgClient.datagram(NgClient.cookie(), { command: 'ping' }));
      assert.equal(await c4.silentFor(300), true);
    } finally {
      await c4.close(); await c6.close();
      await daemon.stop('test');
    }
    const bad = configOf(['--ng-port=0', '--http-enabled=false', '--ng-also-listen=2001:db8::1', '--log-level=error']);
    await assert.rejects(startDaemon(bad, new Logger({ level: 'error', write: () => {} })), /needs an allow list/);
  });
});
