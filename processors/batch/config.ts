import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

/**
 * The schema of the batch processor's config (TypeBox; defaults applied by Ajv), after the Collector's batch
 * processor: `send_batch_size` (items, default 8192) and `timeout` (default 200ms).
 */
export const BatchConfigSchema = Obj({
  send_batch_size: Type.Integer({ minimum: 1, default: 8192, description: 'items (spans, points, records, alerts) that trigger a send' }),
  timeout: Duration('200ms', 'longest time an item waits before the batch is sent'),
});
/** The batch processor's validated config, defaults applied. */
export type BatchConfig = Static<typeof BatchConfigSchema>;
