/**
 * Derived signals flow whatever the pipeline's name (issue 17): a pipeline named `traces` with
 * `percentiles` and a `file` exporter writes the window's span.duration metrics; a `traces` pipeline with
 * `alerts` and `slack` validates; an exporter that its pipeline can deliver nothing to is refused with the
 * fix. Real components, in process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { formatConfigError, loadConfig } from '../src/config/load.ts';
import type { Service } from '../src/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

let service: Service | undefined;
afterEach(async () => {
  await service?.shutdown();
  service = undefined;
});

describe('typed pipelines', () => {
  it('a `traces` pipeline with percentiles and a file exporter writes the derived span.duration metrics', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out.jsonl');
    service = await startService(
      dir,
      `
receivers:
  http_json: { endpoint: 127.0.0.1:0 }
processors:
  percentiles: { window: 1s, late_windows: 0 }
exporters:
  file: { path: ${out} }
service:
  state_dir: ${path.join(dir, 'state')}
  telemetry: { endpoint: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [http_json], processors: [percentiles], exporters: [file] }
`,
    );
    const rx = service.pipelines!.get('receiver', 'http_json') as unknown as { address: string };
    const res = await fetch(`http://${rx.address}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { kind: 'span', name: 'chat', service: 'support-bot', duration_ms: 120, status: 'ok' },
        { kind: 'span', name: 'chat', service: 'support-bot', duration_ms: 480, status: 'ok' },
      ]),
    });
    expect(res.status).toBe(200);
    const metricNames = () =>
      fs.existsSync(out)
        ? fs
            .readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .flatMap((l) => (JSON.parse(l) as { resourceMetrics?: { scopeMetrics: { metrics: { name: string }[] }[] }[] }).resourceMetrics ?? [])
            .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)))
        : [];
    await waitFor(() => metricNames().includes('span.duration'), 15_000, 'span.duration in the file');
    expect(metricNames()).toContain('span.calls');
  });

  async function validate(yaml: string): Promise<string[]> {
    const file = path.join(tempDir(), 'pipelines.yaml');
    fs.writeFileSync(file, yaml);
    return (await loadConfig([file], components, {})).errors.map((e) => formatConfigError({ ...e, file: 'pipelines.yaml' }));
  }

  const slack = `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:0 } } }
processors:
  alerts:
    rules: [{ name: Slow, metric: span.duration, stat: p95, window: 5m, op: '>', threshold: 100 }]
    route: { exporters: [slack] }
exporters:
  slack: { webhook_url: 'https://hooks.slack.com/services/T/B/X' }
service:
  pipelines:
`;

  it('a `traces` pipeline with alerts and slack validates (alert on traces, page on Slack)', async () => {
    expect(await validate(`${slack}    traces: { receivers: [otlp], processors: [alerts], exporters: [slack] }\n`)).toEqual([]);
  });

  it('refuses an exporter that its pipeline can deliver nothing to, naming what the pipeline carries and the fix', async () => {
    const errors = await validate(`${slack}    traces: { receivers: [otlp], exporters: [slack] }\n`);
    expect(errors.filter((e) => e.includes('would receive nothing'))).toEqual([
      expect.stringMatching(
        /^pipelines\.yaml:\d+:\d+: service\.pipelines\.traces\.exporters\[0\]: exporter "slack" would receive nothing: it handles alerts, and pipeline "traces" carries traces \(from its receivers\); add an alerts processor to this pipeline's processors, or list "slack" in a pipeline that has one$/,
      ),
    ]);
  });
});
