import { type ConfigIssue, type Factory, stateDirFor } from '../../src/component.ts';
import { httpUrlIssue } from '../../src/delivery/config.ts';
import { NotificationExporter, previousSenderOf } from '../../src/delivery/notification-exporter.ts';
import { templateIssue } from '../../src/delivery/template.ts';
import { type OpsgenieConfig, OpsgenieConfigSchema } from './config.ts';
import { OpsgenieSender } from './opsgenie-exporter.ts';

const TEMPLATE_KEYS = ['message', 'description', 'priority', 'entity', 'source', 'note'] as const;

/**
 * The factory of the `opsgenie` exporter (alert groups as Opsgenie alerts, created and closed by alias); the
 * config is refused when `api_url` is not http(s) or a template does not parse.
 */
export const opsgenieExporterFactory: Factory<OpsgenieConfig> = {
  type: 'opsgenie',
  kind: 'exporter',
  schema: OpsgenieConfigSchema,
  signals: ['alerts'],
  // its send_resolved is an Alertmanager integration's: the alerts processor reads it (src/component.ts)
  alertCapabilities: (config) => ({ sendsResolved: config.send_resolved }),
  example: { api_url: 'http://127.0.0.1:9', api_key: '00000000-0000-0000-0000-000000000000' },
  validate(config) {
    const issues: ConfigIssue[] = [];
    const problem = httpUrlIssue(config.api_url);
    if (problem) issues.push({ path: ['api_url'], message: problem });
    for (const key of TEMPLATE_KEYS) {
      const p = templateIssue(config[key]);
      if (p) issues.push({ path: [key], message: p });
    }
    if (typeof config.tags === 'string') {
      const p = templateIssue(config.tags);
      if (p) issues.push({ path: ['tags'], message: p });
    } else {
      config.tags.forEach((t, i) => {
        const p = templateIssue(t);
        if (p) issues.push({ path: ['tags', i], message: p });
      });
    }
    for (const [k, v] of Object.entries(config.details)) {
      const p = templateIssue(v);
      if (p) issues.push({ path: ['details', k], message: p });
    }
    config.responders.forEach((r, i) => {
      if (!r.id && !r.name && !r.username) issues.push({ path: ['responders', i], message: 'needs one of id, name, username' });
      else if (r.type === 'teams' && !r.name) issues.push({ path: ['responders', i, 'name'], message: 'type teams needs name (a comma-separated list of team names)' });
      for (const f of ['id', 'name', 'username'] as const) {
        const p = templateIssue(r[f]);
        if (p) issues.push({ path: ['responders', i, f], message: p });
      }
    });
    return issues;
  },
  create: (settings, config) =>
    new NotificationExporter(
      settings,
      config,
      new OpsgenieSender(config, settings.id, stateDirFor(settings), settings.logger, {
        telemetry: settings.telemetry,
        previous: previousSenderOf(settings.previous),
      }),
    ),
};
