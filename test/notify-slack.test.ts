import { USER_AGENT } from '../src/version.ts';
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { type Exporter, stateDirFor } from '../src/component.ts';
import { slackExporterFactory } from '../exporters/slack/index.ts';
import { colorFor, COLORS } from '../exporters/slack/slack-message.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { SlackServer, slackLimitViolations } from './doubles/slack-server.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(raw: Record<string, unknown> = {}) {
  const slack = await new SlackServer().start();
  cleanup.push(() => slack.close());
  const dir = tempDir();
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const settings = testSettings('exporter', 'slack/oncall', { stateDir: dir });
  const config = configFor(slackExporterFactory, {
    webhook_url: `${slack.url}/services/T000/B000/XXXX`,
    retry: { initial_interval: '20ms', max_interval: '50ms' },
    ...raw,
  });
  const exp = slackExporterFactory.create(settings, config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { slack, exp, deadLetter: path.join(stateDirFor(settings), 'dead-letter.jsonl') };
}

describe('slack exporter', () => {
  it('posts a coloured message with the summary, labels, value, start and link', async () => {
    const { slack, exp } = await setup({ channel: '#oncall', username: 'vigil', icon_emoji: ':rotating_light:', text: 'Team {{ labels.team }}: {{ count }} alert(s)' });
    const n = makeNotification(['slack/oncall'], {
      alerts: [makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', team: 'payments' }, { annotations: { summary: 'p95 of checkout is 2345.5 ms' } })],
    });
    await exp.consume({ alerts: [n] });
    await waitFor(() => slack.messages.length === 1, 5000, 'slack message');
    const m = slack.messages[0]!;
    expect(slack.requests[0]!.headers['user-agent']).toBe(USER_AGENT);
    expect(m.channel).toBe('#oncall');
    expect(m.username).toBe('vigil');
    expect(m.icon_emoji).toBe(':rotating_light:');
    expect(m.text).toContain('[FIRING:1] HighP95Latency checkout');
    const att = m.attachments![0]!;
    expect(att.color).toBe(COLORS.critical);
    const texts = att.blocks!.map((b) => b.text?.text ?? '').join('\n');
    expect(texts).toContain('Team payments: 1 alert(s)');
    expect(texts).toContain('p95 of checkout is 2345.5 ms');
    expect(texts).toContain('`service.name=checkout`');
    expect(texts).toContain('*Value:* 2345.5');
    expect(texts).toContain(n.alerts[0]!.startsAt);
    expect(texts).toContain(`<${n.alerts[0]!.generatorURL}|source>`);
  });

  it('colours firing warning orange and resolved green; send_resolved false skips resolved groups', async () => {
    const { slack, exp } = await setup();
    const warn = makeNotification(['slack/oncall'], { alerts: [makeAlert({ alertname: 'A', severity: 'warning' })] });
    const resolved = makeNotification(['slack/oncall'], { alerts: [makeAlert({ alertname: 'A', severity: 'warning' }, { status: 'resolved', endsAt: '2026-11-23T10:05:00Z' })] });
    await exp.consume({ alerts: [warn] });
    await exp.consume({ alerts: [resolved] });
    await waitFor(() => slack.messages.length === 2, 5000, 'two messages (1/s rate limit)');
    expect(slack.messages.map((m) => m.attachments![0]!.color)).toEqual([COLORS.warning, COLORS.resolved]);
    expect(slack.messages[1]!.text).toContain('[RESOLVED]');
    // the colour is the firing alerts': a resolved critical listed beside a firing warning is orange
    const mixed = makeNotification(['slack/oncall'], { alerts: [makeAlert({ alertname: 'B', severity: 'critical', pod: 'a' }, { status: 'resolved', endsAt: '2026-11-23T10:05:00Z' }), makeAlert({ alertname: 'B', severity: 'warning', pod: 'b' })] });
    expect(colorFor(mixed)).toBe(COLORS.warning);

    const quiet = await setup({ send_resolved: false });
    await quiet.exp.consume({ alerts: [resolved] });
    await new Promise((r) => setTimeout(r, 100));
    expect(quiet.slack.requests).toHaveLength(0);
  });

  it('cuts a huge alert group to Slack limits with a marker instead of failing', async () => {
    const { slack, exp } = await setup({ text: '{{ annotations.description }}' });
    const long = 'x'.repeat(10_000);
    const alerts = Array.from({ length: 300 }, (_, i) =>
      makeAlert({ alertname: 'HighP95Latency', severity: 'critical', pod: `pod-${i}`, blob: long }, { annotations: { summary: `pod ${i} slow`, description: long } }),
    );
    await exp.consume({ alerts: [makeNotification(['slack/oncall'], { alerts, commonAnnotations: { description: long } })] });
    await waitFor(() => slack.requests.length === 1, 5000, 'slack request');
    expect(slack.violations).toEqual([]);
    const m = slack.messages[0]!;
    expect(slackLimitViolations(m)).toEqual([]);
    const blocks = m.attachments![0]!.blocks!;
    expect(blocks.length).toBe(50);
    expect(blocks.at(-1)!.text!.text).toMatch(/and \d+ more alerts .*\(truncated\)/);
    expect(blocks[2]!.text!.text).toMatch(/… \(truncated\)$/);
    expect(m.text!.length).toBeLessThan(4000);
  });

  it('retries a 429 after its Retry-After, and delivers', async () => {
    const { slack, exp } = await setup();
    slack.script.push({ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' });
    await exp.consume({ alerts: [makeNotification(['slack/oncall'])] });
    await waitFor(() => slack.messages.length === 1, 8000, 'delivery after 429');
    expect(slack.requests).toHaveLength(2);
    expect(slack.requests[0]!.body.equals(slack.requests[1]!.body)).toBe(true);
  });

  it('retries a 500; a 400 invalid_payload goes to the dead letter', async () => {
    const { slack, exp, deadLetter } = await setup();
    slack.script.push({ status: 500, body: 'oops' }, { status: 400, body: 'invalid_payload' });
    await exp.consume({ alerts: [makeNotification(['slack/oncall'])] });
    await waitFor(() => fs.existsSync(deadLetter), 8000, 'dead letter');
    const line = JSON.parse(fs.readFileSync(deadLetter, 'utf8').trim()) as { reason: string; attempts: number; exporter: string };
    expect(line.exporter).toBe('slack/oncall');
    expect(line.attempts).toBe(2);
    expect(line.reason).toContain('invalid_payload');
    expect(line.reason).not.toContain('XXXX');
    expect(slack.messages).toHaveLength(0);
  });

  it('rejects a bad template at config validation', () => {
    expect(() => configFor(slackExporterFactory, { webhook_url: 'https://hooks.slack.com/x', title: '{{ nope }}' })).toThrow(/title: bad template: unknown variable "nope"/);
    expect(() => configFor(slackExporterFactory, { webhook_url: 'https://hooks.slack.com/x', text: 'a {{ labels.x' })).toThrow(/text: bad template: unclosed/);
  });
});
