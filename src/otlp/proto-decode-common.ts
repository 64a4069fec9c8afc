/**
 * Decoders shared by every signal: resource, scope, attributes (key/value, any value, arrays, kvlists), and
 * the helpers that decode a sub-message or a field and prefix errors with its path.
 */
import { MAX_ANY_VALUE_DEPTH, MAX_TOKEN_COUNT, isTokenCountKey, tokenCountProblem } from '../limits.ts';
import type { SpanReads } from '../component.ts';
import type { AnyValue, InstrumentationScope, KeyValue, Resource } from '../model.ts';
import { INTERN_VALUE_WIDTH, INTERN_WIDTH, MAX_DEPTH, DECODED_BYTES, SMALL_BIGINTS, SMALL_BIGINT, ItemLimitError, prefix, Reader, copyBytes, sameBytes } from './proto-wire.ts';
import { F_RESOURCE, F_SCOPE, F_KV, F_ANY, F_LIST } from './proto-fields.ts';

/** Decodes one length-delimited sub-message with `f`, prefixing any error with `field[index]`. */
export function sub<T>(r: Reader, f: (r: Reader) => T, field: string, index: number): T {
  try {
    // an element of a repeated field (a singular one has index -1)
    if (index >= 0) r.item();
    const saved = r.enter();
    const v = f(r);
    r.leave(saved);
    return v;
  } catch (e) {
    prefix(e, field, index);
  }
}

// Monomorphic copies of `sub` for the hottest messages (attributes, values, spans): a direct call that V8
// can inline, where `sub`'s call through `f` is megamorphic. With `filter` (a span's attributes), an attribute
// the plan does not keep comes back as SKIPPED once checked (the general path decodes it, then drops it).
export function kvAt(r: Reader, field: string, index: number, filter?: SpanDecodePlan): KeyValue {
  r.count(DECODED_BYTES.keyValue);
  if (--r.itemsLeft < 0) prefix(new ItemLimitError(), field, index);
  // A one-byte length, in bounds, at a depth the general path would accept: try the fast path first.
  const p = r.pos;
  const n = r.buf[p]!;
  if (p < r.limit && n < 0x80 && n < r.limit - p && r.depth < MAX_DEPTH) {
    const kv = kvFast(r, p + 1, p + 1 + n, filter, index);
    if (kv !== null) {
      r.pos = p + 1 + n;
      return kv;
    }
  }
  let v: KeyValue;
  try {
    const saved = r.enter();
    v = decKeyValue(r);
    r.leave(saved);
  } catch (e) {
    prefix(e, field, index);
  }
  return filter === undefined || filter.keeps(v.key) ? v : SKIPPED;
}

/**
 * What {@link kvAt} and {@link kvFast} return, given a {@link SpanDecodePlan}, for an attribute the plan does
 * not keep: checked like any other, not built. Compared by identity; never handed on.
 */
export const SKIPPED: KeyValue = Object.freeze({ key: '', value: null }) as KeyValue;

/** Positions whose keys {@link SpanDecodePlan} remembers. */
const PLAN_SLOTS = 32;

/**
 * What a span decodes into when the pipelines behind the receiver read only part of it (src/graph.ts: the
 * union of the `spanReads` of everything downstream; src/component.ts `SpanReads`). Everything is read and
 * checked as usual (malformed input is the same error), but:
 * - an attribute whose key is not kept is not built: its value never becomes a string and the span does not
 *   carry it, so nobody pays for response ids, addresses and request parameters no component looks at
 *   (issue 21). Token-count keys (limits.ts `isTokenCountKey`) are always kept: the receiver checks their range;
 * - without `ids`, trace_id, span_id and parent_span_id are not turned into hex: each is carried as
 *   UNDECODED_ID (proto-wire.ts) when present and not all zero (what the receiver checks), else as ''; trace_state as ''.
 */
