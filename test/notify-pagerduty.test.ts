/**
 * The pagerduty exporter against a local server that answers as PagerDuty's Events API v2 does: trigger
 * then resolve with one dedup_key (also across a restart), the event's fields, 400 -> dead letter (logged,
 * with PagerDuty's message), 429 and 5xx retried, slow answers, long summaries cut with the marker, a retried
 * trigger that must not re-open a resolved incident, and no routing key in logs or dead letters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Exporter, stateDirFor } from '../src/component.ts';
import { TRUNCATION_MARKER } from '../src/delivery/format.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { dedupKey } from '../exporters/pagerduty/pagerduty-event.ts';
import { configFor, recordingLogger, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { PagerDutyServer } from './doubles/pagerduty-server.ts';

const ROUTING_KEY = 'R0UT1NGKEYs3cr3t0000000000000001';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(raw: Record<string, unknown> = {}, opts: { dir?: string; server?: PagerDutyServer } = {}) {
  const pd = opts.server ?? (await new PagerDutyServer().start());
  if (!opts.server) cleanup.push(() => pd.close());
  const dir = opts.dir ?? tempDir();
  if (!opts.dir) cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = recordingLogger();
  const settings = testSettings('exporter', 'pagerduty/oncall', { stateDir: dir, logger });
  const config = configFor(pagerdutyExporterFactory, {
    url: `${pd.url}/v2/enqueue`,
    routing_key: ROUTING_KEY,
    retry: { initial_interval: '50ms', max_interval: '200ms' },
    ...raw,
  });
  const exp = pagerdutyExporterFactory.create(settings, config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { pd, exp, dir, lines, deadLetter: path.join(stateDirFor(settings), 'dead-letter.jsonl') };
}

const firing = () =>
  makeNotification(['pagerduty/oncall'], {
    commonLabels: { alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' },
    alerts: [
      makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', pod: 'a' }, { annotations: { summary: 'p95 of checkout is 2345.5 ms' } }),
      makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', pod: 'b' }, { generatorURL: 'http://vigil.local/api/rules/HighP95Latency' }),
    ],
  });
const resolvedOf = (n: ReturnType<typeof firing>) =>
  makeNotification(['pagerduty/oncall'], { alerts: n.alerts.map((a) => ({ ...a, status: 'resolved' as const, endsAt: '2026-11-23T10:05:00Z' })) });

describe('pagerduty exporter', () => {
  it('triggers, then resolves the same incident (dedup_key from the group key); the event carries every field', async () => {
    const { pd, exp } = await setup({ component: '{{ labels.service.name }}-api', group: 'payments', details: { runbook: 'https://runbooks/{{ labels.alertname }}' }, links: [{ href: 'https://grafana/d/x', text: 'dashboard' }], images: [{ src: 'https://img/x.png', alt: 'graph' }] });
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    const t = pd.events[0]!;
    expect(t.event_action).toBe('trigger');
    expect(t.dedup_key).toBe(dedupKey(n.groupKey));
    expect(t.dedup_key).toMatch(/^[0-9a-f]{64}$/);
    expect(t.payload).toMatchObject({
      summary: '[FIRING:2] HighP95Latency checkout (critical)',
      severity: 'critical',
      source: 'checkout',
      component: 'checkout-api',
      group: 'payments',
      class: 'HighP95Latency',
      timestamp: n.alerts[0]!.startsAt,
    });
    const cd = t.payload!.custom_details as { firing: { labels: Record<string, string>; annotations: Record<string, string>; value: number }[]; resolved: unknown[]; num_firing: number; num_resolved: number; runbook: string };
    expect(cd.num_firing).toBe(2);
    expect(cd.num_resolved).toBe(0);
    expect(cd.firing.map((a) => a.labels.pod)).toEqual(['a', 'b']);
    expect(cd.firing[0]!.annotations.summary).toBe('p95 of checkout is 2345.5 ms');
    expect(cd.firing[0]!.value).toBe(2345.5);
    expect(cd.runbook).toBe('https://runbooks/HighP95Latency');
    expect(t.links).toEqual([
      { href: n.alerts[0]!.generatorURL, text: 'HighP95Latency in vigil' },
      { href: 'http://vigil.local/api/rules/HighP95Latency', text: 'HighP95Latency in vigil' },
      { href: 'https://grafana/d/x', text: 'dashboard' },
    ]);
    expect(t.images).toEqual([{ src: 'https://img/x.png', alt: 'graph' }]);
    expect(t.client).toBe('vigil');
    expect(t.client_url).toBe('http://vigil.local');
    expect(pd.incidents.get(t.dedup_key)).toBe('triggered');

    await exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => pd.events.length === 2, 5000, 'resolve');
    expect(pd.events[1]).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: t.dedup_key });
    expect(pd.incidents.get(t.dedup_key)).toBe('resolved');
  });

  it('maps severity: error, warning, info as they are; anything else to default_severity; a severity template wins', async () => {
    const { pd, exp } = await setup({ default_severity: 'warning' });
    const sev = (s: string, key: string) => makeNotification(['pagerduty/oncall'], { groupKey: key, alerts: [makeAlert({ alertname: key, severity: s })] });
    await exp.consume({ alerts: [sev('error', 'e'), sev('warning', 'w'), sev('info', 'i'), sev('page', 'p')] });
    await waitFor(() => pd.events.length === 4, 5000, 'four triggers');
    const bySev = Object.fromEntries(pd.events.map((e) => [e.payload!.class, e.payload!.severity]));
    expect(bySev).toEqual({ e: 'error', w: 'warning', i: 'info', p: 'warning' });

    const fixed = await setup({ severity: '{{ labels.pd_severity }}' });
    await fixed.exp.consume({ alerts: [makeNotification(['pagerduty/oncall'], { alerts: [makeAlert({ alertname: 'X', severity: 'critical', pd_severity: 'info' })] })] });
    await waitFor(() => fixed.pd.events.length === 1, 5000, 'trigger');
    expect(fixed.pd.events[0]!.payload!.severity).toBe('info');
  });

  it('maps severity from the firing alerts only: a resolved critical listed beside a firing warning is a warning', async () => {
    const { pd, exp } = await setup();
    const n = makeNotification(['pagerduty/oncall'], {
      groupKey: 'mixed',
      commonLabels: { alertname: 'X' },
      alerts: [makeAlert({ alertname: 'X', severity: 'critical', pod: 'a' }, { status: 'resolved', endsAt: '2026-11-23T10:05:00Z' }), makeAlert({ alertname: 'X', severity: 'warning', pod: 'b' })],
    });
    expect(n.status).toBe('firing');
    await exp.consume({ alerts: [n] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    expect(pd.events[0]!.event_action).toBe('trigger');
    expect(pd.events[0]!.payload!.severity).toBe('warning');
  });

  it('resolves the incident its trigger opened after a restart of vigil between the two', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pd = await new PagerDutyServer().start();
    cleanup.push(() => pd.close());
    const n = firing();
    const first = await setup({}, { dir, server: pd });
    await first.exp.consume({ alerts: [n] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    await first.exp.shutdown();

    const second = await setup({}, { dir, server: pd });
    await second.exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => pd.events.length === 2, 5000, 'resolve after restart');
    expect(pd.events[1]!.event_action).toBe('resolve');
    expect(pd.events[1]!.dedup_key).toBe(pd.events[0]!.dedup_key);
    expect(pd.incidents.get(pd.events[0]!.dedup_key)).toBe('resolved');
  });

  it('a trigger queued when vigil stopped is delivered after the restart, then its resolve', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pd = await new PagerDutyServer().start();
    cleanup.push(() => pd.close());
    pd.script.push({ status: 503, body: 'unavailable' }, { status: 503, body: 'unavailable' }, { status: 503, body: 'unavailable' });
    const n = firing();
    const first = await setup({ retry: { initial_interval: '1s' } }, { dir, server: pd });
    await first.exp.consume({ alerts: [n] });
    await waitFor(() => pd.requests.length >= 1, 5000, 'first attempt');
    await first.exp.shutdown();
    expect(pd.events).toHaveLength(0);

    pd.script.length = 0;
    const second = await setup({}, { dir, server: pd });
    await waitFor(() => pd.events.length === 1, 5000, 'queued trigger delivered after restart');
    await second.exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => pd.events.length === 2, 5000, 'resolve');
    expect(pd.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
    expect(pd.incidents.get(dedupKey(n.groupKey))).toBe('resolved');
  });

  it('a 400 goes to the dead letter with PagerDuty\'s message and is logged; the routing key appears in neither', async () => {
    const { pd, exp, deadLetter, lines } = await setup({ routing_key: 'short-key-s3cr3t' });
    await exp.consume({ alerts: [firing()] });
    await waitFor(() => fs.existsSync(deadLetter), 5000, 'dead letter');
    expect(pd.requests).toHaveLength(1);
    const dl = fs.readFileSync(deadLetter, 'utf8');
    const line = JSON.parse(dl.trim()) as { reason: string; attempts: number; exporter: string; notification: { groupKey: string } };
    expect(line.exporter).toBe('pagerduty/oncall');
    expect(line.attempts).toBe(1);
    expect(line.reason).toContain("Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)");
    expect(line.reason).toMatch(/answered 400/);
    expect(line.notification.groupKey).toBe(firing().groupKey);
    const errorLine = lines.map((l) => JSON.parse(l) as { level: string; reason?: string; message: string }).find((l) => l.level === 'error');
    expect(errorLine, 'an error log line').toBeDefined();
    expect(JSON.stringify(errorLine)).toContain('routing_key');
    for (const text of [dl, lines.join('')]) expect(text).not.toContain('short-key-s3cr3t');
  });

  it('retries 429 (after its Retry-After) and 5xx, and delivers; the routing key is in no log line', async () => {
    const { pd, exp, lines } = await setup();
    pd.script.push({ status: 429, headers: { 'retry-after': '1' }, body: '{"status":"throttled","message":"Too many requests"}' }, { status: 500, body: 'internal error' }, { status: 502, body: '' });
    await exp.consume({ alerts: [firing()] });
    await waitFor(() => pd.events.length === 1, 8000, 'delivery after 429, 500, 502');
    expect(pd.requests).toHaveLength(4);
    expect(pd.requests[1]!.at - pd.requests[0]!.at).toBeGreaterThanOrEqual(900);
    expect(new Set(pd.requests.map((r) => r.body.toString()))).toHaveProperty('size', 1);
    expect(lines.join('')).not.toContain(ROUTING_KEY);
  });

  it('a slow answer beyond the timeout is retried', async () => {
    const { pd, exp } = await setup({ timeout: '200ms' });
    let calls = 0;
    pd.responder = async (req) => {
      if (++calls === 1) await new Promise((r) => setTimeout(r, 600));
      return { status: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: (req.json as { dedup_key: string }).dedup_key }) };
    };
    await exp.consume({ alerts: [firing()] });
    await waitFor(() => pd.requests.length >= 2, 5000, 'second attempt after the timeout');
  });

  it('cuts a long summary at 1,024 characters with the marker (PagerDuty accepts it)', async () => {
    const { pd, exp } = await setup({ summary: '{{ annotations.summary }}' });
    const long = 'checkout is slow '.repeat(200);
    await exp.consume({ alerts: [makeNotification(['pagerduty/oncall'], { alerts: [makeAlert({ alertname: 'A', severity: 'critical' }, { annotations: { summary: long } })] })] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    const s = pd.events[0]!.payload!.summary;
    expect(s).toHaveLength(1024);
    expect(s.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(long.startsWith(s.slice(0, -TRUNCATION_MARKER.length))).toBe(true);
  });

  it('a huge group stays a valid event: alerts listed up to max_alerts, the rest counted', async () => {
    const { pd, exp } = await setup({ max_alerts: 5 });
    const alerts = Array.from({ length: 40 }, (_, i) => makeAlert({ alertname: 'A', severity: 'warning', pod: `p${i}` }, { annotations: { description: 'y'.repeat(50_000) } }));
    await exp.consume({ alerts: [makeNotification(['pagerduty/oncall'], { alerts })] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    const cd = pd.events[0]!.payload!.custom_details as { firing: unknown[]; num_firing: number; truncated_alerts: number };
    expect(cd.firing).toHaveLength(5);
    expect(cd.num_firing).toBe(40);
    expect(cd.truncated_alerts).toBe(35);
    expect(pd.events[0]!.links!.length).toBeLessThanOrEqual(11);
  });

  it('a trigger retried after its resolve was delivered does not re-open the incident', async () => {
    const { pd, exp } = await setup({ retry: { initial_interval: '300ms', max_interval: '300ms', randomization_factor: 0 } });
    pd.script.push({ status: 500, body: 'oops' });
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => pd.requests.length === 1, 5000, 'failed trigger');
    await exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => pd.events.length === 1, 5000, 'resolve');
    await new Promise((r) => setTimeout(r, 700));
    expect(pd.events.map((e) => e.event_action)).toEqual(['resolve']);
    expect(pd.incidents.get(dedupKey(n.groupKey))).not.toBe('triggered');
  });

  it('a partial resolve (some alerts of the group still fire) does not resolve the incident', async () => {
    const { pd, exp } = await setup();
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    const partial = makeNotification(['pagerduty/oncall'], { alerts: [{ ...n.alerts[0]!, status: 'resolved', endsAt: '2026-11-23T10:05:00Z' }] });
    await exp.consume({ alerts: [partial] });
    await new Promise((r) => setTimeout(r, 200));
    expect(pd.events).toHaveLength(1);
    const rest = makeNotification(['pagerduty/oncall'], { alerts: [{ ...n.alerts[1]!, status: 'resolved', endsAt: '2026-11-23T10:06:00Z' }] });
    await exp.consume({ alerts: [rest] });
    await waitFor(() => pd.events.length === 2, 5000, 'resolve');
    expect(pd.events[1]!.event_action).toBe('resolve');
  });

  it('send_resolved: false never resolves; notifications for other exporters are ignored', async () => {
    const { pd, exp } = await setup({ send_resolved: false });
    const n = firing();
    await exp.consume({ alerts: [n, makeNotification(['slack/oncall'])] });
    await exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => pd.events.length === 1, 5000, 'trigger');
    await new Promise((r) => setTimeout(r, 200));
    expect(pd.events.map((e) => e.event_action)).toEqual(['trigger']);
  });

  it('rejects bad templates and URLs at config validation, naming the key', () => {
    expect(() => configFor(pagerdutyExporterFactory, { routing_key: 'k', summary: '{{ nope }}' })).toThrow(/summary: bad template: unknown variable "nope"/);
    expect(() => configFor(pagerdutyExporterFactory, { routing_key: 'k', links: [{ href: '{{ labels.x' }] })).toThrow(/links\.0\.href: bad template: unclosed/);
    expect(() => configFor(pagerdutyExporterFactory, { routing_key: 'k', url: 'ftp://x/y' })).toThrow(/url: expected an http/);
    expect(() => configFor(pagerdutyExporterFactory, {})).toThrow(/routing_key/);
  });
});
