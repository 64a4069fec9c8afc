/** The CLI's commands, in process: exit codes and what they print. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { main } from '../app/cli.ts';
import { tempDir } from './helpers/index.ts';

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
    expect(bad.out).toContain('label service.name: expected "cart", got "checkout"');
    expect(bad.out).toContain('FAILED');
  });

  it('adds, lists and expires silences in the state directory', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'c.yaml');
    fs.writeFileSync(
      config,
      YAML.stringify({
        receivers: { nop: {} },
        processors: { alerts: { rules: [] } },
        exporters: { debug: {} },
        service: { state_dir: dir, telemetry: { endpoint: 'localhost:0' }, pipelines: { main: { receivers: ['nop'], processors: ['alerts'], exporters: ['debug'] } } },
      }),
    );
    const add = await cli('silence', 'add', '--config', config, '--matcher', 'alertname=HighP95Latency', '--duration', '2h', '--comment', 'deploy');
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    const { id } = JSON.parse(add.out) as { id: string };
    const list = await cli('silence', 'list', '--config', config);
    expect(list.out).toContain(id);
    expect(list.out).toContain('"status":"active"');
    expect((await cli('silence', 'expire', '--config', config, id)).code).toBe(0);
    expect((await cli('silence', 'list', '--config', config)).out).not.toContain('"status":"active"');
    const bad = await cli('silence', 'add', '--config', config, '--matcher', 'no operator here', '--duration', '2h');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^vigil silence: /);
  });

  it('explains unknown commands and options', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown command "frobnicate"');
    const o = await cli('validate', '--confg', 'x');
    expect(o.code).toBe(1);
    expect(o.err).toContain("Unknown option '--confg'");
    expect((await cli('--help')).code).toBe(0);
  });
});
