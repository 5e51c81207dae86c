// Media in worker threads: sessions spread over the workers, packets authenticated and
// re-encrypted there (libsrtp2 at the far ends), counters and latches mirrored back, ports
// released once the worker has closed its sockets.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { linkStreams } from '../../src/session/MediaStream.ts';
import { RemoteMediaStream } from '../../src/session/worker/RemoteMediaStream.ts';
import { RelayError } from '../../src/errors.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { UdpPeer } from '../helpers/udp.ts';
import { rtp } from '../helpers/packets.ts';

describe('relay with media workers', () => {
  let relay: Relay;
  let lib: LibsrtpPeer | null = null;
  before(async () => {
    relay = await Relay.create({ workers: 2, ports: { min: 44000, max: 44999 } });
    lib = await LibsrtpPeer.start();
  });
  after(async () => { await relay.close(); await lib?.close(); });

  it('spreads sessions over the workers and carries SRTP → RTP and RTP → SRTP through each', async (t) => {
    if (!lib) return skipOrFail(t, skipReason());
    assert.equal(relay.workerCount, 2);
    assert.throws(() => relay.core, (e: unknown) => e instanceof RelayError && e.code === 'E_INVALID_STATE');
    const workersUsed = new Set<number>();
    const open: { close(): void }[] = [];
    for (let call = 0; call < 4; call++) {
      const suite = 'AES_CM_128_HMAC_SHA1_80' as const;
      const aKey = randomBytes(16), aSalt = randomBytes(14), toA = randomBytes(16), toASalt = randomBytes(14);
      await lib.session(`w${call}tx`, 'out', suite, aKey, aSalt);
      await lib.session(`w${call}rx`, 'in', suite, toA, toASalt);
      const s = relay.createSession(`wcall-${call}`);
      const a = await s.addStream(s.createLeg('a'), { rtcpMux: true });
      const b = await s.addStream(s.createLeg('b'), { rtcpMux: true });
      assert.ok(a instanceof RemoteMediaStream && b instanceof RemoteMediaStream);
      assert.equal(a.worker, b.worker, 'both legs of a call share a worker');
      workersUsed.add(a.worker.index);
      linkStreams(a, b);
      const peerA = await UdpPeer.open(), peerB = await UdpPeer.open();
      a.setRemote({ address: '127.0.0.1', port: peerA.port });
      b.setRemote({ address: '127.0.0.1', port: peerB.port });
      a.setInboundCrypto({ suite, masterKey: aKey, masterSalt: aSalt });
      a.setOutboundCrypto({ suite, masterKey: toA, masterSalt: toASalt });
      b.setInboundCrypto(null);
      b.setOutboundCrypto(null);
      const latched = new Promise((resolve) => a.once('latch', resolve));
      const sent: Uint8Array[] = [];
      for (let seq = 0; seq < 20; seq++) {
        const p = rtp({ seq, ssrc: 100 + call, payload: randomBytes(160) });
        sent.push(p);
        await peerA.send(await lib.protectRtp(`w${call}tx`, p), a.rtpPort.port);
      }
      const got = await peerB.waitFor(20);
      assert.equal(got.length, 20);
      got.forEach((g, i) => assert.deepEqual(new Uint8Array(g), sent[i]));
      await latched;
      assert.equal(a.latchedRtp?.port, peerA.port);
      const back = rtp({ seq: 9, ssrc: 900 + call, payload: randomBytes(40) });
      await peerB.send(back, b.rtpPort.port);
      const [atA] = await peerA.waitFor(1);
      assert.deepEqual(await lib.unprotectRtp(`w${call}rx`, atA!), back);
      // A forged packet is dropped in the worker and counted.
      const forged = await lib.protectRtp(`w${call}tx`, rtp({ seq: 50, ssrc: 100 + call }));
      forged[forged.length - 1]! ^= 1;
      await peerA.send(forged, a.rtpPort.port);
      await peerB.settle(100);
      assert.equal(peerB.received.length, 20);
      await relay.syncStats();
      assert.equal(a.stats.packetsIn, 20);
      assert.equal(a.stats.drops.auth, 1);
      assert.equal(b.stats.packetsOut, 20);
      open.push(s);
      await peerA.close(); await peerB.close();
    }
    assert.equal(workersUsed.size, 2);
    assert.equal(relay.ports.inUse, 8);
    for (const s of open) s.close();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(relay.ports.inUse, 0, 'ports come back once the workers closed their sockets');
  });
});
