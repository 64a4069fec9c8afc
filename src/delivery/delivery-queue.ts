/**
 * The delivery helper every notification exporter uses: a notification is written to the on-disk queue
 * (fsync'd) before `enqueue` resolves; workers deliver it with the exporter's `send`, retrying retryable
 * failures with exponential backoff and jitter (a `Retry-After` wins and pauses the whole exporter), each
 * attempt under a timeout; a permanent failure or a give-up goes to `dead-letter.jsonl`. The queue is
 * bounded in items and bytes: when full, the oldest notification of the lowest severity goes first, and a
 * critical one is never dropped (a new critical is refused with a retryable error instead). A slow target
 * never blocks the caller: `enqueue` returns once the notification is on disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Counter, Meter } from '@opentelemetry/api';
import type { Logger } from '../logger.ts';
import type { SignalName } from '../model.ts';
import { appendWholeSync } from '../atomic-file.ts';
import { ConsumerError, retryableError } from '../errors.ts';
import type { ComponentTelemetry } from '../telemetry.ts';
import { type DeliveryRecord, RecentRing } from '../status.ts';
import { backoffDelay } from './backoff.ts';
import type { DeliveryOptions } from './config.ts';
import { DiskQueue, type QueueEntry } from './disk-queue.ts';
import { MemoryQueue, type QueueStore } from './queue-store.ts';
import { TimerHeap } from './timer-heap.ts';
import { CRITICAL_RANK, rankName } from './severity.ts';
import { timerDelay } from '../timer-delay.ts';

/** How soon a dead-letter line that could not be written (disk full) is tried again. */
const DEAD_LETTER_RETRY_MS = 5000;

/** Drops of a queue are logged at most this often (ms); every one is counted. */
const DROP_LOG_EVERY_MS = 10_000;
const meterCounters = new WeakMap<Meter, { deadLetter: Counter; dropped: Counter }>();

/** The delivery counters, created once per meter (every exporter shares them, told apart by labels). */
function countersFor(meter: Meter): { deadLetter: Counter; dropped: Counter } {
  let c = meterCounters.get(meter);
  if (!c) {
    c = {
      deadLetter: meter.createCounter('vigil_exporter_dead_letter_notifications', {
        description: 'Notifications written to the dead-letter file (permanent failure or retries given up)',
      }),
      dropped: meter.createCounter('vigil_exporter_queue_dropped_notifications', {
        description: 'Notifications dropped because the sending queue was full (lowest severity, oldest first)',
      }),
    };
    meterCounters.set(meter, c);
  }
  return c;
}

/**
 * What a {@link DeliveryQueue} of items `T` is built with: state folder, component ID, options, logger,
 * telemetry and the `send` that delivers one item.
 */
export interface DeliveryQueueParams<T> {
  /** The exporter's state folder: the queue goes to `<dir>/queue/`, dead letters to `<dir>/dead-letter.jsonl`. */
  dir: string;
  /** Component ID, written into dead-letter lines. */
  id: string;
  options: DeliveryOptions;
  logger: Logger;
  telemetry: ComponentTelemetry;
  /**
   * Delivers one item. Resolves on success; rejects with a ConsumerError (`permanent` for a payload the
   * target refuses, `retryAfterMs` from a Retry-After); any other error counts as retryable. `signal`
   * aborts when the attempt times out or shutdown gives up on it. It may resolve with the number of the
   * item's parts the target rejected while taking the rest (OTLP partial success): those are counted as
   * failed, the rest as sent.
   */
  send(item: T, signal: AbortSignal, attempt: number): Promise<void | number>;
  /** Severity rank of an item (src/delivery/severity.ts), for the drop order. */
  severity(item: T): number;
  /** Items it counts as on /metrics (alerts in a notification). */
  itemCount(item: T): number;
  /** Fields that identify an item in log lines (groupKey...). */
  describe(item: T): Record<string, unknown>;
  /** The signal an item's parts are counted under on /metrics (default `alerts`). */
  signal?(item: T): SignalName;
  /**
   * What a full queue does: `drop` (default) makes room by severity as described in README.md; `refuse`
   * rejects the whole `enqueue` call with a retryable error and queues none of it (telemetry forwarding:
   * the sender upstream retries).
   */
  whenFull?: 'drop' | 'refuse';
  /** Name of the item's field in a dead-letter line (default `notification`). */
  deadLetterField?: string;
  /**
   * A failed item waiting for its retry keeps its consumer (one of `concurrency`), as the Collector's
   * exporters do, and goes before every item not yet sent: with a concurrency of 1 the target gets the items
   * in the order they were queued (telemetry forwarding: cumulative points must not overtake one another).
   * Default false: the other items go on while one waits (notifications: one failing alert holds up none).
   */
  retryHoldsConsumer?: boolean;
  /** Jitter source (tests pin it). */
  rand?: () => number;
}

