// A media worker thread: its own crypto core and packet ring, and the sockets of the streams
// the relay gave it. It carries packets and reports counters; it makes no decisions.
import { parentPort, workerData } from 'node:worker_threads';
import { MediaHost } from '../MediaHost.ts';
import { linkStreams, type MediaStream } from '../MediaStream.ts';
import { RelayError } from '../../errors.ts';
import { CookieSecret, DtlsCertificate } from '../../keying/dtls/index.ts';
import type { FromWorker, StatsItem, ToWorker, WorkerInit } from './protocol.ts';
import type { StreamIndexState } from '../indexState.ts';

const port = parentPort;
if (!port) throw new Error('mediaWorker must run in a worker thread');
const init = (workerData as { init: WorkerInit }).init;
const post = (m: FromWorker) => port.postMessage(m);

const { dtlsCertificate, ...hostInit } = init;
// The relay's certificate, so every worker answers with the fingerprint the SDP advertises.
const dtls = { certificate: DtlsCertificate.fromPem(dtlsCertificate.certPem, dtlsCertificate.keyPem), cookies: new CookieSecret() };
const host = await MediaHost.create({ ...hostInit, dtls, onSecurity: (event) => post({ t: 'security', event }), warn: () => {} });
// The host keeps its own copy of the topology secret; the one in workerData would otherwise live as long as the thread.
init.topologySecret?.fill(0);
const streams = new Map<number, MediaStream>();
const sessions = new Map<number, object>();
const timer = setInterval(() => host.tick(Date.now()), 250);

function statsOf(id: number, s: MediaStream): StatsItem {
  const st = s.stats;
  return { id, packetsIn: st.packetsIn, bytesIn: st.bytesIn, packetsOut: st.packetsOut, bytesOut: st.bytesOut,
    rtcpIn: st.rtcpIn, drops: { ...st.drops }, lastPacketAt: st.lastPacketAt, dtls: { ...s.dtlsStats } };
}

