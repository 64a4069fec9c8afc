/**
 * The opsgenie exporter against a local server that answers as Opsgenie's Alert API v2 does: create then
 * close by alias (also across a restart), GenieKey auth, templated fields and priority from severity, 422
 * and 401 -> dead letter (logged, with Opsgenie's message), 429 and 5xx retried, long messages cut with the
 * marker, and no API key in logs or dead letters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Exporter, stateDirFor } from '../src/component.ts';
import { TRUNCATION_MARKER } from '../src/delivery/format.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { opsgenieAlias } from '../exporters/opsgenie/opsgenie-alert.ts';
import { OPSGENIE_API_URL } from '../exporters/opsgenie/config.ts';
import { configFor, recordingLogger, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { OpsgenieServer } from './doubles/opsgenie-server.ts';

const API_KEY = 'eb243592-faa2-4ba2-a551-1afdf565c889';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(raw: Record<string, unknown> = {}, opts: { dir?: string; server?: OpsgenieServer } = {}) {
  const og = opts.server ?? (await new OpsgenieServer(API_KEY).start());
  if (!opts.server) cleanup.push(() => og.close());
  const dir = opts.dir ?? tempDir();
  if (!opts.dir) cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = recordingLogger();
  const settings = testSettings('exporter', 'opsgenie/oncall', { stateDir: dir, logger });
  const config = configFor(opsgenieExporterFactory, { api_url: og.url, api_key: API_KEY, retry: { initial_interval: '50ms', max_interval: '200ms' }, ...raw });
  const exp = opsgenieExporterFactory.create(settings, config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { og, exp, lines, deadLetter: path.join(stateDirFor(settings), 'dead-letter.jsonl') };
}

const firing = (severity = 'critical') =>
  makeNotification(['opsgenie/oncall'], {
    commonLabels: { alertname: 'HighP95Latency', severity, 'service.name': 'checkout', team: 'payments' },
    alerts: [makeAlert({ alertname: 'HighP95Latency', severity, 'service.name': 'checkout', team: 'payments' }, { annotations: { summary: 'p95 of checkout is 2345.5 ms' } })],
  });
const resolvedOf = (n: ReturnType<typeof firing>) => makeNotification(['opsgenie/oncall'], { alerts: n.alerts.map((a) => ({ ...a, status: 'resolved' as const, endsAt: '2026-11-23T10:05:00Z' })) });

describe('opsgenie exporter', () => {
  it('creates an alert with GenieKey auth, then closes it by alias when the group resolves', async () => {
    const { og, exp } = await setup({
      tags: ['{{ labels.service.name }}', 'vigil', '{{ labels.absent }}'],
      responders: [{ type: 'team', name: '{{ labels.team }}' }, { type: 'user', username: 'oncall@example.com' }],
      details: { service: '{{ labels.service.name }}' },
      note: 'from {{ receiver }}',
    });
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => og.actions.length === 1, 5000, 'create');
    const alias = opsgenieAlias(n.groupKey);
    expect(og.actions).toEqual([`create ${alias}`]);
    const req = og.requests[0]!;
    expect(req.path).toBe('/v2/alerts');
    expect(req.headers.authorization).toBe(`GenieKey ${API_KEY}`);
    const a = og.alerts.get(alias)!;
    expect(a.create).toMatchObject({
      message: '[FIRING:1] HighP95Latency checkout (critical payments)',
      alias,
      priority: 'P1',
      tags: ['checkout', 'vigil'],
      responders: [{ type: 'team', name: 'payments' }, { type: 'user', username: 'oncall@example.com' }],
      details: { service: 'checkout' },
      entity: 'checkout',
      source: 'vigil',
      note: 'from opsgenie/oncall',
    });
    expect(a.create.description).toContain('p95 of checkout is 2345.5 ms');
    expect(a.create.description).toContain(' - service.name = checkout');
    expect(a.create.description).toContain(`Source: ${n.alerts[0]!.generatorURL}`);

    await exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => og.actions.length === 2, 5000, 'close');
    expect(og.requests[1]!.path).toBe(`/v2/alerts/${alias}/close?identifierType=alias`);
    expect(og.alerts.get(alias)!.status).toBe('closed');
  });

  it('maps priority from severity (critical P1, error P2, warning P3, info P5, other P3); a priority template wins', async () => {
    const { og, exp } = await setup();
    const sev = (s: string) => makeNotification(['opsgenie/oncall'], { groupKey: s, commonLabels: { alertname: s, severity: s }, alerts: [makeAlert({ alertname: s, severity: s })] });
    await exp.consume({ alerts: ['critical', 'error', 'warning', 'info', 'page'].map(sev) });
    await waitFor(() => og.alerts.size === 5, 5000, 'five creates');
    expect(['critical', 'error', 'warning', 'info', 'page'].map((s) => og.alerts.get(opsgenieAlias(s))!.create.priority)).toEqual(['P1', 'P2', 'P3', 'P5', 'P3']);

    const t = await setup({ priority: '{{ labels.priority }}', priorities: { warning: 'P4' } });
    await t.exp.consume({ alerts: [makeNotification(['opsgenie/oncall'], { groupKey: 'x', alerts: [makeAlert({ alertname: 'x', severity: 'critical', priority: 'p2' })] }), makeNotification(['opsgenie/oncall'], { groupKey: 'y', alerts: [makeAlert({ alertname: 'y', severity: 'warning' })] })] });
    await waitFor(() => t.og.alerts.size === 2, 5000, 'two creates');
    expect(t.og.alerts.get(opsgenieAlias('x'))!.create.priority).toBe('P2');
    expect(t.og.alerts.get(opsgenieAlias('y'))!.create.priority).toBe('P4');

    // only firing alerts count: a resolved critical listed beside a firing warning is P3
    const mixed = makeNotification(['opsgenie/oncall'], {
      groupKey: 'mixed',
      commonLabels: { alertname: 'm' },
      alerts: [makeAlert({ alertname: 'm', severity: 'critical', pod: 'a' }, { status: 'resolved', endsAt: '2026-11-23T10:05:00Z' }), makeAlert({ alertname: 'm', severity: 'warning', pod: 'b' })],
    });
    await exp.consume({ alerts: [mixed] });
    await waitFor(() => og.alerts.size === 6, 5000, 'sixth create');
    expect(og.alerts.get(opsgenieAlias('mixed'))!.create.priority).toBe('P3');
  });

  it('update_alerts: a group that grows updates the open alert\'s message and description (a create alone is de-duplicated)', async () => {
    const { og, exp } = await setup({ update_alerts: true });
    const one = firing();
    const alias = opsgenieAlias(one.groupKey);
    await exp.consume({ alerts: [one] });
    await waitFor(() => og.actions.length === 3, 5000, 'create and two updates');
    const second = makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', team: 'payments', pod: 'b' }, { annotations: { summary: 'p95 of pod b' } });
    await exp.consume({ alerts: [{ ...one, alerts: [...one.alerts, second] }] });
    await waitFor(() => og.actions.length === 6, 5000, 'second create and two updates');
    expect(og.actions).toEqual([`create ${alias}`, `update message ${alias}`, `update description ${alias}`, `create ${alias}`, `update message ${alias}`, `update description ${alias}`]);
    const a = og.alerts.get(alias)!;
    expect(a.count).toBe(2);
    expect(a.create.message).toBe('[FIRING:2] HighP95Latency checkout (critical payments)');
    expect(a.create.description).toContain('p95 of pod b');
    expect(og.requests[4]!.method).toBe('PUT');
    expect(og.requests[4]!.path).toBe(`/v2/alerts/${alias}/message?identifierType=alias`);
  });

  it('closes the alert its create opened after a restart of vigil between the two', async () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const og = await new OpsgenieServer(API_KEY).start();
    cleanup.push(() => og.close());
    const n = firing();
    const first = await setup({}, { dir, server: og });
    await first.exp.consume({ alerts: [n] });
    await waitFor(() => og.actions.length === 1, 5000, 'create');
    await first.exp.shutdown();
    const second = await setup({}, { dir, server: og });
    await second.exp.consume({ alerts: [resolvedOf(n)] });
    await waitFor(() => og.actions.length === 2, 5000, 'close after restart');
    const alias = opsgenieAlias(n.groupKey);
    expect(og.actions).toEqual([`create ${alias}`, `close ${alias}`]);
    expect(og.alerts.get(alias)!.status).toBe('closed');
  });

  it('a 422 goes to the dead letter with Opsgenie\'s message, logged; a wrong key (401) too; the key appears nowhere', async () => {
    const { og, exp, deadLetter, lines } = await setup({ priority: 'P9', responders: [{ type: 'team', name: '{{ labels.absent }}' }] });
    // P9 is not a priority (the mapping is used) and a responder that renders empty is left out: Opsgenie takes it.
    await exp.consume({ alerts: [firing()] });
    await waitFor(() => og.actions.length === 1, 5000, 'valid create');
    expect(og.alerts.values().next().value!.create.responders).toBeUndefined();

    const bad = await setup({ message: '{{ labels.absent }}', tags: Array.from({ length: 30 }, (_, i) => `t${i}`) });
    // An empty message falls back to "[FIRING] <alertname>", and tags are cut to 20: Opsgenie accepts it.
    await bad.exp.consume({ alerts: [firing()] });
    await waitFor(() => bad.og.actions.length === 1, 5000, 'create with fallback message');
    const created = bad.og.alerts.values().next().value!.create;
    expect(created.message).toBe('[FIRING] HighP95Latency');
    expect(created.tags).toHaveLength(20);

    bad.og.script.push({ status: 422, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Request body is not processable. Please check the errors.', errors: { message: 'Message can not be empty.' }, took: 0.001, requestId: 'r-1' }) });
    await bad.exp.consume({ alerts: [makeNotification(['opsgenie/oncall'], { groupKey: 'other' })] });
    await waitFor(() => fs.existsSync(bad.deadLetter), 5000, 'dead letter');
    const line = JSON.parse(fs.readFileSync(bad.deadLetter, 'utf8').trim()) as { reason: string; attempts: number };
    expect(line.attempts).toBe(1);
    expect(line.reason).toContain('answered 422: Request body is not processable. Please check the errors.: Message can not be empty. (requestId r-1)');
    expect(bad.lines.some((l) => l.includes('"level":"error"') && l.includes('Message can not be empty'))).toBe(true);

    const wrongKey = await setup({ api_key: 'wrong-s3cr3t-key' }, { server: og });
    await wrongKey.exp.consume({ alerts: [firing()] });
    await waitFor(() => fs.existsSync(wrongKey.deadLetter), 5000, 'dead letter for 401');
    const dl = fs.readFileSync(wrongKey.deadLetter, 'utf8');
    expect(dl).toContain('answered 401: Could not authenticate');
    for (const text of [dl, wrongKey.lines.join(''), fs.readFileSync(bad.deadLetter, 'utf8'), bad.lines.join(''), lines.join('')]) {
      expect(text).not.toContain('wrong-s3cr3t-key');
      expect(text).not.toContain(API_KEY);
    }
  });

  it('retries 429 and 5xx and delivers', async () => {
    const { og, exp } = await setup();
    og.script.push({ status: 429, headers: { 'content-type': 'application/json', 'x-ratelimit-state': 'THROTTLED' }, body: '{"message":"You are making too many requests! To avoid errors, we recommend you limit requests.","took":0.0,"requestId":"r"}' }, { status: 503, body: '' });
    await exp.consume({ alerts: [firing()] });
    await waitFor(() => og.actions.length === 1, 5000, 'create after 429 and 503');
    expect(og.requests).toHaveLength(3);
  });

  it('a slow answer beyond the timeout is retried, and the alert is created once', async () => {
    const { og, exp } = await setup({ timeout: '200ms' });
    const answer = og.responder;
    let calls = 0;
    og.responder = async (req) => {
      if (++calls === 1) await new Promise((r) => setTimeout(r, 600));
      return answer(req);
    };
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => og.requests.length >= 2 && og.actions.length >= 2, 5000, 'second attempt after the timeout');
    // Opsgenie de-duplicates on the alias: the slow first attempt and the retry make one open alert.
    expect(og.alerts.size).toBe(1);
    expect(og.alerts.get(opsgenieAlias(n.groupKey))!.count).toBe(og.actions.length);
  });

  it('cuts a long message at 130 characters and a long description at 15,000, with the marker', async () => {
    const { og, exp } = await setup({ message: '{{ annotations.summary }}', description: '{{ annotations.description }}' });
    const n = makeNotification(['opsgenie/oncall'], { alerts: [makeAlert({ alertname: 'A', severity: 'warning' }, { annotations: { summary: 'slow '.repeat(100), description: 'd'.repeat(20_000) } })] });
    await exp.consume({ alerts: [n] });
    await waitFor(() => og.actions.length === 1, 5000, 'create');
    const c = og.alerts.get(opsgenieAlias(n.groupKey))!.create;
    expect(c.message).toHaveLength(130);
    expect(c.message.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(c.description).toHaveLength(15_000);
    expect(c.description!.endsWith(TRUNCATION_MARKER)).toBe(true);
  });

  it('details: every common label whatever its name (__proto__, constructor), the configured ones kept first within 8,000 characters', async () => {
    const { og, exp } = await setup({ details: { runbook: 'https://runbooks.example.com/{{ labels.alertname }}' } });
    const labels = JSON.parse('{"alertname":"A","__proto__":"p","constructor":"c","big":"' + 'x'.repeat(9000) + '"}') as Record<string, string>;
    const n = makeNotification(['opsgenie/oncall'], { groupKey: 'odd', commonLabels: labels, alerts: [makeAlert(labels)] });
    await exp.consume({ alerts: [n] });
    await waitFor(() => og.actions.length === 1, 5000, 'create');
    const details = (og.requests[0]!.json as { details: Record<string, string> }).details;
    expect(Object.keys(details).sort()).toEqual(['__proto__', 'alertname', 'big', 'constructor', 'runbook']);
    expect(details.runbook).toBe('https://runbooks.example.com/A');
    expect(Object.getOwnPropertyDescriptor(details, '__proto__')?.value).toBe('p');
    expect(details.constructor).toBe('c');
    expect(details.big!.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(Object.entries(details).reduce((sum, [k, v]) => sum + k.length + v.length, 0)).toBeLessThanOrEqual(8000);
  });

  it("takes tags in Alertmanager's own form, one comma-separated template as a string", async () => {
    expect(() => configFor(opsgenieExporterFactory, { api_key: 'k', tags: '{{ bad }}' })).toThrow(/tags: bad template: unknown variable "bad"/);
    const { og, exp } = await setup({ tags: '{{ labels.service.name }},vigil,,{{ labels.team }}' });
    const n = firing();
    await exp.consume({ alerts: [n] });
    await waitFor(() => og.actions.length === 1, 5000, 'create');
    expect(og.alerts.get(opsgenieAlias(n.groupKey))!.create.tags).toEqual(['checkout', 'vigil', 'payments']);
  });

  it('defaults to the US API URL; the EU one is accepted; bad templates and responders are config errors', () => {
    expect(configFor(opsgenieExporterFactory, { api_key: 'k' }).api_url).toBe(OPSGENIE_API_URL);
    expect(configFor(opsgenieExporterFactory, { api_key: 'k', api_url: 'https://api.eu.opsgenie.com' }).api_url).toBe('https://api.eu.opsgenie.com');
    expect(() => configFor(opsgenieExporterFactory, { api_key: 'k', tags: ['{{ bad }}'] })).toThrow(/tags\.0: bad template: unknown variable "bad"/);
    expect(() => configFor(opsgenieExporterFactory, { api_key: 'k', responders: [{ type: 'team' }] })).toThrow(/responders\.0: needs one of id, name, username/);
    expect(() => configFor(opsgenieExporterFactory, { api_key: 'k', priorities: { critical: 'P0' } })).toThrow(/priorities\.critical/);
    expect(() => configFor(opsgenieExporterFactory, { api_key: 'k', responders: [{ type: 'teams', id: 'x' }] })).toThrow(/responders\.0\.name: type teams needs name/);
  });
});
