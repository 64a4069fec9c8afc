/**
 * Hostile input gets a permanent 400 (gRPC INVALID_ARGUMENT) with a message naming what and where, never a
 * 500 or a retryable status: nesting past the depth limit, numbers out of range (durations, timestamps,
 * token counts, non-finite values), and a downstream failure that the same data would cause again. One bad
 * item does not break the others of its request.
 */
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { httpJsonReceiverFactory } from '../receivers/http_json/index.ts';
import type { HttpJsonReceiver } from '../receivers/http_json/http-json-receiver.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import type { AnyValue, Batch } from '../src/model.ts';
import { MAX_ANY_VALUE_DEPTH, parseOtlpJson, toOtlpJson } from '../src/otlp/json.ts';
import { type DecodeChecks, decodeEncoded, decodeExportRequest, decodeExportResponse, decodeRpcStatus, encodeExportRequest } from '../src/otlp/proto.ts';
import { SinkConsumer, closeClientConnections, configFor, testSettings } from './helpers/index.ts';

const running: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((r) => r.shutdown()));
});

async function otlp(sink = new SinkConsumer()) {
  const r = otlpReceiverFactory.create(
    testSettings('receiver', 'otlp', { emit: sink }),
    configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } }),
  ) as OtlpReceiver;
  await r.start();
  running.push(r);
  return { r, sink, url: `http://${r.httpAddress}/v1/traces` };
}

async function events() {
  const sink = new SinkConsumer();
  const r = httpJsonReceiverFactory.create(testSettings('receiver', 'http_json', { emit: sink }), configFor(httpJsonReceiverFactory, { endpoint: '127.0.0.1:0' })) as HttpJsonReceiver;
  await r.start();
  running.push(r);
  return { sink, url: `http://${r.address}/v1/events` };
}

async function post(url: string, body: string | Buffer, contentType = 'application/json') {
  const res = await request(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

const nest = (depth: number, open: string, close: string, inner: string) => open.repeat(depth) + inner + close.repeat(depth);
const kvlist = (depth: number) => nest(depth, '{"kvlistValue":{"values":[{"key":"k","value":', '}]}}', '{"stringValue":"x"}');
const arrays = (depth: number) => nest(depth, '{"arrayValue":{"values":[', ']}}', '{"stringValue":"x"}');
const TRACE = (attrValue: string, name = 'op') =>
  `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"${name}","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"nested","value":${attrValue}}]}]}]}]}`;

describe('OTLP receiver: hostile bodies', () => {
  it.each([
    ['key-value lists nested 2,000 deep', kvlist(2000)],
    ['arrays nested 100,000 deep', arrays(100_000)],
    [`key-value lists nested ${MAX_ANY_VALUE_DEPTH + 1} deep`, kvlist(MAX_ANY_VALUE_DEPTH)],
  ])('answers 400 to attribute values %s, naming the path', async (_what, value) => {
    const { url, sink } = await otlp();
    const res = await post(url, TRACE(value));
    expect(res.status).toBe(400);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(res.text)).toMatchObject({ code: 3 });
    expect(res.text).toContain('resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.');
    expect(res.text).toContain(`attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
    expect(sink.batches).toHaveLength(0);
  });

  it(`accepts attribute values nested ${MAX_ANY_VALUE_DEPTH} deep`, async () => {
    const { url, sink } = await otlp();
    const res = await post(url, TRACE(kvlist(MAX_ANY_VALUE_DEPTH - 1)));
    expect(res.status).toBe(200);
    expect(sink.spans).toHaveLength(1);
  });

  it('answers 400 (not 503 for ever) when the pipeline fails on the data itself, over HTTP and gRPC', async () => {
    const { r, url, sink } = await otlp();
    sink.fail = new RangeError('Maximum call stack size exceeded');
    const res = await post(url, TRACE('{"stringValue":"x"}'));
    expect(res.status).toBe(400);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.text).toContain('data cannot be processed: Maximum call stack size exceeded');
    const body = encodeExportRequest(parseOtlpJson('traces', TRACE('{"stringValue":"x"}')), 'traces');
    const client = new grpc.Client(r.grpcAddress, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), (e) => resolve(e)),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe('data cannot be processed: Maximum call stack size exceeded');
  });

  it('rejects spans whose token counts are out of range through partial success and keeps the rest', async () => {
    const { url, sink } = await otlp();
    const span = (name: string, tokens: string) =>
      `{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"${name === 'good' ? 'eee19b7ec3c1b174' : 'eee19b7ec3c1b175'}","name":"${name}","attributes":[{"key":"gen_ai.usage.input_tokens","value":${tokens}}]}`;
    const res = await post(url, `{"resourceSpans":[{"scopeSpans":[{"spans":[${span('good', '{"intValue":"12"}')},${span('bad', '{"intValue":"-5"}')}]}]}]}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      partialSuccess: {
        rejectedSpans: '1',
        errorMessage: '1 spans with a token count out of range (first: gen_ai.usage.input_tokens: expected a whole number of tokens from 0 to 1000000000, got -5) were rejected',
      },
    });
    expect(sink.spans.map((s) => s.name)).toEqual(['good']);
  });
});

