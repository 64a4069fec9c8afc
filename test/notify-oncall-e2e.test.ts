/**
 * End to end through an in-process Service, routed as the README shows ("critical to PagerDuty, warnings to
 * Slack"): the OpenTelemetry JS SDK sends slow spans over OTLP/HTTP; a critical p95 rule fires and reaches
 * PagerDuty (a local Events API v2 server) and Slack at once; a warning rule reaches Slack only; the spans
 * get fast again and the critical alert resolves in both, closing the PagerDuty incident its trigger opened.
 */
import fs from 'node:fs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { PagerDutyServer } from './doubles/pagerduty-server.ts';
import { SlackServer } from './doubles/slack-server.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('on-call end to end', () => {
  it('a critical rule fires and resolves through one route to pagerduty and slack at once; a warning goes to slack only', async () => {
    const pd = await new PagerDutyServer().start();
    const slack = await new SlackServer().start();
    cleanup.push(() => pd.close(), () => slack.close());
    const dir = tempDir('vigil-oncall-e2e-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const httpPort = await freePort();
    const rule = (name: string, threshold: number, severity: string) => `
      - name: ${name}
        metric: span.duration
        stat: p95
        group_by: [service.name]
        window: 3s
        op: ">"
        threshold: ${threshold}
        severity: ${severity}
        annotations:
          summary: "p95 of {{ labels.service.name }} is {{ value | printf \\"%.0f\\" }} ms"`;
    const service = await startService(
      dir,
      `receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  percentiles: {window: 1s, late_windows: 0}
  alerts:
    interval: 500ms
    external_url: http://vigil.test:8888
    rules:${rule('CheckoutSlow', 1000, 'critical')}${rule('CheckoutSluggish', 800, 'warning')}
    routes:
      - match: {severity: critical}
        exporters: [pagerduty/oncall, slack/oncall]
        group_by: [alertname, service.name]
        group_wait: 0s
      - match: {severity: warning}
        exporters: [slack/oncall]
        group_by: [alertname, service.name]
        group_wait: 0s
exporters:
  pagerduty/oncall:
    url: ${pd.url}/v2/enqueue
    routing_key: R0UT1NGKEY0000000000000000000000
    retry: {initial_interval: 50ms}
  slack/oncall:
    webhook_url: ${slack.url}/services/T0/B0/secret
    retry: {initial_interval: 50ms}
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [otlp]
      processors: [percentiles, alerts]
      exporters: [pagerduty/oncall, slack/oncall]
`,
    );
    cleanup.push(() => service.shutdown());

    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` }))],
    });
    cleanup.push(() => provider.shutdown());
    const tracer = provider.getTracer('oncall-e2e');
    const sendSpans = async (durationMs: number) => {
      const end = Date.now();
      for (let i = 0; i < 5; i++) tracer.startSpan('POST /pay', { startTime: end - durationMs }).end(end);
      await provider.forceFlush();
    };
    const slackHas = (text: string) => slack.messages.some((m) => m.text?.includes(text));

    await waitFor(
      async () => {
        await sendSpans(1500);
        return pd.events.length > 0 && slackHas('[FIRING:1] CheckoutSlow') && slackHas('[FIRING:1] CheckoutSluggish');
      },
      30_000,
      'the critical alert at PagerDuty and Slack, the warning at Slack',
    );
    const trigger = pd.events[0]!;
    expect(trigger.event_action).toBe('trigger');
    expect(trigger.payload).toMatchObject({ summary: '[FIRING:1] CheckoutSlow checkout (critical)', severity: 'critical', source: 'checkout', class: 'CheckoutSlow' });
    expect(trigger.links?.[0]?.href).toMatch(/^http:\/\/vigil\.test:8888\//);
    expect(pd.events.every((e) => e.payload?.class !== 'CheckoutSluggish')).toBe(true);

    await waitFor(
      async () => {
        await sendSpans(20);
        return pd.events.some((e) => e.event_action === 'resolve') && slackHas('[RESOLVED] CheckoutSlow');
      },
      30_000,
      'the resolve at PagerDuty and Slack',
    );
    const resolve = pd.events.find((e) => e.event_action === 'resolve')!;
    expect(resolve.dedup_key).toBe(trigger.dedup_key);
    expect(pd.incidents.get(trigger.dedup_key)).toBe('resolved');
    expect(pd.events.filter((e) => e.event_action === 'trigger')).toHaveLength(1);
    expect(slack.violations).toEqual([]);
  }, 90_000);
});
