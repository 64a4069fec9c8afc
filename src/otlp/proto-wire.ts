/**
 * The protobuf wire format as vigil's OTLP decoder reads it: wire types, the bounded {@link Reader} (every
 * length, wire type and nesting depth checked), string interning and hex ids, and the error that carries a
 * field path ({@link ProtoError}).
 */
import { hex8, hex16 } from '../hex.ts';
import type { SpanDecodePlan } from './proto-decode-common.ts';

/**
 * The trace or span id of a span decoded without its ids (proto-decode-common.ts `SpanDecodePlan`): present and
 * not all zero (as the receiver requires), but not turned into hex because nothing downstream reads it.
 */
export const UNDECODED_ID = 'not-decoded';

/** Deepest message nesting the decoder accepts (deeper input is an error, not a stack overflow). */
export const MAX_DEPTH = 64;

/** Node's Buffer has these (undocumented but stable) fast paths behind toString/write; typed here. */
export type FastBuffer = Buffer & { utf8Slice(start: number, end: number): string; utf8Write(s: string, offset: number): number };

// Wire types.
export const VARINT = 0;
/** Protobuf wire type: 64-bit fixed. */
export const I64 = 1;
/** Protobuf wire type: length-delimited. */
export const LEN = 2;
/** Protobuf wire type: start group (deprecated, skipped). */
export const SGROUP = 3;
/** Protobuf wire type: end group. */
export const EGROUP = 4;
/** Protobuf wire type: 32-bit fixed. */
export const I32 = 5;


// Short strings (attribute keys, model names, span names) repeat from span to span: a small cache keyed by
// their bytes returns the string already made, which is several times cheaper than decoding UTF-8 again
// and leaves less garbage. A miss overwrites the slot; the cache never grows.
export const INTERN_SLOTS = 2048;
/** Longest string (bytes) the intern cache holds. */
export const INTERN_WIDTH = 48;
/**
 * Longest string attribute value (bytes) the attribute fast path looks up in the intern cache. Keys, model
 * names, hosts, operation names are short and repeat; a longer value is most often unique to its span (a
 * response id such as `chatcmpl-` and 29 characters, a message id), which misses the cache, is copied into
 * it for nothing and evicts a key. Measured on the bench's GenAI spans (one 38-byte response id each), in one
 * process with the two ways alternated (medians of 8 rounds, load 3.6-6): 100-span requests 2,173 -> 2,044,
 * 2,366 -> 2,246 and 2,570 -> 2,655 (rounds from 2,035 to 3,105: noise) ns a span; 512-span 2,285 -> 2,188.
 */
export const INTERN_VALUE_WIDTH = 24;
/** Intern cache: the bytes of each slot. */
export const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_WIDTH);
/** Intern cache: the byte length in each slot (-1: empty). */
export const internLens = new Int32Array(INTERN_SLOTS);
/** Intern cache: the string of each slot. */
export const internStrs: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** Intern cache: a DataView over `internBytes` for word compares. */
export const internView = new DataView(internBytes.buffer);

// Small int64 values (token counts, max_tokens, HTTP status codes) come from a table: bigints are immutable,
// so sharing them is safe, and it saves an allocation (~20 ns) per int attribute.
export const SMALL_BIGINTS = 4096;
/** Pre-made bigints 0..SMALL_BIGINTS-1. */
export const SMALL_BIGINT: bigint[] = [];
for (let i = 0; i < SMALL_BIGINTS; i++) SMALL_BIGINT.push(BigInt(i));

/**
 * Whether the `n` bytes at `start` of `b` (`view` over the same bytes) equal the `n` at `base` of `bytes`
 * (`bytesView` over it): four bytes at a time, then the last four (overlapping the words before) instead of a
 * byte loop for the tail (the compare is most of an intern hit's cost; the tail loop measured ~8% of a batch's
 * decode).
 */
export function sameBytes(b: FastBuffer, view: DataView, start: number, n: number, bytes: Uint8Array, bytesView: DataView, base: number): boolean {
  if (n >= 4) {
    const last = n - 4;
    let i = 0;
    while (i < last && view.getInt32(start + i, true) === bytesView.getInt32(base + i, true)) i += 4;
    return i >= last && view.getInt32(start + last, true) === bytesView.getInt32(base + last, true);
  }
  let i = 0;
  while (i < n && bytes[base + i] === b[start + i]) i++;
  return i === n;
}

/** Copies the `n` bytes at `start` of `b` to `base` of `bytes` (a byte loop: keys are short, and no view is made). */
export function copyBytes(b: FastBuffer, start: number, n: number, bytes: Uint8Array, base: number): void {
  for (let i = 0; i < n; i++) bytes[base + i] = b[start + i]!;
}

