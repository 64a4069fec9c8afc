/**
 * End to end: the OpenTelemetry SDK sends spans over OTLP/HTTP to `vigil run` started with the shipped
 * pipelines.yaml plus an overlay (short windows so the test is quick, and the slack, email and webhook
 * exporters routed); a latency rule and a budget rule fire; Slack, SMTP, the webhook receiver and the
 * alerts file all receive them; then the latency alert resolves everywhere.
 * (The budget alert cannot resolve within the test: spend only goes down when the day rolls over.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { metricsWhen, tempDir, waitFor } from './helpers/index.ts';
import { SlackServer } from './doubles/slack-server.ts';
import { SmtpTestServer } from './doubles/smtp-server.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import type { WebhookPayload } from '../src/delivery/webhook-payload.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('notifications end to end', () => {
  it('OTel SDK -> vigil (shipped pipeline) -> slack, email, webhook, file: fire, then resolve', async () => {
    const dir = tempDir('vigil-e2e-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const slack = await new SlackServer().start();
    const smtp = await new SmtpTestServer({ username: 'vigil', password: 'pw' }).start();
    const hook = await new WebhookReceiver('hook-secret').start();
    cleanup.push(() => slack.close(), () => smtp.close(), () => hook.close());

    const [httpPort, grpcPort, jsonPort, telPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const alertsFile = path.join(dir, 'alerts.jsonl');
    const overlay = writeConfig(path.join(dir, 'overlay.yaml'), {
      processors: {
        percentiles: { window: '1s' },
        cost: { interval: '1s' },
        alerts: {
          interval: '500ms',
          rules: [
            {
              name: 'HighP95Latency',
              metric: 'span.duration',
              stat: 'p95',
              group_by: ['service.name'],
              window: '3s',
              op: '>',
              threshold: 2000,
              severity: 'critical',
              annotations: { summary: 'p95 latency of {{ labels.service.name }} is {{ value }} ms' },
            },
            {
              name: 'DailyBudget80',
              metric: 'llm.budget.utilization',
              where: { budget: 'daily-total' },
              stat: 'last',
              window: '1m',
              op: '>=',
              threshold: 0.8,
              severity: 'warning',
              annotations: { summary: 'LLM spend today is at {{ value }} of the daily budget' },
            },
          ],
          route: {
            group_by: ['alertname', 'service.name'],
            group_wait: '0s',
            routes: [
              { exporters: ['file/alerts'], continue: true },
              { matchers: ['severity="critical"'], exporters: ['slack/oncall', 'email/oncall'], continue: true },
              { exporters: ['webhook/ops'] },
            ],
          },
        },
      },
      exporters: {
        'slack/oncall': { webhook_url: `${slack.url}/services/T0/B0/secret`, retry: { initial_interval: '100ms' } },
        'email/oncall': {
          smtp: { host: 'localhost', port: smtp.port, username: 'vigil', password: 'pw', ca_file: smtp.certFile },
          from: 'vigil@example.com',
          to: ['oncall@example.com'],
          retry: { initial_interval: '100ms' },
        },
        'webhook/ops': { url: `${hook.url}/alerts`, hmac_secret: 'hook-secret', retry: { initial_interval: '100ms' } },
      },
      service: {
        pipelines: {
          main: { receivers: ['otlp', 'http_json'], processors: ['memory_limiter', 'cost', 'percentiles', 'alerts'], exporters: ['file/alerts', 'file/telemetry', 'slack/oncall', 'email/oncall', 'webhook/ops'] },
        },
      },
    });
    const daemon: Daemon = await startDaemon([path.join(ROOT, 'pipelines.yaml'), overlay], telPort, {
      cwd: dir,
      env: {
        VIGIL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
        VIGIL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
        VIGIL_HTTP_JSON_ENDPOINT: `127.0.0.1:${jsonPort}`,
        VIGIL_TELEMETRY_ENDPOINT: `127.0.0.1:${telPort}`,
        VIGIL_STATE_DIR: path.join(dir, 'state'),
        VIGIL_ALERTS_FILE: alertsFile,
        VIGIL_DAILY_BUDGET_USD: '0.01',
      },
    });
    cleanup.push(() => daemon.stop('SIGKILL'));

    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }))],
    });
    cleanup.push(() => provider.shutdown());
    const tracer = provider.getTracer('e2e');
    const sendSpans = async (durationMs: number, n: number, tokens = 0) => {
      const now = Date.now();
      for (let i = 0; i < n; i++) {
        const span = tracer.startSpan('chat', {
          startTime: new Date(now - durationMs),
          attributes: tokens ? { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': tokens, 'gen_ai.usage.output_tokens': 100 } : {},
        });
        span.end(new Date(now));
      }
      await provider.forceFlush();
    };

    // A feeder sends a few spans every 250 ms: the rules need data in their window to fire and to resolve.
    let phase: 'slow' | 'fast' = 'slow';
    let feeding: Promise<void> = Promise.resolve();
    const feeder = setInterval(() => {
      // Slow, expensive calls: p95 > 2000 ms and more than 80% of a $0.01 budget; then fast, cheap ones.
      feeding = feeding.then(() => (phase === 'slow' ? sendSpans(3000, 5, 10_000) : sendSpans(50, 5)));
    }, 250);
    cleanup.push(() => clearInterval(feeder));
    const firing = () => {
      const got = {
        slack: slack.messages.some((m) => m.text?.includes('HighP95Latency') && m.text.includes('FIRING')),
        email: smtp.mails.length > 0,
        hookLatency: hook.payloads<WebhookPayload>().some((p) => p.status === 'firing' && p.groupLabels.alertname === 'HighP95Latency'),
        hookBudget: hook.payloads<WebhookPayload>().some((p) => p.status === 'firing' && p.groupLabels.alertname === 'DailyBudget80'),
        file: fs.existsSync(alertsFile) && fs.readFileSync(alertsFile, 'utf8').includes('DailyBudget80') && fs.readFileSync(alertsFile, 'utf8').includes('HighP95Latency'),
      };
      return Object.values(got).every(Boolean);
    };
    await waitFor(firing, 30_000, 'both alerts at every target');
    phase = 'fast';

    const latency = hook.payloads<WebhookPayload>().find((p) => p.groupLabels.alertname === 'HighP95Latency')!;
    expect(latency.receiver).toBe('webhook/ops');
    expect(latency.alerts[0]!.labels).toMatchObject({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' });
    expect(latency.alerts[0]!.value).toBeGreaterThan(2000);
    expect(hook.badSignatures).toHaveLength(0);
    const mail = await simpleParser(smtp.mails[0]!.raw);
    expect(mail.subject).toMatch(/^\[FIRING:1\] HighP95Latency checkout/);
    expect(mail.text).toContain('p95 latency of checkout');
    // The budget alert (warning) is not routed to Slack or email.
    expect(slack.messages.some((m) => m.text?.includes('DailyBudget80'))).toBe(false);
    const fileAlerts = fs
      .readFileSync(alertsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { alert: { labels: Record<string, string>; status: string; receiver: string } }).alert);
    expect(fileAlerts.every((a) => a.receiver === 'file/alerts')).toBe(true);

    // Fast calls only: p95 drops below the threshold once the slow ones leave the 3s window.
    const resolved = () => {
      const fileText = fs.readFileSync(alertsFile, 'utf8');
      return (
        slack.messages.some((m) => m.text?.includes('[RESOLVED] HighP95Latency')) &&
        smtp.mails.length >= 2 &&
        hook.payloads<WebhookPayload>().some((p) => p.status === 'resolved' && p.groupLabels.alertname === 'HighP95Latency') &&
        fileText.split('\n').some((l) => l.includes('"resolved"') && l.includes('HighP95Latency'))
      );
    };
    await waitFor(resolved, 30_000, 'the latency alert resolved at every target');
    clearInterval(feeder);
    await feeding;
    const resolvedMail = await simpleParser(smtp.mails.at(-1)!.raw);
    expect(resolvedMail.subject).toMatch(/^\[RESOLVED\] HighP95Latency checkout/);
    expect(slack.violations).toEqual([]);
    // The exporters' counters and queues are on /metrics (a queue lets a notification go when its target's answer
    // reaches it, which can be after the target has it).
    const ids = ['slack/oncall', 'email/oncall', 'webhook/ops'];
    const metrics = await metricsWhen(
      `${daemon.telemetryUrl}/metrics`,
      ids.map((id) => new RegExp(`vigil_exporter_queue_size\\{[^}]*exporter="${id}"[^}]*\\} 0`)),
    );
    for (const id of ids) {
      expect(metrics).toMatch(new RegExp(`vigil_exporter_sent_items_total\\{[^}]*exporter="${id}"[^}]*\\} [1-9]`));
      expect(metrics).toMatch(new RegExp(`vigil_exporter_queue_size\\{[^}]*exporter="${id}"[^}]*\\} 0`));
    }
    await daemon.stop('SIGTERM');
  }, 90_000); // its own waits (daemon start, firing, resolve) add up to more than the 30 s default
});
