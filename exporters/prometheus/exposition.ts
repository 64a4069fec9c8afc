/**
 * Writes the store in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.0, and picks one from the
 * scraper's `Accept` header (content negotiation as Prometheus and the Collector do it: OpenMetrics when
 * the scraper asks for `application/openmetrics-text` at least as much as for anything else).
 * Differences between the two: OpenMetrics names a counter's family without `_total` and adds
 * `_created` to counters, histograms and summaries (not gauges), declares `# UNIT`, calls `target_info` an
 * `info` family, and ends with `# EOF`.
 */
import { type ActiveAlert, type Family, formatValue, type MetricStore, renderLabels } from './metric-store.ts';

/** The two exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.0. */
export type Format = 'text' | 'openmetrics';

/** The Content-Type of each {@link Format}, as Prometheus and the OpenMetrics spec name them. */
export const CONTENT_TYPES: Record<Format, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** The format an `Accept` header asks for (highest q; OpenMetrics wins a tie). */
export function negotiate(accept: string | undefined): Format {
  if (!accept) return 'text';
  let om = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q' && v !== undefined) q = Number(v);
    }
    if (!Number.isFinite(q)) continue;
    const t = type!.trim().toLowerCase();
    if (t === 'application/openmetrics-text') om = Math.max(om, q);
    else if (t === 'text/plain' || t === '*/*' || t === 'text/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'text';
}

/**
 * Whether an `Accept-Encoding` header accepts gzip (RFC 9110 12.5.3): `gzip` or `*` with a q above 0; `gzip;q=0`
 * refuses it, as does an explicit `gzip` of q 0 beside a `*` that would allow it.
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  let gzip: number | undefined;
  let star: number | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k?.toLowerCase() === 'q' && v !== undefined) q = Number(v);
    }
    if (!Number.isFinite(q)) continue;
    const c = coding!.trim().toLowerCase();
    if (c === 'gzip' || c === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (c === '*') star = Math.max(star ?? 0, q);
  }
  return (gzip ?? star ?? 0) > 0;
}

const escapeHelp = (s: string, om: boolean) => {
  let out = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  if (om) out = out.replace(/"/g, '\\"');
  return out;
};

function header(out: string[], name: string, type: string, help: string, unit: string, om: boolean): void {
  if (help) out.push(`# HELP ${name} ${escapeHelp(help, om)}\n`);
  out.push(`# TYPE ${name} ${type}\n`);
  if (om && unit && name.endsWith(`_${unit}`)) out.push(`# UNIT ${name} ${unit}\n`);
}

function writeFamily(out: string[], store: MetricStore, f: Family, om: boolean): void {
  if (!f.streams.size) return;
  header(out, om ? f.family : f.sample, f.type, f.help, f.unit, om);
  for (const s of f.streams.values()) {
    out.push(store.sampleLines(f, s));
    if (om && f.type !== 'gauge') {
      // OpenMetrics has `_created` for counters, histograms and summaries only (a gauge's would be a series of its own)
      const l = s.labels ? `{${s.labels}}` : '';
      out.push(`${f.family}_created${l} ${formatValue(store.createdSeconds(s))}\n`);
    }
  }
}

/**
 * The whole exposition. `alerts` (the alerts processors' live state, pending ones included) replaces the
 * alerts the store knows from notifications when given.
 */
export function render(store: MetricStore, format: Format, alerts?: Iterable<ActiveAlert>): string {
  const om = format === 'openmetrics';
  const out: string[] = [];
  if (store.targets.size) {
    if (om) out.push('# TYPE target info\n# HELP target Target metadata\n');
    else out.push('# HELP target_info Target metadata\n# TYPE target_info gauge\n');
    for (const t of store.targets.values()) out.push(`target_info{${t.labels}} 1\n`);
  }
  for (const f of store.families.values()) writeFamily(out, store, f, om);
  const source = alerts ?? store.alerts.values();
  const firing: string[] = [];
  const forState: string[] = [];
  {
    for (const a of source) {
      const labels = new Map<string, string>();
      for (const [k, v] of Object.entries(a.labels)) {
        const name = k === 'alertstate' ? 'alertstate' : sanitize(k);
        labels.set(name, labels.has(name) ? `${labels.get(name)};${v}` : v);
      }
      // ALERTS_FOR_STATE has the alert's labels and no alertstate (Prometheus's rule manager)
      labels.delete('alertstate');
      forState.push(`ALERTS_FOR_STATE{${renderLabels(labels)}} ${formatValue(a.activeAt)}\n`);
      labels.set('alertstate', a.state ?? 'firing');
      firing.push(`ALERTS{${renderLabels(labels)}} 1\n`);
    }
  }
  if (firing.length) {
    header(out, 'ALERTS', 'gauge', 'Pending and firing alerts of the alerts processor (as Prometheus exposes its alerting rules)', '', om);
    out.push(...firing);
    header(out, 'ALERTS_FOR_STATE', 'gauge', 'When each pending or firing alert became active (seconds since the epoch)', '', om);
    out.push(...forState);
  }
  if (om) out.push('# EOF\n');
  return out.join('');
}

import { sanitizeLabelName as sanitize } from './naming.ts';
