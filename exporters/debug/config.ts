import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';

/**
 * The schema of the debug exporter's config (TypeBox; defaults applied by Ajv): `verbosity` basic, normal
 * (default) or detailed, and the sampling of its lines, `sampling_initial` (default 2) and `sampling_thereafter`
 * (default 1: every line) — the Collector's debug exporter's settings, with its defaults for the sampling
 * (opentelemetry-collector exporter/debugexporter/README.md; zap's sampler, zapcore.NewSamplerWithOptions).
 */
export const DebugConfigSchema = Obj({
  verbosity: Type.Union([Type.Literal('basic'), Type.Literal('normal'), Type.Literal('detailed')], {
    default: 'normal',
    description: 'basic: one line per batch; normal: one line per item; detailed: every field of every item',
  }),
  sampling_initial: Type.Integer({
    minimum: 0,
    default: 2,
    description: 'lines of each kind printed every second before sampling starts',
  }),
  sampling_thereafter: Type.Integer({
    minimum: 0,
    default: 1,
    description: 'after sampling_initial lines of a kind in a second, every Nth is printed (1: every one; 0: none until the next second)',
  }),
});
/** The debug exporter's validated config, defaults applied. */
export type DebugConfig = Static<typeof DebugConfigSchema>;
