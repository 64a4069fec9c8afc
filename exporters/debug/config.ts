import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';

export const DebugConfigSchema = Obj({
  verbosity: Type.Union([Type.Literal('basic'), Type.Literal('normal'), Type.Literal('detailed')], {
    default: 'normal',
    description: 'basic: one line per batch; normal: one line per item; detailed: every field of every item',
  }),
});
export type DebugConfig = Static<typeof DebugConfigSchema>;
