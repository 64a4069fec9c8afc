/**
 * The JSON Schema of one `POST /v1/events` event, per kind (span, metric, log), compiled once by Ajv.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
/** Attribute values: scalars, arrays, nested objects (become a key-value list), or null. */
const AttrValue = Type.Union([Scalar, Type.Null(), Type.Array(Type.Unknown()), Type.Object({})]);
const Attributes = Type.Record(Type.String(), AttrValue, { description: 'Attributes; JSON integers become int64, other numbers double' });
const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 0 })], {
  description: 'RFC 3339, or Unix milliseconds; default now',
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

export const SpanEventSchema = Type.Object(
  {
    kind: Type.Literal('span'),
    ...common,
    parent_span_id: Type.Optional(HexId(16)),
    duration_ms: Type.Optional(Type.Number({ minimum: 0 })),
    status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('unset')])),
    status_message: Type.Optional(Type.String()),
    span_kind: Type.Optional(
      Type.Union([Type.Literal('internal'), Type.Literal('server'), Type.Literal('client'), Type.Literal('producer'), Type.Literal('consumer')]),
    ),
  },
  { additionalProperties: false },
);

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

export type SpanEvent = Static<typeof SpanEventSchema>;
export type MetricEvent = Static<typeof MetricEventSchema>;
export type LogEvent = Static<typeof LogEventSchema>;
export type Event = SpanEvent | MetricEvent | LogEvent;

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
addFormats(ajv);
const validators: Record<string, ValidateFunction> = {
  span: ajv.compile(SpanEventSchema as TSchema),
  metric: ajv.compile(MetricEventSchema as TSchema),
  log: ajv.compile(LogEventSchema as TSchema),
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
  if (validate(v)) return { event: v as Event };
  // With anyOf (timestamp, attributes), report the most specific error Ajv found.
  const errors = validate.errors ?? [];
  const best = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0];
  if (best?.keyword === 'type' && errors.some((e) => e.keyword === 'anyOf' && e.instancePath === best.instancePath)) {
    const at = best.instancePath.slice(1).replace(/\//g, '.');
    if (at === 'timestamp') return { reason: 'timestamp: expected an RFC 3339 date-time or Unix milliseconds' };
  }
  return { reason: best ? describeError(best) : 'invalid event' };
}
