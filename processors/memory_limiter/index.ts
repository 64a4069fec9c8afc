import type { Factory } from '../../src/component.ts';
import { SIGNALS } from '../../src/model.ts';
import { type MemoryLimiterConfig, MemoryLimiterConfigSchema } from './config.ts';
import { MemoryLimiter } from './memory-limiter.ts';

/**
 * The factory of the `memory_limiter` processor; the config is refused when `spike_limit_mib` is not below `limit_mib`.
 */
export const memoryLimiterProcessorFactory: Factory<MemoryLimiterConfig> = {
  type: 'memory_limiter',
  kind: 'processor',
  schema: MemoryLimiterConfigSchema,
  signals: SIGNALS,
  validate: (c) =>
    c.spike_limit_mib !== undefined && c.spike_limit_mib >= c.limit_mib
      ? [{ path: ['spike_limit_mib'], message: `must be below limit_mib (${c.limit_mib})` }]
      : [],
  create: (settings, config) => new MemoryLimiter(config, settings.logger, settings.telemetry),
};
