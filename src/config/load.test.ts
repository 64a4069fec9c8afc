import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { components } from '../../app/components.ts';
import { formatConfigError, loadConfig } from './load.ts';
import { Endpoint } from './types.ts';

const td = (f: string) => path.join(import.meta.dirname, 'testdata', f);
const rel = (f: string) => path.relative(process.cwd(), td(f));

async function errorsOf(files: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const r = await loadConfig(files.map(td), registry, env);
  return r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }));
}

// doubles: a receiver that binds an endpoint, and an exporter that only handles alerts
const registry = components.with(
  {
    type: 'listener',
    kind: 'receiver',
    schema: Type.Object({ endpoint: Endpoint('localhost:0') }, { additionalProperties: false, default: {} }),
    signals: ['traces', 'metrics', 'logs', 'alerts'],
    endpoints: (c: { endpoint: string }) => [c.endpoint],
    create: () => ({ start: async () => {}, shutdown: async () => {} }),
  },
  {
    type: 'alertsonly',
    kind: 'exporter',
    schema: Type.Object({}, { additionalProperties: false, default: {} }),
    signals: ['alerts'],
    create: () => ({ start: async () => {}, shutdown: async () => {}, consume: async () => {} }),
  },
);

describe('loadConfig', () => {
  it('loads a valid file, applies defaults and env defaults, and freezes the result', async () => {
    const r = await loadConfig([td('valid.yaml')], registry, { VIGIL_TEST_STATE: '/tmp/vigil-state' });
    expect(r.errors).toEqual([]);
    const c = r.config!;
    expect(c.service.state_dir).toBe('/tmp/vigil-state');
    expect(c.service.telemetry.endpoint).toBe('localhost:0');
    expect(c.service.telemetry.logs.level).toBe('info');
    expect(c.processors['batch']).toEqual({ send_batch_size: 8192, timeout: '200ms' });
    expect(c.processors['memory_limiter']).toMatchObject({ limit_mib: 512, check_interval: '1s' });
    expect(c.service.pipelines['traces']!.processors).toEqual(['memory_limiter', 'batch']);
    expect(Object.isFrozen(c.processors['batch'])).toBe(true);
  });

  it('reports every mistake at once with file:line:col, key path and what was expected', async () => {
    expect(await errorsOf(['bad_three.yaml'])).toEqual([
      'bad_three.yaml:5:22: processors.batch.send_batch_size: expected integer',
      'bad_three.yaml:6:5: processors.batch.timout: unknown key "timout"',
      'bad_three.yaml:14:26: service.pipelines.main.exporters[1]: exporter "slack/oncall" is not defined in exporters',
    ]);
  });

  it('says one thing per mistake: no "expected string" thrice beside "expected one of", no "expected null" from a union\'s other branch', async () => {
    const r = await loadConfig([td('bad_types.yaml')], components, {});
    expect(r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      'bad_types.yaml:5:24: receivers.otlp.protocols.http.endpoint: expected host:port with a port from 0 to 65535',
      'bad_types.yaml:6:39: receivers.otlp.protocols.grpc.tls: unknown key "tls"',
      'bad_types.yaml:9:16: exporters.debug.verbosity: expected one of "basic", "normal", "detailed"',
    ]);
  });

  it('refuses a port past 65535 in an endpoint to bind or to send to', async () => {
    const r = await loadConfig([td('bad_ports.yaml')], components, {});
    expect(r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      'bad_ports.yaml:5:24: receivers.otlp.protocols.grpc.endpoint: expected host:port with a port from 0 to 65535',
      'bad_ports.yaml:6:24: receivers.otlp.protocols.http.endpoint: expected host:port with a port from 0 to 65535',
      'bad_ports.yaml:9:23: exporters.otlp/up.endpoint: expected host:port or http(s)://host:port (a port from 0 to 65535) for protocol grpc',
    ]);
  });

  it('refuses a certificate, key or token file that cannot be read, at its key, all at once', async () => {
    const r = await loadConfig([td('bad_files.yaml')], components, {});
    expect(r.errors.map((e) => [e.code, formatConfigError({ ...e, file: path.basename(e.file) })])).toEqual([
      ['VIGIL_CONFIG_READ', 'bad_files.yaml:4:22: receivers.otlp.tls.cert_file: ./testdata-no-such/cert.pem does not exist'],
      ['VIGIL_CONFIG_READ', 'bad_files.yaml:4:61: receivers.otlp.tls.key_file: ./testdata-no-such/key.pem does not exist'],
      ['VIGIL_CONFIG_READ', 'bad_files.yaml:11:26: service.telemetry.api.bearer_token_file: / is a directory, not a file'],
    ]);
    // the same files, present, pass
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-files-'));
    for (const f of ['cert.pem', 'key.pem', 'token']) fs.writeFileSync(path.join(dir, f), 'x');
    const text = fs.readFileSync(td('bad_files.yaml'), 'utf8').replaceAll('./testdata-no-such', dir).replace('bearer_token_file: /', `bearer_token_file: ${dir}/token`);
    fs.writeFileSync(path.join(dir, 'ok.yaml'), text);
    expect((await loadConfig([path.join(dir, 'ok.yaml')], components, {})).errors).toEqual([]);
  });

  it('refuses YAML infinities and NaN where a number or an integer is expected (Ajv takes .inf for an integer unless told not to)', async () => {
    expect(await errorsOf(['bad_numbers.yaml'])).toEqual([
      'bad_numbers.yaml:5:22: processors.batch.send_batch_size: expected integer',
      'bad_numbers.yaml:7:16: processors.memory_limiter.limit_mib: expected integer',
      'bad_numbers.yaml:10:26: exporters.debug.sampling_thereafter: expected integer',
    ]);
  });

  it('names the type a bound belongs to: a negative integer is "expected an integer >= 1", not "a number"', async () => {
    expect(await errorsOf(['bad_bounds.yaml'])).toEqual([
      'bad_bounds.yaml:5:22: processors.batch.send_batch_size: expected an integer >= 1',
      'bad_bounds.yaml:7:16: processors.memory_limiter.limit_mib: expected an integer >= 1',
      'bad_bounds.yaml:8:22: processors.memory_limiter.spike_limit_mib: expected an integer >= 0',
    ]);
  });

  it('says that YAML 1.1 words for booleans (no, off) are strings where a boolean is expected', async () => {
    expect(await errorsOf(['bad_yaml11_booleans.yaml'])).toEqual([
      'bad_yaml11_booleans.yaml:7:20: exporters.opsgenie.send_resolved: expected boolean ("no" is a string in YAML 1.2: write true or false)',
      'bad_yaml11_booleans.yaml:10:35: service.telemetry.api.unauthenticated_writes: expected boolean ("off" is a string in YAML 1.2: write true or false)',
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    const errs = await errorsOf(['bad_yaml.yaml']);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]).toMatch(/^bad_yaml\.yaml:\d+:\d+: YAML: /);
  });

  it('reports one YAML mistake once, not followed by every later token of the file, and says to quote a ${...} in a flow mapping', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-yaml-'));
    const file = path.join(dir, 'c.yaml');
    // receivers/otlp/README.md's example once read this way: the yaml package gave 31 errors, the last 29 "in YAML stream"
    fs.writeFileSync(file, 'receivers:\n  otlp:\n    auth: {bearer_token: ${env:OTLP_TOKEN}}\nexporters:\n  nop: {}\nservice:\n  pipelines:\n    main: {receivers: [otlp], exporters: [nop]}\n');
    const r = await loadConfig([file], registry, { OTLP_TOKEN: 't' });
    expect(r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      'c.yaml:3:27: YAML: Unexpected flow-map-start at node end (inside {...} or [...], quote the reference: "${env:OTLP_TOKEN}")',
      'c.yaml:3:28: YAML: Unexpected scalar at node end',
    ]);
    // two mistakes far apart are both still reported
    fs.writeFileSync(file, 'receivers:\n\totlp: {}\nexporters:\n  nop: "open\n');
    const two = (await loadConfig([file], registry, {})).errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }));
    expect(two).toEqual([expect.stringMatching(/^c\.yaml:2:1: YAML: Tabs are not allowed/), 'c.yaml:5:1: YAML: Missing closing "quote']);
  });

  it('names a missing environment variable and where it is used', async () => {
    expect(await errorsOf(['bad_env.yaml'])).toEqual([
      'bad_env.yaml:5:16: exporters.debug.verbosity: environment variable VIGIL_TEST_UNSET_VARIABLE is not set and has no default (write ${env:VIGIL_TEST_UNSET_VARIABLE:-default})',
    ]);
  });

  it('refuses a ${...} that is not ${env:NAME}, instead of keeping it as text (the Collector refuses them too)', async () => {
    expect(await errorsOf(['bad_env_syntax.yaml'])).toEqual([
      'bad_env_syntax.yaml:8:10: exporters.webhook.headers.A: "${env:1BAD}" is not a reference vigil expands: the variable name "1BAD" must match [A-Za-z_][A-Za-z0-9_]*',
      'bad_env_syntax.yaml:9:10: exporters.webhook.headers.B: "${ENV:TOKEN}" is not a reference vigil expands: the only scheme is "env" (${env:NAME}), not "ENV" (write $$ for a literal $)',
      'bad_env_syntax.yaml:10:10: exporters.webhook.headers.C: "${file:/run/secrets/token}" is not a reference vigil expands: the only scheme is "env" (${env:NAME}), not "file" (write $$ for a literal $)',
      'bad_env_syntax.yaml:11:10: exporters.webhook.headers.D: "${env:}" is not a reference vigil expands: the variable name is empty',
      'bad_env_syntax.yaml:12:10: exporters.webhook.headers.E: "${env:UNCLOSED" is not a reference vigil expands: it has no closing "}" (write $$ for a literal $)',
    ]);
  });

  it('gives each kind of mistake its stable code', async () => {
    const codes = async (f: string) => (await loadConfig([td(f)], registry, {})).errors.map((e) => e.code);
    expect(await codes('bad_three.yaml')).toEqual(['VIGIL_CONFIG_SCHEMA', 'VIGIL_CONFIG_SCHEMA', 'VIGIL_CONFIG_PIPELINE']);
    expect(await codes('bad_env.yaml')).toEqual(['VIGIL_CONFIG_ENV']);
    expect(await codes('bad_duplicate_id.yaml')).toEqual(['VIGIL_CONFIG_DUPLICATE_KEY']);
    expect(await codes('bad_yaml.yaml')).toContain('VIGIL_CONFIG_YAML');
    expect(await codes('bad_endpoints.yaml')).toEqual(['VIGIL_CONFIG_ENDPOINT', 'VIGIL_CONFIG_ENDPOINT', 'VIGIL_CONFIG_ENDPOINT', 'VIGIL_CONFIG_PIPELINE']);
    expect(await codes('missing.yaml')).toEqual(['VIGIL_CONFIG_READ']);
  });

  it('checks the wiring: wrong kind, listed twice, empty list, unknown type', async () => {
    expect(await errorsOf(['bad_wiring.yaml'])).toEqual([
      expect.stringMatching(/^bad_wiring\.yaml:7:3: exporters\.nope\/x: unknown exporter type "nope" \(known: (\w+, )*debug, (\w+, )*nop(, \w+)*\)$/),
      'bad_wiring.yaml:11:19: service.pipelines.main.receivers[0]: "batch" is a processor, not a receiver',
      'bad_wiring.yaml:12:27: service.pipelines.main.processors[1]: processor "batch" is listed twice in this pipeline',
      'bad_wiring.yaml:13:18: service.pipelines.main.exporters: expected at least 1 item',
    ]);
  });

  it('reports a broken receivers list once, not also an exporter that "would receive nothing" because of it', async () => {
    expect(await errorsOf(['bad_receivers_list.yaml'])).toEqual([
      'bad_receivers_list.yaml:9:18: service.pipelines.main.receivers: expected array',
      'bad_receivers_list.yaml:12:19: service.pipelines.other.receivers[0]: receiver "nosuch" is not defined in receivers',
    ]);
  });

  it('refuses a duplicate component ID', async () => {
    const errs = await errorsOf(['bad_duplicate_id.yaml']);
    expect(errs).toEqual(['bad_duplicate_id.yaml:5:3: exporters.debug: "debug" is defined twice (IDs and keys must be unique)']);
  });

  it('refuses an endpoint used twice and a component in a pipeline of a signal it does not handle', async () => {
    expect(await errorsOf(['bad_endpoints.yaml'])).toEqual([
      'bad_endpoints.yaml:3:15: receivers.listener/a.endpoint: endpoint localhost:4999 is already used by service.telemetry.endpoint',
      'bad_endpoints.yaml:5:15: receivers.listener/b.endpoint: endpoint 127.0.0.1:4999 is already used by service.telemetry.endpoint',
      'bad_endpoints.yaml:5:15: receivers.listener/b.endpoint: endpoint 127.0.0.1:4999 is already used by receivers.listener/a.endpoint',
      'bad_endpoints.yaml:14:19: service.pipelines.traces.exporters[0]: exporter "alertsonly" would receive nothing: it handles alerts, and pipeline "traces" carries traces (from its receivers); add an alerts processor to this pipeline\'s processors, or list "alertsonly" in a pipeline that has one',
    ]);
  });

  it('merges files in order, types whole-value env references, and keeps $$ literal', async () => {
    const r = await loadConfig([td('valid.yaml'), td('override.yaml')], registry, { VIGIL_TEST_BATCH: '100' });
    expect(r.errors).toEqual([]);
    expect(r.config!.exporters['debug']).toEqual({ verbosity: 'detailed', sampling_initial: 2, sampling_thereafter: 1 });
    expect(r.config!.processors['batch']).toEqual({ send_batch_size: 100, timeout: '200ms' });
    expect(r.config!.processors['memory_limiter']).toMatchObject({ limit_mib: 512 });
    expect(r.config!.service.state_dir).toBe(path.resolve('./data-${env:HOME}'));
  });

  it('points errors from a later file at that file', async () => {
    const r = await loadConfig([td('valid.yaml'), td('override.yaml')], registry, { VIGIL_TEST_BATCH: 'many' });
    expect(r.errors.map(formatConfigError)).toEqual([
      `${td('override.yaml')}:6:22: processors.batch.send_batch_size: expected integer`,
    ]);
  });

  it('reports a file that cannot be read by its name, with no made-up line:col', async () => {
    const r = await loadConfig([td('missing.yaml')], registry);
    expect(r.errors.map(formatConfigError)).toEqual([`${td('missing.yaml')}: the config file does not exist`]);
    expect(r.errors[0]).not.toHaveProperty('line');
    expect(rel('missing.yaml')).toContain('testdata');
  });

  it('refuses a config file that is not UTF-8 at its first bad byte, instead of reading U+FFFD in its place', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-utf8-'));
    const file = path.join(dir, 'latin1.yaml');
    // "é" written in Latin-1 (0xe9) in a label value on line 5, after "é" in UTF-8 (two bytes, one column) on line 4
    const text = fs.readFileSync(td('valid.yaml'), 'utf8');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('# café\n# x\n# y\n# é\n# caf'), Buffer.from([0xe9]), Buffer.from(`\n${text}`)]));
    const r = await loadConfig([file], registry, { VIGIL_TEST_BATCH: '1' });
    expect(r.errors.map(formatConfigError)).toEqual([`${file}:5:6: invalid UTF-8 (byte 0xe9 at byte offset 26): save the file as UTF-8`]);
    expect(r.errors[0]!.code).toBe('VIGIL_CONFIG_READ');
  });

  it('refuses a certificate or token file that is not UTF-8 text, at its key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-utf8-'));
    fs.writeFileSync(path.join(dir, 'token'), Buffer.from([0x61, 0x62, 0x0a, 0x63, 0xff, 0xfe]));
    for (const f of ['cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, f), 'x');
    const text = fs.readFileSync(td('bad_files.yaml'), 'utf8').replaceAll('./testdata-no-such', dir).replace('bearer_token_file: /', `bearer_token_file: ${dir}/token`);
    fs.writeFileSync(path.join(dir, 'c.yaml'), text);
    const r = await loadConfig([path.join(dir, 'c.yaml')], components, {});
    expect(r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      `c.yaml:11:26: service.telemetry.api.bearer_token_file: ${dir}/token:2:2: invalid UTF-8 (byte 0xff at byte offset 4): save the file as UTF-8`,
    ]);
  });

  it('applies YAML merge keys (<<: *anchor), explicit keys winning, as the Collector and Prometheus do', async () => {
    const r = await loadConfig([td('merge_keys.yaml')], registry, {});
    expect(r.errors.map(formatConfigError)).toEqual([]);
    const rules = (r.config!.processors['alerts'] as { rules: Record<string, unknown>[] }).rules;
    expect(rules.map((x) => [x['name'], x['stat'], x['threshold'], x['group_by'], x['labels']])).toEqual([
      ['SlowCheckout', 'p95', 2000, ['service.name'], { team: 'payments' }],
      ['VerySlowCheckout', 'p95', 5000, ['service.name'], { team: 'payments', tier: 'web' }],
    ]);
  });

  it('refuses a "billion laughs" file at once, naming the alias that expands most, and takes an anchor used many times', async () => {
    const errs = await errorsOf(['bad_alias_bomb.yaml']);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^bad_alias_bomb\.yaml:12:60: service\.pipelines\.main\.processors: YAML: aliases expand the document to [\d,]+ nodes .*the alias \*h alone expands to [\d,]+: a "billion laughs"/);
    // 300 uses of one small anchor: far past the yaml package's default limit of 100 alias uses, yet plain
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-alias-'));
    const file = path.join(dir, 'anchors.yaml');
    const ids = Array.from({ length: 300 }, (_, i) => `nop/${i}`);
    fs.writeFileSync(
      file,
      ['receivers:', '  nop:', 'exporters:', '  nop: &plain {}', ...ids.map((id) => `  ${id}: *plain`), 'service:', `  pipelines: {main: {receivers: [nop], exporters: [${ids.join(', ')}]}}`].join('\n'),
    );
    const r = await loadConfig([file], registry, {});
    expect(r.errors.map(formatConfigError)).toEqual([]);
    expect(Object.keys(r.config!.exporters)).toHaveLength(301);
  });

  it.each([
    // the yaml package throws a ReferenceError for these when the document is made into values: `vigil validate` crashed
    ['an alias with no anchor', 'receivers:\n  otlp:\n    protocols: *grpc\n', 'c.yaml:3:16: receivers.otlp.protocols: YAML: the alias *grpc has no anchor &grpc before it (an alias repeats a node anchored earlier in the file)'],
    ['an alias before its anchor', 'exporters:\n  nop/a: *n\n  nop/b: &n {}\n', 'c.yaml:2:10: exporters.nop/a: YAML: the alias *n has no anchor &n before it (an alias repeats a node anchored earlier in the file)'],
    // a mapping or list as a key: the yaml package made it text ("{ a: 1 }") with a process warning
    ['a list as a key', 'receivers:\n  ? [otlp]\n  : {}\n', 'c.yaml:2:5: receivers: YAML: a key must be a plain value, not a list'],
    ['a mapping as a key', 'processors:\n  alerts:\n    rules:\n      - {name: x}: 1\n', 'c.yaml:4:9: processors.alerts.rules[0]: YAML: a key must be a plain value, not a mapping'],
  ])('refuses %s, naming where it is', async (_what, text, expected) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-yaml-'));
    fs.writeFileSync(path.join(dir, 'c.yaml'), text);
    const r = await loadConfig([path.join(dir, 'c.yaml')], registry, {});
    expect(r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([expected]);
  });

  it('reports a mistake in merged keys where the anchored mapping wrote it', async () => {
    expect(await errorsOf(['bad_merge_keys.yaml'])).toEqual([
      'bad_merge_keys.yaml:14:17: processors.alerts.rules[0].labels.team: expected string',
      'bad_merge_keys.yaml:14:17: processors.alerts.rules[1].labels.team: expected string',
    ]);
  });

  it('keeps an expanded env value as text where the field takes a string, typed where it takes a number (Collector issue 10937)', async () => {
    const env = {
      VIGIL_TEST_BATCH: '100',
      VIGIL_TEST_THRESHOLD: '2.5',
      VIGIL_TEST_ACCOUNT: '012345678912',
      VIGIL_TEST_FLAG: 'true',
      VIGIL_TEST_TOKEN: '123',
    };
    const r = await loadConfig([td('env_text.yaml')], registry, env);
    expect(r.errors.map(formatConfigError)).toEqual([]);
    const c = r.config!;
    expect(c.processors['batch']).toMatchObject({ send_batch_size: 100 });
    const rule = (c.processors['alerts'] as { rules: Record<string, unknown>[] }).rules[0]!;
    expect(rule['threshold']).toBe(2.5);
    expect(rule['labels']).toEqual({ account: '012345678912', enabled: 'true', empty: '' });
    expect((c.exporters['webhook'] as { headers: Record<string, string> }).headers).toEqual({ 'X-Token': '123' });
    // a number field still refuses text that is not a number, at the reference
    const bad = await loadConfig([td('env_text.yaml')], registry, { ...env, VIGIL_TEST_BATCH: 'many' });
    expect(bad.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      'env_text.yaml:6:22: processors.batch.send_batch_size: expected integer',
    ]);
  });

  it('keeps an env value that holds YAML syntax as its text: no structure, comment, quote or tag taken from it, never a crash', async () => {
    const env = {
      VIGIL_TEST_COMMENT: 'abc # not a comment',
      VIGIL_TEST_UNTERMINATED: '"unterminated',
      VIGIL_TEST_DOCS: 'a\n---\nb',
      VIGIL_TEST_ALIAS: '*alias',
      VIGIL_TEST_MAP: '{a: 1}',
      VIGIL_TEST_TAG: '!!str 5',
      VIGIL_TEST_QUOTED: "'quoted'",
      VIGIL_TEST_LIST: '- a',
    };
    const r = await loadConfig([td('env_yaml_values.yaml')], registry, env);
    expect(r.errors.map(formatConfigError)).toEqual([]);
    expect((r.config!.exporters['webhook'] as { headers: Record<string, string> }).headers).toEqual({
      comment: 'abc # not a comment',
      quote: '"unterminated',
      docs: 'a\n---\nb',
      alias: '*alias',
      map: '{a: 1}',
      tag: '!!str 5',
      quoted: "'quoted'",
      list: '- a',
    });
    // (a value YAML types as null too is refused at the reference, not at its key)
    for (const batch of ['100 # c', '!!int 100', "'100'", '[100]', '100\n---\n1', 'null', '~']) {
      const bad = await loadConfig([td('env_yaml_numbers.yaml')], registry, { VIGIL_TEST_BATCH: batch });
      expect(bad.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
        'env_yaml_numbers.yaml:6:22: processors.batch.send_batch_size: expected integer',
      ]);
    }
  });

  it('reads ${NAME} and ${NAME:-default} from the environment (the Collector\'s default scheme is env)', async () => {
    const r = await loadConfig([td('env_default_scheme.yaml')], registry, { VIGIL_TEST_BATCH: '100', VIGIL_TEST_UNSET_DIR: '/tmp/vigil-default-scheme' });
    expect(r.errors.map(formatConfigError)).toEqual([]);
    expect(r.config!.processors['batch']).toEqual({ send_batch_size: 100, timeout: '300ms' });
    expect(r.config!.service.state_dir).toBe('/tmp/vigil-default-scheme');
    expect(await errorsOf(['env_default_scheme.yaml'], { VIGIL_TEST_BATCH: '1' })).toEqual([
      'env_default_scheme.yaml:11:14: service.state_dir: environment variable VIGIL_TEST_UNSET_DIR is not set and has no default (write ${VIGIL_TEST_UNSET_DIR:-default})',
    ]);
  });

  it('expands references inside a default innermost first, as the Collector does, instead of keeping them as text', async () => {
    const r = await loadConfig([td('env_nested_default.yaml')], registry, { VIGIL_TEST_BATCH: '100', VIGIL_TEST_TOKEN: 'tok${env:VIGIL_TEST_BATCH}' });
    expect(r.errors.map(formatConfigError)).toEqual([]);
    // a whole reference is typed by what it finally expands to
    expect(r.config!.processors['batch']).toMatchObject({ send_batch_size: 100 });
    const webhook = r.config!.exporters['webhook'] as { url: string; headers: Record<string, string> };
    expect(webhook.url).toBe('http://localhost:9/hook');
    // a variable's value is taken as it is, never expanded again
    expect(webhook.headers).toEqual({ A: 'deep', B: 'x tok${env:VIGIL_TEST_BATCH} y', C: 'tok${env:VIGIL_TEST_BATCH}', D: 'a$b' });
    expect(await errorsOf(['bad_env_nested.yaml'], { VIGIL_TEST_TOKEN: 't' })).toEqual([
      'bad_env_nested.yaml:8:10: exporters.webhook.headers.A: environment variable VIGIL_TEST_UNSET_B is not set and has no default (write ${env:VIGIL_TEST_UNSET_B:-default})',
      'bad_env_nested.yaml:9:10: exporters.webhook.headers.B: "${env:1BAD}" is not a reference vigil expands: the variable name "1BAD" must match [A-Za-z_][A-Za-z0-9_]*',
      'bad_env_nested.yaml:10:10: exporters.webhook.headers.C: "${env:VIGIL_TEST_UNSET_A:-${env:VIGIL_TEST_TOKEN}" is not a reference vigil expands: it has no closing "}" (write $$ for a literal $)',
    ]);
  });

  it('says what a duration or an endpoint looks like when one is written as a bare number, not "expected string"', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bare-number-'));
    const file = path.join(dir, 'bare.yaml');
    fs.writeFileSync(file, 'receivers:\n  http_json:\n    endpoint: 4319\n    read_timeout: 5\nprocessors:\n  batch:\n    timeout: 5\nexporters: {nop: {}}\nservice:\n  pipelines:\n    main: {receivers: [http_json], processors: [batch], exporters: [nop]}\n');
    const r = await loadConfig([file], registry, {});
    expect(r.errors.map(formatConfigError)).toEqual([
      `${file}:3:15: receivers.http_json.endpoint: expected host:port with a port from 0 to 65535`,
      `${file}:4:19: receivers.http_json.read_timeout: expected a duration such as "500ms", "10s", "5m", "4h", "1d" (a number needs its unit)`,
      `${file}:7:14: processors.batch.timeout: expected a duration such as "500ms", "10s", "5m", "4h", "1d" (a number needs its unit)`,
    ]);
  });

  it('refuses defaults nested past 32 deep with one error, instead of exhausting the stack', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-deep-ref-'));
    const file = path.join(dir, 'deep.yaml');
    const nested = (n: number) => `${'${env:VIGIL_TEST_UNSET_A:-'.repeat(n)}x${'}'.repeat(n)}`;
    const yaml = (n: number) => `receivers:\n  http_json:\n    endpoint: "${nested(n)}"\nexporters: {nop: {}}\nservice:\n  pipelines:\n    main: {receivers: [http_json], exporters: [nop]}\n`;
    fs.writeFileSync(file, yaml(50_000));
    const r = await loadConfig([file], registry, {});
    expect(r.errors.map(formatConfigError)).toEqual([`${file}:3:15: receivers.http_json.endpoint: references are nested more than 32 deep in defaults (\${env:A:-\${env:B:-...}})`]);
    // 32 deep is still read (and here refused only as an endpoint)
    fs.writeFileSync(file, yaml(32));
    const ok = await loadConfig([file], registry, {});
    expect(ok.errors.map(formatConfigError)).toEqual([`${file}:3:15: receivers.http_json.endpoint: expected host:port with a port from 0 to 65535`]);
  });

  it('says why a number field refuses a whole reference written in quotes (it stays text), and only then', async () => {
    expect(await errorsOf(['bad_env_quoted.yaml'], { VIGIL_TEST_BATCH: '100' })).toEqual([
      'bad_env_quoted.yaml:5:31: processors.memory_limiter.limit_mib: expected integer (a reference in quotes stays text: write ${env:VIGIL_TEST_BATCH} without quotes, in block style, to have it typed)',
      'bad_env_quoted.yaml:7:22: processors.batch.send_batch_size: expected integer (a reference in quotes stays text: write ${VIGIL_TEST_BATCH} without quotes, in block style, to have it typed)',
      'bad_env_quoted.yaml:8:14: processors.batch.timeout: expected a duration such as "500ms", "10s", "5m", "4h", "1d"',
      'bad_env_quoted.yaml:11:23: exporters.debug.sampling_initial: expected integer',
    ]);
  });

  it('refuses a config file past 8 MiB (or a device such as /dev/zero) naming the bound, instead of reading it whole', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-big-'));
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `# ${'x'.repeat(8 * 1024 * 1024)}\n`);
    const r = await loadConfig([big, '/dev/zero'], registry, {});
    expect(r.errors.map((e) => [e.code, formatConfigError(e)])).toEqual([
      ['VIGIL_CONFIG_READ', `${big}: the config file is larger than 8 MiB`],
      ['VIGIL_CONFIG_READ', '/dev/zero: the config file is larger than 8 MiB'],
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses a deeply nested file with a clear error and its place, at any depth', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-deep-'));
    const nested = (depth: number) => {
      const lines = ['receivers:', '  nop:', 'exporters:', '  nop:', 'service:', '  pipelines:', '    main: {receivers: [nop], exporters: [nop]}', 'processors:', '  batch:'];
      for (let i = 0; i < depth; i++) lines.push(`${'  '.repeat(i + 2)}k${i}:`);
      return `${lines.join('\n')} 1\n`;
    };
    const f = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const fmt = (e: Parameters<typeof formatConfigError>[0]) => formatConfigError({ ...e, file: path.basename(e.file) });
    const mid = await loadConfig([f('mid.yaml', nested(200))], registry, {});
    expect(mid.errors.map(fmt)).toEqual([
      `mid.yaml:72:129: processors.batch.${Array.from({ length: 62 }, (_, i) => `k${i}`).join('.')}: YAML: nested deeper than 64 levels of mappings and lists`,
    ]);
    const deep = await loadConfig([f('deep.yaml', nested(1500)), f('flow.yaml', `x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)], registry, {});
    expect(deep.errors.map((e) => [e.code, fmt(e).replace(/:\d+:\d+:/, ':L:C:')])).toEqual([
      ['VIGIL_CONFIG_YAML', 'deep.yaml:L:C: YAML: nested too deeply to read (a config has at most 64 levels of mappings and lists)'],
      ['VIGIL_CONFIG_YAML', 'flow.yaml:L:C: YAML: nested too deeply to read (a config has at most 64 levels of mappings and lists)'],
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('reads a file that ends in "---" or an empty document, and refuses a second document that holds anything, at its "---"', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-docs-'));
    const valid = fs.readFileSync(td('valid.yaml'), 'utf8');
    const f = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    for (const tail of ['---\n', '---\n# nothing more\n', '...\n---\n']) {
      const r = await loadConfig([f('trailing.yaml', valid + tail)], registry, {});
      expect(r.errors.map(formatConfigError)).toEqual([]);
    }
    const r = await loadConfig([f('two.yaml', `${valid}---\nexporters:\n  nop:\n`)], registry, {});
    const lines = valid.split('\n').length;
    expect(r.errors.map((e) => [e.code, formatConfigError({ ...e, file: path.basename(e.file) })])).toEqual([
      ['VIGIL_CONFIG_YAML', `two.yaml:${lines}:1: YAML: a second document ("---"): a config file holds one document; give the other as its own --config`],
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('says a file is empty, or has no service, rather than that "service" misses its pipelines', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-empty-'));
    const f = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const fmt = (r: Awaited<ReturnType<typeof loadConfig>>) => r.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }));
    expect(fmt(await loadConfig([f('empty.yaml', '')], registry, {}))).toEqual([
      'empty.yaml:1:1: the config is empty: expected receivers, processors, exporters and service (with its pipelines)',
    ]);
    expect(fmt(await loadConfig([f('comments.yaml', '# nothing yet\n'), f('empty2.yaml', '\n')], registry, {}))).toEqual([
      'empty2.yaml:1:1: the config is empty: expected receivers, processors, exporters and service (with its pipelines)',
    ]);
    expect(fmt(await loadConfig([f('noservice.yaml', 'receivers:\n  nop:\nbogus: 1\n')], registry, {}))).toEqual([
      'noservice.yaml:1:1: missing required key "service" (with its pipelines)',
      'noservice.yaml:3:1: bogus: unknown key "bogus"',
    ]);
    for (const text of ['- receivers\n', 'just text\n', '42\n']) {
      expect(fmt(await loadConfig([f('notmap.yaml', text)], registry, {}))).toEqual(['notmap.yaml:1:1: expected a mapping with receivers, processors, exporters and service']);
    }
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses a pipeline name that is empty, ends in "/" or holds a space; takes main, traces and metrics/llm', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-pipenames-'));
    const file = path.join(dir, 'names.yaml');
    const pipes = ['main', 'traces', 'metrics/llm', '""', 'logs/', '"a b"', '/x', 'a/b/c'].map((n) => `    ${n}: {receivers: [nop], exporters: [nop]}`);
    fs.writeFileSync(file, `receivers:\n  nop:\nexporters:\n  nop:\nservice:\n  pipelines:\n${pipes.join('\n')}\n`);
    const r = await loadConfig([file], registry, {});
    const why = 'expected "name" or "name/suffix" (e.g. main, traces, metrics/llm), without spaces';
    expect(r.errors.map((e) => [e.code, formatConfigError({ ...e, file: path.basename(e.file) })])).toEqual([
      ['VIGIL_CONFIG_PIPELINE', `names.yaml:10:5: service.pipelines.: invalid pipeline name "": ${why}`],
      ['VIGIL_CONFIG_PIPELINE', `names.yaml:11:5: service.pipelines.logs/: invalid pipeline name "logs/": ${why}`],
      ['VIGIL_CONFIG_PIPELINE', `names.yaml:12:5: service.pipelines.a b: invalid pipeline name "a b": ${why}`],
      ['VIGIL_CONFIG_PIPELINE', `names.yaml:13:5: service.pipelines./x: invalid pipeline name "/x": ${why}`],
      ['VIGIL_CONFIG_PIPELINE', `names.yaml:14:5: service.pipelines.a/b/c: invalid pipeline name "a/b/c": ${why}`],
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses a YAML tag it does not know (!Ref, !!float on a non-float) at its place, instead of dropping it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-tags-'));
    const file = path.join(dir, 'tags.yaml');
    fs.writeFileSync(
      file,
      'receivers:\n  nop:\nexporters:\n  webhook:\n    url: http://127.0.0.1:9/x\n    headers:\n      A: !Ref token\n      B: !!float 1\n      C: !!str 5\nservice:\n  pipelines:\n    main: {receivers: [nop], exporters: [webhook]}\n',
    );
    const r = await loadConfig([file], registry, {});
    expect(r.errors.map((e) => [e.code, formatConfigError({ ...e, file: path.basename(e.file) })])).toEqual([
      ['VIGIL_CONFIG_YAML', 'tags.yaml:7:10: YAML: unknown tag !Ref: vigil reads plain YAML values (strings, numbers, booleans, lists and mappings)'],
      ['VIGIL_CONFIG_YAML', 'tags.yaml:8:10: YAML: the value does not read as !!float'],
    ]);
    fs.rmSync(dir, { recursive: true });
  });

  it('a later file that sets a value replaces what an env reference of an earlier file gave', async () => {
    const r = await loadConfig([td('valid.yaml'), td('override.yaml')], registry, { VIGIL_TEST_BATCH: '100', VIGIL_TEST_PORT: '0' });
    expect(r.errors).toEqual([]);
    expect(r.config!.service.telemetry.endpoint).toBe('localhost:0');
    expect(r.config!.processors['batch']).toEqual({ send_batch_size: 100, timeout: '200ms' });
  });
});
