/**
 * vigil's route tree agrees with Alertmanager's: the route trees of processors/alerts/testdata/am-routing
 * (Alertmanager's own dispatch route tests and amtool's routing example, pasted in with receivers as
 * exporter lists) pass their `vigil test` route checks, and for every label set those checks name,
 * `amtool config routes test` (Debian's prometheus-alertmanager, installed by .ci/steps/40-alertmanager.sh)
 * on the same tree gives the same receivers, in the same order, as vigil's tree walk.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { components } from '../app/components.ts';
import { loadConfig } from '../src/config/load.ts';
import { AlertEngine } from '../processors/alerts/alert-engine.ts';
import type { AlertsConfig } from '../processors/alerts/config.ts';
import { runRuleTests } from '../processors/alerts/rule-test.ts';
import { compileConfig } from '../processors/alerts/rules.ts';
import { tempDir } from './helpers/index.ts';
import { AMTOOL } from './doubles/alertmanager.ts';

const DIR = path.join(import.meta.dirname, '../processors/alerts/testdata/am-routing');
const CONFIG = path.join(DIR, 'pipelines.yaml');
const TESTS = fs.readdirSync(DIR).filter((f) => f.endsWith('.test.yaml')).map((f) => path.join(DIR, f));
if (!AMTOOL) console.warn('\n!!!!! amtool is NOT installed: the amtool agreement test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh. !!!!!\n');

describe("Alertmanager's routing tests", () => {
  it('pass as vigil test route checks', async () => {
    const r = await runRuleTests([CONFIG], TESTS, components);
    expect(r.output).toMatch(/SUCCESS$/);
    expect(r.output.match(/^ok /gm)).toHaveLength(TESTS.length);
    expect(r.ok).toBe(true);
  });

  it.skipIf(!AMTOOL)('amtool config routes test gives the receivers vigil gives, in tree order', async () => {
    const loaded = await loadConfig([CONFIG], components);
    expect(loaded.errors).toEqual([]);
    const dir = tempDir();
    let compared = 0;
    try {
      for (const file of TESTS) {
        const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { processor: string; tests: { route_test: { labels: Record<string, string> }[] }[] };
        const config = structuredClone(loaded.config!.processors[doc.processor]) as AlertsConfig;
        // the same tree for Alertmanager: the route block as written, receivers by name
        const amConfig = path.join(dir, `${doc.processor.replace('/', '_')}.yml`);
        fs.writeFileSync(amConfig, YAML.stringify({ route: config.route, receivers: config.receivers.map((r) => ({ name: r.name })) }));
        const compiled = compileConfig(config);
        expect(compiled.issues).toEqual([]);
        const engine = new AlertEngine({ config, compiled, startedAt: 0, keepsSilencedResolves: () => false, defaultExporters: [] });
        for (const t of doc.tests.flatMap((g) => g.route_test)) {
          const labels = Object.entries(t.labels).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`);
          const { stdout } = await promisify(execFile)(AMTOOL!, ['config', 'routes', 'test', `--config.file=${amConfig}`, ...labels]).catch((e: { stdout: string }) => e);
          const vigil = engine.routesFor(Object.fromEntries(Object.entries(t.labels).map(([k, v]) => [k, String(v)]))).map((n) => n.receiver);
          expect({ labels: t.labels, receivers: vigil.join(',') }).toEqual({ labels: t.labels, receivers: stdout.trim() });
          compared++;
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
