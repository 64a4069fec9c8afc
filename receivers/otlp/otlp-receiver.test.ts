/**
 * The official OpenTelemetry JS exporters (gRPC, HTTP/protobuf, HTTP/JSON), driven by the JS SDKs, send
 * to a running otlp receiver; what reaches the sink must match what the SDK recorded, field by field.
 */
import { SpanKind as ApiSpanKind, SpanStatusCode, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import {
  AggregationType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  AggregationTemporality as SdkTemporality,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyValue, KeyValue, Span } from '../../src/model.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from '../../test/helpers/index.ts';
import { otlpReceiverFactory } from './index.ts';
import type { OtlpReceiver } from './otlp-receiver.ts';

const running: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((c) => c.shutdown()));
});

export async function startOtlpReceiver(raw: Record<string, unknown> = {}, sink = new SinkConsumer()): Promise<{ receiver: OtlpReceiver; sink: SinkConsumer }> {
  const config = configFor(otlpReceiverFactory, {
    protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } },
    ...raw,
  });
  const receiver = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), config) as OtlpReceiver;
  await receiver.start({ reportFatal: () => undefined });
  running.push(receiver);
  return { receiver, sink };
}

const nanos = (t: HrTime) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** How the JS exporters map a JS value to OTLP: integers are int64, other numbers double. */
function expectedValue(v: unknown): AnyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(expectedValue);
  return { kvlist: expectedAttrs(v as Record<string, unknown>) };
}
function expectedAttrs(a: Record<string, unknown> | Attributes | undefined): KeyValue[] {
  return Object.entries(a ?? {}).map(([key, value]) => ({ key, value: expectedValue(value as AttributeValue) }));
}

function expectedSpan(s: ReadableSpan): Span {
  const ctx = s.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    traceState: ctx.traceState?.serialize() ?? '',
    parentSpanId: s.parentSpanContext?.spanId ?? '',
    flags: expect.any(Number) as unknown as number,
    name: s.name,
    kind: s.kind + 1,
    startTimeUnixNano: nanos(s.startTime),
    endTimeUnixNano: nanos(s.endTime),
    attributes: expectedAttrs(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({ timeUnixNano: nanos(e.time), name: e.name, attributes: expectedAttrs(e.attributes), droppedAttributesCount: e.droppedAttributesCount ?? 0 })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceState: l.context.traceState?.serialize() ?? '',
      attributes: expectedAttrs(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: expect.any(Number) as unknown as number,
    })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: s.status.code as number, message: s.status.message ?? "" },
  };
}

type Protocol = 'grpc' | 'http/protobuf' | 'http/json';
const PROTOCOLS: Protocol[] = ['grpc', 'http/protobuf', 'http/json'];

function traceExporter(p: Protocol, r: OtlpReceiver): SpanExporter {
  if (p === 'grpc') return new TraceGrpc({ url: `http://${r.grpcAddress}`, compression: 'gzip' as never });
  if (p === 'http/protobuf') return new TraceProto({ url: `http://${r.httpAddress}/v1/traces`, compression: 'gzip' as never });
  return new TraceJson({ url: `http://${r.httpAddress}/v1/traces` });
}
function metricExporter(p: Protocol, r: OtlpReceiver): PushMetricExporter {
  if (p === 'grpc') return new MetricsGrpc({ url: `http://${r.grpcAddress}` });
  if (p === 'http/protobuf') return new MetricsProto({ url: `http://${r.httpAddress}/v1/metrics` });
  return new MetricsJson({ url: `http://${r.httpAddress}/v1/metrics`, compression: 'gzip' as never });
}
function logExporter(p: Protocol, r: OtlpReceiver): LogRecordExporter {
  if (p === 'grpc') return new LogsGrpc({ url: `http://${r.grpcAddress}` });
  if (p === 'http/protobuf') return new LogsProto({ url: `http://${r.httpAddress}/v1/logs` });
  return new LogsJson({ url: `http://${r.httpAddress}/v1/logs` });
}

const RESOURCE = { 'service.name': 'support-bot', 'service.instance.id': 'i-1', 'host.cores': 8, 'deployment.ratio': 0.25 };