describe('JSON bodies that start with a byte order mark (RFC 8259 section 8.1: a parser may ignore it)', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  it('OTLP/JSON: the span is taken as without the mark', async () => {
    const { url, sink } = await otlp();
    const res = await post(url, Buffer.concat([BOM, Buffer.from(TRACE('{"stringValue":"x"}'))]));
    expect(res.status).toBe(200);
    expect(sink.spans.map((s) => s.name)).toEqual(['op']);
  });
  it('http_json: the event is taken as without the mark', async () => {
    const { url, sink } = await events();
    const res = await post(url, Buffer.concat([BOM, Buffer.from('{"kind":"span","name":"chat","service":"bot","duration_ms":5}')]));
    expect(res.status).toBe(200);
    expect(sink.spans.map((s) => s.name)).toEqual(['chat']);
  });
  it('a mark anywhere else is still invalid JSON', async () => {
    const { url } = await otlp();
    const res = await post(url, `{} \ufeff`);
    expect(res.status).toBe(400);
  });
});

describe('OTLP receiver: attribute nesting in protobuf, the same limit as OTLP/JSON', () => {
  // `levels` AnyValues one inside the other, counted as OTLP/JSON counts them (the scalar at the bottom is
  // one): arrays, key-value lists, or key-value lists around an array of strings (the decoder's and the
  // scan's fast path for gen_ai.response.finish_reasons).
  const shapes: Record<string, (levels: number) => AnyValue> = {
    arrays: (levels) => {
      let v: AnyValue = 'x';
      for (let i = 1; i < levels; i++) v = [v];
      return v;
    },
    'key-value lists': (levels) => {
      let v: AnyValue = 'x';
      for (let i = 1; i < levels; i++) v = { kvlist: [{ key: 'k', value: v }] };
      return v;
    },
    'key-value lists around an array of strings': (levels) => {
      let v: AnyValue = ['stop', 'length'];
      for (let i = 2; i < levels; i++) v = { kvlist: [{ key: 'k', value: v }] };
      return v;
    },
  };
  const traceWith = (value: AnyValue): Batch => {
    const batch = parseOtlpJson('traces', TRACE('{"stringValue":"x"}'));
    batch.resourceSpans![0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value = value;
    return batch;
  };
  const logWith = (body: AnyValue): Batch => {
    const batch = parseOtlpJson('logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1"}]}]}]}');
    batch.resourceLogs![0]!.scopeLogs[0]!.logRecords[0]!.body = body;
    return batch;
  };
  // the receiver decoding every request, and handing on the bytes of those its scan passes (pass-through)
  const sinks = { decoding: () => new SinkConsumer(), 'pass-through': () => Object.assign(new SinkConsumer(), { acceptsEncoded: true }) };

  describe.each(Object.entries(sinks))('%s', (_how, makeSink) => {
    it.each(Object.entries(shapes))(`takes %s ${MAX_ANY_VALUE_DEPTH} levels deep, which OTLP/JSON takes too`, async (_shape, deep) => {
      const { r, sink } = await otlp(makeSink());
      for (const [signal, batch] of [['traces', traceWith(deep(MAX_ANY_VALUE_DEPTH))], ['logs', logWith(deep(MAX_ANY_VALUE_DEPTH))]] as const) {
        const res = await request(`http://${r.httpAddress}/v1/${signal}`, { method: 'POST', body: Buffer.from(encodeExportRequest(batch, signal)), headers: { 'content-type': 'application/x-protobuf' } });
        await res.body.arrayBuffer();
        expect(res.statusCode).toBe(200);
        // what was taken can be forwarded as OTLP/JSON (an otlp exporter with protocol http/json)
        const taken = sink.batches.at(-1)!;
        const received = taken.encoded ? decodeEncoded(taken) : taken;
        expect(parseOtlpJson(signal, JSON.stringify(toOtlpJson(received, signal)))).toEqual(received);
      }
    });

    it.each(Object.entries(shapes))(`refuses %s ${MAX_ANY_VALUE_DEPTH + 1} levels deep with 400 / INVALID_ARGUMENT, as OTLP/JSON does`, async (_shape, deep) => {
      const { r, sink } = await otlp(makeSink());
      const json = JSON.stringify(toOtlpJson(traceWith(deep(MAX_ANY_VALUE_DEPTH + 1)), 'traces'));
      expect(() => parseOtlpJson('traces', json)).toThrow(`attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
      for (const [signal, batch, where] of [
        ['traces', traceWith(deep(MAX_ANY_VALUE_DEPTH + 1)), 'resource_spans[0].scope_spans[0].spans[0].attributes[0].value.'],
        ['logs', logWith(deep(MAX_ANY_VALUE_DEPTH + 1)), 'resource_logs[0].scope_logs[0].log_records[0].body.'],
      ] as const) {
        const body = Buffer.from(encodeExportRequest(batch, signal));
        const res = await request(`http://${r.httpAddress}/v1/${signal}`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
        expect(res.statusCode).toBe(400);
        const { code, message } = decodeRpcStatus(Buffer.from(await res.body.arrayBuffer()));
        expect(code).toBe(3);
        expect(message).toContain(where);
        expect(message).toContain(`attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
        const svc = signal === 'traces' ? 'trace.v1.TraceService' : 'logs.v1.LogsService';
        const client = new grpc.Client(r.grpcAddress, grpc.credentials.createInsecure());
        const err = await new Promise<grpc.ServiceError | null>((resolve) =>
          client.makeUnaryRequest(`/opentelemetry.proto.collector.${svc}/Export`, (b: Buffer) => b, (b: Buffer) => b, body, new grpc.Metadata(), (e) => resolve(e)),
        );
        client.close();
        expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err?.details).toContain(`attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
      }
      expect(sink.batches).toHaveLength(0);
    });
  });
});

describe('OTLP receiver: token counts out of range in protobuf', () => {
  // Each shape takes another path of the decoder: a negative int64 (10-byte varint: the general KeyValue
  // loop), an int64 past the range (the one-scalar fast path), a double with a fraction, a numeric string,
  // the OpenInference and OpenLLMetry keys. The decoder tells the receiver whether any token count is out
  // of range; a shape it missed would let its span through.
  const bad: [string, string, string][] = [
    ['negative', 'gen_ai.usage.input_tokens', '{"intValue":"-5"}'],
    ['past the range', 'gen_ai.usage.output_tokens', '{"intValue":"2000000000"}'],
    ['a fraction', 'llm.token_count.prompt', '{"doubleValue":1.5}'],
    ['a negative string', 'llm.usage.total_tokens', '{"stringValue":"-3"}'],
    ['a decimal string', 'gen_ai.usage.input_tokens', '{"stringValue":"2.5"}'],
  ];
  const span = (name: string, i: number, attrs: string) =>
    `{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b1${String(i).padStart(2, '0')}","name":"${name}","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[${attrs}]}`;
  const good = `{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},{"key":"gen_ai.usage.output_tokens","value":{"stringValue":"7"}},{"key":"gen_ai.request.temperature","value":{"doubleValue":0.7}},{"key":"big","value":{"intValue":"5000000000"}}`;
  const traceJson = (spans: string[]) => `{"resourceSpans":[{"scopeSpans":[{"spans":[${spans.join(',')}]}]}]}`;

  it.each(bad)('rejects a span whose token count is %s and keeps the rest', async (_what, key, value) => {
    const { url, sink } = await otlp();
    const body = encodeExportRequest(parseOtlpJson('traces', traceJson([span('good', 1, good), span('bad', 2, `{"key":"${key}","value":${value}}`)])), 'traces');
    const res = await request(url, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'application/x-protobuf' } });
    expect(res.statusCode).toBe(200);
    const partial = decodeExportResponse(Buffer.from(await res.body.arrayBuffer()));
    expect(partial.rejected).toBe(1);
    expect(partial.errorMessage).toContain(`spans with a token count out of range (first: ${key}: expected a whole number of tokens`);
    expect(sink.spans.map((s) => s.name)).toEqual(['good']);
  });

  it('the decoder says whether any token count is out of range, at any depth', () => {
    const decode = (attrs: string) => {
      const checks: DecodeChecks = { tokenCountSuspect: true };
      decodeExportRequest('traces', encodeExportRequest(parseOtlpJson('traces', traceJson([span('s', 1, attrs)])), 'traces'), checks);
      return checks.tokenCountSuspect;
    };
    expect(decode(good)).toBe(false);
    for (const [, key, value] of bad) expect(decode(`{"key":"${key}","value":${value}}`)).toBe(true);
    // inside a kvlist too (the receiver then checks each span itself)
    expect(decode(`{"key":"outer","value":{"kvlistValue":{"values":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"-1"}}]}}}`)).toBe(true);
    expect(decode(`{"key":"outer","value":{"kvlistValue":{"values":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"1"}}]}}}`)).toBe(false);
  });
});