export class SpanDecodePlan {
  /** The attribute keys kept besides the token counts (`reads.attributes`); undefined: every attribute. */
  readonly keys: ReadonlySet<string> | undefined;
  /** Ids are built as hex strings (`reads.ids`). */
  readonly ids: boolean;
  // The key last seen at each of the first positions of a span (kvFast's shape, up to INTERN_WIDTH bytes), its
  // bytes and whether it was kept: spans of one instrumentation carry their attributes in the same order, so a
  // key is most often the same bytes as the one at its position in the span before. Then one compare of those
  // bytes gives the key's string and the decision: no string is made for a key that is not kept, and neither the
  // intern cache's hash nor its slot (a cache line far from the span's bytes) is touched.
  private readonly memoKey: string[] = new Array<string>(PLAN_SLOTS).fill('');
  private readonly memoKept = new Uint8Array(PLAN_SLOTS);
  /** Byte length of the key remembered at each position; -1: none. */
  private readonly memoLen = new Int32Array(PLAN_SLOTS).fill(-1);
  private readonly memoBytes = new Uint8Array(PLAN_SLOTS * INTERN_WIDTH);
  private readonly memoView = new DataView(this.memoBytes.buffer);
  /** `reads`: what the pipelines read of a span (src/component.ts `SpanReads`), kept as given. */
  constructor(readonly reads: SpanReads) {
    this.keys = reads.attributes === undefined ? undefined : new Set(reads.attributes);
    this.ids = reads.ids;
  }

  /** Whether a span decoded with this plan carries all that a consumer reading `needs` of it reads. */
  covers(needs: SpanReads | undefined): boolean {
    if (needs === this.reads) return true;
    if (needs === undefined || (needs.ids && !this.ids)) return false;
    const keys = this.keys;
    if (keys === undefined) return true;
    return needs.attributes !== undefined && needs.attributes.every((k) => keys.has(k));
  }

  /**
   * The key of the attribute whose `n` key bytes are at `start` of `r`'s buffer, the `index`-th of its span,
   * when the plan keeps it; undefined when it does not (only called when {@link keys} is set).
   */
  keptKey(r: Reader, start: number, n: number, index: number): string | undefined {
    const memo = index < PLAN_SLOTS && n <= INTERN_WIDTH;
    const base = index * INTERN_WIDTH;
    if (memo && this.memoLen[index] === n && sameBytes(r.buf, r.view, start, n, this.memoBytes, this.memoView, base))
      return this.memoKept[index] === 1 ? this.memoKey[index] : undefined;
    const key = r.str(start, n);
    const kept = this.keeps(key);
    if (memo) {
      copyBytes(r.buf, start, n, this.memoBytes, base);
      this.memoLen[index] = n;
      this.memoKey[index] = key;
      this.memoKept[index] = kept ? 1 : 0;
    }
    return kept ? key : undefined;
  }

  /** Whether an attribute with `key` is built (only called when {@link keys} is set). */
  keeps(key: string): boolean {
    return this.keys!.has(key) || isTokenCountKey(key);
  }
}
/** `sub` for an AnyValue, monomorphic. */
export function anyAt(r: Reader, field: string, index: number): AnyValue {
  try {
    if (index >= 0) r.item();
    const saved = r.enter();
    const v = decAnyValue(r);
    r.leave(saved);
    return v;
  } catch (e) {
    prefix(e, field, index);
  }
}
/** Reads a scalar field via `f`, prefixing any error with the field's name. */
export function field<T>(r: Reader, f: (r: Reader) => T, name: string): T {
  try {
    return f(r);
  } catch (e) {
    prefix(e, name, -1);
  }
}

/**
 * A trace or span id of `size` bytes as lowercase hex (empty stays empty; another length is an error); without
 * `hex`, checked the same way but not made hex (Reader.id).
 */
export function idField(r: Reader, size: number, name: string, hex = true): string {
  try {
    return r.id(size, hex);
  } catch (e) {
    prefix(e, name, -1);
  }
}

/** Decodes a Resource. */
export function decResource(r: Reader): Resource {
  const attributes: KeyValue[] = [];
  let dropped = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) attributes.push(kvAt(r, 'attributes', attributes.length));
    else if (tag === 16 /* t(2, VARINT) */) dropped = r.varint();
    else r.skip(tag, F_RESOURCE, 'Resource');
  }
  return { attributes, droppedAttributesCount: dropped };
}

/** Decodes an InstrumentationScope. */
export function decScope(r: Reader): InstrumentationScope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  let dropped = 0;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        name = r.string();
        break;
      case 18 /* t(2, LEN) */:
        version = r.string();
        break;
      case 26 /* t(3, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 32 /* t(4, VARINT) */:
        dropped = r.varint();
        break;
      default:
        r.skip(tag, F_SCOPE, 'InstrumentationScope');
    }
  }
  return { name, version, attributes, droppedAttributesCount: dropped };
}

