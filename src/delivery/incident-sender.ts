/**
 * The base of the exporters that open and close incidents (pagerduty, opsgenie): their send_resolved filter,
 * the incident state kept in arrival order on disk, the HTTP agent, and the check that a notification is still
 * its incident's current one. A module of its own so that importing notification-exporter.ts (the file
 * exporter does) does not load the HTTP client.
 */
import type { Agent } from 'undici';
import type { ComponentTelemetry } from '../telemetry.ts';
import type { Logger } from '../logger.ts';
import type { AlertNotification } from '../model.ts';
import { httpAgent } from './http.ts';
import { IncidentState } from './incident-state.ts';
import type { NotificationSender } from './notification-exporter.ts';

/** How an {@link IncidentSender} names its incident key and reports a skipped notification in its debug log. */
export interface IncidentSenderOptions {
  /** Whether resolved notifications are sent (the exporter's `send_resolved`). */
  sendResolved: boolean;
  /** The exporter's state directory (holds `incidents.json`, see ./incident-state.ts). */
  stateDir: string;
  logger: Logger;
  /** The incident key of a group (PagerDuty's `dedup_key`, Opsgenie's `alias`). */
  incidentKey: (groupKey: string) => string;
  /** The debug log field that carries the key (`dedup_key`, `alias`). */
  keyField: string;
  /** The debug log message when a notification the incident has moved past is skipped. */
  skipMessage: string;
  /** Where a state that cannot be saved is reported (`/readyz` names the exporter's `state file`). */
  telemetry?: ComponentTelemetry;
  /**
   * The sender of the exporter a reload replaces (`settings.previous`'s): when it is of the same kind, its
   * incident state held in memory is taken over (newer than the file when saves failed).
   */
  previous?: unknown;
}

/**
 * What the on-call senders (pagerduty, opsgenie) share: `send_resolved`, the incident state followed in
 * arrival order (./incident-state.ts), the HTTP agent's lifetime, and skipping a notification whose status
 * is no longer its incident's. A subclass implements `send`, starting with {@link IncidentSender.currentKey}.
 */
export abstract class IncidentSender implements NotificationSender {
  protected agent: Agent | undefined;
  private readonly incidents: IncidentState;

  constructor(private readonly opts: IncidentSenderOptions) {
    const telemetry = opts.telemetry;
    this.incidents = new IncidentState(opts.stateDir, opts.logger, {
      onSaveState: telemetry ? (problem) => telemetry.setHealthy(problem === undefined, problem, 'state file') : undefined,
    });
  }

  wants(n: AlertNotification): boolean {
    return this.opts.sendResolved || n.status === 'firing';
  }

  accepted(ns: readonly AlertNotification[]): Promise<void> {
    return this.incidents.accept(ns, (n) => this.opts.incidentKey(n.groupKey));
  }

  async start(): Promise<void> {
    const prev = this.opts.previous;
    this.opts.previous = undefined; // not held past the takeover
    this.incidents.load(prev instanceof IncidentSender && prev.constructor === this.constructor ? prev.incidents : undefined);
    this.agent = httpAgent();
  }

  async shutdown(): Promise<void> {
    await this.incidents.close();
    await this.agent?.close();
  }

  /** Whether the incident state in memory could not be saved yet (tests). */
  get incidentStateUnsaved(): boolean {
    return this.incidents.unsaved;
  }

  /** Incidents held (tests). */
  get incidentCount(): number {
    return this.incidents.size;
  }

  /** The notification's incident key when its status is the incident's current one; else logs the skip and gives undefined. */
  protected currentKey(n: AlertNotification): string | undefined {
    const key = this.opts.incidentKey(n.groupKey);
    const current = this.incidents.status(key);
    if (current === n.status) return key;
    this.opts.logger.debug({ groupKey: n.groupKey, [this.opts.keyField]: key, status: n.status, current }, this.opts.skipMessage);
    return undefined;
  }

  abstract send(n: AlertNotification, signal: AbortSignal, attempt: number): Promise<void>;
}
