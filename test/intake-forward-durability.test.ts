/**
 * The otlp exporter's on-disk queue: what a sidecar accepted survives a kill -9 of the whole daemon while
 * the upstream is down, and a restart with another protocol; a permanent refusal lands in the dead letter
 * with its reason.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import type { OtlpExporter, QueuedRequest } from '../exporters/otlp/otlp-exporter.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import type { Component } from '../src/component.ts';
import type { Batch } from '../src/model.ts';
import { fromOtlpJson } from '../src/otlp/json.ts';
import { decodeExportRequest, encodeRpcStatus } from '../src/otlp/proto.ts';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { SinkConsumer, configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { readFixtureFile } from './intake-fixtures.ts';

const started: Component[] = [];
const daemons: Daemon[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop('SIGKILL')));
  await Promise.all(started.splice(0).reverse().map((c) => c.shutdown()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('vigil-forward-');
  dirs.push(d);
  return d;
}

/** OTLP/JSON traces: `n` spans whose span ids are `<prefix><index>` (16 hex digits), unique across the test. */
function tracesJson(prefix: number, n: number): { json: string; spanIds: string[] } {
  const t = JSON.parse(JSON.stringify(readFixtureFile('trace.json'))) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
  const template = t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  const spans: Record<string, unknown>[] = [];
  const spanIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const spanId = (prefix * 0x10000 + i + 1).toString(16).padStart(16, '0');
    spanIds.push(spanId);
    spans.push({ ...template, spanId, name: `span ${prefix}/${i}` });
  }
  t.resourceSpans[0]!.scopeSpans[0]!.spans = spans;
  return { json: JSON.stringify(t), spanIds };
}

async function upstreamReceiver(protocols: Record<string, unknown>, sink: SinkConsumer): Promise<OtlpReceiver> {
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), configFor(otlpReceiverFactory, { protocols })) as OtlpReceiver;
  await r.start();
  started.push(r);
  return r;
}

async function exporter(stateDir: string, raw: Record<string, unknown>): Promise<OtlpExporter> {
  const e = otlpExporterFactory.create(testSettings('exporter', 'otlp/up', { stateDir }), configFor(otlpExporterFactory, raw)) as OtlpExporter;
  await e.start({ reportFatal: () => undefined });
  started.push(e);
  return e;
}

