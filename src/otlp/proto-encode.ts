/**
 * Encodes vigil's model as OTLP Export*ServiceRequest protobuf bytes (the otlp exporter, tests, benches).
 */
import type { AnyValue, Batch, Exemplar, ExponentialHistogramBuckets, InstrumentationScope, KeyValue, Metric, Resource, ResourceLogs, ResourceMetrics, ResourceSpans, Span } from '../model.ts';
import { VARINT, I64, LEN, I32 } from './proto-wire.ts';
import type { FastBuffer } from './proto-wire.ts';
import type { OtlpSignal } from './json.ts';


/** A growable output buffer. Nested messages reserve one length byte and shift when longer. */
export class Writer {
  buf: FastBuffer;
  view: DataView;
  pos = 0;
  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size) as FastBuffer;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size) as FastBuffer;
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  varint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (v < 0) {
      this.varint64(BigInt(v));
      return;
    }
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = v > 0xffffffff ? Math.floor(v / 128) : v >>> 7;
    }
    buf[this.pos++] = v;
  }
  varint64(v: bigint): void {
    this.ensure(10);
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }
  tag(field: number, wt: number): void {
    this.varint((field << 3) | wt);
  }
  fixed64(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, I64);
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
  fixed64Number(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, v % 4294967296, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / 4294967296), true);
    this.pos += 8;
  }
  rawDouble(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  double(field: number, v: number, always = false): void {
    if (v === 0 && !always && !Object.is(v, -0)) return;
    this.tag(field, I64);
    this.rawDouble(v);
  }
  uint(field: number, v: number): void {
    if (!v) return;
    this.tag(field, VARINT);
    this.varint(v);
  }
  fixed32(field: number, v: number): void {
    if (!v) return;
    this.tag(field, I32);
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }
  sint(field: number, v: number): void {
    if (!v) return;
    this.tag(field, VARINT);
    this.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  string(field: number, s: string, always = false): void {
    if (!s && !always) return;
    this.tag(field, LEN);
    const max = s.length * 3;
    this.ensure(max + 5);
    if (max < 128) {
      const at = this.pos++;
      const n = this.buf.utf8Write(s, this.pos);
      this.buf[at] = n;
      this.pos += n;
    } else {
      const n = Buffer.byteLength(s, 'utf8');
      this.varint(n);
      this.pos += this.buf.utf8Write(s, this.pos);
    }
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  hexId(field: number, hex: string): void {
    if (!hex) return;
    const start = this.pos;
    this.tag(field, LEN);
    const n = hex.length >>> 1;
    this.varint(n);
    this.ensure(n);
    const written = this.buf.write(hex, this.pos, n, 'hex');
    // Not hex (an id the decoder did not build, src/otlp/proto-wire.ts UNDECODED_ID) or an odd length:
    // the field is left out rather than written with a length its bytes do not fill (a request the next hop
    // could not decode at all).
    if (written !== n || hex.length !== 2 * n) this.pos = start;
    else this.pos += n;
  }
  /** Starts a length-delimited field; returns the position of its one reserved length byte. */
  fork(field: number): number {
    this.tag(field, LEN);
    this.ensure(1);
    return this.pos++;
  }
  /** Ends a field started by {@link fork}: writes its length, moving the body if it needs more bytes. */
  join(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    let extra = 0;
    for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint(len);
    this.pos = end;
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Encodes the export request of one signal of `batch`. */
export function encodeExportRequest(batch: Batch, signal: OtlpSignal): Buffer {
  const w = new Writer(16 * 1024);
  switch (signal) {
    case 'traces':
      for (const rs of batch.resourceSpans ?? []) {
        const a = w.fork(1);
        encResourceSpans(w, rs);
        w.join(a);
      }
      break;
    case 'metrics':
      for (const rm of batch.resourceMetrics ?? []) {
        const a = w.fork(1);
        encResourceMetrics(w, rm);
        w.join(a);
      }
      break;
    case 'logs':
      for (const rl of batch.resourceLogs ?? []) {
        const a = w.fork(1);
        encResourceLogs(w, rl);
        w.join(a);
      }
      break;
  }
  return w.finish();
}

function encAttrs(w: Writer, field: number, attrs: readonly KeyValue[]): void {
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    const a = w.fork(field);
    w.string(1, kv.key);
    // the value is written even when empty (an AnyValue with no member set), as the Collector's pdata writes it
    // and as vigil's OTLP/JSON writes `"value": {}`: a decoded attribute goes on with the field it came with
    const b = w.fork(2);
    encAnyValue(w, kv.value);
    w.join(b);
    w.join(a);
  }
}

function encAnyValue(w: Writer, v: AnyValue): void {
  if (v === null || v === undefined) return;
  switch (typeof v) {
    case 'string':
      w.string(1, v, true);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(v ? 1 : 0);
      return;
    case 'bigint':
      w.tag(3, VARINT);
      w.varint64(v);
      return;
    case 'number':
      w.double(4, v, true);
      return;
  }
  if (v instanceof Uint8Array) {
    w.bytes(7, v);
  } else if (Array.isArray(v)) {
    const a = w.fork(5);
    for (const x of v) {
      const b = w.fork(1);
      encAnyValue(w, x);
      w.join(b);
    }
    w.join(a);
  } else {
    const a = w.fork(6);
    encAttrs(w, 1, v.kvlist);
    w.join(a);
  }
}

function encResource(w: Writer, field: number, r: Resource): void {
  const a = w.fork(field);
  encAttrs(w, 1, r.attributes);
  w.uint(2, r.droppedAttributesCount);
  w.join(a);
}

function encScope(w: Writer, field: number, s: InstrumentationScope): void {
  const a = w.fork(field);
  w.string(1, s.name);
  w.string(2, s.version);
  encAttrs(w, 3, s.attributes);
  w.uint(4, s.droppedAttributesCount);
  w.join(a);
}

function encResourceSpans(w: Writer, rs: ResourceSpans): void {
  encResource(w, 1, rs.resource);
  for (const ss of rs.scopeSpans) {
    const a = w.fork(2);
    encScope(w, 1, ss.scope);
    for (const s of ss.spans) {
      const b = w.fork(2);
      encSpan(w, s);
      w.join(b);
    }
    w.string(3, ss.schemaUrl);
    w.join(a);
  }
  w.string(3, rs.schemaUrl);
}

function encSpan(w: Writer, s: Span): void {
  w.hexId(1, s.traceId);
  w.hexId(2, s.spanId);
  w.string(3, s.traceState);
  w.hexId(4, s.parentSpanId);
  w.string(5, s.name);
  w.uint(6, s.kind);
  w.fixed64(7, s.startTimeUnixNano);
  w.fixed64(8, s.endTimeUnixNano);
  encAttrs(w, 9, s.attributes);
  w.uint(10, s.droppedAttributesCount);
  for (const e of s.events) {
    const a = w.fork(11);
    w.fixed64(1, e.timeUnixNano);
    w.string(2, e.name);
    encAttrs(w, 3, e.attributes);
    w.uint(4, e.droppedAttributesCount);
    w.join(a);
  }
  w.uint(12, s.droppedEventsCount);
  for (const l of s.links) {
    const a = w.fork(13);
    w.hexId(1, l.traceId);
    w.hexId(2, l.spanId);
    w.string(3, l.traceState);
    encAttrs(w, 4, l.attributes);
    w.uint(5, l.droppedAttributesCount);
    w.fixed32(6, l.flags);
    w.join(a);
  }
  w.uint(14, s.droppedLinksCount);
  if (s.status.code || s.status.message) {
    const a = w.fork(15);
    w.string(2, s.status.message);
    w.uint(3, s.status.code);
    w.join(a);
  }
  w.fixed32(16, s.flags);
}

function encResourceMetrics(w: Writer, rm: ResourceMetrics): void {
  encResource(w, 1, rm.resource);
  for (const sm of rm.scopeMetrics) {
    const a = w.fork(2);
    encScope(w, 1, sm.scope);
    for (const m of sm.metrics) {
      const b = w.fork(2);
      encMetric(w, m);
      w.join(b);
    }
    w.string(3, sm.schemaUrl);
    w.join(a);
  }
  w.string(3, rm.schemaUrl);
}

function encValue(w: Writer, asDouble: number, asInt: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    w.tag(asInt, I64);
    w.ensure(8);
    w.view.setBigInt64(w.pos, BigInt.asIntN(64, v), true);
    w.pos += 8;
  } else w.double(asDouble, v, true);
}

function encExemplars(w: Writer, field: number, exemplars: readonly Exemplar[]): void {
  for (const e of exemplars) {
    const a = w.fork(field);
    w.fixed64(2, e.timeUnixNano);
    encValue(w, 3, 6, e.value);
    w.hexId(4, e.spanId);
    w.hexId(5, e.traceId);
    encAttrs(w, 7, e.filteredAttributes);
    w.join(a);
  }
}

function encMetric(w: Writer, m: Metric): void {
  w.string(1, m.name);
  w.string(2, m.description);
  w.string(3, m.unit);
  const d = m.data;
  if (d) {
    switch (d.type) {
      case 'gauge':
      case 'sum': {
        const a = w.fork(d.type === 'gauge' ? 5 : 7);
        for (const p of d.dataPoints) {
          const b = w.fork(1);
          w.fixed64(2, p.startTimeUnixNano);
          w.fixed64(3, p.timeUnixNano);
          encValue(w, 4, 6, p.value);
          encExemplars(w, 5, p.exemplars);
          encAttrs(w, 7, p.attributes);
          w.uint(8, p.flags);
          w.join(b);
        }
        if (d.type === 'sum') {
          w.uint(2, d.aggregationTemporality);
          if (d.isMonotonic) w.uint(3, 1);
        }
        w.join(a);
        break;
      }
      case 'histogram': {
        const a = w.fork(9);
        for (const p of d.dataPoints) {
          const b = w.fork(1);
          w.fixed64(2, p.startTimeUnixNano);
          w.fixed64(3, p.timeUnixNano);
          if (p.count) {
            w.tag(4, I64);
            w.fixed64Number(p.count);
          }
          if (p.sum !== undefined) w.double(5, p.sum, true);
          if (p.bucketCounts.length) {
            w.tag(6, LEN);
            w.varint(p.bucketCounts.length * 8);
            for (const c of p.bucketCounts) w.fixed64Number(c);
          }
          if (p.explicitBounds.length) {
            w.tag(7, LEN);
            w.varint(p.explicitBounds.length * 8);
            for (const x of p.explicitBounds) w.rawDouble(x);
          }
          encExemplars(w, 8, p.exemplars);
          encAttrs(w, 9, p.attributes);
          w.uint(10, p.flags);
          if (p.min !== undefined) w.double(11, p.min, true);
          if (p.max !== undefined) w.double(12, p.max, true);
          w.join(b);
        }
        w.uint(2, d.aggregationTemporality);
        w.join(a);
        break;
      }
      case 'exponentialHistogram': {
        const a = w.fork(10);
        for (const p of d.dataPoints) {
          const b = w.fork(1);
          encAttrs(w, 1, p.attributes);
          w.fixed64(2, p.startTimeUnixNano);
          w.fixed64(3, p.timeUnixNano);
          if (p.count) {
            w.tag(4, I64);
            w.fixed64Number(p.count);
          }
          if (p.sum !== undefined) w.double(5, p.sum, true);
          w.sint(6, p.scale);
          if (p.zeroCount) {
            w.tag(7, I64);
            w.fixed64Number(p.zeroCount);
          }
          encBuckets(w, 8, p.positive);
          encBuckets(w, 9, p.negative);
          w.uint(10, p.flags);
          encExemplars(w, 11, p.exemplars);
          if (p.min !== undefined) w.double(12, p.min, true);
          if (p.max !== undefined) w.double(13, p.max, true);
          w.double(14, p.zeroThreshold);
          w.join(b);
        }
        w.uint(2, d.aggregationTemporality);
        w.join(a);
        break;
      }
      case 'summary': {
        const a = w.fork(11);
        for (const p of d.dataPoints) {
          const b = w.fork(1);
          w.fixed64(2, p.startTimeUnixNano);
          w.fixed64(3, p.timeUnixNano);
          if (p.count) {
            w.tag(4, I64);
            w.fixed64Number(p.count);
          }
          w.double(5, p.sum);
          for (const q of p.quantileValues) {
            const c = w.fork(6);
            w.double(1, q.quantile);
            w.double(2, q.value);
            w.join(c);
          }
          encAttrs(w, 7, p.attributes);
          w.uint(8, p.flags);
          w.join(b);
        }
        w.join(a);
        break;
      }
    }
  }
  encAttrs(w, 12, m.metadata);
}

function encBuckets(w: Writer, field: number, b: ExponentialHistogramBuckets): void {
  if (!b.offset && !b.bucketCounts.length) return;
  const a = w.fork(field);
  w.sint(1, b.offset);
  if (b.bucketCounts.length) {
    const c = w.fork(2);
    for (const n of b.bucketCounts) w.varint(n);
    w.join(c);
  }
  w.join(a);
}

function encResourceLogs(w: Writer, rl: ResourceLogs): void {
  encResource(w, 1, rl.resource);
  for (const sl of rl.scopeLogs) {
    const a = w.fork(2);
    encScope(w, 1, sl.scope);
    for (const r of sl.logRecords) {
      const b = w.fork(2);
      w.fixed64(1, r.timeUnixNano);
      w.uint(2, r.severityNumber);
      w.string(3, r.severityText);
      if (r.body !== null && r.body !== undefined) {
        const c = w.fork(5);
        encAnyValue(w, r.body);
        w.join(c);
      }
      encAttrs(w, 6, r.attributes);
      w.uint(7, r.droppedAttributesCount);
      w.fixed32(8, r.flags);
      w.hexId(9, r.traceId);
      w.hexId(10, r.spanId);
      w.fixed64(11, r.observedTimeUnixNano);
      w.string(12, r.eventName);
      w.join(b);
    }
    w.string(3, sl.schemaUrl);
    w.join(a);
  }
  w.string(3, rl.schemaUrl);
}
