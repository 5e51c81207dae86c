// Configuration: defaults < file < environment < flags, validation that fails closed, --help.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, envOf, flagOf, helpText, loadConfig, OPTIONS, type LoadConfigInput } from '../../src/config.ts';
import { cryptoPolicyOf } from '../../src/cli.ts';
import { SUITES } from '../../src/crypto/suites.ts';

/** loadConfig with files served from a map instead of the disk. */
function load(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const input: LoadConfigInput = {
    argv,
    env,
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return f;
    },
  };
  const r = loadConfig(input);
  if (r.kind !== 'config') throw new Error('expected a config');
  return r;
}

describe('config', () => {
  it('has the documented embedded defaults', () => {
    const { config, configFile } = load([]);
    assert.equal(configFile, null);
    assert.equal(config.ng.address, '127.0.0.1');
    assert.equal(config.ng.port, 2223);
    assert.equal(config.http.address, '127.0.0.1');
    assert.equal(config.http.port, 8080);
    assert.equal(config.http.token, '');
    assert.equal(config.media.address, '127.0.0.1');
    assert.equal(config.media.portMin, 30000);
    assert.equal(config.media.portMax, 40000);
    assert.equal(config.log.level, 'info');
  });

  it('applies file < environment < flags', () => {
    const files = { '/etc/srtpgate.json': JSON.stringify({ ng: { port: 3000, address: '127.0.0.2' }, media: { portMin: 31000 }, log: { level: 'debug' } }) };
    let r = load(['--config', '/etc/srtpgate.json'], {}, files);
    assert.equal(r.config.ng.port, 3000);
    assert.equal(r.config.ng.address, '127.0.0.2');
    assert.equal(r.config.media.portMin, 31000);
    assert.equal(r.origins['ng.port'], 'file');
    r = load(['--config', '/etc/srtpgate.json'], { SRTPGATE_NG_PORT: '4000' }, files);
    assert.equal(r.config.ng.port, 4000);
    assert.equal(r.origins['ng.port'], 'env');
    assert.equal(r.config.ng.address, '127.0.0.2', 'the env overrides only what it sets');
    r = load(['--config=/etc/srtpgate.json', '--ng-port', '5000'], { SRTPGATE_NG_PORT: '4000' }, files);
    assert.equal(r.config.ng.port, 5000);
    assert.equal(r.origins['ng.port'], 'flag');
    assert.equal(r.config.log.level, 'debug');
    r = load([], { SRTPGATE_CONFIG: '/etc/srtpgate.json' }, files);
    assert.equal(r.config.ng.port, 3000, 'SRTPGATE_CONFIG names the file too');
  });

  it('parses booleans, lists and --no- flags', () => {
    let r = load(['--media-strict-source']);
    assert.equal(r.config.media.strictSource, true);
    r = load(['--no-http-enabled'], { SRTPGATE_HTTP_ENABLED: 'true' });
    assert.equal(r.config.http.enabled, false);
    r = load(['--media-strict-source=false']);
    assert.equal(r.config.media.strictSource, false);
    r = load(['--ng-allow-from', '10.0.0.0/8,192.168.1.1', '--ng-allow-from=::1'], { SRTPGATE_NG_ALLOW_FROM: '172.16.0.0/12' });
    assert.deepEqual(r.config.ng.allowFrom, ['10.0.0.0/8', '192.168.1.1', '::1'], 'flags replace the env list and add up among themselves');
  });

  it('fails closed on unknown keys, unknown flags and bad values', () => {
    const bad: [string[], Record<string, string>, Record<string, string>, RegExp][] = [
      [['--config', 'f'], {}, { f: '{"ng": {"prot": 1}}' }, /unknown key.*ng\.prot/],
      [['--config', 'f'], {}, { f: '{"ng": 5}' }, /JSON object/],
      [['--config', 'f'], {}, { f: '{not json' }, /not valid JSON/],
      [['--config', 'missing'], {}, {}, /cannot read config file/],
      [['--ng-prot', '1'], {}, {}, /unknown flag/],
      [['--ng-port', '70000'], {}, {}, /out of range/],
      [['--ng-port', '12x'], {}, {}, /integer/],
      [['--ng-port'], {}, {}, /needs a value/],
      [['--ng-address', 'example.com'], {}, {}, /IPv4 or IPv6/],
      [['--ng-allow-from', '10.0.0.0/40'], {}, {}, /CIDR/],
      [['--log-level', 'loud'], {}, {}, /one of/],
      [['--media-strict-source=maybe'], {}, {}, /boolean/],
      [['stray'], {}, {}, /unexpected argument/],
      [['--media-port-min', '40000', '--media-port-max', '40000'], {}, {}, /portMax/],
      [[], { SRTPGATE_NG_PORT: '-1' }, {}, /out of range/],
      [['--ng-load-limit', '20', '--media-max-sessions', '10'], {}, {}, /loadLimit/],
    ];
    for (const [argv, env, files, re] of bad) {
      assert.throws(() => load(argv, env, files), (e: unknown) => e instanceof ConfigError && re.test(e.message), argv.join(' '));
    }
    // Strings that hold integers are accepted from the file as from the environment.
    assert.equal(load(['--config', 'f'], {}, { f: '{"ng": {"port": "2224"}}' }).config.ng.port, 2224);
  });

  it('keeps the token off the command line, reads it from env, file or token file, and checks it', () => {
    assert.throws(() => load(['--http-token', 'x'.repeat(20)]), /secret options cannot be flags/);
    const t = 'abcdefghijklmnopqrstuvwxyz';
    assert.equal(load([], { SRTPGATE_HTTP_TOKEN: t }).config.http.token, t);
    assert.equal(load(['--config', 'f'], {}, { f: JSON.stringify({ http: { token: t } }) }).config.http.token, t);
    assert.equal(load(['--http-token-file', '/run/tok'], {}, { '/run/tok': `${t}\n` }).config.http.token, t);
    assert.throws(() => load([], { SRTPGATE_HTTP_TOKEN: 'short' }), /at least 16/);
    assert.throws(() => load(['--http-token-file', '/run/tok'], { SRTPGATE_HTTP_TOKEN: t }, { '/run/tok': t }), /not both/);
    assert.throws(() => load(['--http-token-file', '/run/none']), /cannot read token file/);
    // The token never appears in an error message.
    try {
      load([], { SRTPGATE_HTTP_TOKEN: 'has white space in it' });
      assert.fail('expected an error');
    } catch (e) {
      assert.doesNotMatch((e as Error).message, /white space in it/);
    }
  });

  it('reads the SRTP policy options and turns them into a validated controller policy', () => {
    const strongest = SUITES.filter((x) => x.encrypts && x.keyLen !== 24).sort((a, b) => b.rank - a.rank);
    const [first, second] = [strongest[0]!.name, strongest[1]!.name];
    let r = load(['--srtp-suites', `${first},${second}`, '--srtp-minimum-suite', second]);
    assert.deepEqual(r.config.srtp.suites, [first, second]);
    let p = cryptoPolicyOf(r.config.srtp);
    assert.deepEqual([...p.suites], [first, second]);
    assert.equal(p.minRank, strongest[1]!.rank);
    // A minimum alone trims the default list instead of contradicting it.
    r = load(['--srtp-minimum-suite', first]);
    p = cryptoPolicyOf(r.config.srtp);
    assert.ok(p.suites.length >= 1);
    for (const n of p.suites) assert.ok(SUITES.find((x) => x.name === n)!.rank >= strongest[0]!.rank);
    assert.throws(() => load(['--srtp-suites', 'ROT13']), /unknown suite/);
    assert.throws(() => load(['--srtp-minimum-suite', 'ROT13']), /unknown suite/);
    // Contradictions surface as configuration errors (exit 2), not as failed calls.
    r = load(['--srtp-suites', second, '--srtp-minimum-suite', first]);
    assert.throws(() => cryptoPolicyOf(r.config.srtp), (e: unknown) => e instanceof ConfigError && /srtp options/.test(e.message));
  });

  it('warns about unknown SRTPGATE_ variables without failing', () => {
    const r = load([], { SRTPGATE_NO_NATIVE: '1', PATH: '/bin' });
    assert.deepEqual(r.warnings, ['unknown environment variable SRTPGATE_NO_NATIVE ignored']);
  });

  it('--help documents every option with its flag, variable and default', () => {
    const r = loadConfig({ argv: ['--ng-port', '1', '--help'], env: {} });
    assert.equal(r.kind, 'help');
    const text = r.kind === 'help' ? r.text : '';
    assert.equal(text, helpText());
    for (const o of OPTIONS) {
      if (o.secret !== true) assert.ok(text.includes(flagOf(o.key)), `help lists ${flagOf(o.key)}`);
      assert.ok(text.includes(envOf(o.key)), `help lists ${envOf(o.key)}`);
      assert.ok(text.includes(o.key), `help lists ${o.key}`);
    }
    for (const s of ['--config', 'SRTPGATE_CONFIG', 'Default: 2223', 'Default: 127.0.0.1', 'Default: 30000', 'Default: 40000', 'Default: 8080', 'SIGTERM']) {
      assert.ok(text.includes(s), s);
    }
    assert.equal(flagOf('ng.maxDatagramBytes'), '--ng-max-datagram-bytes');
    assert.equal(envOf('ng.maxDatagramBytes'), 'SRTPGATE_NG_MAX_DATAGRAM_BYTES');
  });
});
