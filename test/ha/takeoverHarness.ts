// What the takeover e2e tests share: Redis, libsrtp2 and two replicating daemons (A and B) on one
// media range, a two-way SRTP stream with a record of what went out, and the checks made after
// A dies (every arrival opens once at the far end, loss only during the switch, replays refused,
// no key readable in Redis).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { DaemonProcess, type DaemonLogLine } from '../helpers/daemon.ts';
import { NgClient, type BVal } from '../helpers/ngClient.ts';
import { rtp } from '../helpers/packets.ts';
import { LibsrtpPeer, skipOrFail, skipReason } from '../interop/libsrtp.ts';
import { REDIS_SKIP, RedisServer } from './redisServer.ts';
import { seqOf, sleep, ssrcOf, type Endpoint } from './callHelpers.ts';

export const PACKET_MS = 20;
export const ALICE_SSRC = 0xa11ce;
export const BOB_SSRC = 0xb0b;
const ALICE_SEQ0 = 1000;
const BOB_SEQ0 = 30_000;

type NgDict = { [k: string]: BVal };

/** One ng request that must succeed; its reply. */
export async function ngOk(ng: NgClient, d: NgDict): Promise<NgDict> {
  const r = await ng.request(d);
  assert.equal(r.reply.result, 'ok', JSON.stringify(r.reply));
  return r.reply;
}

export interface HaPair { A: DaemonProcess; B: DaemonProcess; ngA: NgClient; ngB: NgClient }

export interface PairOptions {
  token: string;
  portMin: number;
  workers: number;
  /** B takes over by itself when A's heartbeat expires; otherwise it waits for POST /v1/ha/takeover. */
  autoTakeover: boolean;
}

/**
 * Redis, libsrtp2 and what a test starts on them, stopped together. `setUp`/`tearDown` go in a
 * describe's before/after; `ready` skips (or fails under CI) when Redis or libsrtp2 is missing.
 */
export class TakeoverRig {
  redis: RedisServer | null = null;
  lib: LibsrtpPeer | null = null;
  readonly #daemons: DaemonProcess[] = [];
  readonly #daemonsExited: Promise<unknown>[] = [];
  readonly #clients: NgClient[] = [];
  readonly #closers: (() => void | Promise<void>)[] = [];

  async setUp(): Promise<void> {
    this.redis = await RedisServer.start();
    this.lib = await LibsrtpPeer.start();
  }

