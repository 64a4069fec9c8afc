/**
 * The wire side of the otlp exporter: one request per signal over gRPC (@grpc/grpc-js, vigil's own codec
 * as (de)serializer) or HTTP (undici), with OTLP's rules for what is retryable.
 */
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { parseRetryAfter } from '../../src/delivery/backoff.ts';
import type { OtlpSignal } from '../../src/otlp/json.ts';
import { type PartialSuccess, decodeExportResponse, decodeRpcStatus } from '../../src/otlp/proto.ts';
import type { OtlpExporterConfig } from './config.ts';
import { ErrorCodes, VigilError } from '../../src/errors.ts';

/** A failed send: `retryable` follows the OTLP spec's lists of retryable HTTP statuses and gRPC codes. */
export class SendError extends VigilError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryable: boolean, retryAfterMs?: number) {
    super(ErrorCodes.EXPORT_FAILED, message);
    this.name = 'SendError';
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * One exporter's connection to its OTLP endpoint: sends encoded export requests (protobuf or JSON bytes) per
 * signal; a failure rejects with a {@link SendError} whose `retryable` follows the OTLP spec.
 */
export interface Transport {
  /**
   * Sends one encoded export request; resolves with the partial success (zero when all was taken).
   * `abort` cancels the request (it then rejects with a retryable SendError).
   */
  send(signal: OtlpSignal, body: Buffer, abort?: AbortSignal): Promise<PartialSuccess>;
  close(): Promise<void>;
}

const GRPC_PATHS: Record<OtlpSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

/** HTTP statuses OTLP says to retry. */
const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);
/** gRPC codes OTLP says to retry (RESOURCE_EXHAUSTED only with RetryInfo, checked separately). */
const RETRYABLE_GRPC = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** Redirects (307 / 308) followed at most. */
const MAX_REDIRECTS = 5;
/** Bytes of a response body read at most (the Collector's otlphttp exporter reads 64 KiB too): an answer is a status. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Reads at most {@link MAX_RESPONSE_BYTES} of a response body, then drops the rest (and the connection). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      n += chunk.length;
      if (n >= MAX_RESPONSE_BYTES) break; // leaving the loop destroys the body
    }
  } catch {
    // a body cut short (timeout, reset): what arrived is all there is
  }
  if (n >= MAX_RESPONSE_BYTES) body.destroy();
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES);
}

/** A partial success's rejected count as a non-negative integer (0 when upstream sent something else). */
function rejectedCount(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * The partial success of an OTLP/JSON export response. Its keys are read in lowerCamelCase and as the proto
 * field names (`partial_success`, `rejected_spans`, `error_message`), as the protobuf JSON mapping tells parsers to
 * accept both (vigil's receiver does so for requests); anything else is nothing rejected.
 */
function jsonPartialSuccess(bytes: Buffer): PartialSuccess {
  const body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown> | null;
  const raw = body?.partialSuccess ?? body?.partial_success;
  const p = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const rejected = p.rejectedSpans ?? p.rejectedDataPoints ?? p.rejectedLogRecords ?? p.rejected_spans ?? p.rejected_data_points ?? p.rejected_log_records;
  const message = p.errorMessage ?? p.error_message;
  return { rejected: rejectedCount(rejected), errorMessage: typeof message === 'string' ? message : '' };
}

/** The headers without the credentials, for a redirect to another origin. */
function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|proxy-authorization|cookie)$/i.test(k)));
}

