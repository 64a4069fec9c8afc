/**
 * Count each LLM call once: an app that sends GenAI spans AND the gen_ai.client.token.usage histogram
 * for the same calls (what the official OpenTelemetry OpenAI instrumentation does by default) is priced
 * from the spans only; an app that sends only the metric (here as an exponential histogram) is priced
 * from it. Real parts: the official OTel JS SDK and OTLP/HTTP protobuf exporters as clients, a whole
 * configured vigil (otlp receiver -> cost -> otlp exporter) and an upstream otlp receiver on loopback.
 */
import fs from 'node:fs';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { type NumberDataPoint, getAttr } from '../src/model.ts';
import { freePort } from './helpers/daemon.ts';
import { SinkConsumer, configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { startService } from './helpers/service.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** What an instrumentation sends for one call: a span with the tokens and two token-usage records. */
async function sendCall(httpPort: number, service: string, model: string, input: number, output: number, opts: { spans: boolean; exponential: boolean }): Promise<void> {
  const resource = resourceFromAttributes({ 'service.name': service });
  const call = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': model, 'server.address': 'api.openai.com' };
  if (opts.spans) {
    const tracer = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }))] });
    tracer
      .getTracer('openai-instrumentation')
      .startSpan(`chat ${model}`, { attributes: { ...call, 'gen_ai.response.model': model, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output } })
      .end();
    await tracer.forceFlush();
    await tracer.shutdown();
  }
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `http://127.0.0.1:${httpPort}/v1/metrics` }), exportIntervalMillis: 60_000 });
  const meters = new MeterProvider({
    resource,
    readers: [reader],
    views: opts.exponential ? [{ instrumentName: 'gen_ai.client.token.usage', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }] : [],
  });
  const usage = meters.getMeter('openai-instrumentation').createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
  usage.record(input, { ...call, 'gen_ai.response.model': model, 'gen_ai.token.type': 'input' });
  usage.record(output, { ...call, 'gen_ai.response.model': model, 'gen_ai.token.type': 'output' });
  await meters.forceFlush();
  await meters.shutdown();
}

describe('cost: spans and token-usage metrics of the same calls', () => {
  it('gives the cost once (spans win per service and model; metrics count where no spans come)', async () => {
    const sink = new SinkConsumer();
    const upstream = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' } } })) as OtlpReceiver;
    await upstream.start();
    cleanup.push(() => upstream.shutdown());
    const httpPort = await freePort();
    const dir = tempDir('vigil-cost-once-');
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  cost: {price_table: builtin, interval: 1s}
exporters:
  otlp/upstream:
    endpoint: ${upstream.grpcAddress}
    tls: {insecure: true}
    retry: {initial_interval: 50ms}
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [otlp]
      processors: [cost]
      exporters: [otlp/upstream]
`,
    );
    cleanup.push(async () => {
      await service.shutdown();
    });

    // gpt-4o, 1000 input + 200 output: 1000 x $2.50/M + 200 x $10/M = $0.0045 (the example)
    await sendCall(httpPort, 'chat-app', 'gpt-4o', 1000, 200, { spans: true, exponential: false });
    // gpt-4o-mini, metrics only, exponential histogram: 10,000 x $0.15/M + 1000 x $0.60/M = $0.0021
    await sendCall(httpPort, 'batch-app', 'gpt-4o-mini', 10_000, 1000, { spans: false, exponential: true });

    const costOf = (svc: string) =>
      sink.batches
        .flatMap((b) => b.resourceMetrics ?? [])
        .filter((rm) => getAttr(rm.resource.attributes, 'service.name') === svc)
        .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
        .filter((m) => m.name === 'llm.cost')
        .flatMap((m) => m.data!.dataPoints as NumberDataPoint[]);
    await waitFor(() => costOf('chat-app').length > 0 && costOf('batch-app').length > 0, 15_000, 'llm.cost of both services');
    // one more interval: nothing is counted late
    await new Promise((r) => setTimeout(r, 1500));
    const total = (svc: string) => costOf(svc).reduce((s, p) => s + Number(p.value), 0);
    expect(total('chat-app')).toBeCloseTo(0.0045, 12);
    expect(total('batch-app')).toBeCloseTo(0.0021, 12);
    for (const p of [...costOf('chat-app'), ...costOf('batch-app')]) expect(getAttr(p.attributes, 'gen_ai.usage.cost.model')).toMatch(/^gpt-4o(-mini)?$/);
    const metrics = await (await fetch(`http://127.0.0.1:${service.telemetryPort}/metrics`)).text();
    expect(metrics).toMatch(/vigil_processor_llm_usage_points_superseded_total\{[^}]*processor="cost"[^}]*\} 2/);
  });
});
