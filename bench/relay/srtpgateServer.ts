// srtpgate under test, driven through its embedding API until the ng control server exists.
// Run as a child process by bench/relay/srtpgateDriver.ts so the relay has a process (and an
// event loop) of its own, as it would in production, and its CPU time can be read apart
// from the bench's. Requests and replies: bench/relay/srtpgateProtocol.ts.
//   node --import tsx bench/relay/srtpgateServer.ts [--port-min 24000] [--port-max 25999] [--io auto] [--workers 0]
// For each call it plays what an ng offer/answer would do: two legs, one rtcp-mux stream
// each, A's key inbound on leg A, a fresh relay-chosen key outbound on leg B (or plain RTP),
// and the far ends' addresses from the plan.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Relay, type RelayIo } from '../../src/session/Relay.ts';
import { linkStreams, type StreamCrypto } from '../../src/session/MediaStream.ts';
import type { Session } from '../../src/session/Session.ts';
import { DROP_REASONS } from '../../src/media/StreamStats.ts';
import type { ServerReply, ServerRequest } from './srtpgateProtocol.ts';
import { BENCH_SUITES, type CallPlan, type CallSetup, type SrtpKey } from './types.ts';

function toStreamCrypto(k: SrtpKey): StreamCrypto {
  return { suite: k.suite, masterKey: Buffer.from(k.key, 'hex'), masterSalt: Buffer.from(k.salt, 'hex') };
}

/** The key the relay sends with on leg B: new, as srtpgate never copies a key across legs. */
function relayKey(suite: SrtpKey['suite']): SrtpKey {
  const l = BENCH_SUITES[suite];
  return { suite, key: randomBytes(l.keyLen).toString('hex'), salt: randomBytes(l.saltLen).toString('hex') };
}

async function setupCall(relay: Relay, plan: CallPlan): Promise<CallSetup> {
  const session = relay.createSession(plan.callId);
  try {
    const legA = session.createLeg('a');
    const legB = session.createLeg('b');
    const a = await session.addStream(legA, { rtcpMux: true });
    const b = await session.addStream(legB, { rtcpMux: true });
    linkStreams(a, b);
    a.setRemote(plan.sender);
    b.setRemote(plan.receiver);
    a.setInboundCrypto(toStreamCrypto(plan.senderKey));
    // Leg A's outbound direction carries nothing here, but a real call has it keyed too.
    a.setOutboundCrypto(toStreamCrypto(relayKey(plan.senderKey.suite)));
    b.setInboundCrypto(plan.receiverKey ? toStreamCrypto(plan.receiverKey) : null);
    const outKey = plan.receiverKey ? relayKey(plan.receiverKey.suite) : null;
    b.setOutboundCrypto(outKey ? toStreamCrypto(outKey) : null);
    return {
      relayA: { address: relay.advertisedAddress, port: a.rtpPort.port },
      relayB: { address: relay.advertisedAddress, port: b.rtpPort.port },
      outKey,
    };
  } catch (e) {
    session.close();
    throw e;
  }
}

/** Sums every stream's counters: where packets went when a trial loses some. */
function stats(relay: Relay): Record<string, number> {
  const out: Record<string, number> = { sessions: relay.sessionCount, packetsIn: 0, packetsOut: 0 };
  if (relay.workerCount === 0) {
    out.sendErrors = relay.dataPath.ring.sendErrors;
    // Source addresses banned for failed authentication: a ban of 127.0.0.1 would silence
    // every call of the bench that has not latched yet.
    out.bans = relay.sources?.bans ?? 0;
  }
  for (const r of DROP_REASONS) out[`drop.${r}`] = 0;
  for (const s of relay.sessions()) {
    for (const l of s.legs) {
      for (const st of l.streams) {
        out.packetsIn! += st.stats.packetsIn;
        out.packetsOut! += st.stats.packetsOut;
        for (const r of DROP_REASONS) out[`drop.${r}`]! += st.stats.drops[r];
      }
    }
  }
  return out;
}

async function handle(relay: Relay, req: ServerRequest): Promise<ServerReply> {
  switch (req.op) {
    case 'setup': {
      // One call at a time: binding is cheap and order keeps port numbers readable.
      const calls: CallSetup[] = [];
      for (const plan of req.calls) calls.push(await setupCall(relay, plan));
      return { ok: true, op: 'setup', calls };
    }
    case 'teardown':
      for (const id of req.callIds) relay.getSession(id)?.close('deleted');
      return { ok: true, op: 'teardown' };
    case 'cpu': {
      const u = process.cpuUsage();
      return { ok: true, op: 'cpu', user: u.user / 1e6, system: u.system / 1e6 };
    }
    case 'stats':
      return { ok: true, op: 'stats', stats: stats(relay) };
    case 'quit':
      return { ok: true, op: 'quit' };
  }
}

const UNLIMITED = { pps: 0, bps: 0 };

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    'port-min': { type: 'string', default: '24000' },
    'port-max': { type: 'string', default: '25999' },
    io: { type: 'string', default: 'auto' },
    workers: { type: 'string', default: '0' },
  } });
  const ports = { min: Number(values['port-min']), max: Number(values['port-max']) };
  const io = values.io;
  if (io !== 'auto' && io !== 'dgram' && io !== 'native') throw new Error(`--io auto|dgram|native, not ${io}`);
  const relay = await Relay.create({
    ports,
    io: io satisfies RelayIo,
    workers: Number(values.workers),
    // Sessions must outlive the whole bench run; the search pauses between trials.
    mediaTimeout: 3600,
    maxSessions: 10000,
    // The default flood control caps a stream at 1000 pkt/s and a source address at 5000
    // (every generator socket is 127.0.0.1): rates of 0 lift the caps but keep the checks,
    // so the per-packet cost of the production path is still measured.
    rateLimits: { stream: UNLIMITED, session: UNLIMITED, source: UNLIMITED },
  });
  const write = (r: ServerReply): void => { process.stdout.write(`${JSON.stringify(r)}\n`); };
  // With media workers the core and the I/O backend live in the workers.
  const inThread = relay.workerCount === 0;
  write({
    ok: true, op: 'ready', version: packageVersion(),
    core: inThread ? relay.core.build : 'per-worker',
    io: `${relay.ioBackends.join('+')}${inThread ? '' : ` in ${relay.workerCount} media workers`}`,
    ports,
  });

  const lines = createInterface({ input: process.stdin });
  // Requests are handled strictly in order, so replies need no ids.
  let chain = Promise.resolve();
  lines.on('line', (line) => {
    chain = chain.then(async () => {
      let reply: ServerReply;
      let quit = false;
      try {
        const req = JSON.parse(line) as ServerRequest;
        reply = await handle(relay, req);
        quit = req.op === 'quit';
      } catch (e) {
        reply = { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      write(reply);
      if (quit) { relay.close(); lines.close(); }
    });
  });
  lines.on('close', () => { void chain.then(() => { relay.close(); process.exit(0); }); });
}

main().catch((e: unknown) => {
  process.stderr.write(`srtpgateServer: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
