import type { Factory } from '../../src/component.ts';
import { SIGNALS } from '../../src/model.ts';
import { type DebugConfig, DebugConfigSchema } from './config.ts';
import { DebugExporter } from './debug-exporter.ts';

/** The factory of the `debug` exporter, which logs every signal it is given. */
export const debugExporterFactory: Factory<DebugConfig> = {
  type: 'debug',
  kind: 'exporter',
  schema: DebugConfigSchema,
  signals: SIGNALS,
  create: (settings, config) => new DebugExporter(config, settings.logger, settings.telemetry),
};
