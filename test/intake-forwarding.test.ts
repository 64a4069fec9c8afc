/**
 * vigil -> vigil: receiver A -> otlp exporter -> receiver B, over each exporter protocol. Nothing is lost,
 * including while B is down for a while and comes back on the same port.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import type { OtlpExporter } from '../exporters/otlp/otlp-exporter.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import type { Component } from '../src/component.ts';
import type { Batch } from '../src/model.ts';
import { fromOtlpJson, toOtlpJson, type OtlpSignal } from '../src/otlp/json.ts';
import { encodeExportRequest, encodeExportResponse, encodeRpcStatus } from '../src/otlp/proto.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings, waitFor } from './helpers/index.ts';
import { logsBatch, metricsBatch, tracesBatch } from './intake-arbitraries.ts';
import { readFixtureFile } from './intake-fixtures.ts';
import { freePort } from './helpers/daemon.ts';

const started: Component[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(started.splice(0).reverse().map((c) => c.shutdown()));
});


async function receiver(protocols: Record<string, unknown>, sink: SinkConsumer | { consume(b: Batch): Promise<void> }): Promise<OtlpReceiver> {
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), configFor(otlpReceiverFactory, { protocols })) as OtlpReceiver;
  await r.start();
  started.push(r);
  return r;
}

async function exporter(raw: Record<string, unknown>): Promise<OtlpExporter> {
  const e = otlpExporterFactory.create(testSettings('exporter', 'otlp'), configFor(otlpExporterFactory, raw)) as OtlpExporter;
  await e.start();
  started.push(e);
  return e;
}

async function postProtobuf(address: string, signal: OtlpSignal, batch: Batch) {
  const res = await request(`http://${address}/v1/${signal}`, {
    method: 'POST',
    body: encodeExportRequest(batch, signal),
    headers: { 'content-type': 'application/x-protobuf' },
  });
  await res.body.arrayBuffer();
  return res;
}

/** Every item of a signal as canonical JSON lines, order-independent. */
function itemsOf(batches: Batch[], signal: OtlpSignal): string[] {
  const out: string[] = [];
  for (const b of batches) {
    const j = toOtlpJson(b, signal) as Record<string, { resource: unknown; scopeSpans?: any[]; scopeMetrics?: any[]; scopeLogs?: any[] }[]>;
    for (const r of Object.values(j)[0] ?? []) {
      const scopes = r.scopeSpans ?? r.scopeMetrics ?? r.scopeLogs ?? [];
      for (const s of scopes) for (const item of s.spans ?? s.metrics ?? s.logRecords ?? []) out.push(JSON.stringify([r.resource, s.scope, item]));
    }
  }
  return out.sort();
}

const SAMPLE_BATCHES: Record<OtlpSignal, Batch[]> = {
  traces: [fromOtlpJson('traces', readFixtureFile('trace.json')), ...fc.sample(tracesBatch, { numRuns: 5, seed: 42 })],
  metrics: [fromOtlpJson('metrics', readFixtureFile('metrics.json')), ...fc.sample(metricsBatch, { numRuns: 3, seed: 7 })],
  logs: [fromOtlpJson('logs', readFixtureFile('logs.json')), fromOtlpJson('logs', readFixtureFile('events.json')), ...fc.sample(logsBatch, { numRuns: 3, seed: 9 })],
};
// Receiver B drops spans without ids (partial success); keep only valid ones so that "nothing lost" is exact.
for (const b of SAMPLE_BATCHES.traces)
  for (const rs of b.resourceSpans!) for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => /[1-9a-f]/.test(s.traceId) && /[1-9a-f]/.test(s.spanId));
for (const b of SAMPLE_BATCHES.metrics) for (const rm of b.resourceMetrics!) for (const sm of rm.scopeMetrics) sm.metrics = sm.metrics.filter((m) => m.name !== '');

describe.each(['grpc', 'http/protobuf', 'http/json'] as const)('forwarding over %s', (protocol) => {
  it('loses nothing, while the upstream is down for a while and comes back', async () => {
    const [pg, ph] = [await freePort(), await freePort()];
    const sinkB = new SinkConsumer();
    const protocolsB = { grpc: { endpoint: `127.0.0.1:${pg}` }, http: { endpoint: `127.0.0.1:${ph}` } };
    let b = await receiver(protocolsB, sinkB);
    const exp = await exporter({
      endpoint: protocol === 'grpc' ? `127.0.0.1:${pg}` : `http://127.0.0.1:${ph}`,
      protocol,
      tls: { insecure: true },
      headers: { 'x-forwarded-by': 'vigil-a' },
      retry: { initial_interval: '20ms', max_interval: '100ms', max_elapsed_time: '1m' },
    });
    const a = await receiver({ http: { endpoint: '127.0.0.1:0' } }, exp);

    // Phase 1: B is up.
    for (const signal of ['traces', 'metrics', 'logs'] as const) expect((await postProtobuf(a.httpAddress, signal, SAMPLE_BATCHES[signal][0]!)).statusCode).toBe(200);
    await waitFor(() => exp.queued === 0, 10_000, 'first batches forwarded');

    // Phase 2: B goes down; A keeps accepting (queued in the exporter).
    await b.shutdown();
    for (const signal of ['traces', 'metrics', 'logs'] as const)
      for (const batch of SAMPLE_BATCHES[signal].slice(1)) expect((await postProtobuf(a.httpAddress, signal, batch)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 150)); // a few failed attempts
    expect(exp.queued).toBeGreaterThan(0);

    // Phase 3: B comes back on the same ports; the queue drains.
    b = await receiver(protocolsB, sinkB);
    await waitFor(() => exp.queued === 0, 15_000, 'queue drained');
    for (const signal of ['traces', 'metrics', 'logs'] as const) expect(itemsOf(sinkB.batches, signal)).toEqual(itemsOf(SAMPLE_BATCHES[signal], signal));
  });
});

