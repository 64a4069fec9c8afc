import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { type CreateSettings, type Exporter, type Host, stateDirFor } from '../../src/component.ts';
import { backoffDelay } from '../../src/delivery/backoff.ts';
import type { DeliveryOptions } from '../../src/delivery/config.ts';
import { appendWholeSync } from '../../src/atomic-file.ts';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import { parseDuration } from '../../src/duration.ts';
import { permanentError, retryableError } from '../../src/errors.ts';
import { type Batch, countItems, pickSignal } from '../../src/model.ts';
import { type OtlpSignal, parseOtlpJson, toOtlpJson } from '../../src/otlp/json.ts';
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

/** One export request of the in-memory queue (`sending_queue.storage: memory`), encoded for the wire. */
interface Job {
  signal: OtlpSignal;
  items: number;
  body: Buffer;
  enqueuedAt: number;
  firstAttempt: number;
  attempts: number;
}

/**
 * Forwards traces, metrics and logs upstream over OTLP. `consume` encodes each signal of the batch into one
 * export request, once, and queues it:
 * - `storage: disk` (default): in the shared delivery queue (src/delivery/), appended and fsync'd in the
 *   exporter's state folder before `consume` resolves; what a crash or restart leaves there is sent at the
 *   next start; a permanent failure or a give-up goes to `dead-letter.jsonl`;
 * - `storage: memory`: a bounded in-memory queue, lost with the process.
 * When the queue is full `consume` refuses with a retryable error, so the receiver upstream answers 503 and
 * its sender retries. `num_consumers` workers send, retrying what OTLP calls retryable with exponential
 * backoff, honouring Retry-After and RetryInfo.
 */
