/**
 * Requests of many tiny items (empty spans, scopes, resources, events, links, attributes, array values, log
 * records, metrics, data points: two bytes each in protobuf) cost the decoder and the processors about a
 * microsecond an item whatever the item holds: 4 MiB of them held the event loop, /healthz and every other
 * client, for seconds. They are refused whole with 413 / RESOURCE_EXHAUSTED naming `max_request_items` and
 * the first item beyond it, and the decoder stops there; a request at the limit is taken. Over HTTP
 * (protobuf and OTLP/JSON) and gRPC, for the three signals; and the http_json receiver's events.
 */
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { httpJsonReceiverFactory } from '../receivers/http_json/index.ts';
import type { HttpJsonReceiver } from '../receivers/http_json/http-json-receiver.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { DEFAULT_MAX_REQUEST_ITEMS, DEFAULT_MAX_REQUEST_VALUES } from '../src/limits.ts';
import type { OtlpSignal } from '../src/otlp/json.ts';
import { decodeRpcStatus } from '../src/otlp/proto.ts';
import { minimalSpan, repeat, varint } from './helpers/amplifying-requests.ts';
import { SinkConsumer, closeClientConnections, configFor, testSettings } from './helpers/index.ts';

const running: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function otlp(raw: Record<string, unknown> = {}) {
  const sink = new SinkConsumer();
  const r = otlpReceiverFactory.create(
    testSettings('receiver', 'otlp', { emit: sink }),
    configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } }, ...raw }),
  ) as OtlpReceiver;
  await r.start();
  running.push(r);
  return { r, sink, base: `http://${r.httpAddress}` };
}

async function post(url: string, body: string | Buffer, contentType: string) {
  const res = await request(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, text: bytes.toString('utf8') };
}

