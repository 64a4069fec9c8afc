/**
 * The decode memory guard (src/otlp/decode-memory.ts): the decoder's estimate of what a request decodes into
 * is never below what V8 really holds for it (measured with full collections), for the shapes that decode
 * into the most per byte and for real spans; a request past a quarter of the heap limit is refused with 413
 * before it is decoded whole; a full heap refuses with 503 after one collection.
 */
import { describe, expect, it } from 'vitest';
import { genAiTracesRequest } from '../../bench/_spans.ts';
import { amplifyingRequest, field, repeat } from '../../test/helpers/amplifying-requests.ts';
import { fullGc } from '../heap.ts';
import type { Batch } from '../model.ts';
import { DecodeMemory, type HeapReading } from './decode-memory.ts';
import { IntakeError } from './intake.ts';
import { decodeExportRequest } from './proto-decode.ts';
import type { OtlpSignal } from './json.ts';

/** Requests of the shapes that decode into the most memory per byte (see decode-memory.ts). */
const SHAPES: [string, OtlpSignal, () => Buffer | Promise<Buffer>][] = [
  ['minimal spans', 'traces', () => amplifyingRequest('spans', 20_000)],
  ['span events', 'traces', () => amplifyingRequest('events', 200_000)],
  ['empty attributes', 'traces', () => amplifyingRequest('attributes', 300_000)],
  ['resource_spans of one span each', 'traces', () => amplifyingRequest('resources', 20_000)],
  ['GenAI spans of the OTel SDK (14 attributes, 17 resource attributes)', 'traces', () => genAiTracesRequest(2000, 7)],
  // ResourceMetrics { ScopeMetrics { Metric { name "m", gauge { data_points: NumberDataPoint { as_int 1 (sfixed64) } x N } } } }
  ['gauge points', 'metrics', () => field(0x0a, field(0x12, field(0x12, Buffer.concat([field(0x0a, Buffer.from('m')), field(0x2a, repeat(field(0x0a, Buffer.from([0x31, 1, 0, 0, 0, 0, 0, 0, 0])), 100_000))]))))],
  // ResourceLogs { ScopeLogs { LogRecord { severity_number 9 } x N } }
  ['log records', 'logs', () => field(0x0a, field(0x12, repeat(field(0x12, Buffer.from([0x10, 0x09])), 150_000)))],
];

/** Decodes `body` and returns [the decoder's final estimate, the heap the batch holds], both in bytes. */
function measure(signal: OtlpSignal, body: Buffer): [number, number] {
  const gc = fullGc()!;
  let estimate = 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  const batch: Batch = decodeExportRequest(signal, body, undefined, (d) => (estimate = d));
  gc();
  const held = process.memoryUsage().heapUsed - before;
  expect(Object.keys(batch).length).toBeGreaterThan(0); // keeps the batch alive until here
  return [estimate, held];
}

describe('the decoder\'s estimate of decoded memory', () => {
  it.each(SHAPES)('is at least what V8 holds for %s, and at most 3x for real spans', async (name, signal, make) => {
    const body = await make();
    const [estimate, held] = measure(signal, body);
    expect(held).toBeGreaterThan(body.length / 2); // the shape really decodes into memory
    expect(estimate).toBeGreaterThanOrEqual(held);
    if (name.startsWith('GenAI')) expect(estimate).toBeLessThanOrEqual(3 * held);
  });
});

/** A heap of `limit` bytes whose use reads `used[i]` in turn (the last one repeats). */
function heap(limit: number, ...used: number[]): HeapReading & { reads: number } {
  const h = {
    reads: 0,
    limit,
    used: () => used[Math.min(h.reads++, used.length - 1)]!,
  };
  return h;
}

describe('DecodeMemory', () => {
  it('stops a request past a quarter of the heap limit with 413 naming the limit, before it is decoded whole', () => {
    const body = amplifyingRequest('events', 200_000);
    const guard = new DecodeMemory(heap(16 * 1048576, 0), () => undefined);
    let last = 0;
    const err = (() => {
      try {
        decodeExportRequest('traces', body, undefined, (d) => {
          last = d;
          guard.check(d);
        });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IntakeError);
    expect((err as IntakeError).status).toBe(413);
    expect((err as Error).message).toBe("the request decodes into more than 4 MiB of memory (a quarter of V8's heap limit of 16 MiB, --max-old-space-size): send it in smaller requests");
    // stopped within one check interval past the limit, not at the end (the whole request estimates ~25 MiB)
    expect(last).toBeLessThan(4 * 1048576 + 512 * 1024);
  });

  it('refuses with a retryable 503 while the heap stays over 85% of its limit after a full collection, and admits once it fell', () => {
    const limit = 100 * 1048576;
    let collections = 0;
    let clock = 10_000;
    const full = new DecodeMemory(heap(limit, 90 * 1048576), () => () => collections++, () => clock);
    const e = (() => {
      try {
        full.check(1000);
      } catch (x) {
        return x as IntakeError;
      }
    })();
    expect(e).toBeInstanceOf(IntakeError);
    expect([e!.status, e!.retryAfterMs, e!.message]).toEqual([503, 1000, "V8's heap is at 90% of its 100 MiB limit: retry later"]);
    // the collection frees garbage: 90% before it, 40% after
    expect(collections).toBe(1);
    // at most one collection a second: within it, no second one
    const soon = new DecodeMemory(heap(limit, 90 * 1048576, 40 * 1048576), () => () => collections++, () => clock + 500);
    expect(() => soon.check(1000)).toThrow(/heap is at 90%/);
    expect(collections).toBe(1);
    clock += 1500;
    const freed = new DecodeMemory(heap(limit, 90 * 1048576, 40 * 1048576), () => () => collections++, () => clock);
    expect(() => freed.check(1000)).not.toThrow();
    expect(collections).toBe(2);
  });

  it('refuses JSON before parsing when its objects and arrays would not fit', () => {
    const guard = new DecodeMemory(heap(16 * 1048576, 0), () => undefined);
    const small = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [] }] }] });
    expect(guard.admitJson(small)).toBeGreaterThan(0);
    const objects = `[${Array<string>(100_000).fill('{}').join(',')}]`; // 300 KB of text, 100,001 containers
    expect(() => guard.admitJson(objects)).toThrow(/decodes into more than 4 MiB of memory/);
  });
});
