/** Builds alert notifications as the alerts processor emits them, for exporter tests. */
import crypto from 'node:crypto';
import type { Alert, AlertNotification } from '../../src/model.ts';

export const FIRING_END = '0001-01-01T00:00:00Z';

export function makeAlert(labels: Record<string, string>, over: Partial<Alert> = {}): Alert {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
  return {
    status: 'firing',
    labels,
    annotations: { summary: `${labels.alertname ?? 'alert'} is firing` },
    startsAt: '2026-11-23T10:00:00.000Z',
    endsAt: FIRING_END,
    generatorURL: 'http://vigil.local/rules/' + (labels.alertname ?? 'x'),
    fingerprint: crypto.createHash('sha256').update(sorted).digest('hex').slice(0, 16),
    value: 2345.5,
    ...over,
  };
}

/** One notification for `exporters` with `alerts` (default: one HighP95Latency alert on checkout). */
export function makeNotification(exporters: string[], over: Partial<AlertNotification> = {}): AlertNotification {
  const alerts = over.alerts ?? [makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' })];
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    exporters,
    groupKey: '{}:{alertname="HighP95Latency", service.name="checkout"}',
    status,
    groupLabels: { alertname: 'HighP95Latency', 'service.name': 'checkout' },
    commonLabels: { ...alerts[0]!.labels },
    commonAnnotations: { ...alerts[0]!.annotations },
    externalURL: 'http://vigil.local',
    alerts,
    ...over,
  };
}
