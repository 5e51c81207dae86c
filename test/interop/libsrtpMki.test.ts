// MKI interop against the system libsrtp2 (RFC 3711 §3.1 / §3.4 MKI, RFC 4568 |MKI:len).
// srtpgate sessions are created with `mki`, given their second key with addKey() and switched
// with useKey(); the libsrtp2 peer gets the same keys through the harness's session_mki
// (policy.keys / num_master_keys) and protects with srtp_protect_mki / use_key. Both ways, SRTP
// and SRTCP, AES_CM_128_HMAC_SHA1_80 and AES_256_CM_HMAC_SHA1_80 (and the AEAD_AES_*_GCM suites,
// where the MKI goes last, RFC 7714 §9.1 / §10.1), MKI lengths 1, 2 and 4; the
// key switch happens mid-stream with packets of the old key still in flight, and an unknown or
// rewritten MKI must be refused by both. With the same keys and indexes both senders must also
// produce identical bytes (the MKI is not authenticated: HMAC suites put it between payload and
// tag, AEAD suites after the tag, and for SRTCP after the E||index word).
// Locally the tests skip when libsrtp2/gcc are missing; with CI=true they fail.
// INTEROP_SEED=<n> replays a run (the seed is in every failure message).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoCore, SrtpError, createSrtpSessionSync, suiteByName, type SrtpSession, type SuiteName } from '../../src/index.ts';
import {
  LIBSRTP_KEY_LENGTHS, LIBSRTP_MKI_SRTCP_TAG_BUG, LibsrtpPeer, LibsrtpStatus, Rng, hasMkiSrtcpTagBug, mkiHex,
  skipOrFail, skipReason, toHex, type LibsrtpMasterKey, type LibsrtpResult, type LibsrtpSuite,
} from './libsrtp.ts';

const TIMEOUT = 60_000;
const WINDOW = 1024;
const SEED = Number(process.env.MKI_SEED ?? process.env.INTEROP_SEED ?? Math.floor(Math.random() * 0x7fffffff)) >>> 0;
const MKI_SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const;
const MKI_LENGTHS = [1, 2, 4] as const;
/** The HMAC suites keep an 80-bit SRTCP tag whatever their SRTP tag (RFC 4568 §6.2). */
const SRTCP_TAG = 10;

let testNo = 0;
function rngFor(): Rng { return new Rng((SEED ^ Math.imul(++testNo, 0x85ebca6b)) >>> 0); }
const note = (what: string): string => `${what} [seed:${SEED}]`;

// ----------------------------------------------------------------- packets

function rtpPacket(rng: Rng, ssrc: number, seq: number, payload = rng.int(0, 400)): Uint8Array {
  const p = new Uint8Array(12 + payload);
  const v = new DataView(p.buffer);
  p[0] = 0x80;
  p[1] = rng.pick([0, 8, 96, 111]);
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, rng.u32());
  v.setUint32(8, ssrc >>> 0);
  p.set(rng.bytes(payload), 12);
  return p;
}

function rtcpPacket(rng: Rng, ssrc: number): Uint8Array {
  const body = 4 * rng.int(0, 60);
  const p = new Uint8Array(8 + body);
  const v = new DataView(p.buffer);
  p[0] = 0x80 | rng.int(0, 31);
  p[1] = rng.int(200, 204);
  v.setUint16(2, p.length / 4 - 1);
  v.setUint32(4, ssrc >>> 0);
  p.set(rng.bytes(body), 8);
  return p;
}

type Kind = 'rtp' | 'rtcp';

function rtpTagLen(suite: LibsrtpSuite): number { return suite.endsWith('_32') ? 4 : 10; }
const isAead = (suite: LibsrtpSuite): boolean => suite.startsWith('AEAD_');

/**
 * Where the MKI sits. HMAC: SRTP …payload | MKI | tag; SRTCP …payload | E||index | MKI | tag.
 * AEAD (the tag is part of the ciphertext): SRTP …ciphertext+tag | MKI; SRTCP …ciphertext+tag | E||index | MKI.
 */
function mkiOffset(suite: LibsrtpSuite, kind: Kind, p: Uint8Array, mkiLen: number): number {
  if (isAead(suite)) return p.length - mkiLen;
  return p.length - (kind === 'rtp' ? rtpTagLen(suite) : SRTCP_TAG) - mkiLen;
}

