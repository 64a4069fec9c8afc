/**
 * Ranges of the numbers vigil takes from its input (durations, timestamps, token counts). A value out of
 * range is a hostile or broken item: it is refused (HTTP 400 / partial success) with a message naming the
 * field and the range, never accepted to break its batch further down (an end time past uint64 nanoseconds
 * cannot be re-encoded as OTLP; a negative token count would make a negative cost).
 */
import { ErrorCodes, VigilError } from './errors.ts';
import type { AnyValue, KeyValue } from './model.ts';

/** Latest time that fits OTLP's `fixed64` nanoseconds since the epoch (2554-07-21T23:34:33Z), in ns. */
export const MAX_TIME_UNIX_NANO = 2n ** 64n - 1n;
/** The same, in whole milliseconds. */
export const MAX_TIME_UNIX_MS = Number(MAX_TIME_UNIX_NANO / 1_000_000n);
/** Longest span duration taken from a JSON event: 365 days, in milliseconds. */
export const MAX_DURATION_MS = 365 * 24 * 3600 * 1000;
/**
 * Deepest nesting of attribute values and log bodies (AnyValues: arrays and key-value lists in one another)
 * accepted from any intake: OTLP/protobuf, OTLP/JSON and JSON events alike, counting every AnyValue on the
 * way down (a top-level scalar is 1 level, a scalar inside one array 2). One limit for every encoding, so that
 * what one tier accepts as protobuf can be forwarded as OTLP/JSON and accepted by the next. No real attribute
 * comes close; deeper values are a hostile payload (decoding, processing or re-encoding them would exhaust
 * the stack): they are refused with a 400.
 */
export const MAX_ANY_VALUE_DEPTH = 20;
/**
 * Most items one OTLP request may hold by default (`max_request_items`): every element of a repeated field
 * of messages counts one (a resource_spans, scope_spans, span, span event, link, attribute, array or kvlist
 * value, metric, data point, exemplar, quantile, log record; in OTLP/JSON, every object that is an element
 * of an array). Decoding and processing cost about a microsecond an item whatever the item holds, so a
 * request of empty items (2 bytes each in protobuf: two million in 4 MiB) held the event loop, and every
 * other client and `/healthz`, for seconds. 200,000 keeps that under a few hundred ms and passes any request
 * of real spans that fits the default body limit: 4 MiB holds at most ~82,000 minimal valid spans, or a
 * Collector batch of 8,192 spans of 20 attributes (~172,000 items).
 */
export const DEFAULT_MAX_REQUEST_ITEMS = 200_000;
/**
 * Most JSON values one `http_json` request may hold by default (its `max_request_items`): the body itself (or
 * each NDJSON line), and each member of an object and element of an array in it, counted on the text before
 * it is parsed. The same principle as {@link DEFAULT_MAX_REQUEST_ITEMS}: any body of ordinary events that fits
 * the default 4 MiB passes (the contract's example event is ~24 bytes a value: ~175,000 values in 4 MiB), and
 * what only a hostile body holds is refused before it is parsed: 4 MiB of 2-byte values (`[1,1,...]`, bare
 * lines, an object of 400,000 keys) is up to two million, which held the event loop 2-14 s; 200,000 keep a
 * request's turn about ten times shorter (an event costs ~20-35 µs: parsing, JSON Schema validation, mapping).
 */
export const DEFAULT_MAX_REQUEST_VALUES = 200_000;

/**
 * A request that holds more items than its receiver's `max_request_items`: refused whole (HTTP 413, gRPC
 * RESOURCE_EXHAUSTED without retry information) before it is decoded further, as a body over
 * `max_request_body_size` is. `where` names the first item beyond the limit when the decoder knows it.
 */
export class RequestItemsError extends VigilError {
  constructor(
    readonly limit: number,
    what = 'items',
    where = '',
  ) {
    super(ErrorCodes.INTAKE_TOO_LARGE, `the request holds more than ${limit} ${what} (max_request_items${where ? `; the first beyond it is ${where}` : ''}): send them in smaller requests`);
    this.name = 'RequestItemsError';
  }
}

/** Most tokens one LLM call may report for one token type (a billion: far above any model's context). */
export const MAX_TOKEN_COUNT = 1_000_000_000;

/**
 * True for the attributes that carry token counts in the dialects vigil reads (OTel GenAI current and
 * deprecated, OpenLLMetry `llm.usage.*`, OpenInference `llm.token_count.*`).
 */
export function isTokenCountKey(key: string): boolean {
  // Checked for every attribute of every span at intake: one or two char compares settle nearly every key
  // (most GenAI keys start with "gen_ai." but have "r", "s" or "o", not the "u" of "usage", at index 7).
  const c = key.charCodeAt(0);
  if (c === 103 /* g */) return key.charCodeAt(7) === 117 /* u */ && key.length >= 19 && key.startsWith('gen_ai.usage.') && key.endsWith('tokens');
  if (c !== 108 /* l */ || key.charCodeAt(3) !== 46 /* . */) return false;
  return (key.startsWith('llm.usage.') && key.endsWith('tokens')) || key.startsWith('llm.token_count.');
}

/** Why `value` is not a valid token count (a whole number in [0, MAX_TOKEN_COUNT]), or undefined. */
export function tokenCountProblem(value: AnyValue | number | unknown): string | undefined {
  let n: number;
  if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) n = Number(value);
  else return undefined; // not numeric: ignored by readers, not an out-of-range number
  if (!Number.isFinite(n) || n < 0 || n > MAX_TOKEN_COUNT || !Number.isInteger(n))
    return `expected a whole number of tokens from 0 to ${MAX_TOKEN_COUNT}, got ${String(value)}`;
  return undefined;
}

/** The first token-count attribute out of range, as `key: problem`, or undefined. */
export function tokenAttributesProblem(attrs: readonly KeyValue[]): string | undefined {
  for (const kv of attrs) {
    if (!isTokenCountKey(kv.key)) continue;
    const p = tokenCountProblem(kv.value);
    if (p) return `${kv.key}: ${p}`;
  }
  return undefined;
}
