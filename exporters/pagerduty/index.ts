import { type ConfigIssue, type Factory, stateDirFor } from '../../src/component.ts';
import { httpUrlIssue } from '../../src/delivery/config.ts';
import { NotificationExporter, previousSenderOf } from '../../src/delivery/notification-exporter.ts';
import { templateIssue } from '../../src/delivery/template.ts';
import { type PagerDutyConfig, PagerDutyConfigSchema } from './config.ts';
import { PagerDutySender } from './pagerduty-exporter.ts';

const TEMPLATE_KEYS = ['summary', 'severity', 'source', 'component', 'group', 'class', 'client', 'client_url'] as const;

/**
 * The factory of the `pagerduty` exporter (alert groups as PagerDuty Events API v2 triggers and resolves); the
 * config is refused when `url` is not http(s) or a template does not parse.
 */
export const pagerdutyExporterFactory: Factory<PagerDutyConfig> = {
  type: 'pagerduty',
  kind: 'exporter',
  schema: PagerDutyConfigSchema,
  signals: ['alerts'],
  // its send_resolved is an Alertmanager integration's: the alerts processor reads it (src/component.ts)
  alertCapabilities: (config) => ({ sendsResolved: config.send_resolved }),
  example: { url: 'http://127.0.0.1:9/v2/enqueue', routing_key: 'R0UT1NGKEY0000000000000000000000' },
  validate(config) {
    const issues: ConfigIssue[] = [];
    const problem = httpUrlIssue(config.url);
    if (problem) issues.push({ path: ['url'], message: problem });
    for (const key of TEMPLATE_KEYS) {
      const p = templateIssue(config[key]);
      if (p) issues.push({ path: [key], message: p });
    }
    for (const [k, v] of Object.entries(config.details)) {
      const p = templateIssue(v);
      if (p) issues.push({ path: ['details', k], message: p });
    }
    config.links.forEach((l, i) => {
      for (const f of ['href', 'text'] as const) {
        const p = templateIssue(l[f]);
        if (p) issues.push({ path: ['links', i, f], message: p });
      }
    });
    config.images.forEach((img, i) => {
      for (const f of ['src', 'href', 'alt'] as const) {
        const p = templateIssue(img[f]);
        if (p) issues.push({ path: ['images', i, f], message: p });
      }
    });
    return issues;
  },
  create: (settings, config) =>
    new NotificationExporter(
      settings,
      config,
      new PagerDutySender(config, settings.id, stateDirFor(settings), settings.logger, {
        telemetry: settings.telemetry,
        previous: previousSenderOf(settings.previous),
      }),
    ),
};
