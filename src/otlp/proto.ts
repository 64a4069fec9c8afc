/**
 * OTLP protobuf <-> vigil's model, written from the field numbers of opentelemetry-proto
 * (common/resource/trace/metrics/logs/collector v1) and google.rpc.Status / RetryInfo.
 *
 * Decoding is the receivers' hot path: it reads the wire format straight into model objects (no
 * intermediate message objects, no closures per item), and checks every length, wire type and nesting
 * depth, so malformed input (truncated, random bytes, wrong wire types, huge lengths) ends in an
 * {@link OtlpDecodeError} naming the field path (`resource_spans[0].scope_spans[0].spans[3].trace_id: ...`),
 * never in a crash, a hang or an oversized allocation. Unknown fields are skipped.
 *
 * This module is the public face; the code lives beside it: proto-wire.ts (wire format and the bounded
 * reader), proto-fields.ts (field names), proto-decode*.ts (the request and one decoder module per signal),
 * proto-encode.ts (the writer), rpc-status.ts (responses, google.rpc.Status, RetryInfo).
 */
export { OtlpDecodeError } from './json.ts';
export { type DecodeChecks, decodeEncoded, decodeExportRequest, decodedCovers } from './proto-decode.ts';
export { SpanDecodePlan } from './proto-decode-common.ts';
export { UNDECODED_ID } from './proto-wire.ts';
export { encodeExportRequest } from './proto-encode.ts';
export { type PartialSuccess, type RpcStatus, decodeExportResponse, decodeRpcStatus, encodeExportResponse, encodeRpcStatus } from './rpc-status.ts';
