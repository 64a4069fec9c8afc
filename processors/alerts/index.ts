import type { Factory } from '../../src/component.ts';
import { type AlertsConfig, AlertsConfigSchema } from './config.ts';
import { AlertsProcessor } from './alerts-processor.ts';
import { compileConfig } from './rules.ts';
import { checkWiring } from './wiring.ts';

/**
 * The factory of the `alerts` processor (metric rules -> routed alert notifications); `validate` reports every
 * problem of the rules, routes, inhibitions and silences, and `create` throws when a config has any.
 */
export const alertsProcessorFactory: Factory<AlertsConfig> = {
  type: 'alerts',
  kind: 'processor',
  schema: AlertsConfigSchema,
  signals: ['metrics'],
  capabilities: { derives: ['alerts'] },
  validate: (config) => compileConfig(config).issues,
  // a rule, route, inhibition or silence the schema refuses does not hide the problems of the others
  independentItems: ['rules', 'routes', 'inhibit', 'silences'],
  checkWiring,
  create: (settings, config) => {
    const compiled = compileConfig(config);
    if (compiled.issues.length) {
      throw new Error(`${settings.id}: invalid config: ${compiled.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const service = settings.service;
    // the full check (with positions) ran in validate; this one guards programmatic configs
    const wiring = checkWiring(config, { id: settings.id, componentIds: service.componentIds, pipelines: service.pipelines, exporterCapabilities: service.exporterCapabilities ?? {} }, true);
    if (wiring.length) throw new Error(`processor ${settings.id}: ${wiring.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return new AlertsProcessor(settings, config, compiled);
  },
};
