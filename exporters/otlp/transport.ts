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
    let res;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      res = await request(`${this.base}/v1/${signal}`, {
        method: 'POST',
        body,
        headers: this.headers,
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: abort ? AbortSignal.any([timeout, abort]) : timeout,
      });
    } catch (e) {
      throw new SendError(`POST ${this.base}/v1/${signal}: ${(e as Error).message}`, true);
    }
    const bytes = Buffer.from(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0)));
    const ctype = String(res.headers['content-type'] ?? '');
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (!bytes.length) return { rejected: 0, errorMessage: '' };
      try {
        if (ctype.includes('json')) {
          const p = (JSON.parse(bytes.toString('utf8')) as { partialSuccess?: Record<string, unknown> }).partialSuccess ?? {};
          const rejected = Number(p.rejectedSpans ?? p.rejectedDataPoints ?? p.rejectedLogRecords ?? 0);
          return { rejected, errorMessage: String(p.errorMessage ?? '') };
        }
        return decodeExportResponse(bytes);
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
    const retryAfter = parseRetryAfter(res.headers['retry-after'] as string | undefined);
    throw new SendError(`POST ${this.base}/v1/${signal}: HTTP ${res.statusCode}${message ? `: ${message}` : ''}`, RETRYABLE_HTTP.has(res.statusCode), retryAfter);
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
