import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logsBatch, metricsBatch, tracesBatch } from './intake-arbitraries.ts';
import { fromOtlpJson, OtlpDecodeError, parseOtlpJson, toOtlpJson, type OtlpSignal } from '../src/otlp/json.ts';

export const FIXTURES: [string, OtlpSignal][] = [
  ['trace.json', 'traces'],
  ['metrics.json', 'metrics'],
  ['logs.json', 'logs'],
  ['events.json', 'logs'],
];

export function readFixture(name: string): unknown {
  return JSON.parse(fs.readFileSync(new URL(`./fixtures/otlp-examples/${name}`, import.meta.url), 'utf8'));
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const INT64_KEYS = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'observedTimeUnixNano', 'count', 'zeroCount', 'intValue', 'asInt']);

/**
 * The spec's allowed representation differences removed: hex ids lowercased, int64 as strings, and
 * fields holding their proto3 default (0, "", false, [], {}) dropped, except presence fields (sum/min/max).
 */
export function canonical(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => canonical(x, key === 'bucketCounts' ? 'count' : ''));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const c = canonical(x, k);
      const isOneof = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'asDouble', 'asInt', 'sum', 'min', 'max', 'value'].includes(k);
      if (!isOneof && (c === 0 || c === '' || c === '0' || c === false || (Array.isArray(c) && !c.length) || (c && typeof c === 'object' && !Array.isArray(c) && !Object.keys(c).length))) continue;
      out[k] = c;
    }
    return out;
  }
  if (ID_KEYS.has(key) && typeof v === 'string') return v.toLowerCase();
  if (INT64_KEYS.has(key) && (typeof v === 'number' || typeof v === 'string')) return String(v);
  return v;
}

