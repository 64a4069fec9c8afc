/**
 * End to end with Debian's real Prometheus (installed by .ci/steps/45-prometheus.sh): the OpenTelemetry JS
 * SDK sends spans over OTLP/HTTP to an in-process vigil (cost -> percentiles -> alerts -> prometheus
 * exporter); Prometheus scrapes the exporter and vigil's own /metrics every second; PromQL over its HTTP API
 * gives the request rate, the p95 from histogram_quantile (within the documented bucket error), the p95 from
 * the summary (within the percentiles processor's accuracy), the exact LLM cost total and the ALERTS series
 * of a firing alert and of a pending one. Then every query of the shipped Grafana dashboards runs against that Prometheus without
 * an error, and every metric name in them is one that vigil really serves.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { dashboardQueries, declaredSelfMetricNames, metricNamesIn, servedMetricNames, substituteVariables } from './grafana-dashboards.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The classic bucket error of the default histogram_scale 3 (exporters/prometheus/README.md). */
const BUCKET_ERROR = 2 ** (1 / 8) - 1;
/** Durations of the spans each tick sends (ms): 50, 100, ..., 1000; the p95 of any number of whole cycles is 950. */
const DURATIONS = Array.from({ length: 20 }, (_, i) => 50 * (i + 1));
const TRUE_P95 = 950;
/** gpt-4o: 1000 input tokens at $2.5/1M + 200 output tokens at $10/1M. */
const COST_PER_CALL = 0.0045;

async function promQuery(base: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
  return body.data!.result;
}

