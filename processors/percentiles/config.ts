import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

/**
 * The schema of the percentiles processor's config (TypeBox; defaults applied by Ajv): `window` (default 10s),
 * quantiles in (0, 1), relative accuracy (default 0.01), dimensions, metrics to aggregate, `max_series` per
 * window and `late_windows`.
 */
export const PercentilesConfigSchema = Obj({
  window: Duration('10s', 'aggregation step; windows are aligned to wall-clock multiples of it'),
  quantiles: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), {
    default: [0.5, 0.9, 0.95, 0.99],
    description: 'quantiles of the emitted summaries (0 = min and 1 = max are always added)',
  }),
  relative_accuracy: Type.Number({
    minimum: 0.0001,
    maximum: 0.5,
    default: 0.01,
    description: 'relative error bound of every quantile (sets the exponential histogram scale)',
  }),
  dimensions: Type.Array(Type.String({ minLength: 1 }), {
    default: ['service.name', 'span.name'],
    description: 'attributes that define a series (span, then resource); status.code is always added',
  }),
  metrics: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'received metrics to summarise' }),
  span_attributes: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'numeric span attributes to summarise' }),
  max_series: Type.Integer({ minimum: 1, default: 10000, description: 'series per window before new ones fold into the overflow series' }),
  late_windows: Type.Integer({ minimum: 0, maximum: 60, default: 1, description: 'previous windows held open for late data' }),
});
/** The percentiles processor's validated config, defaults applied. */
export type PercentilesConfig = Static<typeof PercentilesConfigSchema>;
