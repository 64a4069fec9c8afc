import { decodeMemory } from '../../src/otlp/decode-memory.ts';
import crypto from 'node:crypto';
import { memoryBudget } from '../../src/memory-budget.ts';
import type { Component, CreateSettings, Host } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import {
  type AnyValue,
  type Batch,
  type KeyValue,
  type LogRecord,
  type Metric,
  type ResourceLogs,
  type ResourceMetrics,
  type ResourceSpans,
  type Span,
  type SignalName,
  AggregationTemporality,
  SpanKind,
  StatusCode,
} from '../../src/model.ts';
import { Admission, ConnectionStats } from '../../src/otlp/connections.ts';
import { HttpIntakeServer, IntakeError, type IntakeReply, deliver } from '../../src/otlp/intake.ts';
import { quoteLongIntegers, withoutBom } from '../../src/otlp/json.ts';
import { RequestItemsError } from '../../src/limits.ts';
import type { HttpJsonReceiverConfig } from './config.ts';
import { type Event, type LogEvent, type MetricEvent, type SpanEvent, validateEvent } from './event-schema.ts';

const JSON_TYPE = 'application/json';
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];
/** At most this many per-event errors are listed in a response (the `rejected` count is always complete). */
const MAX_LISTED_ERRORS = 100;
const SCOPE_NAME = 'vigil/http_json';

/** Why one event of a `POST /v1/events` request was rejected: its 0-based position in the request and the reason. */
export interface EventError {
  index: number;
  reason: string;
}

/** The response body of `POST /v1/events`. */
export interface EventsResponse {
  accepted: number;
  rejected: number;
  errors: EventError[];
}

/**
 * `POST /v1/events`: plain JSON events (one object, an array, or NDJSON), each validated by a JSON Schema
 * and mapped to a span, a metric data point or a log record. Bad events are rejected one by one with their
 * index and reason; the good ones in the same request are kept.
 */
export class HttpJsonReceiver implements Component {
  private server: HttpIntakeServer | undefined;
  /** Requests and bytes in flight. */
  readonly admission: Admission;
  private readonly connections: ConnectionStats;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: HttpJsonReceiverConfig,
  ) {
    this.admission = new Admission({ maxRequests: config.max_requests_in_flight, maxBytes: config.max_bytes_in_flight }, memoryBudget.account(`receiver/${settings.id} requests in flight`));
    this.connections = new ConnectionStats(settings.logger, settings.telemetry);
  }

  /** `host:port` bound (after start). */
  get address(): string {
    if (!this.server) throw new Error('not started');
    return this.server.address;
  }

  async start(_host?: Host): Promise<void> {
    const server = new HttpIntakeServer({
      endpoint: this.config.endpoint,
      routes: {
        '/v1/events': {
          contentTypes: [JSON_TYPE, ...NDJSON_TYPES, 'text/plain', ''],
          handle: ({ body, contentType, clientGone }) => this.handleEvents(body, contentType, clientGone),
        },
      },
      maxBodyBytes: this.config.max_request_body_size,
      readTimeoutMs: parseDuration(this.config.read_timeout),
      tls: this.config.tls,
      bearerToken: this.config.auth.bearer_token,
      logger: this.settings.logger,
      maxConnections: this.config.max_connections,
      connectionStats: this.connections,
      admission: this.admission,
      formatError: (status, message) => ({ status, contentType: JSON_TYPE, body: JSON.stringify({ error: message }) }),
    });
    await server.start();
    this.server = server;
    this.settings.logger.info({ endpoint: server.address }, 'http_json receiver listening');
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.shutdown();
    this.admission.close();
  }

  private async handleEvents(body: Buffer, contentType: string, clientGone?: () => boolean): Promise<IntakeReply> {
    const text = withoutBom(body.toString('utf8')); // a byte order mark is ignored (RFC 8259 section 8.1)
    // refused (413 / 503) before the events parse into more memory than the heap can give them
    decodeMemory.admitJson(text);
    const items = parseEvents(text, contentType, this.config.max_request_items);
    if (items.length === 0) throw new IntakeError(400, 'no events in the request: send one JSON event, a JSON array of events, or NDJSON');
    const errors: EventError[] = [];
    const good: Event[] = [];
    const refused: Record<SignalName, number> = { traces: 0, metrics: 0, logs: 0, alerts: 0 };
    const now = BigInt(Date.now()) * 1_000_000n;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if ('error' in item) {
        errors.push({ index: i, reason: item.error });
        continue;
      }
      const r = validateEvent(item.value);
      if ('reason' in r) {
        errors.push({ index: i, reason: r.reason });
        const k = (item.value as { kind?: unknown } | null)?.kind;
        if (k === 'span' || k === 'metric' || k === 'log') refused[signalOf(k)]++;
      } else good.push(r.event);
    }
    const tel = this.settings.telemetry;
    for (const s of ['traces', 'metrics', 'logs'] as const) tel.count('refused', s, refused[s]);
    const response: EventsResponse = { accepted: good.length, rejected: errors.length, errors: errors.slice(0, MAX_LISTED_ERRORS) };
    if (good.length === 0) return { status: 400, contentType: JSON_TYPE, body: JSON.stringify(response) };

    const batch = eventsToBatch(good, now);
    const counts = { traces: 0, metrics: 0, logs: 0 };
    for (const e of good) counts[signalOf(e.kind)]++;
    try {
      await deliver(this.settings.emit, batch, clientGone);
    } catch (e) {
      for (const s of ['traces', 'metrics', 'logs'] as const) tel.count('refused', s, counts[s]);
      throw e;
    }
    for (const s of ['traces', 'metrics', 'logs'] as const) tel.count('accepted', s, counts[s]);
    return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(response) };
  }
}

