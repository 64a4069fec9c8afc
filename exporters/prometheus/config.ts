import { Type, type Static } from '@sinclair/typebox';
import { Duration, Endpoint, Obj } from '../../src/config/types.ts';

/**
 * The schema of the prometheus exporter's config (TypeBox; defaults applied by Ajv), after the Collector's
 * prometheus exporter: endpoint (default `localhost:9464`) and path, scrape bearer token, promoted resource
 * attributes, metric name suffixes (OTel's Prometheus compatibility spec), summary quantiles, classic bucket
 * scale and count, `max_series` (streams) and `metric_expiration` (default 5m).
 */
export const PrometheusConfigSchema = Obj({
  endpoint: Endpoint('localhost:9464'),
  path: Type.String({ pattern: '^/', default: '/metrics', description: 'HTTP path of the exposition' }),
  auth: Obj({
    bearer_token: Type.String({ default: '', description: 'when set, scrapes must send Authorization: Bearer <token> (Prometheus: authorization.credentials)' }),
  }),
  resource_attributes: Type.Array(Type.String(), {
    default: ['service.name'],
    description: 'resource attributes added as labels to every series of the resource (all of them are on target_info)',
  }),
  add_metric_suffixes: Type.Boolean({ default: true, description: 'unit and _total suffixes as the OTel compatibility spec says' }),
  summary_quantiles: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), {
    default: [0.5, 0.9, 0.95, 0.99],
    description: 'quantiles of the summary derived from each exponential histogram (its last window)',
  }),
  histogram_scale: Type.Integer({ minimum: -4, maximum: 8, default: 3, description: 'scale of the classic bucket bounds of exponential histograms: bounds are powers of 2^(2^-scale)' }),
  histogram_max_buckets: Type.Integer({ minimum: 4, maximum: 1000, default: 160, description: 'classic buckets per histogram at most (a wider range lowers the scale)' }),
  max_series: Type.Integer({ minimum: 1, default: 10_000, description: 'streams held at most (a histogram with its buckets is one); points of further new streams are dropped and counted' }),
  metric_expiration: Duration('5m', 'a stream not updated for this long is no longer exposed'),
});
/** The prometheus exporter's validated config, defaults applied. */
export type PrometheusConfig = Static<typeof PrometheusConfigSchema>;
