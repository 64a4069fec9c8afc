import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

export const BatchConfigSchema = Obj({
  send_batch_size: Type.Integer({ minimum: 1, default: 8192, description: 'items (spans, points, records, alerts) that trigger a send' }),
  timeout: Duration('200ms', 'longest time an item waits before the batch is sent'),
});
export type BatchConfig = Static<typeof BatchConfigSchema>;
