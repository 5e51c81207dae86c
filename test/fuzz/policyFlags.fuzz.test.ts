// Fuzzing the crypto policy's ng flags (control/policy.ts requestPolicy, reached from Kamailio's
// rtpp-flags string or the flags list through ngRequest). Invariants: nothing but RelayError is
// thrown; every check keeps a verdict of refuse or audit; no check becomes 'audit' without an
// audit- flag (fail closed); the relay's own policy is never changed; only policy flags are
// consumed; warnings stay short and carry no raw C0 control characters.
// Seeds: test/fuzz/corpus/policy-flags.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPolicyFlag, requestPolicy, resolvePolicy } from '../../src/control/policy.ts';
import { POLICY_CHECKS, kebabOf } from '../../src/control/policyChecks.ts';
import { normalizeNgDict } from '../../src/control/ngRequest.ts';
import { RelayError } from '../../src/errors.ts';
import { errorOutcome, fuzz, iterations, report } from './harness.ts';

const ITER = iterations(20_000);
const dec = new TextDecoder();
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n';
const TOKENS = [' ', ',', 'audit-', 'refuse-', 'all', 'audit-all', 'refuse-all', 'insecure-signalling', 'insecure-signalling-peer',
  '-peer', '_', 'AUDIT', '=', '[', ']', 'replace=[origin]', 'SDES-off', ...POLICY_CHECKS, ...POLICY_CHECKS.map(kebabOf)];

describe('fuzz: policy flags', () => {
  it(`requestPolicy via rtpp-flags and flags: ≤${ITER} inputs, verdicts well-formed, audit only when asked`, () => {
    const base = resolvePolicy({ onViolation: { lifetime: 'audit' } });
    const baseVerdicts = JSON.stringify(base.onViolation);
    const res = fuzz({
      name: 'policy-flags',
      corpus: 'policy-flags',
      dictionary: TOKENS,
      run(input) {
        const text = dec.decode(input);
        const lists: string[][] = [text.split(/[\s,]+/).filter((f) => f.length > 0)];
        let outcome = 'ok';
        for (const dict of [{ 'rtpp-flags': text }, { flags: lists[0]! }]) {
          try {
            lists.push([...normalizeNgDict({ command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp: SDP, ...dict }).flags]);
          } catch (e) {
            assert.ok(e instanceof RelayError, `threw ${e instanceof Error ? e.stack : String(e)}`);
            outcome = errorOutcome(e);
          }
        }
        for (const flags of lists) {
          const r = requestPolicy(base, flags);
          assert.deepEqual(Object.keys(r.policy.onViolation).sort(), [...POLICY_CHECKS].sort());
          const anyAudit = flags.some((f) => /^audit-/.test(f));
          for (const c of POLICY_CHECKS) {
            const v = r.policy.onViolation[c];
            assert.ok(v === 'refuse' || v === 'audit', `${c}: ${String(v)}`);
            // refuse- may tighten a relay's audit; only an audit- flag may loosen a refuse.
            if (!anyAudit && v === 'audit') assert.equal(base.onViolation[c], 'audit', `${c} became audit without an audit- flag`);
          }
          assert.equal(r.policy.dtlsBidDown === 'warn', r.policy.onViolation.dtlsChanged === 'audit');
          for (const f of r.consumed) assert.ok(flags.includes(f) && isPolicyFlag(f), `consumed ${JSON.stringify(f)}`);
          // C0 controls (newlines: log and reply injection) are escaped; the ng reply strips DEL too (joinWarnings).
          for (const w of r.warnings) assert.ok(w.length < 400 && !/[\x00-\x1f]/.test(w), `warning ${JSON.stringify(w)}`);
          if (r.consumed.size === 0) assert.equal(r.policy, base);
          outcome += `:${r.consumed.size > 0 ? 'c' : '-'}${r.warnings.length > 0 ? 'w' : '-'}${r.insecureSender ? 's' : '-'}`;
        }
        assert.equal(JSON.stringify(base.onViolation), baseVerdicts, 'the relay policy changed');
        return outcome;
      },
    }, ITER);
    report(res);
    assert.ok(res.outcomes > 5, `only ${res.outcomes} distinct outcomes`);
  });
});
