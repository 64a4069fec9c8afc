import type { Factory } from '../../src/component.ts';
import { SIGNALS } from '../../src/model.ts';
import { BatchProcessor } from './batch-processor.ts';
import { type BatchConfig, BatchConfigSchema } from './config.ts';

/** The factory of the `batch` processor, which groups items of every signal into larger batches. */
export const batchProcessorFactory: Factory<BatchConfig> = {
  type: 'batch',
  kind: 'processor',
  schema: BatchConfigSchema,
  signals: SIGNALS,
  capabilities: { holdsBatches: true },
  create: (settings, config) => new BatchProcessor(config, settings.logger, settings.telemetry),
};
