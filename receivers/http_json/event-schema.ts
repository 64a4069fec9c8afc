/**
 * The JSON Schema of one `POST /v1/events` event, per kind (span, metric, log), compiled once by Ajv.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { compileSchema } from '../../src/config/ajv.ts';
import { MAX_ANY_VALUE_DEPTH } from '../../src/otlp/json.ts';
import { MAX_DURATION_MS, MAX_TIME_UNIX_MS, MAX_TIME_UNIX_NANO, isTokenCountKey, tokenCountProblem } from '../../src/limits.ts';

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
/** Attribute values: scalars, arrays, nested objects (become a key-value list), or null. */
const AttrValue = Type.Union([Scalar, Type.Null(), Type.Array(Type.Unknown()), Type.Object({})]);
const Attributes = Type.Record(Type.String(), AttrValue, { description: 'Attributes; JSON integers become int64, other numbers double' });
const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 0, maximum: MAX_TIME_UNIX_MS })], {
  description: 'RFC 3339, or Unix milliseconds (up to 2554-07-21, the end of OTLP\'s uint64 nanoseconds); default now',
});
const HexId = (chars: number) => Type.String({ pattern: `^[0-9a-fA-F]{${chars}}$` });

const common = {
  name: Type.String({ minLength: 1, maxLength: 1024 }),
  service: Type.Optional(Type.String({ maxLength: 1024 })),
  timestamp: Type.Optional(Timestamp),
  attributes: Type.Optional(Attributes),
  resource: Type.Optional(Attributes),
  trace_id: Type.Optional(HexId(32)),
  span_id: Type.Optional(HexId(16)),
};

/**
 * The JSON Schema of a `kind: "span"` event: the common fields (name, service, timestamp as RFC 3339 or Unix
 * ms, attributes, resource, hex trace/span ids) plus parent span id, `duration_ms` (milliseconds, at most 365
 * days), status and span kind (OTLP's names, lower-case).
 */
export const SpanEventSchema = Type.Object(
  {
    kind: Type.Literal('span'),
    ...common,
    parent_span_id: Type.Optional(HexId(16)),
    duration_ms: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_DURATION_MS, description: 'milliseconds, at most 365 days' })),
    status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('unset')])),
    status_message: Type.Optional(Type.String()),
    span_kind: Type.Optional(
      Type.Union([Type.Literal('internal'), Type.Literal('server'), Type.Literal('client'), Type.Literal('producer'), Type.Literal('consumer')]),
    ),
  },
  { additionalProperties: false },
);

/**
 * The JSON Schema of a `kind: "metric"` event: the common fields plus `value`, `metric_type` (counter, gauge,
 * histogram), and the metric's `unit` and `description`.
 */