describe('OTLP/JSON codec', () => {
  for (const [file, signal] of FIXTURES) {
    it(`round-trips ${file}`, () => {
      const input = readFixture(file);
      const out = toOtlpJson(fromOtlpJson(signal, input), signal);
      expect(canonical(out)).toEqual(canonical(input));
      // and once normalised, it is a fixed point
      expect(toOtlpJson(fromOtlpJson(signal, out), signal)).toEqual(out);
    });
  }

  it('keeps ids lowercase hex, int64 as bigint, and a histogram min of 0', () => {
    const b = fromOtlpJson('traces', readFixture('trace.json'));
    const span = b.resourceSpans![0]!.scopeSpans[0]!.spans[0]!;
    expect(span.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(span.startTimeUnixNano).toBe(1544712660000000000n);
    const m = fromOtlpJson('metrics', readFixture('metrics.json'));
    const h = m.resourceMetrics![0]!.scopeMetrics[0]!.metrics[2]!.data!;
    expect(h.type).toBe('histogram');
    if (h.type === 'histogram') {
      expect(h.dataPoints[0]!.min).toBe(0);
      expect(h.dataPoints[0]!.bucketCounts).toEqual([1, 1]);
    }
    const l = fromOtlpJson('logs', readFixture('logs.json'));
    const attrs = l.resourceLogs![0]!.scopeLogs[0]!.logRecords[0]!.attributes;
    expect(attrs.find((a) => a.key === 'int.attribute')!.value).toBe(10n);
    expect(attrs.find((a) => a.key === 'double.attribute')!.value).toBe(637.704);
  });

  it('accepts int64 as numbers and writes them as strings; doubles NaN/Infinity as strings', () => {
    const b = fromOtlpJson('metrics', {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ timeUnixNano: 5, asDouble: 'NaN' }, { asInt: 7 }] } }] }] }],
    });
    const out = toOtlpJson(b, 'metrics') as any;
    const dps = out.resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints;
    expect(dps[0]).toEqual({ timeUnixNano: '5', asDouble: 'NaN' });
    expect(dps[1]).toEqual({ asInt: '7' });
  });

  it('takes enum values by name too (SPAN_KIND_SERVER, STATUS_CODE_ERROR, SEVERITY_NUMBER_WARN2, AGGREGATION_TEMPORALITY_DELTA)', () => {
    const t = fromOtlpJson('traces', { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x', kind: 'SPAN_KIND_SERVER', status: { code: 'STATUS_CODE_ERROR' } }, { kind: '3' }] }] }] });
    const spans = t.resourceSpans![0]!.scopeSpans[0]!.spans;
    expect([spans[0]!.kind, spans[0]!.status.code, spans[1]!.kind]).toEqual([2, 2, 3]);
    const l = fromOtlpJson('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'SEVERITY_NUMBER_WARN2' }, { severityNumber: 'SEVERITY_NUMBER_FATAL4' }] }] }] });
    expect(l.resourceLogs![0]!.scopeLogs[0]!.logRecords.map((r) => r.severityNumber)).toEqual([14, 24]);
    const m = fromOtlpJson('metrics', {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'n', sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA', isMonotonic: true, dataPoints: [{ asInt: '1' }] } }] }] }],
    });
    const data = m.resourceMetrics![0]!.scopeMetrics[0]!.metrics[0]!.data as { aggregationTemporality: number };
    expect(data.aggregationTemporality).toBe(1);
    expect(() => fromOtlpJson('traces', { resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'SPAN_KIND_SEVER' }] }] }] })).toThrow(
      'resourceSpans[0].scopeSpans[0].spans[0].kind: expected an integer or one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER',
    );
  });

  it('ignores unknown fields', () => {
    const b = fromOtlpJson('traces', { resourceSpans: [{ whatever: 1, scopeSpans: [{ spans: [{ name: 'x', future: { a: 1 } }] }] }] });
    expect(b.resourceSpans![0]!.scopeSpans[0]!.spans[0]!.name).toBe('x');
  });

  it.each([
    [{ resourceSpans: [{ scopeSpans: [{}, { spans: [{}, {}, {}, { traceId: 'abc' }] }] }] }, 'resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32 hex characters'],
    [{ resourceSpans: {} }, 'resourceSpans: expected an array'],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 'soon' }] }] }] }, 'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected a 64-bit integer'],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'SERVER' }] }] }] }, 'resourceSpans[0].scopeSpans[0].spans[0].kind: expected an integer'],
    [{ resourceSpans: [{ resource: { attributes: [{ key: 'a', value: { intValue: '1.5' } }] } }] }, 'resourceSpans[0].resource.attributes[0].value.intValue: expected a 64-bit integer'],
    [{ resourceSpans: [{ resource: { attributes: [{ key: 'a', value: { arrayValue: { values: [{ boolValue: 'yes' }] } } }] } }] }, 'resourceSpans[0].resource.attributes[0].value.arrayValue.values[0].boolValue: expected true or false'],
    [[], 'expected an export request object'],
  ])('names the path of the first problem (%#)', (input, message) => {
    expect(() => fromOtlpJson('traces', input)).toThrow(OtlpDecodeError);
    expect(() => fromOtlpJson('traces', input)).toThrow(message);
  });

  /** JSON has no negative zero (JSON.stringify(-0) is "0"): the only value a JSON round trip may change. */
  const noNegativeZero = (v: unknown): unknown => {
    if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
    if (Array.isArray(v)) return v.map(noNegativeZero);
    if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, noNegativeZero(x)]));
  };
  for (const [signal, arb] of [['traces', tracesBatch], ['metrics', metricsBatch], ['logs', logsBatch]] as const) {
    it(`fromOtlpJson(JSON text of toOtlpJson(model)) equals the model (${signal}, property)`, () => {
      fc.assert(
        fc.property(arb, (batch) => {
          const text = JSON.stringify(toOtlpJson(batch, signal));
          expect(fromOtlpJson(signal, JSON.parse(text))).toEqual(noNegativeZero(batch));
        }),
        { numRuns: 100 },
      );
    });
  }

  it('never throws anything but a decode error on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('traces', 'metrics', 'logs' as const), (v, signal) => {
        try {
          fromOtlpJson(signal, v);
        } catch (e) {
          if (!(e instanceof OtlpDecodeError)) throw e;
        }
        try {
          fromOtlpJson(signal, { resourceSpans: [v], resourceMetrics: [{ scopeMetrics: [{ metrics: [v] }] }], resourceLogs: [{ scopeLogs: [{ logRecords: [v] }] }] });
        } catch (e) {
          if (!(e instanceof OtlpDecodeError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports invalid JSON text as a decode error', () => {
    expect(() => parseOtlpJson('logs', '{"resourceLogs": [')).toThrow(/invalid JSON/);
  });
});
