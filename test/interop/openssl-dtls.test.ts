// Interop of our DTLS-SRTP endpoint with the OpenSSL 3.0 command line tools over UDP on
// 127.0.0.1: `openssl s_server` / `s_client -dtls1_2 -use_srtp <profile> -keymatexport
// EXTRACTOR-dtls_srtp`, both roles, every profile both sides support, both groups, ECDSA and
// RSA certificates (RSA-PSS and RSA-PKCS#1 signatures), small MTUs. The keying material we
// derive must equal what OpenSSL prints, and our fingerprint check must pass on the
// certificate we hand OpenSSL (computed from its PEM). Negative cases: no common profile
// (OpenSSL completes without one; we abort), wrong fingerprint, no use_srtp at all.
// Locally the tests skip when openssl is missing; with CI=true they fail.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUITES, type CryptoSuite } from '../../src/crypto/suites.ts';
import { DtlsCertificate } from '../../src/keying/dtls/certificate.ts';
import { DtlsEndpoint, type DtlsEndpointOptions } from '../../src/keying/dtls/DtlsEndpoint.ts';
import type { DtlsError } from '../../src/keying/dtls/DtlsError.ts';
import { SRTP_EXPORTER_LABEL, srtpKeyingMaterialLength, type DtlsSrtpKeys } from '../../src/keying/dtls/exportKeys.ts';
import { computeFingerprint, formatFingerprint } from '../../src/keying/dtls/fingerprint.ts';

const INSTALL = 'apt-get install -y openssl';
/** The profiles OpenSSL 3.0's -use_srtp accepts (REFERENCE.md §4); intersected with the suite table. */
const OPENSSL_PROFILES = new Set(['SRTP_AES128_CM_SHA1_80', 'SRTP_AES128_CM_SHA1_32', 'SRTP_AEAD_AES_128_GCM', 'SRTP_AEAD_AES_256_GCM']);
const PROFILE_SUITES: CryptoSuite[] = SUITES.filter((s) => s.dtlsName !== null && OPENSSL_PROFILES.has(s.dtlsName));
const WAIT_MS = 15_000;

function opensslVersion(): string | null {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

const VERSION = opensslVersion();

/** Skips locally; in CI (CI=true) a missing peer is a failure. */
function requireOpenssl(t: TestContext): boolean {
  if (VERSION !== null && /^OpenSSL 3\./.test(VERSION)) return true;
  const why = `openssl 3.x CLI unavailable (${VERSION ?? 'not installed'}); install with: ${INSTALL}`;
  if (process.env.CI === 'true') throw new Error(`${why} [CI=true: skipping is not allowed]`);
  t.skip(why);
  return false;
}

let dir = '';
interface PemFiles { cert: string; key: string; fingerprint: string }

/** Writes a certificate/key pair for OpenSSL and returns the fingerprint computed from the PEM itself. */
function pemFiles(name: string, certPem: string, keyPem: string): PemFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, certPem);
  writeFileSync(key, keyPem, { mode: 0o600 });
  return { cert, key, fingerprint: formatFingerprint(computeFingerprint(new X509Certificate(readFileSync(cert)).raw, 'sha-256')) };
}

