/**
 * Label and annotation names that are also names of a JavaScript object's properties (`constructor`,
 * `toString`, `__proto__`: all valid Prometheus label names) are labels like any other in what the notification
 * exporters send: the subject (Alertmanager's `__subject`), a webhook body cut by `max_alerts`, PagerDuty's
 * custom_details. The objects are built with JSON.parse, as labels arrive.
 */
import { describe, expect, it } from 'vitest';
import { alertmanagerSubject } from '../src/delivery/format.ts';
import { webhookPayload } from '../src/delivery/webhook-payload.ts';
import { buildPagerDutyEvent, PagerDutyTemplates } from '../exporters/pagerduty/pagerduty-event.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { configFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';

const kv = (json: string) => JSON.parse(json) as Record<string, string>;

describe('labels named like object properties', () => {
  it('the subject lists a common label named constructor or toString that is not a group label', () => {
    const labels = kv('{"alertname":"A","constructor":"c","toString":"t","__proto__":"p"}');
    const n = makeNotification([], { groupLabels: kv('{"alertname":"A"}'), commonLabels: labels, alerts: [makeAlert(labels)] });
    // Alertmanager: the values of the common labels that are not group labels, in Go's string order of their names
    expect(alertmanagerSubject(n)).toBe('[FIRING:1] A (p c t)');
  });

  it('a webhook body cut by max_alerts keeps a common label named __proto__ or constructor', () => {
    const one = kv('{"alertname":"A","__proto__":"p","constructor":"c","pod":"1"}');
    const two = kv('{"alertname":"A","__proto__":"p","constructor":"c","pod":"2"}');
    const three = kv('{"alertname":"A","__proto__":"p","constructor":"other","pod":"3"}');
    const n = makeNotification([], { alerts: [makeAlert(one), makeAlert(two), makeAlert(three)], commonLabels: kv('{"alertname":"A","__proto__":"p"}') });
    const body = JSON.parse(JSON.stringify(webhookPayload(n, 'webhook/x', 2))) as { commonLabels: Record<string, string>; truncatedAlerts: number };
    expect(body.truncatedAlerts).toBe(1);
    expect(Object.entries(body.commonLabels)).toEqual([
      ['alertname', 'A'],
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
    // a label absent from one alert is not common, whatever its name
    const partial = makeNotification([], { alerts: [makeAlert(kv('{"alertname":"A"}')), makeAlert(kv('{"alertname":"A","constructor":"c"}'))] });
    const cut = webhookPayload({ ...partial, alerts: [...partial.alerts, makeAlert(kv('{"alertname":"A"}'))] }, 'webhook/x', 2);
    expect(Object.keys(cut.commonLabels)).toEqual(['alertname']);
  });

  it('pagerduty custom_details keep an annotation named __proto__', () => {
    const c = configFor(pagerdutyExporterFactory, { routing_key: 'k' });
    const n = makeNotification(['pagerduty/x'], { alerts: [makeAlert({ alertname: 'A' }, { annotations: kv('{"summary":"s","__proto__":"p"}') })] });
    const event = JSON.parse(JSON.stringify(buildPagerDutyEvent(n, c, new PagerDutyTemplates(c), 'pagerduty/x'))) as { payload: { custom_details: { firing: { annotations: Record<string, string> }[] } } };
    expect(Object.entries(event.payload.custom_details.firing[0]!.annotations)).toEqual([
      ['summary', 's'],
      ['__proto__', 'p'],
    ]);
  });
});
