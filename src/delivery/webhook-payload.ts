/**
 * The Alertmanager webhook body (version "4"): the shape every tool that takes Alertmanager webhooks reads,
 * written by the webhook exporter and, one line per notification, by the file exporter. (Alertmanager
 * `notify/webhook/webhook.go` Message.)
 */
import type { Alert, AlertNotification } from '../model.ts';

/** One item of `alerts[]`: Alertmanager's fields plus vigil's `value` (null when not a finite number). */
export type WebhookAlert = Omit<Alert, 'value'> & { value: number | null };

/** The JSON body of one notification. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** One alert as the webhook body carries it. */
export function webhookAlert(a: Alert): WebhookAlert {
  return {
    status: a.status,
    labels: a.labels ?? {},
    annotations: a.annotations ?? {},
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    generatorURL: a.generatorURL ?? '',
    fingerprint: a.fingerprint,
    // JSON has no NaN: an absent value is null.
    value: typeof a.value === 'number' && Number.isFinite(a.value) ? a.value : null,
  };
}

/** The body for one notification; `maxAlerts` 0 keeps every alert. */
export function webhookPayload(n: AlertNotification, receiver: string, maxAlerts = 0): WebhookPayload {
  const all = n.alerts ?? [];
  const kept = maxAlerts > 0 && all.length > maxAlerts ? all.slice(0, maxAlerts) : all;
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: all.length - kept.length,
    status: n.status,
    receiver,
    groupLabels: n.groupLabels ?? {},
    commonLabels: n.commonLabels ?? {},
    commonAnnotations: n.commonAnnotations ?? {},
    externalURL: n.externalURL ?? '',
    alerts: kept.map(webhookAlert),
  };
}
