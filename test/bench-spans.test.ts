/**
 * The benches' spans (bench/_spans.ts) are what issue 21 asks them to be: the OTel SDK's encoding of GenAI
 * client spans with 14 attributes and a Kubernetes pod's 17 resource attributes, and `fresh()` copies whose
 * timestamps follow the clock (durations kept) and whose ids, response ids and client addresses are new in
 * every copy. Decoded with vigil's own decoder. Only the clock is mocked.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeExportRequest } from '../src/otlp/proto.ts';
import type { Batch, KeyValue, Span } from '../src/model.ts';
import { genAiTracesRequest, payload } from '../bench/_spans.ts';

const spansOf = (b: Buffer): Span[] => (decodeExportRequest('traces', b) as Batch).resourceSpans!.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
const attr = (s: Span, key: string): KeyValue['value'] | undefined => s.attributes.find((a) => a.key === key)?.value;

afterEach(() => {
  vi.useRealTimers();
});

describe('bench spans', () => {
  it('are the SDK encoding of GenAI spans with 14 attributes and 17 Kubernetes resource attributes', async () => {
    const raw = await genAiTracesRequest(100, 1);
    const batch = decodeExportRequest('traces', raw) as Batch;
    const resource = batch.resourceSpans![0]!.resource.attributes.map((a) => a.key);
    expect(resource).toHaveLength(17);
    expect(resource.filter((k) => k.startsWith('k8s.'))).toHaveLength(8);
    const spans = spansOf(raw);
    expect(spans).toHaveLength(100);
    for (const s of spans) expect(s.attributes).toHaveLength(14);
    expect(raw.length / 100).toBeGreaterThan(500);
    expect(new Set(spans.map((s) => attr(s, 'gen_ai.response.id'))).size).toBe(100);
    expect(spans.filter((s) => s.status.code === 2)).toHaveLength(2);
  });

  it('fresh() moves timestamps to the clock, keeps durations, and renews every id, response id and address', async () => {
    const t0 = Date.now();
    const raw = await genAiTracesRequest(64, 2);
    const p = payload(raw);
    expect(p.spans).toBe(64);
    const before = spansOf(raw);

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(t0 + 90_000);
    const a = p.fresh();
    const b = p.fresh();
    expect(a.length).toBe(raw.length);
    expect(raw.equals(p.bytes) && !a.equals(raw)).toBe(true);
    const after = spansOf(a);
    const other = spansOf(b);
    const newestBefore = before.reduce((m, s) => (s.endTimeUnixNano > m ? s.endTimeUnixNano : m), 0n);
    const shift = BigInt(t0 + 90_000) * 1_000_000n - newestBefore;
    expect(shift).toBeGreaterThanOrEqual(89_000n * 1_000_000n);
    after.forEach((s, i) => {
      const old = before[i]!;
      expect(s.endTimeUnixNano - s.startTimeUnixNano).toBe(old.endTimeUnixNano - old.startTimeUnixNano);
      expect(s.endTimeUnixNano - old.endTimeUnixNano).toBe(shift);
      expect(s.name).toBe(old.name);
      expect(attr(s, 'gen_ai.usage.input_tokens')).toBe(attr(old, 'gen_ai.usage.input_tokens'));
      expect(String(attr(s, 'gen_ai.response.id'))).toMatch(/^chatcmpl-[A-Za-z0-9_-]{16}$/);
      expect(String(attr(s, 'client.address'))).toMatch(/^10\.(1\d\d|2[0-5]\d)\.(1\d\d|2[0-5]\d)\.(1\d\d|2[0-5]\d)$/);
    });
    for (const key of ['traceId', 'spanId'] as const) expect(new Set([...before, ...after, ...other].map((s) => s[key])).size).toBe(3 * 64);
    for (const key of ['gen_ai.response.id', 'client.address'])
      expect(new Set([...before, ...after, ...other].map((s) => attr(s, key))).size).toBeGreaterThan(3 * 64 - 3);
  });
});
