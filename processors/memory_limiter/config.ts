import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

/**
 * The schema of the memory_limiter processor's config (TypeBox; defaults applied by Ajv), after the
 * Collector's memorylimiter: `check_interval` (default 1s), `limit_mib` (MiB, default 1024) and
 * `spike_limit_mib` (MiB, default 20% of the limit).
 */
export const MemoryLimiterConfigSchema = Obj({
  check_interval: Duration('1s', 'how often memory use is measured'),
  limit_mib: Type.Integer({ minimum: 1, default: 1024, description: 'hard limit of the heap in use (MiB)' }),
  spike_limit_mib: Type.Optional(Type.Integer({ minimum: 0, description: 'headroom below the hard limit; default 20% of limit_mib' })),
});
/** The memory_limiter processor's validated config, defaults applied. */
export type MemoryLimiterConfig = Static<typeof MemoryLimiterConfigSchema>;
