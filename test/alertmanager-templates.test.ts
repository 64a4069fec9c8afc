/**
 * vigil's texts that claim to be Alertmanager's default templates, against a real Alertmanager (Debian's
 * prometheus-alertmanager 0.25) rendering them: `{{ subject }}` (Alertmanager's `__subject`, behind
 * `slack.default.title`, `email.default.subject`, `opsgenie.default.message`, `pagerduty.default.description`)
 * and the opsgenie exporter's default description (`opsgenie.default.description`).
 *
 * Alertmanager is given one receiver per case, each with a webhook, a Slack and an Opsgenie integration
 * pointed at a local server. Each notification's webhook body is the group as Alertmanager saw it (the same
 * shape as vigil's AlertNotification); vigil renders it, and the text must be the one Alertmanager sent to
 * Slack (attachment title) and to Opsgenie (message, description), character for character.
 *
 * The Slack text is {@link FUNCTIONS_TEXT}: Alertmanager's template functions and data (counts of
 * `.Alerts.Firing`, `join` of `.GroupLabels.Names`, `reReplaceAll`, `match`, `title`, `.Receiver`, ...)
 * in a user's template, which vigil must render as Alertmanager does.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/index.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';
import { Template } from '../src/delivery/template.ts';
import { defaultDescription } from '../exporters/opsgenie/opsgenie-alert.ts';
import type { AlertNotification } from '../src/model.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const bin = alertmanagerBinary();

/**
 * A notification text using Alertmanager 0.25's functions (template/template.go DefaultFuncs) and Go's
 * builtins that give one value, on its notification data, in the forms users copy (pipes, calls, nesting).
 */
const FUNCTIONS_TEXT = [
  '{{- /* vigil has no range: counts and joins instead */ -}}',
  '[{{ .Status | toUpper }}:{{ .Alerts.Firing | len }}/{{ len .Alerts }} resolved={{ len .Alerts.Resolved }}] {{ .Receiver }} {{ .ExternalURL }}',
  'group={{ .GroupLabels.Names | join "," }} values={{ join ", " .GroupLabels.Values }} common={{ .CommonLabels.Names }} ann={{ join "," .CommonAnnotations.Names }}',
  `{{ title .CommonLabels.alertname }} {{ .CommonLabels.tenant | title }} {{ title "hELLO wORLD ß-x o'neil 3rd_x a.b c:d ǆemal x.y.z ﬁx ΣΑΣ" }} {{ toLower .GroupLabels.Team }}`,
  '{{ reReplaceAll "(?P<first>[A-Z])[a-z]+" "${first}." (index .CommonLabels "alertname") }} {{ reReplaceAll `^(\\w)\\w*` "$1x$1" .CommonLabels.severity }} {{ match "^(High|Slow)" .CommonLabels.alertname }} {{ safeHtml "<b>" }}',
  '{{ join "+" (stringSlice "a" .Status "c") }} {{ len (stringSlice) }} {{ index .GroupLabels "Team" }}|{{ .CommonLabels.nope }}|{{ .CommonAnnotations.summary | urlquery }} {{ html .CommonAnnotations.summary }} {{ js "a\'b=<>" }} {{ print 1 2 "x" }} {{ printf "%s=%d %5.1f" .Status 3 2.25 }}',
].join('\n');

interface Captured {
  path: string;
  body: Record<string, unknown>;
}

