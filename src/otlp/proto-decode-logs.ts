/**
 * Decoders of ExportLogsServiceRequest's messages: ResourceLogs, ScopeLogs, LogRecord.
 */
import type { AnyValue, InstrumentationScope, KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs } from '../model.ts';
import { DECODED_BYTES, VARINT, I64, LEN, I32, Reader } from './proto-wire.ts';
import { F_RESOURCE_LOGS, F_SCOPE_LOGS, F_LOG, t } from './proto-fields.ts';
import { sub, kvAt, anyAt, idField, decResource, decScope, EMPTY_RESOURCE, EMPTY_SCOPE } from './proto-decode-common.ts';

/** Decodes a ResourceLogs (its ScopeLogs and LogRecords). */
export function decResourceLogs(r: Reader): ResourceLogs {
  let resource: Resource | undefined;
  const scopeLogs: ScopeLogs[] = [];
  let schemaUrl = '';
  while (r.pos < r.limit) {
    const tag = r.varint();
    if (tag === t(2, LEN)) scopeLogs.push(sub(r, decScopeLogs, 'scope_logs', scopeLogs.length));
    else if (tag === t(1, LEN)) resource = sub(r, decResource, 'resource', -1);
    else if (tag === t(3, LEN)) schemaUrl = r.string();
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
    if (tag === t(2, LEN)) logRecords.push(sub(r, decLogRecord, 'log_records', logRecords.length));
    else if (tag === t(1, LEN)) scope = sub(r, decScope, 'scope', -1);
    else if (tag === t(3, LEN)) schemaUrl = r.string();
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
      case t(1, I64):
        time = r.fixed64();
        break;
      case t(11, I64):
        observed = r.fixed64();
        break;
      case t(2, VARINT):
        severityNumber = r.varint() | 0;
        break;
      case t(3, LEN):
        severityText = r.string();
        break;
      case t(5, LEN):
        body = anyAt(r, 'body', -1);
        break;
      case t(6, LEN):
        attributes.push(kvAt(r, 'attributes', attributes.length));
        break;
      case t(7, VARINT):
        dropped = r.varint();
        break;
      case t(8, I32):
        flags = r.fixed32();
        break;
      case t(9, LEN):
        traceId = idField(r, 16, 'trace_id');
        break;
      case t(10, LEN):
        spanId = idField(r, 8, 'span_id');
        break;
      case t(12, LEN):
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
