import type { ConfigIssue, Factory } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { type PercentilesConfig, PercentilesConfigSchema } from './config.ts';
import { PercentilesProcessor } from './percentiles-processor.ts';

/**
 * The factory of the `percentiles` processor (latency distributions per series and window); the config is
 * refused for a window that is not positive, a dimension listed twice or as `status.code`, or a metric or span
 * attribute listed twice (in one list or both).
 */
export const percentilesProcessorFactory: Factory<PercentilesConfig> = {
  type: 'percentiles',
  kind: 'processor',
  schema: PercentilesConfigSchema,
  signals: ['traces', 'metrics'],
  // span.duration, span.calls and *.distribution of each window
  capabilities: { derives: ['metrics'] },
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (!(parseDuration(config.window) > 0)) issues.push({ path: ['window'], message: 'must be greater than 0' });
    const seen = new Set<string>();
    config.dimensions.forEach((d, i) => {
      if (d === 'status.code') issues.push({ path: ['dimensions', i], message: 'status.code is always a dimension; do not list it' });
      else if (seen.has(d)) issues.push({ path: ['dimensions', i], message: `dimension "${d}" is listed twice` });
      seen.add(d);
    });
    // each name gives <name>.distribution and <name>.summary: a name listed twice (or in both lists) would emit them twice
    const named = new Map<string, string>();
    for (const [key, list] of [['metrics', config.metrics], ['span_attributes', config.span_attributes]] as const) {
      for (let i = 0; i < list.length; i++) {
        if (list[i] === 'span.duration' || list[i] === 'span.calls')
          issues.push({ path: [key, i], message: `"${list[i]}" would clash with the processor's own metric names` });
        else if (named.has(list[i]!))
          issues.push({ path: [key, i], message: `"${list[i]}" is already listed in ${named.get(list[i]!)} (it would emit ${list[i]}.distribution twice)` });
        else named.set(list[i]!, key);
      }
    }
    return issues;
  },
  create: (settings, config) => new PercentilesProcessor(config, settings),
};
