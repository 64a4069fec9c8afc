import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { type CreateSettings, type Exporter, type Host, stateDirFor } from '../../src/component.ts';
import { type DeliveryOptions, deliveryOptions } from '../../src/delivery/config.ts';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import { permanentError, retryableError } from '../../src/errors.ts';
import { type Batch, countItems, pickSignal } from '../../src/model.ts';
import { type OtlpSignal, parseOtlpJson } from '../../src/otlp/json.ts';
import { otlpJsonBytes } from '../../src/otlp/json-text.ts';
import { decodeEncoded, decodeExportRequest, encodeExportRequest } from '../../src/otlp/proto.ts';
import type { OtlpExporterConfig } from './config.ts';
import { SendError, type Transport, createTransport } from './transport.ts';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** How an export request body is encoded: OTLP protobuf or OTLP/JSON, gzip'd or not. */
export type BodyEncoding = 'proto' | 'proto+gzip' | 'json' | 'json+gzip';

/**
 * One export request in the on-disk queue (stored as JSON, so the body is base64). The encoding is kept
 * with it, so a request queued before a restart with another `protocol` or `compression` is converted
 * when it is sent.
 */
export interface QueuedRequest {
  /** The signal, and so the OTLP service / URL path it goes to. */
  signal: OtlpSignal;
  /** Spans, metric data points or log records in it (what /metrics counts). */
  items: number;
  /** How `body` is encoded. */
  encoding: BodyEncoding;
  /** The export request, base64. */
  body: string;
}

/** One export request of a batch, encoded as it is stored. */
interface Job {
  signal: OtlpSignal;
  items: number;
  body: Buffer;
}

/**
 * Forwards traces, metrics and logs upstream over OTLP. `consume` encodes each signal of the batch into one
 * export request, once, and queues it in the shared delivery queue (src/delivery/, the same path and config
 * block as every notification exporter): `storage: disk` (default) appends and fsyncs it in the exporter's
 * state folder before `consume` resolves, and what a crash or restart leaves there is sent at the next
 * start; `storage: memory` holds it in memory (what shutdown cannot send goes to the dead letter). A
 * permanent failure or a give-up goes to `dead-letter.jsonl`. When the queue is full `consume` refuses with
 * a retryable error, so the receiver upstream answers 503 and its sender retries. `num_consumers` workers
 * send, retrying what OTLP calls retryable with exponential backoff, honouring Retry-After and RetryInfo.
 * With `sending_queue.enabled: false` there is no queue: one attempt inside `consume`, and its failure goes
 * back upstream (retryable or permanent as OTLP says).
 */