function signalOf(kind: 'span' | 'metric' | 'log'): 'traces' | 'metrics' | 'logs' {
  return kind === 'span' ? 'traces' : kind === 'metric' ? 'metrics' : 'logs';
}

type Item = { value: unknown } | { error: string };

/**
 * The values inside the objects and arrays of a JSON text (each member of an object, each element of an
 * array, at any depth: the commas outside strings plus the non-empty objects and arrays), counted up to
 * `max + 1` without parsing it. Text that is not JSON is counted as far as it goes (the parser refuses it next).
 */
export function jsonValuesIn(text: string, max: number): number {
  let n = 0;
  let opened = false; // the last character outside strings and white space opened an object or array
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    // the first value of an object or array that is not empty
    if (opened && c !== 0x7d /* } */ && c !== 0x5d /* ] */ && ++n > max) return n;
    opened = c === 0x7b /* { */ || c === 0x5b; /* [ */
    if (c === 0x22 /* " */) {
      for (i++; i < len; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \\ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x2c /* , */ && ++n > max) return n;
  }
  return n;
}

/** The lines of `text` that hold anything but white space, counted up to `max + 1`. */
function linesIn(text: string, max: number): number {
  let n = 0;
  let blank = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) blank = true;
    else if (blank && c !== 0x20 && c !== 0x0d && c !== 0x09) {
      blank = false;
      if (++n > max) return n;
    }
  }
  return n;
}

/**
 * Splits a body into events: a JSON object, a JSON array, or NDJSON (by content type or detection). A body
 * of more than `maxItems` JSON values (the body itself or each of its NDJSON lines, and every value inside
 * them: {@link jsonValuesIn}) is refused (IntakeError 413) before it is parsed.
 */
export function parseEvents(text: string, contentType: string, maxItems = Infinity): Item[] {
  const ndjson = NDJSON_TYPES.includes(contentType);
  const tooMany = () => new IntakeError(413, new RequestItemsError(maxItems, 'JSON values').message);
  // Every value counted (the body, each NDJSON line, each member and element) takes a character of its own, so a
  // text no longer than the limit cannot pass it: the common small body is not scanned for it.
  const counted = text.length + 1 > maxItems;
  // the body (or each of its lines) is a value too
  const values = counted ? jsonValuesIn(text, maxItems) : 0;
  if (values + 1 > maxItems) throw tooMany();
  if (!ndjson) {
    try {
      const v: unknown = parseJsonExact(text);
      return Array.isArray(v) ? v.map((value) => ({ value })) : [{ value: v }];
    } catch (e) {
      // Not one JSON document: if it has several lines, read it as NDJSON.
      if (linesIn(text, 2) < 2) throw new IntakeError(400, `invalid JSON: ${(e as Error).message}`);
    }
  }
  if (counted && values + linesIn(text, maxItems - values) > maxItems) throw tooMany();
  const out: Item[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push({ value: parseJsonExact(line) });
    } catch (e) {
      out.push({ error: `invalid JSON: ${(e as Error).message}` });
    }
  }
  return out;
}

/**
 * What marks an integer of 16 digits or more in the text given to JSON.parse: a NUL and a random tag of this
 * process, so that no string a client sends is read as one of them.
 */
const LONG_INTEGER_TAG = `vigil-int-${crypto.randomBytes(8).toString('hex')}:`;
const LONG_INTEGER_MARK = `\\u0000${LONG_INTEGER_TAG}`;
const LONG_INTEGER_PARSED = `\u0000${LONG_INTEGER_TAG}`;
/** The exact value of each long integer JSON.parse made a number of, by the object or array holding it and its key. */
const exactIntegers = new WeakMap<object, Map<string, bigint>>();

