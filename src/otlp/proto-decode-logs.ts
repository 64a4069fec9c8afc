/**
 * Decoders of ExportLogsServiceRequest's messages: ResourceLogs, ScopeLogs, LogRecord.
 */
import type { AnyValue, InstrumentationScope, KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs } from '../model.ts';
import { DECODED_BYTES, Reader } from './proto-wire.ts';
import { F_RESOURCE_LOGS, F_SCOPE_LOGS, F_LOG } from './proto-fields.ts';
import { sub, kvAt, anyAt, idField, decResource, decScope, EMPTY_RESOURCE, EMPTY_SCOPE } from './proto-decode-common.ts';

/** Decodes a ResourceLogs (its ScopeLogs and LogRecords). */
export function decResourceLogs(r: Reader): ResourceLogs {
  let resource: Resource | undefined;
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) scopeLogs.push(sub(r, decScopeLogs, 'scope_logs', scopeLogs.length));
    else if (tag === 10 /* t(1, LEN) */) resource = sub(r, decResource, 'resource', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_RESOURCE_LOGS, 'ResourceLogs');
  }
  return { resource: resource ?? EMPTY_RESOURCE(), scopeLogs, schemaUrl };
}

function decScopeLogs(r: Reader): ScopeLogs {
  let scope: InstrumentationScope | undefined;
  const logRecords: LogRecord[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === 18 /* t(2, LEN) */) logRecords.push(sub(r, decLogRecord, 'log_records', logRecords.length));
    else if (tag === 10 /* t(1, LEN) */) scope = sub(r, decScope, 'scope', -1);
    else if (tag === 26 /* t(3, LEN) */) schemaUrl = r.string();
    else r.skip(tag, F_SCOPE_LOGS, 'ScopeLogs');
  }
  return { scope: scope ?? EMPTY_SCOPE(), logRecords, schemaUrl };
}

function decLogRecord(r: Reader): LogRecord {
  r.count(DECODED_BYTES.logRecord);
  let time = 0n;
  let observed = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body: AnyValue = null;
  const attributes: KeyValue[] = [];
  let dropped = 0;
  let flags = 0;
  let traceId = '';
  let spanId = '';
  let eventName = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    switch (tag) {
      case 9 /* t(1, I64) */:
        time = r.fixed64();
        break;
      case 89 /* t(11, I64) */:
        observed = r.fixed64();
        break;
      case 16 /* t(2, VARINT) */:
        severityNumber = r.varint() | 0;
        break;
      case 26 /* t(3, LEN) */:
        severityText = r.string();
        break;
      case 42 /* t(5, LEN) */:
        body = anyAt(r, 'body', -1);
        break;
      case 50 /* t(6, LEN) */:
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case 56 /* t(7, VARINT) */:
        dropped = r.varint();
        break;
      case 69 /* t(8, I32) */:
        flags = r.fixed32();
        break;
      case 74 /* t(9, LEN) */:
        traceId = idField(r, 16, 'trace_id');
        break;
      case 82 /* t(10, LEN) */:
        spanId = idField(r, 8, 'span_id');
        break;
      case 98 /* t(12, LEN) */:
        eventName = r.string();
        break;
      default:
        r.skip(tag, F_LOG, 'LogRecord');
    }
  }
  return {
    timeUnixNano: time,
    observedTimeUnixNano: observed,
    severityNumber,
    severityText,
    body,
    attributes,
    droppedAttributesCount: dropped,
    flags,
    traceId,
    spanId,
    eventName,
  };
}
