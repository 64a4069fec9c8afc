import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { CreateSettings, Exporter, Host } from '../../src/component.ts';
import { backoffDelay } from '../../src/delivery/backoff.ts';
import { parseDuration } from '../../src/duration.ts';
import { permanentError, retryableError } from '../../src/errors.ts';
import { type Batch, countItems, pickSignal } from '../../src/model.ts';
import { type OtlpSignal, toOtlpJson } from '../../src/otlp/json.ts';
import { encodeExportRequest } from '../../src/otlp/proto.ts';
import type { OtlpExporterConfig } from './config.ts';
import { SendError, type Transport, createTransport } from './transport.ts';

const gzip = promisify(zlib.gzip);

/** One export request waiting to be sent (the batch is encoded when queued: the caller keeps its batch). */
interface Job {
  signal: OtlpSignal;
  items: number;
  body: Buffer;
  firstAttempt: number;
  attempts: number;
}

/**
 * Forwards traces, metrics and logs upstream over OTLP. `consume` encodes each signal of the batch into an
 * export request and queues it (a bounded in-memory queue: when full, `consume` refuses with a retryable
 * error, so the receiver upstream answers 503 and its sender retries); `num_consumers` workers send,
 * retrying what OTLP calls retryable with exponential backoff, honouring Retry-After and RetryInfo.
 */
export class OtlpExporter implements Exporter {
  private transport: Transport | undefined;
  private readonly pending: Job[] = [];
  private active = 0;
  private closing = false;
  private aborted = false;
  private readonly sleepers = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];
  private readonly timeoutMs: number;
  private readonly policy;
  private readonly maxElapsedMs: number;
  private readonly signals: ReadonlySet<string>;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlpExporterConfig,
  ) {
    this.timeoutMs = parseDuration(config.timeout);
    this.policy = {
      initialIntervalMs: parseDuration(config.retry.initial_interval),
      maxIntervalMs: parseDuration(config.retry.max_interval),
      multiplier: 2,
      randomizationFactor: 0.5,
    };
    this.maxElapsedMs = parseDuration(config.retry.max_elapsed_time);
    this.signals = new Set(config.signals);
    settings.telemetry.queue(
      () => this.pending.length + this.active,
      () => config.sending_queue.queue_size,
    );
  }

  /** Requests queued or in flight. */
  get queued(): number {
    return this.pending.length + this.active;
  }

  async start(_host?: Host): Promise<void> {
    this.transport = createTransport(this.config, this.timeoutMs);
  }

  async consume(batch: Batch): Promise<void> {
    if (this.closing || !this.transport) throw retryableError('otlp exporter is not running', 1000);
    const jobs: Job[] = [];
    const counts = countItems(batch);
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      if (!this.signals.has(signal) || counts[signal] === 0) continue;
      jobs.push({ signal, items: counts[signal], body: await this.encode(pickSignal(batch, signal), signal), firstAttempt: 0, attempts: 0 });
    }
    if (jobs.length === 0) return;
    const q = this.config.sending_queue;
    if (!q.enabled) {
      for (const job of jobs) await this.sendNow(job);
      return;
    }
    if (this.pending.length + this.active + jobs.length > q.queue_size)
      throw retryableError(`otlp exporter sending queue is full (${q.queue_size} requests)`, this.policy.initialIntervalMs);
    this.pending.push(...jobs);
    this.pump();
  }

  async shutdown(): Promise<void> {
    if (this.closing) {
      await this.whenIdle();
      return;
    }
    this.closing = true;
    if (this.transport) {
      const deadline = parseDuration(this.config.sending_queue.drain_timeout);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenIdle(), new Promise<void>((r) => (timer = setTimeout(r, deadline)))]);
      clearTimeout(timer);
      if (this.queued > 0) {
        // Out of time: wake the retrying workers so they give up, and drop what never left.
        this.aborted = true;
        for (const wake of this.sleepers) wake();
        const left = this.pending.splice(0);
        for (const job of left) this.failed(job, 'exporter shut down before it could be sent');
        await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, this.timeoutMs).unref())]);
      }
      await this.transport.close();
    }
  }

  private async encode(batch: Batch, signal: OtlpSignal): Promise<Buffer> {
    const raw = this.config.protocol === 'http/json' ? Buffer.from(JSON.stringify(toOtlpJson(batch, signal))) : encodeExportRequest(batch, signal);
    // gRPC compresses in the channel; HTTP bodies are compressed here, once, and kept compressed in the queue.
    if (this.config.compression === 'gzip' && this.config.protocol !== 'grpc') return gzip(raw);
    // Copy out of the encoder's scratch so the queued job owns its bytes.
    return raw.byteOffset === 0 && raw.length === raw.buffer.byteLength ? raw : Buffer.from(raw);
  }

  /** Without a queue: one attempt inside consume(); failures go upstream as retryable or permanent. */
  private async sendNow(job: Job): Promise<void> {
    try {
      const partial = await this.transport!.send(job.signal, job.body);
      this.sent(job, partial.rejected, partial.errorMessage);
    } catch (e) {
      const se = e instanceof SendError ? e : new SendError((e as Error).message, true);
      if (se.retryable) throw retryableError(se.message, se.retryAfterMs, se);
      this.failed(job, se.message);
      throw permanentError(se.message, se);
    }
  }

  private pump(): void {
    while (this.active < this.config.sending_queue.num_consumers && this.pending.length) {
      const job = this.pending.shift()!;
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
          this.failed(job, se.message);
          return;
        }
        const delay = Math.max(backoffDelay(job.attempts, this.policy), se.retryAfterMs ?? 0);
        if (this.maxElapsedMs > 0 && Date.now() + delay - job.firstAttempt > this.maxElapsedMs) {
          this.failed(job, `${se.message} (gave up after ${job.attempts} attempts: retry.max_elapsed_time reached)`);
          return;
        }
        this.settings.logger.debug({ signal: job.signal, attempt: job.attempts, delayMs: delay, err: se.message }, 'export failed, will retry');
        await this.sleep(delay);
        if (this.aborted) {
          this.failed(job, `${se.message} (exporter shut down while retrying)`);
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

  private failed(job: Job, reason: string): void {
    this.settings.telemetry.count('failed', job.signal, job.items);
    this.settings.logger.error({ signal: job.signal, items: job.items, attempts: job.attempts, reason }, 'dropping export request');
  }
}