describe('prometheus exporter with a real Prometheus', () => {
  it('rate, histogram_quantile p95, summary p95, LLM cost and ALERTS through PromQL; the dashboards query what vigil serves', async () => {
    const dir = tempDir('vigil-prom-e2e-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const [httpPort, promPort, exporterPort, telemetryPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  cost:
    interval: 1s
    budgets: [{name: daily-total, period: day, limit_usd: 1000}]
  percentiles: {window: 1s, late_windows: 0, dimensions: [service.name, span.name]}
  alerts:
    interval: 500ms
    rules:
      - name: HighP95Latency
        metric: span.duration
        stat: p95
        where: {service.name: checkout}
        group_by: [service.name]
        window: 5s
        op: ">"
        threshold: 500
        severity: critical
      - name: SlowForAnHour
        metric: span.duration
        stat: p95
        where: {service.name: checkout}
        group_by: [service.name]
        window: 5s
        op: ">"
        threshold: 500
        for: 1h
        severity: warning
    routes:
      - exporters: [file/alerts]
        group_wait: 0s
exporters:
  prometheus:
    endpoint: 127.0.0.1:${exporterPort}
  file/alerts:
    path: ${dir}/alerts.jsonl
    signals: [alerts]
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:${telemetryPort}
  pipelines:
    main:
      receivers: [otlp]
      processors: [cost, percentiles, alerts]
      exporters: [prometheus, file/alerts]
`,
    );
    cleanup.push(() => service.shutdown());

    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vigil-exporter
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:${exporterPort}']}]
  - job_name: vigil
    static_configs: [{targets: ['127.0.0.1:${telemetryPort}']}]
`,
    );
    const prom: ChildProcess = spawn('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr!.on('data', (c: Buffer) => (promLog = (promLog + c.toString()).slice(-4000)));
    cleanup.push(() => {
      prom.kill('SIGKILL');
    });
    const base = `http://127.0.0.1:${promPort}`;
    await waitFor(async () => (await fetch(`${base}/-/ready`).catch(() => undefined))?.ok === true, 30_000, `Prometheus ready (${promLog})`);

    const provider = (service: string) => {
      const p = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }), { scheduledDelayMillis: 60_000, maxExportBatchSize: 1000 })],
      });
      cleanup.push(() => p.shutdown());
      return p;
    };
    const checkout = provider('checkout');
    const bot = provider('support-bot');
    const sent: number[] = [];
    let llmCalls = 0;
    let llm = true;
    const tick = async () => {
      const end = Date.now();
      const tracer = checkout.getTracer('e2e');
      for (const d of DURATIONS) tracer.startSpan('POST /pay', { startTime: end - d }).end(end);
      sent.push(end);
      await checkout.forceFlush();
      if (llm) {
        bot.getTracer('e2e').startSpan('chat', { startTime: end - 800, attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 } }).end(end);
        llmCalls++;
        await bot.forceFlush();
      }
    };
    let feeding: Promise<void> = Promise.resolve();
    const feeder = setInterval(() => (feeding = feeding.then(tick)), 200);
    cleanup.push(() => clearInterval(feeder));

    // 1. The request rate: what the SDK sent in the last 20 s, per second.
    await waitFor(async () => (await promQuery(base, 'span_calls_total')).length > 0 && Date.now() - sent[0]! > 25_000, 60_000, 'span_calls_total in Prometheus for 25 s');
    llm = false;
    const rate = await promQuery(base, 'sum(rate(span_calls_total{service_name="checkout",span_name="POST /pay"}[20s]))');
    const now = Date.now();
    // Prometheus sees a point ~2 s after its spans (1 s window + 1 s scrape): compare with what was sent 2 s earlier.
    const expectedRate = (sent.filter((t) => t > now - 22_000 && t <= now - 2_000).length * DURATIONS.length) / 20;
    expect(Math.abs(Number(rate[0]!.value[1]) - expectedRate) / expectedRate, `rate ${rate[0]!.value[1]} vs ${expectedRate}`).toBeLessThan(0.2);

    // 2. p95 from the classic buckets, within one bucket of the truth.
    const hq = await promQuery(base, 'histogram_quantile(0.95, sum by (le) (rate(span_duration_milliseconds_bucket{service_name="checkout",span_name="POST /pay"}[20s])))');
    const p95h = Number(hq[0]!.value[1]);
    expect(Math.abs(p95h - TRUE_P95) / TRUE_P95, `histogram_quantile p95 ${p95h}`).toBeLessThan(BUCKET_ERROR);

    // 3. p95 from the summary (the last window), within the percentiles processor's 1 %.
    const sq = await promQuery(base, 'span_duration_summary_milliseconds{service_name="checkout",span_name="POST /pay",quantile="0.95"}');
    expect(sq.length).toBe(1);
    const p95s = Number(sq[0]!.value[1]);
    expect(Math.abs(p95s - TRUE_P95) / TRUE_P95, `summary p95 ${p95s}`).toBeLessThanOrEqual(0.01);

    // 4. LLM cost: every priced call, exactly.
    await feeding;
    const expectedCost = llmCalls * COST_PER_CALL;
    await waitFor(
      async () => {
        const r = await promQuery(base, 'sum(llm_cost_USD_total{service_name="support-bot"})');
        return r.length === 1 && Math.abs(Number(r[0]!.value[1]) - expectedCost) < 1e-9;
      },
      15_000,
      `llm_cost_USD_total = ${expectedCost}`,
    );

    // 5. ALERTS of the firing alert.
    await waitFor(async () => (await promQuery(base, 'ALERTS{alertname="HighP95Latency",alertstate="firing"}')).length === 1, 20_000, 'ALERTS in Prometheus');
    const alerts = await promQuery(base, 'ALERTS{alertname="HighP95Latency",alertstate="firing"}');
    expect(alerts[0]!.metric).toMatchObject({ alertname: 'HighP95Latency', alertstate: 'firing', severity: 'critical', service_name: 'checkout' });
    // A rule whose `for` has not elapsed: pending, as Prometheus shows its own pending alerts.
    await waitFor(async () => (await promQuery(base, 'ALERTS{alertname="SlowForAnHour",alertstate="pending"}')).length === 1, 20_000, 'a pending alert in ALERTS');
    expect(await promQuery(base, 'ALERTS{alertname="SlowForAnHour",alertstate="firing"}')).toEqual([]);
    const forState = await promQuery(base, 'ALERTS_FOR_STATE{alertname="HighP95Latency"}');
    expect(Number(forState[0]!.value[1])).toBeGreaterThan(Date.now() / 1000 - 120);

    // 5b. Prometheus took the OpenMetrics exposition (it asks for it first); promtool parses the text format
    // 0.0.4 too. Its only remarks are the lints of names the OTel compatibility spec prescribes (a unit that
    // is not a base unit: span.duration is in ms; "summary" in span.duration.summary's name).
    const textScrape = await (await fetch(`http://127.0.0.1:${exporterPort}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } })).text();
    expect(textScrape).not.toContain('# EOF');
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: textScrape, encoding: 'utf8' });
    const remarks = `${lint.stdout}${lint.stderr}`.split('\n').filter(Boolean);
    expect(lint.status === 0 || lint.status === 3, remarks.join('\n')).toBe(true);
    for (const r of remarks) expect(r, r).toMatch(/use base unit "seconds" instead of "milliseconds"|should not include type 'summary'/);

    // 6. The dashboards: every query is valid PromQL for this Prometheus and names only metrics vigil serves:
    // the pipeline's metrics as the exporter really serves them; vigil's own as its /metrics serves them or,
    // for counters nothing has counted yet in this run (dead letters...), as the source declares them.
    const exporterNames = await servedMetricNames(`http://127.0.0.1:${exporterPort}/metrics`);
    const selfNames = await servedMetricNames(`http://127.0.0.1:${telemetryPort}/metrics`);
    const declared = declaredSelfMetricNames(ROOT);
    const served = new Set([...exporterNames, ...selfNames, ...[...declared].filter((n) => n.startsWith('vigil_'))]);
    for (const n of ['span_calls_total', 'span_duration_milliseconds_bucket', 'span_duration_summary_milliseconds', 'llm_cost_USD_total', 'llm_tokens_total', 'llm_budget_spent_USD', 'llm_budget_utilization_ratio', 'llm_budget_limit_USD', 'ALERTS', 'ALERTS_FOR_STATE', 'target_info']) expect(exporterNames.has(n), n).toBe(true);
    for (const n of ['vigil_receiver_accepted_items_total', 'vigil_pipeline_duration_seconds_bucket', 'vigil_process_memory_rss']) expect(selfNames.has(n), n).toBe(true);
    const queries = dashboardQueries(path.join(ROOT, 'deploy/grafana/dashboards'));
    expect(queries.length).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const q of queries) {
      for (const name of metricNamesIn(q.expr)) if (!served.has(name)) unknown.push(`${q.where}: ${name}`);
      await expect(promQuery(base, substituteVariables(q.expr)), q.where).resolves.toBeDefined();
    }
    expect(unknown).toEqual([]);
    // a service without a single error span has an error rate of 0, not "No data" (a missing error series)
    const errorRate = queries.find((q) => q.where.includes('Error rate per service'));
    expect(errorRate, 'the service overview has an error rate panel').toBeDefined();
    const rates = await promQuery(base, substituteVariables(errorRate!.expr));
    expect(rates.find((r) => r.metric.service_name === 'checkout')?.value[1], errorRate!.expr).toBe('0');
    clearInterval(feeder);
    await feeding;
  }, 150_000);
});