describe('token counts are int: every intake path says the same of 12.5 and 12.0', () => {
  // OTel GenAI semantic conventions define token counts as int: an integral double is a count, a fraction is refused
  const trace = (value: string) =>
    `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b101","name":"chat","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},{"key":"gen_ai.usage.input_tokens","value":${value}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":"3"}}]}]}]}]}`;
  const reason = 'gen_ai.usage.input_tokens: expected a whole number of tokens from 0 to 1000000000, got 12.5';
  const input = (sink: SinkConsumer) => sink.spans.map((s) => Number(s.attributes.find((a) => a.key === 'gen_ai.usage.input_tokens')!.value));

  it('OTLP protobuf and OTLP/JSON', async () => {
    for (const contentType of ['application/x-protobuf', 'application/json']) {
      for (const [value, taken] of [['{"doubleValue":12.5}', false], ['{"doubleValue":12.0}', true], ['{"stringValue":"12.5"}', false]] as const) {
        const { url, sink } = await otlp();
        const json = trace(value);
        const body = contentType === 'application/json' ? json : Buffer.from(encodeExportRequest(parseOtlpJson('traces', json), 'traces'));
        const res = await request(url, { method: 'POST', body, headers: { 'content-type': contentType } });
        expect(res.statusCode).toBe(200);
        const raw = Buffer.from(await res.body.arrayBuffer());
        const partial = contentType === 'application/json' ? (JSON.parse(raw.toString() || '{}') as { partialSuccess?: { errorMessage?: string } }).partialSuccess : decodeExportResponse(raw);
        if (taken) expect(input(sink), `${contentType} ${value}`).toEqual([12]);
        else {
          expect(sink.spans, `${contentType} ${value}`).toHaveLength(0);
          expect(partial?.errorMessage).toContain(reason);
        }
      }
    }
  });

  it('http_json', async () => {
    for (const [value, taken] of [[12.5, false], [12.0, true], ['12.5', false]] as const) {
      const { url, sink } = await events();
      const res = await post(url, JSON.stringify({ kind: 'span', name: 'chat', duration_ms: 5, attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': value, 'gen_ai.usage.output_tokens': 3 } }));
      if (taken) {
        expect(res.status).toBe(200);
        expect(input(sink)).toEqual([12]);
      } else {
        expect(res.status, String(value)).toBe(400);
        expect(res.text).toContain(`attributes.${reason}`);
      }
    }
  });
});

describe('http_json receiver: numbers out of range and hostile nesting', () => {
  const span = (extra: Record<string, unknown>) => ({ kind: 'span', name: 'chat', duration_ms: 5, ...extra });
  it.each([
    ['duration_ms 1e308', span({ duration_ms: 1e308 }), 'duration_ms: expected a number <= 31536000000'],
    ['duration_ms 1e300', span({ duration_ms: 1e300 }), 'duration_ms: expected a number <= 31536000000'],
    ['duration_ms -1', span({ duration_ms: -1 }), 'duration_ms: expected a number >= 0'],
    ['a timestamp past 2554', span({ timestamp: 1e300 }), 'timestamp: expected'],
    ['a span ending past 2554', span({ timestamp: 18446744073000, duration_ms: 10_000_000 }), 'duration_ms: the span would end after 2554-07-21'],
    ['a negative token count', span({ attributes: { 'gen_ai.usage.input_tokens': -5 } }), 'attributes.gen_ai.usage.input_tokens: expected a whole number of tokens from 0 to 1000000000, got -5'],
    ['a token count of 1e30', span({ attributes: { 'gen_ai.usage.output_tokens': 1e30 } }), 'attributes.gen_ai.usage.output_tokens: expected a whole number of tokens'],
    ['attributes nested 5,000 deep', '@DEEP@', `attributes.a: value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`],
    ['a counter of -2', { kind: 'metric', name: 'hits', metric_type: 'counter', value: -2 }, 'value: a counter only counts up: expected a number >= 0, got -2 (send metric_type "gauge" for a value that goes down)'],
    ['a log severity of 25', { kind: 'log', severity: 25 }, 'severity: expected a name (trace, debug, info, warn, error, fatal ...) or an integer from 0 to 24, got 25'],
    ['a log severity of 3.5', { kind: 'log', severity: 3.5 }, 'severity: expected a name (trace, debug, info, warn, error, fatal ...) or an integer from 0 to 24, got 3.5'],
    ['a log severity of true', { kind: 'log', severity: true }, 'or an integer from 0 to 24, got true'],
  ])('answers 400 to %s with the reason', async (_what, event, reason) => {
    const { url, sink } = await events();
    const body = event === '@DEEP@' ? `{"kind":"span","name":"x","attributes":{"a":${nest(5000, '{"a":', '}', '1')}}}` : JSON.stringify(event);
    const res = await post(url, body);
    expect(res.status).toBe(400);
    const json = JSON.parse(res.text) as { rejected: number; errors: { index: number; reason: string }[] };
    expect(json.rejected).toBe(1);
    expect(json.errors[0]!.reason).toContain(reason);
    expect(sink.batches).toHaveLength(0);
  });

  it(`counts nesting as OTLP/JSON does: ${MAX_ANY_VALUE_DEPTH} levels taken (and forwardable as OTLP/JSON), ${MAX_ANY_VALUE_DEPTH + 1} refused, a scalar or null at the bottom counting as one`, async () => {
    const { url, sink } = await events();
    const arrays = (levels: number, leaf: unknown) => {
      let v: unknown = leaf;
      for (let i = 1; i < levels; i++) v = [v];
      return v;
    };
    const objects = (levels: number, leaf: unknown) => {
      let v: unknown = leaf;
      for (let i = 1; i < levels; i++) v = { k: v };
      return v;
    };
    const ok = [
      { kind: 'log', name: 'arrays', attributes: { a: arrays(MAX_ANY_VALUE_DEPTH, 'x') } },
      { kind: 'log', name: 'objects', body: objects(MAX_ANY_VALUE_DEPTH, null) },
      // an empty array is no deeper than itself
      { kind: 'log', name: 'empty', attributes: { a: arrays(MAX_ANY_VALUE_DEPTH, []) } },
    ];
    const deep = [
      { kind: 'log', name: 'arrays', attributes: { a: arrays(MAX_ANY_VALUE_DEPTH + 1, 'x') } },
      { kind: 'span', name: 'objects', resource: { r: objects(MAX_ANY_VALUE_DEPTH + 1, 1) } },
      { kind: 'log', name: 'null', body: arrays(MAX_ANY_VALUE_DEPTH + 1, null) },
    ];
    const res = await post(url, JSON.stringify([...ok, ...deep]));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      accepted: 3,
      rejected: 3,
      errors: [
        { index: 3, reason: `attributes.a: value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels` },
        { index: 4, reason: `resource.r: value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels` },
        { index: 5, reason: `body: nested deeper than ${MAX_ANY_VALUE_DEPTH} levels` },
      ],
    });
    // what was taken, written as OTLP/JSON (an otlp exporter with protocol http/json), is taken by OTLP/JSON
    for (const batch of sink.batches) expect(parseOtlpJson('logs', JSON.stringify(toOtlpJson(batch, 'logs')))).toEqual({ resourceLogs: batch.resourceLogs });
    expect(sink.logRecords).toHaveLength(3);
  });

  it('answers 400 to a metric value that JSON turns into Infinity', async () => {
    const { url } = await events();
    const res = await post(url, '{"kind":"metric","name":"m","value":1e400}');
    expect(res.status).toBe(400);
    expect(res.text).toContain('value: expected a finite number, got Infinity');
  });

  it('keeps the good events of a request that holds a bad one', async () => {
    const { url, sink } = await events();
    const res = await post(url, JSON.stringify([span({ name: 'a' }), span({ duration_ms: 1e300 }), span({ name: 'b' })]));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ accepted: 2, rejected: 1, errors: [{ index: 1, reason: 'duration_ms: expected a number <= 31536000000' }] });
    expect(sink.spans.map((s) => s.name)).toEqual(['a', 'b']);
  });
});
