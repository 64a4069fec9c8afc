import type { ConfigIssue, Factory } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { type PrometheusConfig, PrometheusConfigSchema } from './config.ts';
import { PrometheusExporter } from './prometheus-exporter.ts';

/**
 * The factory of the `prometheus` exporter (metrics and alerts as ALERTS series, scraped from its own endpoint);
 * the config is refused for a `metric_expiration` that is not positive or a quantile listed twice.
 */
export const prometheusExporterFactory: Factory<PrometheusConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  schema: PrometheusConfigSchema,
  signals: ['metrics', 'alerts'],
  example: { endpoint: '127.0.0.1:0' },
  endpoints: (config) => [config.endpoint],
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (!(parseDuration(config.metric_expiration) > 0)) issues.push({ path: ['metric_expiration'], message: 'must be more than 0' });
    if (new Set(config.summary_quantiles).size !== config.summary_quantiles.length) issues.push({ path: ['summary_quantiles'], message: 'has a quantile twice' });
    return issues;
  },
  create: (settings, config) => new PrometheusExporter(settings, config),
};
