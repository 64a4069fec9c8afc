/**
 * Reading attributes the way every processor reads them (one copy, shared by cost, percentiles and the
 * metric stream reader): a dimension or label is an attribute's value as a string, a quantity is a
 * number, and an attribute set has one canonical key.
 */
import { type AnyValue, type KeyValue, attrToString, getAttr } from './model.ts';

/** An attribute value as a string (other types rendered with {@link attrToString}); undefined when absent or null. */
export function valueString(v: AnyValue | undefined): string | undefined {
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : attrToString(v);
}

/** The value of attribute `key` as a string (see {@link valueString}); undefined when absent. */
export function findString(attrs: readonly KeyValue[], key: string): string | undefined {
  return valueString(getAttr(attrs, key));
}

/**
 * An attribute value as a number: int64 and double as they are, a numeric string parsed; NaN for
 * anything else (absent, empty, not a number). Infinities are returned as they are (callers check).
 */
export function valueNumber(v: AnyValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/**
 * The text of an int64: decimal digits, with a minus sign at most, nothing around them, the form OTLP/JSON
 * gives an int64 (proto3 JSON mapping); the OTLP/JSON decoder (src/otlp/json.ts) and {@link valueCount} take no other.
 */
export const INT64_TEXT = /^-?[0-9]+$/;

/**
 * An attribute value as a count (tokens): int64 and double as they are, a string only when it is a decimal
 * integer (`"1000"`); NaN for anything else, including the strings Number() would read as another number
 * (`"0x10"` is 16, `"1e3"` 1000, `" 12 "` and `"12.0"` 12) or as no count at all. Range is the caller's to check.
 */
export function valueCount(v: AnyValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && INT64_TEXT.test(v)) return Number(v);
  return NaN;
}

/** The value of attribute `key` as a finite number; undefined when absent, not numeric or not finite. */
export function findNumber(attrs: readonly KeyValue[], key: string): number | undefined {
  const n = valueNumber(getAttr(attrs, key));
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A canonical, unambiguous key of an attribute set: the same set in any order gives the same key, and two
 * sets differing in a key, a value or a value's type (`"3"`, `3` as int64, `3.0` as double) give different
 * keys, as the OTLP data model distinguishes them. Each key and value is length-prefixed, so no value can
 * forge a separator.
 */
export function attributesKey(attrs: readonly KeyValue[]): string {
  const n = attrs.length;
  if (n === 0) return '';
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (attrs[i - 1]!.key > attrs[i]!.key) {
      sorted = false;
      break;
    }
  }
  const list = sorted ? attrs : attrs.slice().sort(byKey);
  let k = '';
  for (let i = 0; i < n; i++) {
    const kv = list[i]!;
    const v = typedValue(kv.value);
    k += `${kv.key.length}:${kv.key}${v.length}:${v}`;
  }
  return k;
}

function typedValue(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'bigint':
      return `i${v}`;
    case 'number':
      return `d${v}`;
    case 'boolean':
      return v ? 'bt' : 'bf';
    default:
      if (v === null) return 'n';
      if (v instanceof Uint8Array) return `y${Buffer.from(v).toString('base64')}`;
      if (Array.isArray(v)) return `a${JSON.stringify(v.map(typedValue))}`;
      return `k${attributesKey(v.kvlist)}`;
  }
}

function byKey(a: KeyValue, b: KeyValue): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
