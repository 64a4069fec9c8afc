/**
 * A bound on the memory a request decodes into, so that no input can take the process past V8's heap limit
 * ("JavaScript heap out of memory" kills the daemon and everything it holds).
 *
 * Why bodies alone are not enough: `max_request_body_size` and `max_bytes_in_flight` bound the bytes
 * received, but a few bytes of protobuf or JSON can decode into many objects. Measured with vigil's decoder:
 * minimal spans (~51 bytes each) into ~8x their size, span events into ~20x, `resource_spans` of one span
 * each into ~18x, empty attributes into ~26x; JSON `{}` and `[]` likewise. Sixteen such 4 MiB requests at
 * once killed the shipped sidecar (136 MB heap) in its first second (`npm run chaos amplification`).
 *
 * How: the protobuf decoder counts what it makes (a few bytes an object, set from measurements: see
 * DECODED_BYTES in proto-wire.ts; a count does not move with garbage collections as a heap reading does)
 * and tells {@link DecodeMemory.check} every 256 KiB of it; the JSON paths, whose `JSON.parse` cannot be
 * interrupted, call {@link DecodeMemory.admitJson} with an estimate taken from the text first:
 * - a request that decodes into more than {@link REQUEST_SHARE} of V8's heap limit is refused with 413
 *   (permanent: sent again it would do the same), naming the limit;
 * - when V8's heap in use (`v8.getHeapStatistics()`, ~1 µs) is past {@link PRESSURE_SHARE} of its limit, a
 *   full collection runs (at most once a second) and, if the heap is still that full, the request is refused
 *   with 503 + Retry-After (gRPC UNAVAILABLE): retryable,
 *   as the Collector's memory_limiter answers, and what was partly decoded is garbage at once.
 */
import v8 from 'node:v8';
import { fullGc } from '../heap.ts';
import { DEFAULT_RETRY_AFTER_MS, IntakeError } from './intake.ts';

/** Share of V8's heap limit one request may decode into. */
export const REQUEST_SHARE = 0.25;
/** Share of V8's heap limit past which decoding stops (after a full collection) with a retryable refusal. */
export const PRESSURE_SHARE = 0.85;
/** Bytes a parsed JSON object or array takes at least (V8: map, properties, elements; measured 56-90). */
const JSON_CONTAINER_BYTES = 64;

/** The heap as the guard reads it: bytes in use, and V8's limit. Replaceable for tests. */
export interface HeapReading {
  used(): number;
  readonly limit: number;
}

const v8Heap: HeapReading = {
  used: () => v8.getHeapStatistics().used_heap_size,
  limit: v8.getHeapStatistics().heap_size_limit,
};

let lastCollection = 0;
const mib = (b: number) => Math.round(b / 1048576);

/**
 * The guard (see this file's comment). It keeps no state of a request's own (the decoder counts, this
 * compares), so the receivers share {@link decodeMemory}; tests make their own with a fake heap and clock.
 */
export class DecodeMemory {
  constructor(
    private readonly heap: HeapReading = v8Heap,
    private readonly gc: () => (() => void) | undefined = fullGc,
    /** Milliseconds, monotonic (replaceable for tests). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Told the decoder's estimate of what the request decoded into so far (bytes); throws IntakeError 413
   * (this request is too large decoded) or 503 (the heap is full), see the file comment.
   */
  readonly check = (decodedBytes: number): void => this.test(decodedBytes, 0);

  /**
   * Before `JSON.parse(text)`: refuses when what the text would parse into (at least
   * {@link JSON_CONTAINER_BYTES} a `{` or `[`, two bytes a character) does not fit (same rules as `check`);
   * returns that estimate.
   */
  admitJson(text: string): number {
    let containers = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x7b || c === 0x5b) containers++;
    }
    const estimate = containers * JSON_CONTAINER_BYTES + text.length * 2;
    this.test(estimate, estimate);
    return estimate;
  }

  /** `own`: this request's decoded bytes (estimate); `coming`: of those, what is not allocated yet. */
  private test(own: number, coming: number): void {
    const limit = this.heap.limit;
    if (own > limit * REQUEST_SHARE) {
      throw new IntakeError(
        413,
        `the request decodes into more than ${mib(limit * REQUEST_SHARE)} MiB of memory (a quarter of V8's heap limit of ${mib(limit)} MiB, --max-old-space-size): send it in smaller requests`,
      );
    }
    let used = this.heap.used();
    if (used + coming <= limit * PRESSURE_SHARE) return;
    const gc = this.gc();
    const now = this.now();
    if (gc && now - lastCollection > 1000) {
      lastCollection = now;
      gc();
      used = this.heap.used();
    }
    if (used + coming > limit * PRESSURE_SHARE) {
      throw new IntakeError(503, `V8's heap is at ${Math.round((used / limit) * 100)}% of its ${mib(limit)} MiB limit: retry later`, DEFAULT_RETRY_AFTER_MS);
    }
  }
}

/** The guard every receiver uses, on V8's heap. */
export const decodeMemory = new DecodeMemory();