function wipe(b: Uint8Array): void { b.fill(0); }

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'bind': {
      let key = sessions.get(m.sessionId);
      if (!key) { key = {}; sessions.set(m.sessionId, key); }
      host.bindStream(m.family, m.address, m.port, { index: m.index, rtcpMux: m.rtcpMux, strictSource: m.strictSource, sessionKey: key, hideTopology: m.hideTopology })
        .then((s) => {
          streams.set(m.id, s);
          s.on('latch', ({ rtcp, endpoint }) => post({ t: 'latch', id: m.id, rtcp, endpoint }));
          s.on('keysoftlimit', (e) => post({ t: 'keysoftlimit', id: m.id, ...e }));
          s.on('dtlskeys', ({ inbound, outbound }) => {
            // Transferred, not cloned: no copy stays here (the stream wipes its own after this).
            const msg: FromWorker = { t: 'dtls-keys', id: m.id, inbound: { ...inbound }, outbound: { ...outbound } };
            port.postMessage(msg, [inbound.masterKey.buffer, inbound.masterSalt.buffer, outbound.masterKey.buffer, outbound.masterSalt.buffer] as ArrayBuffer[]);
          });
          s.on('dtlsconnected', ({ suite }) => post({ t: 'dtls-connected', id: m.id, suite }));
          s.on('dtlserror', ({ code, message }) => post({ t: 'dtls-error', id: m.id, code, message }));
          post({ t: 'bound', id: m.id });
        }, (e: unknown) => {
          const err = e as Error & { code?: string };
          post({ t: 'bound', id: m.id, error: { code: err.code ?? 'E_INTERNAL', message: err.message } });
        });
      return;
    }
    case 'link': {
      const a = streams.get(m.a), b = streams.get(m.b);
      if (a && b) linkStreams(a, b);
      return;
    }
    case 'remote':
      streams.get(m.id)?.setRemote(m.rtp, m.rtcp);
      return;
    case 'crypto': {
      const s = streams.get(m.id);
      try {
        const spec = m.spec;
        if (s) {
          if (m.dir === 'in') s.setInboundCrypto(spec); else s.setOutboundCrypto(spec);
        }
      } catch (e) {
        post({ t: 'fault', id: m.id, message: e instanceof RelayError || e instanceof Error ? e.message : 'crypto setup failed' });
      } finally {
        if (m.spec) {
          wipe(m.spec.masterKey); wipe(m.spec.masterSalt);
          for (const k of m.spec.moreKeys ?? []) { wipe(k.masterKey); wipe(k.masterSalt); }
        }
      }
      return;
    }
    case 'dtls-start':
    case 'dtls-fingerprints': {
      const s = streams.get(m.id);
      try {
        if (m.t === 'dtls-start') {
          s?.startDtls({ role: m.role, remoteFingerprints: m.remoteFingerprints, ...(m.srtpPolicy ? { srtpPolicy: m.srtpPolicy } : {}),
            ...(m.exportKeys === true ? { exportKeys: true } : {}), ...(m.keepKeys === true ? { keepKeys: true } : {}) });
        }
        else s?.setRemoteFingerprints(m.remoteFingerprints);
      } catch (e) {
        // The main thread made the same checks before posting, so this is unexpected.
        post({ t: 'fault', id: m.id, message: e instanceof Error ? e.message : 'DTLS setup failed' });
      }
      return;
    }
    case 'rate':
      streams.get(m.id)?.setRateLimit(m.rate);
      return;
    case 'index-state':
    case 'index-floor': {
      const s = streams.get(m.id);
      const fail = (e: unknown) => {
        const err = e as Error & { code?: string };
        post({ t: 'index-reply', id: m.id, req: m.req, error: { code: err.code ?? 'E_INTERNAL', message: err.message } });
      };
      if (!s) { fail(new RelayError('E_NOT_FOUND', 'no such stream in the worker', { id: m.id })); return; }
      if (m.t === 'index-state') s.indexState().then((state) => post({ t: 'index-reply', id: m.id, req: m.req, state }), fail);
      else s.applyIndexFloor(m.floor).then(() => post({ t: 'index-reply', id: m.id, req: m.req }), fail);
      return;
    }
    case 'close-read': {
      const s = streams.get(m.id);
      streams.delete(m.id);
      const reply = (state: StreamIndexState | undefined, e?: unknown): void => {
        const err = e as (Error & { code?: string }) | undefined;
        post(err ? { t: 'index-reply', id: m.id, req: m.req, error: { code: err.code ?? 'E_INTERNAL', message: err.message } }
          : { t: 'index-reply', id: m.id, req: m.req, state });
      };
      if (!s) { reply(undefined, new RelayError('E_NOT_FOUND', 'no such stream in the worker', { id: m.id })); return; }
      // The read and the socket close happen synchronously inside this call, so no packet of
      // this worker is handled between them; the promise only carries the result.
      s.closeWithIndexState().then((state) => reply(state), (e: unknown) => reply(undefined, e));
      return;
    }
    case 'set': {
      const s = streams.get(m.id);
      if (s) { s.rtcpMux = m.rtcpMux; s.strictSource = m.strictSource; }
      return;
    }
    case 'close': {
      const s = streams.get(m.id);
      streams.delete(m.id);
      s?.close();
      post({ t: 'closed', id: m.id });
      return;
    }
    case 'session-closed':
      sessions.delete(m.sessionId);
      return;
    case 'stats': {
      const items: StatsItem[] = [];
      for (const [id, s] of streams) items.push(statsOf(id, s));
      post({ t: 'stats', req: m.req, items });
      return;
    }
    case 'shutdown':
      clearInterval(timer);
      for (const s of streams.values()) s.close();
      streams.clear();
      host.close();
      port.close();
      return;
  }
});

post({ t: 'ready', build: host.core.build, io: host.batchedIo ? 'native' : 'dgram' });
