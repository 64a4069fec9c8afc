import zlib from 'node:zlib';
import fs from 'node:fs';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { retryableError } from '../../src/errors.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from '../../test/helpers/index.ts';
import type { HttpJsonReceiver } from './http-json-receiver.ts';
import { httpJsonReceiverFactory } from './index.ts';

const running: HttpJsonReceiver[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function start(raw: Record<string, unknown> = {}) {
  const sink = new SinkConsumer();
  const r = httpJsonReceiverFactory.create(
    testSettings('receiver', 'http_json', { emit: sink }),
    configFor(httpJsonReceiverFactory, { endpoint: '127.0.0.1:0', ...raw }),
  ) as HttpJsonReceiver;
  await r.start();
  running.push(r);
  return { r, sink, url: `http://${r.address}/v1/events` };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await request(url, { method: 'POST', body, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? (JSON.parse(text) as any) : undefined };
}

describe('http_json receiver', () => {
  it('keeps every digit of an integer attribute past 2^53 (a 64-bit id), in a body and in NDJSON', async () => {
    const { sink, url } = await start();
    const body =
      '{"kind":"log","body":"x","attributes":{"id":9007199254740993,"min":-9223372036854775808,"over":12345678901234567890,' +
      '"list":[9007199254740995,1],"obj":{"k":1700000000000000001},"s":"\\u0000vigil-int:5"}}';
    expect(await post(url, body)).toMatchObject({ status: 200, json: { accepted: 1 } });
    expect(sink.logRecords[0]!.attributes).toEqual([
      { key: 'id', value: 9007199254740993n },
      { key: 'min', value: -9223372036854775808n },
      { key: 'over', value: 12345678901234567890 }, // past int64: a double, as before
      { key: 'list', value: [9007199254740995n, 1n] },
      { key: 'obj', value: { kvlist: [{ key: 'k', value: 1700000000000000001n }] } },
      { key: 's', value: '\u0000vigil-int:5' },
    ]);
    const ndjson = '{"kind":"metric","name":"m","value":12345678901234567890,"attributes":{"id":1234567890123456789}}\n{"kind":"log","body":"y"}';
    expect(await post(url, ndjson, { 'content-type': 'application/x-ndjson' })).toMatchObject({ status: 200, json: { accepted: 2 } });
    const point = sink.metrics[0]!.data;
    expect(point?.type).toBe('gauge');
    expect(point?.type === 'gauge' && point.dataPoints[0]).toMatchObject({ value: 12345678901234567890, attributes: [{ key: 'id', value: 1234567890123456789n }] });
    // a field that is a number (not an attribute) is checked as one
    const bad = await post(url, '{"kind":"span","name":"s","duration_ms":12345678901234567890}');
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].reason).toMatch(/^duration_ms: /);
  });

  it('maps the product example span field by field', async () => {
    const { sink, url } = await start();
    const res = await post(
      url,
      JSON.stringify({
        kind: 'span', name: 'chat', service: 'support-bot', timestamp: '2026-11-23T10:00:00Z', duration_ms: 1234.5, status: 'ok',
        attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200, ratio: 0.5, tags: ['a', 1], obj: { k: true } },
      }),
    );
    expect(res).toMatchObject({ status: 200, json: { accepted: 1, rejected: 0, errors: [] } });
    const rs = sink.batches[0]!.resourceSpans![0]!;
    expect(rs.resource.attributes).toEqual([{ key: 'service.name', value: 'support-bot' }]);
    const span = rs.scopeSpans[0]!.spans[0]!;
    const t0 = BigInt(Date.parse('2026-11-23T10:00:00Z')) * 1_000_000n;
    expect(span).toMatchObject({ name: 'chat', kind: 1, startTimeUnixNano: t0, endTimeUnixNano: t0 + 1_234_500_000n, status: { code: 1, message: '' } });
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.attributes).toEqual([
      { key: 'gen_ai.request.model', value: 'gpt-4o' },
      { key: 'gen_ai.usage.input_tokens', value: 1000n },
      { key: 'gen_ai.usage.output_tokens', value: 200n },
      { key: 'ratio', value: 0.5 },
      { key: 'tags', value: ['a', 1n] },
      { key: 'obj', value: { kvlist: [{ key: 'k', value: true }] } },
    ]);
  });

  it('takes NDJSON (by content type and by detection), metrics and logs, with sub-millisecond timestamps', async () => {
    const { sink, url } = await start();
    const ndjson = fs.readFileSync(new URL('./testdata/events.ndjson', import.meta.url), 'utf8');
    for (const ct of ['application/x-ndjson', 'application/json']) {
      const res = await post(url, ndjson, { 'content-type': ct });
      expect(res).toMatchObject({ status: 200, json: { accepted: 4, rejected: 0 } });
    }
    expect(sink.spans).toHaveLength(2);
    expect(sink.spans[0]!.startTimeUnixNano % 1_000_000_000n).toBe(123_456_789n);
    const metrics = sink.metrics.slice(0, 2);
    expect(metrics[0]).toMatchObject({ name: 'response_time_ms', unit: 'ms', data: { type: 'histogram', dataPoints: [{ count: 1, sum: 812.5, min: 812.5, max: 812.5, timeUnixNano: 1795428000000n * 1_000_000n }] } });
    expect(metrics[1]).toMatchObject({ name: 'cache_hits', data: { type: 'sum', isMonotonic: true, dataPoints: [{ value: 3 }] } });
    expect(sink.logRecords[0]).toMatchObject({ severityText: 'warn', severityNumber: 13, body: 'retrying after 429', attributes: [{ key: 'attempt', value: 2n }] });
  });

  it('rejects bad events one by one with index and reason, keeping the good ones', async () => {
    const { sink, url } = await start();
    const res = await post(
      url,
      JSON.stringify([
        { kind: 'span', name: 'ok' },
        { kind: 'trace', name: 'x' },
        { kind: 'metric', name: 'm' },
        { kind: 'span', name: 'x', timestamp: 'yesterday' },
        { kind: 'span', name: 'x', duration_ms: '5' },
        { kind: 'log', body: 'fine', colour: 'red' },
        'not an object',
        { kind: 'log', body: { nested: [1, 2] } },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      accepted: 2,
      rejected: 6,
      errors: [
        { index: 1, reason: 'kind: expected "span", "metric" or "log", got "trace"' },
        { index: 2, reason: 'missing required field "value"' },
        { index: 3, reason: 'timestamp: expected an RFC 3339 date-time or Unix milliseconds' },
        { index: 4, reason: 'duration_ms: expected number' },
        { index: 5, reason: 'unknown field "colour"' },
        { index: 6, reason: 'expected an event object' },
      ],
    });
    expect(sink.spans.map((s) => s.name)).toEqual(['ok']);
    expect(sink.logRecords[0]!.body).toEqual({ kvlist: [{ key: 'nested', value: [1n, 2n] }] });
  });

  it('answers 400 when every event fails, or the body is not JSON', async () => {
    const { sink, url } = await start();
    expect(await post(url, JSON.stringify([{ kind: 'nope' }]))).toMatchObject({ status: 400, json: { accepted: 0, rejected: 1 } });
    expect(await post(url, '{"kind": "span",')).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^invalid JSON/) } });
    expect(await post(url, '[]')).toMatchObject({ status: 400, json: { error: expect.stringMatching(/no events/) } });
    const nd = await post(url, '{"kind":"log","body":"a"}\n{oops\n', { 'content-type': 'application/x-ndjson' });
    expect(nd).toMatchObject({ status: 200, json: { accepted: 1, rejected: 1, errors: [{ index: 1, reason: expect.stringMatching(/^invalid JSON/) }] } });
    expect(sink.logRecords).toHaveLength(1);
  });

  it('shares the intake rules: gzip, size limit, auth, 404/405/415, overload 503 with Retry-After', async () => {
    const { sink, url, r } = await start({ max_request_body_size: 2000, auth: { bearer_token: 's3cret' } });
    const auth = { 'content-type': 'application/json', authorization: 'Bearer s3cret' };
    const event = JSON.stringify({ kind: 'log', body: 'zipped' });
    expect((await post(url, event)).status).toBe(401);
    expect((await post(url, zlib.gzipSync(event), { ...auth, 'content-encoding': 'gzip' })).status).toBe(200);
    expect(sink.logRecords[0]!.body).toBe('zipped');
    expect(await post(url, JSON.stringify({ kind: 'log', body: 'x'.repeat(5000) }), auth)).toMatchObject({ status: 413, json: { error: expect.stringMatching(/max_request_body_size/) } });
    expect((await post(url, zlib.gzipSync(Buffer.alloc(100_000, 32)), { ...auth, 'content-encoding': 'gzip' })).status).toBe(413);
    const xml = await post(url, event, { ...auth, 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    // every accepted type named, the empty one (no header) in words, never a dangling "or "
    expect(xml.json.error).toBe('unsupported Content-Type "application/xml": use application/json or application/x-ndjson or application/ndjson or application/jsonl or application/x-jsonlines or text/plain or no Content-Type at all');
    expect((await post(`http://${r.address}/v1/other`, event, auth)).status).toBe(404);
    expect((await request(url, { method: 'GET', headers: auth })).statusCode).toBe(405);
    sink.fail = retryableError('queue full', 3000);
    const busy = await post(url, event, auth);
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('3');
  });
});
