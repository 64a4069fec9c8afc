/**
 * The route tree, as Alertmanager's dispatch/route.go builds and walks it, with receivers written as
 * exporter lists:
 * - a node matches a label set when all its matchers match (`matchers`, plus legacy `match` / `match_re`);
 * - matching starts at the root (which matches everything); the children of a matching node are tried in
 *   order, each recursively; a matching child stops the walk of its siblings unless it has
 *   `continue: true`; when no child matched, the node itself is the result (so a parent's exporters are
 *   used only when none of its children matched);
 * - `exporters` (or `receiver`), `group_by`, `group_wait`, `group_interval`, `repeat_interval` and
 *   `send_resolved` are inherited from the parent when a node does not set them (`group_by: []` counts as
 *   not set, as Alertmanager reads it); `mute_time_intervals` and `active_time_intervals` are not (as in
 *   Alertmanager), and the root route may not have them (as Alertmanager's config check);
 * - the root's defaults are Alertmanager's: no `group_by` (one group per route), `group_wait: 30s`,
 *   `group_interval: 5m`, `repeat_interval: 4h`; `send_resolved: true`; the root's exporters default to
 *   every exporter that receives this processor's alerts.
 * - A node's key is Alertmanager's `Route.Key()`: its parent's key, `/`, and its sorted matchers
 *   (`{}/{severity="critical"}`); a group's key is `<route key>:<group labels>`.
 *
 * The shorthand of earlier versions, `route_defaults:` + a flat `routes:` list, is read as a root with those
 * options and those children (`exporters: []` on the root when the list is not empty, so an alert that no
 * child matches goes nowhere, as before).
 */
import type { ConfigIssue } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { AlertsConfig, InhibitConfig, RouteNodeConfig } from './config.ts';
import { labelSetString } from '../../src/go-quote.ts';
import { type Matcher, compileMatchMaps, formatMatchers, matchAll, parseMatchers, sortMatchers } from '../../src/matchers.ts';

/** Where a node's exporters come from: a list, or "every exporter that receives this processor's alerts". */
export type ExporterList = readonly string[] | 'default';

/** One node of the compiled route tree (see this file's comment), with its inherited options resolved. */
export interface RouteNode {
  /** Alertmanager's Route.Idx: children are numbered before their parent, in walk order. */
  idx: number;
  parent: RouteNode | undefined;
  /** Config path of the node (`route`, `route.routes.0`, ...), for messages. */
  path: (string | number)[];
  matchers: Matcher[];
  key: string;
  exporters: ExporterList;
  /** The `receivers` name the exporters come from, when the node (or the ancestor it inherits from) names one. */
  receiver: string | undefined;
  /** The config path of the list the exporters come from (the node's own or an ancestor's). */
  exportersPath: (string | number)[];
  continue: boolean;
  /** `'all'` for `['...']`; `[]` puts every alert of the route into one group. */
  groupBy: readonly string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  sendResolved: boolean;
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
  routes: RouteNode[];
}

/**
 * A compiled inhibition rule: a firing alert matching `source` mutes the alerts matching `target` that have the
 * same values of the `equal` labels (Alertmanager's inhibit_rules).
 */
