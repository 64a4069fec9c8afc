/**
 * The spans every bench sends (issue 21, "honest benches"): GenAI client spans as an OpenAI
 * instrumentation writes them, made by the OpenTelemetry JS SDK and encoded by the SDK's own OTLP
 * protobuf serializer (`@opentelemetry/otlp-transformer` ProtobufTraceSerializer, the bytes the OTLP/HTTP
 * protobuf exporter sends):
 *   - 14 span attributes (gen_ai.* semconv, server.*, client.address, http.response.status_code), with
 *     a unique `gen_ai.response.id` and a `client.address` that varies per span;
 *   - 17 resource attributes of a Kubernetes pod (service.*, telemetry.sdk.*, k8s.*, container.id, host.name);
 *   - one span in 50 with status ERROR; durations 200-2,700 ms.
 * About 600 bytes a span on the wire.
 *
 * Payloads built ahead of time for a load generator (`genAiPayload`) are made fresh at send time with
 * `Payload.fresh()`: timestamps moved to now (durations kept; `percentiles` would drop spans older than its
 * held windows as late), and new trace/span ids, response ids and client addresses written in place (the
 * same byte lengths, so the bytes stay the SDK's encoding), so that no string repeats between requests.
 */
import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The models the spans name, in turn (`gen_ai.request.model`; all in the cost processor's price table). */
export const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'o3-mini'];
/** The services (`service.name`) senders take turns as. */
export const SERVICES = ['support-bot', 'search-api', 'summarizer', 'triage'];

/** A client address with three-digit octets (`10.ddd.ddd.ddd`, 14 bytes), so `fresh()` can rewrite it in place. */
function clientAddress(r: () => number): string {
  return `10.${100 + Math.floor(r() * 156)}.${100 + Math.floor(r() * 156)}.${100 + Math.floor(r() * 156)}`;
}

/** ReadableSpans ending now: `n` GenAI client spans of 14 attributes, unique response ids and addresses. */
export function makeSpans(provider: BasicTracerProvider, memory: InMemorySpanExporter, n: number, seq: number): ReadableSpan[] {
  const tracer = provider.getTracer('opentelemetry.instrumentation.openai', '0.48.0');
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const model = MODELS[(seq + i) % MODELS.length]!;
    const durMs = 200 + ((seq * 7919 + i * 104_729) % 2500);
    const span = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      startTime: now - durMs,
      attributes: {
        'gen_ai.system': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': model,
        'gen_ai.response.model': `${model}-2024-08-06`,
        'gen_ai.response.id': `chatcmpl-${randomBytes(12).toString('base64url')}`,
        'gen_ai.request.max_tokens': 1024,
        'gen_ai.request.temperature': 0.7,
        'gen_ai.usage.input_tokens': 300 + ((seq + i * 31) % 3000),
        'gen_ai.usage.output_tokens': 20 + ((seq + i * 17) % 800),
        'gen_ai.response.finish_reasons': ['stop'],
        'server.address': 'api.openai.com',
        'server.port': 443,
        'client.address': clientAddress(Math.random),
        'http.response.status_code': 200,
      },
    });
    if ((seq + i) % 50 === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    span.end(now);
  }
  const spans = memory.getFinishedSpans().slice();
  memory.reset();
  return spans;
}

/** A tracer provider for `service` with a Kubernetes pod's resource (17 attributes), spans kept in memory. */
export function provider(service: string): { provider: BasicTracerProvider; memory: InMemorySpanExporter } {
  const memory = new InMemorySpanExporter();
  const pod = `${service}-7d9c8b5f4-${randomBytes(3).toString('hex')}`;
  const p = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.version': '1.4.2',
      'service.instance.id': randomBytes(8).toString('hex'),
      'deployment.environment.name': 'production',
      'telemetry.sdk.language': 'python',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '1.27.0',
      'k8s.cluster.name': 'prod-eu-west-1',
      'k8s.namespace.name': 'llm-apps',
      'k8s.deployment.name': service,
      'k8s.replicaset.name': pod.slice(0, pod.lastIndexOf('-')),
      'k8s.pod.name': pod,
      'k8s.pod.uid': randomBytes(16).toString('hex'),
      'k8s.node.name': 'ip-10-0-12-34.eu-west-1.compute.internal',
      'k8s.container.name': 'app',
      'container.id': randomBytes(32).toString('hex'),
      'host.name': pod,
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  return { provider: p, memory };
}

/** The OTLP/HTTP protobuf request body the SDK's exporter would send for `spans`. */
export function encodeSpans(spans: ReadableSpan[]): Buffer {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans as Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0]);
  if (!bytes) throw new Error('ProtobufTraceSerializer returned nothing');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One encoded ExportTraceServiceRequest of `n` spans from service SERVICES[seed % 4], ending now. */
export async function genAiTracesRequest(n: number, seed = 0): Promise<Buffer> {
  const { provider: p, memory } = provider(SERVICES[seed % SERVICES.length]!);
  const bytes = encodeSpans(makeSpans(p, memory, n, seed * n));
  await p.shutdown();
  return bytes;
}

// ------------------------------------------------------------------------------ fresh at send time

/** Where `fresh()` writes in an encoded request: byte offsets into the payload. */
interface Spots {
  /** fixed64 start / end times (little endian), in pairs. */
  times: number[];
  /** trace id (16 bytes), span id (8 bytes) */
  traceIds: number[];
  spanIds: number[];
  /** the 16 base64url characters after `chatcmpl-` */
  responseIds: number[];
  /** offsets of the three 3-digit octets of `10.ddd.ddd.ddd` */
  addresses: number[];
}