/** The string of `n` (> 0) UTF-8 bytes at `start`, from the intern cache when it holds them (short keys repeat across spans). */
export function intern(b: FastBuffer, view: DataView, start: number, n: number): string {
  // Hash the length and four sampled bytes (the full compare below settles collisions).
  let h = Math.imul(n, 0x9e3779b1) ^ b[start]! ^ (b[start + n - 1]! << 8) ^ (b[start + (n >>> 1)]! << 16) ^ (b[start + (n >>> 2)]! << 24);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  const slot = (h ^ (h >>> 13)) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_WIDTH;
  if (internLens[slot] === n && sameBytes(b, view, start, n, internBytes, internView, base)) return internStrs[slot]!;
  const s = b.utf8Slice(start, start + n);
  copyBytes(b, start, n, internBytes, base);
  internLens[slot] = n;
  internStrs[slot] = s;
  return s;
}

/** Thrown inside the decoder; the path is prefixed on the way out by each enclosing message. */
export class ProtoError extends Error {
  path: string;
  constructor(path: string, problem: string) {
    super(problem);
    this.path = path;
  }
}

/**
 * Thrown by {@link Reader.item} at the first item beyond the request's limit; its path (the item's) is
 * prefixed on the way out as a ProtoError's, then the decoder throws src/limits.ts `RequestItemsError`.
 */
export class ItemLimitError extends ProtoError {
  constructor() {
    super('', 'too many items');
  }
}

/** Rethrows `e` with `field[index]` prepended to its path (a RangeError becomes a ProtoError). */
export function prefix(e: unknown, field: string, index: number): never {
  const seg = index >= 0 ? `${field}[${index}]` : field;
  if (e instanceof ProtoError) {
    e.path = e.path ? (e.path.startsWith('[') ? seg + e.path : `${seg}.${e.path}`) : seg;
    throw e;
  }
  if (e instanceof RangeError) throw new ProtoError(seg, `malformed input (${e.message})`);
  throw e;
}

/** Decoded bytes (estimated) between two calls of {@link Reader.memoryCheck}. */
export const MEMORY_CHECK_BYTES = 256 * 1024;
/**
 * What the decoder counts per object it makes, in bytes (V8, 64-bit, pointer compression off), set from the
 * heap each shape took in a measurement (`node --expose-gc`, heap used before and after decoding, strings
 * counted apart at two bytes per input byte), rounded up: every message 64, a KeyValue 56 (its fast path
 * enters no message), a span 400 more (ids as hex strings, times), a span event 48 more, a ResourceSpans 200
 * and a ScopeSpans 100 more; a metric 200, a data point 150, a log record 300 more, and 8 bytes a number of a
 * packed repeated field (bucket counts, bounds). Measured: empty attributes 51 B each, events 98, ResourceSpans of one span
 * ~1 KB, minimal spans 426, spans of 14 attributes ~1.3 KB.
 */
export const DECODED_BYTES = { message: 64, keyValue: 56, span: 400, event: 48, resourceSpans: 200, scopeSpans: 100, metric: 200, dataPoint: 150, logRecord: 300 } as const;

/** The decoder's cursor over one buffer; `limit` is the end of the message being read. */
export class Reader {
  readonly buf: FastBuffer;
  readonly view: DataView;
  pos = 0;
  limit: number;
  depth = 0;
  /**
   * Arrays and key-value lists (AnyValues) open around the value being decoded: their elements are AnyValues
   * at level `anyDepth + 1`, refused past limits.ts `MAX_ANY_VALUE_DEPTH` as OTLP/JSON refuses them.
   */
  anyDepth = 0;
  /**
   * A KeyValue with a token-count key (limits.ts `isTokenCountKey`) held a value out of the token range, at
   * any depth: the receiver then runs its per-span token check ({@link DecodeChecks}).
   */
  tokenCountSuspect = false;
  /**
   * Estimate of the bytes the decoded objects take so far, without strings (see {@link DECODED_BYTES}):
   * counted, so that it does not move with garbage collections as a heap reading would.
   */
  decoded = 0;
  private nextCheck = MEMORY_CHECK_BYTES;
  /**
   * Told the estimate of the decoded size so far (objects, and two bytes per input byte for strings) every
   * {@link MEMORY_CHECK_BYTES} of it; throws to stop decoding (src/otlp/decode-memory.ts).
   */
  memoryCheck: ((decodedBytes: number) => void) | undefined = undefined;
  /** What to build of each span (proto-decode-common.ts); undefined: all of it. */
  spanPlan: SpanDecodePlan | undefined = undefined;
  /**
   * Items (elements of repeated message fields) the request may still hold before {@link item} throws
   * {@link ItemLimitError}; Infinity: no limit (src/limits.ts `DEFAULT_MAX_REQUEST_ITEMS`).
   */
  itemsLeft = Infinity;
  /** Counts one item (an element of a repeated message field); throws {@link ItemLimitError} past the limit. */
  item(): void {
    if (--this.itemsLeft < 0) throw new ItemLimitError();
  }
  /** Adds `bytes` to {@link decoded}; calls {@link memoryCheck} when due. */
  count(bytes: number): void {
    if ((this.decoded += bytes) > this.nextCheck) {
      this.nextCheck = this.decoded + MEMORY_CHECK_BYTES;
      this.memoryCheck?.(this.decoded + 2 * this.pos);
    }
  }
  constructor(buf: Buffer) {
    this.buf = buf as FastBuffer;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.limit = buf.length;
  }

