/**
 * The direct OTLP/JSON writer (src/otlp/json-text.ts, behind stringifyOtlpJson) against the reference,
 * `JSON.stringify(toOtlpJson(batch, signal))`: the same text to the byte, over random batches of every
 * signal and point kind (fixed seed), every official OTLP example (decoded from JSON, and from protobuf),
 * a table of awkward values, and a mutation of every field of the examples (each change shows in the text).
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { AnyValue, Batch, KeyValue } from '../src/model.ts';
import { fromOtlpJson, stringifyOtlpJson, toOtlpJson, type OtlpSignal } from '../src/otlp/json.ts';
import { otlpJsonBytes, otlpJsonBytesInto, otlpJsonText } from '../src/otlp/json-text.ts';
import { decodeExportRequest, encodeExportRequest } from '../src/otlp/proto.ts';
import { logsBatch, metricsBatch, tracesBatch } from './intake-arbitraries.ts';
import { FIXTURES_LIST, readFixtureFile } from './intake-fixtures.ts';

const reference = (batch: Batch, signal: OtlpSignal): string => JSON.stringify(toOtlpJson(batch, signal));

/** Both texts, and where they first differ (so a failure names the field). */
function expectSame(batch: Batch, signal: OtlpSignal): string {
  const want = reference(batch, signal);
  const got = otlpJsonText(batch, signal);
  if (got !== want) {
    let i = 0;
    while (i < got.length && got[i] === want[i]) i++;
    expect.fail(`differs at ${i}: got ...${JSON.stringify(got.slice(Math.max(0, i - 60), i + 60))} want ...${JSON.stringify(want.slice(Math.max(0, i - 60), i + 60))}`);
  }
  expect(stringifyOtlpJson(batch, signal)).toBe(want);
  // the bytes the exporters write: UTF-8 of the same text, byte for byte (twice: the second from the key cache)
  const bytes = Buffer.from(want);
  for (let i = 0; i < 2; i++) {
    const b = otlpJsonBytes(batch, signal);
    if (!b.equals(bytes)) expect(b.toString('latin1')).toBe(bytes.toString('latin1'));
  }
  const line = Buffer.concat([bytes, Buffer.from('\n')]);
  expect(otlpJsonBytes(batch, signal, true).equals(line)).toBe(true);
  // written into a caller's buffer (the file exporter's pool): one with room, and one too small (it grows)
  for (const into of [Buffer.alloc(line.length * 4 + 1024, 0x2a), Buffer.alloc(line.length + 64, 0x2a), Buffer.alloc(16, 0x2a)]) {
    const view = otlpJsonBytesInto(batch, signal, true, into);
    expect(view.equals(line)).toBe(true);
    if (into.length < line.length) expect(view.buffer).not.toBe(into.buffer); // grew into a buffer of its own
    if (into.length > line.length * 4) expect(view.buffer).toBe(into.buffer); // no copy: the bytes are in `into`
  }
  expect(otlpJsonBytes(batch, signal).equals(bytes)).toBe(true); // the module's scratch buffer is its own again
  return got;
}

const SEED = 20261129;

