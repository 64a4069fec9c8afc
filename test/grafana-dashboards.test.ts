/**
 * The shipped Grafana dashboards (deploy/grafana/dashboards/) against the dashboard model's JSON Schema
 * (test/fixtures/grafana/, from Grafana's foundation SDK), plus what the schema cannot say: unique panel
 * ids and grid positions inside the 24 columns, every query on the `${datasource}` variable, every variable
 * a query uses defined, and the provisioning files pointing at them. (test/prometheus-e2e.test.ts runs every
 * query against a real Prometheus and checks each metric name against what vigil serves.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { dashboardQueries, metricNamesIn } from './grafana-dashboards.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, 'deploy/grafana/dashboards');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/grafana/dashboard.jsonschema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
(addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
const validate = ajv.compile(schema);

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; expr: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

describe('Grafana dashboards', () => {
  it('there are the four dashboards the README lists', () => {
    expect(files.sort()).toEqual(['alerts.json', 'llm-spend.json', 'service-overview.json', 'vigil-self.json']);
  });

  it.each(files)('%s validates against the dashboard schema and is consistent', (file) => {
    const d = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
    const ok = validate(d);
    expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
    expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{8,40}$/);
    const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const vars = new Set(['__rate_interval', '__interval', '__range', ...d.templating.list.map((v) => v.name)]);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource?.uid, p.title).toBe('${datasource}');
        for (const m of t.expr.matchAll(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)/g)) expect(vars.has(m[1]!), `${p.title}: $${m[1]} is not a variable`).toBe(true);
      }
    }
    // Panels do not overlap.
    const cells = new Set<string>();
    for (const p of panels)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${file}: ${p.title} overlaps`).toBe(false);
          cells.add(`${x},${y}`);
        }
  });

  it('a dashboard that breaks the schema is caught (the check can fail)', () => {
    const d = JSON.parse(fs.readFileSync(path.join(DIR, files[0]!), 'utf8')) as Record<string, unknown>;
    expect(validate({ ...d, graphTooltip: 7 })).toBe(false);
    expect(validate({ ...d, templating: undefined })).toBe(false);
    expect(validate({ ...d, panels: [{ title: 'no type' }] })).toBe(false);
  });

  it('metric names are read out of PromQL as expected', () => {
    expect(metricNamesIn('histogram_quantile(0.95, sum by (le, service_name) (rate(span_duration_milliseconds_bucket{service_name=~"$service"}[$__rate_interval])))')).toEqual(['span_duration_milliseconds_bucket']);
    expect(metricNamesIn('max by (budget) (llm_budget_spent_USD / llm_budget_utilization_ratio) * 1e3 + 86400 - time() % 86400')).toEqual(['llm_budget_spent_USD', 'llm_budget_utilization_ratio']);
    expect(metricNamesIn('count(ALERTS{alertstate="firing"}) or vector(0)')).toEqual(['ALERTS']);
    expect(dashboardQueries(DIR).length).toBeGreaterThan(20);
  });

  it('provisioning: a file provider and a Prometheus data source', () => {
    const dash = YAML.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/dashboards/vigil.yaml'), 'utf8')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    expect(dash.apiVersion).toBe(1);
    expect(dash.providers[0]).toMatchObject({ type: 'file' });
    const ds = YAML.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: { type: string }[] };
    expect(ds.datasources[0]!.type).toBe('prometheus');
  });
});
