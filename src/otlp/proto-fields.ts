/**
 * OTLP field names by field number (for error messages that name the field of a wrong wire type), and the
 * tag of a field (`t(field, wireType)`).
 */

// Field names by number, for error messages (wrong wire type of a known field).
export const F_REQ_TRACES = [, 'resource_spans'];
/** Field names of ExportMetricsServiceRequest by field number (for error messages). */
export const F_REQ_METRICS = [, 'resource_metrics'];
/** Field names of ExportLogsServiceRequest by field number (for error messages). */
export const F_REQ_LOGS = [, 'resource_logs'];
/** Field names of ResourceSpans by field number (for error messages). */
export const F_RESOURCE_SPANS = [, 'resource', 'scope_spans', 'schema_url'];
/** Field names of ResourceMetrics by field number (for error messages). */
export const F_RESOURCE_METRICS = [, 'resource', 'scope_metrics', 'schema_url'];
/** Field names of ResourceLogs by field number (for error messages). */
export const F_RESOURCE_LOGS = [, 'resource', 'scope_logs', 'schema_url'];
/** Field names of ScopeSpans by field number (for error messages). */
export const F_SCOPE_SPANS = [, 'scope', 'spans', 'schema_url'];
/** Field names of ScopeMetrics by field number (for error messages). */
export const F_SCOPE_METRICS = [, 'scope', 'metrics', 'schema_url'];
/** Field names of ScopeLogs by field number (for error messages). */
export const F_SCOPE_LOGS = [, 'scope', 'log_records', 'schema_url'];
/** Field names of Resource by field number (for error messages). */
export const F_RESOURCE = [, 'attributes', 'dropped_attributes_count'];
/** Field names of InstrumentationScope by field number (for error messages). */
export const F_SCOPE = [, 'name', 'version', 'attributes', 'dropped_attributes_count'];
/** Field names of KeyValue by field number (for error messages). */
export const F_KV = [, 'key', 'value'];
/** Field names of AnyValue by field number (for error messages). */
export const F_ANY = [, 'string_value', 'bool_value', 'int_value', 'double_value', 'array_value', 'kvlist_value', 'bytes_value'];
/** Field names of ArrayValue / KeyValueList by field number (for error messages). */
export const F_LIST = [, 'values'];
/** Field names of Span by field number (for error messages). */
export const F_SPAN = [
  ,
  'trace_id',
  'span_id',
  'trace_state',
  'parent_span_id',
  'name',
  'kind',
  'start_time_unix_nano',
  'end_time_unix_nano',
  'attributes',
  'dropped_attributes_count',
  'events',
  'dropped_events_count',
  'links',
  'dropped_links_count',
  'status',
  'flags',
];
/** Field names of Span.Event by field number (for error messages). */
export const F_EVENT = [, 'time_unix_nano', 'name', 'attributes', 'dropped_attributes_count'];
/** Field names of Span.Link by field number (for error messages). */
export const F_LINK = [, 'trace_id', 'span_id', 'trace_state', 'attributes', 'dropped_attributes_count', 'flags'];
/** Field names of Status by field number (for error messages). */
export const F_STATUS = [, , 'message', 'code'];
/** Field names of Metric by field number (for error messages). */
export const F_METRIC = [, 'name', 'description', 'unit', , 'gauge', , 'sum', , 'histogram', 'exponential_histogram', 'summary', 'metadata'];
/** Field names of Gauge by field number (for error messages). */
export const F_GAUGE = [, 'data_points'];
/** Field names of Sum by field number (for error messages). */
export const F_SUM = [, 'data_points', 'aggregation_temporality', 'is_monotonic'];
/** Field names of NumberDataPoint by field number (for error messages). */
export const F_NUMBER_DP = [, , 'start_time_unix_nano', 'time_unix_nano', 'as_double', 'exemplars', 'as_int', 'attributes', 'flags'];
/** Field names of HistogramDataPoint by field number (for error messages). */
export const F_HIST_DP = [
  ,
  ,
  'start_time_unix_nano',
  'time_unix_nano',
  'count',
  'sum',
  'bucket_counts',
  'explicit_bounds',
  'exemplars',
  'attributes',
  'flags',
  'min',
  'max',
];
/** Field names of ExponentialHistogramDataPoint by field number (for error messages). */
export const F_EXP_DP = [
  ,
  'attributes',
  'start_time_unix_nano',
  'time_unix_nano',
  'count',
  'sum',
  'scale',
  'zero_count',
  'positive',
  'negative',
  'flags',
  'exemplars',
  'min',
  'max',
  'zero_threshold',
];
/** Field names of ExponentialHistogramDataPoint.Buckets by field number (for error messages). */
export const F_BUCKETS = [, 'offset', 'bucket_counts'];
/** Field names of SummaryDataPoint by field number (for error messages). */
export const F_SUMMARY_DP = [, , 'start_time_unix_nano', 'time_unix_nano', 'count', 'sum', 'quantile_values', 'attributes', 'flags'];
/** Field names of SummaryDataPoint.ValueAtQuantile by field number (for error messages). */
export const F_QUANTILE = [, 'quantile', 'value'];
/** Field names of Exemplar by field number (for error messages). */
export const F_EXEMPLAR = [, , 'time_unix_nano', 'as_double', 'span_id', 'trace_id', 'as_int', 'filtered_attributes'];
/** Field names of LogRecord by field number (for error messages). */
export const F_LOG = [
  ,
  'time_unix_nano',
  'severity_number',
  'severity_text',
  ,
  'body',
  'attributes',
  'dropped_attributes_count',
  'flags',
  'trace_id',
  'span_id',
  'observed_time_unix_nano',
  'event_name',
];
/** Field names of Export*ServiceResponse by field number (for error messages). */
export const F_RESPONSE = [, 'partial_success'];
/** Field names of Export*PartialSuccess by field number (for error messages). */
export const F_PARTIAL = [, 'rejected', 'error_message'];

/** The tag of a field: `(field << 3) | wireType` (the decoders write tags as literals, each with this call in a comment: a call in a `case` label is evaluated at run time). */
export const t = (field: number, wt: number) => (field << 3) | wt;