function opensslRsaPair(name: string): { certPem: string; keyPem: string } {
  const cert = join(dir, `${name}-gen.crt`);
  const key = join(dir, `${name}-gen.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 30_000 });
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

// ------------------------------------------------------------------ OpenSSL process

class OpensslPeer {
  readonly #proc: ChildProcessWithoutNullStreams;
  #out = '';
  #waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    // `timeout` bounds the process even if the test forgets it.
    this.#proc = spawn('timeout', ['25', 'openssl', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const take = (d: Buffer): void => {
      this.#out += d.toString('utf8');
      for (const w of this.#waiters.splice(0)) w();
    };
    this.#proc.stdout.on('data', take);
    this.#proc.stderr.on('data', take);
    this.exited = new Promise((resolve) => this.#proc.on('exit', (code) => { take(Buffer.alloc(0)); resolve(code); }));
  }

  get output(): string { return this.#out; }

  /** Resolves with the first match of `re` in the output, or null after `ms`. */
  async waitFor(re: RegExp, ms = WAIT_MS): Promise<RegExpExecArray | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.#out);
      if (m !== null || Date.now() >= deadline || this.#proc.exitCode !== null) return m;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, Math.min(200, deadline - Date.now())));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Closes stdin (s_client then sends close_notify and exits). */
  endInput(): void { this.#proc.stdin.end(); }

  async stop(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
      const killed = new Promise((r) => setTimeout(r, 2000));
      this.#proc.stdin.end();
      await Promise.race([this.exited, killed]);
      if (this.#proc.exitCode === null && this.#proc.pid !== undefined) this.#proc.kill('SIGKILL');
    }
    await this.exited;
  }
}

// ------------------------------------------------------------------ our side

interface Ours {
  readonly endpoint: DtlsEndpoint;
  readonly port: number;
  readonly result: Promise<{ keys: DtlsSrtpKeys | null; error: DtlsError | null }>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

async function ourEndpoint(options: Omit<DtlsEndpointOptions, 'send'>, peerPort: number | null): Promise<Ours> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  let peer = peerPort === null ? null : { port: peerPort, address: '127.0.0.1' };
  const endpoint = new DtlsEndpoint({ initialRetransmitMs: 250, maxRetransmitMs: 2000, handshakeTimeoutMs: WAIT_MS, ...options, send: (d) => { if (peer !== null) sock.send(d, peer.port, peer.address); } });
  sock.on('message', (msg, rinfo) => {
    // Latch the first source (what the relay does); the cookie binds it.
    peer ??= { port: rinfo.port, address: rinfo.address };
    if (rinfo.port === peer.port && msg.length > 0 && (msg[0] as number) >= 20 && (msg[0] as number) <= 63) endpoint.handleDatagram(msg, `${rinfo.address}:${rinfo.port}`);
  });
  const result = new Promise<{ keys: DtlsSrtpKeys | null; error: DtlsError | null }>((resolve) => {
    endpoint.on('connected', (keys) => resolve({ keys, error: null }));
    endpoint.on('error', (error) => resolve({ keys: null, error }));
    endpoint.on('close', () => resolve({ keys: null, error: endpoint.error }));
  });
  const closed = new Promise<void>((resolve) => endpoint.once('close', () => resolve()));
  return {
    endpoint, port: sock.address().port, result, closed,
    async close() {
      endpoint.close();
      await new Promise((r) => setTimeout(r, 50)); // let close_notify leave
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    },
  };
}

function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }));
}

/** client_key | server_key | client_salt | server_salt, from our side's view. */
function exportedLayout(keys: DtlsSrtpKeys): string {
  const client = keys.role === 'client';
  const parts = client ? [keys.localKey, keys.remoteKey, keys.localSalt, keys.remoteSalt] : [keys.remoteKey, keys.localKey, keys.remoteSalt, keys.localSalt];
  return Buffer.concat(parts).toString('hex').toUpperCase();
}

const exportArgs = (suite: CryptoSuite): string[] => ['-keymatexport', SRTP_EXPORTER_LABEL, '-keymatexportlen', String(srtpKeyingMaterialLength(suite))];

interface Case {
  suite: CryptoSuite;
  /** Extra OpenSSL arguments. */
  extra?: string[];
  /** Certificate for OpenSSL's side. Default: one we generate (ECDSA P-256). */
  peerPem?: { certPem: string; keyPem: string };
  /** Our certificate. Default: generated ECDSA P-256. */
  ours?: DtlsCertificate;
  mtu?: number;
}

/** OpenSSL is the DTLS server, we are the client (a=setup:active). */
async function weAreClient(c: Case): Promise<void> {
  const gen = DtlsCertificate.generate({ commonName: 'openssl-server' });
  const files = pemFiles('server', c.peerPem?.certPem ?? gen.toPem(), c.peerPem?.keyPem ?? gen.exportPrivateKeyPem());
  const port = await freeUdpPort();
  const peer = new OpensslPeer(['s_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-cert', files.cert, '-key', files.key,
    '-use_srtp', c.suite.dtlsName as string, ...exportArgs(c.suite), '-verify', '1', ...(c.extra ?? [])]);
  let ours: Ours | null = null;
  try {
    assert.ok(await peer.waitFor(/ACCEPT/), `s_server did not start:\n${peer.output}`);
    ours = await ourEndpoint({ role: 'client', certificate: c.ours ?? DtlsCertificate.generate(), remoteFingerprints: [files.fingerprint], mtu: c.mtu }, port);
    ours.endpoint.start();
    const r = await ours.result;
    assert.equal(r.error, null, `our client failed: ${r.error?.message}\n${peer.output}`);
    assert.ok(r.keys);
    assert.equal(r.keys.suite, c.suite);
    const km = await peer.waitFor(/Keying material: ([0-9A-F]+)/);
    assert.ok(km, `s_server printed no keying material:\n${peer.output}`);
    assert.equal(exportedLayout(r.keys), km[1]);
    assert.match(peer.output, new RegExp(`SRTP Extension negotiated, profile=${c.suite.dtlsName}`));
    r.keys.wipe();
    await ours.close();
    ours = null;
    // close_notify ends s_server's only connection (-naccept 1): it exits by itself.
    assert.equal(await Promise.race([peer.exited, new Promise((res) => setTimeout(() => res('timeout'), 5000))]), 0, peer.output);
  } finally {
    await ours?.close();
    await peer.stop();
  }
}

/** OpenSSL is the DTLS client, we are the server (a=setup:passive). */
async function weAreServer(c: Case): Promise<void> {
  const gen = DtlsCertificate.generate({ commonName: 'openssl-client' });
  const files = pemFiles('client', c.peerPem?.certPem ?? gen.toPem(), c.peerPem?.keyPem ?? gen.exportPrivateKeyPem());
  const ours = await ourEndpoint({ role: 'server', certificate: c.ours ?? DtlsCertificate.generate(), remoteFingerprints: [files.fingerprint], mtu: c.mtu }, null);
  ours.endpoint.start();
  const peer = new OpensslPeer(['s_client', '-dtls1_2', '-connect', `127.0.0.1:${ours.port}`, '-cert', files.cert, '-key', files.key,
    '-use_srtp', c.suite.dtlsName as string, ...exportArgs(c.suite), ...(c.extra ?? [])]);
  try {
    const r = await ours.result;
    assert.equal(r.error, null, `our server failed: ${r.error?.message}\n${peer.output}`);
    assert.ok(r.keys);
    assert.equal(r.keys.suite, c.suite);
    const km = await peer.waitFor(/Keying material: ([0-9A-F]+)/);
    assert.ok(km, `s_client printed no keying material:\n${peer.output}`);
    assert.equal(exportedLayout(r.keys), km[1]);
    assert.ok(ours.endpoint.stats.helloVerifyRequests >= 1, 'the cookie exchange ran');
    r.keys.wipe();
    // EOF on stdin: s_client sends close_notify, which must close our endpoint.
    peer.endInput();
    await Promise.race([ours.closed, new Promise((res) => setTimeout(res, 5000))]);
    assert.equal(ours.endpoint.state, 'closed', 'close_notify from OpenSSL closed the endpoint');
  } finally {
    await peer.stop();
    await ours.close();
  }
}

before(() => { dir = mkdtempSync(join(tmpdir(), 'srtpgate-dtls-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

describe(`DTLS-SRTP interop with ${VERSION ?? 'openssl (missing)'}`, () => {
  test('the suite table has the four profiles OpenSSL supports', (t) => {
    if (!requireOpenssl(t)) return;
    assert.deepEqual(PROFILE_SUITES.map((s) => s.dtlsName).sort(), [...OPENSSL_PROFILES].sort());
  });

  for (const suite of PROFILE_SUITES) {
    test(`OpenSSL server, our client: ${suite.dtlsName}`, async (t) => {
      if (requireOpenssl(t)) await weAreClient({ suite });
    });
    test(`OpenSSL client, our server: ${suite.dtlsName}`, async (t) => {
      if (requireOpenssl(t)) await weAreServer({ suite });
    });
  }

  const cm80 = PROFILE_SUITES.find((s) => s.dtlsId === 0x0001) as CryptoSuite;
  const gcm128 = PROFILE_SUITES.find((s) => s.dtlsId === 0x0007) ?? cm80;

  test('secp256r1 and fragmented flights (MTU 300 on both sides), both roles', async (t) => {
    if (!requireOpenssl(t)) return;
    await weAreClient({ suite: gcm128, extra: ['-groups', 'P-256', '-mtu', '300'], mtu: 300 });
    await weAreServer({ suite: gcm128, extra: ['-groups', 'P-256', '-mtu', '300'], mtu: 300 });
  });

  test('RSA server certificate: ECDHE-RSA with RSA-PSS, then with RSA-PKCS#1 signatures', async (t) => {
    if (!requireOpenssl(t)) return;
    const rsa = opensslRsaPair('rsa-server');
    await weAreClient({ suite: cm80, peerPem: rsa });
    await weAreClient({ suite: cm80, peerPem: rsa, extra: ['-sigalgs', 'RSA+SHA256', '-client_sigalgs', 'ECDSA+SHA256'] });
  });

  test('our RSA certificate as server (PSS by default, PKCS#1 when the client asks) and as client', async (t) => {
    if (!requireOpenssl(t)) return;
    const mine = opensslRsaPair('rsa-ours');
    const ours = DtlsCertificate.fromPem(mine.certPem, mine.keyPem);
    await weAreServer({ suite: cm80, ours });
    // A client limited to RSA+SHA256 can only sign CertificateVerify with an RSA key of its own.
    await weAreServer({ suite: cm80, ours, peerPem: opensslRsaPair('rsa-client'), extra: ['-sigalgs', 'RSA+SHA256'] });
    await weAreClient({ suite: cm80, ours });
  });

  test('no common profile: OpenSSL server completes without use_srtp, our client aborts', async (t) => {
    if (!requireOpenssl(t)) return;
    const gen = DtlsCertificate.generate();
    const files = pemFiles('nocommon', gen.toPem(), gen.exportPrivateKeyPem());
    const port = await freeUdpPort();
    const peer = new OpensslPeer(['s_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-cert', files.cert, '-key', files.key, '-use_srtp', 'SRTP_AES128_CM_SHA1_32']);
    const ours = await ourEndpoint({ role: 'client', certificate: DtlsCertificate.generate(), remoteFingerprints: [files.fingerprint], srtpPolicy: { suites: [cm80.name] } }, port);
    try {
      assert.ok(await peer.waitFor(/ACCEPT/));
      ours.endpoint.start();
      const r = await ours.result;
      assert.equal(r.keys, null);
      assert.equal(r.error?.code, 'E_DTLS_NO_SRTP_PROFILE', r.error?.message);
    } finally {
      await ours.close();
      await peer.stop();
    }
  });

  for (const [name, args] of [['excluded profile', ['-use_srtp', 'SRTP_AES128_CM_SHA1_32']], ['no use_srtp at all', []]] as const) {
    test(`OpenSSL client with ${name}: our server aborts with E_DTLS_NO_SRTP_PROFILE`, async (t) => {
      if (!requireOpenssl(t)) return;
      const gen = DtlsCertificate.generate();
      const files = pemFiles('badclient', gen.toPem(), gen.exportPrivateKeyPem());
      const ours = await ourEndpoint({ role: 'server', certificate: DtlsCertificate.generate(), remoteFingerprints: [files.fingerprint], srtpPolicy: { suites: [cm80.name] } }, null);
      ours.endpoint.start();
      const peer = new OpensslPeer(['s_client', '-dtls1_2', '-connect', `127.0.0.1:${ours.port}`, '-cert', files.cert, '-key', files.key, ...args]);
      try {
        const r = await ours.result;
        assert.equal(r.error?.code, 'E_DTLS_NO_SRTP_PROFILE', r.error?.message);
        assert.ok(await peer.waitFor(/alert handshake failure/), `OpenSSL saw our alert:\n${peer.output}`);
      } finally {
        await peer.stop();
        await ours.close();
      }
    });
  }

  test('OpenSSL client without a certificate: our server requires one (E_DTLS_BAD_CERTIFICATE)', async (t) => {
    if (!requireOpenssl(t)) return;
    const ours = await ourEndpoint({ role: 'server', certificate: DtlsCertificate.generate(), remoteFingerprints: [DtlsCertificate.generate().fingerprint()] }, null);
    ours.endpoint.start();
    const peer = new OpensslPeer(['s_client', '-dtls1_2', '-connect', `127.0.0.1:${ours.port}`, '-use_srtp', cm80.dtlsName as string]);
    try {
      const r = await ours.result;
      assert.equal(r.error?.code, 'E_DTLS_BAD_CERTIFICATE', r.error?.message);
      assert.ok(await peer.waitFor(/alert handshake failure/), `OpenSSL saw our alert:\n${peer.output}`);
    } finally {
      await peer.stop();
      await ours.close();
    }
  });

  test("wrong fingerprint for OpenSSL's certificate: E_DTLS_FINGERPRINT, and OpenSSL hears bad_certificate", async (t) => {
    if (!requireOpenssl(t)) return;
    const gen = DtlsCertificate.generate();
    const files = pemFiles('fp', gen.toPem(), gen.exportPrivateKeyPem());
    // The fingerprint check itself agrees with OpenSSL's own computation of it.
    const printed = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', files.cert], { encoding: 'utf8' });
    assert.equal(files.fingerprint, `sha-256 ${/=([0-9A-F:]+)/.exec(printed)?.[1]}`);
    const port = await freeUdpPort();
    const peer = new OpensslPeer(['s_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-cert', files.cert, '-key', files.key, '-use_srtp', cm80.dtlsName as string]);
    const ours = await ourEndpoint({ role: 'client', certificate: DtlsCertificate.generate(), remoteFingerprints: [DtlsCertificate.generate().fingerprint()] }, port);
    try {
      assert.ok(await peer.waitFor(/ACCEPT/));
      ours.endpoint.start();
      const r = await ours.result;
      assert.equal(r.error?.code, 'E_DTLS_FINGERPRINT', r.error?.message);
      assert.ok(await peer.waitFor(/bad certificate/), `OpenSSL saw bad_certificate:\n${peer.output}`);
    } finally {
      await ours.close();
      await peer.stop();
    }
  });
});
