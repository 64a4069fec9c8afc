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

function common(alerts: readonly Alert[], pick: (a: Alert) => Record<string, string> | undefined): Record<string, string> {
  if (!alerts.length) return {};
  // fromEntries and own keys: a label named `__proto__` or `constructor` is a label like any other
  const has = (kv: Record<string, string> | undefined, k: string, v: string) => kv !== undefined && Object.hasOwn(kv, k) && kv[k] === v;
  return Object.fromEntries(Object.entries(pick(alerts[0]!) ?? {}).filter(([k, v]) => alerts.every((a) => has(pick(a), k, v))));
}

/**
 * The body for one notification; `maxAlerts` 0 keeps every alert. As Alertmanager's webhook (which cuts the
 * alerts before it builds the template data), a cut body's `status`, `commonLabels` and `commonAnnotations`
 * are those of the alerts it carries, not of the whole group.
 */
export function webhookPayload(n: AlertNotification, receiver: string, maxAlerts = 0): WebhookPayload {
  const all = n.alerts ?? [];
  const cut = maxAlerts > 0 && all.length > maxAlerts;
  const kept = cut ? all.slice(0, maxAlerts) : all;
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: all.length - kept.length,
    status: cut ? (kept.some((a) => a.status === 'firing') ? 'firing' : 'resolved') : n.status,
    receiver,
    groupLabels: n.groupLabels ?? {},
    commonLabels: cut ? common(kept, (a) => a.labels) : (n.commonLabels ?? {}),
    commonAnnotations: cut ? common(kept, (a) => a.annotations) : (n.commonAnnotations ?? {}),
    externalURL: n.externalURL ?? '',
    alerts: kept.map(webhookAlert),
  };
}
