// Two real networks: the relay in the root namespace with an 'internal' IPv4 interface on one
// veth and an 'external' IPv6 interface on another; each libsrtp2 endpoint lives in its own
// network namespace (`ip netns exec`), reachable only over its veth, with private addresses
// (10.x, fdxx::) that exist nowhere else. A call internal IPv4 ↔ external IPv6, driven over
// ng: media bit-exact both ways, and no internal address in the external side's SDP (c=, o=,
// a=rtcp) or in the RTCP it receives (SDES decrypted with the endpoint's own key).
//
// Needs root (CAP_NET_ADMIN) and iproute2; without them the test skips with the reason (and
// fails under CI=true). Namespaces and veths are deleted in after(), even on failure.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { Relay } from '../../src/session/Relay.ts';
import { CallController } from '../../src/control/CallController.ts';
import { ControlServer } from '../../src/control/ControlServer.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';
import { compound, readSdes, sdesPacket } from '../helpers/rtcpSdes.ts';
import { SUITE, b64, mPort, relayCrypto, sdesSdp, srtpBurst } from '../helpers/sdesCall.ts';

const IPROUTE_INSTALL = 'apt-get install -y iproute2 (and run as root: ip netns needs CAP_NET_ADMIN)';

function ip(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _out, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

// The endpoint's network half, run inside a namespace: a UDP socket that sends what stdin
// says and prints what arrives. Crypto stays with libsrtp2 in the test process.
const ENDPOINT = `
const dgram = require('node:dgram'); const rl = require('node:readline');
const [addr] = process.argv.slice(1);
const s = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m, r) => process.stdout.write('recv ' + m.toString('hex') + ' ' + r.address + ' ' + r.port + '\\n'));
s.bind(0, addr, () => process.stdout.write('port ' + s.address().port + '\\n'));
rl.createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, hex, port, to] = l.split(' ');
  if (cmd === 'send') s.send(Buffer.from(hex, 'hex'), Number(port), to, () => process.stdout.write('sent\\n'));
});
process.stdin.on('end', () => process.exit(0));
`;

/** One UDP endpoint inside a namespace. */
class NsEndpoint {
  readonly received: { data: Buffer; address: string; port: number }[] = [];
  port = 0;
  readonly #child: ChildProcessWithoutNullStreams;
  #waiters: (() => void)[] = [];

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const f = line.split(' ');
      if (f[0] === 'port') this.port = Number(f[1]);
      if (f[0] === 'recv') this.received.push({ data: Buffer.from(f[1]!, 'hex'), address: f[2]!, port: Number(f[3]) });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async start(ns: string, address: string): Promise<NsEndpoint> {
    const e = new NsEndpoint(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', ENDPOINT, address], { stdio: ['pipe', 'pipe', 'pipe'] }));
    await e.#until(() => e.port > 0, 5000, `endpoint in ${ns} did not start`);
    return e;
  }

  send(data: Uint8Array, port: number, address: string): void {
    this.#child.stdin.write(`send ${Buffer.from(data).toString('hex')} ${port} ${address}\n`);
  }

  async waitFor(n: number, ms = 3000): Promise<Buffer[]> {
    await this.#until(() => this.received.length >= n, ms, `expected ${n} datagrams, got ${this.received.length}`);
    return this.received.map((r) => r.data);
  }

  async #until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(what);
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.#waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  close(): void {
    this.#child.stdin.end();
    this.#child.kill('SIGKILL');
  }
}

/** Session id 99 in o=, which the relay keeps when it rewrites the address. */
const sdp = (family: 'IP4' | 'IP6', address: string, port: number, crypto: string, tag = 1): string => sdesSdp(family, address, port, crypto, tag, 99);
/** c=, o= and a=rtcp lines, the a=rtcp port elided (it is the RTP port or the next one, by rtcp-mux). */
const addressLines = (s: string) => s.split('\r\n').filter((l) => /^(c=|o=|a=rtcp:)/.test(l)).map((l) => l.replace(/^a=rtcp:\d+/, 'a=rtcp:N'));

describe('network namespaces: internal IPv4 ↔ external IPv6 across two veths', () => {
  // Unique per run: two test processes (or a leftover) never collide.
  const id = `${process.pid % 10000}${randomBytes(2).toString('hex')}`;
  const net = 16 + (process.pid % 200);
  const nsIn = `sgin${id}`, nsOut = `sgout${id}`;
  const vethIn = `sgi${id}`, vethOut = `sgo${id}`;
  const inside = { relay: `10.231.${net}.1`, peer: `10.231.${net}.2` };
  const outside = { relay: `fd53:7267:${net.toString(16)}::1`, peer: `fd53:7267:${net.toString(16)}::2` };
  let setupError: string | null = null;
  let relay: Relay | null = null;
  let server: ControlServer | null = null;
  let ng: NgClient | null = null;
  let lib: LibsrtpPeer | null = null;
  const endpoints: NsEndpoint[] = [];

  before(async () => {
    try {
      await ip('netns', 'add', nsIn);
      await ip('netns', 'add', nsOut);
      for (const [veth, ns] of [[vethIn, nsIn], [vethOut, nsOut]] as const) {
        await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
        await ip('link', 'set', `${veth}p`, 'netns', ns);
        await ip('link', 'set', veth, 'up');
        await ip('-n', ns, 'link', 'set', `${veth}p`, 'up');
        await ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
      await ip('addr', 'add', `${inside.relay}/24`, 'dev', vethIn);
      await ip('-n', nsIn, 'addr', 'add', `${inside.peer}/24`, 'dev', `${vethIn}p`);
      // nodad: usable at once, no duplicate-address-detection wait.
      await ip('-6', 'addr', 'add', `${outside.relay}/64`, 'dev', vethOut, 'nodad');
      await ip('-6', '-n', nsOut, 'addr', 'add', `${outside.peer}/64`, 'dev', `${vethOut}p`, 'nodad');
    } catch (e) {
      setupError = `ip netns/veth not permitted here (${(e as Error).message.slice(0, 160)}); ${IPROUTE_INSTALL}`;
      return;
    }
    relay = await Relay.create({
      ports: { min: 50500, max: 50599 },
      interfaces: [{ name: 'internal', address: inside.relay }, { name: 'external', address: outside.relay }],
    });
    server = await ControlServer.listen({ control: new CallController({ relay }), port: 0, commandsPerSecond: 0 });
    ng = await NgClient.open(server.address);
    lib = await LibsrtpPeer.start();
  });

  after(async () => {
    for (const e of endpoints) e.close();
    await ng?.close();
    await server?.close(0);
    await relay?.close();
    await lib?.close();
    // Deleting a namespace deletes the veth end inside it, and with it the pair.
    for (const ns of [nsIn, nsOut]) await ip('netns', 'del', ns).catch(() => {});
    for (const v of [vethIn, vethOut]) await ip('link', 'del', v).catch(() => {});
  });

  it('SRTP internal 10.x ↔ external fdxx::, bit-exact; no internal address in the external SDP or RTCP', { timeout: 30_000 }, async (t) => {
    if (setupError !== null) return skipOrFail(t, setupError);
    if (!lib) return skipOrFail(t, skipReason());
    const req = async (d: { [k: string]: BVal }) => {
      const r = await ng!.request(d);
      assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
      return r.reply;
    };
    const a = await NsEndpoint.start(nsIn, inside.peer);
    endpoints.push(a);
    const b = await NsEndpoint.start(nsOut, outside.peer);
    endpoints.push(b);
    const aKey = randomBytes(16), aSalt = randomBytes(14), bKey = randomBytes(16), bSalt = randomBytes(14);

    const offer = await req({ command: 'offer', 'call-id': `netns-${id}`, 'from-tag': 'inside', sdp: sdp('IP4', inside.peer, a.port, b64(aKey, aSalt)),
      direction: ['internal', 'external'], ICE: 'remove', 'received-from': ['IP4', inside.peer] });
    const toB = String(offer.sdp);
    assert.deepEqual(addressLines(toB), [`o=- 99 1 IN IP6 ${outside.relay}`, `c=IN IP6 ${outside.relay}`, `a=rtcp:N IN IP6 ${outside.relay}`]);
    assert.ok(!toB.includes('10.231.') && !toB.includes('IP4'), toB);
    const relayToB = relayCrypto(toB);

    const answer = await req({ command: 'answer', 'call-id': `netns-${id}`, 'from-tag': 'inside', 'to-tag': 'outside',
      sdp: sdp('IP6', outside.peer, b.port, b64(bKey, bSalt), relayToB.tag), 'received-from': ['IP6', outside.peer] });
    const toA = String(answer.sdp);
    assert.deepEqual(addressLines(toA), [`o=- 99 1 IN IP4 ${inside.relay}`, `c=IN IP4 ${inside.relay}`, `a=rtcp:N IN IP4 ${inside.relay}`]);
    assert.ok(!toA.includes('fd53:') && !toA.includes('IP6'), toA);
    const relayToA = relayCrypto(toA);

    await lib.session('ns-atx', 'out', SUITE, aKey, aSalt);
    await lib.session('ns-arx', 'in', SUITE, relayToA.key, relayToA.salt);
    await lib.session('ns-btx', 'out', SUITE, bKey, bSalt);
    await lib.session('ns-brx', 'in', SUITE, relayToB.key, relayToB.salt);

    // Each side hears only the relay's address on its own network.
    const sideA = { peer: a, relay: { address: inside.relay, port: mPort(toA) } }, sideB = { peer: b, relay: { address: outside.relay, port: mPort(toB) } };
    await srtpBurst(lib, { ...sideA, session: 'ns-atx' }, { ...sideB, session: 'ns-brx' }, { ssrc: 0x1a51de, count: 20, payload: 160 });
    await srtpBurst(lib, { ...sideB, session: 'ns-btx' }, { ...sideA, session: 'ns-arx' }, { ssrc: 0x0e47, count: 20, payload: 160 });

    // RTCP from inside: CNAME and TOOL name the inside host; what the external endpoint
    // decrypts with its own key carries neither, and the report block is bit-exact.
    const rr = rtcpRr(0x1a51de, 24);
    const sdes = sdesPacket([{ ssrc: 0x1a51de, items: [{ type: 1, text: `pbx@${inside.peer}` }, { type: 6, text: `pbx on ${inside.relay}` }] }]);
    a.send(await lib.protectRtcp('ns-atx', compound(rr, sdes)), mPort(toA), inside.relay);
    const rtcpAtB = await lib.unprotectRtcp('ns-brx', (await b.waitFor(21))[20]!);
    assert.deepEqual(rtcpAtB.subarray(0, rr.length), rr);
    const items = readSdes(rtcpAtB);
    assert.deepEqual(items.map((x) => [x.type, x.text.length]), [[1, `pbx@${inside.peer}`.length], [6, `pbx on ${inside.relay}`.length]]);
    const seen = Buffer.from(rtcpAtB).toString('latin1');
    assert.ok(!seen.includes('10.231.') && !seen.includes('pbx'), `internal names reached the outside: ${JSON.stringify(items.map((x) => x.text.toString('latin1')))}`);

    await req({ command: 'delete', 'call-id': `netns-${id}` });
    assert.equal(relay!.ports.inUse, 0);
  });
});