export class OtlpExporter implements Exporter {
  /** Protobuf requests received by an otlp receiver are forwarded as they came, without decoding them. */
  readonly acceptsEncoded = true;
  private transport: Transport | undefined;
  private delivery: DeliveryQueue<QueuedRequest> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private closing = false;
  /** What the transport sends. */
  private readonly wire: BodyEncoding;
  /** What consume() queues. */
  private readonly stored: BodyEncoding;
  private readonly options: DeliveryOptions;
  private readonly signals: ReadonlySet<string>;
  private readonly deadLetterFile: string;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpExporterConfig,
  ) {
    const disk = config.sending_queue.storage === 'disk';
    const format = config.protocol === 'http/json' ? 'json' : 'proto';
    // gRPC compresses in the channel: its wire body is plain protobuf. On disk it is kept gzip'd anyway
    // (8x smaller for GenAI spans; gunzip before a send costs far less than the fsync of 8x the bytes).
    this.wire = config.compression === 'gzip' && config.protocol !== 'grpc' ? `${format}+gzip` : format;
    this.stored = disk && config.compression === 'gzip' ? `${format}+gzip` : this.wire;
    this.options = deliveryOptions(config);
    this.signals = new Set(config.signals);
    this.deadLetterFile = path.join(stateDirFor(settings), 'dead-letter.jsonl');
  }

  /** Requests queued or in flight (on disk: not yet acknowledged by upstream nor dead-lettered). */
  get queued(): number {
    return this.delivery?.size ?? 0;
  }

  /** The dead-letter file (`<state_dir>/exporters/<id>/dead-letter.jsonl`). */
  get deadLetterPath(): string {
    return this.deadLetterFile;
  }

  async start(_host?: Host): Promise<void> {
    this.starting ??= (async () => {
      const transport = createTransport(this.config, this.options.timeoutMs);
      try {
        this.delivery = await DeliveryQueue.open<QueuedRequest>({
          dir: stateDirFor(this.settings),
          id: this.settings.id,
          options: this.options,
          logger: this.settings.logger,
          telemetry: this.settings.telemetry,
          send: (req, abort) => this.sendQueued(transport, req, abort),
          severity: () => 0,
          itemCount: (req) => req.items,
          describe: (req) => ({ signal: req.signal, items: req.items }),
          signal: (req) => req.signal,
          whenFull: 'refuse',
          // a request waiting for its retry keeps its consumer: with num_consumers 1, upstream gets requests in order
          retryHoldsConsumer: true,
          deadLetterField: 'request',
        });
      } catch (e) {
        await transport.close();
        throw new Error(`otlp exporter ${this.settings.id}: cannot open its queue in ${stateDirFor(this.settings)}: ${(e as Error).message}`, { cause: e });
      }
      this.transport = transport;
    })();
    await this.starting;
  }

  async consume(batch: Batch): Promise<void> {
    if (this.closing || !this.transport || !this.delivery) throw retryableError('otlp exporter is not running', 1000);
    const jobs: Job[] = [];
    const counts = countItems(batch);
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      if (!this.signals.has(signal) || counts[signal] === 0) continue;
      jobs.push({ signal, items: counts[signal], body: await this.encode(pickSignal(batch, signal), signal, this.stored) });
    }
    if (jobs.length === 0) return;
    await this.delivery.enqueue(jobs.map((j) => ({ signal: j.signal, items: j.items, encoding: this.stored, body: j.body.toString('base64') })));
  }

  async shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    await this.stopping;
  }

  private async stop(): Promise<void> {
    this.closing = true;
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.transport) return;
    // Sends until shutdown_timeout; what is left stays on disk for the next start (memory: dead letter).
    await this.delivery?.close();
    await this.transport.close();
  }

  private async encode(batch: Batch, signal: OtlpSignal, encoding: BodyEncoding): Promise<Buffer> {
    const json = encoding.startsWith('json');
    const e = batch.encoded;
    if (e && !json) {
      // A request received in protobuf goes upstream byte for byte (unknown fields included, as OTLP
      // allows); the bytes are only lent, so the job gets a copy (or the gzipped form).
      const view = Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength);
      return encoding.endsWith('+gzip') ? gzip(view) : Buffer.from(view);
    }
    const model = e ? decodeEncoded(batch) : batch;
    const raw = json ? otlpJsonBytes(model, signal) : encodeExportRequest(model, signal);
    if (encoding.endsWith('+gzip')) return gzip(raw);
    // Copy out of the encoder's scratch so the queued job owns its bytes.
    return raw.byteOffset === 0 && raw.length === raw.buffer.byteLength ? raw : Buffer.from(raw);
  }

  /** A request queued in another encoding (the protocol or compression changed, or gRPC's gzip'd storage) -> the wire's. */
  private async transcode(req: QueuedRequest, body: Buffer): Promise<Buffer> {
    const from = req.encoding;
    const to = this.wire;
    try {
      let raw: Buffer<ArrayBufferLike> = from.endsWith('+gzip') ? await gunzip(body) : body;
      const fromJson = from.startsWith('json');
      if (fromJson !== to.startsWith('json')) {
        const batch = fromJson ? parseOtlpJson(req.signal, raw.toString('utf8')) : decodeExportRequest(req.signal, raw);
        raw = to.startsWith('json') ? otlpJsonBytes(batch, req.signal) : Buffer.from(encodeExportRequest(batch, req.signal));
      }
      return to.endsWith('+gzip') ? await gzip(raw) : raw;
    } catch (e) {
      throw permanentError(`queued ${req.signal} request (${from}) cannot be converted to ${to}: ${(e as Error).message}`, e);
    }
  }

  /** One attempt for the delivery queue: resolves with the items upstream rejected (partial success). */
  private async sendQueued(transport: Transport, req: QueuedRequest, abort: AbortSignal): Promise<number> {
    let body: Buffer = Buffer.from(req.body, 'base64');
    if (req.encoding !== this.wire) body = await this.transcode(req, body);
    try {
      const partial = await transport.send(req.signal, body, abort);
      if (partial.rejected > 0)
        this.settings.logger.warn({ signal: req.signal, rejected: partial.rejected, message: partial.errorMessage }, 'upstream rejected part of an export (partial success)');
      else if (partial.errorMessage)
        this.settings.logger.warn({ signal: req.signal, message: partial.errorMessage }, 'upstream took the whole export with a warning (partial success, nothing rejected)');
      return partial.rejected;
    } catch (e) {
      const se = e instanceof SendError ? e : new SendError((e as Error).message, true);
      if (!se.retryable) throw permanentError(se.message, se);
      throw retryableError(se.message, se.retryAfterMs, se);
    }
  }
}