describe('OTLP/JSON text written directly = JSON.stringify(toOtlpJson(...))', () => {
  for (const [signal, arb] of [['traces', tracesBatch], ['metrics', metricsBatch], ['logs', logsBatch]] as const) {
    it(`random ${signal} batches (fixed seed, 400 runs)`, () => {
      fc.assert(
        fc.property(arb, (batch) => {
          expectSame(batch, signal);
        }),
        { seed: SEED, numRuns: 400 },
      );
    });
  }

  it('covers every metric point kind among the random batches', () => {
    const kinds = new Set<string>();
    for (const b of fc.sample(metricsBatch, { seed: SEED, numRuns: 400 }))
      for (const rm of b.resourceMetrics ?? []) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.data?.dataPoints.length) kinds.add(m.data.type);
    expect([...kinds].sort()).toEqual(['exponentialHistogram', 'gauge', 'histogram', 'sum', 'summary']);
  });

  for (const [file, signal] of FIXTURES_LIST) {
    it(`the OTLP example ${file}, decoded from JSON and from protobuf`, () => {
      const batch = fromOtlpJson(signal, readFixtureFile(file));
      const text = expectSame(batch, signal);
      expect(text.length).toBeGreaterThan(200);
      expectSame(decodeExportRequest(signal, encodeExportRequest(batch, signal)), signal);
    });

    it(`every field of ${file} changed in turn shows in the text, written as the reference writes it`, () => {
      const batch = fromOtlpJson(signal, readFixtureFile(file));
      const before = otlpJsonText(batch, signal);
      let changed = 0;
      for (const undo of mutations(batch)) {
        const text = expectSame(batch, signal);
        expect(text).not.toBe(before);
        undo();
        changed++;
      }
      expect(otlpJsonText(batch, signal)).toBe(before);
      expect(changed).toBeGreaterThan(10);
    });
  }

  for (const [signal, arb] of [['traces', tracesBatch], ['metrics', metricsBatch], ['logs', logsBatch]] as const) {
    it(`every field of random ${signal} batches changed in turn shows in the text, written as the reference writes it`, () => {
      let changed = 0;
      for (const batch of fc.sample(arb, { seed: SEED + 1, numRuns: 3 })) {
        const before = otlpJsonText(batch, signal);
        for (const undo of mutations(batch)) {
          expect(expectSame(batch, signal)).not.toBe(before);
          undo();
          changed++;
        }
        expect(otlpJsonText(batch, signal)).toBe(before);
      }
      expect(changed).toBeGreaterThan(50);
    });
  }

  it('stays direct: no object tree and no JSON.stringify for a batch of printable ASCII (a count, not a timing)', async () => {
    const { genAiTracesRequest } = await import('../bench/ingest.ts');
    const batch = decodeExportRequest('traces', await genAiTracesRequest(64, 1));
    const want = reference(batch, 'traces');
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      const bytes = otlpJsonBytes(batch, 'traces');
      expect(stringify).not.toHaveBeenCalled();
      expect(bytes.toString()).toBe(want);
    } finally {
      stringify.mockRestore();
    }
  });

  it('the cache of attribute bytes never changes the text: repeated, unique and non-ASCII values, more keys than it holds', () => {
    const span = (attributes: KeyValue[], i: number) => ({
      traceId: '', spanId: '', traceState: '', parentSpanId: '', flags: 0, name: `s${i}`, kind: 0 as const,
      startTimeUnixNano: BigInt(i), endTimeUnixNano: 0n, attributes, droppedAttributesCount: 0,
      events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { message: '', code: 0 as const },
    });
    const values = (i: number): AnyValue[] => [`v${i % 7}`, `unique-${i}`, BigInt(i % 5), i % 3, i % 2 === 0, `é${i % 4}`, `q"${i % 3}`, 'x'.repeat(150 + (i % 4)), i % 2 ? -0 : 0, NaN, `${i % 7}`, BigInt(i)];
    for (let round = 0; round < 6; round++) {
      const spans = [];
      for (let i = 0; i < 120; i++) {
        const attrs: KeyValue[] = values(i + round).map((value, j) => ({ key: `k${j}`, value }));
        // keys beyond what the cache holds, a long key, non-ASCII and escaped keys, an empty key
        attrs.push({ key: `key-${round}-${i}`, value: 'same' }, { key: 'k'.repeat(200), value: 1n }, { key: 'ключ', value: 'v' }, { key: 'a"b', value: 'v' }, { key: '', value: 'v' });
        spans.push(span(attrs, i));
      }
      expectSame({ resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }] }, 'traces');
    }
    // keys that change places from span to span (the writer remembers the last key and pair at each position),
    // with values equal by === but written differently in another type (1 and 1n, '1' and 1)
    const orders = [['a', 'b', 'c'], ['c', 'a', 'b'], ['a', 'c'], ['b', 'a', 'c', 'd']];
    const typed: AnyValue[] = [1, 1n, '1', true, 'x', 'é', 1, 0, -0];
    for (let round = 0; round < 3; round++) {
      const spans = [];
      for (let i = 0; i < 60; i++) {
        const order = orders[(i + round) % orders.length]!;
        spans.push(span(order.map((key, j) => ({ key, value: typed[(i + j * 2 + round) % typed.length]! })), i));
      }
      expectSame({ resourceSpans: [{ resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }], schemaUrl: '' }] }, 'traces');
    }
    // a request whose only non-ASCII text is an attribute seen before
    for (let i = 0; i < 3; i++) expectSame({ resourceLogs: [{ resource: { attributes: [{ key: 'only', value: 'ünïcode' }], droppedAttributesCount: 0 }, scopeLogs: [], schemaUrl: '' }] }, 'logs');
  });

  it('awkward values: escapes, surrogates, non-finite and negative-zero doubles, extreme integers, empty and nested values', () => {
    const strings = ['', 'plain', 'quote " and \\ backslash', 'line\nfeed\ttab\r\u0000\u001f\u007f', '\u2028\u2029', 'emoji 😀 pair', 'lone \ud800 high', 'lone \udc00 low', 'é ü 中文', '</script>'];
    const doubles = [0, -0, 1.5, -1e-300, 1e21, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.1 + 0.2];
    const values: AnyValue[] = [
      ...strings,
      ...doubles,
      true,
      false,
      0n,
      -(1n << 63n),
      (1n << 63n) - 1n,
      null,
      new Uint8Array(),
      new Uint8Array([0, 255, 1, 2, 3]),
      Buffer.from('sub', 'utf8').subarray(1),
      [],
      [[], { kvlist: [] }, [1, 'a', [null]]],
      { kvlist: [] },
      { kvlist: [{ key: '', value: null }, { key: 'k', value: { kvlist: [{ key: 'in"ner', value: [2n] }] } }] },
    ];
    const attrs: KeyValue[] = values.map((value, i) => ({ key: strings[i % strings.length]!, value }));
    const big = (1n << 64n) - 1n;
    const traces: Batch = {
      resourceSpans: [
        { resource: { attributes: attrs, droppedAttributesCount: 3 }, scopeSpans: [], schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
        {
          resource: { attributes: [], droppedAttributesCount: 0 },
          scopeSpans: strings.map((s, i) => ({
            scope: { name: s, version: strings[(i + 1) % strings.length]!, attributes: attrs.slice(i), droppedAttributesCount: i },
            spans: [
              {
                traceId: i % 3 ? 'ab'.repeat(16) : '',
                spanId: i % 2 ? 'cd'.repeat(8) : '',
                traceState: s,
                parentSpanId: i % 4 ? '' : 'ef'.repeat(8),
                flags: i % 2 ? 0x301 : 0,
                name: s,
                kind: i % 6,
                startTimeUnixNano: i % 2 ? big : 0n,
                endTimeUnixNano: BigInt(i),
                attributes: attrs.slice(0, i),
                droppedAttributesCount: i % 3,
                events: i % 2 ? [{ timeUnixNano: 0n, name: s, attributes: attrs.slice(i), droppedAttributesCount: 0 }, { timeUnixNano: big, name: '', attributes: [], droppedAttributesCount: 7 }] : [],
                droppedEventsCount: i % 4,
                links: i % 3 ? [{ traceId: '', spanId: '', traceState: s, attributes: attrs.slice(i), droppedAttributesCount: 1, flags: 0 }, { traceId: '01'.repeat(16), spanId: '02'.repeat(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: i % 2 ? 1 : 256 }] : [],
                droppedLinksCount: i % 5,
                status: { message: i % 2 ? s : '', code: (i % 3) as 0 | 1 | 2 },
              },
            ],
            schemaUrl: i % 2 ? s : '',
          })),
          schemaUrl: '',
        },
      ],
    };
    expectSame(traces, 'traces');
    expectSame({}, 'traces');
    expectSame({ resourceSpans: [] }, 'traces');

    const head = (i: number) => ({ attributes: attrs.slice(i), startTimeUnixNano: i % 2 ? 0n : big, timeUnixNano: BigInt(i), flags: i % 2 });
    const metrics: Batch = {
      resourceMetrics: [
        {
          resource: { attributes: attrs.slice(5), droppedAttributesCount: 0 },
          schemaUrl: '',
          scopeMetrics: [
            {
              scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
              schemaUrl: '',
              metrics: doubles.flatMap((d, i) => [
                { name: strings[i % strings.length]!, description: 'd"', unit: '', metadata: attrs.slice(i), data: undefined },
                { name: 'g', description: '', unit: '1', metadata: [], data: { type: 'gauge' as const, dataPoints: [{ ...head(i), value: d, exemplars: [] }, { ...head(i + 1), value: -(1n << 63n), exemplars: [] }] } },
                { name: 'g0', description: '', unit: '', metadata: [], data: { type: 'gauge' as const, dataPoints: [] } },
                {
                  name: 's',
                  description: '',
                  unit: '',
                  metadata: [],
                  data: {
                    type: 'sum' as const,
                    aggregationTemporality: (i % 3) as 0 | 1 | 2,
                    isMonotonic: i % 2 === 0,
                    dataPoints: [{ ...head(i), value: BigInt(i), exemplars: [{ filteredAttributes: attrs.slice(i), timeUnixNano: BigInt(i), value: d, spanId: i % 2 ? '' : 'aa'.repeat(8), traceId: i % 3 ? 'bb'.repeat(16) : '' }, { filteredAttributes: [], timeUnixNano: 0n, value: 5n, spanId: '', traceId: '' }] }],
                  },
                },
                {
                  name: 'h',
                  description: '',
                  unit: 's',
                  metadata: [],
                  data: {
                    type: 'histogram' as const,
                    aggregationTemporality: 2 as const,
                    dataPoints: [
                      { ...head(i), count: i, sum: d, bucketCounts: [0, i, Number.MAX_SAFE_INTEGER], explicitBounds: [d, -d, 0], exemplars: [], min: d, max: -0 },
                      { ...head(i), count: 0, bucketCounts: [], explicitBounds: [], exemplars: [{ filteredAttributes: [], timeUnixNano: 1n, value: NaN, spanId: '', traceId: '' }] },
                    ],
                  },
                },
                {
                  name: 'e',
                  description: '',
                  unit: '',
                  metadata: [],
                  data: {
                    type: 'exponentialHistogram' as const,
                    aggregationTemporality: 1 as const,
                    dataPoints: [
                      { ...head(i), count: i + 1, sum: d, scale: i - 5, zeroCount: i, positive: { offset: -i, bucketCounts: [1, 2] }, negative: { offset: i, bucketCounts: [] }, exemplars: [], min: d, max: d, zeroThreshold: d },
                      { ...head(i), count: 0, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [3] }, exemplars: [{ filteredAttributes: [], timeUnixNano: 0n, value: 0, spanId: '', traceId: '' }], zeroThreshold: 0 },
                    ],
                  },
                },
                {
                  name: 'q',
                  description: '',
                  unit: '',
                  metadata: [],
                  data: { type: 'summary' as const, dataPoints: [{ ...head(i), count: i, sum: d, quantileValues: [{ quantile: 0, value: d }, { quantile: 0.99, value: 0 }, { quantile: d, value: -d }] }] },
                },
              ]),
            },
          ],
        },
      ],
    };
    expectSame(metrics, 'metrics');

    const logs: Batch = {
      resourceLogs: [
        {
          resource: { attributes: attrs.slice(3), droppedAttributesCount: 0 },
          schemaUrl: 'u',
          scopeLogs: [
            {
              scope: { name: 'n', version: '', attributes: [], droppedAttributesCount: 2 },
              schemaUrl: '',
              logRecords: values.map((body, i) => ({
                timeUnixNano: BigInt(i) * 1000n,
                observedTimeUnixNano: i % 2 ? big : 0n,
                severityNumber: i % 25,
                severityText: strings[i % strings.length]!,
                body,
                attributes: attrs.slice(i),
                droppedAttributesCount: i % 2,
                flags: i % 3 ? 1 : 0,
                traceId: i % 2 ? '0f'.repeat(16) : '',
                spanId: i % 3 ? 'f0'.repeat(8) : '',
                eventName: i % 4 ? '' : 'gen_ai.client.inference.operation.details',
              })),
            },
          ],
        },
      ],
    };
    expectSame(logs, 'logs');
  });
});

/**
 * Changes each leaf of the model in turn (strings, numbers, bigints, booleans, bytes): yields after each
 * change with a function that puts the old value back. The new value is never a field's default.
 */
function* mutations(root: unknown): Generator<() => void> {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (node instanceof Uint8Array) continue;
    const o = node as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      const v = o[key];
      let next: unknown;
      if (typeof v === 'string') next = key === 'type' ? undefined : /^[0-9a-f]+$/.test(v) && v.length >= 16 ? (v[0] === 'a' ? 'b' : 'a') + v.slice(1) : v + 'x"';
      else if (typeof v === 'number') next = !Number.isFinite(v) ? 1 : Number.isSafeInteger(v) && Math.abs(v) < 2 ** 52 ? v + 1 : v / 2 || 1;
      else if (typeof v === 'bigint') next = v + 1n;
      else if (typeof v === 'boolean') next = !v;
      else if (v instanceof Uint8Array) next = new Uint8Array([...v, 1]);
      else {
        if (v && typeof v === 'object') stack.push(v);
        continue;
      }
      if (next === undefined) continue;
      o[key] = next;
      yield () => {
        o[key] = v;
      };
    }
  }
}
