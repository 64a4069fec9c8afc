/**
 * Prometheus's template functions in rule annotations, side by side with the real promtool (Debian's
 * `prometheus` package): testdata/promtool-templates/templates.test.yaml expects the texts promtool renders
 * for its rule (prometheus-rules.yml); `vigil test` must render the same for vigil's form of the rule
 * (config.yaml), and promtool must still pass the file (so the expected texts are Prometheus's, not vigil's).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { components } from '../../app/components.ts';
import { runRuleTests } from './rule-test.ts';

const dir = path.join(import.meta.dirname, 'testdata', 'promtool-templates');
const run = promisify(execFile);

describe('annotation templates as Prometheus renders them', () => {
  it('vigil test renders the texts promtool renders', async () => {
    const r = await runRuleTests([path.join(dir, 'config.yaml')], [path.join(dir, 'templates.test.yaml')], components);
    expect(r.output).not.toContain('FAIL');
    expect(r.ok, r.output).toBe(true);
  });

  it('promtool test rules passes the same file', async () => {
    const r = await run('promtool', ['test', 'rules', 'templates.test.yaml'], { cwd: dir }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`promtool failed (Debian package "prometheus", see .ci/steps/45-prometheus-promtool.sh): ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
    });
    expect(r.stdout).toContain('SUCCESS');
  });
});