describe('otlp exporter', () => {
  it('refuses with a retryable error when its queue is full, so receiver A answers 503 with Retry-After', async () => {
    const port = await freePort(); // nothing listens there
    const exp = await exporter({
      endpoint: `http://127.0.0.1:${port}`,
      protocol: 'http/protobuf',
      retry: { initial_interval: '1s', max_interval: '1s' },
      shutdown_timeout: '100ms',
      sending_queue: { max_items: 2, num_consumers: 1 },
    });
    const a = await receiver({ http: { endpoint: '127.0.0.1:0' }, grpc: { endpoint: '127.0.0.1:0' } }, exp);
    const batch = SAMPLE_BATCHES.traces[0]!;
    expect((await postProtobuf(a.httpAddress, 'traces', batch)).statusCode).toBe(200);
    expect((await postProtobuf(a.httpAddress, 'traces', batch)).statusCode).toBe(200);
    const res = await postProtobuf(a.httpAddress, 'traces', batch);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('retries 503 honouring Retry-After, does not retry 400, and reads partial success', async () => {
    const seen: { path: string; encoding?: string; auth?: string }[] = [];
    let answer: (res: http.ServerResponse) => void = (res) => res.writeHead(200).end();
    const upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push({ path: req.url!, encoding: req.headers['content-encoding'], auth: req.headers.authorization });
        answer(res);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    started.push({ start: async () => undefined, shutdown: () => new Promise<void>((r) => upstream.close(() => r())) });
    const url = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
    const exp = await exporter({
      endpoint: url,
      protocol: 'http/protobuf',
      headers: { authorization: 'Bearer up' },
      signals: ['traces'],
      retry: { initial_interval: '10ms', max_interval: '20ms' },
    });
    const traces = SAMPLE_BATCHES.traces[0]!;

    // 503 with Retry-After: 1 -> the retry waits about a second, then succeeds.
    let calls = 0;
    answer = (res) => (++calls === 1 ? res.writeHead(503, { 'retry-after': '1' }).end() : res.writeHead(200).end());
    const t0 = Date.now();
    await exp.consume(traces);
    await waitFor(() => exp.queued === 0);
    expect(calls).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(seen[0]).toEqual({ path: '/v1/traces', encoding: 'gzip', auth: 'Bearer up' });

    // 400 is permanent: one attempt only.
    calls = 0;
    answer = (res) => {
      calls++;
      res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(encodeRpcStatus({ code: 3, message: 'bad' }));
    };
    await exp.consume(traces);
    await waitFor(() => exp.queued === 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(1);

    // partial success is accepted (not retried).
    calls = 0;
    answer = (res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeExportResponse({ rejected: 1, errorMessage: 'one bad span' }));
    };
    await exp.consume(traces);
    await waitFor(() => exp.queued === 0);
    expect(calls).toBe(1);

    // signals narrows what is forwarded.
    const before = seen.length;
    await exp.consume(SAMPLE_BATCHES.logs[0]!);
    expect(exp.queued).toBe(0);
    expect(seen.length).toBe(before);
  });

  it('drains its queue on shutdown; in memory, dead-letters what it cannot send by the drain deadline', async () => {
    const sink = new SinkConsumer();
    const b = await receiver({ http: { endpoint: '127.0.0.1:0' } }, sink);
    const exp = await exporter({ endpoint: `http://${b.httpAddress}`, protocol: 'http/protobuf', sending_queue: { num_consumers: 1 } });
    for (const batch of SAMPLE_BATCHES.logs) await exp.consume(batch);
    await exp.shutdown();
    expect(exp.queued).toBe(0);
    expect(itemsOf(sink.batches, 'logs')).toEqual(itemsOf(SAMPLE_BATCHES.logs, 'logs'));
    await expect(exp.consume(SAMPLE_BATCHES.logs[0]!)).rejects.toMatchObject({ permanent: false });

    const down = await exporter({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      protocol: 'http/protobuf',
      retry: { initial_interval: '10ms', max_interval: '20ms' },
      shutdown_timeout: '200ms',
      sending_queue: { num_consumers: 1, storage: 'memory' },
    });
    for (const batch of SAMPLE_BATCHES.logs) await down.consume(batch);
    expect(down.queued).toBeGreaterThan(0);
    await down.shutdown();
    expect(down.queued).toBe(0);
    const dead = fs.readFileSync(down.deadLetterPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; request: { signal: string } });
    expect(dead).toHaveLength(SAMPLE_BATCHES.logs.length);
    expect(dead.every((d) => d.request.signal === 'logs' && /shut down/.test(d.reason))).toBe(true);
  });

  it('without a queue, passes the upstream refusal back to the caller', async () => {
    const port = await freePort();
    const exp = await exporter({ endpoint: `127.0.0.1:${port}`, protocol: 'grpc', tls: { insecure: true }, timeout: '2s', sending_queue: { enabled: false } });
    await expect(exp.consume(SAMPLE_BATCHES.traces[0]!)).rejects.toMatchObject({ permanent: false });
  });
});