async function captureServer(): Promise<{ url: string; got: Captured[]; close: () => Promise<void> }> {
  const got: Captured[] = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body: b ? (JSON.parse(b) as Record<string, unknown>) : {} });
      const og = req.url?.startsWith('/og/');
      res.writeHead(og ? 202 : 200, { 'content-type': 'application/json' });
      res.end(og ? '{"result":"Request will be processed","requestId":"r"}' : 'ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, got, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/** Each case: the group_by of its route and the alerts it fires (all in one group). */
const CASES: { groupBy: string[]; alerts: { labels: Record<string, string>; annotations: Record<string, string>; generatorURL?: string }[] }[] = [
  // a label that sorts before `alertname` byte-wise (upper case): SortedPairs puts alertname first anyway
  {
    groupBy: ['alertname'],
    alerts: [
      { labels: { alertname: 'HighP95Latency', Team: 'payments', service: 'checkout', severity: 'critical' }, annotations: { summary: 'slow', description: 'p95 2.3s' }, generatorURL: 'http://vigil.test/alerts?rule=HighP95Latency' },
      { labels: { alertname: 'HighP95Latency', Team: 'payments', service: 'cart', severity: 'critical' }, annotations: { summary: 'slow' } },
    ],
  },
  { groupBy: ['Team', 'alertname'], alerts: [{ labels: { alertname: 'ErrorBudget', Team: 'search', _shard: '7', severity: 'warning' }, annotations: { Zeta: 'z', alpha: 'a' } }] },
  // no group labels: two spaces before the parenthesis
  { groupBy: [], alerts: [{ labels: { alertname: 'Down', zone: 'eu', B: 'b', severity: 'info' }, annotations: {} }] },
  // every label a group label: the subject ends with a space
  { groupBy: ['...'], alerts: [{ labels: { alertname: 'Quota', tenant: 'ünïcode', severity: 'warning' }, annotations: { summary: 'quota at 95%' }, generatorURL: 'http://vigil.test/q' }] },
  // alertname not grouped: it leads the parenthesis
  {
    groupBy: ['service'],
    alerts: [
      { labels: { alertname: 'Slow', service: 'api', A: '1', severity: 'critical' }, annotations: { summary: 's' } },
      { labels: { alertname: 'Slow', service: 'api', A: '2', severity: 'critical' }, annotations: { summary: 's' } },
      { labels: { alertname: 'Slow', service: 'api', A: '3', severity: 'critical' }, annotations: { summary: 's', runbook: 'http://r' } },
    ],
  },
];

describe("Alertmanager's default templates, as vigil renders them", () => {
  it.skipIf(!bin)('subject, Opsgenie description and a text using the template functions are what Alertmanager sends, firing, partly resolved and resolved', async () => {
    const cap = await captureServer();
    cleanup.push(() => cap.close());
    const receivers = CASES.map(
      (_, i) => `  - name: team.r${i}
    webhook_configs: [{url: '${cap.url}/hook/${i}', send_resolved: true}]
    slack_configs: [{api_url: '${cap.url}/slack/${i}', channel: '#c', send_resolved: true, text: ${JSON.stringify(FUNCTIONS_TEXT)}}]
    opsgenie_configs: [{api_url: '${cap.url}/og/${i}/', api_key: k, send_resolved: true}]`,
    );
    const routes = CASES.map((c, i) => `    - matchers: ['case="${i}"']\n      receiver: team.r${i}\n      group_by: ${JSON.stringify(c.groupBy)}`);
    const am = await new AlertmanagerProcess(
      bin!,
      `route:
  receiver: team.r0
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
${routes.join('\n')}
receivers:
${receivers.join('\n')}
`,
    ).start();
    cleanup.push(() => am.stop());

    const all = CASES.flatMap((c, i) => c.alerts.map((a) => ({ ...a, labels: { ...a.labels, case: String(i) } })));
    const post = async (alerts: typeof all, resolved: boolean) => {
      const endsAt = resolved ? new Date(Date.now() - 1000).toISOString() : undefined;
      const r = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map((a) => ({ ...a, ...(endsAt ? { endsAt } : {}) }))) });
      expect(r.status).toBe(200);
    };
    const hooks = () => cap.got.filter((g) => g.path.startsWith('/hook/'));
    const settled = async (n: number, what: string) => {
      // each webhook has its Slack message and its Opsgenie request
      await waitFor(() => hooks().length >= n && cap.got.filter((g) => g.path.startsWith('/slack/')).length >= n && cap.got.filter((g) => g.path.startsWith('/og/')).length >= n, 20_000, what);
    };
    await post(all, false);
    await settled(CASES.length, 'every case notified firing');
    // the first case partly resolves, then everything resolves
    await post([all[1]!], true);
    await settled(CASES.length + 1, 'one alert of case 0 resolved');
    await post(all, true);
    await settled(2 * CASES.length + 1, 'every case resolved');

    const subject = Template.parse('{{ subject }}');
    const functions = Template.parse(FUNCTIONS_TEXT);
    const byCase = (prefix: string, i: number) => cap.got.filter((g) => g.path.startsWith(`/${prefix}/${i}/`) || g.path === `/${prefix}/${i}`);
    const statuses: string[] = [];
    for (let i = 0; i < CASES.length; i++) {
      const hook = byCase('hook', i);
      const slack = byCase('slack', i);
      const og = byCase('og', i);
      expect(slack).toHaveLength(hook.length);
      expect(og).toHaveLength(hook.length);
      for (let j = 0; j < hook.length; j++) {
        const n = hook[j]!.body as unknown as AlertNotification;
        statuses.push(`${i}:${n.status}:${n.alerts.map((a) => a.status).join(',')}`);
        const { title, text } = (slack[j]!.body.attachments as { title: string; text: string }[])[0]!;
        expect({ i, j, subject: subject.render(n, 'r') }).toEqual({ i, j, subject: title });
        // vigil's receiver is the exporter the text is for; here, the receiver Alertmanager named (the webhook
        // body has it regexp-quoted already, as .Receiver is)
        expect({ i, j, text: functions.render(n, `team.r${i}`) }).toEqual({ i, j, text });
        if (n.status === 'firing') {
          expect(og[j]!.path).toBe(`/og/${i}/v2/alerts`);
          expect({ i, j, message: subject.render(n, 'r') }).toEqual({ i, j, message: og[j]!.body.message });
          expect({ i, j, description: defaultDescription(n) }).toEqual({ i, j, description: og[j]!.body.description });
        } else {
          expect(og[j]!.path).toMatch(new RegExp(`^/og/${i}/v2/alerts/[0-9a-f]+/close`));
        }
      }
    }
    // the notifications compared cover firing, partly resolved and resolved groups
    expect(statuses.filter((s) => s.startsWith('0:firing:') && s.includes('resolved'))).toHaveLength(1);
    expect(statuses.filter((s) => s.includes(':resolved:'))).toHaveLength(CASES.length);
  }, 60_000);
});
