/**
 * What vigil writes into a webhook body where Alertmanager's own text is the contract, checked against a real
 * Alertmanager 0.25 (Debian's prometheus-alertmanager, installed by .ci/steps/40-alertmanager.sh):
 * - the group key: `<route key>:<group labels>`, the group labels written as model.LabelSet.String writes
 *   them (the `name="value"` pairs sorted as strings, so `a1` before `a`; values quoted as Go's %q);
 * - a body cut by `max_alerts`: its `status`, `commonLabels` and `commonAnnotations` are those of the alerts
 *   it carries (Alertmanager cuts before it builds the template data).
 * - the order of alerts in a body and of matchers in a route key: strings compare as Go compares them (UTF-8
 *   bytes: U+FF5E before U+1F600, where JavaScript's < says the opposite).
 * It also shows what processors/alerts/routing.test.ts's "group_wait as Alertmanager counts it" relies on: a
 * new group whose alerts started more than group_wait ago is flushed at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { webhookPayload } from '../src/delivery/webhook-payload.ts';
import type { Alert, AlertNotification } from '../src/model.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import type { AlertsConfig } from '../processors/alerts/config.ts';
import { compileRoutes, groupKeyOf, groupLabelsOf, matchRoute } from '../processors/alerts/routes.ts';
import { sortAlerts } from '../processors/alerts/dispatcher.ts';
import { configFor, waitFor } from './helpers/index.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const bin = alertmanagerBinary();
if (!bin) console.warn('\n!!!!! prometheus-alertmanager is NOT installed: the webhook body test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh. !!!!!\n');

type Body = Omit<AlertNotification, 'exporters'> & { receiver: string; truncatedAlerts: number; version: string };

// values Go's %q writes otherwise than JSON: a control character, DEL, U+2028, a no-break space, a character
// above U+FFFF; label names whose `name="` texts sort otherwise than the names (`a1` before `a`)
const TRICKY = 'tab\there\u0001\u007f\u2028\u00a0é"\\😀';
const GROUP_BY = ['a', 'a1', 'b', 'b_c'];

describe.skipIf(!bin)('webhook body fields against Alertmanager 0.25', () => {
  it('group keys, and the fields of a body cut by max_alerts, are the ones Alertmanager writes', async () => {
    const full = await new WebhookReceiver().start();
    const cut = await new WebhookReceiver().start();
    cleanup.push(() => full.close(), () => cut.close());
    const route = { group_by: GROUP_BY, group_wait: '30s', group_interval: '1h', routes: [{ matchers: ['team="x"'], continue: true }, { matchers: ['team=~"x|y"'] }] };
    const am = new AlertmanagerProcess(
      bin!,
      `route:
  receiver: r
  group_by: ${JSON.stringify(route.group_by)}
  group_wait: 30s
  group_interval: 1h
  routes:
    - matchers: ['team="x"']
      receiver: r
      continue: true
    - matchers: ['team=~"x|y"']
      receiver: r
receivers:
  - name: r
    webhook_configs:
      - url: ${full.url}/hook
      - url: ${cut.url}/hook
        max_alerts: 1
`,
    );
    await am.start();
    cleanup.push(() => am.stop());
    const now = Date.now();
    const common = { alertname: 'G', a: 'x', a1: 'y', b: TRICKY, b_c: 'z', team: 'x' };
    // sorted first (i=1) and resolved; the second fires: the cut body carries only the resolved one
    const alerts = [
      { labels: { ...common, i: '1' }, annotations: { summary: 'one', same: 's' }, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now - 1000).toISOString() },
      { labels: { ...common, i: '2' }, annotations: { summary: 'two', same: 's' }, startsAt: new Date(now - 60_000).toISOString() },
    ];
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
    expect(res.status).toBe(200);
    // two routes (the first continues): two groups, each notified to both webhooks; at once, not after
    // group_wait (30s), since the alerts started a minute ago (aggrGroup.insert; vigil's dispatcher does the same)
    await waitFor(() => full.payloads().length >= 2 && cut.payloads().length >= 2, 20_000, 'both groups at both webhooks');
    const fullBodies = full.payloads<Body>();
    const cutBodies = cut.payloads<Body>();

    // the group keys: vigil's tree, the same labels
    const config = configFor<AlertsConfig>(alertsProcessorFactory, { route });
    const issues: unknown[] = [];
    const root = compileRoutes(config, issues as never);
    expect(issues).toEqual([]);
    const labels = alerts[1]!.labels;
    const vigilKeys = matchRoute(root, labels).map((n) => groupKeyOf(n, groupLabelsOf(n, labels)));
    expect(vigilKeys.sort()).toEqual(fullBodies.map((b) => b.groupKey).sort());
    expect(vigilKeys.sort()).toEqual(cutBodies.map((b) => b.groupKey).sort());

    // the cut body: vigil cuts the whole notification as Alertmanager does
    for (const whole of fullBodies) {
      const amCut = cutBodies.find((b) => b.groupKey === whole.groupKey)!;
      expect(whole.alerts).toHaveLength(2);
      expect(amCut.truncatedAlerts).toBe(1);
      const n: AlertNotification = {
        exporters: ['webhook/x'],
        groupKey: whole.groupKey,
        status: whole.status,
        groupLabels: whole.groupLabels,
        commonLabels: whole.commonLabels,
        commonAnnotations: whole.commonAnnotations,
        externalURL: whole.externalURL,
        alerts: whole.alerts.map((a) => ({ ...a, value: NaN }) as Alert),
      };
      const { value: _v, ...mine } = { ...webhookPayload(n, 'r', 1), value: undefined };
      expect({ ...mine, alerts: mine.alerts.map(({ value: _x, ...a }) => a) }).toEqual(amCut);
    }
  }, 60_000);

  it('alerts in a body and matchers in a route key are in Go\'s string order', async () => {
    const hook = await new WebhookReceiver().start();
    cleanup.push(() => hook.close());
    // both regexes match every v below: the route's two matchers differ by value only
    const route = { group_by: ['alertname'], group_wait: '30s', routes: [{ matchers: ['v=~".*\u{1F600}.*|.+"', 'v=~".*\u{FF5E}.*|.+"'] }] };
    const am = new AlertmanagerProcess(
      bin!,
      `route:
  receiver: r
  group_by: [alertname]
  group_wait: 30s
  routes:
    - matchers: ${JSON.stringify(route.routes[0]!.matchers)}
      receiver: r
receivers:
  - name: r
    webhook_configs:
      - url: ${hook.url}/hook
`,
    );
    await am.start();
    cleanup.push(() => am.stop());
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const sets: Record<string, string>[] = [
      { alertname: 'O', v: 'x\u{1F600}' },
      { alertname: 'O', v: 'x\u{FF5E}' },
      { alertname: 'O', v: 'xa' },
      { alertname: 'O', v: 'y', job: 'j\u{1F600}' },
      { alertname: 'O', v: 'y', job: 'j\u{FF5E}' },
    ];
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sets.map((labels) => ({ labels, startsAt }))) });
    expect(res.status).toBe(200);
    await waitFor(() => hook.payloads().length >= 1, 20_000, 'the notification');
    const body = hook.payloads<Body>()[0]!;
    expect(body.alerts).toHaveLength(sets.length);

    const mine = sets.map((labels, i) => ({ labels, fingerprint: String(i) }) as unknown as Alert).reverse();
    sortAlerts(mine);
    expect(mine.map((a) => a.labels)).toEqual(body.alerts.map((a) => a.labels));

    const config = configFor<AlertsConfig>(alertsProcessorFactory, { route });
    const root = compileRoutes(config, []);
    const [node] = matchRoute(root, sets[0]!);
    expect(groupKeyOf(node!, groupLabelsOf(node!, sets[0]!))).toBe(body.groupKey);
  }, 60_000);
});
