import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countItems } from '../model.ts';
import type { Batch } from '../model.ts';
import { parseOtlpJson } from './json.ts';
import { decodeExportRequest, encodeExportRequest } from './proto.ts';
import { scanExportRequest } from './scan.ts';
import { tokenAttributesProblem } from '../limits.ts';
import { signalBatches } from '../../test/intake-arbitraries.ts';
import { genAiTracesRequest } from '../../bench/ingest.ts';

type Signal = 'traces' | 'metrics' | 'logs';
const SIGNALS: Signal[] = ['traces', 'metrics', 'logs'];

// ================================================================================================ oracle

/** As the OTLP receiver's validId: present and not all zero. */
const validId = (id: string) => id !== '' && /[^0]/.test(id);

/** Items the receiver's rejectInvalid would drop (spans without valid ids or with a token count out of range, metrics without a name). */
function invalidItems(batch: Batch): number {
  let bad = 0;
  for (const rs of batch.resourceSpans ?? [])
    for (const ss of rs.scopeSpans) for (const s of ss.spans) if (!validId(s.traceId) || !validId(s.spanId) || tokenAttributesProblem(s.attributes)) bad++;
  for (const rm of batch.resourceMetrics ?? []) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.name === '') bad++;
  return bad;
}

/**
 * The scan of x, after checking the contract's invariant: a count (>= 0) means the decoder succeeds, the
 * decoded batch has that many items and none the receiver would reject.
 */
function checked(signal: Signal, x: Uint8Array): number {
  const n = scanExportRequest(signal, x);
  if (n >= 0) {
    let batch: Batch;
    try {
      batch = decodeExportRequest(signal, x);
    } catch (e) {
      throw new Error(`scan said ${n} but the decoder failed: ${(e as Error).message}; input ${Buffer.from(x).toString('hex')}`);
    }
    expect(countItems(batch)[signal]).toBe(n);
    expect(invalidItems(batch)).toBe(0);
  }
  return n;
}

/** The decoder's answer for a well-formed request: the count, or -1 when it fails or has invalid items. */
function oracle(signal: Signal, x: Uint8Array): number {
  let batch: Batch;
  try {
    batch = decodeExportRequest(signal, x);
  } catch {
    return -1;
  }
  return invalidItems(batch) ? -1 : countItems(batch)[signal];
}

// =========================================================================================== arbitraries
// The codec tests' batches (test/intake-arbitraries.ts), with ids that are sometimes empty or all zero, and
// a variant whose items are all valid (span ids present and not zero, metric names not empty).

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const anyId = (bytes: number) =>
  fc.oneof(
    { arbitrary: fc.constant(''), weight: 1 },
    { arbitrary: fc.constant('0'.repeat(bytes * 2)), weight: 1 },
    { arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(hexOf), weight: 6 },
  );
const goodId = (bytes: number) =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .filter((b) => b.some((x) => x !== 0))
    .map(hexOf);
const anyString = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 100, maxLength: 300 }));
const batches = (valid: boolean) =>
  signalBatches({
    traceId: valid ? goodId(16) : anyId(16),
    spanId: valid ? goodId(8) : anyId(8),
    otherTraceId: anyId(16),
    otherSpanId: anyId(8),
    metricName: valid ? fc.string({ minLength: 1, maxLength: 30 }) : fc.oneof({ arbitrary: fc.constant(''), weight: 1 }, { arbitrary: anyString, weight: 4 }),
  });

const VALID = batches(true);
const ANY = batches(false);
const encodedValid = (signal: Signal) => VALID[signal].map((b) => Buffer.from(encodeExportRequest(b, signal)));
const encodedAny = (signal: Signal) => ANY[signal].map((b) => Buffer.from(encodeExportRequest(b, signal)));

// ========================================================================================== wire helpers

function varint(v: number | bigint): number[] {
  let u = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}
const tag = (field: number, wt: number) => varint(field * 8 + wt);
const ld = (field: number, body: number[]) => [...tag(field, 2), ...varint(body.length), ...body];
const bytesOf = (n: number, fill = 1) => new Array<number>(n).fill(fill);
const u8 = (a: number[]) => Uint8Array.from(a);

/** A request of one resource, one scope, with the given spans (each a Span message body). */
const tracesReq = (...spans: number[][]) => u8(ld(1, ld(2, spans.flatMap((s) => ld(2, s)))));
const metricsReq = (...metrics: number[][]) => u8(ld(1, ld(2, metrics.flatMap((m) => ld(2, m)))));
const logsReq = (...logs: number[][]) => u8(ld(1, ld(2, logs.flatMap((l) => ld(2, l)))));
const goodSpan = (...extra: number[][]) => [...ld(1, bytesOf(16)), ...ld(2, bytesOf(8)), ...extra.flat()];
const attr = (key: string, value: number[]) => ld(9, [...ld(1, [...Buffer.from(key)]), ...ld(2, value)]);

// ================================================================================ schema-guided generator
// Random messages that follow the OTLP schema, in any field order, with unknown fields (including groups
// and the decoder's table holes), packed and unpacked repeated scalars, overlong varints and deep nesting.
// A generated message is either clean (the decoder succeeds, nothing is rejected, every singular field at
// most once: the scan must give the count) or carries one mutation that must make the scan give -1.