export interface CompiledInhibit {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

/** The root route's timing defaults, Alertmanager's: `group_wait` 30s, `group_interval` 5m, `repeat_interval` 4h. */
export const ROOT_DEFAULTS = { group_wait: '30s', group_interval: '5m', repeat_interval: '4h' } as const;

/** The root route the config describes (the tree, or the shorthand). */
export function rootRouteConfig(config: AlertsConfig): { node: RouteNodeConfig; path: (string | number)[] } {
  if (config.route) return { node: config.route, path: ['route'] };
  const routes = config.routes ?? [];
  return {
    node: {
      ...(config.route_defaults ?? {}),
      ...(routes.length ? { exporters: [] } : {}),
      routes: routes as RouteNodeConfig[],
    },
    path: [],
  };
}

/** Compiles the route tree; each problem is an issue with its config path. */
export function compileRoutes(config: AlertsConfig, issues: ConfigIssue[]): RouteNode {
  if (config.route && (config.routes !== undefined || config.route_defaults !== undefined)) {
    issues.push({ path: ['route'], message: 'give either route: (a route tree) or the shorthand routes: / route_defaults:, not both' });
  }
  const receivers = new Map<string, string[]>();
  config.receivers.forEach((r, i) => {
    if (receivers.has(r.name)) issues.push({ path: ['receivers', i, 'name'], message: `receiver "${r.name}" is defined twice` });
    receivers.set(r.name, r.exporters);
  });
  const intervals = new Set([...config.time_intervals, ...(config.mute_time_intervals ?? [])].map((t) => t.name));
  const { node, path } = rootRouteConfig(config);
  const counter = { n: 0 };
  const build = (cr: RouteNodeConfig, p: (string | number)[], parent: RouteNode | undefined): RouteNode => {
    // the shorthand's root (path []) is route_defaults, except its routes (the top-level routes: list)
    const at = (k: string | number, ...more: (string | number)[]) => (p.length ? [...p, k, ...more] : k === 'routes' ? [k, ...more] : ['route_defaults', k, ...more]);
    const dur = (k: 'group_wait' | 'group_interval' | 'repeat_interval', inherited: number): number => {
      const v = cr[k];
      if (v === undefined) return inherited;
      const ms = parseDuration(v);
      if (k !== 'group_wait' && !(ms > 0)) issues.push({ path: at(k), message: `${k} must be above 0` });
      return ms;
    };
    let exporters: ExporterList = parent?.exporters ?? 'default';
    let exportersPath = parent?.exportersPath ?? at('exporters');
    let receiver = parent?.receiver;
    if (cr.exporters !== undefined && cr.receiver !== undefined) issues.push({ path: at('receiver'), message: 'give exporters or receiver, not both' });
    if (cr.exporters !== undefined) {
      exporters = cr.exporters;
      exportersPath = at('exporters');
      receiver = undefined;
    } else if (cr.receiver !== undefined) {
      const r = receivers.get(cr.receiver);
      if (!r) issues.push({ path: at('receiver'), message: `receiver "${cr.receiver}" is not defined in receivers (${[...receivers.keys()].join(', ') || 'none defined'})` });
      else {
        exporters = r;
        receiver = cr.receiver;
        exportersPath = ['receivers', config.receivers.findIndex((x) => x.name === cr.receiver), 'exporters'];
      }
    }
    const matchers: Matcher[] = [];
    (cr.matchers ?? []).forEach((text, i) => {
      try {
        matchers.push(...parseMatchers(text));
      } catch (e) {
        issues.push({ path: at('matchers', i), message: (e as Error).message });
      }
    });
    for (const [k, v] of Object.entries(cr.match ?? {})) matchers.push(...compileMatchMaps({ [k]: v }, {}));
    for (const [k, v] of Object.entries(cr.match_re ?? {})) {
      try {
        matchers.push(...compileMatchMaps({}, { [k]: v }));
      } catch (e) {
        issues.push({ path: at('match_re', k), message: (e as Error).message });
      }
    }
    sortMatchers(matchers);
    for (const key of ['mute_time_intervals', 'active_time_intervals'] as const)
      (cr[key] ?? []).forEach((name, i) => {
        if (!intervals.has(name)) issues.push({ path: at(key, i), message: `time interval "${name}" is not defined in time_intervals` });
      });
    // as Alertmanager (config.Route reads `group_by: []` as no group_by at all): an empty list is inherited
    const groupBy = cr.group_by === undefined || cr.group_by.length === 0 ? (parent?.groupBy ?? []) : cr.group_by.includes('...') ? 'all' : [...new Set(cr.group_by)];
    if (cr.group_by?.includes('...') && cr.group_by.length > 1) issues.push({ path: at('group_by'), message: "'...' groups by every label: it cannot be combined with other labels" });
    // as Alertmanager's config.Route UnmarshalYAML: `duplicated label "a" in group_by`
    cr.group_by?.forEach((l, i) => {
      if (l !== '...' && cr.group_by!.indexOf(l) < i) issues.push({ path: at('group_by', i), message: `duplicated label ${JSON.stringify(l)} in group_by (also at index ${cr.group_by!.indexOf(l)})` });
    });
    const self: RouteNode = {
      idx: -1,
      parent,
      path: p.length ? p : ['route'],
      matchers,
      key: `${parent ? `${parent.key}/` : ''}${formatMatchers(matchers)}`,
      exporters,
      receiver,
      exportersPath,
      continue: cr.continue ?? false,
      groupBy,
      groupWaitMs: dur('group_wait', parent?.groupWaitMs ?? parseDuration(ROOT_DEFAULTS.group_wait)),
      groupIntervalMs: dur('group_interval', parent?.groupIntervalMs ?? parseDuration(ROOT_DEFAULTS.group_interval)),
      repeatIntervalMs: dur('repeat_interval', parent?.repeatIntervalMs ?? parseDuration(ROOT_DEFAULTS.repeat_interval)),
      sendResolved: cr.send_resolved ?? parent?.sendResolved ?? true,
      muteTimeIntervals: cr.mute_time_intervals ?? [],
      activeTimeIntervals: cr.active_time_intervals ?? [],
      routes: [],
    };
    self.routes = (cr.routes ?? []).map((c, i) => build(c, at('routes', i), self));
    self.idx = counter.n++;
    return self;
  };
  const root = build(node, path, undefined);
  if (root.matchers.length) issues.push({ path: [...(path.length ? path : ['route']), 'matchers'], message: 'the root route matches every alert: it takes no matchers' });
  if (root.continue) issues.push({ path: [...(path.length ? path : ['route']), 'continue'], message: 'the root route cannot have continue' });
  // as Alertmanager's config check: `root route must not have any mute time intervals` (and active ones)
  for (const [key, what] of [['mute_time_intervals', 'mute'], ['active_time_intervals', 'active']] as const)
    if (node[key]?.length) issues.push({ path: [...(path.length ? path : ['route']), key], message: `the root route must not have any ${what} time intervals (put them on a child route)` });
  return root;
}

/** The nodes a label set is routed to (Alertmanager's Route.Match), in tree order. */
export function matchRoute(node: RouteNode, labels: Readonly<Record<string, string>>): RouteNode[] {
  if (!matchAll(node.matchers, labels)) return [];
  const all: RouteNode[] = [];
  for (const child of node.routes) {
    const m = matchRoute(child, labels);
    all.push(...m);
    if (m.length && !child.continue) break;
  }
  if (!all.length) all.push(node);
  return all;
}

/** Every node, parents before children. */
export function walkRoutes(node: RouteNode, visit: (n: RouteNode) => void): void {
  visit(node);
  for (const c of node.routes) walkRoutes(c, visit);
}

/** A group's labels on a route: the route's group_by labels the alert has (every label for `...`). */
export function groupLabelsOf(route: RouteNode, labels: Readonly<Record<string, string>>): Record<string, string> {
  if (route.groupBy === 'all') return { ...labels };
  const out: Record<string, string> = {};
  for (const l of route.groupBy) if (labels[l] !== undefined && labels[l] !== '') out[l] = labels[l]!;
  return out;
}

/**
 * Alertmanager's group key: `<route key>:<group labels>` (`{}/{severity="critical"}:{alertname="X"}`), the
 * group labels written as Alertmanager writes a label set (model.LabelSet.String: Go-quoted values, the
 * `name="value"` pairs sorted as strings).
 */
export function groupKeyOf(route: RouteNode, groupLabels: Readonly<Record<string, string>>): string {
  return `${route.key}:${labelSetString(groupLabels)}`;
}

/** Compiles the inhibition rules (`source_matchers`/`target_matchers`, legacy `*_match`/`*_match_re`). */
export function compileInhibit(list: InhibitConfig[], issues: ConfigIssue[]): CompiledInhibit[] {
  return list.map((h, i) => {
    const side = (which: 'source' | 'target'): Matcher[] => {
      const out: Matcher[] = [];
      (h[`${which}_matchers`] ?? []).forEach((text, j) => {
        try {
          out.push(...parseMatchers(text));
        } catch (e) {
          issues.push({ path: ['inhibit', i, `${which}_matchers`, j], message: (e as Error).message });
        }
      });
      for (const [k, v] of Object.entries(h[`${which}_match`] ?? {})) out.push(...compileMatchMaps({ [k]: v }, {}));
      for (const [k, v] of Object.entries(h[`${which}_match_re`] ?? {})) {
        try {
          out.push(...compileMatchMaps({}, { [k]: v }));
        } catch (e) {
          issues.push({ path: ['inhibit', i, `${which}_match_re`, k], message: (e as Error).message });
        }
      }
      return out;
    };
    return { source: side('source'), target: side('target'), equal: h.equal };
  });
}