/**
 * The KeyValue in bytes [p, lim) when it has the shape every SDK writes: key (field 1), then value (field 2)
 * holding exactly one scalar field that ends the KeyValue, each length in one byte. Null for anything else
 * (odd or damaged): the caller then takes the general loop, which also produces the errors.
 * A token-count key whose value is out of the token range (limits.ts `tokenCountProblem`) sets
 * `r.tokenCountSuspect`: the check costs a compare per value here, where the receiver's own walk over every
 * attribute of every span after decoding cost ~0.3 us a span (14 attributes).
 * With `filter` (a span's attributes, the `index`-th), an attribute the plan does not keep is checked the same
 * way (its shape, in full, before its key is looked at) and returned as {@link SKIPPED}, its value not built.
 */
export function kvFast(r: Reader, p: number, lim: number, filter?: SpanDecodePlan, index = 0): KeyValue | null {
  const b = r.buf;
  if (lim - p >= 5 && b[p] === 0x0a) {
    const kn = b[p + 1]!;
    const q = p + 2 + kn;
    // q + 3 <= lim: the value's tag, its length and its own field tag are in this message.
    if (kn < 0x80 && q + 3 <= lim && b[q] === 0x12 && b[q + 1]! < 0x80 && b[q + 1]! + q + 2 === lim) {
      const vt = b[q + 2]!;
      const vs = q + 3;
      if (vt === 0x0a) {
        const sn = b[vs]!;
        if (sn < 0x80 && sn + vs + 1 === lim) {
          const key = keyAt(r, p + 2, kn, filter, index);
          if (key === undefined) return SKIPPED;
          // a long value is most often unique (a response id, a message id): decoded without the intern cache
          const value = sn <= INTERN_VALUE_WIDTH ? r.str(vs + 1, sn) : r.buf.utf8Slice(vs + 1, vs + 1 + sn);
          // a numeric string counts as a number for token counts
          if (isTokenCountKey(key) && tokenCountProblem(value) !== undefined) r.tokenCountSuspect = true;
          return { key, value };
        }
      } else if (vt === 0x18) {
        // int64 of up to 7 bytes (fits a double exactly); the last byte must end the message.
        let n = 0;
        let mul = 1;
        let i = vs;
        let c = 0x80;
        while (c >= 0x80 && i < lim && i < vs + 7) {
          c = b[i++]!;
          n += (c & 0x7f) * mul;
          mul *= 128;
        }
        if (c < 0x80 && i === lim) {
          const key = keyAt(r, p + 2, kn, filter, index);
          if (key === undefined) return SKIPPED;
          // n >= 0 here (a negative int64 takes 10 bytes: the general path)
          if (n > MAX_TOKEN_COUNT && isTokenCountKey(key)) r.tokenCountSuspect = true;
          return { key, value: n < SMALL_BIGINTS ? SMALL_BIGINT[n]! : BigInt(n) };
        }
      } else if (vt === 0x21) {
        if (vs + 8 === lim) {
          const key = keyAt(r, p + 2, kn, filter, index);
          if (key === undefined) return SKIPPED;
          const value = r.view.getFloat64(vs, true);
          if (!(value >= 0 && value <= MAX_TOKEN_COUNT && Number.isInteger(value)) && isTokenCountKey(key)) r.tokenCountSuspect = true;
          return { key, value };
        }
      } else if (vt === 0x10) {
        const c = b[vs]!;
        if (c < 0x80 && vs + 1 === lim) {
          const key = keyAt(r, p + 2, kn, filter, index);
          if (key === undefined) return SKIPPED;
          return { key, value: c !== 0 };
        }
      } else if (vt === 0x2a && r.depth < MAX_DEPTH - 2 && r.anyDepth < MAX_ANY_VALUE_DEPTH - 1) {
        // An array of strings (gen_ai.response.finish_reasons): each element one string field. The depth
        // checks are the general path's: the KeyValue, the array and each element are one message level
        // each; the array is an AnyValue at level anyDepth + 1, its strings at anyDepth + 2.
        const an = b[vs]!;
        if (an < 0x80 && vs + 1 + an === lim) {
          // the shape of every element first (anything else: the general path), then the strings if kept
          let i = vs + 1;
          let count = 0;
          while (i < lim) {
            // Element: values (field 1) of length en, holding string_value (field 1) of length sn = en - 2.
            const en = b[i + 1]!;
            const sn = b[i + 3]!;
            if (lim - i < 4 || b[i] !== 0x0a || b[i + 2] !== 0x0a || en >= 0x80 || sn !== en - 2 || i + 2 + en > lim) return null;
            i += 2 + en;
            count++;
          }
          const key = keyAt(r, p + 2, kn, filter, index);
          if (key === undefined) return SKIPPED;
          const values: AnyValue[] = new Array<AnyValue>(count);
          i = vs + 1;
          for (let k = 0; k < count; k++) {
            const sn = b[i + 3]!;
            values[k] = r.str(i + 4, sn);
            i += 4 + sn;
          }
          return { key, value: values };
        }
      }
    }
  }
  return null;
}

