/**
 * The shape every queued notification exporter shares (slack, email, webhook, pagerduty, opsgenie, alertmanager): take the
 * notifications routed to this exporter's ID from a batch, queue them on disk through the DeliveryQueue,
 * and deliver each with the exporter's own `send`. Other signals, and notifications for other exporters,
 * are ignored.
 */
import { type CreateSettings, type Exporter, type Host, READS_NO_SPAN_FIELDS, type SpanReads, stateDirFor } from '../component.ts';
import { retryableError } from '../errors.ts';
import type { AlertNotification, Batch } from '../model.ts';
import { type DeliveryConfig, type DeliveryOptions, deliveryOptions } from './config.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { notificationRank } from './severity.ts';
import type { ComponentStatus } from '../status.ts';

/** What an exporter plugs into the NotificationExporter. */
export interface NotificationSender {
  /** Delivers one notification (see DeliveryQueueParams.send for the error contract). */
  send(n: AlertNotification, signal: AbortSignal, attempt: number): Promise<void>;
  /** Whether this notification is sent at all (Slack's `send_resolved: false` skips resolved ones). */
  wants?(n: AlertNotification): boolean;
  /**
   * Called in arrival order just before notifications are queued (for state that must follow arrival order);
   * when it returns a promise, the notifications are queued once it resolves (their state is on disk: see
   * ./state-file-writer.ts).
   */
  accepted?(ns: readonly AlertNotification[]): void | Promise<void>;
  start?(): Promise<void>;
  /** Called after the queue is closed. */
  shutdown?(): Promise<void>;
}

/** The sender of the queued notification exporter a reload replaces (`settings.previous`), if it is one. */
export function previousSenderOf(previous: unknown): NotificationSender | undefined {
  return previous instanceof NotificationExporter ? previous.notificationSender : undefined;
}

/** The notifications in a batch that are routed to `id`. */
export function notificationsFor(batch: Batch, id: string): AlertNotification[] {
  const out: AlertNotification[] = [];
  for (const n of batch.alerts ?? []) if (Array.isArray(n.exporters) && n.exporters.includes(id)) out.push(n);
  return out;
}

/**
 * The queued exporter of alert notifications (see this file's comment) that plugs an exporter's
 * {@link NotificationSender} into a {@link DeliveryQueue}.
 */
export class NotificationExporter implements Exporter {
  /** Takes alerts only. */
  readonly spanReads: SpanReads = READS_NO_SPAN_FIELDS;
  private queue: DeliveryQueue<AlertNotification> | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  readonly options: DeliveryOptions;

  constructor(
    private readonly settings: CreateSettings,
    config: DeliveryConfig,
    private readonly sender: NotificationSender,
    over: Partial<DeliveryOptions> = {},
  ) {
    this.options = deliveryOptions(config, over);
  }

  /** The exporter's own sender (a reload hands the one it replaces to the new exporter's sender). */
  get notificationSender(): NotificationSender {
    return this.sender;
  }

  /** The delivery queue (after start), for tests. */
  get delivery(): DeliveryQueue<AlertNotification> | undefined {
    return this.queue;
  }

  async start(_host?: Host): Promise<void> {
    this.starting ??= (async () => {
      await this.sender.start?.();
      this.queue = await DeliveryQueue.open<AlertNotification>({
        dir: stateDirFor(this.settings),
        id: this.settings.id,
        options: this.options,
        logger: this.settings.logger,
        telemetry: this.settings.telemetry,
        send: (n, signal, attempt) => this.sender.send(n, signal, attempt),
        severity: notificationRank,
        itemCount: (n) => n.alerts.length,
        describe: (n) => ({ groupKey: n.groupKey, status: n.status, alertname: n.groupLabels?.alertname ?? n.commonLabels?.alertname }),
      });
    })();
    await this.starting;
  }

  /** Queue size, deliveries and dead letters, with the last of them (the status page's "recent notifications"). */
  status(_nowMs: number): ComponentStatus {
    if (!this.queue) return {};
    const st = this.queue.stats();
    const { records, deadLetterFile } = this.queue.recent();
    return { deliveries: { queued: st.queued, delivered: st.delivered, deadLettered: st.deadLettered, deadLetterFile, recent: records } };
  }

  async consume(batch: Batch): Promise<void> {
    let mine = notificationsFor(batch, this.settings.id);
    if (this.sender.wants) mine = mine.filter((n) => this.sender.wants!(n));
    if (!mine.length) return;
    if (!this.queue || this.stopped) throw retryableError(`exporter ${this.settings.id} is not running`);
    // Before enqueue: delivery may start as soon as the entries are on disk, and a restart replays the queue
    // against the saved state.
    await this.sender.accepted?.(mine);
    await this.queue.enqueue(mine);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.starting) await this.starting.catch(() => undefined);
    await this.queue?.close();
    await this.sender.shutdown?.();
  }
}
