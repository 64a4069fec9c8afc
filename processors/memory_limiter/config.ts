import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

export const MemoryLimiterConfigSchema = Obj({
  check_interval: Duration('1s', 'how often memory use is measured'),
  limit_mib: Type.Integer({ minimum: 1, default: 1024, description: 'hard limit of the heap in use (MiB)' }),
  spike_limit_mib: Type.Optional(Type.Integer({ minimum: 0, description: 'headroom below the hard limit; default 20% of limit_mib' })),
});
export type MemoryLimiterConfig = Static<typeof MemoryLimiterConfigSchema>;
