/**
 * End to end through a whole configured vigil (config file -> Service): OTLP from the official SDK
 * exporter and JSON events enter vigil A's otlp and http_json receivers, go through the memory limiter and
 * the cost processor, and leave through A's otlp exporter to an upstream otlp receiver. And a forwarding
 * pipeline that reads nothing (memory_limiter -> batch -> otlp): what goes upstream is the clients' bytes.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { countItems, getAttr } from '../src/model.ts';
import { fromOtlpJson } from '../src/otlp/json.ts';
import { decodeExportRequest, encodeExportRequest } from '../src/otlp/proto.ts';
import { startService } from './helpers/service.ts';
import { SinkConsumer, configFor, metricsWhen, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { readFixtureFile } from './intake-fixtures.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});


describe('intake end to end through a configured vigil', () => {
  it('receives OTLP and JSON events, prices them, and forwards them upstream', async () => {
    const sink = new SinkConsumer();
    const upstream = otlpReceiverFactory.create(
      testSettings('receiver', 'otlp', { emit: sink }),
      configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' } } }),
    ) as OtlpReceiver;
    await upstream.start();
    cleanup.push(() => upstream.shutdown());

    const [grpcPort, httpPort, jsonPort] = [await freePort(), await freePort(), await freePort()];
    const dir = tempDir('vigil-intake-e2e-');
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${grpcPort}}
      http: {endpoint: 127.0.0.1:${httpPort}}
  http_json:
    endpoint: 127.0.0.1:${jsonPort}
processors:
  memory_limiter: {limit_mib: 2048}
  cost: {price_table: builtin}
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
    traces:
      receivers: [otlp, http_json]
      processors: [memory_limiter, cost]
      exporters: [otlp/upstream]
`,
    );
    cleanup.push(async () => {
      await service.shutdown();
    });

    // OTLP/HTTP protobuf from the official SDK exporter.
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'support-bot' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }))],
    });
    const span = provider.getTracer('e2e').startSpan('chat gpt-4o', {
      attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 },
    });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();

    // A JSON event.
    const res = await request(`http://127.0.0.1:${jsonPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'span', name: 'chat', service: 'json-bot', duration_ms: 900, status: 'ok', attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.output_tokens': 100 } }),
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ accepted: 1, rejected: 0, errors: [] });

    await waitFor(() => sink.spans.length === 2, 10_000, 'both spans upstream');
    const names = sink.batches.flatMap((b) => b.resourceSpans ?? []).map((rs) => getAttr(rs.resource.attributes, 'service.name'));
    expect(names.sort()).toEqual(['json-bot', 'support-bot']);
    for (const s of sink.spans) {
      expect(typeof getAttr(s.attributes, 'gen_ai.usage.cost')).toBe('number');
      expect(getAttr(s.attributes, 'gen_ai.usage.cost')).toBeGreaterThan(0);
    }

    // the exporter counts a batch as sent when upstream's answer reaches it, which can be after the sink has it
    const metrics = await metricsWhen(`http://127.0.0.1:${service.telemetryPort}/metrics`, [/vigil_exporter_sent_items_total\{exporter="otlp\/upstream",signal="traces"\} 2/]);
    expect(metrics).toMatch(/vigil_receiver_accepted_items_total\{receiver="otlp",signal="traces"\} 1/);
    expect(metrics).toMatch(/vigil_receiver_accepted_items_total\{receiver="http_json",signal="traces"\} 1/);
    expect(metrics).toMatch(/vigil_exporter_sent_items_total\{exporter="otlp\/upstream",signal="traces"\} 2/);
  });

  it('forwards protobuf requests byte for byte through memory_limiter -> batch -> otlp when nothing reads them', async () => {
    // The upstream: a plain HTTP server keeping every body it is sent.
    const bodies: Buffer[] = [];
    const upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => upstream.close(() => r())));
    const upPort = (upstream.address() as AddressInfo).port;

    const httpPort = await freePort();
    const dir = tempDir('vigil-intake-e2e-');
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  memory_limiter: {limit_mib: 2048}
  batch: {send_batch_size: 100000, timeout: 300ms}
exporters:
  otlp/upstream:
    endpoint: http://127.0.0.1:${upPort}
    protocol: http/protobuf
    compression: none
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp/upstream]
`,
    );
    cleanup.push(async () => {
      await service.shutdown();
    });

    // Three requests; the second carries a field this vigil does not know (field 99 of the request): it goes
    // along too, as OTLP lets a newer client send what an older hop does not read.
    const sent = [0, 1, 2].map(() => Buffer.from(encodeExportRequest(fromOtlpJson('traces', readFixtureFile('trace.json')), 'traces')));
    sent[1] = Buffer.concat([sent[1]!, Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63])]); // field 99, LEN 3, "abc"
    for (const body of sent) {
      const res = await request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      expect(res.statusCode).toBe(200);
      await res.body.arrayBuffer();
    }
    await waitFor(() => bodies.length === 1, 10_000, 'one batched request upstream');
    // The batch processor joined the three requests end to end: exactly the bytes the clients sent.
    expect(bodies[0]!.equals(Buffer.concat(sent))).toBe(true);
    const spans = countItems(decodeExportRequest('traces', bodies[0]!)).traces;
    expect(spans).toBe(3 * countItems(fromOtlpJson('traces', readFixtureFile('trace.json'))).traces);
    const metrics = await metricsWhen(`http://127.0.0.1:${service.telemetryPort}/metrics`, [
      new RegExp(`vigil_exporter_sent_items_total\\{exporter="otlp/upstream",signal="traces"\\} ${spans}`),
    ]);
    expect(metrics).toMatch(new RegExp(`vigil_receiver_accepted_items_total\\{receiver="otlp",signal="traces"\\} ${spans}`));
    expect(metrics).toMatch(new RegExp(`vigil_exporter_sent_items_total\\{exporter="otlp/upstream",signal="traces"\\} ${spans}`));
  });
});

