/**
 * The decoder's span decode plan (proto-decode-common.ts `SpanDecodePlan`): spans decoded with one carry exactly
 * the attributes it keeps, and the token counts, in their order and with the values the full decode gives, and
 * without its ids, UNDECODED_ID for each id present and not zero; everything else decodes the same, and
 * malformed input fails the same way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Batch, KeyValue, Span } from '../model.ts';
import { isTokenCountKey } from '../limits.ts';
import { type DecodeChecks, decodeExportRequest, decodedCovers, encodeExportRequest, OtlpDecodeError, SpanDecodePlan, UNDECODED_ID } from './proto.ts';
import { tracesBatch } from '../../test/intake-arbitraries.ts';
import { genAiTracesRequest } from '../../bench/_spans.ts';
import { resourceSpans, span } from '../../test/percentiles-helpers.ts';
import { fullGc } from '../heap.ts';
import { GENAI_CALL_KEYS } from '../../processors/cost/genai-call.ts';

/** An id as a plan without ids carries it: UNDECODED_ID when present and not all zero, else ''. */
const undecoded = (id: string) => (/[^0]/.test(id) ? UNDECODED_ID : '');

/**
 * The full decode of `bytes` with each span's attributes cut to what `keep` (and the token-count rule) keeps,
 * and, without `ids`, its ids as the plan carries them.
 */
function expected(bytes: Uint8Array, keep: ReadonlySet<string>, ids = true): Batch {
  const b = decodeExportRequest('traces', bytes);
  for (const rs of b.resourceSpans!)
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        s.attributes = s.attributes.filter((a) => keep.has(a.key) || isTokenCountKey(a.key));
        if (!ids) {
          s.traceId = undecoded(s.traceId);
          s.spanId = undecoded(s.spanId);
          s.parentSpanId = undecoded(s.parentSpanId);
          s.traceState = '';
        }
      }
  return b;
}

const spansOf = (b: Batch): Span[] => b.resourceSpans!.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));

/** One request of spans whose attributes are these lists (in this order). */
function request(...lists: KeyValue[][]): Buffer {
  return encodeExportRequest({ resourceSpans: [resourceSpans('svc', lists.map((attributes, i) => ({ ...span(1, 2, { name: `s${i}` }), attributes })))] }, 'traces');
}

/** The error decoding `bytes` throws (with or without a filter). */
function decodeError(bytes: Uint8Array, plan?: SpanDecodePlan): string {
  try {
    decodeExportRequest('traces', bytes, undefined, undefined, plan);
  } catch (e) {
    expect(e).toBeInstanceOf(OtlpDecodeError);
    return (e as Error).message;
  }
  throw new Error('decoded without an error');
}

