/**
 * Encoded pass-through: when every consumer downstream takes encoded batches, the receiver checks each
 * protobuf request with the validating scan and hands on its bytes undecoded. What arrives must decode to
 * exactly what a decoding receiver delivers for the same request, sent by the official exporters.
 */
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/component.ts';
import { type Batch, countItems, type Span } from '../../src/model.ts';
import { decodeEncoded, decodeExportRequest, decodeExportResponse, encodeExportRequest } from '../../src/otlp/proto.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from '../../test/helpers/index.ts';
import { attrs, resourceSpans, span } from '../../test/percentiles-helpers.ts';
import { otlpReceiverFactory } from './index.ts';
import type { OtlpReceiver } from './otlp-receiver.ts';

const running: { shutdown(): Promise<void> }[] = [];
afterEach(async () => {
  await closeClientConnections();
  await Promise.all(running.splice(0).map((c) => c.shutdown()));
});

/** Takes encoded batches; keeps a copy of the lent bytes (as the contract asks) and how each batch came. */
class EncodedSink implements Consumer {
  readonly acceptsEncoded = true;
  readonly kinds: ('encoded' | 'decoded')[] = [];
  readonly batches: Batch[] = [];
  async consume(batch: Batch): Promise<void> {
    this.kinds.push(batch.encoded ? 'encoded' : 'decoded');
    this.batches.push(batch.encoded ? { encoded: { ...batch.encoded, bytes: Uint8Array.from(batch.encoded.bytes) } } : batch);
  }
  decoded(): Batch[] {
    return this.batches.map(decodeEncoded);
  }
}

async function start(sink: Consumer): Promise<OtlpReceiver> {
  const config = configFor(otlpReceiverFactory, { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } });
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), config) as OtlpReceiver;
  await r.start({ reportFatal: () => undefined });
  running.push(r);
  return r;
}

