// Starts Debian's rtpengine (package rtpengine-daemon) for the bench: userspace only
// (--table=-1, no kernel module), foreground, the loopback interface, a port range of its
// own and an ng listener on 127.0.0.1. Everything else stays at rtpengine's defaults, worker
// threads included (one per core), because the defaults are what a deployment measures.
import { spawn, execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { NgClient } from './ngClient.ts';
import { NgRelay } from './ngRelay.ts';
import { niced } from './nice.ts';

export const RTPENGINE_INSTALL = 'apt-get install -y --no-install-recommends rtpengine-daemon';

export interface RtpengineOptions {
  portMin: number;
  portMax: number;
  /** Try apt-get when the binary is missing (root only). */
  install: boolean;
  /** nice value for rtpengine and all its threads (0: unchanged). */
  nice: number;
  /** Pass rtpengine's log (warnings and up) through `log`. */
  verbose: boolean;
  log(line: string): void;
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<{ ok: boolean; out: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: `${String(stdout)}${String(stderr)}`, missing: err?.code === 'ENOENT' });
    });
  });
}

/** rtpengine's version line, installing the package first when allowed; null when unavailable. */
async function ensureInstalled(o: RtpengineOptions): Promise<string | null> {
  const v = await run('rtpengine', ['--version'], 10_000);
  if (v.ok) return v.out.replace(/^Version:\s*/i, '').trim();
  if (!o.install || process.getuid?.() !== 0) return null;
  o.log(`rtpengine not found; trying: ${RTPENGINE_INSTALL}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): Promise<boolean> => new Promise((resolve) => {
    execFile('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'rtpengine-daemon'], { env, timeout: 300_000, maxBuffer: 8 << 20 },
      (err) => resolve(err === null));
  });
  // A fresh machine may not have package lists yet; update only when the first try fails.
  if (!(await install())) {
    await run('apt-get', ['update', '-qq'], 300_000);
    if (!(await install())) return null;
  }
  const again = await run('rtpengine', ['--version'], 10_000);
  return again.ok ? again.out.replace(/^Version:\s*/i, '').trim() : null;
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts rtpengine; resolves with the relay, or with the reason it is unavailable. */
export async function startRtpengine(o: RtpengineOptions): Promise<NgRelay | { skip: string }> {
  const version = await ensureInstalled(o);
  if (version === null) return { skip: `rtpengine is not installed; install it with: ${RTPENGINE_INSTALL}` };
  const ngPort = await freeUdpPort();
  const args = [
    '--config-file=none', '--table=-1', '--foreground', '--log-stderr', '--log-level=4',
    '--interface=127.0.0.1', `--listen-ng=127.0.0.1:${ngPort}`,
    `--port-min=${o.portMin}`, `--port-max=${o.portMax}`,
    // One-way media for minutes: no call may time out or linger between configurations.
    '--timeout=3600', '--silent-timeout=3600', '--delete-delay=0',
  ];
  const child = spawn(...niced('rtpengine', args, o.nice), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (o.verbose) for (const l of d.toString().split('\n')) if (l) o.log(`rtpengine: ${l}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  // Last resort if the bench dies: never leave an rtpengine behind.
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const client = await NgClient.connect({ host: '127.0.0.1', port: ngPort, retransmitMs: 250, attempts: 40 });
  try {
    const pong = await client.request('ping');
    if (pong.result !== 'pong') throw new Error(`unexpected ping reply ${String(pong.result)}`);
  } catch (e) {
    client.close();
    await stop();
    return { skip: `rtpengine did not answer ng ping (${e instanceof Error ? e.message : String(e)}); stderr: ${stderr.trim().split('\n').slice(-5).join(' | ')}` };
  }
  if (child.pid === undefined) throw new Error('rtpengine has no pid');
  o.log(`rtpengine ${version} pid ${child.pid}: ${args.join(' ')}`);
  return new NgRelay({ name: 'rtpengine', version: `${version} (userspace, --table=-1)`, client, pid: child.pid, stop });
}
