import { type ConfigIssue, stateDirFor, type Factory } from '../../src/component.ts';
import { deliveryOptions, httpUrlIssue } from '../../src/delivery/config.ts';
import { parseDuration } from '../../src/duration.ts';
import { NotificationExporter, previousSenderOf } from '../../src/delivery/notification-exporter.ts';
import { type AlertmanagerConfig, AlertmanagerConfigSchema } from './config.ts';
import { AlertmanagerSender } from './alertmanager-exporter.ts';

/**
 * The factory of the `alertmanager` exporter (alert notifications to Alertmanager's API v2); the config is
 * refused when `url` is not http(s) or `resend_delay` is not more than 0.
 */
export const alertmanagerExporterFactory: Factory<AlertmanagerConfig> = {
  type: 'alertmanager',
  kind: 'exporter',
  schema: AlertmanagerConfigSchema,
  signals: ['alerts'],
  example: { url: 'http://127.0.0.1:9093' },
  // it re-sends the firing alerts it was told of until told they resolved: it needs every resolve
  alertCapabilities: () => ({ keepsEveryResolve: true }),
  validate(config) {
    const issues: ConfigIssue[] = [];
    const problem = httpUrlIssue(config.url);
    if (problem) issues.push({ path: ['url'], message: problem });
    if (!(parseDuration(config.resend_delay) > 0)) issues.push({ path: ['resend_delay'], message: 'must be more than 0' });
    return issues;
  },
  create: (settings, config) =>
    new NotificationExporter(
      settings,
      config,
      new AlertmanagerSender(config, stateDirFor(settings), deliveryOptions(config).timeoutMs, settings.logger, settings.telemetry, previousSender(settings.previous)),
    ),
};

/** The sender of the alertmanager exporter a reload replaces, if that is what it replaces. */
function previousSender(previous: unknown): AlertmanagerSender | undefined {
  const sender = previousSenderOf(previous);
  return sender instanceof AlertmanagerSender ? sender : undefined;
}
