import type { ConfigIssue, Factory } from '../../src/component.ts';
import { httpUrlIssue } from '../../src/delivery/config.ts';
import { NotificationExporter } from '../../src/delivery/notification-exporter.ts';
import { templateIssue } from '../../src/delivery/template.ts';
import { type SlackConfig, SlackConfigSchema } from './config.ts';
import { SlackSender } from './slack-exporter.ts';

/** Slack allows one message a second per incoming webhook. */
export const SLACK_MIN_INTERVAL_MS = 1000;

/**
 * The factory of the `slack` exporter (alert groups as Slack incoming-webhook messages, at most one a second
 * per webhook); the config is refused when `webhook_url` is not http(s) or a template does not parse.
 */
export const slackExporterFactory: Factory<SlackConfig> = {
  type: 'slack',
  kind: 'exporter',
  schema: SlackConfigSchema,
  signals: ['alerts'],
  // its send_resolved is an Alertmanager integration's: the alerts processor reads it (src/component.ts)
  alertCapabilities: (config) => ({ sendsResolved: config.send_resolved }),
  example: { webhook_url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX' },
  validate(config) {
    const issues: ConfigIssue[] = [];
    const problem = httpUrlIssue(config.webhook_url);
    if (problem) issues.push({ path: ['webhook_url'], message: problem });
    for (const key of ['title', 'text'] as const) {
      const problem = templateIssue(config[key]);
      if (problem) issues.push({ path: [key], message: problem });
    }
    return issues;
  },
  create: (settings, config) =>
    new NotificationExporter(settings, config, new SlackSender(config, settings.id), {
      minSendIntervalMs: SLACK_MIN_INTERVAL_MS,
      rateLimitKey: `slack ${config.webhook_url}`,
    }),
};