  fail(problem: string): never {
    throw new ProtoError('', `${problem} (at byte ${this.pos})`);
  }

  /** A varint's low 32 bits, as an unsigned number (tags, lengths, uint32, enums via `| 0`). */
  varint(): number {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    if (pos >= limit) this.fail('truncated varint');
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    for (let shift = 7; shift < 70; shift += 7) {
      if (pos >= limit) this.fail('truncated varint');
      b = buf[pos++]!;
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit bigint (int64). */
  varint64(): bigint {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    // Fast path: up to 7 bytes fit in a double exactly.
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= limit) this.fail('truncated varint');
      const b = buf[pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return n < SMALL_BIGINTS ? SMALL_BIGINT[n]! : BigInt(n);
      }
      mul *= 128;
    }
    let v = BigInt(n);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (pos >= limit) this.fail('truncated varint');
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return BigInt.asIntN(64, v);
      }
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint read as a JS number (uint64 counts; exact below 2^53). */
  varintNumber(): number {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= limit) this.fail('truncated varint');
      const b = buf[pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return n;
      }
      mul *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  need(n: number): number {
    const p = this.pos;
    if (n > this.limit - p) this.fail(`truncated: ${n} bytes needed, ${this.limit - p} left`);
    this.pos = p + n;
    return p;
  }

  fixed64(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }
  sfixed64(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }
  fixed64Number(): number {
    const p = this.need(8);
    return this.view.getUint32(p, true) + this.view.getUint32(p + 4, true) * 4294967296;
  }
  fixed32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  /** Reads a length prefix and checks it fits in the current message. */
  len(): number {
    const n = this.varint();
    if (n > this.limit - this.pos) this.fail(`length ${n} exceeds the ${this.limit - this.pos} bytes left`);
    return n;
  }

  string(): string {
    const n = this.len();
    const start = this.pos;
    this.pos = start + n;
    return this.str(start, n);
  }

  /** The `n` bytes at `start` as a string; the caller has checked they lie in the message. */
  str(start: number, n: number): string {
    if (n === 0) return '';
    if (n <= INTERN_WIDTH) return intern(this.buf, this.view, start, n);
    return this.buf.utf8Slice(start, start + n);
  }

  bytes(): Uint8Array {
    const n = this.len();
    const start = this.pos;
    this.pos = start + n;
    return new Uint8Array(this.buf.buffer.slice(this.buf.byteOffset + start, this.buf.byteOffset + start + n));
  }

  /**
   * A trace (16) or span (8) id: with `hex`, as lowercase hex ("" when empty); without, checked the same way
   * but not turned into hex: {@link UNDECODED_ID} when present and not all zero, else "".
   */
  id(size: number, hex = true): string {
    const n = this.len();
    if (n === 0) return '';
    if (n !== size) this.fail(`expected ${size} bytes, got ${n}`);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + n;
    if (hex) return n === 8 ? hex8(b, p) : hex16(b, p);
    for (let i = p; i < p + n; i++) if (b[i] !== 0) return UNDECODED_ID;
    return '';
  }

  /** Enters a length-delimited sub-message; returns the limit to restore with {@link leave}. */
  enter(): number {
    this.count(DECODED_BYTES.message);
    const n = this.len();
    const saved = this.limit;
    this.limit = this.pos + n;
    if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    return saved;
  }
  leave(saved: number): void {
    this.pos = this.limit;
    this.limit = saved;
    this.depth--;
  }

  /** Skips a length-delimited value (its length checked against the message, as {@link len} does). */
  skipLen(): void {
    const n = this.len();
    this.pos += n;
  }

  /** Skips a field this decoder does not know, or fails if `fields` says it is known with another wire type. */
  skip(tag: number, fields: readonly (string | undefined)[], message: string): void {
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === 0) this.fail(`${message}: invalid field number 0`);
    if (field < fields.length && fields[field] !== undefined)
      this.fail(`${message}.${fields[field]} (field ${field}): unexpected wire type ${wt}`);
    this.skipValue(wt, field);
  }

  private skipValue(wt: number, field: number): void {
    switch (wt) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.need(8);
        return;
      case LEN:
        this.skipLen();
        return;
      case I32:
        this.need(4);
        return;
      case SGROUP: {
        if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
        for (;;) {
          const t = this.varint();
          if ((t & 7) === EGROUP) {
            if (t >>> 3 !== field) this.fail(`mismatched end of group ${field}`);
            this.depth--;
            return;
          }
          if (t >>> 3 === 0) this.fail('invalid field number 0');
          this.skipValue(t & 7, t >>> 3);
        }
      }
      default:
        this.fail(`invalid wire type ${wt}`);
    }
  }
}