async function post(address: string, path: string, body: Uint8Array | string, type: string) {
  const res = await request(`http://${address}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

const NOW_MS = 1_700_000_000_250;

/** A GenAI chat span named `name`. */
const chat = (name: string) => span(NOW_MS, 250, { name, attributes: attrs({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1200n }) });
const traces = (...spans: Span[]): Batch => ({ resourceSpans: [resourceSpans('bot', spans)] });

describe('otlp receiver, encoded pass-through', () => {
  it('hands on what the official exporters send undecoded, and it decodes to what a decoding receiver delivers', async () => {
    const encodedSink = new EncodedSink();
    const plainSink = new SinkConsumer();
    const a = await start(encodedSink);
    const b = await start(plainSink);
    for (const r of [a, b]) {
      const tp = new BasicTracerProvider({
        spanProcessors: [
          new SimpleSpanProcessor(new TraceProto({ url: `http://${r.httpAddress}/v1/traces` })),
          new SimpleSpanProcessor(new TraceGrpc({ url: `http://${r.grpcAddress}` })),
        ],
      });
      const tracer = tp.getTracer('pass-through', '1.0.0');
      const s = tracer.startSpan('chat gpt-4o', { attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1200, ratio: 0.5, ok: true, tags: ['a', 'b'] } });
      s.addEvent('first token', { at: 12 });
      s.end();
      await tp.forceFlush();
      await tp.shutdown();
      const lp = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: new LogsProto({ url: `http://${r.httpAddress}/v1/logs` }) })] });
      lp.getLogger('pass-through').emit({ body: 'hello', attributes: { 'user.id': 7 } });
      await lp.forceFlush();
      await lp.shutdown();
    }
    expect(encodedSink.kinds).toEqual(['encoded', 'encoded', 'encoded']);
    const decoded = encodedSink.decoded();
    expect(decoded.map((d) => countItems(d))).toEqual(encodedSink.batches.map((d) => countItems(d)));
    // Same spans and log records, field by field (the SDKs sent the same data to both receivers, ids aside).
    const strip = (bs: Batch[]) =>
      bs.map((x) => JSON.parse(JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? 'n' : k === 'traceId' || k === 'spanId' ? 'id' : v))) as unknown);
    expect(strip(decoded)).toEqual(strip(plainSink.batches));
  });

  it('decodes instead when the request has items the receiver rejects, or comes as JSON; malformed input still gets the decoder message', async () => {
    const sink = new EncodedSink();
    const r = await start(sink);
    // A span with an all-zero span id: partial success, and the good span goes on, decoded.
    const mixed = traces(chat('good'), { ...chat('bad'), spanId: '0000000000000000' });
    const res = await post(r.httpAddress, '/v1/traces', encodeExportRequest(mixed, 'traces'), 'application/x-protobuf');
    expect(res.status).toBe(200);
    expect(res.body.length).toBeGreaterThan(0); // partial_success
    expect(sink.kinds).toEqual(['decoded']);
    expect(sink.batches[0]!.resourceSpans![0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['good']);

    const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'j' }] }] }] });
    expect((await post(r.httpAddress, '/v1/traces', json, 'application/json')).status).toBe(200);
    expect(sink.kinds).toEqual(['decoded', 'decoded']);

    const good = encodeExportRequest(traces(chat('x')), 'traces');
    const truncated = good.subarray(0, good.length - 3);
    const bad = await post(r.httpAddress, '/v1/traces', truncated, 'application/x-protobuf');
    expect(bad.status).toBe(400);
    let message = '';
    try {
      decodeExportRequest('traces', truncated);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toBe('');
    expect(bad.body.toString('latin1')).toContain(message);
    expect(sink.kinds).toHaveLength(2);
  });

  it('decodes instead when a token count is out of range or written as a string, and hands on counts in range undecoded', async () => {
    const sink = new EncodedSink();
    const r = await start(sink);
    const withTokens = (name: string, key: string, value: bigint | number | string) => span(NOW_MS, 250, { name, attributes: attrs({ 'gen_ai.request.model': 'gpt-4o', [key]: value }) });
    // every shape of token count the receiver refuses, each beside a good span: partial success, the good span decoded
    const bad: [string, bigint | number | string][] = [
      ['gen_ai.usage.input_tokens', -5n],
      ['gen_ai.usage.output_tokens', 2_000_000_000n],
      ['llm.token_count.prompt', 1.5],
      ['llm.usage.total_tokens', -1],
      ['gen_ai.usage.input_tokens', '-3'],
    ];
    for (const [key, value] of bad) {
      const res = await post(r.httpAddress, '/v1/traces', encodeExportRequest(traces(chat('good'), withTokens('bad', key, value)), 'traces'), 'application/x-protobuf');
      expect(res.status).toBe(200);
      expect(decodeExportResponse(res.body).rejected, `${key}: ${value}`).toBe(1);
      const last = sink.batches.at(-1)!;
      expect(last.encoded, `${key}: ${value}`).toBeUndefined();
      expect(last.resourceSpans![0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual(['good']);
    }
    // in range, as an int64 or a whole double: passed on undecoded
    for (const [key, value] of [['gen_ai.usage.input_tokens', 1_000_000_000n], ['llm.token_count.completion', 42]] as const) {
      const res = await post(r.httpAddress, '/v1/traces', encodeExportRequest(traces(withTokens('ok', key, value)), 'traces'), 'application/x-protobuf');
      expect(res.status).toBe(200);
      expect(sink.kinds.at(-1), `${key}: ${value}`).toBe('encoded');
    }
  });

  it('lends the body only until the pipelines answer: copies taken in consume() stay intact as the buffer is reused', async () => {
    const sink = new EncodedSink();
    const r = await start(sink);
    // Large enough to arrive in several chunks, so that the body is joined in a pooled buffer.
    const bodies = [0, 1, 2, 3].map((k) =>
      encodeExportRequest(traces(...Array.from({ length: 600 }, (_, i) => chat(`s${k}-${i}`))), 'traces'),
    );
    for (const body of [...bodies, ...bodies]) expect((await post(r.httpAddress, '/v1/traces', body, 'application/x-protobuf')).status).toBe(200);
    expect(sink.kinds.every((k) => k === 'encoded')).toBe(true);
    const names = sink.decoded().map((b) => b.resourceSpans![0]!.scopeSpans[0]!.spans[599]!.name);
    expect(names).toEqual(['s0-599', 's1-599', 's2-599', 's3-599', 's0-599', 's1-599', 's2-599', 's3-599']);
    expect(sink.batches.map((b) => Buffer.from(b.encoded!.bytes).equals(Buffer.from(bodies[sink.batches.indexOf(b) % 4]!)))).toEqual(Array(8).fill(true));
  });
});
