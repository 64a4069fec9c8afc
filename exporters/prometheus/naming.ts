/**
 * OpenTelemetry -> Prometheus names, as the OpenTelemetry specification's "Prometheus and OpenMetrics
 * Compatibility" says (https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/,
 * the form the Collector's `prometheus` exporter writes with suffixes on):
 * - metric names: every character outside `[a-zA-Z0-9_:]` becomes `_`, runs of `_` collapse to one, a leading
 *   digit gets a `_` prefix;
 * - the unit is added as a suffix unless the name already ends with it: annotations in braces are dropped
 *   (`{request}` adds nothing), UCUM units become Prometheus words (`ms` -> `milliseconds`, `By` -> `bytes`,
 *   `%` -> `percent`), `a/b` becomes `a_per_b` (`m/s` -> `meters_per_second`), an unknown unit is kept as
 *   it is (`USD`); a gauge of unit `1` gets `_ratio`;
 * - a monotonic sum (a counter) ends with `_total` (the unit goes before it: `llm_cost_USD_total`);
 * - label names: the same character rule; a leading digit gets `key_`, a leading `__` (reserved by
 *   Prometheus) gets `key`; attributes whose names collide once sanitised are joined, values in order of
 *   the original keys, with `;`; on histograms and summaries `le` and `quantile` become `exported_le` and
 *   `exported_quantile` (metric-store.ts labelsFor).
 */

/** What a stream is exposed as. */
export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary';

const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  B: 'bytes',
  KB: 'kilobytes',
  MB: 'megabytes',
  GB: 'gigabytes',
  TB: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

const PER_UNIT_WORDS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** `[a-zA-Z0-9_:]` only, runs of `_` collapsed, no leading digit. */
export function sanitizeMetricName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s || '_';
}

/** A label name Prometheus takes (see the module comment). */
export function sanitizeLabelName(key: string): string {
  let s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (s === '') return 'key_empty';
  if (/^[0-9]/.test(s)) s = `key_${s}`;
  else if (s.startsWith('__')) s = `key${s}`;
  return s;
}

/** The unit's suffix words (`ms` -> `milliseconds`, `m/s` -> `meters_per_second`, `{call}` -> ``). */
export function unitSuffix(unit: string, type: PromType): string {
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '') return '';
  if (u === '1') return type === 'gauge' ? 'ratio' : '';
  const slash = u.indexOf('/');
  if (slash >= 0) {
    const main = u.slice(0, slash);
    const per = u.slice(slash + 1);
    const a = main ? (UNIT_WORDS[main] ?? main) : '';
    const b = per ? (PER_UNIT_WORDS[per] ?? UNIT_WORDS[per] ?? per) : '';
    return sanitizeWords([a, b && `per_${b}`].filter(Boolean).join('_'));
  }
  return sanitizeWords(UNIT_WORDS[u] ?? u);
}

function sanitizeWords(s: string): string {
  return s.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_').replace(/^_+|_+$/g, '');
}

/**
 * The Prometheus names of an OTel metric: `family` as the OpenMetrics `# TYPE` line names it (without
 * `_total`) and `sample`, the base of the series names (with `_total` for counters). `unit` is the suffix
 * that `# UNIT` declares ('' when none).
 */
export function prometheusNames(name: string, unit: string, type: PromType, addSuffixes = true): { family: string; sample: string; unit: string } {
  let base = sanitizeMetricName(name);
  if (!addSuffixes) return { family: base, sample: base, unit: '' };
  if (type === 'counter' && base.endsWith('_total')) base = base.slice(0, -'_total'.length) || '_';
  const suffix = unitSuffix(unit, type);
  if (suffix && !base.endsWith(`_${suffix}`) && base !== suffix) base = `${base}_${suffix}`;
  return { family: base, sample: type === 'counter' ? `${base}_total` : base, unit: suffix };
}
