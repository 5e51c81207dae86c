// Native baseline: the system libsrtp2 (Debian, NSS backend) through the C harness, one
// thread, packets/s for RTP and RTCP protect/unprotect. Unprotect takes a ring of packets
// pre-protected with increasing indexes and unprotects a copy of each exactly once (as
// libsrtp's srtp_driver does); only the unprotect calls are timed.
//   node --import tsx bench/libsrtp.ts [--millis 300] [--payloads 160,1200] [--suites A,B,...] [--json]
// --millis is per measurement (four per suite and payload). bench/crypto.bench.ts imports
// runLibsrtpBench from test/interop/libsrtp.ts for the same figures.
import { parseArgs } from 'node:util';
import {
  LIBSRTP_SUITES, libsrtpHarnessPath, runLibsrtpBench, skipReason,
  type LibsrtpSuite,
} from '../test/interop/libsrtp.ts';

const DEFAULT_SUITES: readonly LibsrtpSuite[] = [
  'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'AES_256_CM_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'NULL_HMAC_SHA1_80',
];

function isLibsrtpSuite(s: string): s is LibsrtpSuite {
  return (LIBSRTP_SUITES as readonly string[]).includes(s);
}

const fmt = (pps: number): string => `${(pps / 1000).toFixed(0).padStart(6)}k ${(1e9 / pps).toFixed(0).padStart(5)} ns`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      millis: { type: 'string', default: '300' },
      payloads: { type: 'string', default: '160,1200' },
      suites: { type: 'string', default: DEFAULT_SUITES.join(',') },
      json: { type: 'boolean', default: false },
    },
  });
  const millis = Number(values.millis);
  const payloads = values.payloads.split(',').map(Number);
  const suites = values.suites.split(',');
  const bad = suites.filter((s) => !isLibsrtpSuite(s));
  if (!(millis > 0) || payloads.some((p) => !Number.isInteger(p) || p < 0 || p > 16384) || bad.length > 0) {
    process.stderr.write(`bad arguments${bad.length ? `: unknown suite ${bad.join(',')}` : ''}\n`);
    return 2;
  }
  if ((await libsrtpHarnessPath()) === null) {
    process.stderr.write(`${skipReason()}\n`);
    return 1;
  }
  if (!values.json) {
    process.stdout.write(`libsrtp2 native, one thread, ${millis} ms per measurement (pkt/s and ns per packet)\n`);
    process.stdout.write(`${'suite'.padEnd(24)} ${'payload'.padStart(7)}  ${['RTP protect', 'RTP unprotect', 'RTCP protect', 'RTCP unprotect']
      .map((h) => h.padStart(15)).join('  ')}\n`);
  }
  for (const suite of suites.filter(isLibsrtpSuite)) {
    for (const payload of payloads) {
      const r = await runLibsrtpBench(suite, payload, millis);
      if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(`${suite.padEnd(24)} ${String(payload).padStart(7)}  ${[r.rtpProtect, r.rtpUnprotect, r.rtcpProtect, r.rtcpUnprotect]
          .map((v) => fmt(v).padStart(15)).join('  ')}\n`);
      }
    }
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
