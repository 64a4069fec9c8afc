import type { Factory } from '../../src/component.ts';
import { type AlertsConfig, AlertsConfigSchema } from './config.ts';
import { AlertsProcessor } from './alerts-processor.ts';
import { compileConfig } from './rules.ts';

export const alertsProcessorFactory: Factory<AlertsConfig> = {
  type: 'alerts',
  kind: 'processor',
  schema: AlertsConfigSchema,
  signals: ['metrics'],
  capabilities: { derives: ['alerts'] },
  validate: (config) => compileConfig(config).issues,
  create: (settings, config) => {
    const compiled = compileConfig(config);
    if (compiled.issues.length) {
      throw new Error(`${settings.id}: invalid config: ${compiled.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const known = new Set(settings.service.componentIds.exporter);
    const unknown: string[] = [];
    config.routes.forEach((r, i) =>
      r.exporters.forEach((e, j) => {
        if (!known.has(e)) unknown.push(`routes.${i}.exporters.${j}: exporter "${e}" is not defined in exporters`);
      }),
    );
    if (unknown.length) throw new Error(`processor ${settings.id}: ${unknown.join('; ')}`);
    return new AlertsProcessor(settings, config, compiled);
  },
};