describe('otlp exporter on-disk queue', () => {
  it('a kill -9 of `vigil run` while the upstream is down loses no accepted span (at least once)', async () => {
    const d = dir();
    const [intakePort, telPort, upPort] = [await freePort(), await freePort(), await freePort()];
    const file = writeConfig(path.join(d, 'pipelines.yaml'), {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${intakePort}` } } } },
      exporters: {
        'otlp/up': {
          endpoint: `127.0.0.1:${upPort}`,
          protocol: 'grpc',
          tls: { insecure: true },
          retry: { initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: '0s' },
          sending_queue: { storage: 'disk' },
        },
      },
      service: {
        state_dir: path.join(d, 'state'),
        telemetry: { endpoint: `127.0.0.1:${telPort}` },
        pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp/up'] } },
      },
    });
    let daemon = await startDaemon([file], telPort);
    daemons.push(daemon);

    // The upstream is down: every request answered 200 is on disk in the sidecar's queue.
    const accepted = new Set<string>();
    let refused = 0;
    const post = async (k: number) => {
      const { json, spanIds } = tracesJson(k, 20);
      const r = await fetch(`http://127.0.0.1:${intakePort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
      await r.arrayBuffer();
      if (r.status === 200) for (const id of spanIds) accepted.add(id);
      else refused++;
    };
    for (let k = 1; k <= 10; k++) await post(k);
    // A burst in flight when the kill lands: only what got a 200 counts as accepted.
    const burst = Array.from({ length: 20 }, (_, i) => post(100 + i).catch(() => void refused++));
    await new Promise((r) => setTimeout(r, 20));
    await daemon.stop('SIGKILL');
    await Promise.all(burst);
    daemons.splice(daemons.indexOf(daemon), 1);
    expect(accepted.size).toBeGreaterThanOrEqual(200);
    expect(fs.readdirSync(path.join(d, 'state/exporters/otlp_up/queue')).length).toBeGreaterThan(0);

    // Restart on the same state dir, then bring the upstream up: the queue replays and drains.
    daemon = await startDaemon([file], telPort);
    daemons.push(daemon);
    const sink = new SinkConsumer();
    await upstreamReceiver({ grpc: { endpoint: `127.0.0.1:${upPort}` } }, sink);
    await waitFor(() => accepted.size > 0 && [...accepted].every((id) => sink.spans.some((s) => s.spanId === id)), 20_000, 'every accepted span upstream');
    const received = sink.spans.map((s) => s.spanId);
    for (const id of accepted) expect(received).toContain(id);
    // Spans that arrive but were never answered 200 may exist (the kill cut the reply); none come from nowhere.
    for (const id of received) expect(/^0{8}/.test(id)).toBe(true);
    const duplicates = received.length - new Set(received).size;
    console.log(`kill -9: ${accepted.size} spans accepted (${refused} requests refused or cut), ${received.length} received upstream, ${duplicates} duplicates`);
  }, 60_000);

  it('a restart with another protocol sends what the last run queued, converted', async () => {
    const stateDir = dir();
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const batches: Batch[] = [1, 2, 3].map((k) => fromOtlpJson('traces', JSON.parse(tracesJson(k, 5).json)));
    const first = await exporter(stateDir, {
      endpoint: `http://127.0.0.1:${httpPort}`,
      protocol: 'http/json',
      retry: { initial_interval: '20ms', max_interval: '50ms' },
      shutdown_timeout: '50ms',
    });
    for (const b of batches) await first.consume(b);
    await first.shutdown();
    expect(first.queued).toBe(3); // left on disk, not dropped

    const sink = new SinkConsumer();
    await upstreamReceiver({ grpc: { endpoint: `127.0.0.1:${grpcPort}` } }, sink);
    const second = await exporter(stateDir, { endpoint: `127.0.0.1:${grpcPort}`, protocol: 'grpc', tls: { insecure: true } });
    await waitFor(() => second.queued === 0, 10_000, 'queue drained');
    expect(sink.spans.map((s) => s.spanId).sort()).toEqual(batches.flatMap((b) => b.resourceSpans![0]!.scopeSpans[0]!.spans.map((s) => s.spanId)).sort());
  });

  it('a permanent refusal (HTTP 400) goes to the dead letter with its reason and the request', async () => {
    let calls = 0;
    const upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        calls++;
        res.writeHead(400, { 'content-type': 'application/x-protobuf' }).end(encodeRpcStatus({ code: 3, message: 'span name too long' }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    started.push({ start: async () => undefined, shutdown: () => new Promise<void>((r) => upstream.close(() => r())) });
    const exp = await exporter(dir(), { endpoint: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, protocol: 'http/protobuf' });
    const batch = fromOtlpJson('traces', JSON.parse(tracesJson(7, 3).json));
    await exp.consume(batch);
    await waitFor(() => exp.queued === 0, 10_000, 'request settled');
    expect(calls).toBe(1); // not retried
    const lines = fs.readFileSync(exp.deadLetterPath, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const dead = JSON.parse(lines[0]!) as { exporter: string; reason: string; attempts: number; request: QueuedRequest };
    expect(dead.exporter).toBe('otlp/up');
    expect(dead.reason).toMatch(/^permanent error: POST http:\/\/127\.0\.0\.1:\d+\/v1\/traces: HTTP 400: span name too long$/);
    expect(dead.attempts).toBe(1);
    expect(dead.request).toMatchObject({ signal: 'traces', items: 3, encoding: 'proto+gzip' });
    // The dead letter keeps the request itself: it can be replayed.
    const back = decodeExportRequest('traces', (await import('node:zlib')).gunzipSync(Buffer.from(dead.request.body, 'base64')));
    expect(back.resourceSpans![0]!.scopeSpans[0]!.spans.map((s) => s.spanId)).toEqual(batch.resourceSpans![0]!.scopeSpans[0]!.spans.map((s) => s.spanId));
  });

  it.each(['disk', 'memory'] as const)('storage %s: a request larger than max_bytes goes to the dead letter, and the queue keeps working', async (storage) => {
    const exp = await exporter(dir(), {
      endpoint: `http://127.0.0.1:${await freePort()}`,
      protocol: 'http/json',
      compression: 'none',
      shutdown_timeout: '100ms',
      sending_queue: { storage, max_bytes: 1024 },
    });
    await exp.consume(fromOtlpJson('traces', JSON.parse(tracesJson(9, 40).json)));
    expect(exp.queued).toBe(0);
    const dead = JSON.parse(fs.readFileSync(exp.deadLetterPath, 'utf8').trim()) as { reason: string; request: QueuedRequest };
    expect(dead.reason).toMatch(/^larger than sending_queue\.max_bytes \(\d+ > 1024 bytes\)$/);
    expect(dead.request).toMatchObject({ signal: 'traces', items: 40, encoding: 'json' });
    await exp.consume(fromOtlpJson('traces', JSON.parse(tracesJson(10, 1).json)));
    expect(exp.queued).toBe(1);
  });
});
