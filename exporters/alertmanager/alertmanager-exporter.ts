/**
 * Sends alerts to a real Alertmanager with `POST /api/v2/alerts`, as Prometheus does: each notification is
 * queued and delivered through the DeliveryQueue; firing alerts are remembered (in `active.json` in the state
 * folder, so a restart keeps them) and sent again every `resend_delay` with `endsAt = now + 4 x resend_delay`,
 * so that Alertmanager expires them on its own if vigil dies; a resolved alert is sent with its `endsAt`
 * and forgotten.
 */
import path from 'node:path';
import type { Agent } from 'undici';
import { checkStatus, httpAgent, post, redact } from '../../src/delivery/http.ts';
import type { NotificationSender } from '../../src/delivery/notification-exporter.ts';
import { readStateFile, removeStaleTemps, savedStringMap } from '../../src/atomic-file.ts';
import { StateFileWriter } from '../../src/delivery/state-file-writer.ts';
import type { Logger } from '../../src/logger.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import { parseDuration } from '../../src/duration.ts';
import { parseApiTime } from '../../src/rfc3339.ts';
import type { AlertmanagerConfig } from './config.ts';
import { timerDelay } from '../../src/timer-delay.ts';
import { USER_AGENT } from '../../src/version.ts';

/** One alert in Alertmanager's API v2 `postableAlert` shape. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/**
 * A label name Alertmanager accepts (`[a-zA-Z_][a-zA-Z0-9_]*`): other characters become `_`, as Prometheus
 * turns OpenTelemetry attribute names into label names (`service.name` -> `service_name`).
 */
export function labelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s || '_';
}

function labelSet(...sets: Record<string, string>[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) for (const [k, v] of Object.entries(set)) out[labelName(k)] = v;
  return out;
}

/** The v2 alerts endpoint for a configured URL (accepts the base URL or the endpoint itself). */
export function alertsEndpoint(url: string): string {
  const u = url.replace(/\/+$/, '');
  return u.endsWith('/api/v2/alerts') ? u : `${u}/api/v2/alerts`;
}

/**
 * The alertmanager exporter's sender (see this file's comment): POSTs alerts to `<url>/api/v2/alerts` as
 * Prometheus does, keeps the firing set in `<state dir>/active.json` and re-sends it every `resend_delay`.
 */
export class AlertmanagerSender implements NotificationSender {
  private agent: Agent | undefined;
  /** Firing alerts by fingerprint, as last received. */
  private readonly active = new Map<string, Alert>();
  private timer: NodeJS.Timeout | undefined;
  private readonly resendMs: number;
  private readonly endpoint: string;
  private readonly activeFile: string;
  private resending = false;
  /** The last save of the firing set failed: retried at every resend and at shutdown, not only at the next change. */
  private saveFailing = false;
  /** Saves of active.json: coalesced, off the event loop, awaited before the notifications are queued. */
  private readonly writer: StateFileWriter;

  constructor(
    private readonly config: AlertmanagerConfig,
    stateDir: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
    /** The sender of the exporter a reload replaces: its firing set (newer than the file when saves failed) is taken over. */
    private previous?: AlertmanagerSender,
  ) {
    this.resendMs = parseDuration(config.resend_delay);
    this.endpoint = alertsEndpoint(config.url);
    this.activeFile = path.join(stateDir, 'active.json');
    this.writer = new StateFileWriter(this.activeFile, () => JSON.stringify([...this.active.values()]), (err) => this.written(err));
  }

  async start(): Promise<void> {
    this.agent = httpAgent();
    const prev = this.previous;
    this.previous = undefined;
    if (prev && prev.activeFile === this.activeFile) {
      for (const [k, a] of prev.active) this.active.set(k, a);
      if (prev.saveFailing) void this.writer.save();
    } else {
      removeStaleTemps(this.activeFile);
      const { value, problem } = readStateFile(this.activeFile, (v) => (Array.isArray(v) ? undefined : 'expected a JSON array of alerts'));
      if (problem) this.logger.warn({ err: problem, file: this.activeFile }, 'cannot read the saved firing alerts; starting without them');
      let skipped = 0;
      for (const x of (value ?? []) as unknown[]) {
        const a = savedAlert(x);
        if (a) this.active.set(a.fingerprint, a);
        else skipped++;
      }
      // One alert Alertmanager refuses (no labels, a startsAt it cannot read) fails the whole POST of every
      // firing alert, which Alertmanager then expires: such entries are left out, and said so.
      if (skipped)
        this.logger.warn({ file: this.activeFile, skipped, kept: this.active.size }, 'skipped saved firing alerts that are not whole alerts (fingerprint, labels, RFC 3339 startsAt)');
    }
    this.timer = setInterval(() => void this.resend(), timerDelay(this.resendMs));
    this.timer.unref();
    if (this.active.size) void this.resend();
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writer.idle();
    if (this.saveFailing) await this.writer.save();
    await this.agent?.close();
  }