type Kind = 'varint' | 'i64' | 'i32' | 'str' | 'id8' | 'id16' | 'packed64' | 'packedVarint' | string;
interface FieldSpec {
  n: number;
  k: Kind;
  card: 'rep' | 'one' | 'req';
  oneof?: true;
}
const f = (n: number, k: Kind, card: FieldSpec['card'] = 'one', oneof?: true): FieldSpec => ({ n, k, card, oneof });
const SCHEMA: Record<string, { fields: FieldSpec[]; known: number[] }> = {
  TracesReq: { fields: [f(1, 'ResourceSpans', 'rep')], known: [1] },
  MetricsReq: { fields: [f(1, 'ResourceMetrics', 'rep')], known: [1] },
  LogsReq: { fields: [f(1, 'ResourceLogs', 'rep')], known: [1] },
  ResourceSpans: { fields: [f(1, 'Resource'), f(2, 'ScopeSpans', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  ResourceMetrics: { fields: [f(1, 'Resource'), f(2, 'ScopeMetrics', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  ResourceLogs: { fields: [f(1, 'Resource'), f(2, 'ScopeLogs', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  ScopeSpans: { fields: [f(1, 'Scope'), f(2, 'Span', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  ScopeMetrics: { fields: [f(1, 'Scope'), f(2, 'Metric', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  ScopeLogs: { fields: [f(1, 'Scope'), f(2, 'LogRecord', 'rep'), f(3, 'str')], known: [1, 2, 3] },
  Resource: { fields: [f(1, 'KeyValue', 'rep'), f(2, 'varint')], known: [1, 2] },
  Scope: { fields: [f(1, 'str'), f(2, 'str'), f(3, 'KeyValue', 'rep'), f(4, 'varint')], known: [1, 2, 3, 4] },
  KeyValue: { fields: [f(1, 'str'), f(2, 'AnyValue')], known: [1, 2] },
  AnyValue: {
    fields: [f(1, 'str', 'one', true), f(2, 'varint', 'one', true), f(3, 'varint', 'one', true), f(4, 'i64', 'one', true), f(5, 'ArrayValue', 'one', true), f(6, 'KvList', 'one', true), f(7, 'str', 'one', true)],
    known: [1, 2, 3, 4, 5, 6, 7],
  },
  ArrayValue: { fields: [f(1, 'AnyValue', 'rep')], known: [1] },
  KvList: { fields: [f(1, 'KeyValue', 'rep')], known: [1] },
  Span: {
    fields: [
      f(1, 'id16', 'req'),
      f(2, 'id8', 'req'),
      f(3, 'str'),
      f(4, 'id8'),
      f(5, 'str'),
      f(6, 'varint'),
      f(7, 'i64'),
      f(8, 'i64'),
      f(9, 'KeyValue', 'rep'),
      f(10, 'varint'),
      f(11, 'Event', 'rep'),
      f(12, 'varint'),
      f(13, 'Link', 'rep'),
      f(14, 'varint'),
      f(15, 'Status'),
      f(16, 'i32'),
    ],
    known: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  },
  Event: { fields: [f(1, 'i64'), f(2, 'str'), f(3, 'KeyValue', 'rep'), f(4, 'varint')], known: [1, 2, 3, 4] },
  Link: { fields: [f(1, 'id16'), f(2, 'id8'), f(3, 'str'), f(4, 'KeyValue', 'rep'), f(5, 'varint'), f(6, 'i32')], known: [1, 2, 3, 4, 5, 6] },
  Status: { fields: [f(2, 'str'), f(3, 'varint')], known: [2, 3] },
  Metric: {
    fields: [
      f(1, 'str', 'req'),
      f(2, 'str'),
      f(3, 'str'),
      f(5, 'Gauge', 'one', true),
      f(7, 'Sum', 'one', true),
      f(9, 'Histogram', 'one', true),
      f(10, 'ExpHistogram', 'one', true),
      f(11, 'Summary', 'one', true),
      f(12, 'KeyValue', 'rep'),
    ],
    known: [1, 2, 3, 5, 7, 9, 10, 11, 12],
  },
  Gauge: { fields: [f(1, 'NumberDP', 'rep')], known: [1] },
  Sum: { fields: [f(1, 'NumberDP', 'rep'), f(2, 'varint'), f(3, 'varint')], known: [1, 2, 3] },
  // The decoder reads Histogram and ExponentialHistogram with Sum's field table: field 3 is known there.
  Histogram: { fields: [f(1, 'HistDP', 'rep'), f(2, 'varint')], known: [1, 2, 3] },
  ExpHistogram: { fields: [f(1, 'ExpDP', 'rep'), f(2, 'varint')], known: [1, 2, 3] },
  Summary: { fields: [f(1, 'SummaryDP', 'rep')], known: [1] },
  NumberDP: {
    fields: [f(2, 'i64'), f(3, 'i64'), f(4, 'i64', 'one', true), f(6, 'i64', 'one', true), f(5, 'Exemplar', 'rep'), f(7, 'KeyValue', 'rep'), f(8, 'varint')],
    known: [2, 3, 4, 5, 6, 7, 8],
  },
  Exemplar: {
    fields: [f(2, 'i64'), f(3, 'i64', 'one', true), f(6, 'i64', 'one', true), f(4, 'id8'), f(5, 'id16'), f(7, 'KeyValue', 'rep')],
    known: [2, 3, 4, 5, 6, 7],
  },
  HistDP: {
    fields: [
      f(2, 'i64'),
      f(3, 'i64'),
      f(4, 'i64'),
      f(5, 'i64'),
      f(6, 'packed64', 'rep'),
      f(7, 'packed64', 'rep'),
      f(8, 'Exemplar', 'rep'),
      f(9, 'KeyValue', 'rep'),
      f(10, 'varint'),
      f(11, 'i64'),
      f(12, 'i64'),
    ],
    known: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  },
  ExpDP: {
    fields: [
      f(1, 'KeyValue', 'rep'),
      f(2, 'i64'),
      f(3, 'i64'),
      f(4, 'i64'),
      f(5, 'i64'),
      f(6, 'varint'),
      f(7, 'i64'),
      f(8, 'Buckets'),
      f(9, 'Buckets'),
      f(10, 'varint'),
      f(11, 'Exemplar', 'rep'),
      f(12, 'i64'),
      f(13, 'i64'),
      f(14, 'i64'),
    ],
    known: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  },
  Buckets: { fields: [f(1, 'varint'), f(2, 'packedVarint', 'rep')], known: [1, 2] },
  SummaryDP: {
    fields: [f(2, 'i64'), f(3, 'i64'), f(4, 'i64'), f(5, 'i64'), f(6, 'Quantile', 'rep'), f(7, 'KeyValue', 'rep'), f(8, 'varint')],
    known: [2, 3, 4, 5, 6, 7, 8],
  },
  Quantile: { fields: [f(1, 'i64'), f(2, 'i64')], known: [1, 2] },
  LogRecord: {
    fields: [
      f(1, 'i64'),
      f(2, 'varint'),
      f(3, 'str'),
      f(5, 'AnyValue'),
      f(6, 'KeyValue', 'rep'),
      f(7, 'varint'),
      f(8, 'i32'),
      f(9, 'id16'),
      f(10, 'id8'),
      f(11, 'i64'),
      f(12, 'str'),
    ],
    known: [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12],
  },
};
const isMessage = (k: Kind) => k in SCHEMA;
/** Wire types the decoder accepts for a field of this kind. */
const accepted = (k: Kind): number[] =>
  k === 'varint' ? [0] : k === 'i64' ? [1] : k === 'i32' ? [5] : k === 'packed64' ? [1, 2] : k === 'packedVarint' ? [0, 2] : [2];

type Mutation = 'dup' | 'wrongWire' | 'badId' | 'zeroSpanId' | 'noSpanId' | 'emptyName' | 'field0' | 'badWire' | 'longVarint' | 'badPacked' | 'badGroupEnd';
const MUTATIONS: Mutation[] = ['dup', 'wrongWire', 'badId', 'zeroSpanId', 'noSpanId', 'emptyName', 'field0', 'badWire', 'longVarint', 'badPacked', 'badGroupEnd'];

class Gen {
  /** Whether the message must be rejected (a mutation applied, or nested deeper than the decoder allows). */
  reject = false;
  /** How many mutations were applied (at most one is tried per message, and only with `mutate`). */
  mutations = 0;
  /**
   * Whether a message lost its last bytes (inside its own, consistent, length): the outcome depends on what
   * was cut (a whole field may go), so the scan must then agree with the decoder, whatever it says.
   */
  cut = false;
  private s: number;
  private deep: number;
  constructor(
    seed: number,
    private readonly mutate: boolean,
  ) {
    this.s = seed >>> 0;
    // Now and then a chain of nested values (arrays, kvlists, groups) reaching around the depth limit.
    this.deep = this.chance(0.15) ? 56 + this.int(14) : 0;
  }
  rnd(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  /** A varint of v, sometimes overlong (padded to up to 10 bytes), which the decoder accepts. */
  varint(v: number | bigint): number[] {
    const out = varint(v);
    if (out.length < 10 && this.chance(0.03)) {
      const pad = 1 + this.int(10 - out.length);
      out[out.length - 1]! |= 0x80;
      for (let i = 0; i < pad - 1; i++) out.push(0x80);
      out.push(0);
    }
    return out;
  }
  /** A tag; now and then with bits above 32 set, which the decoder's 32-bit varint read drops. */
  tag(field: number, wt: number): number[] {
    if (this.chance(0.01)) return varint(BigInt(field * 8 + wt) | (BigInt(1 + this.int(1000)) << 32n));
    return this.varint(field * 8 + wt);
  }
  ld(field: number, body: number[]): number[] {
    return [...this.tag(field, 2), ...this.varint(body.length), ...body];
  }
  randomBytes(n: number): number[] {
    return Array.from({ length: n }, () => this.int(256));
  }
  scalarValue(): number | bigint {
    return this.pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) ?? 0;
  }

  /** Bytes of one occurrence of a field of `kind` (valid), in a message at `depth`. */
  field(type: string, spec: FieldSpec, depth: number): number[] {
    const { n, k } = spec;
    switch (k) {
      case 'varint':
        return [...this.tag(n, 0), ...this.varint(this.chance(0.1) ? -1n - BigInt(this.int(1000)) : this.scalarValue())];
      case 'i64':
        return [...this.tag(n, 1), ...this.randomBytes(8)];
      case 'i32':
        return [...this.tag(n, 5), ...this.randomBytes(4)];
      case 'str':
        if (type === 'Metric' && n === 1) return this.ld(n, [...Buffer.from(`m${this.int(100)}`)]);
        return this.ld(n, this.randomBytes(this.chance(0.3) ? 0 : this.int(12)));
      case 'id8':
      case 'id16': {
        const size = k === 'id8' ? 8 : 16;
        if (type === 'Span') return this.ld(n, [...this.randomBytes(size - 1), 1 + this.int(255)]);
        return this.ld(n, this.chance(0.3) ? [] : this.chance(0.2) ? bytesOf(size, 0) : this.randomBytes(size));
      }
      case 'packed64': {
        const m = this.int(4);
        if (this.chance(0.5)) return this.ld(n, this.randomBytes(8 * m));
        return Array.from({ length: m }, () => [...this.tag(n, 1), ...this.randomBytes(8)]).flat();
      }
      case 'packedVarint': {
        const m = this.int(4);
        if (this.chance(0.5)) {
          if (depth + 1 > 64) this.reject = true;
          return this.ld(n, Array.from({ length: m }, () => this.varint(this.scalarValue())).flat());
        }
        return Array.from({ length: m }, () => [...this.tag(n, 0), ...this.varint(this.scalarValue())]).flat();
      }
      default: {
        // A message: KeyValue.value is read inline by the decoder (same depth), everything else one deeper.
        const d = type === 'KeyValue' && n === 2 ? depth : depth + 1;
        if (d > 64) this.reject = true;
        return this.ld(n, this.message(k, d));
      }
    }
  }

  /** How many times a repeated field occurs, fewer the deeper. */
  repeats(type: string, k: Kind, depth: number): number {
    // In deep mode: one of each at the top, then only the chain of arrays and kvlists.
    if (this.deep) return depth < 4 ? 1 : (type === 'ArrayValue' || type === 'KvList') && depth < this.deep ? 1 : 0;
    if (depth > 7) return 0;
    if (type.endsWith('Req')) return this.int(3);
    return this.int(isMessage(k) ? (depth < 4 ? 4 : 2) : 3);
  }

  /** An unknown field (a hole in the decoder's table or a number past it), any valid wire type. */
  unknown(type: string, depth: number): number[] {
    const known = SCHEMA[type]!.known;
    let field: number;
    do field = this.chance(0.8) ? 1 + this.int(40) : this.pick([1000, 2 ** 20, 2 ** 29 - 1]);
    while (known.includes(field));
    return this.unknownValue(field, depth, false);
  }
  unknownValue(field: number, depth: number, chain: boolean): number[] {
    const wt = this.deep && depth < this.deep && (chain || this.chance(0.3)) ? 3 : this.pick([0, 1, 2, 3, 5]);
    switch (wt) {
      case 0:
        return [...this.tag(field, 0), ...this.varint(this.scalarValue())];
      case 1:
        return [...this.tag(field, 1), ...this.randomBytes(8)];
      case 5:
        return [...this.tag(field, 5), ...this.randomBytes(4)];
      case 2:
        return this.ld(field, this.randomBytes(this.int(10)));
      default: {
        // A group: one level of nesting; inside, any field number but 0 goes.
        if (depth + 1 > 64) this.reject = true;
        const inner: number[] = [];
        const parts = this.deep && depth < this.deep ? 1 : depth > 8 ? 0 : this.int(3);
        for (let i = 0; i < parts; i++) inner.push(...this.unknownValue(1 + this.int(20), depth + 1, true));
        return [...this.tag(field, 3), ...inner, ...this.tag(field, 4)];
      }
    }
  }

  message(type: string, depth: number): number[] {
    const schema = SCHEMA[type]!;
    const parts: number[][] = [];
    const oneofs = schema.fields.filter((s) => s.oneof);
    // In a deep chain, an AnyValue continues it with an array or a kvlist.
    const chain = this.deep && type === 'AnyValue' && depth < this.deep;
    const chosen = chain ? oneofs.find((s) => s.n === (this.chance(0.5) ? 5 : 6)) : oneofs.length && this.chance(0.7) ? this.pick(oneofs) : undefined;
    for (const spec of schema.fields) {
      let times: number;
      if (spec.oneof) times = spec === chosen ? 1 : 0;
      else if (spec.card === 'req') times = 1;
      else if (spec.card === 'rep') times = this.repeats(type, spec.k, depth);
      else times = this.deep && depth > 3 ? 0 : this.chance(0.5) ? 1 : 0;
      for (let i = 0; i < times; i++) parts.push(this.field(type, spec, depth));
      // A required field sent twice: the last one counts, so an empty one before the valid one is fine.
      if (spec.card === 'req' && this.chance(0.05)) parts.unshift(this.ld(spec.n, []));
    }
    if (this.chance(depth > 8 ? 0.05 : 0.2)) for (let i = 1 + this.int(2); i > 0; i--) parts.splice(this.int(parts.length + 1), 0, this.unknown(type, depth));
    // Field order does not matter to the decoder (except for required fields, kept in order above).
    if (this.chance(0.3)) {
      const req = new Set(schema.fields.filter((s) => s.card === 'req').map((s) => s.n));
      if (req.size === 0)
        for (let i = parts.length - 1; i > 0; i--) {
          const j = this.int(i + 1);
          [parts[i], parts[j]] = [parts[j]!, parts[i]!];
        }
    }
    if (this.mutate && this.mutations === 0 && this.chance(0.1)) this.mutateInto(type, depth, parts);
    const bytes = parts.flat();
    if (this.mutate && this.mutations === 0 && bytes.length && !type.endsWith('Req') && this.chance(0.04)) {
      bytes.length -= 1 + this.int(Math.min(3, bytes.length));
      this.mutations++;
      this.cut = true;
    }
    return bytes;
  }

  /** Applies one mutation that must make the scan answer -1, if one fits this message. */
  mutateInto(type: string, depth: number, parts: number[][]): void {
    const schema = SCHEMA[type]!;
    const m = this.pick(MUTATIONS);
    const at = () => this.int(parts.length + 1);
    const done = (p: number[]) => {
      parts.splice(at(), 0, p);
      this.mutations++;
      this.reject = true;
    };
    switch (m) {
      case 'dup': {
        // A singular message field, or a second member of a oneof, sent twice.
        const singular = schema.fields.filter((s) => (s.card === 'one' && isMessage(s.k)) || s.oneof);
        if (singular.length === 0 || (this.deep && depth > 6)) return;
        const a = this.pick(singular);
        const b = a.oneof ? this.pick(singular.filter((s) => s.oneof)) : a;
        const saved = this.deep;
        this.deep = 0;
        const pa = this.field(type, a, depth);
        const pb = this.field(type, b, depth);
        this.deep = saved;
        parts.splice(at(), 0, pa);
        done(pb);
        return;
      }
      case 'wrongWire': {
        const spec = this.pick(schema.fields);
        const wt = this.pick([0, 1, 2, 3, 5].filter((w) => !accepted(spec.k).includes(w)));
        const value = wt === 0 ? [1] : wt === 1 ? bytesOf(8) : wt === 5 ? bytesOf(4) : wt === 2 ? [0] : this.tag(spec.n, 4);
        done([...this.tag(spec.n, wt), ...value]);
        return;
      }
      case 'badId': {
        const ids = schema.fields.filter((s) => s.k === 'id8' || s.k === 'id16');
        if (ids.length === 0) return;
        const spec = this.pick(ids);
        const size = spec.k === 'id8' ? 8 : 16;
        let n: number;
        do n = this.int(20);
        while (n === 0 || n === size);
        done(this.ld(spec.n, this.randomBytes(n)));
        return;
      }
      case 'zeroSpanId':
      case 'noSpanId': {
        if (type !== 'Span') return;
        // Replace the span's last trace_id or span_id by an empty or all-zero one.
        const n = this.chance(0.5) ? 1 : 2;
        parts.push(this.ld(n, m === 'noSpanId' ? [] : bytesOf(n === 1 ? 16 : 8, 0)));
        this.mutations++;
        this.reject = true;
        return;
      }
      case 'emptyName':
        if (type !== 'Metric') return;
        parts.push(this.ld(1, []));
        this.mutations++;
        this.reject = true;
        return;
      case 'field0':
        done([...this.tag(0, this.pick([0, 1, 2, 5])), 0, 0, 0, 0, 0, 0, 0, 0]);
        return;
      case 'badWire':
        done([...this.tag(20 + this.int(10), this.pick([4, 6, 7])), 0, 0, 0, 0, 0, 0, 0, 0]);
        return;
      case 'longVarint': {
        const v = schema.fields.filter((s) => s.k === 'varint');
        if (v.length === 0) return;
        done([...this.tag(this.pick(v).n, 0), ...bytesOf(10, 0x80), 0]);
        return;
      }
      case 'badPacked': {
        const v = schema.fields.filter((s) => s.k === 'packed64');
        if (v.length === 0) return;
        done(this.ld(this.pick(v).n, this.randomBytes(1 + this.int(7))));
        return;
      }
      case 'badGroupEnd':
        done([...this.tag(30, 3), ...this.tag(31, 4)]);
        return;
    }
  }
}

const REQ: Record<Signal, string> = { traces: 'TracesReq', metrics: 'MetricsReq', logs: 'LogsReq' };

// ================================================================================================= tests

describe('scanExportRequest', () => {
  it('counts the items of every OTLP example fixture, round-tripped to protobuf', () => {
    const dir = new URL('../../test/fixtures/otlp-examples/', import.meta.url);
    const files = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    let seen = 0;
    for (const name of files) {
      const text = fs.readFileSync(new URL(name, dir), 'utf8');
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const signal: Signal = 'resourceSpans' in parsed ? 'traces' : 'resourceMetrics' in parsed ? 'metrics' : 'logs';
      const bytes = encodeExportRequest(parseOtlpJson(signal, text), signal);
      const expected = countItems(decodeExportRequest(signal, bytes))[signal];
      expect(expected).toBeGreaterThan(0);
      expect(scanExportRequest(signal, bytes), name).toBe(expected);
      seen++;
    }
    expect(seen).toBe(files.length);
  });

  for (const signal of SIGNALS) {
    describe(signal, () => {
      it('counts the items of generated batches whose items are all valid', () => {
        fc.assert(
          fc.property(encodedValid(signal), (x) => {
            const n = checked(signal, x);
            expect(n).toBeGreaterThanOrEqual(0);
            expect(n).toBe(countItems(decodeExportRequest(signal, x))[signal]);
          }),
          { numRuns: 150 },
        );
      });

      it('answers -1 exactly when a generated batch has an item the receiver rejects', () => {
        fc.assert(
          fc.property(encodedAny(signal), (x) => {
            expect(checked(signal, x)).toBe(oracle(signal, x));
          }),
          { numRuns: 150 },
        );
      });

      it('keeps the invariant on every truncation', () => {
        fc.assert(
          fc.property(encodedAny(signal), (x) => {
            for (let cut = 0; cut < x.length; cut++) checked(signal, x.subarray(0, cut));
          }),
          { numRuns: 30 },
        );
      });

      it('keeps the invariant on byte flips, insertions, deletions and random bytes', () => {
        fc.assert(
          fc.property(
            encodedAny(signal),
            fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'xor')), { minLength: 1, maxLength: 3 }),
            (x, edits) => {
              let b = [...x];
              for (const [at, byte, op] of edits) {
                const i = b.length ? at % (b.length + (op === 'insert' ? 1 : 0)) : 0;
                if (op === 'insert') b.splice(i, 0, byte);
                else if (!b.length) continue;
                else if (op === 'delete') b.splice(i, 1);
                else if (op === 'set') b[i] = byte;
                else b[i] = b[i]! ^ (1 << (byte & 7));
              }
              checked(signal, u8(b));
            },
          ),
          { numRuns: 400 },
        );
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 300 }), (x) => {
            checked(signal, x);
          }),
          { numRuns: 1000 },
        );
      });

      it('adds up concatenated requests, and keeps the invariant on damaged concatenations', () => {
        fc.assert(
          fc.property(encodedValid(signal), encodedAny(signal), fc.nat(), (a, b, cut) => {
            const ab = Buffer.concat([a, b]);
            const sa = checked(signal, a);
            const sb = checked(signal, b);
            expect(checked(signal, ab)).toBe(sb < 0 ? -1 : sa + sb);
            checked(signal, Buffer.concat([a.subarray(0, a.length ? cut % a.length : 0), b]));
            checked(signal, Buffer.concat([b, a.subarray(0, a.length ? cut % a.length : 0)]));
          }),
          { numRuns: 150 },
        );
      });

      it('agrees with the decoder on schema-shaped messages with unknown fields, groups, packed lists and deep nesting', () => {
        let clean = 0;
        let mutated = 0;
        let cut = 0;
        fc.assert(
          fc.property(fc.integer(), fc.boolean(), (seed, mutate) => {
            const g = new Gen(seed, mutate);
            const x = u8(g.message(REQ[signal], 0));
            const n = checked(signal, x);
            if (g.reject) {
              mutated++;
              expect(n, 'a mutated or too deep message').toBe(-1);
            } else if (g.cut) {
              cut++;
              expect(n, 'a message cut short inside').toBe(oracle(signal, x));
            } else {
              clean++;
              // A clean message: the decoder succeeds and the scan gives its count.
              expect(oracle(signal, x), 'the generator made a message the decoder refuses').toBeGreaterThanOrEqual(0);
              expect(n).toBe(oracle(signal, x));
            }
            // Damaged copies: truncated, and one byte changed.
            if (x.length) {
              checked(signal, x.subarray(0, g.int(x.length)));
              const y = Uint8Array.from(x);
              y[g.int(y.length)] = g.int(256);
              checked(signal, y);
            }
          }),
          { numRuns: 1500 },
        );
        expect(clean).toBeGreaterThan(100);
        expect(mutated).toBeGreaterThan(10);
        expect(cut).toBeGreaterThan(5);
      });
    });
  }

  describe('answers -1 for', () => {
    it('a span without trace_id, or without span_id', () => {
      expect(scanExportRequest('traces', tracesReq(goodSpan()))).toBe(1);
      expect(scanExportRequest('traces', tracesReq(ld(2, bytesOf(8))))).toBe(-1);
      expect(scanExportRequest('traces', tracesReq(ld(1, bytesOf(16))))).toBe(-1);
      expect(scanExportRequest('traces', tracesReq([...ld(1, []), ...ld(2, bytesOf(8))]))).toBe(-1);
      // The last occurrence counts, as in the decoder.
      expect(scanExportRequest('traces', tracesReq(goodSpan(ld(1, []))))).toBe(-1);
      expect(scanExportRequest('traces', tracesReq([...ld(1, []), ...goodSpan()]))).toBe(1);
    });

    it('an all-zero trace_id or span_id', () => {
      expect(scanExportRequest('traces', tracesReq([...ld(1, bytesOf(16)), ...ld(2, bytesOf(8, 0))]))).toBe(-1);
      expect(scanExportRequest('traces', tracesReq([...ld(1, bytesOf(16, 0)), ...ld(2, bytesOf(8))]))).toBe(-1);
      const x = tracesReq(goodSpan(), [...ld(1, bytesOf(16)), ...ld(2, [0, 0, 0, 0, 0, 0, 0, 1])]);
      expect(scanExportRequest('traces', x)).toBe(2);
    });

    it('a span_id of 7 bytes, and other id lengths the decoder refuses', () => {
      const bad: [Signal, Uint8Array][] = [
        ['traces', tracesReq([...ld(1, bytesOf(16)), ...ld(2, bytesOf(7))])],
        ['traces', tracesReq([...ld(1, bytesOf(15)), ...ld(2, bytesOf(8))])],
        ['traces', tracesReq(goodSpan(ld(4, bytesOf(9))))], // parent_span_id
        ['traces', tracesReq(goodSpan(ld(13, ld(1, bytesOf(8)))))], // a link's trace_id
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(5, ld(1, ld(5, ld(4, bytesOf(16)))))])], // an exemplar's span_id
        ['logs', logsReq(ld(10, bytesOf(16)))], // a log record's span_id
      ];
      for (const [signal, x] of bad) {
        expect(() => decodeExportRequest(signal, x)).toThrow();
        expect(scanExportRequest(signal, x)).toBe(-1);
      }
      // Empty ids are fine where the receiver does not look.
      expect(scanExportRequest('traces', tracesReq(goodSpan(ld(4, []), ld(13, [...ld(1, []), ...ld(2, [])]))))).toBe(1);
      expect(scanExportRequest('logs', logsReq([...ld(9, []), ...ld(10, [])]))).toBe(1);
    });

    it('a metric without a name', () => {
      const gauge = ld(5, [...ld(1, []), ...ld(1, [])]);
      expect(scanExportRequest('metrics', metricsReq([...ld(1, [0x6d]), ...gauge]))).toBe(2);
      expect(scanExportRequest('metrics', metricsReq(gauge))).toBe(-1);
      expect(scanExportRequest('metrics', metricsReq([...ld(1, []), ...gauge]))).toBe(-1);
      expect(scanExportRequest('metrics', metricsReq([...ld(1, [0x6d]), ...gauge, ...ld(1, [])]))).toBe(-1);
      // A named metric without data counts nothing, and is fine.
      expect(scanExportRequest('metrics', metricsReq(ld(1, [0x6d])))).toBe(0);
    });

    it('a known field with the wrong wire type', () => {
      const cases: [Signal, Uint8Array][] = [
        ['traces', tracesReq(goodSpan([...tag(5, 0), 1]))], // Span.name as a varint
        ['traces', tracesReq(goodSpan([...tag(7, 0), 1]))], // start_time_unix_nano as a varint
        ['traces', tracesReq(goodSpan([...tag(16, 0), 1]))], // flags as a varint
        ['traces', u8([...tag(1, 0), 1])], // resource_spans as a varint
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(9, [...tag(3, 0), 1])])], // Histogram field 3 (Sum's is_monotonic)
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(9, ld(1, ld(6, [1])))])], // packed bucket_counts of 1 byte
        ['logs', logsReq([...tag(8, 0), 1])], // LogRecord.flags as a varint
      ];
      for (const [signal, x] of cases) {
        expect(() => decodeExportRequest(signal, x)).toThrow();
        expect(scanExportRequest(signal, x)).toBe(-1);
      }
      // Holes in the decoder's tables are unknown fields, skipped with any wire type.
      expect(scanExportRequest('traces', tracesReq(goodSpan(ld(15, [...tag(1, 2), 0]))))).toBe(1); // Status field 1
      expect(scanExportRequest('metrics', metricsReq([...ld(1, [0x6d]), ...tag(4, 0), 1, ...tag(8, 5), 0, 0, 0, 0]))).toBe(0);
      // Repeated scalars: packed and unpacked both.
      const hist = ld(9, ld(1, [...ld(6, bytesOf(16)), ...tag(6, 1), ...bytesOf(8), ...ld(7, []), ...tag(7, 1), ...bytesOf(8)]));
      expect(scanExportRequest('metrics', metricsReq([...ld(1, [0x6d]), ...hist]))).toBe(1);
      const buckets = ld(10, ld(1, ld(8, [...ld(2, [1, 0x80, 1, 2]), ...tag(2, 0), 5])));
      expect(scanExportRequest('metrics', metricsReq([...ld(1, [0x6d]), ...buckets]))).toBe(1);
    });

    it('a truncated last byte', () => {
      const batch = parseOtlpJson('traces', fs.readFileSync(new URL('../../test/fixtures/otlp-examples/trace.json', import.meta.url), 'utf8'));
      const x = encodeExportRequest(batch, 'traces');
      expect(scanExportRequest('traces', x)).toBeGreaterThan(0);
      expect(scanExportRequest('traces', x.subarray(0, x.length - 1))).toBe(-1);
      expect(scanExportRequest('traces', u8([0x0a]))).toBe(-1);
      expect(scanExportRequest('traces', u8([0x8a]))).toBe(-1);
      expect(scanExportRequest('traces', u8([]))).toBe(0);
    });

    it('a field cut short inside a message whose own length is consistent', () => {
      const cases: [Signal, Uint8Array][] = [
        ['traces', tracesReq(goodSpan([...tag(16, 5), 1, 2, 3]))], // flags: 3 of 4 bytes
        ['traces', tracesReq(goodSpan([...tag(7, 1), 1, 2, 3, 4, 5, 6, 7]))], // start time: 7 of 8
        ['traces', tracesReq(goodSpan([...tag(6, 0), 0x80]))], // kind: a varint that does not end
        ['traces', tracesReq(goodSpan([...tag(5, 2), 3, 0x61]))], // name: 1 of 3 bytes
        ['traces', tracesReq(goodSpan([0x85]))], // a tag that does not end
        ['logs', logsReq([...tag(8, 5), 1, 2])], // LogRecord.flags
        // Exactly one byte short, at the end of the span.
        ['traces', tracesReq(goodSpan([...tag(5, 2), 2, 0x61]))], // name
        ['traces', tracesReq(goodSpan([...tag(16, 5), 1, 2, 3]))], // flags
        ['traces', tracesReq(goodSpan([...tag(8, 1), ...bytesOf(7)]))], // end time
        ['traces', tracesReq([...ld(2, bytesOf(8)), ...tag(1, 2), 16, ...bytesOf(15)])], // trace_id
        ['traces', tracesReq([...ld(1, bytesOf(16)), ...tag(2, 2), 8, ...bytesOf(7)])], // span_id
        ['traces', tracesReq(goodSpan([...tag(4, 2), 8, ...bytesOf(7)]))], // parent_span_id
        ['traces', tracesReq(goodSpan([...tag(15, 2), 2, 0x18]))], // status
        ['traces', tracesReq(goodSpan([...tag(11, 2), 2, 0x12]))], // an event
        ['traces', tracesReq(goodSpan([...tag(9, 2), 5, ...ld(1, [0x6b]), 0x12]))], // an attribute
        ['traces', tracesReq(goodSpan(attr('k', [...tag(1, 2), 2, 0x61])))], // an attribute's string value
        ['traces', tracesReq(goodSpan(attr('k', [...tag(4, 1), ...bytesOf(7)])))], // an attribute's double value
      ];
      for (const [signal, x] of cases) {
        expect(() => decodeExportRequest(signal, x)).toThrow();
        expect(scanExportRequest(signal, x)).toBe(-1);
      }
    });

    it('varints as the decoder reads them: overlong, 10 bytes but not 11, only the low 32 bits of a tag', () => {
      const rs = ld(2, ld(2, goodSpan())); // ResourceSpans body: one scope with one span
      const overlong = (v: number, n: number) => {
        const out = varint(v);
        out[out.length - 1]! |= 0x80;
        while (out.length < n - 1) out.push(0x80);
        out.push(0);
        return out;
      };
      const cases: [number[], number][] = [
        [[...overlong(0x0a, 10), ...varint(rs.length), ...rs], 1], // a 10-byte tag
        [[...overlong(0x0a, 11), ...varint(rs.length), ...rs], -1], // an 11-byte tag
        [[0x0a, ...overlong(rs.length, 10), ...rs], 1], // a 10-byte length
        [[0x0a, ...overlong(rs.length, 11), ...rs], -1], // an 11-byte length
        [[...varint(0x0a + 2 ** 32), ...varint(rs.length), ...rs], 1], // bits past 32 dropped: resource_spans
        [[...varint(0x0a + 2 ** 31), ...varint(rs.length), ...rs], 0], // field 2^28 + 1: unknown, skipped
        [[...varint(0x0a + 2 ** 35), ...varint(rs.length), ...rs], 1],
        [[0x0a, ...varint(rs.length + 2 ** 32), ...rs], 1], // a length's bits past 32 dropped too
        [[...varint(2 ** 31 + 3), ...varint(2 ** 31 + 4)], 0], // a group of field 2^28, ended
        [[...varint(2 ** 31 + 3), ...varint(2 ** 31 + 12)], -1], // ... ended by field 2^28 + 1
        [[...varint(2 ** 32 - 5), ...varint(2 ** 32 - 4)], 0], // a group of field 2^29 - 1, ended
      ];
      for (const [bytes, expected] of cases) {
        const x = u8(bytes);
        expect(oracle('traces', x), Buffer.from(x).toString('hex')).toBe(expected);
        expect(scanExportRequest('traces', x), Buffer.from(x).toString('hex')).toBe(expected);
      }
    });

    it('a length that looks like one byte but goes on', () => {
      // A KeyValue whose value's length is 0x80 0x2a (5376, past the KeyValue): read as one byte (0x80 = 128)
      // it would seem to hold an array (0x2a) of one 124-byte string element exactly filling it.
      const element = [0x0a, 124, 0x0a, 122, ...bytesOf(122, 0x61)];
      const kv = [...ld(1, [0x6b]), 0x12, 0x80, 0x2a, 126, ...element];
      const x = tracesReq(goodSpan(ld(9, kv)));
      expect(() => decodeExportRequest('traces', x)).toThrow();
      expect(scanExportRequest('traces', x)).toBe(-1);
      // A span's status whose length is 0x80 0x12 (2304): read as one byte it would hold a 126-byte message.
      const status = [...tag(15, 2), 0x80, 0x12, 126, ...bytesOf(126, 0x61)];
      const y = tracesReq(goodSpan(status));
      expect(() => decodeExportRequest('traces', y)).toThrow();
      expect(scanExportRequest('traces', y)).toBe(-1);
      // An all-zero trace_id behind an overlong (but valid) length.
      const z = tracesReq([...tag(1, 2), 0x90, 0x00, ...bytesOf(16, 0), ...ld(2, bytesOf(8))]);
      expect(() => decodeExportRequest('traces', z)).not.toThrow();
      expect(scanExportRequest('traces', z)).toBe(-1);
      const nz = tracesReq([...tag(1, 2), 0x90, 0x00, ...bytesOf(16, 7), ...tag(2, 2), 0x88, 0x80, 0x00, ...bytesOf(8)]);
      expect(scanExportRequest('traces', nz)).toBe(1);
      // The same array with a real two-byte length is fine.
      const ok = tracesReq(goodSpan(attr('k', ld(5, element))));
      expect(scanExportRequest('traces', ok)).toBe(oracle('traces', ok));
      expect(scanExportRequest('traces', ok)).toBe(1);
    });

    it('nesting deeper than 64, counted as the decoder counts it', () => {
      // A span attribute whose value is a kvlist holding a kvlist ... `levels` times. The KeyValue under the
      // span is at depth 4; each kvlist adds two (the list and its KeyValue; the value is read inline).
      const kvlistChain = (levels: number) => {
        let v = ld(1, []); // innermost value: an empty string
        for (let i = 0; i < levels; i++) v = ld(6, ld(1, [...ld(1, [0x6b]), ...ld(2, v)]));
        return tracesReq(goodSpan(attr('k', v)));
      };
      // Array elements add two as well (the array and the element AnyValue).
      const arrayChain = (levels: number) => {
        let v = [...tag(2, 0), 1]; // bool_value
        for (let i = 0; i < levels; i++) v = ld(5, ld(1, v));
        return tracesReq(goodSpan(attr('k', v)));
      };
      // Groups in an unknown field add one each.
      const groupChain = (levels: number) => {
        let g: number[] = [];
        for (let i = 0; i < levels; i++) g = [...tag(100, 3), ...g, ...tag(100, 4)];
        return tracesReq(goodSpan(g));
      };
      // A kvlist chain ending in an array of strings (the KeyValue, the array and its element: three levels).
      const kvlistArrayChain = (levels: number) => {
        let v = ld(5, [...ld(1, ld(1, [0x61])), ...ld(1, ld(1, [0x62]))]);
        for (let i = 0; i < levels; i++) v = ld(6, ld(1, [...ld(1, [0x6b]), ...ld(2, v)]));
        return tracesReq(goodSpan(attr('k', v)));
      };
      // A log record's body is its own level; arrays below it two each.
      const bodyChain = (levels: number) => {
        let v = ld(1, []);
        for (let i = 0; i < levels; i++) v = ld(5, ld(1, v));
        return logsReq(ld(5, v));
      };
      let boundaries = 0;
      for (const [signal, chain] of [
        ['traces', kvlistChain],
        ['traces', arrayChain],
        ['traces', groupChain],
        ['traces', kvlistArrayChain],
        ['logs', bodyChain],
      ] as const) {
        let last = 1;
        // from below the attribute-value limit (20 AnyValues) to past the message limit (64)
        for (let levels = 15; levels <= 66; levels++) {
          const x = chain(levels);
          const ok = oracle(signal, x);
          expect(scanExportRequest(signal, x), `${chain.name}(${levels})`).toBe(ok);
          if (last >= 0 && ok < 0) boundaries++;
          last = ok;
        }
        expect(last).toBe(-1);
      }
      expect(boundaries).toBe(5);
      // The brief's case: 65 levels of nested kvlist values (each a level, with its KeyValue), one more than
      // allowed; the attribute-value limit (MAX_ANY_VALUE_DEPTH, as in OTLP/JSON) refuses them first.
      let v = ld(1, []);
      for (let i = 0; i < 65; i++) v = ld(6, ld(1, ld(2, v)));
      const deep = logsReq(ld(5, v));
      expect(() => decodeExportRequest('logs', deep)).toThrow(/attribute value nested deeper than 20 levels/);
      expect(scanExportRequest('logs', deep)).toBe(-1);
      // Groups reach the message limit alone.
      expect(() => decodeExportRequest('traces', groupChain(66))).toThrow(/nesting deeper than 64/);
    });

    it('a duplicated Span.status, and other singular message fields or oneofs sent twice', () => {
      const status = ld(15, [...tag(3, 0), 2]);
      expect(scanExportRequest('traces', tracesReq(goodSpan(status)))).toBe(1);
      expect(scanExportRequest('traces', tracesReq(goodSpan(status, status)))).toBe(-1);
      const twice: [Signal, Uint8Array][] = [
        ['traces', u8(ld(1, [...ld(1, []), ...ld(1, [])]))], // ResourceSpans.resource
        ['traces', u8(ld(1, ld(2, [...ld(1, []), ...ld(1, [])])))], // ScopeSpans.scope
        ['traces', tracesReq(goodSpan(attr('k', [...ld(1, []), ...tag(2, 0), 1])))], // AnyValue: string and bool
        ['traces', tracesReq(goodSpan(attr('k', [...tag(4, 1), ...bytesOf(8), ...tag(2, 0), 1])))], // AnyValue: double and bool
        ['traces', tracesReq(goodSpan(attr('k', [...tag(3, 0), 5, ...tag(3, 0), 6])))], // AnyValue: int twice
        ['traces', tracesReq(goodSpan(attr('k', ld(5, ld(1, [...ld(1, [0x61]), ...ld(1, [0x62])])))))], // an array element: two strings
        ['traces', tracesReq(goodSpan(attr('k', ld(5, [...ld(1, ld(1, [0x61])), ...ld(1, [...ld(1, []), ...tag(2, 0), 1])]))))], // idem, second element
        ['traces', tracesReq(goodSpan(ld(9, [...ld(1, [0x6b]), ...ld(2, []), ...ld(2, [])])))], // KeyValue.value
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(5, []), ...ld(7, [])])], // Metric: gauge and sum
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(5, ld(1, [...tag(4, 1), ...bytesOf(8), ...tag(6, 1), ...bytesOf(8)]))])], // as_double, as_int
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(10, ld(1, [...ld(8, []), ...ld(8, [])]))])], // positive buckets
        ['metrics', metricsReq([...ld(1, [0x6d]), ...ld(7, ld(1, ld(5, [...tag(3, 1), ...bytesOf(8), ...tag(6, 1), ...bytesOf(8)])))])], // an exemplar's value
        ['logs', logsReq([...ld(5, []), ...ld(5, [])])], // LogRecord.body
      ];
      for (const [signal, x] of twice) {
        expect(() => decodeExportRequest(signal, x)).not.toThrow();
        expect(scanExportRequest(signal, x)).toBe(-1);
      }
    });
  });

  it("counts the benchmark's 512-span GenAI batch (its speed against the decoder is printed there)", async () => {
    expect(scanExportRequest('traces', await genAiTracesRequest(512))).toBe(512);
  });
});

