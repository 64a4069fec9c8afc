/**
 * Every field of every OTLP message survives vigil's codecs, checked with an independent decoder (protobufjs
 * reflection over a schema written from opentelemetry-proto's field numbers): a request decoded into vigil's
 * model and encoded again (what the otlp exporter forwards when the data was decoded), and the same through
 * OTLP/JSON, reads back field for field as it came, including an attribute whose AnyValue is empty.
 */
import { describe, expect, it } from 'vitest';
import { otlpJsonBytes } from '../src/otlp/json-text.ts';
import { parseOtlpJson } from '../src/otlp/json.ts';
import { decodeExportRequest, encodeExportRequest } from '../src/otlp/proto.ts';
import { CASES, readOtlp as read } from './otlp-full-requests.ts';

describe('OTLP fields through vigil\'s codecs', () => {
  it.each(CASES)('%s: protobuf decoded and encoded again reads back as it came', (signal, type, req) => {
    const bytes = type.encode(type.fromObject(req)).finish();
    const again = encodeExportRequest(decodeExportRequest(signal, Buffer.from(bytes)), signal);
    expect(read(type, again)).toEqual(read(type, bytes));
  });

  it.each(CASES)('%s: through OTLP/JSON and back to protobuf reads back as it came', (signal, type, req) => {
    const bytes = type.encode(type.fromObject(req)).finish();
    const json = otlpJsonBytes(decodeExportRequest(signal, Buffer.from(bytes)), signal).toString('utf8');
    const again = encodeExportRequest(parseOtlpJson(signal, json), signal);
    expect(read(type, again)).toEqual(read(type, bytes));
  });
});
