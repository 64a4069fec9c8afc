/**
 * Export*ServiceResponse (partial success) and google.rpc.Status / RetryInfo, encoded and decoded.
 */
import { VARINT, LEN, ProtoError, Reader } from './proto-wire.ts';
import { F_RESPONSE, F_PARTIAL, t } from './proto-fields.ts';

import { OtlpDecodeError } from './json.ts';
import { Writer } from './proto-encode.ts';

/** An Export*ServiceResponse's partial_success (all zero/empty for a full success). */
export interface PartialSuccess {
  /** rejected_spans / rejected_data_points / rejected_log_records. */
  rejected: number;
  errorMessage: string;
}

/** Encodes an Export*ServiceResponse (empty for a full success, as the spec asks). */
export function encodeExportResponse(partial?: PartialSuccess): Buffer {
  const w = new Writer(64);
  if (partial && (partial.rejected || partial.errorMessage)) {
    const a = w.fork(1);
    if (partial.rejected) {
      w.tag(1, VARINT);
      w.varint(partial.rejected);
    }
    w.string(2, partial.errorMessage);
    w.join(a);
  }
  return w.finish();
}

/** Decodes an Export*ServiceResponse. */
export function decodeExportResponse(bytes: Uint8Array): PartialSuccess {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf);
  const out: PartialSuccess = { rejected: 0, errorMessage: '' };
  try {
    while (r.pos < r.limit) {
      const tag = r.varint();
      if (tag === t(1, LEN)) {
        const saved = r.enter();
        while (r.pos < r.limit) {
          const tg = r.varint();
          if (tg === t(1, VARINT)) out.rejected = Number(r.varint64());
          else if (tg === t(2, LEN)) out.errorMessage = r.string();
          else r.skip(tg, F_PARTIAL, 'PartialSuccess');
        }
        r.leave(saved);
      } else r.skip(tag, F_RESPONSE, 'ExportServiceResponse');
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OtlpDecodeError(e.path, e.message);
    throw e;
  }
  return out;
}

/** google.rpc.Status: the body of an OTLP/HTTP error response and gRPC's grpc-status-details-bin. */
export interface RpcStatus {
  code: number;
  message: string;
  /** RetryInfo.retry_delay in milliseconds, when the status carries one. */
  retryDelayMs?: number;
}

const RETRY_INFO_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** Encodes a google.rpc.Status (with a RetryInfo in its details when `retryDelayMs` is set). */
export function encodeRpcStatus(s: RpcStatus): Buffer {
  const w = new Writer(128);
  w.uint(1, s.code);
  w.string(2, s.message);
  if (s.retryDelayMs !== undefined) {
    const a = w.fork(3); // Any
    w.string(1, RETRY_INFO_URL);
    const b = w.fork(2); // Any.value = RetryInfo
    const c = w.fork(1); // retry_delay: Duration
    const secs = Math.floor(s.retryDelayMs / 1000);
    w.uint(1, secs);
    w.uint(2, Math.round((s.retryDelayMs - secs * 1000) * 1e6));
    w.join(c);
    w.join(b);
    w.join(a);
  }
  return w.finish();
}

/** Decodes a google.rpc.Status and the RetryInfo among its details. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(buf);
  const out: RpcStatus = { code: 0, message: '' };
  try {
    while (r.pos < r.limit) {
      const tag = r.varint();
      if (tag === t(1, VARINT)) out.code = r.varint() | 0;
      else if (tag === t(2, LEN)) out.message = r.string();
      else if (tag === t(3, LEN)) {
        const saved = r.enter();
        let url = '';
        let valueStart = -1;
        let valueEnd = -1;
        while (r.pos < r.limit) {
          const tg = r.varint();
          if (tg === t(1, LEN)) url = r.string();
          else if (tg === t(2, LEN)) {
            const n = r.len();
            valueStart = r.pos;
            valueEnd = r.pos + n;
            r.pos = valueEnd;
          } else r.skip(tg, [], 'Any');
        }
        r.leave(saved);
        if (url === RETRY_INFO_URL && valueStart >= 0) {
          const ms = decodeRetryInfo(buf.subarray(valueStart, valueEnd));
          if (ms !== undefined) out.retryDelayMs = ms;
        }
      } else r.skip(tag, [], 'Status');
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new OtlpDecodeError(e.path, e.message);
    throw e;
  }
  return out;
}

function decodeRetryInfo(buf: Buffer): number | undefined {
  const r = new Reader(buf);
  let ms: number | undefined;
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === t(1, LEN)) {
      const saved = r.enter();
      let secs = 0;
      let nanos = 0;
      while (r.pos < r.limit) {
        const tg = r.varint();
        if (tg === t(1, VARINT)) secs = Number(r.varint64());
        else if (tg === t(2, VARINT)) nanos = r.varint() | 0;
        else r.skip(tg, [], 'Duration');
      }
      r.leave(saved);
      ms = secs * 1000 + nanos / 1e6;
    } else r.skip(tag, [], 'RetryInfo');
  }
  return ms;
}