export class OtlpExporter implements Exporter {
  /** Protobuf requests received by an otlp receiver are forwarded as they came, without decoding them. */
  readonly acceptsEncoded = true;
  private transport: Transport | undefined;
  private delivery: DeliveryQueue<QueuedRequest> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private closing = false;
  private readonly disk: boolean;
  /** What the transport sends. */
  private readonly wire: BodyEncoding;
  /** What consume() queues. */
  private readonly stored: BodyEncoding;
  private readonly options: DeliveryOptions;
  private readonly signals: ReadonlySet<string>;
  private readonly deadLetterFile: string;
  // The in-memory queue (storage: memory).
  private readonly pending: Job[] = [];
  private pendingBytes = 0;
  private active = 0;
  private aborted = false;
  private readonly sleepers = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpExporterConfig,
  ) {
    const q = config.sending_queue;
    this.disk = q.enabled && q.storage === 'disk';
    const format = config.protocol === 'http/json' ? 'json' : 'proto';
    // gRPC compresses in the channel: its wire body is plain protobuf. On disk it is kept gzip'd anyway
    // (8x smaller for GenAI spans; gunzip before a send costs far less than the fsync of 8x the bytes).
    this.wire = config.compression === 'gzip' && config.protocol !== 'grpc' ? `${format}+gzip` : format;
    this.stored = this.disk && config.compression === 'gzip' ? `${format}+gzip` : this.wire;
    this.options = {
      timeoutMs: parseDuration(config.timeout),
      shutdownTimeoutMs: parseDuration(q.drain_timeout),
      retryEnabled: config.retry.enabled,
      initialIntervalMs: parseDuration(config.retry.initial_interval),
      maxIntervalMs: parseDuration(config.retry.max_interval),
      maxElapsedMs: parseDuration(config.retry.max_elapsed_time),
      multiplier: config.retry.multiplier,
      randomizationFactor: config.retry.randomization_factor,
      maxItems: q.queue_size,
      maxBytes: q.max_bytes,
      concurrency: q.num_consumers,
      minSendIntervalMs: 0,
      rateLimitKey: '',
    };
    this.signals = new Set(config.signals);
    this.deadLetterFile = path.join(stateDirFor(settings), 'dead-letter.jsonl');
    // The delivery queue registers its own gauge when it opens.
    if (q.enabled && !this.disk)
      settings.telemetry.queue(
        () => this.pending.length + this.active,
        () => q.queue_size,
      );
  }

  /** Requests queued or in flight (on disk: not yet acknowledged by upstream nor dead-lettered). */
  get queued(): number {
    return this.disk ? (this.delivery?.size ?? 0) : this.pending.length + this.active;
  }

  /** The dead-letter file (`<state_dir>/exporters/<id>/dead-letter.jsonl`). */
  get deadLetterPath(): string {
    return this.deadLetterFile;
  }

  async start(_host?: Host): Promise<void> {
    this.starting ??= (async () => {
      const transport = createTransport(this.config, this.options.timeoutMs);
      if (this.disk) {
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
            deadLetterField: 'request',
          });
        } catch (e) {
          await transport.close();
          throw new Error(`otlp exporter ${this.settings.id}: cannot open its queue in ${stateDirFor(this.settings)}: ${(e as Error).message}`, { cause: e });
        }
      }
      this.transport = transport;
    })();
    await this.starting;
  }

  async consume(batch: Batch): Promise<void> {
    if (this.closing || !this.transport) throw retryableError('otlp exporter is not running', 1000);
    const jobs: Job[] = [];
    const counts = countItems(batch);
    const now = Date.now();
    let bytes = 0;
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      if (!this.signals.has(signal) || counts[signal] === 0) continue;
      const body = await this.encode(pickSignal(batch, signal), signal, this.stored);
      bytes += body.length;
      jobs.push({ signal, items: counts[signal], body, enqueuedAt: now, firstAttempt: 0, attempts: 0 });
    }
    if (jobs.length === 0) return;
    const q = this.config.sending_queue;
    if (!q.enabled) {
      for (const job of jobs) await this.sendNow(job);
      return;
    }
    if (this.delivery) {
      await this.delivery.enqueue(jobs.map((j) => ({ signal: j.signal, items: j.items, encoding: this.stored, body: j.body.toString('base64') })));
      return;
    }
    if (this.closing) throw retryableError('otlp exporter is shutting down', 1000);
    // A request that can never fit is dead-lettered (as the disk queue does), not refused for ever.
    for (let i = jobs.length - 1; i >= 0; i--) {
      const job = jobs[i]!;
      if (job.body.length <= q.max_bytes) continue;
      jobs.splice(i, 1);
      bytes -= job.body.length;
      this.failed(job, `larger than sending_queue.max_bytes (${job.body.length} > ${q.max_bytes} bytes)`);
    }
    if (jobs.length === 0) return;
    if (this.pending.length + this.active + jobs.length > q.queue_size || this.pendingBytes + bytes > q.max_bytes)
      throw retryableError(`otlp exporter sending queue is full (${q.queue_size} requests, ${q.max_bytes} bytes)`, this.options.initialIntervalMs);
    this.pending.push(...jobs);
    this.pendingBytes += bytes;
    this.pump();
  }

  async shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    await this.stopping;
  }

  private async stop(): Promise<void> {
    this.closing = true;
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.transport) return;
    if (this.delivery) {
      // Sends until drain_timeout; what is left stays on disk for the next start.
      await this.delivery.close();
    } else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenIdle(), new Promise<void>((r) => (timer = setTimeout(r, this.options.shutdownTimeoutMs)))]);
      clearTimeout(timer);
      if (this.queued > 0) {
        // Out of time: wake the retrying workers so they give up, and dead-letter what never left.
        this.aborted = true;
        for (const wake of this.sleepers) wake();
        const left = this.pending.splice(0);
        this.pendingBytes = 0;
        for (const job of left) this.failed(job, 'exporter shut down before it could be sent (sending_queue.storage: memory)');
        await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, this.options.timeoutMs).unref())]);
      }
    }
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
    const raw = json ? Buffer.from(JSON.stringify(toOtlpJson(model, signal))) : encodeExportRequest(model, signal);
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
        raw = to.startsWith('json') ? Buffer.from(JSON.stringify(toOtlpJson(batch, req.signal))) : Buffer.from(encodeExportRequest(batch, req.signal));
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
      return partial.rejected;
    } catch (e) {
      const se = e instanceof SendError ? e : new SendError((e as Error).message, true);
      if (!se.retryable) throw permanentError(se.message, se);
      throw retryableError(se.message, se.retryAfterMs, se);
    }
  }

  /** Without a queue: one attempt inside consume(); failures go upstream as retryable or permanent. */
  private async sendNow(job: Job): Promise<void> {
    try {
      const partial = await this.transport!.send(job.signal, job.body);
      this.sent(job, partial.rejected, partial.errorMessage);
    } catch (e) {
      const se = e instanceof SendError ? e : new SendError((e as Error).message, true);
      if (se.retryable) throw retryableError(se.message, se.retryAfterMs, se);
      this.settings.telemetry.count('failed', job.signal, job.items);
      throw permanentError(se.message, se);
    }
  }

  private pump(): void {
    while (this.active < this.config.sending_queue.num_consumers && this.pending.length) {
      const job = this.pending.shift()!;
      this.pendingBytes -= job.body.length;
      this.active++;
      void this.run(job).finally(() => {
        this.active--;
        this.pump();
        if (this.queued === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private whenIdle(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async run(job: Job): Promise<void> {
    job.firstAttempt = Date.now();
    for (;;) {
      job.attempts++;
      try {
        const partial = await this.transport!.send(job.signal, job.body);
        this.sent(job, partial.rejected, partial.errorMessage);
        return;
      } catch (e) {
        const se = e instanceof SendError ? e : new SendError((e as Error).message, true);
        if (!se.retryable || !this.config.retry.enabled || this.aborted) {
          const why = !se.retryable ? 'permanent error' : this.aborted ? 'exporter shut down while sending' : 'failed (retries disabled)';
          this.failed(job, `${why}: ${se.message}`);
          return;
        }
        const delay = se.retryAfterMs ?? backoffDelay(job.attempts, this.options);
        if (this.options.maxElapsedMs > 0 && Date.now() + delay - job.firstAttempt > this.options.maxElapsedMs) {
          this.failed(job, `gave up after ${job.attempts} attempts: ${se.message}`);
          return;
        }
        this.settings.logger.debug({ signal: job.signal, attempt: job.attempts, delayMs: delay, err: se.message }, 'export failed, will retry');
        await this.sleep(delay);
        if (this.aborted) {
          this.failed(job, `exporter shut down while retrying: ${se.message}`);
          return;
        }
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.sleepers.add(wake);
    });
  }

  private sent(job: Job, rejected: number, message: string): void {
    const tel = this.settings.telemetry;
    tel.count('sent', job.signal, job.items - rejected);
    if (rejected > 0) {
      tel.count('failed', job.signal, rejected);
      this.settings.logger.warn({ signal: job.signal, rejected, message }, 'upstream rejected part of an export (partial success)');
    }
  }

  /** storage: memory: a request that will not be sent goes to the dead letter (the same line as the disk queue writes). */
  private failed(job: Job, reason: string): void {
    this.settings.telemetry.count('failed', job.signal, job.items);
    const now = Date.now();
    const line = {
      time: new Date(now).toISOString(),
      exporter: this.settings.id,
      reason,
      attempts: job.attempts,
      enqueued_at: new Date(job.enqueuedAt).toISOString(),
      first_attempt_at: new Date(job.firstAttempt || now).toISOString(),
      last_attempt_at: new Date(now).toISOString(),
      request: { signal: job.signal, items: job.items, encoding: this.wire, body: job.body.toString('base64') } satisfies QueuedRequest,
    };
    try {
      // whole line or nothing (a full disk must not tear the file)
      appendWholeSync(this.deadLetterFile, JSON.stringify(line) + '\n');
    } catch (err) {
      this.settings.logger.error({ err: (err as Error).message, file: this.deadLetterFile }, 'cannot write the dead-letter file');
    }
    this.settings.logger.error({ signal: job.signal, items: job.items, attempts: job.attempts, reason, dead_letter: this.deadLetterFile }, 'export request not sent: written to the dead letter');
  }
}
