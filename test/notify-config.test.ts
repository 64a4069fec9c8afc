/**
 * Config validation of the notification exporters: every `exporters/<type>/testdata/valid.yaml` validates;
 * every `bad_*.yaml` fails with exactly the message its first line states (`# expect: path: message`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Factory } from '../src/component.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import { emailExporterFactory } from '../exporters/email/index.ts';
import { fileExporterFactory } from '../exporters/file/index.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { slackExporterFactory } from '../exporters/slack/index.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const factories = [alertmanagerExporterFactory, emailExporterFactory, fileExporterFactory, opsgenieExporterFactory, pagerdutyExporterFactory, slackExporterFactory, webhookExporterFactory] as Factory[];

const issues = (f: Factory, text: string) => validateComponentConfig(f, YAML.parse(text)).map((i) => `${i.path.join('.')}: ${i.message}`);

describe.each(factories.map((f) => [f.type, f] as const))('%s exporter config', (type, factory) => {
  const dir = path.join(ROOT, 'exporters', type, 'testdata');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('valid.yaml validates', () => {
    expect(issues(factory, fs.readFileSync(path.join(dir, 'valid.yaml'), 'utf8'))).toEqual([]);
  });

  it.each(files.filter((f) => f.startsWith('bad_')))('%s fails with the stated message', (file) => {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const expected = /^# expect: (.*)$/m.exec(text)?.[1];
    expect(expected, `${file} states its expected message`).toBeDefined();
    expect(issues(factory, text)).toEqual([expected]);
  });
});

describe('delivery defaults', () => {
  it('every notification exporter gets the same retry and queue defaults', () => {
    const c = { url: 'https://x.example/' };
    validateComponentConfig(webhookExporterFactory as Factory, c);
    expect(c).toMatchObject({
      timeout: '10s',
      shutdown_timeout: '5s',
      retry: { enabled: true, initial_interval: '1s', max_interval: '30s', max_elapsed_time: '1h', multiplier: 2, randomization_factor: 0.5 },
      sending_queue: { max_items: 10000, max_bytes: 67108864, num_consumers: 4 },
    });
  });
});

describe('notification templates', () => {
  it('render every variable, label names with dots, and literal braces', async () => {
    const { Template } = await import('../src/delivery/template.ts');
    const { makeAlert, makeNotification } = await import('./doubles/alerts.ts');
    const n = makeNotification(['slack/oncall'], {
      alerts: [
        makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' }),
        makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', pod: 'b' }, { status: 'resolved' }),
      ],
      commonAnnotations: { summary: 'slow' },
    });
    const t = Template.parse(
      '{{ STATUS }}/{{status}} {{ count }} {{ firing }}+{{ resolved }} {{ labels.service.name }} {{ groupLabels.alertname }} {{ commonLabels.missing }}|{{ annotations.summary }} {{ receiver }} {{{{ literal }}',
    );
    expect(t.render(n, 'slack/oncall')).toBe('FIRING/firing 2 1+1 checkout HighP95Latency |slow slack/oncall {{ literal }}');
    expect(Template.parse('{{ subject }}').render(n, 'x')).toBe('[FIRING:1] HighP95Latency checkout (critical)');
    expect(() => Template.parse('{{ labels. }}')).toThrow(/unknown variable "labels\."/);
  });
});

describe('the shipped on-call examples', () => {
  /** The file with its commented config lines (`# key: ...`, `#   - ...`) uncommented; prose comments stay. */
  const uncommented = (text: string) =>
    text
      .split('\n')
      .map((l) => {
        const m = /^(\s*)# ( *)(.*)$/.exec(l);
        if (!m || !/^(- |[\w./-]+:|#)/.test(m[3]!) || /^[A-Z]/.test(m[3]!)) return l;
        return m[1]! + m[2]! + m[3]!;
      })
      .join('\n');

  it('pipelines.yaml with its pagerduty, opsgenie and slack examples uncommented validates (critical to PagerDuty, warnings to Slack)', async () => {
    const { loadConfig, formatConfigError } = await import('../src/config/load.ts');
    const { default: os } = await import('node:os');
    const text = uncommented(fs.readFileSync(path.join(ROOT, 'pipelines.yaml'), 'utf8')).replace(
      'exporters: [debug, file/alerts, file/telemetry, prometheus]',
      'exporters: [debug, file/alerts, file/telemetry, prometheus, slack/oncall, email/oncall, pagerduty/oncall, opsgenie/oncall]',
    );
    const doc = YAML.parse(text) as { processors: { alerts: { route: { routes: { matchers?: string[]; exporters: string[] }[] } } }; exporters: Record<string, unknown> };
    expect(doc.exporters).toHaveProperty('pagerduty/oncall');
    expect(doc.exporters).toHaveProperty('opsgenie/oncall');
    const routes = doc.processors.alerts.route.routes;
    expect(routes.find((r) => r.matchers?.includes('severity="critical"'))?.exporters).toContain('pagerduty/oncall');
    expect(routes.find((r) => r.matchers?.includes('severity="warning"'))?.exporters).toEqual(['slack/oncall']);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-oncall-')), 'pipelines.yaml');
    fs.writeFileSync(file, text);
    const env = { PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY0000000000000000000000', OPSGENIE_API_KEY: 'k', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X', SMTP_HOST: 'localhost', SMTP_USERNAME: 'u', SMTP_PASSWORD: 'p' };
    const { components } = await import('../app/components.ts');
    const loaded = await loadConfig([file], components, env);
    expect(loaded.errors.map(formatConfigError)).toEqual([]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
