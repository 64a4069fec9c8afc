/**
 * `vigil status` (text, JSON, Markdown) and `vigil alerts` against a running vigil fed with JSON events:
 * health, p95/p99 per service and model, error rate, spend against budget and the firing alert appear in
 * each format, with the same figures as GET /api/overview.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../app/cli.ts';
import type { Overview } from '../src/api/overview.ts';
import type { Service } from '../src/service.ts';
import { freePort } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

let dir: string;
let service: Service;
let url: string;
let intake: string;

async function feed(): Promise<void> {
  const now = Date.now();
  const events = Array.from({ length: 20 }, (_, i) => ({
    kind: 'span',
    name: 'chat',
    service: 'support-bot',
    timestamp: now - 100,
    duration_ms: 400 + i * 10,
    status: i < 4 ? 'error' : 'ok',
    attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 },
  }));
  const r = await fetch(`${intake}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  dir = tempDir('vigil-status-');
  const port = await freePort();
  intake = `http://127.0.0.1:${port}`;
  service = await startService(
    dir,
    `
receivers:
  http_json: {endpoint: "127.0.0.1:${port}"}
processors:
  cost:
    interval: 300ms
    budgets: [{name: daily-total, period: day, limit_usd: 20}]
  percentiles: {window: 1s, late_windows: 0, dimensions: [service.name, gen_ai.request.model]}
  alerts:
    interval: 300ms
    rules:
      - name: HighErrorRate
        ratio:
          numerator: {metric: span.calls, where: {status.code: error}}
          denominator: {metric: span.calls}
        stat: sum
        group_by: [service.name]
        window: 1m
        op: ">"
        threshold: 0.05
        severity: warning
        annotations: {summary: "{{ labels.service.name }}: {{ value | humanizePercentage }} of spans failed"}
exporters:
  nop: {}
service:
  state_dir: "${dir}/state"
  telemetry: {endpoint: "127.0.0.1:0"}
  pipelines:
    main: {receivers: [http_json], processors: [cost, percentiles, alerts], exporters: [nop]}
`,
  );
  url = `http://127.0.0.1:${service.telemetryPort}`;
  await waitFor(
    async () => {
      await feed();
      const o = service.overview();
      return o.alerts.firing > 0 && o.latency.series.length >= 2 && (o.cost.budgets[0]?.spentUsd ?? 0) > 0;
    },
    20_000,
    'alert, latency and spend',
  );
}, 60_000);

afterAll(async () => {
  await service?.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * The projected spend ends with " (over)" exactly when it is over the $20 limit. The projection grows with the
 * time of day (spend so far over the share of the day gone), so a run just after midnight UTC projects the
 * test's few dollars far over the limit: both forms must be right.
 */
function overMarksProjection(m: RegExpExecArray): void {
  expect(m[2] !== undefined).toBe(Number(m[1]) > 20);
}