function readMki(suite: LibsrtpSuite, kind: Kind, p: Uint8Array, mkiLen: number): number {
  const at = mkiOffset(suite, kind, p, mkiLen);
  let v = 0;
  for (let i = 0; i < mkiLen; i++) v = v * 256 + (p[at + i] ?? 0);
  return v;
}

function withMki(suite: LibsrtpSuite, kind: Kind, p: Uint8Array, mkiLen: number, mki: number): Uint8Array {
  const q = p.slice();
  q.set(Buffer.from(mkiHex(mki, mkiLen), 'hex'), mkiOffset(suite, kind, p, mkiLen));
  return q;
}

function srtcpIndex(suite: LibsrtpSuite, p: Uint8Array, mkiLen: number): number {
  const at = p.length - mkiLen - 4 - (isAead(suite) ? 0 : SRTCP_TAG);
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(at) & 0x7fffffff;
}

// ----------------------------------------------------------------- fixture

let peer: LibsrtpPeer | null = null;
let mkiSrtcpBug = false;
let sessionNo = 0;

before(async () => {
  peer = await LibsrtpPeer.start();
  if (peer !== null) mkiSrtcpBug = await hasMkiSrtcpTagBug(peer);
});

after(async () => {
  await peer?.close();
});

/**
 * Three MKI values that fit `len` bytes, all different: the first key's, the second key's, and
 * one no session knows. For 4 bytes the first has its top bit set (a signed-int trap).
 */
function mkiValues(rng: Rng, len: number): [number, number, number] {
  const span = 2 ** (8 * len);
  const first = len === 4 ? 0x80000000 + Math.floor(rng.next() * 0x80000000) : Math.floor(rng.next() * span);
  const pickOther = (taken: readonly number[]): number => {
    for (;;) {
      const v = Math.floor(rng.next() * span);
      if (!taken.includes(v)) return v;
    }
  };
  const second = pickOther([first]);
  return [first, second, pickOther([first, second])];
}

interface MkiFixture {
  readonly suite: LibsrtpSuite;
  readonly mkiLen: number;
  readonly rng: Rng;
  readonly peer: LibsrtpPeer;
  /** keys[0] is the first key (MKI index 0), keys[1] the second, keys[2] one nobody was given. */
  readonly keys: readonly [LibsrtpMasterKey, LibsrtpMasterKey, LibsrtpMasterKey];
  /** srtpgate sender/receiver holding keys 0 and 1; a receiver that only has key 0. */
  readonly gateTx: SrtpSession;
  readonly gateRx: SrtpSession;
  readonly gateRxOld: SrtpSession;
  /** libsrtp2 sessions with keys 0 and 1, and a receiver with key 0 only. */
  readonly libTx: string;
  readonly libRx: string;
  readonly libRxOld: string;
  /** A further srtpgate session on the given keys (first one = the key protect starts with). */
  gate(keys: readonly LibsrtpMasterKey[], core?: CryptoCore): SrtpSession;
  /** A further libsrtp2 session on the given keys. */
  lib(direction: 'in' | 'out', keys: readonly LibsrtpMasterKey[]): Promise<string>;
}

async function fixture(t: TestContext, suite: LibsrtpSuite, mkiLen: number): Promise<MkiFixture | null> {
  if (peer === null) {
    skipOrFail(t, skipReason());
    return null;
  }
  if (suiteByName(suite) === undefined) {
    t.skip(`srtpgate does not support ${suite} yet (not in its suite table)`);
    return null;
  }
  const p = peer;
  const rng = rngFor();
  const { key, salt } = LIBSRTP_KEY_LENGTHS[suite];
  const mkis = mkiValues(rng, mkiLen);
  const mk = (mki: number): LibsrtpMasterKey => ({ mki, masterKey: rng.bytes(key), masterSalt: rng.bytes(salt) });
  const keys = [mk(mkis[0]), mk(mkis[1]), mk(mkis[2])] as const;
  const gates: SrtpSession[] = [];
  const libs: string[] = [];
  t.after(async () => {
    for (const g of gates) g.close();
    for (const id of libs) await p.closeSession(id).catch(() => undefined);
  });
  const gate = (ks: readonly LibsrtpMasterKey[], core?: CryptoCore): SrtpSession => {
    const [first, ...rest] = ks;
    if (first === undefined) throw new Error('a session needs a key');
    // srtpgate may wipe the arrays it is given: pass copies.
    const s = createSrtpSessionSync({
      suite: suite as SuiteName, masterKey: first.masterKey.slice(), masterSalt: first.masterSalt.slice(),
      mki: { length: mkiLen, value: first.mki }, replayWindow: WINDOW, ...(core ? { core } : {}),
    });
    gates.push(s);
    for (const k of rest) s.addKey(k.masterKey.slice(), k.masterSalt.slice(), k.mki);
    return s;
  };
  const lib = async (direction: 'in' | 'out', ks: readonly LibsrtpMasterKey[]): Promise<string> => {
    const id = `mki${++sessionNo}-${direction}`;
    await p.sessionMki(id, direction, suite, mkiLen, ks, WINDOW);
    libs.push(id);
    return id;
  };
  const both = [keys[0], keys[1]];
  return {
    suite, mkiLen, rng, peer: p, keys,
    gateTx: gate(both), gateRx: gate(both), gateRxOld: gate([keys[0]]),
    libTx: await lib('out', both), libRx: await lib('in', both), libRxOld: await lib('in', [keys[0]]),
    gate, lib,
  };
}