describe('SpanDecodePlan', () => {
  it('decodes any batch as the full decoder does, span attributes cut to the kept keys, ids with or without hex (property)', () => {
    // the keys to keep: any subset of the span attribute keys the batch has, and some it has not
    const withKeep = tracesBatch.chain((batch) => {
      const keys = [...new Set(spansOf(batch).flatMap((s) => s.attributes.map((a) => a.key)))];
      return fc.tuple(fc.constant(batch), fc.subarray(keys), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.boolean());
    });
    fc.assert(
      fc.property(withKeep, ([batch, some, others, ids]) => {
        const keep = new Set([...some, ...others]);
        const bytes = encodeExportRequest(batch, 'traces');
        const got = decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan({ attributes: [...keep], ids }));
        expect(got).toEqual(expected(bytes, keep, ids));
      }),
      { numRuns: 300, seed: 21 },
    );
  });

  it('builds only the kept attributes of real GenAI spans (the OTel SDK encoder), values as the full decode', async () => {
    const bytes = await genAiTracesRequest(50, 1);
    const keep = new Set(['gen_ai.request.model', 'gen_ai.response.model', 'server.address', 'gen_ai.response.finish_reasons', 'not.there']);
    const filter = new SpanDecodePlan({ attributes: [...keep], ids: true });
    const full = decodeExportRequest('traces', bytes);
    const got = decodeExportRequest('traces', bytes, undefined, undefined, filter);
    expect(got).toEqual(expected(bytes, keep));
    const keys = spansOf(got)[7]!.attributes.map((a) => a.key);
    // the four kept ones in the span's order, and the two token counts although not asked for
    expect(keys).toEqual(['gen_ai.request.model', 'gen_ai.response.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.response.finish_reasons', 'server.address']);
    expect(spansOf(full)[7]!.attributes.length).toBe(14);
    // the same filter again (its position memo warm) gives the same
    expect(decodeExportRequest('traces', bytes, undefined, undefined, filter)).toEqual(got);
  });

  it('decides by key, not by position: spans with their attributes in other orders', () => {
    const filter = new SpanDecodePlan({ attributes: ['a', 'c'], ids: true });
    const bytes = request(
      [{ key: 'a', value: 'x' }, { key: 'b', value: 1n }, { key: 'c', value: true }],
      [{ key: 'b', value: 'y' }, { key: 'a', value: 2.5 }, { key: 'c', value: ['p', 'q'] }],
      [{ key: 'c', value: 'z' }, { key: 'b', value: ['r'] }, { key: 'a', value: { kvlist: [{ key: 'b', value: 'in a kvlist' }] } }],
    );
    const got = spansOf(decodeExportRequest('traces', bytes, undefined, undefined, filter)).map((s) => s.attributes);
    expect(got).toEqual([
      [{ key: 'a', value: 'x' }, { key: 'c', value: true }],
      [{ key: 'a', value: 2.5 }, { key: 'c', value: ['p', 'q'] }],
      [{ key: 'c', value: 'z' }, { key: 'a', value: { kvlist: [{ key: 'b', value: 'in a kvlist' }] } }],
    ]);
  });

  it('remembers a key by its bytes at each position, and never hands out a key another span had there', () => {
    // server.address and client.address: the same length at the same position; a kvlist value (the general path)
    // and a key longer than the memo holds in between
    const long = `k.${'x'.repeat(60)}`;
    const filter = new SpanDecodePlan({ attributes: ['server.address', long], ids: true });
    const bytes = request(
      [{ key: 'server.address', value: 'a' }],
      [{ key: 'client.address', value: 'b' }],
      [{ key: 'server.address', value: { kvlist: [{ key: 'client.address', value: 'c' }] } }],
      [{ key: 'client.address', value: 'd' }],
      [{ key: long, value: 'e' }],
      [{ key: 'server.address', value: 'f' }],
      [{ key: 'server.addresz', value: 'g' }],
      [{ key: 'server.address', value: 'h' }],
    );
    for (let round = 0; round < 2; round++) {
      const got = spansOf(decodeExportRequest('traces', bytes, undefined, undefined, filter)).map((s) => s.attributes);
      expect(got).toEqual([
        [{ key: 'server.address', value: 'a' }],
        [],
        [{ key: 'server.address', value: { kvlist: [{ key: 'client.address', value: 'c' }] } }],
        [],
        [{ key: long, value: 'e' }],
        [{ key: 'server.address', value: 'f' }],
        [],
        [{ key: 'server.address', value: 'h' }],
      ]);
    }
  });

  it('holds at most 800 bytes of heap a real GenAI span with what cost and percentiles read, under 65% of the full model (a count, not a timing)', async () => {
    // the shipped pipeline's reads: cost's GenAI call keys in every dialect, percentiles' dimensions and span attribute
    const plan = new SpanDecodePlan({ attributes: [...GENAI_CALL_KEYS.keys(), 'service.name', 'span.name', 'gen_ai.request.model', 'gen_ai.usage.cost'], ids: false });
    const SPANS = 2000;
    const body = await genAiTracesRequest(SPANS, 7);
    const gc = fullGc()!;
    const kept: Batch[] = [];
    /** Heap bytes a span that a decoded batch holds, measured between full collections (the batch kept alive). */
    const heldPerSpan = (p?: SpanDecodePlan) => {
      gc();
      const before = process.memoryUsage().heapUsed;
      kept.push(decodeExportRequest('traces', body, undefined, undefined, p));
      gc();
      return (process.memoryUsage().heapUsed - before) / SPANS;
    };
    decodeExportRequest('traces', body, undefined, undefined, plan); // the intern cache and the plan's memo warm
    // the least of three measurements each: a collection's timing moves one by up to ~10% (652-729 bytes seen)
    const full = Math.min(heldPerSpan(), heldPerSpan(), heldPerSpan());
    const withPlan = Math.min(heldPerSpan(plan), heldPerSpan(plan), heldPerSpan(plan));
    expect(spansOf(kept[3]!).length).toBe(SPANS);
    // measured: ~1,250 bytes a span whole, 650-730 with the plan (~800 before spans shared their empty events, links
    // and status); a plan that built every attribute holds ~1,150 (over both bounds)
    expect(withPlan).toBeLessThanOrEqual(800);
    expect(withPlan).toBeLessThan(0.65 * full);
  });

  it('keeps token counts it was not asked for, and the decoder still flags one out of range', () => {
    const bytes = request([{ key: 'gen_ai.usage.input_tokens', value: -5n }, { key: 'llm.token_count.prompt', value: '12' }, { key: 'other', value: 'x' }]);
    const checks: DecodeChecks = { tokenCountSuspect: false };
    const got = decodeExportRequest('traces', bytes, checks, undefined, new SpanDecodePlan({ attributes: [], ids: true }));
    expect(spansOf(got)[0]!.attributes).toEqual([
      { key: 'gen_ai.usage.input_tokens', value: -5n },
      { key: 'llm.token_count.prompt', value: '12' },
    ]);
    expect(checks.tokenCountSuspect).toBe(true);
  });

  it('fails on a malformed attribute it does not keep with the error of the full decoder', () => {
    const good = request([{ key: 'kept', value: 'k' }, { key: 'skipped', value: 'abc' }]);
    // the skipped attribute's string_value (field 1, wire type 2: 0x0a) turned into field 1 with wire type 7
    const at = good.indexOf(Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]));
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(good);
    bad[at] = 0x0f;
    const filter = new SpanDecodePlan({ attributes: ['kept'], ids: true });
    const message = decodeError(bad);
    expect(message).toContain('attributes[1]');
    expect(decodeError(bad, filter)).toBe(message);
    // a value cut short inside the attribute: the same error too
    const short = Buffer.from(good);
    short[at + 1] = 0x05;
    expect(decodeError(short, filter)).toBe(decodeError(short));
  });

  it('with every attribute and without ids: the attributes whole, the ids checked but not made hex', () => {
    const zero16 = '0'.repeat(32);
    const s = (traceId: string, spanId: string, parentSpanId: string): Span => ({ ...span(1, 2, { name: 'x', attributes: [{ key: 'a', value: 'b' }] }), traceId, spanId, parentSpanId, traceState: 'k=v' });
    const rs = resourceSpans('svc', [s('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', '00f067aa0ba902b7'), s(zero16, '', '0'.repeat(16))]);
    const bytes = encodeExportRequest({ resourceSpans: [rs] }, 'traces');
    const got = spansOf(decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan({ ids: false })));
    expect(got.map((x) => [x.traceId, x.spanId, x.parentSpanId, x.traceState, x.attributes])).toEqual([
      [UNDECODED_ID, UNDECODED_ID, UNDECODED_ID, '', [{ key: 'a', value: 'b' }]],
      ['', '', '', '', [{ key: 'a', value: 'b' }]],
    ]);
    // an id of the wrong size is the same error either way
    for (const [traceId, spanId, parent, field] of [
      ['0af7651916cd43dd8448eb211c8031', 'b7ad6b7169203331', '', 'trace_id'],
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b71692033', '', 'span_id'],
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 'b7ad6b7169203331aa', 'parent_span_id'],
    ] as const) {
      const bad = encodeExportRequest({ resourceSpans: [resourceSpans('svc', [s(traceId, spanId, parent)])] }, 'traces');
      const message = decodeError(bad);
      expect(message).toContain(`${field}: expected`);
      expect(decodeError(bad, new SpanDecodePlan({ ids: false }))).toBe(message);
    }
  });

  it('leaves resource, scope, event and link attributes whole', () => {
    const rs = resourceSpans('svc', [
      {
        ...span(1, 2, { name: 's' }),
        attributes: [{ key: 'dropped', value: 'x' }],
        events: [{ timeUnixNano: 5n, name: 'e', attributes: [{ key: 'dropped', value: 'event' }], droppedAttributesCount: 0 }],
        links: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceState: '', attributes: [{ key: 'dropped', value: 'link' }], droppedAttributesCount: 0, flags: 0 }],
      },
    ]);
    rs.resource.attributes.push({ key: 'dropped', value: 'resource' });
    rs.scopeSpans[0]!.scope.attributes.push({ key: 'dropped', value: 'scope' });
    const bytes = encodeExportRequest({ resourceSpans: [rs] }, 'traces');
    const got = decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan({ attributes: [], ids: true }));
    const full = decodeExportRequest('traces', bytes);
    spansOf(full)[0]!.attributes = [];
    expect(got).toEqual(full);
  });

  it('knows whether a batch decoded with a plan carries what another consumer reads (decodedCovers)', () => {
    const reads = { attributes: ['a', 'b'], ids: false };
    const bytes = request([{ key: 'a', value: 'x' }]);
    // decoded whole (or not a decoded request): covers anything
    expect(decodedCovers(decodeExportRequest('traces', bytes), undefined)).toBe(true);
    expect(decodedCovers({ resourceSpans: [] }, undefined)).toBe(true);
    const batch = decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan(reads));
    expect(decodedCovers(batch, reads)).toBe(true);
    expect(decodedCovers(batch, { attributes: ['b'], ids: false })).toBe(true);
    expect(decodedCovers(batch, { attributes: [], ids: false })).toBe(true);
    expect(decodedCovers(batch, { attributes: ['b', 'c'], ids: false })).toBe(false);
    expect(decodedCovers(batch, { attributes: ['a'], ids: true })).toBe(false);
    expect(decodedCovers(batch, { ids: false })).toBe(false);
    expect(decodedCovers(batch, undefined)).toBe(false);
    const allAttributes = decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan({ ids: false }));
    expect(decodedCovers(allAttributes, { attributes: ['x'], ids: false })).toBe(true);
    expect(decodedCovers(allAttributes, { ids: false })).toBe(true);
    expect(decodedCovers(allAttributes, { ids: true })).toBe(false);
  });

  it('fails or decodes a damaged real request exactly as the full decoder does (mutation fuzz)', async () => {
    // a real 3-span GenAI request with 1-3 random bytes overwritten, 3,000 times (a fixed seed): the error, or
    // the batch and the token-count flag, must be the full decode's (cut to the plan)
    const base = Buffer.from(await genAiTracesRequest(3, 1));
    const keep = new Set(['gen_ai.request.model', 'server.address']);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const run = (bytes: Uint8Array, plan?: SpanDecodePlan) => {
      const checks: DecodeChecks = { tokenCountSuspect: true };
      try {
        return { batch: decodeExportRequest('traces', bytes, checks, undefined, plan), suspect: checks.tokenCountSuspect, err: undefined };
      } catch (e) {
        return { batch: undefined, suspect: undefined, err: (e as Error).message };
      }
    };
    let decoded = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const b = Buffer.from(base);
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const full = run(b);
      for (const ids of [true, false]) {
        const slim = run(b, new SpanDecodePlan({ attributes: [...keep], ids }));
        expect(slim.err, `round ${iter}`).toEqual(full.err);
        if (full.err !== undefined) continue;
        decoded++;
        expect(slim.suspect).toBe(full.suspect);
        expect(slim.batch).toEqual(expected(b, keep, ids));
      }
    }
    // both kinds were seen
    expect(decoded).toBeGreaterThan(100);
    expect(decoded).toBeLessThan(6000);
  });

  it('an undecoded id, were it ever encoded, is left out: the request stays decodable (defence in depth)', () => {
    const sp = { ...span(1, 2, { name: 'x', attributes: [{ key: 'a', value: 'b' }] }), traceId: UNDECODED_ID, spanId: 'b7ad6b7169203331', parentSpanId: 'abc' };
    const bytes = encodeExportRequest({ resourceSpans: [resourceSpans('svc', [sp])] }, 'traces');
    const got = spansOf(decodeExportRequest('traces', bytes))[0]!;
    expect([got.traceId, got.spanId, got.parentSpanId, got.name, got.attributes]).toEqual(['', 'b7ad6b7169203331', '', 'x', [{ key: 'a', value: 'b' }]]);
  });
});
