/**
 * OTLP/JSON 64-bit integers written as JSON numbers (the spec allows a number or a decimal string) keep every
 * digit: timestamps in nanoseconds, int attributes, counts, bucket counts, exemplar values, beyond 2^53
 * included, in the decoder and end to end through the otlp receiver.
 */
import fc from 'fast-check';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';
import type { OtlpReceiver } from '../receivers/otlp/otlp-receiver.ts';
import { OtlpDecodeError, parseOtlpJson, quoteLongIntegers } from '../src/otlp/json.ts';
import { closeClientConnections, configFor, SinkConsumer, testSettings } from './helpers/index.ts';

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const spanJson = (fields: string) =>
  `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${SPAN}","name":"x",${fields}}]}]}]}`;

describe('OTLP/JSON 64-bit integers as JSON numbers', () => {
  it('keeps every digit of span timestamps and int attributes', () => {
    const b = parseOtlpJson(
      'traces',
      spanJson(
        '"startTimeUnixNano":1700000000000000001,"endTimeUnixNano":1700000000123456789,' +
          '"attributes":[{"key":"i","value":{"intValue":9007199254740993}},{"key":"min","value":{"intValue":-9223372036854775808}},' +
          '{"key":"max","value":{"intValue":9223372036854775807}},{"key":"s","value":{"stringValue":"a:12345678901234567890,b"}},' +
          '{"key":"d","value":{"doubleValue":12345678901234567890}},{"key":"f","value":{"doubleValue":1234567890123456.75}}],' +
          '"events":[{"timeUnixNano":1700000000000000003,"name":"e"}]',
      ),
    );
    const span = b.resourceSpans![0]!.scopeSpans[0]!.spans[0]!;
    expect(span.startTimeUnixNano).toBe(1700000000000000001n);
    expect(span.endTimeUnixNano).toBe(1700000000123456789n);
    expect(span.events[0]!.timeUnixNano).toBe(1700000000000000003n);
    expect(span.attributes).toEqual([
      { key: 'i', value: 9007199254740993n },
      { key: 'min', value: -9223372036854775808n },
      { key: 'max', value: 9223372036854775807n },
      { key: 's', value: 'a:12345678901234567890,b' },
      { key: 'd', value: 12345678901234567890 },
      { key: 'f', value: 1234567890123456.75 },
    ]);
  });

  it('keeps every digit of log and metric timestamps, and of exemplar int values', () => {
    const logs = parseOtlpJson('logs', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":1700000000000000005,"observedTimeUnixNano":1700000000000000007,"body":{"intValue":1234567890123456789}}]}]}]}');
    const rec = logs.resourceLogs![0]!.scopeLogs[0]!.logRecords[0]!;
    expect(rec.timeUnixNano).toBe(1700000000000000005n);
    expect(rec.observedTimeUnixNano).toBe(1700000000000000007n);
    expect(rec.body).toBe(1234567890123456789n);
    const metrics = parseOtlpJson(
      'metrics',
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"startTimeUnixNano":1700000000000000009,"timeUnixNano":1700000000000000011,"asInt":4611686018427387905,"exemplars":[{"timeUnixNano":1700000000000000013,"asInt":4611686018427387907}]}]}}]}]}]}',
    );
    const m = metrics.resourceMetrics![0]!.scopeMetrics[0]!.metrics[0]!;
    if (m.data?.type !== 'sum') throw new Error(`expected a sum, got ${m.data?.type}`);
    const dp = m.data.dataPoints[0]!;
    expect(dp).toMatchObject({ startTimeUnixNano: 1700000000000000009n, timeUnixNano: 1700000000000000011n, value: 4611686018427387905n });
    expect(dp.exemplars[0]).toMatchObject({ timeUnixNano: 1700000000000000013n, value: 4611686018427387907n });
  });

  it('still refuses an out-of-range or malformed number, naming the field', () => {
    expect(() => parseOtlpJson('traces', spanJson('"startTimeUnixNano":18446744073709551616'))).toThrow(
      'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: unsigned 64-bit integer out of range: "18446744073709551616"',
    );
    expect(() => parseOtlpJson('traces', spanJson('"startTimeUnixNano":01700000000000000001'))).toThrow(OtlpDecodeError);
    expect(() => parseOtlpJson('traces', spanJson('"startTimeUnixNano":01700000000000000001'))).toThrow(/invalid JSON/);
  });

  it('rewrites nothing inside strings, nor short numbers, fractions or exponents (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.bigInt(-(2n ** 63n), 2n ** 64n - 1n), (v, big) => {
        // a request is an object: its numbers follow a `:`, `,` or `[`
        const text = `{"v":${JSON.stringify(v)},"list":[${JSON.stringify(v)},${big}],"big":${big}}`;
        const plain = JSON.parse(JSON.stringify(v)) as unknown;
        const exact = big.toString().replace('-', '').length >= 16 ? big.toString() : Number(big);
        expect(JSON.parse(quoteLongIntegers(text))).toEqual({ v: deepLongAsString(plain), list: [deepLongAsString(plain), exact], big: exact });
      }),
      { numRuns: 300 },
    );
    const text = '{"a":"x:1234567890123456789,","b":[1.5e300,12345678901234567.5,-0.1234567890123456789,42]}';
    expect(quoteLongIntegers(text)).toBe(text);
  });

  it('arrives exact at the pipeline through the otlp receiver', async () => {
    const sink = new SinkConsumer();
    const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: sink }), configFor(otlpReceiverFactory, { protocols: { http: { endpoint: '127.0.0.1:0' } } })) as OtlpReceiver;
    await r.start();
    try {
      const res = await request(`http://${r.httpAddress}/v1/traces`, {
        method: 'POST',
        body: spanJson('"startTimeUnixNano":1700000000000000001,"endTimeUnixNano":1700000000999999999'),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(sink.spans[0]).toMatchObject({ startTimeUnixNano: 1700000000000000001n, endTimeUnixNano: 1700000000999999999n });
    } finally {
      await closeClientConnections();
      await r.shutdown();
    }
  });
});

/** `v` with every integer number of 16 digits or more turned into its decimal string (what quoteLongIntegers does to the text). */
function deepLongAsString(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepLongAsString);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepLongAsString(x)]));
  if (typeof v === 'number' && /^-?[1-9]\d{15,}$/.test(JSON.stringify(v))) return JSON.stringify(v);
  return v;
}
