// An SDES lifetime on a relay stream: the soft-limit event reaches the embedding API (in
// thread and from a worker), and the hard limit stops the stream's traffic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import { createSrtpSessionSync } from '../../src/SrtpSession.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';

for (const workers of [0, 1]) {
  describe(`key lifetime on a relay stream (workers: ${workers})`, () => {
    it('soft-limit event, then a hard stop at the lifetime', async () => {
      const relay = await Relay.create({ workers, ports: { min: 49000, max: 49199 } });
      const s = relay.createSession('lifetime');
      const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
      const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
      linkStreams(a, b);
      const peerA = await UdpPeer.open(), peerB = await UdpPeer.open();
      try {
        a.setRemote({ address: '127.0.0.1', port: peerA.port });
        b.setRemote({ address: '127.0.0.1', port: peerB.port });
        const key = randomBytes(16), salt = randomBytes(14);
        a.setInboundCrypto({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt, lifetime: 100n });
        a.setOutboundCrypto(null);
        b.setInboundCrypto(null);
        b.setOutboundCrypto(null);
        const events: string[] = [];
        a.on('keysoftlimit', (e) => events.push(`${e.direction}:${e.kind}`));
        const tx = createSrtpSessionSync({ suite: 'AES_CM_128_HMAC_SHA1_80', masterKey: key, masterSalt: salt });
        for (let seq = 0; seq < 120; seq++) await peerA.send(tx.protectRtp(rtp({ seq, ssrc: 3, payload: new Uint8Array(20) })), a.rtpPort.port);
        await peerB.waitFor(100, 2000);
        await new Promise((r) => setTimeout(r, 600)); // the soft-limit poll runs on the relay's 250 ms tick
        assert.equal(peerB.received.length, 100, 'exactly the lifetime was forwarded');
        assert.deepEqual(events, ['inbound:srtp']);
        await relay.syncStats();
        assert.equal(a.stats.drops.keyExpired, 20);
        tx.close();
      } finally {
        s.close();
        await peerA.close(); await peerB.close();
        await relay.close();
      }
    });
  });
}
