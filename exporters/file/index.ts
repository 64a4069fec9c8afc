import type { Factory } from '../../src/component.ts';
import { SIGNALS } from '../../src/model.ts';
import { type FileConfig, FileConfigSchema } from './config.ts';
import { FileExporter } from './file-exporter.ts';

/** The factory of the `file` exporter (JSON lines of any signal); it keeps the resolves of silenced alerts too. */
export const fileExporterFactory: Factory<FileConfig> = {
  type: 'file',
  kind: 'exporter',
  schema: FileConfigSchema,
  signals: SIGNALS,
  // a file is the record: it keeps the resolves of silenced alerts too
  alertCapabilities: (config) => ({ takesAlerts: config.signals.includes('alerts'), keepsSilencedResolves: true }),
  example: { path: './data/alerts.jsonl', signals: ['alerts'] },
  create: (settings, config) => new FileExporter(settings.id, config, settings.logger, settings.telemetry),
};
