// Relay throughput IPv4 → IPv6 against IPv4 → IPv4 (SRTP → SRTP re-encrypted, 172-byte
// packets, one call, io backend as configured): the same relay, two calls that differ only in
// the answerer leg's interface. A worker thread sends from 127.0.0.1 at a fixed rate and
// counts what reaches the sink (127.0.0.1 or ::1); the relay's own CPU per packet comes from
// the main thread's event-loop utilisation. Short (~16 s): run it alone.
//
//   node --import tsx bench/dualStack.bench.ts [--rate 30000] [--seconds 3] [--io auto|dgram|native]
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Relay, type RelayIo } from '../src/session/Relay.ts';
import { linkStreams } from '../src/session/MediaStream.ts';
import { createSrtpSessionSync } from '../src/SrtpSession.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
};
const RATE = Number(arg('rate', '30000'));
const SECONDS = Number(arg('seconds', '3'));
const IO = arg('io', 'auto') as RelayIo;
const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;

// Sender and sink in one worker: paced sends in 1 ms slices, counts arrivals.
const LOADGEN = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { packets, rate, seconds, relayPort, sinkAddress } = workerData;
const tx = dgram.createSocket('udp4');
const rx = dgram.createSocket(sinkAddress.includes(':') ? 'udp6' : 'udp4');
let got = 0;
rx.on('message', () => { got++; });
rx.bind(0, sinkAddress, () => {
  tx.bind(0, '127.0.0.1', () => {
    parentPort.postMessage({ t: 'ready', sinkPort: rx.address().port, txPort: tx.address().port });
  });
});
parentPort.on('message', (m) => {
  if (m.t !== 'go') return;
  const total = Math.min(packets.length, Math.floor(rate * seconds));
  const start = Date.now();
  let sent = 0;
  const tick = () => {
    const due = Math.min(total, Math.floor((Date.now() - start) / 1000 * rate));
    while (sent < due) tx.send(packets[sent++], relayPort, '127.0.0.1');
    if (sent < total) setTimeout(tick, 1);
    else setTimeout(() => { parentPort.postMessage({ t: 'done', sent, got }); tx.close(); rx.close(); }, 300);
  };
  tick();
});
`;

interface Row { sink: string; sent: number; got: number; usPerPkt: number; seconds: number }

async function run(relay: Relay, sinkInterface: 'v4' | 'v6'): Promise<Row> {
  const sinkAddress = sinkInterface === 'v4' ? '127.0.0.1' : '::1';
  const s = relay.createSession(`bench-${sinkInterface}`);
  const a = await s.addStream(s.createLeg('a'), { rtcpMux: true, interface: 'v4' });
  const b = await s.addStream(s.createLeg('b'), { rtcpMux: true, interface: sinkInterface, hideTopology: sinkInterface === 'v6' });
  linkStreams(a, b);
  const key = randomBytes(16), salt = randomBytes(14);
  a.setInboundCrypto({ suite: SUITE, masterKey: key.slice(), masterSalt: salt.slice() });
  b.setOutboundCrypto({ suite: SUITE, masterKey: randomBytes(16), masterSalt: randomBytes(14) });
  // Every packet distinct (the replay window refuses repeats), protected before the clock starts.
  const sender = createSrtpSessionSync({ suite: SUITE, masterKey: key, masterSalt: salt });
  const total = Math.floor(RATE * SECONDS);
  const packets: Uint8Array[] = [];
  const plain = new Uint8Array(172);
  plain[0] = 0x80;
  for (let i = 0; i < total; i++) {
    plain[2] = (i >> 8) & 0xff; plain[3] = i & 0xff;
    plain[8] = 0x0b; plain[11] = 0x01;
    packets.push(sender.protectRtp(plain));
  }
  sender.close();
  const w = new Worker(LOADGEN, { eval: true, workerData: { packets, rate: RATE, seconds: SECONDS, relayPort: a.rtpPort.port, sinkAddress } });
  const ready = await new Promise<{ sinkPort: number; txPort: number }>((resolve) => w.once('message', resolve));
  b.setRemote({ address: sinkAddress, port: ready.sinkPort });
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  w.postMessage({ t: 'go' });
  const done = await new Promise<{ sent: number; got: number }>((resolve) => w.on('message', (m: { t: string; sent: number; got: number }) => { if (m.t === 'done') resolve(m); }));
  const elu = performance.eventLoopUtilization(elu0);
  const wall = (performance.now() - t0) / 1000;
  await w.terminate();
  s.close();
  return { sink: sinkAddress, sent: done.sent, got: done.got, usPerPkt: (elu.active * 1000) / Math.max(1, done.got), seconds: wall };
}

const relay = await Relay.create({
  io: IO, rateLimits: false, ports: { min: 51000, max: 51099 },
  interfaces: [{ name: 'v4', address: '127.0.0.1' }, { name: 'v6', address: '::1' }],
});
console.log(`relay io ${relay.ioBackends.join(',')}, offered ${RATE} pkt/s for ${SECONDS} s, SRTP→SRTP, 172-byte packets, node ${process.version}`);
console.log('| path | sent | delivered | loss | relay µs/pkt (main-thread busy) |');
console.log('|---|---|---|---|---|');
for (const iface of ['v4', 'v6', 'v4', 'v6'] as const) {
  const r = await run(relay, iface);
  const loss = (100 * (r.sent - r.got)) / Math.max(1, r.sent);
  console.log(`| 127.0.0.1 → ${r.sink} | ${r.sent} | ${r.got} | ${loss.toFixed(2)} % | ${r.usPerPkt.toFixed(2)} |`);
}
await relay.close();