/** The key of `kn` bytes at `p`: with `filter`, undefined when the plan does not keep it (the `index`-th attribute). */
function keyAt(r: Reader, p: number, kn: number, filter: SpanDecodePlan | undefined, index: number): string | undefined {
  return filter !== undefined ? filter.keptKey(r, p, kn, index) : r.str(p, kn);
}

/** Decodes a KeyValue. */
export function decKeyValue(r: Reader): KeyValue {
  let key = '';
  let value: AnyValue = null;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) key = r.string();
    else if (tag === 18 /* t(2, LEN) */) {
      // The value inline (no sub-message call): nesting depth is still counted by arrays and kvlists.
      const n = r.len();
      const saved = r.limit;
      r.limit = r.pos + n;
      try {
        value = decAnyValue(r);
      } catch (e) {
        prefix(e, 'value', -1);
      }
      r.pos = r.limit;
      r.limit = saved;
    } else r.skip(tag, F_KV, 'KeyValue');
  }
  if (isTokenCountKey(key) && tokenCountProblem(value) !== undefined) r.tokenCountSuspect = true;
  return { key, value };
}

/** Decodes an AnyValue (arrays and kvlists nested up to MAX_ANY_VALUE_DEPTH, within MAX_DEPTH messages). */
export function decAnyValue(r: Reader): AnyValue {
  let value: AnyValue = null;
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 10 /* t(1, LEN) */:
        value = r.string();
        break;
      case 16 /* t(2, VARINT) */:
        value = r.varint() !== 0;
        break;
      case 24 /* t(3, VARINT) */:
        value = r.varint64();
        break;
      case 33 /* t(4, I64) */:
        value = r.double();
        break;
      case 42 /* t(5, LEN) */:
        value = sub(r, decArrayValue, 'array_value', -1);
        break;
      case 50 /* t(6, LEN) */:
        value = { kvlist: sub(r, decKvList, 'kvlist_value', -1) };
        break;
      case 58 /* t(7, LEN) */:
        value = r.bytes();
        break;
      default:
        r.skip(tag, F_ANY, 'AnyValue');
    }
  }
  return value;
}

/** Decodes an ArrayValue. */
export function decArrayValue(r: Reader): AnyValue[] {
  const values: AnyValue[] = [];
  // the array's own level (no need to restore it on a throw: an error ends the whole decode)
  const level = ++r.anyDepth;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) {
      if (level >= MAX_ANY_VALUE_DEPTH) r.fail(ANY_TOO_DEEP);
      values.push(anyAt(r, 'values', values.length));
    } else r.skip(tag, F_LIST, 'ArrayValue');
  }
  r.anyDepth--;
  return values;
}

/** Decodes a KeyValueList. */
export function decKvList(r: Reader): KeyValue[] {
  const values: KeyValue[] = [];
  const level = ++r.anyDepth;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 10 /* t(1, LEN) */) {
      if (level >= MAX_ANY_VALUE_DEPTH) r.fail(ANY_TOO_DEEP);
      values.push(kvAt(r, 'values', values.length));
    } else r.skip(tag, F_LIST, 'KeyValueList');
  }
  r.anyDepth--;
  return values;
}

/** The problem of an element that would nest deeper than MAX_ANY_VALUE_DEPTH (OTLP/JSON's words, json.ts). */
const ANY_TOO_DEEP = `attribute value nested deeper than ${MAX_ANY_VALUE_DEPTH} levels (arrays and key-value lists in one another)`;

/** A new empty Resource (a message without one). */
export const EMPTY_RESOURCE = (): Resource => ({ attributes: [], droppedAttributesCount: 0 });
/** A new empty InstrumentationScope (a message without one). */
export const EMPTY_SCOPE = (): InstrumentationScope => ({ name: '', version: '', attributes: [], droppedAttributesCount: 0 });
