import type { ConfigIssue, Factory } from '../../src/component.ts';
import { deliveryOptions } from '../../src/delivery/config.ts';
import { NotificationExporter } from '../../src/delivery/notification-exporter.ts';
import { templateIssue } from '../../src/delivery/template.ts';
import { type EmailConfig, EmailConfigSchema } from './config.ts';
import { EmailSender } from './email-exporter.ts';

/**
 * The factory of the `email` exporter (alert notifications by SMTP); the config is refused when the subject
 * template does not parse or a password is given without a user name.
 */
export const emailExporterFactory: Factory<EmailConfig> = {
  type: 'email',
  kind: 'exporter',
  schema: EmailConfigSchema,
  signals: ['alerts'],
  // its send_resolved is an Alertmanager integration's: the alerts processor reads it (src/component.ts)
  alertCapabilities: (config) => ({ sendsResolved: config.send_resolved }),
  example: { smtp: { host: 'smtp.example.com' }, from: 'vigil <vigil@example.com>', to: ['oncall@example.com'] },
  validate(config) {
    const issues: ConfigIssue[] = [];
    const problem = templateIssue(config.subject);
    if (problem) issues.push({ path: ['subject'], message: problem });
    if (config.smtp.password && !config.smtp.username) issues.push({ path: ['smtp', 'username'], message: 'smtp.password is set but smtp.username is empty' });
    return issues;
  },
  create: (settings, config) =>
    new NotificationExporter(settings, config, new EmailSender(config, settings.id, deliveryOptions(config).timeoutMs)),
};