function grpcExport(address: string, signal: OtlpSignal, body: Buffer) {
  const svc = { traces: 'trace.v1.TraceService', metrics: 'metrics.v1.MetricsService', logs: 'logs.v1.LogsService' }[signal];
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  return new Promise<grpc.ServiceError | null>((resolve) => {
    client.makeUnaryRequest(`/opentelemetry.proto.collector.${svc}/Export`, (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

/** A length-delimited field `f` holding `b`. */
const L = (f: number, b: Buffer) => Buffer.concat([Buffer.from([...varint((f << 3) | 2), ...varint(b.length)]), b]);
const E = Buffer.alloc(0);
const span = minimalSpan(1, 0);
const inSpan = (b: Buffer) => L(1, L(2, L(2, Buffer.concat([span, b]))));
const key = L(1, Buffer.from('k'));

/**
 * Requests of `n` empty items of each shape, inside `containers` more (the resource, scope, span, attribute or
 * metric that holds them, each an item too); `first(i)`: the path of the `i`-th item of the shape.
 */
const SHAPES: Record<string, { signal: OtlpSignal; containers: number; items: (n: number) => Buffer; first: (i: number) => string }> = {
  'empty spans': { signal: 'traces', items: (n) => L(1, L(2, repeat(L(2, E), n))), containers: 2, first: (i) => `resource_spans[0].scope_spans[0].spans[${i}]` },
  'empty scope_spans': { signal: 'traces', items: (n) => L(1, repeat(L(2, E), n)), containers: 1, first: (i) => `resource_spans[0].scope_spans[${i}]` },
  'empty resource_spans': { signal: 'traces', items: (n) => repeat(L(1, E), n), containers: 0, first: (i) => `resource_spans[${i}]` },
  'empty span events': { signal: 'traces', items: (n) => inSpan(repeat(L(11, E), n)), containers: 3, first: (i) => `resource_spans[0].scope_spans[0].spans[0].events[${i}]` },
  'empty span links': { signal: 'traces', items: (n) => inSpan(repeat(L(13, E), n)), containers: 3, first: (i) => `resource_spans[0].scope_spans[0].spans[0].links[${i}]` },
  'empty span attributes': { signal: 'traces', items: (n) => inSpan(repeat(L(9, E), n)), containers: 3, first: (i) => `resource_spans[0].scope_spans[0].spans[0].attributes[${i}]` },
  'empty resource attributes': { signal: 'traces', items: (n) => L(1, L(1, repeat(L(1, E), n))), containers: 1, first: (i) => `resource_spans[0].resource.attributes[${i}]` },
  'values of one array attribute': {
    signal: 'traces',
    items: (n) => inSpan(L(9, Buffer.concat([key, L(2, L(5, repeat(L(1, E), n)))]))),
    containers: 4, first: (i) => `resource_spans[0].scope_spans[0].spans[0].attributes[0].value.array_value.values[${i}]`,
  },
  'key-values of one kvlist attribute': {
    signal: 'traces',
    items: (n) => inSpan(L(9, Buffer.concat([key, L(2, L(6, repeat(L(1, E), n)))]))),
    containers: 4, first: (i) => `resource_spans[0].scope_spans[0].spans[0].attributes[0].value.kvlist_value.values[${i}]`,
  },
  'empty log records': { signal: 'logs', items: (n) => L(1, L(2, repeat(L(2, E), n))), containers: 2, first: (i) => `resource_logs[0].scope_logs[0].log_records[${i}]` },
  'empty resource_logs': { signal: 'logs', items: (n) => repeat(L(1, E), n), containers: 0, first: (i) => `resource_logs[${i}]` },
  'empty metrics': { signal: 'metrics', items: (n) => L(1, L(2, repeat(L(2, E), n))), containers: 2, first: (i) => `resource_metrics[0].scope_metrics[0].metrics[${i}]` },
  'empty gauge data points': {
    signal: 'metrics',
    items: (n) => L(1, L(2, L(2, Buffer.concat([L(1, Buffer.from('m')), L(5, repeat(L(1, E), n))])))),
    containers: 3, first: (i) => `resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[${i}]`,
  },
};

const LIMIT = 100;

describe('OTLP/protobuf: a request of more items than max_request_items is refused whole, naming the limit and the item', () => {
  it.each(Object.keys(SHAPES))('%s: 413 over HTTP and RESOURCE_EXHAUSTED over gRPC past the limit, taken at it', async (shape) => {
    const { signal, containers, items, first } = SHAPES[shape]!;
    const { r, sink, base } = await otlp({ max_request_items: LIMIT });
    const over = items(LIMIT + 1 - containers);
    const res = await post(`${base}/v1/${signal}`, over, 'application/x-protobuf');
    expect(res.status).toBe(413);
    expect(res.headers['retry-after']).toBeUndefined();
    const status = decodeRpcStatus(res.bytes);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.message).toBe(`the request holds more than ${LIMIT} items (max_request_items; the first beyond it is ${first(LIMIT - containers)}): send them in smaller requests`);
    const err = await grpcExport(r.grpcAddress, signal, over);
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err?.details).toBe(status.message);
    expect(sink.batches).toHaveLength(0);
    // at the limit: decoded and handed on (empty items may be rejected by validation, never refused whole)
    const at = await post(`${base}/v1/${signal}`, items(LIMIT - containers), 'application/x-protobuf');
    expect(at.status).toBe(200);
  });

  it(`the default (${DEFAULT_MAX_REQUEST_ITEMS}) refuses 4 MiB of empty spans (two million) before decoding them, and takes 80,000 valid spans`, async () => {
    const { sink, base } = await otlp();
    const empty = L(1, L(2, repeat(L(2, E), 2 * 1024 * 1024 - 8)));
    const res = await post(`${base}/v1/traces`, empty, 'application/x-protobuf');
    expect(res.status).toBe(413);
    expect(decodeRpcStatus(res.bytes).message).toContain(`more than ${DEFAULT_MAX_REQUEST_ITEMS} items (max_request_items; the first beyond it is resource_spans[0].scope_spans[0].spans[${DEFAULT_MAX_REQUEST_ITEMS - 2}])`);
    expect(sink.batches).toHaveLength(0);
    // the densest request of valid spans that fits the default 4 MiB body: far under the default
    const valid = L(1, L(2, Buffer.concat(Array.from({ length: 80_000 }, (_, i) => L(2, minimalSpan(2, i))))));
    expect(valid.length).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect((await post(`${base}/v1/traces`, valid, 'application/x-protobuf')).status).toBe(200);
    expect(sink.spans).toHaveLength(80_000);
  });
});

describe('OTLP/JSON: objects that are array elements are the items, counted before the text is parsed', () => {
  const spans = (n: number) => `{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(n).fill('{}').join(',')}]}]}]}`;
  it('past the limit: 413 with the limit named; at it: taken (the empty spans rejected through partial success)', async () => {
    const { sink, base } = await otlp({ max_request_items: LIMIT });
    // LIMIT - 1 spans + their scope and resource: LIMIT + 1 items
    const res = await post(`${base}/v1/traces`, spans(LIMIT - 1), 'application/json');
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, message: `the request holds more than ${LIMIT} items (max_request_items): send them in smaller requests` });
    expect(sink.batches).toHaveLength(0);
    const at = await post(`${base}/v1/traces`, spans(LIMIT - 2), 'application/json');
    expect(at.status).toBe(200);
    expect(JSON.parse(at.text).partialSuccess.rejectedSpans).toBe(String(LIMIT - 2));
  });

  it('counts neither braces inside strings nor objects that are values of a key', async () => {
    const { sink, base } = await otlp({ max_request_items: 3 });
    const body = `{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"[{,{,{,{"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x\\",{","status":{}}]}]}]}`;
    const res = await post(`${base}/v1/traces`, body, 'application/json');
    expect(res.status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });
});

describe('http_json: more JSON values than max_request_items are refused before they are parsed', () => {
  async function events(raw: Record<string, unknown> = {}) {
    const sink = new SinkConsumer();
    const r = httpJsonReceiverFactory.create(testSettings('receiver', 'http_json', { emit: sink }), configFor(httpJsonReceiverFactory, { endpoint: '127.0.0.1:0', ...raw })) as HttpJsonReceiver;
    await r.start();
    running.push(r);
    return { sink, url: `http://${r.address}/v1/events` };
  }
  // 9 values inside (5 members, 2 attributes, 2 array elements; commas and brackets in a string count nothing)
  // plus itself: 10 as an element of an array or as an NDJSON line
  const ev = '{"kind":"span","name":"chat","service":"bot","duration_ms":5,"attributes":{"a":[1,2],"b":"x,[{y"}}';
  const withAttributes = (n: number) => JSON.stringify({ kind: 'span', name: 'p', service: 'bot', duration_ms: 1, attributes: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) }, null, 2);
  const withArray = (n: number) => `{"kind":"span","name":"p","service":"bot","duration_ms":1,"attributes":{"a":[${Array(n).fill(1).join(',')}]}}`;
  it.each([
    // the array itself, and 10 an event
    ['a JSON array of 10 events', `[${Array(10).fill(ev).join(',')}]`, 'application/json'],
    ['NDJSON of 11 events', Array(11).fill(ev).join('\n') + '\n', 'application/x-ndjson'],
    ['NDJSON of 101 unparsable lines', Array(101).fill('x').join('\n'), 'application/x-ndjson'],
    ['one event of 95 attributes', withAttributes(95), 'application/json'],
    ['one event whose attribute is an array of 94 elements', withArray(94), 'application/json'],
  ])('%s: 413 naming the limit', async (_what, body, ct) => {
    const { sink, url } = await events({ max_request_items: LIMIT });
    const res = await post(url, body, ct);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toEqual({ error: `the request holds more than ${LIMIT} JSON values (max_request_items): send them in smaller requests` });
    expect(sink.batches).toHaveLength(0);
  });
  it(`the default (${DEFAULT_MAX_REQUEST_VALUES}) takes a 4 MiB body of ordinary events and refuses one of bare values past it`, async () => {
    const { sink, url } = await events();
    // the contract's example event (docs/product.md), as many as fit the default 4 MiB body
    const example = JSON.stringify({ kind: 'span', name: 'chat', service: 'support-bot', timestamp: '2026-11-23T10:00:00Z', duration_ms: 1234.5, status: 'ok', attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 } });
    const n = Math.floor((4 * 1024 * 1024 - 2) / (example.length + 1));
    const full = `[${Array(n).fill(example).join(',')}]`;
    expect(full.length).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect((await post(url, full, 'application/json')).status).toBe(200);
    expect(sink.spans).toHaveLength(n);
    const bare = withArray(DEFAULT_MAX_REQUEST_VALUES);
    expect(bare.length).toBeLessThan(4 * 1024 * 1024);
    expect((await post(url, bare, 'application/json')).status).toBe(413);
    expect(sink.spans).toHaveLength(n);
  });

  it('at the limit, and a pretty-printed event (its lines are not counted): taken', async () => {
    const { sink, url } = await events({ max_request_items: LIMIT });
    expect((await post(url, `[${Array(9).fill(ev).join(',')}]`, 'application/json')).status).toBe(200);
    expect((await post(url, Array(10).fill(ev).join('\n'), 'application/x-ndjson')).status).toBe(200);
    expect((await post(url, withAttributes(94), 'application/json')).status).toBe(200);
    expect((await post(url, withArray(93), 'application/json')).status).toBe(200);
    expect(sink.spans).toHaveLength(21);
  });
});
