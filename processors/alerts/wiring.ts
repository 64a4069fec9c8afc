/**
 * Which exporters can receive an alerts processor's notifications, and the `vigil validate` check that
 * every exporter a route or receiver names is one of them.
 *
 * An alerts processor emits the alerts it derives into the rest of every pipeline that lists it, whatever
 * the pipeline's name: an exporter receives its alerts when it is in such a pipeline and declares that it
 * takes alerts.
 */
import type { ConfigIssue, ExporterCapabilities, WiringContext } from '../../src/component.ts';
import type { AlertsConfig } from './config.ts';
import { compileRoutes, walkRoutes } from './routes.ts';

/** The exporters that receive this processor's alerts, in pipeline order. */
export function alertReceivers(
  processorId: string,
  pipelines: WiringContext['pipelines'],
  capabilities: Readonly<Record<string, ExporterCapabilities>> | undefined,
): string[] {
  const out = new Set<string>();
  for (const p of Object.values(pipelines)) {
    if (!p.processors.includes(processorId)) continue;
    for (const e of p.exporters) if (!capabilities || capabilities[e]?.takesAlerts !== false) out.add(e);
  }
  return [...out];
}

/** Why `exporter` cannot receive this processor's alerts, or undefined when it can. */
function whyNot(exporter: string, ctx: WiringContext, receivers: readonly string[]): string | undefined {
  if (!ctx.componentIds.exporter.includes(exporter)) return `exporter "${exporter}" is not defined in exporters`;
  if (receivers.includes(exporter)) return undefined;
  if (ctx.exporterCapabilities[exporter]?.takesAlerts === false) return `exporter "${exporter}" does not take alerts (its signals do not include alerts)`;
  const carrying = Object.entries(ctx.pipelines)
    .filter(([, p]) => p.processors.includes(ctx.id))
    .map(([n]) => n);
  return `exporter "${exporter}" never receives this processor's alerts: it is in no pipeline that lists ${ctx.id} (add it to the exporters of ${carrying.join(' or ')})`;
}

/**
 * The wiring check of `vigil validate`: every exporter named by a route or a receiver exists and receives
 * this processor's alerts (`onlyDefined`: only that it exists, as checked again at create).
 */
export function checkWiring(config: AlertsConfig, ctx: WiringContext, onlyDefined = false): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // a processor in no pipeline never runs: nothing to check
  if (!onlyDefined && !Object.values(ctx.pipelines).some((p) => p.processors.includes(ctx.id))) return issues;
  const root = compileRoutes(config, []);
  const receivers = alertReceivers(ctx.id, ctx.pipelines, ctx.exporterCapabilities);
  const seen = new Set<string>();
  const check = (list: readonly string[], path: (string | number)[]) => {
    const key = path.join('.');
    if (seen.has(key)) return;
    seen.add(key);
    list.forEach((e, i) => {
      const why = onlyDefined ? (ctx.componentIds.exporter.includes(e) ? undefined : `exporter "${e}" is not defined in exporters`) : whyNot(e, ctx, receivers);
      if (why) issues.push({ path: [...path, i], message: why });
    });
  };
  walkRoutes(root, (n) => {
    if (n.exporters !== 'default') check(n.exporters, n.exportersPath);
  });
  config.receivers.forEach((r, i) => check(r.exporters, ['receivers', i, 'exporters']));
  return issues;
}
