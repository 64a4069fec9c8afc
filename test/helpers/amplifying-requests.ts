/**
 * OTLP/protobuf ExportTraceServiceRequests that decode into far more memory than their bytes: the shapes
 * src/otlp/decode-memory.ts bounds. Shared by its test and by `npm run chaos amplification`.
 * Measured with vigil's decoder: minimal spans (~51 bytes each) ~8x; span events ~20x; resource_spans of
 * one span each ~18x; empty attributes ~26x.
 */

/** A protobuf varint. */
export function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field: its one-byte tag (field number << 3 | 2), the length, the bytes. */
export const field = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag, ...varint(body.length)]), body]);

/** `b` written `n` times in a row. */
export const repeat = (b: Buffer, n: number): Buffer => Buffer.concat(Array<Buffer>(n).fill(b));

/**
 * A minimal valid span's fields, 49 bytes: trace_id (seed, i), span_id (seed, i), name "x", start and end
 * (1 ms long, ending now).
 */
export function minimalSpan(seed: number, i: number): Buffer {
  const now = BigInt(Date.now()) * 1_000_000n;
  const s = Buffer.alloc(49);
  s[0] = 0x0a; // trace_id
  s[1] = 16;
  s.writeUInt32BE(seed, 2);
  s.writeUInt32BE(i + 1, 6);
  s.writeUInt32BE(0xabcdef, 10);
  s.writeUInt32BE(7, 14);
  s[18] = 0x12; // span_id
  s[19] = 8;
  s.writeUInt32BE(seed, 20);
  s.writeUInt32BE(i + 1, 24);
  s[28] = 0x2a; // name
  s[29] = 1;
  s[30] = 0x78;
  s[31] = 0x39; // start_time_unix_nano
  s.writeBigUInt64LE(now - 1_000_000n, 32);
  s[40] = 0x41; // end_time_unix_nano
  s.writeBigUInt64LE(now, 41);
  return s;
}

export const AMPLIFYING_SHAPES = ['spans', 'events', 'resources', 'attributes'] as const;
export type AmplifyingShape = (typeof AMPLIFYING_SHAPES)[number];

/**
 * A request of `n` items of `shape`: `spans` minimal spans in one ScopeSpans (resource service.name "amp");
 * `events` span events (name "e") of one span; `attributes` empty KeyValues of one span; `resources`
 * ResourceSpans, each with an empty resource and one span.
 */
export function amplifyingRequest(shape: AmplifyingShape, n: number, seed = 1): Buffer {
  const oneSpan = (s: Buffer) => field(0x0a, field(0x12, field(0x12, s)));
  switch (shape) {
    case 'spans': {
      const spans = Buffer.concat(Array.from({ length: n }, (_, i) => field(0x12, minimalSpan(seed, i))));
      const resource = field(0x0a, field(0x0a, field(0x0a, Buffer.concat([field(0x0a, Buffer.from('service.name')), field(0x12, field(0x0a, Buffer.from('amp')))]))));
      return field(0x0a, Buffer.concat([resource, field(0x12, spans)]));
    }
    case 'events':
      return oneSpan(Buffer.concat([minimalSpan(seed, 0), repeat(field(0x5a, Buffer.from([0x12, 0x01, 0x65])), n)]));
    case 'attributes':
      return oneSpan(Buffer.concat([minimalSpan(seed, 0), repeat(field(0x4a, Buffer.alloc(0)), n)]));
    case 'resources':
      return Buffer.concat(Array.from({ length: n }, (_, i) => field(0x0a, Buffer.concat([field(0x0a, Buffer.alloc(0)), field(0x12, field(0x12, minimalSpan(seed, i)))]))));
  }
}
