/**
 * A rule as people read it on the status page (what an alert's generatorURL opens): a one-line,
 * PromQL-like description of its expression, e.g. `p95(span.duration{service.name="checkout"}[5m]) by
 * (service.name) > 2000`, with its severity, `for`, labels and annotation templates.
 */
import { parseDuration } from '../../src/duration.ts';
import type { RuleStatus } from '../../src/status.ts';
import type { RuleConfig } from './config.ts';

type Selection = { metric: string | string[]; where?: Record<string, unknown> };

function selector(sel: Selection, window: string): string {
  const names = Array.isArray(sel.metric) ? sel.metric : [sel.metric];
  const where = Object.entries(sel.where ?? {})
    .map(([k, v]) => {
      if (typeof v === 'object' && v !== null) return Object.entries(v as Record<string, unknown>).map(([op, x]) => `${k}${op}${JSON.stringify(String(x))}`).join(', ');
      return `${k}=${JSON.stringify(String(v))}`;
    })
    .join(', ');
  const one = (n: string) => `${n}${where ? `{${where}}` : ''}[${window}]`;
  return names.length === 1 ? one(names[0]!) : `(${names.map(one).join(' + ')})`;
}

/** The rule's description (without the live firing/pending counts). */
export function describeRule(r: RuleConfig): Omit<RuleStatus, 'firing' | 'pending'> {
  const stat = r.stat ?? (r.slo ? '' : 'last');
  const by = r.group_by.length ? ` by (${r.group_by.join(', ')})` : '';
  const cond = r.op !== undefined && r.threshold !== undefined ? ` ${r.op} ${r.threshold}` : '';
  let expr: string;
  if (r.slo) {
    const good = r.slo.good ? `good ${selector(r.slo.good, r.window)}` : `bad ${selector(r.slo.bad!, r.window)}`;
    expr = `slo(objective ${r.slo.objective}: ${good} / total ${selector(r.slo.total, r.window)})${by} burn rate${
      r.slo.windows ? ` over ${r.slo.windows.map((w) => `${w.long}&${w.short} at ${w.factor}x`).join(', ')}` : ' (1h&5m at 14.4x, 6h&30m at 6x, 3d&6h at 1x)'
    }`;
  } else if (r.ratio) {
    expr = `${stat}(${selector(r.ratio.numerator, r.window)}) / ${stat}(${selector(r.ratio.denominator, r.window)})${by}${cond}`;
  } else if (r.metric !== undefined && r.absent_for && r.op === undefined) {
    expr = `absent(${selector({ metric: r.metric, where: r.where }, r.absent_for)})${by}`;
  } else {
    expr = `${stat}(${selector({ metric: r.metric ?? '', where: r.where }, r.window)})${by}${cond}`;
  }
  if (r.absent_for && !expr.startsWith('absent')) expr += ` or absent for ${r.absent_for}`;
  return {
    name: r.name,
    expr,
    severity: r.severity,
    forMs: parseDuration(r.for),
    labels: { ...r.labels },
    annotations: { ...r.annotations },
  };
}
