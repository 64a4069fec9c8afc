/**
 * `vigil status` output: the overview (src/api/overview.ts) as aligned text for a terminal, or as Markdown
 * to paste into an incident channel or a weekly review. Both show health, throughput, p50/p95/p99 and error
 * rate per service and model, spend against budget with the projection, cost per model, the alerts and the
 * active silences.
 */
import type { Overview } from './overview.ts';

const ms = (v: number | null): string => (v === null ? '-' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const pct = (v: number): string => `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
const usd = (v: number): string => `$${v < 1 ? v.toFixed(4) : v.toFixed(2)}`;
const labelText = (l: Record<string, string>, skip: string[] = []): string =>
  Object.entries(l)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function age(fromIso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

interface Table {
  title: string;
  head: string[];
  rows: string[][];
  empty: string;
}

/** The counters each kind of component keeps (telemetry.ts CountEvent); the others show '-', not a 0 it never counts. */
const COUNTED: Record<string, readonly string[]> = {
  receiver: ['accepted', 'refused'],
  processor: ['refused', 'dropped'],
  exporter: ['sent', 'failed'],
};

function tables(o: Overview): Table[] {
  const now = Date.parse(o.generatedAt);
  const minutes = Math.round(o.latency.summaryWindowMs / 60000);
  const out: Table[] = [];
  out.push({
    title: 'Components',
    head: ['component', 'health', 'accepted', 'refused', 'dropped', 'sent', 'failed', 'queue'],
    rows: o.components.map((c) => [
      `${c.kind}/${c.id}`,
      c.healthy ? 'ok' : `FAILED: ${c.reason ?? ''}`,
      ...(['accepted', 'refused', 'dropped', 'sent', 'failed'] as const).map((k) => (COUNTED[c.kind]?.includes(k) ? String(c[k]) : '-')),
      c.queue ? `${c.queue.size}${c.queue.capacity !== undefined ? `/${c.queue.capacity}` : ''}` : '',
    ]),
    empty: 'no components',
  });
  out.push({
    title: `Latency and errors (last ${minutes || '-'} min)`,
    head: ['by', 'name', 'p50', 'p95', 'p99', 'calls', 'error rate'],
    rows: o.latency.series.map((s) => [s.by, s.name || '(none)', ms(s.p50), ms(s.p95), ms(s.p99), String(s.calls), pct(s.errorRate)]),
    empty: 'no latency data yet (a percentiles processor reports it once a window closes)',
  });
  out.push({
    title: 'Spend against budget',
    head: ['budget', 'period', 'spent', 'limit', 'used', 'projected'],
    rows: o.cost.budgets.map((b) => [
      `${b.name}${Object.keys(b.group).length ? ` {${labelText(b.group)}}` : ''}`,
      b.periodLabel,
      usd(b.spentUsd),
      usd(b.limitUsd),
      pct(b.utilization),
      `${usd(b.projectedUsd)}${b.projectedUsd > b.limitUsd ? ' (over)' : ''}`,
    ]),
    empty: 'no budgets configured',
  });
  out.push({
    title: 'Cost per model',
    head: ['model', 'today', 'this month', 'input tokens', 'output tokens'],
    rows: o.cost.models.map((m) => [`${m.model}${m.unpriced ? ' (unpriced)' : ''}`, usd(m.todayUsd), usd(m.monthUsd), String(m.inputTokens), String(m.outputTokens)]),
    empty: 'no LLM calls seen',
  });
  out.push({
    title: 'Alerts',
    head: ['alert', 'state', 'labels', 'age', 'summary'],
    rows: o.alerts.list.map((a) => [
      a.labels.alertname ?? a.rule,
      a.state === 'pending' ? 'pending' : a.silencedBy.length ? 'silenced' : a.inhibitedBy.length ? 'inhibited' : 'firing',
      labelText(a.labels, ['alertname']),
      age(a.startsAt, now),
      a.annotations.summary ?? a.annotations.description ?? '',
    ]).concat(o.alerts.unlisted ? [[`and ${o.alerts.unlisted} more`, '', '', '', '(vigil alerts lists them all)']] : []),
    empty: 'no alerts firing or pending',
  });
  out.push({
    title: 'Silences',
    head: ['id', 'state', 'matchers', 'ends', 'by', 'comment'],
    rows: o.silences
      .filter((s) => s.status.state !== 'expired')
      .map((s) => [s.id, s.status.state, s.matchers.map((m) => `${m.name}${m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!='}${JSON.stringify(m.value)}`).join(' '), s.endsAt, s.createdBy, s.comment]),
    empty: 'no active or pending silences',
  });
  return out;
}

/**
 * A pipeline as data flows through it: its receivers side by side, the processors in order, its exporters
 * side by side (`otlp, http_json -> memory_limiter -> cost -> debug, prometheus`); receivers and exporters
 * are fan-in and fan-out, not steps of a chain.
 */
export function pipelineChain(p: { receivers: readonly string[]; processors: readonly string[]; exporters: readonly string[] }): string {
  return [p.receivers.join(', '), ...p.processors, p.exporters.join(', ')].filter((s) => s !== '').join(' -> ');
}

function header(o: Overview): string[] {
  const firing = `${o.alerts.firing} firing, ${o.alerts.suppressed} silenced or inhibited, ${o.alerts.pending} pending`;
  return [
    `vigil ${o.version}: ${o.ready ? 'ready' : `NOT READY (${o.notReadyReason ?? ''})`}; up since ${o.startedAt}; at ${o.generatedAt}`,
    `alerts: ${firing}`,
    `pipelines: ${o.pipelines.map((p) => `${p.name} [${pipelineChain(p)}]`).join('; ')}`,
  ];
}

/** Plain text with aligned columns. */
export function formatOverviewText(o: Overview): string {
  const lines = header(o);
  for (const t of tables(o)) {
    lines.push('', `${t.title}:`);
    if (!t.rows.length) {
      lines.push(`  ${t.empty}`);
      continue;
    }
    const widths = t.head.map((h, i) => Math.min(60, Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length))));
    const fmt = (r: string[]) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.slice(0, 60).padEnd(widths[i]!))).join('  ')}`.trimEnd();
    lines.push(fmt(t.head));
    for (const r of t.rows) lines.push(fmt(r));
  }
  return `${lines.join('\n')}\n`;
}

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** GitHub-flavoured Markdown: a heading, the summary, one table per section. */
export function formatOverviewMarkdown(o: Overview): string {
  const [first, ...rest] = header(o);
  const lines = [`## ${mdCell(first!)}`, '', ...rest.map((l) => `- ${mdCell(l)}`)];
  for (const t of tables(o)) {
    lines.push('', `### ${t.title}`, '');
    if (!t.rows.length) {
      lines.push(`_${t.empty}_`);
      continue;
    }
    lines.push(`| ${t.head.map(mdCell).join(' | ')} |`, `|${t.head.map(() => ' --- |').join('')}`);
    for (const r of t.rows) lines.push(`| ${r.map(mdCell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