  async tearDown(): Promise<void> {
    for (const c of this.#closers.reverse()) await c();
    for (const c of this.#clients) await c.close();
    DaemonProcess.killAll();
    await Promise.all(this.#daemonsExited);
    await this.lib?.close();
    await this.redis?.stop();
  }

  /** Redis and libsrtp2 when both are there; null after skipping the test. */
  ready(t: TestContext): { redis: RedisServer; lib: LibsrtpPeer } | null {
    if (!this.redis) { skipOrFail(t, REDIS_SKIP); return null; }
    if (!this.lib) { skipOrFail(t, skipReason()); return null; }
    return { redis: this.redis, lib: this.lib };
  }

  /** Runs at tearDown, last registered first. */
  onTearDown(...fns: (() => void | Promise<void>)[]): void { this.#closers.push(...fns); }

  /** Daemons A and B replicating through this Redis, each the other's peer, with an ng client each. */
  async startPair(o: PairOptions): Promise<HaPair> {
    // Each test starts clean: daemons an earlier (possibly failed) test left running share the
    // node ids and media ports, and its records would otherwise be taken over in this test.
    for (const d of this.#daemons.splice(0)) d.kill();
    await Promise.all(this.#daemonsExited.splice(0));
    await this.redis!.cli('FLUSHALL');
    const stateKey = randomBytes(32).toString('base64');
    const redisUrl = this.redis!.url;
    const config = (node: string, peer: string): object => ({
      ng: { address: '127.0.0.1', port: 0, commandsPerSecond: 0 },
      http: { address: '127.0.0.1', port: 0, token: o.token },
      media: { address: '127.0.0.1', portMin: o.portMin, portMax: o.portMin + 199, workers: o.workers },
      ha: { redisUrl, nodeId: node, stateKey, peers: peer, autoTakeover: o.autoTakeover },
    });
    const [A, B] = await Promise.all([DaemonProcess.start(config('A', 'B')), DaemonProcess.start(config('B', 'A'))]);
    this.#daemons.push(A, B);
    this.#daemonsExited.push(A.exited, B.exited);
    const ngA = await NgClient.open(A.ng), ngB = await NgClient.open(B.ng);
    this.#clients.push(ngA, ngB);
    return { A, B, ngA, ngB };
  }
}

export interface SentPacket { seq: number; at: number; wire: Uint8Array }

export interface TwoWayStream {
  readonly sent: { alice: SentPacket[]; bob: SentPacket[] };
  /** Ends the stream after the packet pair in flight, and lets the last packets land (300 ms). */
  stop(): Promise<void>;
}

/**
 * Alice (SSRC ALICE_SSRC) and bob (BOB_SSRC) each send one packet every PACKET_MS, protected in
 * their libsrtp2 sessions, until stopped.
 */
export function streamBothWays(lib: LibsrtpPeer, o: {
  aliceTx: string; bobTx: string;
  sendAlice: (wire: Uint8Array) => Promise<void>; sendBob: (wire: Uint8Array) => Promise<void>;
}): TwoWayStream {
  const sent = { alice: [] as SentPacket[], bob: [] as SentPacket[] };
  let streaming = true;
  const loop = (async () => {
    for (let i = 0; streaming; i++) {
      const pa = rtp({ seq: ALICE_SEQ0 + i, ssrc: ALICE_SSRC, payload: randomBytes(160) });
      const pb = rtp({ seq: BOB_SEQ0 + i, ssrc: BOB_SSRC, payload: randomBytes(160) });
      const [wa, wb] = await Promise.all([lib.protectRtp(o.aliceTx, pa), lib.protectRtp(o.bobTx, pb)]);
      const at = Date.now();
      sent.alice.push({ seq: ALICE_SEQ0 + i, at, wire: wa });
      sent.bob.push({ seq: BOB_SEQ0 + i, at, wire: wb });
      await Promise.all([o.sendAlice(wa), o.sendBob(wb)]);
      await sleep(PACKET_MS);
    }
  })();
  return {
    sent,
    async stop() {
      streaming = false;
      await loop.catch(() => {});
      await sleep(300);
    },
  };
}

/**
 * Opens every arrival in the far end's libsrtp2 receiver (a replay or auth failure throws) and
 * checks its SSRC and that no index arrived twice; the sequence numbers received.
 */
export async function openEach(lib: LibsrtpPeer, arrivals: readonly { msg: Buffer }[], session: string, ssrc: number): Promise<Set<number>> {
  const seqs = new Set<number>();
  for (const { msg } of arrivals) {
    const plain = await lib.unprotectRtp(session, msg);
    assert.equal(ssrcOf(plain), ssrc);
    const seq = seqOf(plain);
    assert.ok(!seqs.has(seq), `index ${seq} reached the far end twice`);
    seqs.add(seq);
  }
  return seqs;
}

/**
 * Loss only during the switch: every packet sent before the kill or after the takeover (100 ms
 * either side for flight time) arrived, and some packet sent after the kill got through B.
 */
export function assertLossOnlyDuringSwitch(
  t: TestContext, directions: readonly (readonly [string, readonly SentPacket[], Set<number>])[], killedAt: number, takeoverAt: number,
): void {
  for (const [name, list, got] of directions) {
    const lost = list.filter((p) => !got.has(p.seq));
    for (const p of lost) {
      assert.ok(p.at >= killedAt - 100 && p.at <= takeoverAt + 100, `${name}: seq ${p.seq} lost ${p.at - killedAt} ms after the kill (takeover at +${takeoverAt - killedAt} ms)`);
    }
    const firstAfter = list.find((p) => p.at > killedAt && got.has(p.seq));
    assert.ok(firstAfter, `${name}: media flows again through B`);
    t.diagnostic(`${name}: ${list.length} sent, ${lost.length} lost during the switch; first packet through B sent ${firstAfter.at - killedAt} ms after SIGKILL`);
  }
}

/** When A was killed, and B's log lines for noticing it and for the takeover. */
export interface Switch { killedAt: number; gone: DaemonLogLine; done: DaemonLogLine }

/**
 * SIGKILLs A and waits until B notices its heartbeat is gone, runs `beforeTakeover` (e.g. the
 * takeover command), and waits for B's takeover of the one call.
 */
export async function killAndTakeOver(A: DaemonProcess, B: DaemonProcess, beforeTakeover?: () => Promise<void>): Promise<Switch> {
  const killedAt = Date.now();
  A.kill();
  const gone = await B.waitForLog('ha: peer heartbeat gone', 10_000);
  await beforeTakeover?.();
  return { killedAt, gone, done: await takeoverDone(B) };
}

/**
 * After the stream stopped: every packet each far end received opens once in its libsrtp2
 * receiver (`bob.rx` gets alice's SSRC, `alice.rx` bob's), and each direction lost only what was
 * sent during the switch.
 */
export async function assertDeliveredAcrossSwitch(t: TestContext, lib: LibsrtpPeer, sent: TwoWayStream['sent'], far: {
  alice: { arrivals: readonly { msg: Buffer }[]; rx: string; label: string }; bob: { arrivals: readonly { msg: Buffer }[]; rx: string; label: string };
}, sw: Switch): Promise<void> {
  const atBob = await openEach(lib, far.bob.arrivals, far.bob.rx, ALICE_SSRC);
  const atAlice = await openEach(lib, far.alice.arrivals, far.alice.rx, BOB_SSRC);
  assertLossOnlyDuringSwitch(t, [[far.bob.label, sent.alice, atBob], [far.alice.label, sent.bob, atAlice]], sw.killedAt, Date.parse(sw.done.ts));
}

/** B's log line for a takeover of A's one call, none failed. */
export async function takeoverDone(B: DaemonProcess): Promise<DaemonLogLine> {
  const done = await B.waitForLog('ha: takeover done', 10_000);
  assert.equal(done.context.calls, 1, JSON.stringify(done.context));
  assert.equal(done.context.failed, 0);
  return done;
}

/** The attacker sends each captured packet again to the relay port it first went to; no far end gets one. */
export async function assertReplaysRefused(
  attacker: Endpoint, replays: readonly (readonly [readonly SentPacket[], number])[], farEnds: Record<string, { readonly arrivals: readonly unknown[] }>,
): Promise<void> {
  const counts = Object.entries(farEnds).map(([name, f]) => [name, f, f.arrivals.length] as const);
  for (const [list, port] of replays) for (const p of list) await attacker.send(p.wire, port);
  await sleep(500);
  for (const [name, f, n] of counts) assert.equal(f.arrivals.length, n, `a replayed packet from before the switch was forwarded to ${name}`);
}

/** What an attacker replays to B: the newest packets A forwarded (inside the last mark's margin) and old ones. */
export function replaysFromBeforeKill(list: readonly SentPacket[], killedAt: number): SentPacket[] {
  const before = list.filter((p) => p.at < killedAt - 50);
  return [...before.slice(-30), ...before.slice(0, 10)];
}

/** `${name}Key`, `${name}Salt` and `${name}KeySalt` for each named key and salt. */
export function keySecrets(named: Record<string, readonly [Buffer, Buffer]>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, [key, salt]] of Object.entries(named)) {
    out[`${name}Key`] = key;
    out[`${name}Salt`] = salt;
    out[`${name}KeySalt`] = Buffer.concat([key, salt]);
  }
  return out;
}

/** Every spelling a key could leak in: raw bytes, hex (both cases), base64 padded and not, base64url. */
function spellings(secret: Buffer): Buffer[] {
  const b64 = secret.toString('base64');
  return [secret, Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('hex').toUpperCase()),
    Buffer.from(b64), Buffer.from(b64.replace(/=+$/, '')), Buffer.from(secret.toString('base64url'))];
}

/** Every key in Redis with its value (strings as stored, other types as DUMP output). */
export async function dumpRedis(url: string): Promise<Map<string, Buffer>> {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await c.connect();
  try {
    const out = new Map<string, Buffer>();
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const v = (await c.type(k)) === 'string' ? await c.getBuffer(k) : await c.dumpBuffer(k);
        if (v !== null) out.set(k, v);
      }
    } while (cursor !== '0');
    return out;
  } finally {
    c.disconnect();
  }
}

/** Redis holds state, and no secret is readable in any key or value in any spelling. */
export function assertNoSecrets(dump: Map<string, Buffer>, secrets: Record<string, Buffer>): void {
  assert.ok(dump.size > 0, 'Redis holds the call state');
  for (const [key, value] of dump) {
    const haystack = Buffer.concat([Buffer.from(key), Buffer.from(' '), value]);
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form of spellings(secret)) assert.equal(haystack.indexOf(form), -1, `${name} readable in Redis key ${key}`);
    }
  }
}

/** After the takeover, B holds the call and nothing of A's is left in Redis. */
export function assertOnlyBRecords(dump: Map<string, Buffer>, callId: string): void {
  const keys = [...dump.keys()];
  assert.ok(keys.includes(`srtpgate:call:B:${callId}`), keys.join(', '));
  assert.ok(!keys.some((k) => k.startsWith('srtpgate:call:A:') || k.startsWith('srtpgate:idx:A:')), keys.join(', '));
}
