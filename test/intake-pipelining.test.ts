/**
 * HTTP/1.1 pipelining: a client may write several requests on one connection without waiting for the
 * answers. When a valid request is followed on its connection by one Node's parser refuses (garbage,
 * headers over the limit), the valid one was processed (its data delivered) but its answer was lost: the
 * refusal was written and the connection closed at once, so the client, seeing no answer, would send again
 * what had been taken. Now each request before the bad one gets its answer, in order, then the refusal
 * (400 / 431), then the connection closes. On every HTTP listener: the otlp and http_json receivers, the
 * telemetry endpoint and the prometheus exporter.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpJsonReceiverFactory } from '../receivers/http_json/index.ts';
import type { HttpJsonReceiver } from '../receivers/http_json/http-json-receiver.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/index.ts';
import type { PrometheusExporter } from '../exporters/prometheus/prometheus-exporter.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { SinkConsumer, configFor, testSettings } from './helpers/index.ts';

const running: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

/** Writes `bytes` at once on a new connection to `address`; resolves with all it read once the server closed it. */
async function exchange(address: string, bytes: string | Buffer): Promise<string> {
  const i = address.lastIndexOf(':');
  const socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
  const reply = new Promise<string>((resolve) => {
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(bytes);
  return reply;
}

/** The status lines of the answers in `data`, in order. */
const statuses = (data: string) => data.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];

const SPAN = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'x' }] }] }] });
const post = (path: string, body: string, type = 'application/json') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const GARBAGE = 'GARBAGE\r\n\r\n';
const HUGE_HEADERS = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;

async function otlp() {
  const sink = new SinkConsumer();
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } } })) as OtlpReceiver;
  await r.start();
  running.push(r);
  return { sink, address: r.httpAddress };
}

describe('otlp receiver (HTTP): a valid request followed by a bad one on the same connection', () => {
  it('garbage: the valid request is answered 200, then the garbage 400, then the connection closes', async () => {
    const { sink, address } = await otlp();
    const data = await exchange(address, post('/v1/traces', SPAN) + GARBAGE);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(data).toContain('bad HTTP request: Parse Error: Invalid method encountered');
    expect(sink.spans).toHaveLength(1);
  });

  it('two valid requests, then garbage: both answered in order, then 400', async () => {
    const { sink, address } = await otlp();
    const data = await exchange(address, post('/v1/traces', SPAN) + post('/v1/traces', SPAN) + GARBAGE);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(sink.spans).toHaveLength(2);
  });

  it('headers over the limit: 200, then 431', async () => {
    const { sink, address } = await otlp();
    const data = await exchange(address, post('/v1/traces', SPAN) + HUGE_HEADERS);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 431 Request Header Fields Too Large']);
    expect(sink.spans).toHaveLength(1);
  });

  it('a body declared over max_request_body_size: 200, then 413', async () => {
    const { sink, address } = await otlp();
    const data = await exchange(address, post('/v1/traces', SPAN) + `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{`);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 413 Payload Too Large']);
    expect(sink.spans).toHaveLength(1);
  });
});

describe('the other HTTP listeners: the valid request answered before the garbage', () => {
  it('http_json', async () => {
    const sink = new SinkConsumer();
    const r = httpJsonReceiverFactory.create(testSettings('receiver', 'http_json', { emit: sink }), configFor(httpJsonReceiverFactory, { endpoint: '127.0.0.1:0' })) as HttpJsonReceiver;
    await r.start();
    running.push(r);
    const data = await exchange(r.address, post('/v1/events', '{"kind":"span","name":"chat","service":"bot","duration_ms":5}') + GARBAGE);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(sink.spans).toHaveLength(1);
  });

  it('the telemetry endpoint (/healthz, /metrics)', async () => {
    const t = new ServiceTelemetry();
    const { port } = await t.listen('127.0.0.1:0');
    running.push({ shutdown: () => t.close() });
    const data = await exchange(`127.0.0.1:${port}`, get('/healthz') + get('/metrics') + GARBAGE);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(data).toContain('ok\n');
  });

  it('the prometheus exporter (/metrics)', async () => {
    const e = prometheusExporterFactory.create(testSettings('exporter', 'prometheus'), configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
    await e.start();
    running.push(e);
    const data = await exchange(e.address, get('/metrics') + HUGE_HEADERS);
    expect(statuses(data)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 431 Request Header Fields Too Large']);
  });
});
