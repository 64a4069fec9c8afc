import type { Factory } from '../../src/component.ts';
import { httpUrlIssue } from '../../src/delivery/config.ts';
import { NotificationExporter } from '../../src/delivery/notification-exporter.ts';
import { type WebhookConfig, WebhookConfigSchema } from './config.ts';
import { WebhookSender } from './webhook-exporter.ts';

/**
 * The factory of the `webhook` exporter (Alertmanager-style webhook JSON POSTs); the config is refused when `url` is not http(s).
 */
export const webhookExporterFactory: Factory<WebhookConfig> = {
  type: 'webhook',
  kind: 'exporter',
  schema: WebhookConfigSchema,
  signals: ['alerts'],
  // its send_resolved is an Alertmanager integration's: the alerts processor reads it (src/component.ts)
  alertCapabilities: (config) => ({ sendsResolved: config.send_resolved }),
  example: { url: 'https://alerts.example.com/vigil' },
  validate(config) {
    const problem = httpUrlIssue(config.url);
    return problem ? [{ path: ['url'], message: problem }] : [];
  },
  create: (settings, config) => new NotificationExporter(settings, config, new WebhookSender(config, settings.id)),
};