/**
 * JSON.parse keeping the digits of long integers: each integer of 16 digits or more (past 2^53 a JS number
 * rounds it) is a number as JSON.parse makes it, for the schema and every field that reads a number, and its
 * exact value is kept beside it for an attribute, which becomes an exact int64 (see {@link jsonToAnyValue}).
 */
function parseJsonExact(text: string): unknown {
  const marked = quoteLongIntegers(text, LONG_INTEGER_MARK);
  if (marked === text) return JSON.parse(text) as unknown;
  return JSON.parse(marked, function (this: object, key: string, value: unknown) {
    if (typeof value !== 'string' || !value.startsWith(LONG_INTEGER_PARSED)) return value;
    const digits = value.slice(LONG_INTEGER_PARSED.length);
    if (!/^-?\d+$/.test(digits)) return value;
    let exact = exactIntegers.get(this);
    if (!exact) exactIntegers.set(this, (exact = new Map()));
    exact.set(key, BigInt(digits));
    return Number(digits);
  }) as unknown;
}

/** The exact value of the integer at `holder[key]` when JSON.parse rounded it, if it fits an int64. */
function exactInteger(holder: object, key: string | number): bigint | undefined {
  const b = exactIntegers.get(holder)?.get(String(key));
  return b !== undefined && b >= -0x8000000000000000n && b <= 0x7fffffffffffffffn ? b : undefined;
}

// ------------------------------------------------------------------------------------------- mapping

/** Nanoseconds since the epoch of an RFC 3339 string (keeping sub-millisecond digits) or Unix ms. */
export function eventTime(ts: string | number | undefined, now: bigint): bigint {
  if (ts === undefined) return now;
  if (typeof ts === 'number') {
    const whole = Math.trunc(ts);
    return BigInt(whole) * 1_000_000n + BigInt(Math.round((ts - whole) * 1e6));
  }
  const ms = Date.parse(ts);
  const frac = /T\d{2}:\d{2}:\d{2}\.(\d+)/i.exec(ts)?.[1] ?? '';
  const secs = BigInt(Math.floor(ms / 1000));
  const nanos = frac ? BigInt(frac.slice(0, 9).padEnd(9, '0')) : 0n;
  return secs * 1_000_000_000n + nanos;
}

/**
 * A JSON value as an attribute value: integers are int64 (bigint; exact past 2^53 when the text was read by
 * `parseEvents`, which keeps the digits JSON.parse would round), other numbers double. `holder` and `key` say
 * where the value was, to find its exact digits.
 */
export function jsonToAnyValue(v: unknown, holder?: object, key?: string | number): AnyValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number': {
      const exact = holder && key !== undefined ? exactInteger(holder, key) : undefined;
      if (exact !== undefined) return exact;
      return Number.isInteger(v) && Number.isSafeInteger(v) ? BigInt(v) : v;
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => jsonToAnyValue(x, v, i));
  if (typeof v === 'object') return { kvlist: jsonToAttributes(v as Record<string, unknown>) };
  return String(v);
}

function jsonToAttributes(o: Record<string, unknown> | undefined): KeyValue[] {
  if (!o) return [];
  const out: KeyValue[] = [];
  for (const key of Object.keys(o)) out.push({ key, value: jsonToAnyValue(o[key], o, key) });
  return out;
}

function randomHex(bytes: number): string {
  return crypto.randomBytes(bytes).toString('hex');
}

const SPAN_KINDS: Record<string, SpanKind> = {
  internal: SpanKind.Internal,
  server: SpanKind.Server,
  client: SpanKind.Client,
  producer: SpanKind.Producer,
  consumer: SpanKind.Consumer,
};
const STATUS: Record<string, StatusCode> = { ok: StatusCode.Ok, error: StatusCode.Error, unset: StatusCode.Unset };
const SEVERITY: Record<string, number> = {
  trace: 1,
  debug: 5,
  info: 9,
  information: 9,
  notice: 10,
  warn: 13,
  warning: 13,
  error: 17,
  critical: 21,
  fatal: 21,
};

function toSpan(e: SpanEvent, now: bigint): Span {
  const start = eventTime(e.timestamp, now);
  const duration = BigInt(Math.round((e.duration_ms ?? 0) * 1e6));
  return {
    traceId: e.trace_id?.toLowerCase() ?? randomHex(16),
    spanId: e.span_id?.toLowerCase() ?? randomHex(8),
    traceState: '',
    parentSpanId: e.parent_span_id?.toLowerCase() ?? '',
    flags: 0,
    name: e.name,
    kind: SPAN_KINDS[e.span_kind ?? 'internal'] ?? SpanKind.Internal,
    startTimeUnixNano: start,
    endTimeUnixNano: start + duration,
    attributes: jsonToAttributes(e.attributes),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: STATUS[e.status ?? 'unset'] ?? StatusCode.Unset, message: e.status_message ?? '' },
  };
}

