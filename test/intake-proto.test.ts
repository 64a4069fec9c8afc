import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromOtlpJson, OtlpDecodeError, toOtlpJson, type OtlpSignal } from '../src/otlp/json.ts';
import {
  decodeExportRequest,
  decodeExportResponse,
  decodeRpcStatus,
  encodeExportRequest,
  encodeExportResponse,
  encodeRpcStatus,
} from '../src/otlp/proto.ts';
import { logsBatch, metricsBatch, tracesBatch } from './intake-arbitraries.ts';
import { FIXTURES_LIST, readFixtureFile } from './intake-fixtures.ts';

const BATCHES: [OtlpSignal, fc.Arbitrary<import('../src/model.ts').Batch>][] = [
  ['traces', tracesBatch],
  ['metrics', metricsBatch],
  ['logs', logsBatch],
];

function decodesOrFailsCleanly(signal: OtlpSignal, bytes: Uint8Array): void {
  try {
    decodeExportRequest(signal, bytes);
  } catch (e) {
    if (!(e instanceof OtlpDecodeError)) throw e;
  }
}

describe('OTLP protobuf codec', () => {
  for (const [signal, arb] of BATCHES) {
    it(`decode(encode(model)) equals the model (${signal})`, () => {
      fc.assert(
        fc.property(arb, (batch) => {
          expect(decodeExportRequest(signal, encodeExportRequest(batch, signal))).toEqual(batch);
        }),
        { numRuns: 150 },
      );
    });

    it(`never throws anything but a decode error on random or damaged bytes (${signal})`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodesOrFailsCleanly(signal, bytes)),
        { numRuns: 1000 },
      );
      fc.assert(
        fc.property(arb, fc.nat(), fc.nat({ max: 255 }), fc.nat(), (batch, at, byte, cut) => {
          const bytes = Buffer.from(encodeExportRequest(batch, signal));
          if (bytes.length) bytes[at % bytes.length] = byte;
          decodesOrFailsCleanly(signal, bytes);
          decodesOrFailsCleanly(signal, bytes.subarray(0, bytes.length ? cut % bytes.length : 0));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('JSON -> model -> protobuf -> model -> JSON is stable for every fixture', () => {
    for (const [file, signal] of FIXTURES_LIST) {
      const batch = fromOtlpJson(signal, readFixtureFile(file));
      const again = decodeExportRequest(signal, encodeExportRequest(batch, signal));
      expect(again).toEqual(batch);
      expect(toOtlpJson(again, signal)).toEqual(toOtlpJson(batch, signal));
    }
  });

  it('names the field path and the problem', () => {
    const batch = fromOtlpJson('traces', readFixtureFile('trace.json'));
    const bytes = encodeExportRequest(batch, 'traces');
    expect(() => decodeExportRequest('traces', bytes.subarray(0, bytes.length - 5))).toThrow(/^resource_spans\[0\]: length \d+ exceeds the \d+ bytes left/);
    // A span whose trace_id (field 1) is 3 bytes long.
    const span = Buffer.from([0x0a, 3, 1, 2, 3]);
    const req = Buffer.concat([Buffer.from([0x0a, span.length + 4, 0x12, span.length + 2, 0x12, span.length]), span]);
    expect(() => decodeExportRequest('traces', req)).toThrow('resource_spans[0].scope_spans[0].spans[0].trace_id: expected 16 bytes, got 3');
    // Span.name (field 5) sent as a varint.
    const wrong = Buffer.from([0x0a, 6, 0x12, 4, 0x12, 2, 0x28, 1]);
    expect(() => decodeExportRequest('traces', wrong)).toThrow(/spans\[0\]: Span.kind \(field 6\)|Span.name \(field 5\): unexpected wire type 0/);
  });

  it('refuses a huge length without allocating it, and deep nesting without overflowing the stack', () => {
    const huge = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    expect(() => decodeExportRequest('traces', huge)).toThrow(/resource_spans\[0\]: length \d+ exceeds/);
    // 10,000 nested array values inside a log body.
    let any = Buffer.alloc(0);
    for (let i = 0; i < 10_000; i++) {
      const inner = Buffer.concat([Buffer.from([0x0a]), varint(any.length), any]);
      any = Buffer.concat([Buffer.from([0x2a]), varint(inner.length), inner]);
    }
    expect(() => decodeExportRequest('logs', Buffer.concat([Buffer.from([0x0a]), varint(any.length + 20), any]))).toThrow(OtlpDecodeError);
  });

  it('returns the right string for strings that share the bytes the string cache samples', () => {
    // 20 bytes: the cache hashes positions 0, 5, 10 and 19; these differ only at positions 1-3 and 11-18.
    const values = ['a', 'b', 'c', 'd'].flatMap((x) => ['p', 'q'].map((y) => `a${x}${x}${x}bbbbbbb${y.repeat(8)}z`));
    const batch = fromOtlpJson('logs', {
      resourceLogs: [{ scopeLogs: [{ logRecords: values.map((v) => ({ body: { stringValue: v }, attributes: [{ key: v, value: { stringValue: v } }] })) }] }],
    });
    for (let round = 0; round < 3; round++) {
      const got = decodeExportRequest('logs', encodeExportRequest(batch, 'logs')).resourceLogs![0]!.scopeLogs[0]!.logRecords;
      expect(got.map((r) => [r.body, r.attributes[0]!.key, r.attributes[0]!.value])).toEqual(values.map((v) => [v, v, v]));
    }
  });

  it('reads a KeyValue the same through its fast path as through the general loop (valid, damaged or odd bytes)', () => {
    // A KeyValue as SDKs write it (key, then value with one field), with lengths right or wrong; an unknown
    // field (15, varint 0) put first sends the same KeyValue through the general loop, which must agree.
    const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    // An array_value's length and elements, each an AnyValue holding one string (lengths right or not).
    const element = fc
      .record({ text: fc.uint8Array({ maxLength: 6 }), outer: fc.option(fc.nat({ max: 255 }), { freq: 3 }), inner: fc.option(fc.nat({ max: 255 }), { freq: 3 }), tag: fc.constantFrom(0x0a, 0x0a, 0x0a, 0x12) })
      .map(({ text, outer, inner, tag }) => [0x0a, outer ?? text.length + 2, tag, inner ?? text.length, ...text]);
    const arrayOfStrings = fc
      .record({ elements: fc.array(element, { maxLength: 4 }), len: fc.option(fc.nat({ max: 255 }), { freq: 3 }) })
      .map(({ elements, len }) => Uint8Array.from([len ?? elements.flat().length, ...elements.flat()]));
    const kvArb = fc
      .record({
        key: fc.uint8Array({ maxLength: 20 }),
        valueTag: fc.constantFrom(0x0a, 0x10, 0x18, 0x21, 0x2a, 0x32, 0x3a, 0x08, 0x22),
        payload: fc.oneof(fc.uint8Array({ maxLength: 12 }), bytesOf(8), fc.constant(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), arrayOfStrings),
        keyLen: fc.option(fc.nat({ max: 255 }), { freq: 2 }),
        valueLen: fc.option(fc.nat({ max: 255 }), { freq: 2 }),
        stringLen: fc.option(fc.nat({ max: 255 }), { freq: 2 }),
      })
      .map(({ key, valueTag, payload, keyLen, valueLen, stringLen }) => {
        const inner = valueTag === 0x0a ? [valueTag, stringLen ?? payload.length, ...payload] : [valueTag, ...payload];
        return Uint8Array.from([0x0a, keyLen ?? key.length, ...key, 0x12, valueLen ?? inner.length, ...inner]);
      });
    const request = (kv: Uint8Array) => {
      const wrap = (tag: number, body: Uint8Array) => Buffer.concat([Buffer.from([tag]), varint(body.length), body]);
      return wrap(0x0a, wrap(0x12, wrap(0x12, wrap(0x32, kv))));
    };
    const outcome = (bytes: Uint8Array) => {
      try {
        return decodeExportRequest('logs', bytes);
      } catch (e) {
        if (e instanceof OtlpDecodeError) return 'decode error';
        throw e;
      }
    };
    let decoded = 0;
    fc.assert(
      fc.property(kvArb, (kv) => {
        const fast = outcome(request(kv));
        expect(outcome(request(Uint8Array.from([0x78, 0x00, ...kv])))).toEqual(fast);
        if (fast !== 'decode error') decoded++;
      }),
      // a fixed seed: the count of decodable inputs below depends on the draw (97 of 2,000 was seen once)
      { numRuns: 2000, seed: 20261129 },
    );
    expect(decoded).toBeGreaterThan(100);
  });

  it('tells apart cached strings that differ in any one byte the cache does not sample', () => {
    // For every length the cache holds, pairs of strings differing only at one position the hash does not
    // sample (0, n-1, n/2, n/4): the byte compare alone must tell them apart, word by word and in the tail.
    const values: string[] = [];
    for (let n = 1; n <= 48; n++) {
      const sampled = new Set([0, n - 1, n >>> 1, n >>> 2]);
      for (let at = 0; at < n; at++) {
        if (sampled.has(at)) continue;
        const base = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26)));
        values.push(base.join(''));
        base[at] = '#';
        values.push(base.join(''));
      }
    }
    const batch = fromOtlpJson('logs', {
      resourceLogs: [{ scopeLogs: [{ logRecords: values.map((v) => ({ attributes: [{ key: v, value: { stringValue: v } }] })) }] }],
    });
    for (let round = 0; round < 2; round++) {
      const got = decodeExportRequest('logs', encodeExportRequest(batch, 'logs')).resourceLogs![0]!.scopeLogs[0]!.logRecords;
      expect(got.map((r) => [r.attributes[0]!.key, r.attributes[0]!.value])).toEqual(values.map((v) => [v, v]));
    }
  });

  it('skips unknown fields of every wire type', () => {
    const unknown = Buffer.from([0xf8, 0x01, 5, 0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xfa, 0x01, 1, 9, 0xfd, 0x01, 1, 2, 3, 4, 0xfb, 0x01, 0xf8, 0x01, 1, 0xfc, 0x01]);
    const batch = decodeExportRequest('traces', unknown);
    expect(batch.resourceSpans).toEqual([]);
  });

  it('encodes and decodes responses with partial success, and rpc Status with RetryInfo', () => {
    expect(encodeExportResponse().length).toBe(0);
    expect(decodeExportResponse(encodeExportResponse({ rejected: 3, errorMessage: 'bad span' }))).toEqual({ rejected: 3, errorMessage: 'bad span' });
    expect(decodeRpcStatus(encodeRpcStatus({ code: 14, message: 'busy', retryDelayMs: 1500 }))).toEqual({ code: 14, message: 'busy', retryDelayMs: 1500 });
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
