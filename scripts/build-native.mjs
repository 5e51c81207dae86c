// Builds the optional batched-UDP addon (native/udpbatch.c → native/build/Release/udpbatch.node)
// with node-gyp against the headers of the node that runs this script. Never downloads
// anything and never fails: on any problem it says why and exits 0, and the relay keeps
// using node:dgram (BatchedIo.available() is false and tells the reason).
//   node scripts/build-native.mjs            build (incremental)
//   node scripts/build-native.mjs --strict   exit 1 on failure (CI jobs that require the addon)
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const strict = process.argv.includes('--strict');

function giveUp(reason) {
  console.warn(`build-native: batched UDP I/O not built (${reason}); the relay will use node:dgram.`);
  console.warn('build-native: to retry: node scripts/build-native.mjs');
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') giveUp(`recvmmsg/sendmmsg are Linux-only, this is ${process.platform}`);
if (process.env.SRTPGATE_NO_NATIVE === '1') giveUp('SRTPGATE_NO_NATIVE=1');

// node-gyp: the copy npm ships (npm sets npm_config_node_gyp for scripts), else the one
// beside this node's npm.
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(join(dirname(realpathSync(join(dirname(process.execPath), 'npm'))), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch { /* no npm beside node */ }
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

// Headers: npm's configured nodedir, else the prefix of this node (/usr/bin/node → /usr),
// accepted only if it really holds node_api.h and common.gypi. Without them node-gyp would
// try to download headers, which this project never does.
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, resolve(dirname(process.execPath), '..')];
  return candidates.find((d) => d && existsSync(join(d, 'include', 'node', 'node_api.h'))
    && existsSync(join(d, 'include', 'node', 'common.gypi'))) ?? null;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp not found (it ships with npm)');
const nodeDir = findNodeDir();
if (!nodeDir) giveUp(`node headers not found (looked for include/node/node_api.h under npm's nodedir and ${resolve(dirname(process.execPath), '..')}; they ship with node in include/node)`);

const r = spawnSync(process.execPath, [nodeGyp, 'configure', 'build', `--nodedir=${nodeDir}`, '--loglevel=warn'], {
  cwd: nativeDir,
  encoding: 'utf8',
  timeout: 180_000,
  env: { ...process.env, npm_config_nodedir: nodeDir },
});
if (r.error) giveUp(`node-gyp did not run: ${r.error.message}`);
if (r.status !== 0) {
  process.stderr.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  giveUp(`node-gyp exited with ${r.status}; is gcc/make/python3 installed? (apt-get install -y build-essential python3)`);
}

// Load it once here, so a broken build is reported now rather than at relay start.
const check = spawnSync(process.execPath, ['-e',
  `const a = require(${JSON.stringify(join(nativeDir, 'build', 'Release', 'udpbatch.node'))}); if (typeof a.create !== 'function') process.exit(3);`],
{ encoding: 'utf8' });
if (check.status !== 0) giveUp(`built, but it does not load: ${(check.stderr || '').trim().split('\n')[0]}`);
console.log(`build-native: built ${join('native', 'build', 'Release', 'udpbatch.node')} (headers from ${nodeDir})`);