function varint(b: Buffer, at: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[at++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, at];
    mul *= 128;
  }
}

/** Walks the fields of the message in [start, end): calls `f(field, wireType, valueStart, valueEnd)`. */
function fields(b: Buffer, start: number, end: number, f: (field: number, wt: number, s: number, e: number) => void): void {
  let at = start;
  while (at < end) {
    const [tag, p] = varint(b, at);
    const wt = tag & 7;
    const field = Math.floor(tag / 8);
    let s = p;
    let e: number;
    if (wt === 0) e = varint(b, p)[1];
    else if (wt === 1) e = p + 8;
    else if (wt === 5) e = p + 4;
    else if (wt === 2) {
      const [len, q] = varint(b, p);
      s = q;
      e = q + len;
    } else throw new Error(`unexpected wire type ${wt}`);
    f(field, wt, s, e);
    at = e;
  }
}

/** The offsets `fresh()` rewrites, read from the encoded request (ExportTraceServiceRequest field numbers). */
function findSpots(b: Buffer): Spots {
  const spots: Spots = { times: [], traceIds: [], spanIds: [], responseIds: [], addresses: [] };
  fields(b, 0, b.length, (f, _w, s, e) => {
    if (f !== 1) return; // resource_spans
    fields(b, s, e, (f, _w, s, e) => {
      if (f !== 2) return; // scope_spans
      fields(b, s, e, (f, _w, s, e) => {
        if (f !== 2) return; // spans
        fields(b, s, e, (f, _w, s, e) => {
          if (f === 1 && e - s === 16) spots.traceIds.push(s);
          else if (f === 2 && e - s === 8) spots.spanIds.push(s);
          else if (f === 7 || f === 8) spots.times.push(s);
          else if (f === 9) {
            let key = '';
            fields(b, s, e, (f, _w, s, e) => {
              if (f === 1) key = b.toString('utf8', s, e);
              else if (f === 2)
                fields(b, s, e, (f, _w, s, e) => {
                  if (f !== 1) return; // string_value
                  if (key === 'gen_ai.response.id' && e - s === 25) spots.responseIds.push(s + 9);
                  else if (key === 'client.address' && e - s === 14) spots.addresses.push(s + 3, s + 7, s + 11);
                });
            });
          }
        });
      });
    });
  });
  return spots;
}

const B64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/** An encoded request and where to make it fresh. */
export interface Payload {
  /** The bytes as built (not modified). */
  readonly bytes: Buffer;
  readonly spans: number;
  /** A copy with timestamps moved to now (durations kept) and new ids, response ids and client addresses. */
  fresh(): Buffer;
}

/** Makes an encoded request (from `genAiTracesRequest`) freshen-able at send time. */
export function payload(bytes: Buffer): Payload {
  const spots = findSpots(bytes);
  const spans = spots.spanIds.length;
  if (spots.traceIds.length !== spans || spots.times.length !== 2 * spans || spots.responseIds.length !== spans || spots.addresses.length !== 3 * spans)
    throw new Error(`payload: found ${spans} spans, ${spots.times.length} times, ${spots.responseIds.length} response ids, ${spots.addresses.length / 3} addresses`);
  let newest = 0n;
  for (const t of spots.times) if (bytes.readBigUInt64LE(t) > newest) newest = bytes.readBigUInt64LE(t);
  // xorshift32: cheap enough not to load the load generator (Math.random is ~10x the cost per byte)
  let x = (randomBytes(4).readUInt32LE(0) | 1) >>> 0;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return {
    bytes,
    spans,
    fresh() {
      const b = Buffer.from(bytes);
      // fixed64 + shift in two 32-bit halves with a carry (exact in doubles; BigInt per field cost ~4x the rest)
      const shift = BigInt(Date.now()) * 1_000_000n - newest;
      if (shift > 0n) {
        const shiftLo = Number(shift & 0xffffffffn);
        const shiftHi = Number(shift >> 32n);
        for (const t of spots.times) {
          const lo = b.readUInt32LE(t) + shiftLo;
          const carry = lo >= 0x1_0000_0000 ? 1 : 0;
          b.writeUInt32LE(lo - carry * 0x1_0000_0000, t);
          b.writeUInt32LE((b.readUInt32LE(t + 4) + shiftHi + carry) >>> 0, t + 4);
        }
      }
      for (const at of spots.traceIds) for (let i = 0; i < 16; i += 4) b.writeUInt32LE(next(), at + i);
      for (const at of spots.spanIds) for (let i = 0; i < 8; i += 4) b.writeUInt32LE(next(), at + i);
      for (const at of spots.responseIds) {
        for (let i = 0; i < 16; i += 4) {
          const r = next();
          b[at + i] = B64URL[r & 63]!;
          b[at + i + 1] = B64URL[(r >>> 6) & 63]!;
          b[at + i + 2] = B64URL[(r >>> 12) & 63]!;
          b[at + i + 3] = B64URL[(r >>> 18) & 63]!;
        }
      }
      for (const at of spots.addresses) {
        const octet = 100 + (next() % 156);
        b[at] = 0x30 + Math.floor(octet / 100);
        b[at + 1] = 0x30 + (Math.floor(octet / 10) % 10);
        b[at + 2] = 0x30 + (octet % 10);
      }
      return b;
    },
  };
}