describe('token counts (the receiver refuses a span whose token count is out of range)', () => {
  const base = parseOtlpJson('traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 's' }] }] }] }));
  const request = (key: string, value: bigint | number | string) => {
    const batch = structuredClone(base);
    batch.resourceSpans![0]!.scopeSpans[0]!.spans[0]!.attributes = [{ key, value }];
    return encodeExportRequest(batch, 'traces');
  };

  it('names token-count keys byte for byte as isTokenCountKey does the decoded string', () => {
    const keys = [
      'gen_ai.usage.input_tokens', 'gen_ai.usage.tokens', 'gen_ai.usage.cost', 'gen_ai.request.max_tokens', 'gen_ai.usage.input_tokens2',
      'xgen_ai.usage.tokens', 'llm.usage.tokens', 'llm.usage.prompt_tokens', 'llm.usage.prompt', 'llm.token_count.', 'llm.token_count',
      'llm.token_count.prompt_details.cache_read', 'llm.tokens', 'gen_ai.usage.é_tokens', '', 'g', 'l',
    ];
    for (const key of keys) expect(scanExportRequest('traces', request(key, -1n)), key).toBe(oracle('traces', request(key, -1n)));
  });

  it('passes counts in range (int64, whole doubles), sends out-of-range ones and strings to the decoder', () => {
    const k = 'gen_ai.usage.output_tokens';
    for (const v of [0n, 1n, 1_000_000_000n, 0, 42, 1e9]) expect(checked('traces', request(k, v)), String(v)).toBe(1);
    for (const v of [-1n, 1_000_000_001n, 2n ** 40n, -0.5, 1.5, 1e9 + 1, Number.NaN, Number.POSITIVE_INFINITY]) expect(checked('traces', request(k, v)), String(v)).toBe(-1);
    // a count written as a string: decoded whatever it says (the decoder's check reads numbers in strings)
    expect(checked('traces', request(k, '12'))).toBe(-1);
    expect(oracle('traces', request(k, '12'))).toBe(1);
    expect(oracle('traces', request(k, '-3'))).toBe(-1);
    // other attributes of any value are not token counts
    expect(checked('traces', request('gen_ai.request.max_tokens', -1n))).toBe(1);
  });
});