describe('vigil status', () => {
  it('--output json is the API overview', async () => {
    const r = await cli('status', '--url', url, '--output', 'json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out) as Overview;
    expect(o.ready).toBe(true);
    expect(o.components.map((c) => `${c.kind}/${c.id}`)).toEqual(['receiver/http_json', 'processor/cost', 'processor/percentiles', 'processor/alerts', 'exporter/nop']);
    expect(o.components.find((c) => c.id === 'http_json')!.accepted).toBeGreaterThanOrEqual(20);
    const svc = o.latency.series.find((s) => s.by === 'service' && s.name === 'support-bot')!;
    expect(svc.p95).toBeGreaterThan(560);
    expect(svc.p95).toBeLessThan(600);
    expect(svc.errorRate).toBeCloseTo(0.2, 5);
    expect(o.latency.series.find((s) => s.by === 'model')!.name).toBe('gpt-4o');
    expect(o.cost.budgets[0]).toMatchObject({ name: 'daily-total', limitUsd: 20, period: 'day' });
    expect(o.cost.budgets[0]!.projectedUsd).toBeGreaterThanOrEqual(o.cost.budgets[0]!.spentUsd);
    expect(o.alerts.list.map((a) => [a.labels.alertname, a.state])).toEqual([['HighErrorRate', 'firing']]);
  });

  it('text (the default) shows health, latency per service and model, spend and alerts in aligned columns', async () => {
    const r = await cli('status', '--url', url);
    expect(r.code).toBe(0);
    const o = service.overview();
    const svc = o.latency.series.find((s) => s.by === 'service')!;
    expect(r.out).toMatch(/^vigil \S+: ready; up since /);
    expect(r.out).toContain('alerts: 1 firing, 0 silenced or inhibited, 0 pending');
    expect(r.out).toMatch(/\n {2}receiver\/http_json\s+ok\s+\d+\s+\d+\s+-\s+-\s+-/);
    // a processor counts what it refuses and drops, not what it accepts or sends
    expect(r.out).toMatch(/\n {2}processor\/cost\s+ok\s+-\s+\d+\s+\d+\s+-\s+-/);
    expect(r.out).toMatch(new RegExp(`\\n {2}service\\s+support-bot\\s+\\d+ ms\\s+${Math.round(svc.p95! / 10)}\\d ms\\s+\\d+ ms\\s+\\d+\\s+20\\.0%`));
    expect(r.out).toMatch(/\n {2}model\s+gpt-4o\s+/);
    const textSpend = /\n {2}daily-total\s+\d{4}-\d\d-\d\d\s+\$\d+\.\d+\s+\$20\.00\s+\d+\.\d+%\s+\$(\d+\.\d+)( \(over\))?\n/.exec(r.out);
    expect(textSpend, r.out).not.toBeNull();
    overMarksProjection(textSpend!);
    expect(r.out).toMatch(/\n {2}HighErrorRate\s+firing\s+service\.name=support-bot severity=warning\s+\d+s\s+support-bot: 20% of spans failed/);
    expect(r.out).toContain('no active or pending silences');
  });

  it('--output markdown gives a heading and one table per section', async () => {
    const r = await cli('status', '--url', url, '--output', 'markdown');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^## vigil \S+: ready; up since /);
    expect(r.out).toContain('\n- alerts: 1 firing, 0 silenced or inhibited, 0 pending\n');
    expect(r.out).toContain('\n### Latency and errors (last 5 min)\n\n| by | name | p50 | p95 | p99 | calls | error rate |\n| --- | --- | --- | --- | --- | --- | --- |\n| service | support-bot |');
    const mdSpend = /\n\| daily-total \| \d{4}-\d\d-\d\d \| \$\d+\.\d+ \| \$20\.00 \| \d+\.\d+% \| \$(\d+\.\d+)( \(over\))? \|\n/.exec(r.out);
    expect(mdSpend, r.out).not.toBeNull();
    overMarksProjection(mdSpend!);
    expect(r.out).toMatch(/\n\| HighErrorRate \| firing \| service\.name=support-bot severity=warning \| \d+s \| support-bot: 20% of spans failed \|/);
    expect(r.out).toContain('### Silences\n\n_no active or pending silences_');
  });

  it('refuses an unknown format, and says when the daemon cannot be reached', async () => {
    const bad = await cli('status', '--url', url, '--output', 'yaml');
    expect(bad.code).toBe(1);
    expect(bad.err).toBe('vigil status: --output "yaml": expected text, json or markdown\n');
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await cli('status', '--url', closed);
    expect(down.code).toBe(1);
    expect(down.err).toContain(`cannot reach vigil at ${closed}`);
  });
});

describe('vigil alerts', () => {
  it('lists the firing alerts as amtool does, with a filter', async () => {
    const r = await cli('alerts', '--url', url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALERTNAME\s+STATE\s+STARTS AT\s+LABELS\s+SUMMARY\nHighErrorRate\s+firing\s+\d{4}-\S+Z\s+service\.name=support-bot severity=warning\s+support-bot: 20% of spans failed\n$/);
    expect((await cli('alerts', '--url', url, 'severity="critical"')).out).toBe('no alerts firing\n');
    const json = JSON.parse((await cli('alerts', '--url', url, '-o', 'json', 'alertname=HighErrorRate')).out) as { labels: Record<string, string> }[];
    expect(json.map((a) => a.labels['service.name'])).toEqual(['support-bot']);
    // as amtool alert query: a first argument that is not a matcher is the alert name
    expect((await cli('alerts', '--url', url, 'HighErrorRate')).out).toMatch(/^ALERTNAME.*\nHighErrorRate\s+firing/);
    expect((await cli('alerts', '--url', url, 'NoSuchAlert')).out).toBe('no alerts firing\n');
    // --active hides silenced and inhibited alerts: an empty answer does not claim that nothing fires
    expect((await cli('alerts', '--url', url, '--active', 'NoSuchAlert')).out).toBe('no alerts firing that are neither silenced nor inhibited (without --active: those too)\n');
    const yaml = await cli('alerts', '--url', url, '--output', 'yaml');
    expect(yaml.code).toBe(1);
    expect(yaml.err).toBe('vigil alerts: --output "yaml": expected text or json\n');
  });
});