interface Attempts {
  attempts: number;
  firstAttemptAt: number;
  nextAt: number;
  lastError: string;
  controller: AbortController | undefined;
  /** Set when its dead-letter line could not be written (disk full): the write is retried, not a delivery. */
  deadLetterReason?: string;
}

/** A string field of `describe()`'s answer, or undefined. */
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * One attempt in flight and its timeout: every attempt of a queue has the same `timeoutMs`, so they expire
 * in FIFO order. (Plain data, no closures: the bundle's keepNames names every closure made per attempt.)
 */
interface Deadline<T> {
  at: number;
  /** The attempt ended (answered or timed out): nothing to do when its time comes. */
  settled: boolean;
  entry: QueueEntry<T>;
  attempts: Attempts;
  controller: AbortController;
}

/** What `stats()` reports (tests and bench). */
export interface DeliveryStats {
  queued: number;
  queuedBytes: number;
  inflight: number;
  delivered: number;
  deadLettered: number;
  dropped: number;
}

/** The bounded, durable, retrying delivery queue of an exporter (see this file's comment), holding items `T`. */
export class DeliveryQueue<T> {
  private readonly state = new Map<number, Attempts>();
  private ready: QueueEntry<T>[] = [];
  private readyHead = 0;
  /** Entries waiting for their retry, by due time (a dropped one is skipped when it comes up). */
  private readonly delayed = new TimerHeap<QueueEntry<T>>();
  private inflight = 0;
  /** Earliest time of the next send, by rate-limit key (shared by every queue in the process). */
  private static readonly sharedNextSendAt = new Map<string, number>();
  private ownNextSendAt = 0;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Attempt timeouts in start order (= expiry order), from `deadlineHead` on; one timer serves them all. */
  private deadlines: Deadline<T>[] = [];
  private deadlineHead = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private aborted = false;
  private idleWaiters: (() => void)[] = [];
  private readonly deadLetterFile: string;
  /** The last dead-letter write failed (on /readyz as `(dead letter)` until one works). */
  private deadLetterFailing = false;
  private readonly deadLetterCounter: Counter;
  private readonly droppedCounter: Counter;
  private readonly rand: () => number;
  private delivered = 0;
  private deadLettered = 0;
  private readonly recentRing = new RecentRing<DeliveryRecord>(50);
  private dropped = 0;
  /** Drops since the last drop line, and when that line was written (see drop()). */
  private droppedUnlogged = 0;
  private lastDropLogAt = -Infinity;

  private constructor(
    private readonly p: DeliveryQueueParams<T>,
    private readonly store: QueueStore<T>,
  ) {
    this.deadLetterFile = path.join(p.dir, 'dead-letter.jsonl');
    this.rand = p.rand ?? Math.random;
    const counters = countersFor(p.telemetry.meter);
    this.deadLetterCounter = counters.deadLetter;
    this.droppedCounter = counters.dropped;
    p.telemetry.queue(
      () => this.store.size,
      () => p.options.maxItems,
    );
  }

  /**
   * Opens the queue (`options.storage`: on disk in `params.dir/queue/`, or in memory) and starts delivering
   * what an earlier run left on disk.
   */
  static async open<T>(params: DeliveryQueueParams<T>): Promise<DeliveryQueue<T>> {
    fs.mkdirSync(params.dir, { recursive: true });
    if (params.options.storage === 'memory') {
      const q = new DeliveryQueue(params, new MemoryQueue<T>());
      q.pump();
      return q;
    }
    const disk = await DiskQueue.open<T>(path.join(params.dir, 'queue'), {
      onWriteState: (err) => {
        // Disk full (or any write error) is a state: /readyz names the exporter until a write works again.
        if (err) {
          params.telemetry.setHealthy(false, err.message, 'sending queue');
          params.logger.error(
            { dir: path.join(params.dir, 'queue'), code: err.code, bytes: err.bytes, free_bytes: err.freeBytes },
            `${err.message}; new items are refused with a retryable error until the disk has room again`,
          );
        } else {
          params.telemetry.setHealthy(true, undefined, 'sending queue');
          params.logger.info({ dir: path.join(params.dir, 'queue') }, 'the sending queue can write again');
        }
      },
    });
    const q = new DeliveryQueue(params, disk);
    for (const e of disk.values()) q.ready.push(e);
    if (disk.size) params.logger.info({ queued: disk.size }, 'resuming delivery of queued notifications');
    if (disk.stats.tornRecords) params.logger.warn({ torn: disk.stats.tornRecords }, 'skipped torn queue records from an earlier crash');
    q.pump();
    return q;
  }

  get size(): number {
    return this.store.size;
  }

  /** The disk queue's write counters (bench); undefined for `storage: memory`. */
  get diskStats() {
    return this.store instanceof DiskQueue ? this.store.stats : undefined;
  }

  /** The last deliveries, dead letters and drops (newest first), and where dead letters go: for the status page. */
  recent(): { records: DeliveryRecord[]; deadLetterFile: string } {
    return { records: this.recentRing.list(), deadLetterFile: this.deadLetterFile };
  }

  private remember(outcome: DeliveryRecord['outcome'], item: T, attempts: number, at: number, reason?: string): void {
    const d = this.p.describe(item);
    this.recentRing.push({
      at,
      outcome,
      ...(str(d.groupKey) !== undefined ? { groupKey: str(d.groupKey) } : {}),
      ...(str(d.status) !== undefined ? { status: str(d.status) } : {}),
      ...(str(d.alertname) !== undefined ? { alertname: str(d.alertname) } : {}),
      alerts: this.p.itemCount(item),
      attempts,
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  stats(): DeliveryStats {
    return {
      queued: this.store.size,
      queuedBytes: this.store.bytes,
      inflight: this.inflight,
      delivered: this.delivered,
      deadLettered: this.deadLettered,
      dropped: this.dropped,
    };
  }

  /**
   * Queues items durably. Resolves once they are on disk. Rejects with a retryable ConsumerError when the
   * queue is closing, or full of critical notifications and the new one is critical too.
   */
  async enqueue(items: readonly T[]): Promise<void> {
    if (this.closing) throw retryableError(`exporter ${this.p.id} is shutting down`);
    if (!this.p.options.queueEnabled) return this.sendNow(items);
    const { maxItems, maxBytes } = this.p.options;
    if (this.p.whenFull === 'refuse') return this.enqueueOrRefuse(items);
    const accepted: { item: T; severity: number; json: string }[] = [];
    let addBytes = 0;
    // Queued entries that make room: dropped only once the new items are on disk, so that a write that
    // fails (disk full) drops nothing (the new items are refused, retryable, and everything queued stays).
    const victims: QueueEntry<T>[] = [];
    let victimBytes = 0;
    const findVictim = this.victimFinder();
    for (const item of items) {
      const rank = this.p.severity(item);
      const json = JSON.stringify(item);
      const bytes = DiskQueue.recordSizeOf(json);
      if (bytes > maxBytes) {
        this.writeDeadLetter(item, `larger than sending_queue.max_bytes (${bytes} > ${maxBytes} bytes)`, 0, Date.now(), Date.now());
        continue;
      }
      let keep = true;
      while (this.store.size - victims.length + accepted.length + 1 > maxItems || this.store.bytes - victimBytes + addBytes + bytes > maxBytes) {
        const victim = findVictim(rank);
        if (victim) {
          victims.push(victim);
          victimBytes += victim.bytes;
          continue;
        }
        if (rank >= CRITICAL_RANK) {
          this.p.logger.error(
            { ...this.p.describe(item), queued: this.store.size, max_items: maxItems, max_bytes: maxBytes },
            'SENDING QUEUE FULL OF CRITICAL NOTIFICATIONS: refusing a new critical notification (retryable); the target is down or too slow',
          );
          // Keep what was accepted before this item in this call.
          if (accepted.length) await this.appendDropping(accepted, victims);
          throw retryableError(`exporter ${this.p.id}: sending queue full of critical notifications`, 1000);
        }
        this.drop(item, rank, 'queue full: dropped the new notification (everything queued is more severe)');
        keep = false;
        break;
      }
      if (keep) {
        accepted.push({ item, severity: rank, json });
        addBytes += bytes;
      }
    }
    if (accepted.length) await this.appendDropping(accepted, victims);
  }

  /** Appends `items`; once they are on disk, drops the `victims` that made room for them (unless delivered or in flight meanwhile). */
  private async appendDropping(items: { item: T; severity: number; json: string }[], victims: readonly QueueEntry<T>[]): Promise<void> {
    await this.append(items);
    for (const victim of victims) {
      if (!this.store.has(victim.id) || this.state.get(victim.id)?.controller) continue;
      this.drop(victim.item, victim.severity, 'queue full: dropped the oldest of the lowest severity');
      this.store.remove(victim.id);
      this.state.delete(victim.id);
    }
    if (victims.length) this.compact();
  }

  /**
   * `sending_queue.enabled: false`: no queue; one attempt per item inside `enqueue`, under `timeout`. A
   * failure rejects (retryable or permanent as the target said), so the caller upstream decides.
   */
  private async sendNow(items: readonly T[]): Promise<void> {
    for (const item of items) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error(`timed out after ${this.p.options.timeoutMs} ms`)), timerDelay(this.p.options.timeoutMs));
      const now = Date.now();
      try {
        const n = this.p.itemCount(item);
        const rejected = clampRejected(await this.p.send(item, controller.signal, 1), n);
        this.delivered++;
        this.p.telemetry.count('sent', this.signalOf(item), n - rejected);
        if (rejected > 0) this.p.telemetry.count('failed', this.signalOf(item), rejected);
        this.remember('delivered', item, 1, now);
      } catch (err) {
        if (err instanceof ConsumerError && err.permanent) this.p.telemetry.count('failed', this.signalOf(item), this.p.itemCount(item));
        throw err instanceof ConsumerError ? err : retryableError(`exporter ${this.p.id}: ${(err as Error).message}`, undefined, err);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** `whenFull: 'refuse'`: all of `items` are queued, or none (a retryable error when they do not fit). */
  private async enqueueOrRefuse(items: readonly T[]): Promise<void> {
    const { maxItems, maxBytes } = this.p.options;
    const accepted: { item: T; severity: number; json: string }[] = [];
    let addBytes = 0;
    for (const item of items) {
      const json = JSON.stringify(item);
      const bytes = DiskQueue.recordSizeOf(json);
      if (bytes > maxBytes) {
        this.writeDeadLetter(item, `larger than sending_queue.max_bytes (${bytes} > ${maxBytes} bytes)`, 0, Date.now(), Date.now());
        continue;
      }
      accepted.push({ item, severity: 0, json });
      addBytes += bytes;
    }
    if (!accepted.length) return;
    if (this.store.size + accepted.length > maxItems || this.store.bytes + addBytes > maxBytes)
      throw retryableError(
        `exporter ${this.p.id}: sending queue is full (${this.store.size}/${maxItems} items, ${this.store.bytes}/${maxBytes} bytes)`,
        this.p.options.initialIntervalMs,
      );
    await this.append(accepted);
  }

  private async append(items: { item: T; severity: number; json: string }[]): Promise<void> {
    let entries: QueueEntry<T>[];
    try {
      entries = await this.store.append(items);
    } catch (err) {
      // Nothing of the failed write stays on disk or in the queue: the caller keeps the items and retries.
      throw retryableError(`exporter ${this.p.id}: ${(err as Error).message}`, Math.max(1000, this.p.options.initialIntervalMs), err);
    }
    for (const e of entries) if (this.store.has(e.id)) this.ready.push(e);
    this.pump();
  }

  /**
   * For one enqueue call (the store does not change meanwhile): a function that picks, each time it is called,
   * the oldest queued entry of the lowest severity no more severe than `rank` (never critical), not in flight
   * and not picked before. One cursor per severity walks the store once in all, so making room for n new
   * items in a full queue costs O(n + queue) rather than a scan of the queue per item (a storm of
   * notifications into a full queue held the event loop for seconds, then minutes).
   */
  private victimFinder(): (rank: number) => QueueEntry<T> | undefined {
    const cursors: (Iterator<QueueEntry<T>> | null)[] = [];
    const next = (severity: number): QueueEntry<T> | undefined => {
      let it = cursors[severity];
      if (it === null) return undefined;
      it ??= cursors[severity] = this.store.values();
      for (let r = it.next(); !r.done; r = it.next()) {
        const e = r.value;
        if (e.severity === severity && !this.state.get(e.id)?.controller) return e;
      }
      cursors[severity] = null;
      return undefined;
    };
    return (rank) => {
      for (let severity = 0; severity <= rank && severity < CRITICAL_RANK; severity++) {
        const e = next(severity);
        if (e) return e;
      }
      return undefined;
    };
  }

  /**
   * Forgets dropped entries still referenced by the ready list and the retry heap once they are most of
   * them: while the target is slow (every consumer busy), a queue that keeps dropping for new items would
   * otherwise hold every dropped notification there until the pump reached it, without bound.
   */
  private compact(): void {
    const live = this.store.size;
    if (this.ready.length - this.readyHead > 2 * live + 1024) {
      this.ready = this.ready.slice(this.readyHead).filter((e) => this.store.has(e.id));
      this.readyHead = 0;
    }
    if (this.delayed.size > 2 * live + 1024) this.delayed.retain((e) => this.store.has(e.id));
  }

  /** Entries the ready list and the retry heap reference (dropped ones included until they are compacted away). */
  get referenced(): number {
    return this.ready.length - this.readyHead + this.delayed.size;
  }

  private drop(item: T, rank: number, reason: string): void {
    this.dropped++;
    const now = Date.now();
    this.remember('dropped', item, 0, now, reason);
    const n = this.p.itemCount(item);
    this.p.telemetry.count('failed', this.signalOf(item), n);
    this.droppedCounter.add(1, { ...this.p.telemetry.labels, severity: rankName(rank) });
    // a storm into a full queue drops thousands: a line for the first, then at most one every DROP_LOG_EVERY_MS
    // with the count since the last line (each drop is counted on /metrics and shown on the status page)
    this.droppedUnlogged++;
    if (now - this.lastDropLogAt < DROP_LOG_EVERY_MS && now >= this.lastDropLogAt) return;
    this.p.logger.warn(
      { ...this.p.describe(item), severity: rankName(rank), alerts: n, dropped: this.droppedUnlogged },
      `${reason} (${this.droppedUnlogged} dropped since the last such line; logged at most every ${DROP_LOG_EVERY_MS / 1000} s, all counted on vigil_exporter_queue_dropped_notifications_total)`,
    );
    this.droppedUnlogged = 0;
    this.lastDropLogAt = now;
  }

  /**
   * Stops taking new items and keeps delivering until nothing is ready or `shutdownTimeoutMs` passes; what
   * is left (in flight, waiting for a retry, or not reached) stays queued on disk for the next start.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        if (this.isIdle()) resolve();
        else this.idleWaiters.push(resolve);
      }),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, timerDelay(this.p.options.shutdownTimeoutMs));
      }),
    ]);
    clearTimeout(deadline);
    this.aborted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    const left = this.store.size;
    for (const st of this.state.values()) st.controller?.abort(new Error('shutting down'));
    if (this.store instanceof MemoryQueue) {
      // Nothing in memory survives the process: what was not delivered goes to the dead letter, not nowhere.
      const now = Date.now();
      for (const e of [...this.store.values()]) {
        const st = this.state.get(e.id);
        this.writeDeadLetter(e.item, 'exporter shut down before it could be delivered (sending_queue.storage: memory)', st?.attempts ?? 0, st?.firstAttemptAt ?? now, now, e.enqueuedAt);
        this.store.remove(e.id);
      }
    }
    await this.store.close();
    if (left && !(this.store instanceof MemoryQueue)) this.p.logger.info({ queued: left }, 'notifications left in the queue for the next start');
  }

  private get nextSendAt(): number {
    const key = this.p.options.rateLimitKey;
    return key ? (DeliveryQueue.sharedNextSendAt.get(key) ?? 0) : this.ownNextSendAt;
  }

  private set nextSendAt(at: number) {
    const key = this.p.options.rateLimitKey;
    if (key) DeliveryQueue.sharedNextSendAt.set(key, at);
    else this.ownNextSendAt = at;
  }

  private isIdle(): boolean {
    return this.inflight === 0 && this.readyHead >= this.ready.length;
  }

  private pump(): void {
    if (this.aborted) return;
    const now = Date.now();
    const ordered = this.p.retryHoldsConsumer === true;
    const due: QueueEntry<T>[] = [];
    while (this.delayed.peekDue() <= now) {
      const e = this.delayed.pop()!;
      if (this.store.has(e.id)) due.push(e);
    }
    if (ordered && due.length) {
      // retries first, in the order they came due, then what was never sent
      this.ready = due.concat(this.ready.slice(this.readyHead));
      this.readyHead = 0;
    } else for (const e of due) this.ready.push(e);
    const { concurrency, minSendIntervalMs } = this.p.options;
    // with retryHoldsConsumer, an item waiting for its retry occupies a consumer
    const busy = () => this.inflight + (ordered ? this.delayed.size : 0);
    while (busy() < concurrency && this.readyHead < this.ready.length) {
      if (this.pausedUntil > now || this.nextSendAt > now) break;
      const e = this.ready[this.readyHead]!;
      this.ready[this.readyHead++] = undefined as unknown as QueueEntry<T>;
      if (!this.store.has(e.id)) continue;
      const held = this.state.get(e.id);
      if (held?.deadLetterReason !== undefined) {
        this.deadLetter(e, held.deadLetterReason, held, now);
        continue;
      }
      if (minSendIntervalMs > 0) this.nextSendAt = now + minSendIntervalMs;
      this.attempt(e, now);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    if (this.isIdle() && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
    // Wake for the next due retry, or when the rate limit / pause lets the next ready item go.
    let wake = this.delayed.peekDue();
    if (this.readyHead < this.ready.length && busy() < concurrency) wake = Math.min(wake, Math.max(this.pausedUntil, this.nextSendAt));
    this.schedule(wake, now);
  }

  private schedule(at: number, now: number): void {
    if (at === Infinity) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      timerDelay(at - now),
    );
    this.timer.unref();
  }

  /**
   * Starts one delivery attempt of `e`. Its timeout is a {@link Deadline} in the queue's FIFO, served by
   * one shared timer (no timer, race or extra promise per attempt); whichever comes first, the answer or
   * the deadline, settles the attempt, once.
   */
  private attempt(e: QueueEntry<T>, now: number): void {
    let st = this.state.get(e.id);
    if (!st) this.state.set(e.id, (st = { attempts: 0, firstAttemptAt: now, nextAt: 0, lastError: '', controller: undefined }));
    st.attempts++;
    const controller = new AbortController();
    st.controller = controller;
    this.inflight++;
    const deadline: Deadline<T> = { at: now + this.p.options.timeoutMs, settled: false, entry: e, attempts: st, controller };
    this.deadlines.push(deadline);
    if (!this.deadlineTimer) this.armDeadlines(now);
    let sending: Promise<void | number>;
    try {
      sending = this.p.send(e.item, controller.signal, st.attempts);
    } catch (err) {
      sending = Promise.reject(err);
    }
    sending.then(
      (rejected) => this.finishAttempt(deadline, undefined, typeof rejected === 'number' ? rejected : 0),
      (err: unknown) => this.finishAttempt(deadline, err ?? new Error('unknown error')),
    );
  }

  /** The attempt's answer or its timeout, whichever comes first, settles it; the other is ignored. */
  private finishAttempt(d: Deadline<T>, err: unknown, rejected = 0): void {
    if (d.settled) return;
    d.settled = true;
    this.dropSettledDeadlines();
    this.settle(d.entry, d.attempts, err, rejected);
  }

  /** Aborts an attempt whose time is up and settles it as timed out (retryable). */
  private expireAttempt(d: Deadline<T>): void {
    const err = retryableError(`attempt timed out after ${this.p.options.timeoutMs}ms`);
    d.controller.abort(err);
    this.finishAttempt(d, err);
  }

  /** Forgets the settled deadlines at the head of the FIFO (answers come mostly in start order). */
  private dropSettledDeadlines(): void {
    while (this.deadlineHead < this.deadlines.length && this.deadlines[this.deadlineHead]!.settled) this.deadlines[this.deadlineHead++] = undefined as unknown as Deadline<T>;
    if (this.deadlineHead === this.deadlines.length) {
      this.deadlines = [];
      this.deadlineHead = 0;
    } else if (this.deadlineHead > 1024 && this.deadlineHead * 2 > this.deadlines.length) {
      this.deadlines = this.deadlines.slice(this.deadlineHead);
      this.deadlineHead = 0;
    }
  }

  /** Sets the shared timer for the earliest pending deadline; when it fires, expires what is due and re-arms. */
  private armDeadlines(now: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.dropSettledDeadlines();
    const head = this.deadlines[this.deadlineHead];
    if (!head || this.aborted) return;
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = undefined;
        const at = Date.now();
        while (this.deadlineHead < this.deadlines.length) {
          const d = this.deadlines[this.deadlineHead]!;
          if (!d.settled && d.at > at) break;
          this.deadlines[this.deadlineHead++] = undefined as unknown as Deadline<T>;
          if (!d.settled) this.expireAttempt(d);
        }
        this.armDeadlines(at);
      },
      timerDelay(head.at - now),
    );
    this.deadlineTimer.unref();
  }

  private signalOf(item: T): SignalName {
    return this.p.signal ? this.p.signal(item) : 'alerts';
  }

  private settle(e: QueueEntry<T>, st: Attempts, err: unknown, rejected = 0): void {
    this.inflight--;
    st.controller = undefined;
    if (this.aborted) return; // shutdown gave up on it: it stays queued
    const now = Date.now();
    if (err === undefined) {
      this.delivered++;
      this.remember('delivered', e.item, st.attempts, now);
      this.state.delete(e.id);
      if (this.store.has(e.id)) {
        this.store.remove(e.id);
        const n = this.p.itemCount(e.item);
        const bad = clampRejected(rejected, n);
        this.p.telemetry.count('sent', this.signalOf(e.item), n - bad);
        if (bad) this.p.telemetry.count('failed', this.signalOf(e.item), bad);
      }
    } else if (this.store.has(e.id)) {
      const message = err instanceof Error ? err.message : String(err);
      st.lastError = message;
      const permanent = err instanceof ConsumerError && err.permanent;
      // A wait of 0 (`Retry-After: 0`, a date already past, a RetryInfo of 0 s) says nothing of how long to wait:
      // the backoff applies, as the Collector's exporters do, or the target would be sent to in a tight loop.
      const hinted = err instanceof ConsumerError ? err.retryAfterMs : undefined;
      const retryAfter = hinted !== undefined && hinted > 0 ? hinted : undefined;
      if (permanent || !this.p.options.retryEnabled) {
        this.deadLetter(e, permanent ? `permanent error: ${message}` : `failed (retries disabled): ${message}`, st, now);
      } else {
        const o = this.p.options;
        const delay = retryAfter ?? backoffDelay(st.attempts, o, this.rand);
        if (o.maxElapsedMs > 0 && now + delay - st.firstAttemptAt > o.maxElapsedMs) {
          this.deadLetter(e, `gave up after ${st.attempts} attempts: ${message}`, st, now);
        } else {
          if (retryAfter !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfter);
          st.nextAt = now + delay;
          this.delayed.push(e, st.nextAt);
          this.p.logger.warn({ ...this.p.describe(e.item), attempt: st.attempts, retry_in_ms: delay, error: message }, 'delivery failed, will retry');
        }
      }
    }
    this.pump();
  }

  /**
   * Moves a queued entry to the dead letter. When the line cannot be written (disk full) and the queue is
   * on disk, the entry stays queued and the dead-letter write is tried again later (every 5 s): nothing
   * accepted is lost because the dead-letter file could not take it.
   */
  private deadLetter(e: QueueEntry<T>, reason: string, st: Attempts, now: number): void {
    const keep = this.p.options.storage !== 'memory';
    if (!this.writeDeadLetter(e.item, reason, st.attempts, st.firstAttemptAt, now, e.enqueuedAt, keep)) {
      st.deadLetterReason = reason;
      st.nextAt = now + DEAD_LETTER_RETRY_MS;
      this.delayed.push(e, st.nextAt);
      return;
    }
    this.state.delete(e.id);
    this.store.remove(e.id);
  }

  /**
   * Appends a dead-letter line and counts it; returns false, counting nothing, when the line could not be
   * written and `keepOnFailure` (the caller keeps the item and tries again). Otherwise a line that cannot be
   * written is logged with the whole item.
   */
  private writeDeadLetter(item: T, reason: string, attempts: number, firstAttemptAt: number, lastAttemptAt: number, enqueuedAt = lastAttemptAt, keepOnFailure = false): boolean {
    const field = this.p.deadLetterField ?? 'notification';
    const line = {
      time: new Date(lastAttemptAt).toISOString(),
      exporter: this.p.id,
      reason,
      attempts,
      enqueued_at: new Date(enqueuedAt).toISOString(),
      first_attempt_at: new Date(firstAttemptAt).toISOString(),
      last_attempt_at: new Date(lastAttemptAt).toISOString(),
      [field]: item,
    };
    try {
      // whole line or nothing: a failed append is cut back, so the file stays valid JSON lines
      appendWholeSync(this.deadLetterFile, JSON.stringify(line) + '\n');
      if (this.deadLetterFailing) {
        this.deadLetterFailing = false;
        this.p.telemetry.setHealthy(true, undefined, 'dead letter');
        this.p.logger.info({ file: this.deadLetterFile }, 'the dead-letter file can be written again');
      }
    } catch (err) {
      // /readyz names it while it fails (the queue itself may still write: a line is larger than a DONE record)
      this.deadLetterFailing = true;
      this.p.telemetry.setHealthy(false, `cannot write the dead-letter file: ${(err as Error).message}`, 'dead letter');
      if (keepOnFailure) {
        this.p.logger.error({ ...this.p.describe(item), err: (err as Error).message, file: this.deadLetterFile, reason }, `cannot write the dead-letter file: the item stays queued and the write is retried in ${DEAD_LETTER_RETRY_MS / 1000} s`);
        return false;
      }
      this.p.logger.error({ err: (err as Error).message, file: this.deadLetterFile, [field]: item }, 'cannot write the dead-letter file: the item is in this log line only');
    }
    this.countDeadLetter(item, reason, attempts, lastAttemptAt);
    return true;
  }

  private countDeadLetter(item: T, reason: string, attempts: number, lastAttemptAt: number): void {
    this.deadLettered++;
    this.remember('dead_letter', item, attempts, lastAttemptAt, reason);
    const n = this.p.itemCount(item);
    this.p.telemetry.count('failed', this.signalOf(item), n);
    this.deadLetterCounter.add(1, this.p.telemetry.labels);
    this.p.logger.error({ ...this.p.describe(item), alerts: n, attempts, reason, dead_letter: this.deadLetterFile }, 'notification not delivered: written to the dead letter');
  }
}

/** What a send said it rejected, as a count from 0 to the item's `n` (anything else a target says counts as 0). */
function clampRejected(rejected: unknown, n: number): number {
  return typeof rejected === 'number' && Number.isFinite(rejected) && rejected > 0 ? Math.min(Math.floor(rejected), n) : 0;
}
