import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';

/**
 * The schema of the debug exporter's config (TypeBox; defaults applied by Ajv): `verbosity` basic, normal
 * (default) or detailed (the Collector's debug exporter's levels).
 */
export const DebugConfigSchema = Obj({
  verbosity: Type.Union([Type.Literal('basic'), Type.Literal('normal'), Type.Literal('detailed')], {
    default: 'normal',
    description: 'basic: one line per batch; normal: one line per item; detailed: every field of every item',
  }),
});
/** The debug exporter's validated config, defaults applied. */
export type DebugConfig = Static<typeof DebugConfigSchema>;
