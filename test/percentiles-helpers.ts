/** Helpers shared by the percentiles and cost tests: span builders, a seeded PRNG, counter reads. */
import type { KeyValue, ResourceSpans, Span } from '../src/model.ts';
import { StatusCode, emptyScope } from '../src/model.ts';
import type { ServiceTelemetry } from '../src/telemetry.ts';

/** mulberry32: a small seeded PRNG so that every run sees the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates (Box-Muller) from a uniform PRNG. */
export function normal(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function attrs(o: Record<string, string | number | bigint | boolean>): KeyValue[] {
  return Object.entries(o).map(([key, value]) => ({ key, value }));
}

/** A span ending at `endMs` (epoch ms) that lasted `durationMs`. */
export function span(endMs: number, durationMs: number, opts: { name?: string; status?: StatusCode; attributes?: KeyValue[] } = {}): Span {
  const end = BigInt(Math.round(endMs * 1e6));
  const start = end - BigInt(Math.round(durationMs * 1e6));
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceState: '',
    parentSpanId: '',
    flags: 0,
    name: opts.name ?? 'chat',
    kind: 3,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes: opts.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: opts.status ?? StatusCode.Unset, message: '' },
  };
}

export function resourceSpans(service: string, spans: Span[], resourceAttrs: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [{ key: 'service.name', value: service }, ...resourceAttrs], droppedAttributesCount: 0 },
    scopeSpans: [{ scope: emptyScope('test'), spans, schemaUrl: '' }],
    schemaUrl: '',
  };
}

/** Sum of a counter's points on a ServiceTelemetry whose labels include every entry of `labels`. */
export async function counterValue(tel: ServiceTelemetry, name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const m of await tel.meter.read()) {
    if (m.name !== name) continue;
    for (const dp of m.points) {
      const a = dp.attributes as Record<string, unknown>;
      if (Object.entries(labels).every(([k, v]) => a[k] === v)) total += dp.value as number;
    }
  }
  return total;
}
