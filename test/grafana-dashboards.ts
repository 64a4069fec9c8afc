/** Reading the shipped Grafana dashboards' queries, and the metric names a /metrics endpoint serves. */
import fs from 'node:fs';
import path from 'node:path';

export interface DashboardQuery {
  /** `file: panel title [refId]`. */
  where: string;
  expr: string;
}

interface PanelLike {
  title?: string;
  type: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: PanelLike[];
}

/** Every PromQL expression of every panel (and of query variables) in the dashboards in `dir`. */
export function dashboardQueries(dir: string): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { panels?: PanelLike[]; templating?: { list?: { type: string; name: string; query?: unknown }[] } };
    const walk = (panels: PanelLike[] = []) => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `${file}: ${p.title} [${t.refId}]`, expr: t.expr });
        walk(p.panels);
      }
    };
    walk(d.panels);
    for (const v of d.templating?.list ?? []) {
      const m = v.type === 'query' && typeof v.query === 'string' ? /^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(v.query) : null;
      if (m) out.push({ where: `${file}: variable ${v.name}`, expr: m[1]! });
    }
  }
  return out;
}

/** Grafana's variables replaced by values Prometheus takes as they are. */
export function substituteVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__range/g, '1h')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, '.+');
}

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2',
  'inf', 'nan', 'le',
]);

/** The metric names an expression reads (identifiers that are not functions, keywords, labels or durations). */
export function metricNamesIn(expr: string): string[] {
  let e = substituteVariables(expr);
  e = e.replace(/"(?:[^"\\]|\\.)*"/g, '""'); // strings
  e = e.replace(/\{[^}]*\}/g, ' '); // label matchers
  e = e.replace(/\[[^\]]*\]/g, ' '); // ranges
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping labels
  const names = new Set<string>();
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g;
  for (let m = re.exec(e); m; m = re.exec(e)) {
    if (m[2]) continue; // a function call
    const id = m[1]!;
    if (KEYWORDS.has(id.toLowerCase())) continue;
    const before = e.slice(0, m.index);
    if (/[0-9.]$/.test(before)) continue; // part of a number or duration such as 1e3 or 5m
    names.add(id);
  }
  return [...names];
}

/** The metric (series) names a Prometheus /metrics endpoint serves, with their `_bucket`, `_total`... forms. */
export async function servedMetricNames(url: string): Promise<Set<string>> {
  const text = await (await fetch(url, { headers: { accept: 'text/plain;version=0.0.4' } })).text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/**
 * vigil's own metric names that exist before anything is counted: the instruments created in the source
 * (a counter gets `_total`, a histogram `_bucket`, `_sum`, `_count`) and the per-component event counters
 * of src/telemetry.ts. A counter nobody has incremented yet is not on /metrics, so a live scrape alone
 * cannot list every name a dashboard may rightly read.
 */
export function declaredSelfMetricNames(root: string): Set<string> {
  const names = new Set<string>();
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'testdata') walk(p);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) files.push(p);
    }
  };
  for (const d of ['src', 'receivers', 'processors', 'exporters']) walk(path.join(root, d));
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/create(Counter|ObservableCounter|ObservableGauge|Gauge|Histogram|UpDownCounter|ObservableUpDownCounter)\(\s*'(vigil_[a-z0-9_]+)'/g)) {
      const [, kind, name] = m;
      if (kind === 'Counter' || kind === 'ObservableCounter') names.add(`${name}_total`);
      else if (kind === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      else names.add(name!);
    }
  }
  const telemetry = fs.readFileSync(path.join(root, 'src/telemetry.ts'), 'utf8');
  for (const m of telemetry.matchAll(/\{ name: '([a-z_]+)', help:/g)) for (const kind of ['receiver', 'processor', 'exporter']) names.add(`vigil_${kind}_${m[1]}_total`);
  return names;
}
