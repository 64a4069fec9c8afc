/**
 * OTLP requests with every field of every message set, encoded by an independent codec: protobufjs reflection
 * over a schema written from opentelemetry-proto's field numbers (Span.flags, LogRecord.event_name,
 * Metric.metadata included), for tests that check what vigil's codecs, receiver and exporter keep.
 */
import protobuf from 'protobufjs';
import type { OtlpSignal } from '../src/otlp/json.ts';

const OTLP_PROTO = `
syntax = "proto3";
package o;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Scope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message TReq { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10; repeated Event events = 11; uint32 dropped_events_count = 12; repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; } }
message Status { string message = 2; int32 code = 3; }
message LReq { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { Scope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
message MReq { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { Scope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; } repeated KeyValue metadata = 12; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } repeated Exemplar exemplars = 5; uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; repeated Exemplar exemplars = 8; uint32 flags = 10; optional double min = 11; optional double max = 12; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9; uint32 flags = 10; repeated Exemplar exemplars = 11; optional double min = 12; optional double max = 13; double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; } }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8;
  message ValueAtQuantile { double quantile = 1; double value = 2; } }
message Exemplar { repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2; oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5; }
`;
/** The schema above, parsed with the proto field names kept. */
const root = protobuf.parse(OTLP_PROTO, { keepCase: true }).root;
const T = root.lookupType('o.TReq');
const L = root.lookupType('o.LReq');
const M = root.lookupType('o.MReq');

const tid = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'), sid = Buffer.from('eee19b7ec3c1b174', 'hex');
const kv = (k: string, v: unknown) => ({ key: k, value: v });
const attrs = [kv('s', { string_value: 'x' }), kv('b', { bool_value: true }), kv('i', { int_value: -5 }), kv('d', { double_value: 1.5 }), kv('a', { array_value: { values: [{ string_value: 'y' }, { int_value: 2 }] } }), kv('kv', { kvlist_value: { values: [kv('n', { bool_value: false })] } }), kv('by', { bytes_value: Buffer.from([1, 2, 3]) }), kv('empty', {})];
const res = { attributes: attrs, dropped_attributes_count: 3 };
const scope = { name: 'sc', version: '1.2', attributes: [kv('sa', { string_value: 'v' })], dropped_attributes_count: 4 };
const ex = { filtered_attributes: [kv('f', { string_value: 'g' })], time_unix_nano: '1700000000000000001', as_int: '-7', span_id: sid, trace_id: tid };
const treq = { resource_spans: [{ resource: res, schema_url: 'https://r', scope_spans: [{ scope, schema_url: 'https://s', spans: [{ trace_id: tid, span_id: sid, trace_state: 'a=b', parent_span_id: sid, flags: 0x301, name: 'n', kind: 3, start_time_unix_nano: '1700000000000000001', end_time_unix_nano: '1700000000000000009', attributes: attrs, dropped_attributes_count: 5, events: [{ time_unix_nano: '1700000000000000003', name: 'ev', attributes: attrs, dropped_attributes_count: 6 }], dropped_events_count: 7, links: [{ trace_id: tid, span_id: sid, trace_state: 'c=d', attributes: attrs, dropped_attributes_count: 8, flags: 0x101 }], dropped_links_count: 9, status: { message: 'bad', code: 2 } }] }] }] };
const lreq = { resource_logs: [{ resource: res, schema_url: 'https://r', scope_logs: [{ scope, schema_url: 'https://s', log_records: [{ time_unix_nano: '1700000000000000001', observed_time_unix_nano: '1700000000000000002', severity_number: 17, severity_text: 'ERROR', body: { kvlist_value: { values: [kv('m', { string_value: 'x' })] } }, attributes: attrs, dropped_attributes_count: 2, flags: 1, trace_id: tid, span_id: sid, event_name: 'my.event' }] }] }] };
const mreq = { resource_metrics: [{ resource: res, schema_url: 'https://r', scope_metrics: [{ scope, schema_url: 'https://s', metrics: [
  { name: 'g', description: 'd', unit: 'ms', metadata: [kv('md', { string_value: 'v' })], gauge: { data_points: [{ attributes: attrs, start_time_unix_nano: '1', time_unix_nano: '1700000000000000001', as_double: 2.5, exemplars: [ex], flags: 1 }] } },
  { name: 's', sum: { aggregation_temporality: 1, is_monotonic: true, data_points: [{ time_unix_nano: '2', as_int: '9007199254740993' }] } },
  { name: 'h', histogram: { aggregation_temporality: 2, data_points: [{ count: '3', sum: 0, bucket_counts: ['1', '2'], explicit_bounds: [1], exemplars: [{ ...ex, as_int: undefined, as_double: 0.5 }], flags: 1, min: 0, max: 9 }] } },
  { name: 'hnosum', histogram: { aggregation_temporality: 2, data_points: [{ count: '0' }] } },
  { name: 'e', exponential_histogram: { aggregation_temporality: 1, data_points: [{ count: '4', sum: 1, scale: -2, zero_count: '1', positive: { offset: -3, bucket_counts: ['1', '2'] }, negative: { offset: 2, bucket_counts: ['0'] }, flags: 1, min: -1, max: 2, zero_threshold: 0.001 }] } },
  { name: 'su', summary: { data_points: [{ count: '5', sum: 7, quantile_values: [{ quantile: 0.5, value: 1 }, { quantile: 0, value: 0 }], flags: 1 }] } },
] }] }] };

/** Each signal, its request type and a request with every field set. */
export const CASES: Array<[OtlpSignal, protobuf.Type, Record<string, unknown>]> = [
  ['traces', T, treq],
  ['logs', L, lreq],
  ['metrics', M, mreq],
];
/** A decoded message as a plain object (longs and bytes as strings, defaults left out), for comparing. */
export const readOtlp = (type: protobuf.Type, bytes: Uint8Array) => type.toObject(type.decode(bytes), { longs: String, bytes: String, defaults: false });

/** The request of `signal` with every field set, encoded by protobufjs. */
export function fullRequest(signal: OtlpSignal): { type: protobuf.Type; bytes: Uint8Array } {
  const [, type, req] = CASES.find(([s]) => s === signal)!;
  return { type, bytes: type.encode(type.fromObject(req)).finish() };
}
