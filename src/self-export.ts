/**
 * vigil's own telemetry leaving the process over OTLP, as the Collector's `service.telemetry` does:
 * metrics by a periodic reader, logs and traces by a batch processor, each with an `otlp` exporter.
 *
 * ```yaml
 * service:
 *   telemetry:
 *     resource: { service.name: vigil, deployment.environment: prod }
 *     metrics:
 *       readers:
 *         - periodic: { interval: 30s, exporter: { otlp: { protocol: http/protobuf, endpoint: http://collector:4318 } } }
 *     logs:
 *       processors:
 *         - batch: { exporter: { otlp: { protocol: grpc, endpoint: http://collector:4317 } } }
 *     traces:
 *       processors:
 *         - batch: { exporter: { otlp: { protocol: http/json, endpoint: http://collector:4318 } } }
 * ```
 *
 * The OTLP exporter packages (the official OpenTelemetry JS ones) are imported only when a config names
 * them, so a daemon that does not export its own telemetry does not load them. `endpoint` is the base URL
 * (the `/v1/metrics`, `/v1/logs`, `/v1/traces` paths are appended for HTTP), as in the OTel exporter
 * environment variables spec. These settings take effect at start; a reload keeps the running ones.
 */
import { Writable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { Attributes, Meter, Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { parseDuration } from './duration.ts';
import { importPackage } from './import-package.ts';
import { Duration, Obj } from './config/types.ts';

/** `exporter.otlp` of a reader or processor. */
export const SelfOtlpExporterSchema = Type.Object(
  {
    protocol: Type.Union([Type.Literal('grpc'), Type.Literal('http/protobuf'), Type.Literal('http/json')], { default: 'http/protobuf' }),
    endpoint: Type.String({ pattern: '^https?://', description: 'base URL, e.g. http://collector:4318 (HTTP) or http://collector:4317 (gRPC)' }),
    headers: Type.Record(Type.String(), Type.String(), { default: {} }),
    timeout: Duration('10s'),
  },
  { additionalProperties: false },
);
/** The validated `exporter.otlp` block. */
export type SelfOtlpExporterConfig = Static<typeof SelfOtlpExporterSchema>;

const ExporterSchema = Type.Object({ otlp: SelfOtlpExporterSchema }, { additionalProperties: false });

/** The `metrics`, `logs` and `traces` blocks of `service.telemetry` that configure export over OTLP. */
export const SelfExportSchemas = {
  resource: Type.Record(Type.String(), Type.String(), {
    default: {},
    description: 'resource attributes of vigil\'s own telemetry (service.name defaults to "vigil")',
  }),
  metrics: Obj({
    readers: Type.Array(
      Type.Object({ periodic: Type.Object({ interval: Duration('60s'), exporter: ExporterSchema }, { additionalProperties: false }) }, { additionalProperties: false }),
      { default: [] },
    ),
  }),
  logsProcessors: Type.Array(Type.Object({ batch: Type.Object({ exporter: ExporterSchema }, { additionalProperties: false }) }, { additionalProperties: false }), {
    default: [],
  }),
  traces: Obj({
    processors: Type.Array(Type.Object({ batch: Type.Object({ exporter: ExporterSchema }, { additionalProperties: false }) }, { additionalProperties: false }), {
      default: [],
    }),
  }),
};

/** What of `service.telemetry` this module reads. */
export interface SelfExportConfig {
  resource: Record<string, string>;
  metrics: { readers: { periodic: { interval: string; exporter: { otlp: SelfOtlpExporterConfig } } }[] };
  logs: { processors: { batch: { exporter: { otlp: SelfOtlpExporterConfig } } }[] };
  traces: { processors: { batch: { exporter: { otlp: SelfOtlpExporterConfig } } }[] };
}

type Signal = 'metrics' | 'logs' | 'traces';

/** The URL an HTTP exporter posts to: the base endpoint plus `/v1/<signal>` (OTel exporter spec). */
export function signalUrl(endpoint: string, signal: Signal): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/${signal}`;
}

function exporterOptions(c: SelfOtlpExporterConfig, signal: Signal): { url: string; headers?: Record<string, string>; timeoutMillis: number } {
  return {
    url: c.protocol === 'grpc' ? c.endpoint : signalUrl(c.endpoint, signal),
    ...(c.protocol === 'grpc' ? {} : { headers: c.headers }),
    timeoutMillis: parseDuration(c.timeout),
  };
}

async function grpcMetadata(headers: Record<string, string>) {
  const { Metadata } = await importPackage(import('@grpc/grpc-js'));
  const m = new Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
}

async function metricExporter(c: SelfOtlpExporterConfig): Promise<PushMetricExporter> {
  const o = exporterOptions(c, 'metrics');
  if (c.protocol === 'grpc') return new (await importPackage(import('@opentelemetry/exporter-metrics-otlp-grpc'))).OTLPMetricExporter({ ...o, metadata: await grpcMetadata(c.headers) });
  if (c.protocol === 'http/json') return new (await importPackage(import('@opentelemetry/exporter-metrics-otlp-http'))).OTLPMetricExporter(o);
  return new (await importPackage(import('@opentelemetry/exporter-metrics-otlp-proto'))).OTLPMetricExporter(o);
}

async function logExporter(c: SelfOtlpExporterConfig) {
  const o = exporterOptions(c, 'logs');
  if (c.protocol === 'grpc') return new (await importPackage(import('@opentelemetry/exporter-logs-otlp-grpc'))).OTLPLogExporter({ ...o, metadata: await grpcMetadata(c.headers) });
  if (c.protocol === 'http/json') return new (await importPackage(import('@opentelemetry/exporter-logs-otlp-http'))).OTLPLogExporter(o);
  return new (await importPackage(import('@opentelemetry/exporter-logs-otlp-proto'))).OTLPLogExporter(o);
}

async function traceExporter(c: SelfOtlpExporterConfig) {
  const o = exporterOptions(c, 'traces');
  if (c.protocol === 'grpc') return new (await importPackage(import('@opentelemetry/exporter-trace-otlp-grpc'))).OTLPTraceExporter({ ...o, metadata: await grpcMetadata(c.headers) });
  if (c.protocol === 'http/json') return new (await importPackage(import('@opentelemetry/exporter-trace-otlp-http'))).OTLPTraceExporter(o);
  return new (await importPackage(import('@opentelemetry/exporter-trace-otlp-proto'))).OTLPTraceExporter(o);
}

/** pino's numeric levels to OTel severity numbers (logs data model: DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21). */
const SEVERITY: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

/** What {@link startSelfExport} set up. */
export interface SelfExport {
  /**
   * A meter of the OTel metrics SDK whose periodic readers export over OTLP, to be the mirror of the
   * service's own meter (src/own-meter.ts); undefined when no reader is configured (the SDK is not loaded).
   * Its provider is flushed and shut down by `shutdown`.
   */
  meter: Meter | undefined;
  /** The resource of vigil's own telemetry (undefined when nothing is exported). */
  resource: Resource | undefined;
  /**
   * A pino destination that writes every line to `stdout` and also emits it as an OTel log record
   * (undefined when no log processor is configured: log to stdout only).
   */
  logDestination: Writable | undefined;
  /** A tracer for the pipeline's spans (undefined when no trace processor is configured). */
  tracer: Tracer | undefined;
  /** Flushes and stops every exporter. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Builds the readers, log destination and tracer that `config` asks for, loading only the exporter
 * packages it names. `stdout`: where log lines also go (process.stdout by default).
 */
export async function startSelfExport(config: SelfExportConfig, stdout: NodeJS.WritableStream = process.stdout): Promise<SelfExport> {
  const attrs: Attributes = { 'service.name': 'vigil', 'service.version': '0.1.0', ...config.resource };
  const needsResource = config.metrics.readers.length + config.logs.processors.length + config.traces.processors.length > 0;
  const resource = needsResource ? (await importPackage(import('@opentelemetry/resources'))).resourceFromAttributes(attrs) : undefined;
  const stops: (() => Promise<void>)[] = [];

  let meter: Meter | undefined;
  if (config.metrics.readers.length) {
    const { MeterProvider, PeriodicExportingMetricReader } = await importPackage(import('@opentelemetry/sdk-metrics'));
    const readers = [];
    for (const r of config.metrics.readers) {
      const interval = parseDuration(r.periodic.interval);
      const timeout = Math.min(parseDuration(r.periodic.exporter.otlp.timeout), interval);
      readers.push(new PeriodicExportingMetricReader({ exporter: await metricExporter(r.periodic.exporter.otlp), exportIntervalMillis: interval, exportTimeoutMillis: timeout }));
    }
    const provider = new MeterProvider({ readers, resource: resource! });
    meter = provider.getMeter('vigil');
    stops.push(() => provider.shutdown());
  }

  let logDestination: Writable | undefined;
  if (config.logs.processors.length) {
    const { LoggerProvider, BatchLogRecordProcessor } = await importPackage(import('@opentelemetry/sdk-logs'));
    const processors = [];
    for (const p of config.logs.processors) processors.push(new BatchLogRecordProcessor({ exporter: await logExporter(p.batch.exporter.otlp) }));
    const provider = new LoggerProvider({ resource: resource!, processors });
    const otelLogger = provider.getLogger('vigil');
    stops.push(() => provider.shutdown());
    logDestination = new Writable({
      write(chunk: Buffer, _enc, done) {
        stdout.write(chunk);
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          try {
            const { level, time, message, ...rest } = JSON.parse(line) as Record<string, unknown>;
            const attributes: Attributes = {};
            for (const [k, v] of Object.entries(rest)) attributes[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
            otelLogger.emit({
              severityText: String(level ?? 'info').toUpperCase(),
              severityNumber: SEVERITY[String(level)] ?? 9,
              body: typeof message === 'string' ? message : '',
              attributes,
              ...(typeof time === 'string' ? { timestamp: new Date(time) } : {}),
            });
          } catch {
            // not a JSON line: stdout has it; nothing to emit
          }
        }
        done();
      },
    });
  }

  let tracer: Tracer | undefined;
  if (config.traces.processors.length) {
    const { NodeTracerProvider } = await importPackage(import('@opentelemetry/sdk-trace-node'));
    const { BatchSpanProcessor } = await importPackage(import('@opentelemetry/sdk-trace-base'));
    const spanProcessors = [];
    for (const p of config.traces.processors) spanProcessors.push(new BatchSpanProcessor(await traceExporter(p.batch.exporter.otlp)));
    const provider = new NodeTracerProvider({ resource: resource!, spanProcessors });
    provider.register();
    tracer = provider.getTracer('vigil');
    stops.push(() => provider.shutdown());
  }

  let stopped: Promise<void> | undefined;
  return {
    meter,
    resource,
    logDestination,
    tracer,
    shutdown: () => (stopped ??= Promise.allSettled(stops.map((s) => s())).then(() => undefined)),
  };
}