// ----------------------------------------------------------------- helpers

function gateOk(s: SrtpSession, kind: Kind, p: Uint8Array, what: string): Uint8Array {
  try {
    return kind === 'rtp' ? s.unprotectRtp(p) : s.unprotectRtcp(p);
  } catch (err) {
    return assert.fail(note(`${what}: srtpgate rejected it: ${err instanceof SrtpError ? err.code : String(err)}`));
  }
}

function gateRejects(s: SrtpSession, kind: Kind, p: Uint8Array, code: string, what: string): void {
  assert.throws(() => (kind === 'rtp' ? s.unprotectRtp(p) : s.unprotectRtcp(p)), (err: unknown) => {
    if (!(err instanceof SrtpError)) return false;
    if (err.code !== code) assert.fail(note(`${what}: srtpgate threw ${err.code}, expected ${code}`));
    return true;
  }, note(`${what}: srtpgate accepted it`));
}

function libOk(r: LibsrtpResult, expected: Uint8Array, what: string): void {
  if (!r.ok) assert.fail(note(`${what}: libsrtp2 rejected it: ${r.statusName} (${r.status})`));
  assert.equal(toHex(r.packet), toHex(expected), note(`${what}: libsrtp2 output differs`));
}

function libRejects(r: LibsrtpResult, status: number, what: string): void {
  if (r.ok) assert.fail(note(`${what}: libsrtp2 accepted it`));
  assert.equal(r.status, status, note(`${what}: libsrtp2 said ${r.statusName} (${r.status}), expected ${status}`));
}

const unprotectOp = (kind: Kind): 'unprotect_rtp' | 'unprotect_rtcp' => (kind === 'rtp' ? 'unprotect_rtp' : 'unprotect_rtcp');

/** The RFC 3711 SRTCP index may start at 0 or 1: the sender behind protects throwaways until both agree. */
async function alignSrtcp(f: MkiFixture, ssrc: number): Promise<void> {
  const probe = rtcpPacket(f.rng, ssrc);
  const g = srtcpIndex(f.suite, f.gateTx.protectRtcp(probe), f.mkiLen);
  const l = srtcpIndex(f.suite, await f.peer.protectRtcp(f.libTx, probe), f.mkiLen);
  assert.ok(Math.abs(g - l) <= 16, `first SRTCP index: srtpgate ${g}, libsrtp2 ${l}`);
  for (let i = g; i < l; i++) f.gateTx.protectRtcp(probe);
  for (let i = l; i < g; i++) await f.peer.protectRtcp(f.libTx, probe);
}

/**
 * Sends `n` packets from each sender, switching from key 0 to key 1 before packet `switchAt`,
 * and checks: identical bytes, the MKI on the wire, and that both receivers decrypt every
 * packet when some old-key packets arrive after new-key ones. Returns what was sent.
 */