  /** Number of firing alerts being re-sent (tests). */
  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Firing / resolved state follows arrival order, whatever order deliveries and retries finish in; resolves
   * once the changed firing set is saved (or its save failed: retried at every resend).
   */
  accepted(ns: readonly AlertNotification[]): Promise<void> | undefined {
    let changed = false;
    for (const n of ns)
      for (const a of n.alerts) {
        if (a.status === 'firing') {
          this.active.set(a.fingerprint, a);
          changed = true;
        } else if (this.active.delete(a.fingerprint)) changed = true;
      }
    return changed ? this.writer.save() : undefined;
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<void> {
    // A firing alert that has resolved since this notification was queued is not sent as firing again
    // (a late retry must not overtake the resolve).
    const alerts = n.alerts.filter((a) => a.status === 'resolved' || this.active.has(a.fingerprint));
    if (alerts.length) await this.postAlerts(alerts, signal);
  }

  private toPostable(a: Alert, now: number): PostableAlert {
    const labels = labelSet(this.config.external_labels, a.labels);
    const endsAt =
      a.status === 'firing' ? new Date(now + 4 * this.resendMs).toISOString() : a.endsAt && !a.endsAt.startsWith('0001-') ? a.endsAt : new Date(now).toISOString();
    return { labels, annotations: labelSet(a.annotations ?? {}), startsAt: a.startsAt, endsAt, generatorURL: a.generatorURL ?? '' };
  }

  private async postAlerts(alerts: readonly Alert[], signal: AbortSignal): Promise<void> {
    const now = Date.now();
    const body = JSON.stringify(alerts.map((a) => this.toPostable(a, now)));
    const res = await post(this.endpoint, body, { 'user-agent': USER_AGENT, ...this.config.headers, 'content-type': 'application/json' }, signal, this.agent);
    checkStatus(res, `Alertmanager ${redact(this.endpoint)}`);
  }

  /** Sends every firing alert again (a failure is logged; the next tick tries again). */
  private async resend(): Promise<void> {
    if (this.saveFailing) void this.writer.save();
    if (this.resending || this.active.size === 0) return;
    this.resending = true;
    const alerts = [...this.active.values()];
    try {
      await this.postAlerts(alerts, AbortSignal.timeout(this.timeoutMs));
      this.telemetry.count('sent', 'alerts', alerts.length);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, alerts: alerts.length }, 'resending firing alerts to Alertmanager failed; will try at the next resend');
    } finally {
      this.resending = false;
    }
  }

  /** The outcome of a save of active.json, reported on /readyz and in the log. */
  private written(err: Error | undefined): void {
    if (!err) {
      if (this.saveFailing) this.logger.info({ file: this.activeFile }, 'the firing alerts are saved again');
      this.saveFailing = false;
      this.telemetry.setHealthy(true, undefined, 'state file');
      return;
    }
    if (!this.saveFailing)
      this.logger.error({ err: err.message, file: this.activeFile }, 'cannot save the firing alerts (the previous file is kept; retried at every resend, at the next change and at shutdown)');
    this.saveFailing = true;
    this.telemetry.setHealthy(false, `cannot save the firing alerts: ${err.message}`, 'state file');
  }
}

/**
 * A firing alert as active.json holds it, checked and normalised, or undefined when it is not one that can be
 * re-sent: a fingerprint, at least one label, string label and annotation values, an RFC 3339 `startsAt`.
 */
export function savedAlert(x: unknown): Alert | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  const a = x as Partial<Record<keyof Alert, unknown>>;
  if (typeof a.fingerprint !== 'string' || !a.fingerprint) return undefined;
  const labels = savedStringMap(a.labels);
  if (!labels || !Object.keys(labels).length) return undefined;
  const annotations = a.annotations === undefined ? {} : savedStringMap(a.annotations);
  if (!annotations) return undefined;
  if (typeof a.startsAt !== 'string' || parseApiTime(a.startsAt) === undefined) return undefined;
  return {
    status: 'firing',
    labels,
    annotations,
    startsAt: a.startsAt,
    endsAt: typeof a.endsAt === 'string' && parseApiTime(a.endsAt) !== undefined ? a.endsAt : '0001-01-01T00:00:00Z',
    generatorURL: typeof a.generatorURL === 'string' ? a.generatorURL : '',
    fingerprint: a.fingerprint,
    value: typeof a.value === 'number' ? a.value : NaN,
  };
}

