/** The CLI's commands, in process: exit codes and what they print. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { main } from '../app/cli.ts';
import { tempDir } from './helpers/index.ts';
import { startService } from './helpers/service.ts';
import { freePort } from './helpers/daemon.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const at = (p: string) => path.join(ROOT, p);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('vigil CLI', () => {
  it('validates the shipped pipelines.yaml', async () => {
    const r = await cli('validate', '--config', at('pipelines.yaml'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^config OK: /);
  });

  it('runs rule tests: 0 when they pass, 1 with a diff when they fail', async () => {
    const ok = await cli('test', '--config', at('processors/alerts/testdata/rules-config.yaml'), at('processors/alerts/testdata/rules-pass.test.yaml'));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('SUCCESS');
    const bad = await cli('test', '--config', at('processors/alerts/testdata/rules-config.yaml'), at('processors/alerts/testdata/rules-fail.test.yaml'));
    expect(bad.code).toBe(1);
    // as promtool test rules: the failures and the verdict on stderr
    expect(bad.err).toContain('label service.name: expected "cart", got "checkout"');
    expect(bad.err).toMatch(/\nFAILED\n$/);
    expect(bad.out).not.toMatch(/FAIL/);
  });

  it('puts every error of validate, run and test on stderr with exit 1, naming a missing file without a made-up line:col', async () => {
    const dir = tempDir();
    const missing = path.join(dir, 'nope.yaml');
    const config = at('processors/alerts/testdata/rules-config.yaml');
    const passing = at('processors/alerts/testdata/rules-pass.test.yaml');
    const latin1 = path.join(dir, 'latin1.test.yaml');
    fs.writeFileSync(latin1, Buffer.concat([Buffer.from('tests:\n  - name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const cases: [string[], string][] = [
      [['validate', '--config', missing], `${missing}: the config file does not exist\n1 error in ${missing}\n`],
      [['run', '--config', missing], `${missing}: the config file does not exist\nvigil run: 1 config error(s); not starting\n`],
      [['test', '--config', missing, passing], `${missing}: the config file does not exist\n1 config error in ${missing}: no test run\n`],
      // as promtool: a test file that does not exist stops everything before any test runs
      [['test', '--config', config, passing, missing], `${missing}: the test file does not exist\n`],
      [['test', '--config', config, latin1], `FAIL ${latin1}:2:14: invalid UTF-8 (byte 0xe9 at byte offset 20): save the file as UTF-8\nFAILED\n`],
      [['status', '--config', missing], `vigil status: cannot read the config for the daemon's address:\n${missing}: the config file does not exist\n`],
      [['alerts', '--config', missing], `vigil alerts: cannot read the config for the daemon's address:\n${missing}: the config file does not exist\n`],
      [['silence', 'list', '--config', missing], `vigil silence: cannot read the config for the daemon's address:\n${missing}: the config file does not exist\n`],
      [['test'], 'vigil test: give --config FILE and at least one TESTFILE\n'],
    ];
    for (const [argv, err] of cases) {
      const r = await cli(...argv);
      expect([argv, r.code, r.out, r.err]).toEqual([argv, 1, '', err]);
    }
    // a run with a passing and a failing file: what passed on stdout, what failed on stderr
    const mixed = await cli('test', '--config', config, passing, latin1);
    expect([mixed.code, mixed.out]).toEqual([1, `ok   ${passing}: tests[0] (checkout errors then latency) (6 checks)\n`]);
  });

  it('prints the usage on stderr with exit 1 when no command is given (a usage error), on stdout with exit 0 for --help', async () => {
    const none = await cli();
    expect([none.code, none.out]).toEqual([1, '']);
    expect(none.err).toMatch(/^vigil: a telemetry pipeline daemon/);
    const help = await cli('--help');
    expect([help.code, help.err, help.out]).toEqual([0, '', none.err]);
  });

  it('adds, lists and expires silences through the running daemon, from any directory; fails loudly when it is not running', async () => {
    const dir = tempDir();
    const service = await startService(
      dir,
      YAML.stringify({
        receivers: { nop: {} },
        processors: { alerts: { rules: [] } },
        exporters: { debug: {} },
        service: { state_dir: dir, telemetry: { endpoint: '127.0.0.1:0', api: { bearer_token: 's3cret' } }, pipelines: { main: { receivers: ['nop'], processors: ['alerts'], exporters: ['debug'] } } },
      }),
    );
    try {
      const url = `http://127.0.0.1:${service.telemetryPort}`;
      const add = await cli('silence', 'add', '--url', url, '--token', 's3cret', 'alertname=HighP95Latency', '--matcher', 'service.name=~"check.*"', '--duration', '2h', '--comment', 'deploy');
      expect(add.err).toBe('');
      expect(add.code).toBe(0);
      const id = add.out.trim();
      expect(service.silences!.get(id)!.matchers).toEqual([
        { name: 'service.name', value: 'check.*', isRegex: true, isEqual: true },
        { name: 'alertname', value: 'HighP95Latency', isRegex: false, isEqual: true },
      ]);
      const list = await cli('silence', 'list', '--url', url);
      expect(list.out).toContain(id);
      expect(list.out).toMatch(/active\s+service\.name=~"check\.\*" alertname="HighP95Latency"/);
      const noToken = await cli('silence', 'expire', '--url', url, id);
      expect(noToken.code).toBe(1);
      expect(noToken.err).toMatch(/401 .*--token/);
      const wrongToken = await cli('silence', 'expire', '--url', url, '--token', 'not-it', id);
      expect(wrongToken.err).toMatch(/401 .*the daemon refused the token given/);
      expect((await cli('silence', 'expire', '--url', url, '--token', 's3cret', id.slice(0, 8))).out).toBe(`expired ${id}\n`);
      expect((await cli('silence', 'list', '--url', url)).out).toMatch(/^no active or pending silences/);
      // --expired lists the expired ones only, as amtool's `silence query --expired` does
      const expiredList = (await cli('silence', 'list', '--url', url, '--expired')).out;
      expect(expiredList).toContain(id);
      expect(expiredList).toMatch(/expired/);
      // as amtool silence add: a first argument that is not a matcher is the alert name; a later one is an error
      const byName = await cli('silence', 'add', '--url', url, '--token', 's3cret', 'HighP95Latency', 'service.name=checkout', '--duration', '2h', '--comment', 'c');
      expect(byName.err).toBe('');
      expect(service.silences!.get(byName.out.trim())!.matchers).toContainEqual({ name: 'alertname', value: 'HighP95Latency', isRegex: false, isEqual: true });
      expect((await cli('silence', 'list', '--url', url, 'HighP95Latency')).out).toContain(byName.out.trim());
      // without --author, the user's name as amtool takes it (the account's when $USER is not set)
      const user = process.env.USER;
      delete process.env.USER;
      try {
        const anon = await cli('silence', 'add', '--url', url, '--token', 's3cret', 'alertname=Y', '--duration', '1h', '--comment', 'c');
        expect(service.silences!.get(anon.out.trim())!.createdBy).toBe(os.userInfo().username);
      } finally {
        if (user !== undefined) process.env.USER = user;
      }
      const yaml = await cli('silence', 'list', '--url', url, '--output', 'yaml');
      expect(yaml.code).toBe(1);
      expect(yaml.err).toBe('vigil silence: --output "yaml": expected text or json\n');
      // a first argument that is a matcher with a bad regex: its own error, not the alertname=... rewrite's
      for (const argv of [['silence', 'add', '--token', 's3cret', '--duration', '2h', '--comment', 'c'], ['silence', 'list'], ['alerts']]) {
        const badRegex = await cli(...argv, '--url', url, 'foo=~"("');
        expect([badRegex.code, badRegex.out, badRegex.err]).toEqual([1, '', `vigil ${argv[0]}: invalid matcher "foo=~\\"(\\"": invalid regex "(" (RE2 syntax): missing closing ): \`(\` at offset 0\n`]);
      }
      const bad = await cli('silence', 'add', '--url', url, '--token', 's3cret', 'alertname=X', 'no operator here', '--duration', '2h');
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/^vigil silence: invalid matcher "no operator here"/);
      // --start/--end are RFC 3339: a day the calendar does not have is refused (Date.parse took 02-30 as 2 March)
      for (const flag of ['--start', '--end']) {
        const badTime = await cli('silence', 'add', '--url', url, '--token', 's3cret', 'alertname=X', flag, '2099-02-30T12:00:00Z', ...(flag === '--start' ? ['--duration', '2h'] : []));
        expect(badTime.code).toBe(1);
        expect(badTime.err).toBe(`vigil silence: ${flag} "2099-02-30T12:00:00Z": expected an RFC 3339 time such as 2026-11-30T12:00:00Z\n`);
      }
      // the URL and token come from the config when --config is given
      const cfg = path.join(dir, 'pipelines.yaml');
      const viaConfig = await cli('silence', 'add', '--config', cfg, 'alertname=X', '--comment', 'c');
      expect(viaConfig.err).toMatch(/telemetry endpoint 127\.0\.0\.1:0 .*port 0.*--url/);
      const rewritten = fs.readFileSync(cfg, 'utf8').replace('127.0.0.1:0', `127.0.0.1:${service.telemetryPort}`);
      fs.writeFileSync(cfg, rewritten);
      const ok = await cli('silence', 'add', '--config', cfg, 'alertname=X', '--comment', 'c');
      expect(ok.err).toBe('');
      expect(service.silences!.get(ok.out.trim())).toBeDefined();
    } finally {
      await service.shutdown();
    }
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await cli('silence', 'list', '--url', closed);
    expect(down.code).toBe(1);
    expect(down.err).toBe(`vigil silence: cannot reach vigil at ${closed} (ECONNREFUSED): is the daemon running? Give its telemetry endpoint with --url or --config\n`);
    const alertsDown = await cli('alerts', '--url', closed);
    expect(alertsDown.code).toBe(1);
    expect(alertsDown.err).toMatch(/cannot reach vigil/);
  });

  it('reads from a daemon whose telemetry endpoint requires a token (service.telemetry.auth, as every shipped deployment has)', async () => {
    const dir = tempDir();
    const port = await freePort();
    const cfg = path.join(dir, 'pipelines.yaml');
    // the shipped configs' shape: the read token from the environment, no API token
    fs.writeFileSync(
      cfg,
      YAML.stringify({
        receivers: { nop: {} },
        processors: { alerts: { rules: [] } },
        exporters: { debug: {} },
        service: { state_dir: dir, telemetry: { endpoint: `127.0.0.1:${port}`, auth: { bearer_token: '${env:VIGIL_CLI_TEST_READ_TOKEN}' } }, pipelines: { main: { receivers: ['nop'], processors: ['alerts'], exporters: ['debug'] } } },
      }),
    );
    process.env.VIGIL_CLI_TEST_READ_TOKEN = 'r3ad';
    const service = await startService(dir, fs.readFileSync(cfg, 'utf8'));
    try {
      const url = `http://127.0.0.1:${port}`;
      const reads = [['status'], ['alerts'], ['silence', 'list']];
      // --config: the address and the read token come from the daemon's config
      for (const argv of reads) expect(await cli(...argv, '--config', cfg), argv.join(' ')).toMatchObject({ code: 0, err: '' });
      // --token: the token given reads too
      for (const argv of reads) expect(await cli(...argv, '--url', url, '--token', 'r3ad'), argv.join(' ')).toMatchObject({ code: 0, err: '' });
      // none: refused, with what to give
      const none = await cli('alerts', '--url', url);
      expect(none.code).toBe(1);
      expect(none.err).toMatch(/401 missing or invalid bearer token \(service\.telemetry\.auth\) \(give the daemon's config with --config, or its service\.telemetry\.auth\.bearer_token with --token\)/);
    } finally {
      delete process.env.VIGIL_CLI_TEST_READ_TOKEN;
      await service.shutdown();
    }
  });

  it('explains unknown commands and options', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown command "frobnicate"');
    const o = await cli('validate', '--confg', 'x');
    expect(o.code).toBe(1);
    expect(o.err).toContain("Unknown option '--confg'");
    for (const command of ['validate', 'run']) {
      const none = await cli(command);
      expect([none.code, none.err]).toEqual([1, `vigil ${command}: no --config file given (vigil ${command} --config pipelines.yaml)\n`]);
    }
    expect((await cli('--help')).code).toBe(0);
  });

  it('says what is wrong with an option in words, pointing at --help, never at a "--" positional argument', async () => {
    for (const command of ['run', 'validate', 'test', 'status', 'alerts', 'silence']) {
      const r = await cli(...(command === 'silence' ? ['silence', 'list'] : [command]), '--bogus');
      expect([r.code, r.out, r.err]).toEqual([1, '', `vigil ${command}: Unknown option '--bogus' (vigil ${command} --help lists its options)\n`]);
    }
    const missing = await cli('validate', '--config');
    expect([missing.code, missing.err]).toEqual([1, "vigil validate: Option '-c, --config <value>' argument missing (vigil validate --help)\n"]);
    for (const argv of [['validate', '--config='], ['run', '--config', ''], ['validate', '--config', at('pipelines.yaml'), '-c', ' ']]) {
      const r = await cli(...argv);
      expect([argv, r.code, r.err]).toEqual([argv, 1, `vigil ${argv[0]}: --config needs a file name, not an empty value\n`]);
    }
    const flag = await cli('-v');
    expect([flag.code, flag.out]).toEqual([1, '']);
    expect(flag.err).toMatch(/^vigil: unknown option "-v"\n\nvigil: a telemetry pipeline daemon/);
  });

  it('refuses a file given without --config to validate and run, instead of ignoring it', async () => {
    for (const command of ['validate', 'run']) {
      const r = await cli(command, '--config', at('pipelines.yaml'), 'other.yaml');
      expect([r.code, r.out, r.err]).toEqual([
        1,
        '',
        `vigil ${command}: unexpected argument "other.yaml": give each file with its own --config (vigil ${command} --config a.yaml --config b.yaml)\n`,
      ]);
    }
  });

  it('prints each command\'s usage for --help or -h, exit 0, as the top-level --help does', async () => {
    for (const [argv, shows] of [
      [['run', '--help'], 'vigil run --config FILE'],
      [['validate', '-h'], 'vigil validate --config FILE'],
      [['test', '--config', 'x.yaml', '--help'], 'vigil test --config FILE'],
      [['status', '--help'], 'vigil status [--output'],
      [['alerts', '--help'], 'vigil alerts [MATCHER...]'],
      [['silence', '--help'], 'vigil silence expire ID'],
      [['silence', 'add', '--help'], 'vigil silence add MATCHER...'],
    ] as const) {
      const r = await cli(...argv);
      expect([argv, r.code, r.err]).toEqual([argv, 0, '']);
      expect(r.out).toContain(shows);
      expect(r.out).toMatch(/^usage:\n/);
      // only that command's lines
      expect(r.out.match(/^ {2}vigil (\w+)/gm)!.every((l) => l.endsWith(argv[0]))).toBe(true);
    }
    // after --, --help is a positional (a test file so named), not a request for help
    expect((await cli('test', '--config', 'x.yaml', '--', '--help')).out).not.toMatch(/^usage:/);
  });
});