async function keySwitchBothWays(f: MkiFixture, kind: Kind, opts: { n: number; switchAt: number; seq0: number; explicitIndex: boolean }):
  Promise<{ plain: Uint8Array[]; gate: Uint8Array[]; lib: Uint8Array[] }> {
  const ssrc = f.rng.u32();
  if (kind === 'rtcp') await alignSrtcp(f, ssrc);
  const plain: Uint8Array[] = [];
  const gate: Uint8Array[] = [];
  const lib: Uint8Array[] = [];
  for (let i = 0; i < opts.n; i++) {
    const index = i < opts.switchAt ? 0 : 1;
    if (i === opts.switchAt) {
      f.gateTx.useKey(f.keys[1].mki);
      if (!opts.explicitIndex) await f.peer.useKey(f.libTx, 1);
    }
    const p = kind === 'rtp' ? rtpPacket(f.rng, ssrc, opts.seq0 + i) : rtcpPacket(f.rng, ssrc);
    plain.push(p);
    gate.push(kind === 'rtp' ? f.gateTx.protectRtp(p) : f.gateTx.protectRtcp(p));
    if (opts.explicitIndex) {
      lib.push(kind === 'rtp' ? await f.peer.protectRtpMki(f.libTx, index, p) : await f.peer.protectRtcpMki(f.libTx, index, p));
    } else {
      lib.push(kind === 'rtp' ? await f.peer.protectRtp(f.libTx, p) : await f.peer.protectRtcp(f.libTx, p));
    }
    const what = `${kind} packet ${i} (key ${index})`;
    assert.equal(readMki(f.suite, kind, gate[i]!, f.mkiLen), f.keys[index].mki, note(`${what}: srtpgate wrote the wrong MKI`));
    assert.equal(readMki(f.suite, kind, lib[i]!, f.mkiLen), f.keys[index].mki, note(`${what}: libsrtp2 wrote the wrong MKI`));
    assert.equal(toHex(gate[i]!), toHex(lib[i]!), note(`${what}: srtpgate and libsrtp2 protect differently`));
  }
  // Old-key packets [switchAt-5, switchAt) arrive after the first five new-key ones.
  const s = opts.switchAt;
  const order = [
    ...range(0, s - 5), ...range(s, s + 5), ...range(s - 5, s), ...range(s + 5, opts.n),
  ];
  for (const i of order) {
    const what = `${kind} packet ${i} (key ${i < s ? 0 : 1}) delivered ${order.indexOf(i)}th`;
    libOk(await f.peer.try(unprotectOp(kind), f.libRx, gate[i]!), plain[i]!, `${what} srtpgate→libsrtp2`);
    assert.equal(toHex(gateOk(f.gateRx, kind, lib[i]!, `${what} libsrtp2→srtpgate`)), toHex(plain[i]!));
  }
  return { plain, gate, lib };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

// ------------------------------------------------------------------- cases

for (const suite of MKI_SUITES) {
  for (const mkiLen of MKI_LENGTHS) {
    describe(`libsrtp2 MKI interop: ${suite}, ${mkiLen}-byte MKI`, { timeout: TIMEOUT }, () => {
      it('SRTP: key switch mid-stream (across a ROC wrap), old-key packets in flight, identical bytes, both ways', async (t) => {
        const f = await fixture(t, suite, mkiLen);
        if (f === null) return;
        // 60 packets from seq 65515: the switch is at packet 30 (seq 9, ROC 1).
        const sent = await keySwitchBothWays(f, 'rtp', { n: 60, switchAt: 30, seq0: 65515, explicitIndex: true });
        // Replays of an old-key and a new-key packet are replays, whichever key they carry.
        for (const i of [27, 40]) {
          libRejects(await f.peer.try('unprotect_rtp', f.libRx, sent.gate[i]!), LibsrtpStatus.REPLAY_FAIL, `packet ${i} replayed srtpgate→libsrtp2`);
          gateRejects(f.gateRx, 'rtp', sent.lib[i]!, 'E_REPLAY_DUPLICATE', `packet ${i} replayed libsrtp2→srtpgate`);
        }
      });

      it('SRTCP: key switch mid-stream, old-key packets in flight, identical bytes, both ways', async (t) => {
        const f = await fixture(t, suite, mkiLen);
        if (f === null) return;
        // libsrtp2 switches with use_key here (the SRTP case used srtp_protect_mki's index).
        const sent = await keySwitchBothWays(f, 'rtcp', { n: 40, switchAt: 20, seq0: 0, explicitIndex: false });
        libRejects(await f.peer.try('unprotect_rtcp', f.libRx, sent.gate[17]!), LibsrtpStatus.REPLAY_FAIL, 'old-key SRTCP replayed srtpgate→libsrtp2');
        gateRejects(f.gateRx, 'rtcp', sent.lib[17]!, 'E_REPLAY_DUPLICATE', 'old-key SRTCP replayed libsrtp2→srtpgate');
      });

      for (const kind of ['rtp', 'rtcp'] as const) {
        it(`${kind.toUpperCase()}: an unknown MKI is rejected by both, a swapped one fails authentication, and neither disturbs the stream`, async (t) => {
          const f = await fixture(t, suite, mkiLen);
          if (f === null) return;
          const ssrc = f.rng.u32();
          if (kind === 'rtcp') await alignSrtcp(f, ssrc);
          const seq0 = f.rng.int(0, 60000);
          const make = (i: number): Uint8Array => kind === 'rtp' ? rtpPacket(f.rng, ssrc, seq0 + i) : rtcpPacket(f.rng, ssrc);
          const protect = async (i: number): Promise<{ plain: Uint8Array; gate: Uint8Array; lib: Uint8Array }> => {
            const plain = make(i);
            const gate = kind === 'rtp' ? f.gateTx.protectRtp(plain) : f.gateTx.protectRtcp(plain);
            const lib = kind === 'rtp' ? await f.peer.protectRtp(f.libTx, plain) : await f.peer.protectRtcp(f.libTx, plain);
            return { plain, gate, lib };
          };
          const unknown = f.keys[2].mki;
          const other = f.keys[1].mki;

          // 1. A sender whose key (and MKI) the receivers were never given.
          const rogueGate = f.gate([f.keys[2]]);
          const rogueLib = await f.lib('out', [f.keys[2]]);
          const roguePlain = make(0);
          const fromRogueGate = kind === 'rtp' ? rogueGate.protectRtp(roguePlain) : rogueGate.protectRtcp(roguePlain);
          const fromRogueLib = kind === 'rtp' ? await f.peer.protectRtp(rogueLib, roguePlain) : await f.peer.protectRtcp(rogueLib, roguePlain);
          libRejects(await f.peer.try(unprotectOp(kind), f.libRx, fromRogueGate), LibsrtpStatus.BAD_MKI, 'unknown key srtpgate→libsrtp2');
          gateRejects(f.gateRx, kind, fromRogueLib, 'E_UNKNOWN_MKI', 'unknown key libsrtp2→srtpgate');

          // 2. Genuine packets (key 0) with the MKI rewritten: to one nobody knows, then to key 1's.
          const a = await protect(1);
          libRejects(await f.peer.try(unprotectOp(kind), f.libRx, withMki(suite, kind, a.gate, mkiLen, unknown)), LibsrtpStatus.BAD_MKI,
            'MKI rewritten to an unknown value srtpgate→libsrtp2');
          gateRejects(f.gateRx, kind, withMki(suite, kind, a.lib, mkiLen, unknown), 'E_UNKNOWN_MKI', 'MKI rewritten to an unknown value libsrtp2→srtpgate');
          // The MKI is not authenticated (RFC 3711 §3.1) but picks the key: the tag then fails.
          libRejects(await f.peer.try(unprotectOp(kind), f.libRx, withMki(suite, kind, a.gate, mkiLen, other)), LibsrtpStatus.AUTH_FAIL,
            'MKI swapped to the other key srtpgate→libsrtp2');
          gateRejects(f.gateRx, kind, withMki(suite, kind, a.lib, mkiLen, other), 'E_AUTH_FAIL', 'MKI swapped to the other key libsrtp2→srtpgate');

          // 3. The genuine packets still pass: the rejections changed no replay or ROC state.
          libOk(await f.peer.try(unprotectOp(kind), f.libRx, a.gate), a.plain, 'genuine packet after the forgeries srtpgate→libsrtp2');
          assert.equal(toHex(gateOk(f.gateRx, kind, a.lib, 'genuine packet after the forgeries libsrtp2→srtpgate')), toHex(a.plain));

          // 4. A receiver that was never told about key 1 refuses key-1 packets as unknown MKI.
          f.gateTx.useKey(other);
          await f.peer.useKey(f.libTx, 1);
          const b = await protect(2);
          libRejects(await f.peer.try(unprotectOp(kind), f.libRxOld, b.gate), LibsrtpStatus.BAD_MKI, 'key-1 packet to a key-0-only libsrtp2');
          gateRejects(f.gateRxOld, kind, b.lib, 'E_UNKNOWN_MKI', 'key-1 packet to a key-0-only srtpgate');
          libOk(await f.peer.try(unprotectOp(kind), f.libRx, b.gate), b.plain, 'key-1 packet srtpgate→libsrtp2');
          assert.equal(toHex(gateOk(f.gateRx, kind, b.lib, 'key-1 packet libsrtp2→srtpgate')), toHex(b.plain));

          // 5. Neither sender can be switched to a key it does not have.
          assert.throws(() => f.gateTx.useKey(unknown), (err: unknown) => err instanceof SrtpError && err.code === 'E_UNKNOWN_MKI',
            'srtpgate useKey(unknown MKI)');
          await assert.rejects(f.peer.useKey(f.libTx, 2), (err: unknown) => err instanceof Error && /bad_mki/.test(err.message),
            'libsrtp2 use_key(index with no key)');
        });
      }
    });
  }
}

describe('libsrtp2 MKI interop: more keys and the _32 suite', { timeout: TIMEOUT }, () => {
  it('three keys, switched 0 → 1 → 2 → 0 on both senders (a core with room for 4 keys per context)', async (t) => {
    const f = await fixture(t, 'AES_CM_128_HMAC_SHA1_80', 2);
    if (f === null) return;
    const core = await CryptoCore.load({ maxContexts: 16, maxKeysPerContext: 4 });
    const keys = [f.keys[0], f.keys[1], f.keys[2]];
    const gateTx = f.gate(keys, core);
    const gateRx = f.gate(keys, core);
    const libTx = await f.lib('out', keys);
    const libRx = await f.lib('in', keys);
    const ssrc = f.rng.u32();
    const schedule = [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0];
    for (const [i, index] of schedule.entries()) {
      const key = keys[index]!;
      gateTx.useKey(key.mki);
      await f.peer.useKey(libTx, index);
      const p = rtpPacket(f.rng, ssrc, 1000 + i);
      const g = gateTx.protectRtp(p);
      const l = await f.peer.protectRtp(libTx, p);
      const what = `packet ${i} (key ${index})`;
      assert.equal(readMki(f.suite, 'rtp', g, 2), key.mki, note(`${what}: MKI on the wire`));
      assert.equal(toHex(g), toHex(l), note(`${what}: srtpgate and libsrtp2 protect differently`));
      libOk(await f.peer.try('unprotect_rtp', libRx, g), p, `${what} srtpgate→libsrtp2`);
      assert.equal(toHex(gateOk(gateRx, 'rtp', l, `${what} libsrtp2→srtpgate`)), toHex(p));
    }
  });

  it('AES_CM_128_HMAC_SHA1_32 (4-byte SRTP tag, 10-byte SRTCP tag): SRTP both ways; SRTCP as far as this libsrtp2 allows', async (t) => {
    const suite = 'AES_CM_128_HMAC_SHA1_32';
    const f = await fixture(t, suite, 1);
    if (f === null) return;
    await keySwitchBothWays(f, 'rtp', { n: 20, switchAt: 10, seq0: 500, explicitIndex: true });
    // The SRTP run switched libsrtp2 per packet (srtp_protect_mki): put both senders on key 1.
    f.gateTx.useKey(f.keys[1].mki);
    await f.peer.useKey(f.libTx, 1);
    const ssrc = f.rng.u32();
    await alignSrtcp(f, ssrc);
    for (let i = 0; i < 6; i++) {
      const p = rtcpPacket(f.rng, ssrc);
      const g = f.gateTx.protectRtcp(p);
      const l = await f.peer.protectRtcp(f.libTx, p);
      assert.equal(readMki(suite, 'rtcp', g, 1), f.keys[1].mki, note(`SRTCP ${i}: MKI before the 10-byte tag`));
      assert.equal(toHex(g), toHex(l), note(`SRTCP ${i}: srtpgate and libsrtp2 protect differently`));
      assert.equal(toHex(gateOk(f.gateRx, 'rtcp', l, `SRTCP ${i} libsrtp2→srtpgate`)), toHex(p));
      const r = await f.peer.try('unprotect_rtcp', f.libRx, g);
      if (mkiSrtcpBug) {
        // srtpgate's bytes equal libsrtp2's own, which libsrtp2 cannot read back either. It reads
        // the "MKI" from a tag byte: usually bad_mki, but when that byte happens to name a key
        // (2 in 256 with a 1-byte MKI), auth_fail.
        if (r.ok) assert.fail(note(`SRTCP ${i}: this libsrtp2 was expected to fail (${LIBSRTP_MKI_SRTCP_TAG_BUG}) but accepted it`));
        assert.ok(r.status === LibsrtpStatus.BAD_MKI || r.status === LibsrtpStatus.AUTH_FAIL,
          note(`SRTCP ${i} srtpgate→libsrtp2: ${r.statusName}`));
      } else {
        libOk(r, p, `SRTCP ${i} srtpgate→libsrtp2`);
      }
    }
    if (mkiSrtcpBug) t.diagnostic(`srtpgate→libsrtp2 MKI SRTCP not checked for ${suite}: ${LIBSRTP_MKI_SRTCP_TAG_BUG}`);
  });
});