export const MetricEventSchema = Type.Object(
  {
    kind: Type.Literal('metric'),
    ...common,
    value: Type.Number(),
    metric_type: Type.Optional(Type.Union([Type.Literal('counter'), Type.Literal('gauge'), Type.Literal('histogram')])),
    unit: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/**
 * The JSON Schema of a `kind: "log"` event: the common fields plus an event name, `severity` (a text, or OTLP's
 * severity number 0..24) and any JSON `body`.
 */
export const LogEventSchema = Type.Object(
  {
    kind: Type.Literal('log'),
    ...common,
    name: Type.Optional(Type.String({ maxLength: 1024 })),
    severity: Type.Optional(Type.Union([Type.String(), Type.Integer({ minimum: 0, maximum: 24 })])),
    body: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** A validated span event. */
export type SpanEvent = Static<typeof SpanEventSchema>;
/** A validated metric event. */
export type MetricEvent = Static<typeof MetricEventSchema>;
/** A validated log event. */
export type LogEvent = Static<typeof LogEventSchema>;
/** Any validated `POST /v1/events` event, told apart by `kind`. */
export type Event = SpanEvent | MetricEvent | LogEvent;

/** The event schemas by `kind`, compiled with src/config/ajv.ts's `events` option set (first error only, no defaults). */
export const EVENT_SCHEMAS: Readonly<Record<'span' | 'metric' | 'log', TSchema>> = { span: SpanEventSchema, metric: MetricEventSchema, log: LogEventSchema };
const validators: Record<string, ValidateFunction> = {
  span: compileSchema(SpanEventSchema, 'events'),
  metric: compileSchema(MetricEventSchema, 'events'),
  log: compileSchema(LogEventSchema, 'events'),
};

function describeError(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  const p = e.params as Record<string, unknown>;
  let what: string;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown field "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required field "${String(p.missingProperty)}"`;
    case 'type':
      what = `expected ${String(p.type)}`;
      break;
    case 'const':
      what = `expected ${JSON.stringify(p.allowedValue)}`;
      break;
    case 'format':
      what = `expected an RFC 3339 date-time or Unix milliseconds`;
      break;
    case 'pattern':
      what = `expected hex characters (${String(p.pattern).match(/\{(\d+)\}/)?.[1] ?? ''})`;
      break;
    case 'maximum':
    case 'minimum':
      what = `expected a number ${e.keyword === 'maximum' ? '<=' : '>='} ${String(p.limit)}`;
      break;
    default:
      what = e.message ?? e.keyword;
  }
  return at ? `${at}: ${what}` : what;
}

/** The event if `v` is a valid event, or the reason it is not. */
export function validateEvent(v: unknown): { event: Event } | { reason: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { reason: 'expected an event object' };
  const kind = (v as { kind?: unknown }).kind;
  const validate = typeof kind === 'string' ? validators[kind] : undefined;
  if (!validate) return { reason: `kind: expected "span", "metric" or "log", got ${JSON.stringify(kind ?? null)}` };
  if (validate(v)) {
    const problem = eventProblem(v as Event);
    return problem ? { reason: problem } : { event: v as Event };
  }
  // With anyOf (timestamp, attributes), report the most specific error Ajv found.
  const errors = validate.errors ?? [];
  const best = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0];
  if (best?.keyword === 'type' && errors.some((e) => e.keyword === 'anyOf' && e.instancePath === best.instancePath)) {
    const at = best.instancePath.slice(1).replace(/\//g, '.');
    if (at === 'timestamp') return { reason: 'timestamp: expected an RFC 3339 date-time or Unix milliseconds' };
  }
  // severity is a name or a number: say both, and what came (Ajv's first branch alone would say "expected string")
  if (errors.some((e) => e.keyword === 'anyOf' && e.instancePath === '/severity')) {
    return { reason: `severity: expected a name (trace, debug, info, warn, error, fatal ...) or an integer from 0 to 24, got ${JSON.stringify((v as { severity?: unknown }).severity)}` };
  }
  const range = errors.find((e) => e.keyword === 'maximum' || e.keyword === 'minimum');
  if (range && range.instancePath === '/timestamp') {
    return { reason: `timestamp: expected Unix milliseconds from 0 to ${MAX_TIME_UNIX_MS} (2554-07-21, the last time OTLP can carry)` };
  }
  return { reason: best ? describeError(best) : 'invalid event' };
}

/**
 * Whether a JSON value is deeper than `limit`, counted as the AnyValue it becomes is counted by OTLP/JSON
 * (json.ts): the value is level 1 and every element of an array or member of an object, scalars and nulls too,
 * one level below its container. Stops at `limit + 1`, so that hostile depth costs nothing.
 */
function depthOver(v: unknown, limit: number): boolean {
  // Iterative: a value nested 100,000 deep must not exhaust the stack here either.
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    const children = Array.isArray(x) ? (x as unknown[]) : Object.values(x as object);
    if (children.length > 0 && d >= limit) return true;
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}

/**
 * What the schema cannot say about a schema-valid event: nesting depth of attribute values and log bodies
 * (MAX_ANY_VALUE_DEPTH, as for OTLP), finite metric values, a start plus duration that OTLP can carry
 * (uint64 nanoseconds), token counts in range, a counter's value not negative. Undefined when the event is fine.
 */
export function eventProblem(e: Event): string | undefined {
  for (const key of ['attributes', 'resource'] as const) {
    const o = e[key];
    if (!o) continue;
    for (const k of Object.keys(o)) {
      if (depthOver(o[k], MAX_ANY_VALUE_DEPTH)) return `${key}.${k}: value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`;
      if (key === 'attributes' && isTokenCountKey(k)) {
        const p = tokenCountProblem(o[k]);
        if (p) return `attributes.${k}: ${p}`;
      }
    }
  }
  if (e.kind === 'log' && depthOver(e.body, MAX_ANY_VALUE_DEPTH)) return `body: nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`;
  if (e.kind === 'metric' && !Number.isFinite(e.value)) return `value: expected a finite number, got ${String(e.value)}`;
  // a counter is a monotonic sum (OTLP): it only counts up; a negative point is what the processors and the
  // prometheus exporter refuse (src/streams/cumulative.ts numberProblem), so it is refused here with the reason
  if (e.kind === 'metric' && e.metric_type === 'counter' && e.value < 0)
    return `value: a counter only counts up: expected a number >= 0, got ${String(e.value)} (send metric_type "gauge" for a value that goes down)`;
  if (e.timestamp !== undefined) {
    const ms = typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp);
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_UNIX_MS)
      return `timestamp: expected a time from 1970-01-01 to 2554-07-21 (what OTLP can carry), got ${JSON.stringify(e.timestamp)}`;
  }
  if (e.kind === 'span' && e.duration_ms !== undefined) {
    const start = typeof e.timestamp === 'number' ? e.timestamp : e.timestamp !== undefined ? Date.parse(e.timestamp) : Date.now();
    if (BigInt(Math.ceil(start + e.duration_ms)) * 1_000_000n > MAX_TIME_UNIX_NANO) return 'duration_ms: the span would end after 2554-07-21, the last time OTLP can carry';
  }
  return undefined;
}
