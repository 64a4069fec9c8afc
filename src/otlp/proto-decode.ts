/**
 * Decodes OTLP Export*ServiceRequest protobuf bytes into vigil's model (the receivers' hot path; see proto.ts).
 */
import type { SpanReads } from '../component.ts';
import type { Batch, ResourceLogs, ResourceMetrics, ResourceSpans } from '../model.ts';
import { RequestItemsError } from '../limits.ts';
import { ItemLimitError, LEN, ProtoError, Reader } from './proto-wire.ts';
import { F_REQ_TRACES, F_REQ_METRICS, F_REQ_LOGS, t } from './proto-fields.ts';
import { type SpanDecodePlan, sub } from './proto-decode-common.ts';
import { decResourceSpans } from './proto-decode-traces.ts';
import { decResourceMetrics } from './proto-decode-metrics.ts';
import { decResourceLogs } from './proto-decode-logs.ts';
import { OtlpDecodeError, type OtlpSignal } from './json.ts';


/** What the decoder saw on the way that spares the receiver a walk over the decoded items. */
export interface DecodeChecks {
  /**
   * False when no attribute with a token-count key (limits.ts `isTokenCountKey`), at any depth, holds a
   * value out of the token range (`tokenCountProblem`): no span has a token count to reject. True: some
   * may (the receiver checks each span).
   */
  tokenCountSuspect: boolean;
}

/**
 * Decodes an Export{Trace,Metrics,Logs}ServiceRequest. Throws {@link OtlpDecodeError} on malformed input.
 * The returned batch shares no memory with `bytes` (bytes values are copied). With `checks`, fills it in
 * (see {@link DecodeChecks}). With `memoryCheck`, tells it the estimated decoded size (Reader.decoded, proto-wire.ts)
 * every MEMORY_CHECK_BYTES of it and at the end; what it throws stops decoding and is thrown as is
 * (src/otlp/decode-memory.ts). With `spanPlan`, spans carry only what it keeps (the rest is checked, not
 * built; see {@link SpanDecodePlan}). With `maxItems`, stops at the first element of a repeated message
 * field beyond that many in the whole request and throws {@link RequestItemsError} naming its path
 * (src/limits.ts `DEFAULT_MAX_REQUEST_ITEMS`).
 */
export function decodeExportRequest(
  signal: OtlpSignal,
  bytes: Uint8Array,
  checks?: DecodeChecks,
  memoryCheck?: (decodedBytes: number) => void,
  spanPlan?: SpanDecodePlan,
  maxItems?: number,
): Batch {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf);
  r.memoryCheck = memoryCheck;
  r.spanPlan = spanPlan;
  if (maxItems !== undefined) r.itemsLeft = maxItems;
  let batch: Batch;
  try {
    batch = decodeWith(r, signal);
  } catch (e) {
    if (e instanceof ItemLimitError) throw new RequestItemsError(maxItems!, 'items', e.path);
    throw e;
  }
  if (spanPlan) decodedWith.set(batch, spanPlan);
  memoryCheck?.(r.decoded + 2 * r.pos);
  if (checks) checks.tokenCountSuspect = r.tokenCountSuspect;
  return batch;
}

function decodeWith(r: Reader, signal: OtlpSignal): Batch {
  try {
    switch (signal) {
      case 'traces': {
        const out: ResourceSpans[] = [];
        while (r.pos < r.limit) {
          const tag = r.varint();
          if (tag === t(1, LEN)) out.push(sub(r, decResourceSpans, 'resource_spans', out.length));
          else r.skip(tag, F_REQ_TRACES, 'ExportTraceServiceRequest');
        }
        return { resourceSpans: out };
      }
      case 'metrics': {
        const out: ResourceMetrics[] = [];
        while (r.pos < r.limit) {
          const tag = r.varint();
          if (tag === t(1, LEN)) out.push(sub(r, decResourceMetrics, 'resource_metrics', out.length));
          else r.skip(tag, F_REQ_METRICS, 'ExportMetricsServiceRequest');
        }
        return { resourceMetrics: out };
      }
      case 'logs': {
        const out: ResourceLogs[] = [];
        while (r.pos < r.limit) {
          const tag = r.varint();
          if (tag === t(1, LEN)) out.push(sub(r, decResourceLogs, 'resource_logs', out.length));
          else r.skip(tag, F_REQ_LOGS, 'ExportLogsServiceRequest');
        }
        return { resourceLogs: out };
      }
    }
  } catch (e) {
    if (e instanceof ItemLimitError) throw e;
    if (e instanceof ProtoError) throw new OtlpDecodeError(e.path, e.message);
    if (e instanceof RangeError) throw new OtlpDecodeError('', `malformed input (${e.message})`);
    throw e;
  }
}

/** The plan each batch decoded with one was decoded with (its spans carry only what the plan keeps). */
const decodedWith = new WeakMap<Batch, SpanDecodePlan>();

/**
 * Whether `batch` carries all that a consumer reading `needs` of its spans reads: it was decoded whole (or is
 * not a decoded request at all), or with a plan that covers `needs` ({@link SpanDecodePlan.covers}). The
 * receiver's `emit` (src/graph.ts Relay) checks it at each delivery: a reload may have re-pointed it since.
 */
export function decodedCovers(batch: Batch, needs: SpanReads | undefined): boolean {
  const plan = decodedWith.get(batch);
  return plan === undefined || plan.covers(needs);
}

/**
 * The batch with its {@link Batch.encoded} request decoded into the model, for a consumer that reads the
 * model; the batch itself when it carries none. The request was checked when it was received, so this does
 * not fail on it.
 */
export function decodeEncoded(batch: Batch): Batch {
  const e = batch.encoded;
  if (!e) return batch;
  const { encoded: _, ...rest } = batch;
  return { ...rest, ...decodeExportRequest(e.signal, e.bytes) };
}

/** Decodes one length-delimited sub-message with `f`, prefixing any error with `field[index]`. */