function toMetric(e: MetricEvent, now: bigint): Metric {
  const time = eventTime(e.timestamp, now);
  const attributes = jsonToAttributes(e.attributes);
  const base = { name: e.name, description: e.description ?? '', unit: e.unit ?? '', metadata: [] };
  switch (e.metric_type ?? 'gauge') {
    case 'counter':
      return {
        ...base,
        data: {
          type: 'sum',
          aggregationTemporality: AggregationTemporality.Delta,
          isMonotonic: true, // a negative counter value is refused (event-schema.ts eventProblem)
          dataPoints: [{ attributes, startTimeUnixNano: time, timeUnixNano: time, value: e.value, exemplars: [], flags: 0 }],
        },
      };
    case 'histogram':
      // One observation: a single (-inf, +inf) bucket holding it.
      return {
        ...base,
        data: {
          type: 'histogram',
          aggregationTemporality: AggregationTemporality.Delta,
          dataPoints: [
            { attributes, startTimeUnixNano: time, timeUnixNano: time, count: 1, sum: e.value, bucketCounts: [1], explicitBounds: [], exemplars: [], flags: 0, min: e.value, max: e.value },
          ],
        },
      };
    default:
      return { ...base, data: { type: 'gauge', dataPoints: [{ attributes, startTimeUnixNano: 0n, timeUnixNano: time, value: e.value, exemplars: [], flags: 0 }] } };
  }
}

function toLogRecord(e: LogEvent, now: bigint): LogRecord {
  const time = eventTime(e.timestamp, now);
  let severityNumber = 0;
  let severityText = '';
  if (typeof e.severity === 'number') severityNumber = e.severity;
  else if (typeof e.severity === 'string') {
    severityText = e.severity;
    severityNumber = SEVERITY[e.severity.toLowerCase()] ?? 0;
  }
  return {
    timeUnixNano: time,
    observedTimeUnixNano: now,
    severityNumber,
    severityText,
    body: jsonToAnyValue(e.body),
    attributes: jsonToAttributes(e.attributes),
    droppedAttributesCount: 0,
    flags: 0,
    traceId: e.trace_id?.toLowerCase() ?? '',
    spanId: e.span_id?.toLowerCase() ?? '',
    eventName: e.name ?? '',
  };
}

/** Groups events into one batch: a resource per (service, resource attributes), one scope. */
export function eventsToBatch(events: readonly Event[], now: bigint): Batch {
  const spans = new Map<string, ResourceSpans>();
  const metrics = new Map<string, ResourceMetrics>();
  const logs = new Map<string, ResourceLogs>();
  const scope = () => ({ name: SCOPE_NAME, version: '', attributes: [], droppedAttributesCount: 0 });
  const resourceOf = (e: Event) => {
    const attributes = jsonToAttributes(e.resource);
    if (e.service !== undefined) {
      const i = attributes.findIndex((a) => a.key === 'service.name');
      if (i >= 0) attributes.splice(i, 1);
      attributes.unshift({ key: 'service.name', value: e.service });
    }
    return { attributes, droppedAttributesCount: 0 };
  };
  const keyOf = (e: Event) => JSON.stringify([e.service ?? null, e.resource ?? null]);
  for (const e of events) {
    const key = keyOf(e);
    if (e.kind === 'span') {
      let rs = spans.get(key);
      if (!rs) spans.set(key, (rs = { resource: resourceOf(e), scopeSpans: [{ scope: scope(), spans: [], schemaUrl: '' }], schemaUrl: '' }));
      rs.scopeSpans[0]!.spans.push(toSpan(e, now));
    } else if (e.kind === 'metric') {
      let rm = metrics.get(key);
      if (!rm) metrics.set(key, (rm = { resource: resourceOf(e), scopeMetrics: [{ scope: scope(), metrics: [], schemaUrl: '' }], schemaUrl: '' }));
      rm.scopeMetrics[0]!.metrics.push(toMetric(e, now));
    } else {
      let rl = logs.get(key);
      if (!rl) logs.set(key, (rl = { resource: resourceOf(e), scopeLogs: [{ scope: scope(), logRecords: [], schemaUrl: '' }], schemaUrl: '' }));
      rl.scopeLogs[0]!.logRecords.push(toLogRecord(e, now));
    }
  }
  const batch: Batch = {};
  if (spans.size) batch.resourceSpans = [...spans.values()];
  if (metrics.size) batch.resourceMetrics = [...metrics.values()];
  if (logs.size) batch.resourceLogs = [...logs.values()];
  return batch;
}
