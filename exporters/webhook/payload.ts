/** The Alertmanager webhook body (version "4"), which the webhook and file exporters both write. */
import type { Alert, AlertNotification } from '../../src/model.ts';

/** One item of `alerts[]`: Alertmanager's fields plus vigil's `value` (null when not a finite number). */
export type WebhookAlert = Omit<Alert, 'value'> & { value: number | null };

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