describe.each(PROTOCOLS)('otlp receiver with the official %s exporters', (protocol) => {
  it('receives traces field by field', async () => {
    const { receiver, sink } = await startOtlpReceiver();
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(RESOURCE),
      spanProcessors: [new SimpleSpanProcessor(traceExporter(protocol, receiver)), new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('vigil-test', '1.2.3');
    const root = tracer.startSpan('chat gpt-4o', {
      kind: ApiSpanKind.CLIENT,
      startTime: [1_763_000_000, 123_456_789],
      attributes: {
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.request.temperature': 0.7,
        'gen_ai.stream': true,
        'big.int': 9_007_199_254_740_991,
        'negative': -42,
        'tags': ['a', 'b'],
        'ints': [1, 2, 3],
        'doubles': [1.5, 2.5],
        'bools': [true, false],
        'empty.string': '',
        'unicode': 'héllo ✓ 日本',
      },
    });
    root.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt': 'hi', n: 1 }, [1_763_000_000, 223_456_789]);
    root.addEvent('bare');
    root.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    const child = tracer.startSpan(
      'tool call',
      { kind: ApiSpanKind.INTERNAL, links: [{ context: root.spanContext(), attributes: { 'link.kind': 'follows' } }], startTime: [1_763_000_001, 1] },
      // parent context
      (await import('@opentelemetry/api')).trace.setSpan((await import('@opentelemetry/api')).context.active(), root),
    );
    child.setStatus({ code: SpanStatusCode.OK });
    child.end([1_763_000_001, 999_999_999]);
    root.end([1_763_000_002, 5]);
    await provider.forceFlush();
    await sink.waitFor(() => sink.spans.length === 2);
    const recorded = memory.getFinishedSpans();
    await provider.shutdown();

    expect(recorded).toHaveLength(2);
    for (const s of recorded) {
      const got = sink.spans.find((x) => x.spanId === s.spanContext().spanId);
      expect(got).toEqual(expectedSpan(s));
      expect(got!.flags & 0xff).toBe(s.spanContext().traceFlags);
    }
    const rs = sink.batches.flatMap((b) => b.resourceSpans ?? []);
    for (const r of rs) {
      expect(r.resource.attributes).toEqual(expect.arrayContaining(expectedAttrs(RESOURCE)));
      expect(r.scopeSpans[0]!.scope).toMatchObject({ name: 'vigil-test', version: '1.2.3' });
    }
  });

  it('receives every metric type, exponential histograms included', async () => {
    const { receiver, sink } = await startOtlpReceiver();
    const memory = new InMemoryMetricExporter(SdkTemporality.CUMULATIVE);
    const readers = [
      new PeriodicExportingMetricReader({ exporter: metricExporter(protocol, receiver), exportIntervalMillis: 3_600_000 }),
      new PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 3_600_000 }),
    ];
    const provider = new MeterProvider({
      resource: resourceFromAttributes(RESOURCE),
      readers,
      views: [{ instrumentName: 'llm.latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } } }],
    });
    const meter = provider.getMeter('vigil-metrics', '0.1.0');
    const counter = meter.createCounter('llm.requests', { unit: '{request}', description: 'requests' });
    counter.add(3, { model: 'gpt-4o' });
    counter.add(2, { model: 'claude' });
    meter.createUpDownCounter('queue.depth').add(-5);
    const hist = meter.createHistogram('llm.latency', { unit: 'ms' });
    for (const v of [12, 120, 450, 3000]) hist.record(v, { model: 'gpt-4o' });
    const exp = meter.createHistogram('llm.latency.exp', { unit: 'ms' });
    for (const v of [0.5, 1, 2, 4, 100, 1000]) exp.record(v);
    meter.createGauge('temperature').record(21.5, { room: 'a' });
    meter.createObservableGauge('cost.total').addCallback((r) => r.observe(1.25));
    await provider.forceFlush();
    await sink.waitFor(() => sink.metrics.length >= 6);
    await provider.shutdown();

    const byName = new Map(sink.metrics.map((m) => [m.name, m]));
    const sdk = new Map(memory.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).map((m) => [m.descriptor.name, m]));
    const requests = byName.get('llm.requests')!;
    expect(requests).toMatchObject({ unit: '{request}', description: 'requests' });
    expect(requests.data).toMatchObject({ type: 'sum', isMonotonic: true, aggregationTemporality: 2 });
    const points = requests.data!.dataPoints as { value: number | bigint; attributes: KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint }[];
    const sdkPoints = sdk.get('llm.requests')!.dataPoints;
    expect(points.map((p) => [p.attributes, Number(p.value)])).toEqual(
      expect.arrayContaining(sdkPoints.map((p) => [expectedAttrs(p.attributes), p.value as number])),
    );
    for (const p of points) {
      const s = sdkPoints.find((x) => x.attributes.model === p.attributes[0]!.value)!;
      expect(p.startTimeUnixNano).toBe(nanos(s.startTime));
      expect(p.timeUnixNano).toBeGreaterThan(0n);
    }
    expect(byName.get('queue.depth')!.data).toMatchObject({ type: 'sum', isMonotonic: false });
    expect(Number((byName.get('queue.depth')!.data!.dataPoints[0] as { value: number }).value)).toBe(-5);

    const h = byName.get('llm.latency')!.data!;
    expect(h.type).toBe('histogram');
    if (h.type === 'histogram') {
      const p = h.dataPoints[0]!;
      expect(p).toMatchObject({ count: 4, sum: 3582, min: 12, max: 3000 });
      const sp = sdk.get('llm.latency')!.dataPoints[0]!.value as { buckets: { boundaries: number[]; counts: number[] } };
      expect(p.explicitBounds).toEqual(sp.buckets.boundaries);
      expect(p.bucketCounts).toEqual(sp.buckets.counts);
    }
    const e = byName.get('llm.latency.exp')!.data!;
    expect(e.type).toBe('exponentialHistogram');
    if (e.type === 'exponentialHistogram') {
      const p = e.dataPoints[0]!;
      const sp = sdk.get('llm.latency.exp')!.dataPoints[0]!.value as {
        count: number; sum: number; scale: number; zeroCount: number; min: number; max: number;
        positive: { offset: number; bucketCounts: number[] }; negative: { offset: number; bucketCounts: number[] };
      };
      expect(p).toMatchObject({ count: 6, sum: sp.sum, scale: sp.scale, zeroCount: sp.zeroCount, min: 0.5, max: 1000 });
      expect(p.positive).toEqual(sp.positive);
      expect(p.negative.bucketCounts).toEqual(sp.negative.bucketCounts);
    }
    expect(byName.get('temperature')!.data).toMatchObject({ type: 'gauge', dataPoints: [{ value: 21.5, attributes: [{ key: 'room', value: 'a' }] }] });
    expect(byName.get('cost.total')!.data).toMatchObject({ type: 'gauge', dataPoints: [{ value: 1.25 }] });
    const rm = sink.batches.flatMap((b) => b.resourceMetrics ?? [])[0]!;
    expect(rm.resource.attributes).toEqual(expect.arrayContaining(expectedAttrs(RESOURCE)));
    expect(rm.scopeMetrics[0]!.scope).toMatchObject({ name: 'vigil-metrics', version: '0.1.0' });
  });

  it('receives logs with every AnyValue type in body and attributes', async () => {
    const { receiver, sink } = await startOtlpReceiver();
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes(RESOURCE),
      processors: [new SimpleLogRecordProcessor({ exporter: logExporter(protocol, receiver) }), new SimpleLogRecordProcessor({ exporter: memory })],
    });
    const logger = provider.getLogger('vigil-logs', '3.0.0');
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    logger.emit({
      timestamp: [1_763_000_000, 987_654_321],
      observedTimestamp: [1_763_000_000, 987_654_322],
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      eventName: 'gen_ai.choice',
      body: { message: 'hello', count: 3, ratio: 0.5, ok: true, raw: bytes, list: ['x', 1, { deep: null }], nested: { k: 'v' } },
      attributes: { 'str': 's', 'int': 7, 'dbl': 7.5, 'bool': false, 'arr': ['a', 'b'], 'map': { inner: 1 } as never },
    });
    logger.emit({ body: 'plain text body', severityNumber: SeverityNumber.INFO });
    await provider.forceFlush();
    await sink.waitFor(() => sink.logRecords.length === 2);
    const recorded = memory.getFinishedLogRecords();
    await provider.shutdown();

    for (const rec of recorded) {
      const got = sink.logRecords.find((r) => r.severityNumber === rec.severityNumber)!;
      expect(got).toEqual({
        timeUnixNano: nanos(rec.hrTime),
        observedTimeUnixNano: nanos(rec.hrTimeObserved),
        severityNumber: rec.severityNumber,
        severityText: rec.severityText ?? '',
        body: expectedValue(rec.body),
        attributes: expectedAttrs(rec.attributes as Record<string, unknown>),
        droppedAttributesCount: 0,
        flags: expect.any(Number),
        traceId: rec.spanContext?.traceId ?? '',
        spanId: rec.spanContext?.spanId ?? '',
        eventName: rec.eventName ?? '',
      });
    }
    const rl = sink.batches.flatMap((b) => b.resourceLogs ?? [])[0]!;
    expect(rl.scopeLogs[0]!.scope).toMatchObject({ name: 'vigil-logs', version: '3.0.0' });
  });
});
