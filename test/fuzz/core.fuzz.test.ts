// Fuzzing the WASM core's packet entry points (RFC 6404 §4.11: malformed messages must not
// crash the border element). Mutations of valid SRTP/SRTCP packets and random bytes go into
// unprotect for every suite; random RTP/RTCP into protect. Invariants: no trap, no exception,
// a status that is a known code or a plausible length, and no state change on a rejection.
// FUZZ_ITERATIONS sets the count per suite (CI short pass: 3000; `npm run fuzz`: 10^6 total).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoCore } from '../../src/crypto/CryptoCore.ts';
import { SUITES } from '../../src/crypto/suites.ts';
import { Status, statusName } from '../../src/crypto/abi.ts';
import { rtp, rtcpRr } from '../helpers/packets.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

/** xorshift32: reproducible from FUZZ_SEED. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
}

let total = 0;

describe('fuzz: WASM core entry points', () => {
  const core = CryptoCore.loadSync({ maxContexts: 64, maxSsrcsPerContext: 4 });
  const r = rng(SEED);
  const int = (n: number) => Math.floor(r() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));

  function mutate(p: Uint8Array): Uint8Array {
    const q = p.slice();
    switch (int(6)) {
      case 0: for (let i = 0, n = 1 + int(4); i < n; i++) q[int(q.length)]! ^= 1 << int(8); return q;
      case 1: return q.subarray(0, int(q.length + 1));                 // truncation
      case 2: { const e = new Uint8Array(q.length + 1 + int(40)); e.set(q); e.set(bytes(e.length - q.length), q.length); return e; }
      case 3: q[0] = int(256); return q;                               // V/P/X/CC byte
      case 4: if (q.length > 15) { q[14] = 0xff; q[15] = int(256); } return q; // extension length
      default: return bytes(int(200));
    }
  }

  for (const suite of SUITES) {
    it(`${suite.name}: ${ITER} mutated/random packets into unprotect and protect`, () => {
      const key = bytes(suite.keyLen), salt = bytes(suite.saltLen);
      const p = { suite, masterKey: key, masterSalt: salt, insecureAllowNullCipher: !suite.encrypts };
      const tx = core.createContext({ ...p, direction: 'outbound' });
      const rx = core.createContext({ ...p, direction: 'inbound' });
      const mem = core.memoryBytes;
      const seeds: { pkt: Uint8Array; rtcp: boolean }[] = [];
      for (let seq = 0; seq < 32; seq++) {
        const plain = rtp({ seq, ssrc: 0x1000 + (seq & 3), csrcs: seq % 5 === 0 ? [1, 2] : [], payload: bytes(int(300)), padding: seq % 7 === 0 ? 3 : 0 });
        core.io.set(plain, 0);
        const n = core.srtpProtect(tx, plain.length);
        assert.ok(n > 0, statusName(n));
        seeds.push({ pkt: core.io.slice(0, n), rtcp: false });
        const rr = rtcpRr(0x1000 + (seq & 3), int(64));
        core.io.set(rr, 0);
        const m = core.srtcpProtect(tx, rr.length);
        assert.ok(m > 0, statusName(m));
        seeds.push({ pkt: core.io.slice(0, m), rtcp: true });
      }
      let accepted = 0;
      for (let i = 0; i < ITER; i++) {
        const s = seeds[int(seeds.length)]!;
        const q = mutate(s.pkt);
        const before = core.snapshot(rx);
        core.io.set(q, 0);
        const st = s.rtcp ? core.srtcpUnprotect(rx, q.length) : core.srtpUnprotect(rx, q.length);
        if (st < 0) {
          assert.notEqual(statusName(st), 'UNKNOWN', `unknown status ${st}`);
          assert.deepEqual(core.snapshot(rx), before, `state changed on ${statusName(st)}`);
        } else {
          assert.ok(st <= q.length, 'length grew on unprotect');
          accepted++;
        }
        // Random plaintext into protect: must either protect or refuse with a known code.
        const plain = int(2) ? mutate(rtp({ seq: int(65536), ssrc: int(4), payload: bytes(int(100)) })) : bytes(int(120));
        core.io.set(plain, 0);
        const pt = int(2) ? core.srtpProtect(tx, plain.length) : core.srtcpProtect(tx, plain.length);
        assert.ok(pt >= 0 ? pt > plain.length : statusName(pt) !== 'UNKNOWN');
        total += 2;
      }
      // Only unmodified seeds (mutations that happen to change nothing) may pass; forgeries may not.
      assert.ok(accepted <= seeds.length, `accepted ${accepted} packets from ${seeds.length} genuine seeds`);
      assert.equal(core.memoryBytes, mem);
      core.destroyContext(tx);
      core.destroyContext(rx);
      assert.equal(Status.OK, 0);
    });
  }

  it('reports how many inputs were tried', () => {
    console.log(`# fuzz: ${total} inputs into the WASM core (seed ${SEED})`);
    assert.ok(total >= ITER * SUITES.length * 2);
  });
});