function readFile(what: string, file: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read tls.${what} "${file}": ${(e as Error).message}`);
  }
}

/**
 * The transport of a config: gRPC for `protocol: grpc`, HTTP (`<endpoint>/v1/<signal>`) otherwise; each request
 * is given up after `timeoutMs` ms. Throws when the endpoint is not a URL (the factory validates it first).
 */
export function createTransport(config: OtlpExporterConfig, timeoutMs: number): Transport {
  return config.protocol === 'grpc' ? new GrpcTransport(config, timeoutMs) : new HttpTransport(config, timeoutMs);
}

class HttpTransport implements Transport {
  private readonly agent: Agent;
  private readonly base: string;
  private readonly json: boolean;
  private readonly headers: Record<string, string>;

  constructor(
    config: OtlpExporterConfig,
    private readonly timeoutMs: number,
  ) {
    const url = new URL(config.endpoint); // throws on a bad endpoint: validated by the factory
    this.base = url.toString().replace(/\/+$/, '');
    this.json = config.protocol === 'http/json';
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: config.sending_queue.num_consumers + 1,
      connect: {
        ca: readFile('ca_file', config.tls.ca_file),
        cert: readFile('cert_file', config.tls.cert_file),
        key: readFile('key_file', config.tls.key_file),
        rejectUnauthorized: !config.tls.insecure,
      },
    });
    this.headers = {
      ...config.headers,
      'content-type': this.json ? 'application/json' : 'application/x-protobuf',
      ...(config.compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  async send(signal: OtlpSignal, body: Buffer, abort?: AbortSignal): Promise<PartialSuccess> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signalOf = abort ? AbortSignal.any([timeout, abort]) : timeout;
    const first = `${this.base}/v1/${signal}`;
    let url = first;
    let headers = this.headers;
    let res;
    // 307 and 308 keep the method and body, so they are followed (a few hops; the credentials are not sent
    // to another origin); any other redirect would turn the POST into a GET, so it is a permanent failure.
    for (let hops = 0; ; hops++) {
      try {
        res = await request(url, { method: 'POST', body, headers, dispatcher: this.agent, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, signal: signalOf });
      } catch (e) {
        throw new SendError(`POST ${url}: ${(e as Error).message}`, true);
      }
      const location = res.headers.location;
      if ((res.statusCode !== 307 && res.statusCode !== 308) || typeof location !== 'string' || hops >= MAX_REDIRECTS) break;
      await readCapped(res.body);
      const next = new URL(location, url);
      if (!/^https?:$/.test(next.protocol)) break;
      if (next.origin !== new URL(url).origin) headers = withoutCredentials(headers);
      url = next.toString();
    }
    const where = url === first ? `POST ${url}` : `POST ${first} (redirected to ${url})`;
    const bytes = await readCapped(res.body);
    const ctype = String(res.headers['content-type'] ?? '');
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (!bytes.length) return { rejected: 0, errorMessage: '' };
      try {
        if (ctype.includes('json')) return jsonPartialSuccess(bytes);
        const partial = decodeExportResponse(bytes);
        return { rejected: rejectedCount(partial.rejected), errorMessage: partial.errorMessage };
      } catch {
        return { rejected: 0, errorMessage: '' };
      }
    }
    let message = '';
    try {
      message = ctype.includes('protobuf') ? decodeRpcStatus(bytes).message : ctype.includes('json') ? String((JSON.parse(bytes.toString('utf8')) as { message?: unknown }).message ?? '') : bytes.toString('utf8', 0, 500);
    } catch {
      message = bytes.toString('utf8', 0, 200);
    }
    if (res.statusCode >= 300 && res.statusCode < 400) {
      const location = res.headers.location;
      message = `redirect${typeof location === 'string' ? ` to ${location}` : ''} not followed (only 307 and 308, at most ${MAX_REDIRECTS} hops, keep the POST): set endpoint to the final URL${message ? `; ${message}` : ''}`;
    }
    const retryAfter = parseRetryAfter(res.headers['retry-after'] as string | undefined);
    throw new SendError(`${where}: HTTP ${res.statusCode}${message ? `: ${message}` : ''}`, RETRYABLE_HTTP.has(res.statusCode), retryAfter);
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}

const identity = (b: Buffer) => b;

class GrpcTransport implements Transport {
  private readonly client: grpc.Client;
  private readonly metadata: grpc.Metadata;
  private readonly target: string;

  constructor(
    config: OtlpExporterConfig,
    private readonly timeoutMs: number,
  ) {
    let target = config.endpoint;
    let secure = !config.tls.insecure;
    const m = /^(https?):\/\/([^/]+)\/?$/.exec(target);
    if (m) {
      target = m[2]!;
      secure = m[1] === 'https';
    }
    this.target = target;
    const creds = secure
      ? grpc.credentials.createSsl(readFile('ca_file', config.tls.ca_file) ?? null, readFile('key_file', config.tls.key_file) ?? null, readFile('cert_file', config.tls.cert_file) ?? null)
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(target, creds, {
      'grpc.default_compression_algorithm': config.compression === 'gzip' ? grpc.compressionAlgorithms.gzip : grpc.compressionAlgorithms.identity,
      'grpc.max_send_message_length': -1,
      'grpc.enable_retries': 0,
    });
    this.metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(config.headers)) this.metadata.set(k.toLowerCase(), v);
  }

  send(signal: OtlpSignal, body: Buffer, abort?: AbortSignal): Promise<PartialSuccess> {
    return new Promise((resolve, reject) => {
      if (abort?.aborted) {
        reject(new SendError(`gRPC ${this.target} ${signal}: aborted`, true));
        return;
      }
      const call = this.client.makeUnaryRequest<Buffer, Buffer>(
        GRPC_PATHS[signal],
        identity,
        identity,
        body,
        this.metadata.clone(),
        { deadline: Date.now() + this.timeoutMs },
        (err, resp) => {
          if (!err) {
            try {
              resolve(resp && resp.length ? decodeExportResponse(resp) : { rejected: 0, errorMessage: '' });
            } catch {
              resolve({ rejected: 0, errorMessage: '' });
            }
            return;
          }
          let retryAfterMs: number | undefined;
          const details = err.metadata?.get('grpc-status-details-bin')[0];
          if (details instanceof Buffer) {
            try {
              retryAfterMs = decodeRpcStatus(details).retryDelayMs;
            } catch {
              // an unreadable detail only loses the hint
            }
          }
          const retryable = RETRYABLE_GRPC.has(err.code) || (err.code === grpc.status.RESOURCE_EXHAUSTED && retryAfterMs !== undefined);
          reject(new SendError(`gRPC ${this.target} ${signal}: ${grpc.status[err.code] ?? err.code}: ${err.details}`, retryable, retryAfterMs));
        },
      );
      if (abort) {
        const cancel = () => call.cancel();
        abort.addEventListener('abort', cancel, { once: true });
        call.on('status', () => abort.removeEventListener('abort', cancel));
      }
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
