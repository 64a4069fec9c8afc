/**
 * Notification titles and texts, in vigil's one template language (src/template/): the variables are
 * `{{ status }}`, `{{ STATUS }}`, `{{ count }}`, `{{ firing }}`, `{{ resolved }}`, `{{ subject }}`,
 * `{{ receiver }}`, `{{ groupKey }}`, `{{ externalURL }}`, `{{ groupLabels.NAME }}`, `{{ commonLabels.NAME }}`,
 * `{{ labels.NAME }}` (same as commonLabels), `{{ commonAnnotations.NAME }}`, `{{ annotations.NAME }}` (same
 * as commonAnnotations), and Alertmanager's spellings of its notification data: `.Status`, `.Receiver`,
 * `.ExternalURL`, `.GroupLabels.NAME`, `.CommonLabels.NAME`, `.CommonAnnotations.NAME` (and the maps whole
 * for `index`), `.GroupLabels.Names` / `.Values` (and of the other two; lists for `join`), `.Alerts`,
 * `.Alerts.Firing`, `.Alerts.Resolved` (lists of alerts, for `len`: there are no loops). The functions are
 * the language's (`{{ commonAnnotations.value | humanize }}`, `{{ .Alerts.Firing | len }}`); `title` is
 * Alertmanager's (cases.Title: `hELLO` is `Hello`). Everything after the first dot is the label name, dots
 * included (`{{ labels.service.name }}`). A label that is not there renders as "". `{{{{` writes a literal
 * `{{`. An unknown variable or function or an unclosed `{{` is a config error.
 */
import type { AlertNotification } from '../model.ts';
import { quoteMeta } from '../template/go-funcs.ts';
import { Template as Engine, type Vocabulary } from '../template/template.ts';
import { alertmanagerSubject } from './format.ts';

const firing = (n: AlertNotification) => n.alerts.filter((a) => a.status === 'firing').length;
type Ctx = { n: AlertNotification; receiver: string };

/** Alertmanager's KV.SortedPairs order: `alertname` first, then the names in byte order. */
function sortedNames(kv: Record<string, string> | undefined): string[] {
  const names = Object.keys(kv ?? {});
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  const rest = names.filter((k) => k !== 'alertname').sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
  return names.includes('alertname') ? ['alertname', ...rest] : rest;
}

const MAPS = {
  '.GroupLabels': (c: Ctx) => c.n.groupLabels,
  '.CommonLabels': (c: Ctx) => c.n.commonLabels,
  '.CommonAnnotations': (c: Ctx) => c.n.commonAnnotations,
};
const lists: Record<string, (c: Ctx) => readonly string[]> = {};
const unsupported: Record<string, string> = {};
for (const [name, kv] of Object.entries(MAPS)) {
  lists[`${name}.Names`] = (c) => sortedNames(kv(c));
  lists[`${name}.Values`] = (c) => sortedNames(kv(c)).map((k) => kv(c)?.[k] ?? '');
  unsupported[`${name}.SortedPairs`] = `SortedPairs is for range, and vigil templates have no loops: write {{ join ", " ${name}.Names }} or ${name}.NAME`;
  unsupported[`${name}.Remove`] = `Remove gives a map for range, and vigil templates have no loops: write ${name}.NAME`;
}

/** The variables of notification templates (`receiver` is the exporter ID the text is for). */
export const NOTIFICATION_VOCABULARY: Vocabulary<Ctx> = {
  scalars: {
    status: (c) => c.n.status,
    STATUS: (c) => c.n.status.toUpperCase(),
    count: (c) => String(c.n.alerts.length),
    firing: (c) => String(firing(c.n)),
    resolved: (c) => String(c.n.alerts.length - firing(c.n)),
    subject: (c) => alertmanagerSubject(c.n),
    receiver: (c) => c.receiver,
    groupKey: (c) => c.n.groupKey,
    externalURL: (c) => c.n.externalURL ?? '',
    '.Status': (c) => c.n.status,
    // Alertmanager's template.Data has the receiver's name regexp-quoted
    '.Receiver': (c) => quoteMeta(c.receiver),
    '.ExternalURL': (c) => c.n.externalURL ?? '',
  },
  maps: {
    groupLabels: (c, k) => c.n.groupLabels?.[k],
    commonLabels: (c, k) => c.n.commonLabels?.[k],
    labels: (c, k) => c.n.commonLabels?.[k],
    commonAnnotations: (c, k) => c.n.commonAnnotations?.[k],
    annotations: (c, k) => c.n.commonAnnotations?.[k],
    '.GroupLabels': (c, k) => c.n.groupLabels?.[k],
    '.CommonLabels': (c, k) => c.n.commonLabels?.[k],
    '.CommonAnnotations': (c, k) => c.n.commonAnnotations?.[k],
  },
  lists,
  alertLists: {
    '.Alerts': (c) => c.n.alerts.length,
    '.Alerts.Firing': (c) => firing(c.n),
    '.Alerts.Resolved': (c) => c.n.alerts.filter((a) => a.status === 'resolved').length,
  },
  unsupported,
  title: 'cases',
};

/** A compiled notification template. */
export class Template {
  private constructor(private readonly compiled: Engine<{ n: AlertNotification; receiver: string }>) {}

  /** The template text as written. */
  get source(): string {
    return this.compiled.source;
  }

  /** Parses a template; throws an Error saying what is wrong and at which character. */
  static parse(source: string): Template {
    return new Template(Engine.compile(source, NOTIFICATION_VOCABULARY));
  }

  /** Renders for a notification (values are inserted as they are: the caller escapes for its format). */
  render(n: AlertNotification, receiver: string): string {
    return this.compiled.render({ n, receiver });
  }
}

/** For a factory's validate(): the problem with a template, or undefined. */
export function templateIssue(source: string): string | undefined {
  try {
    Template.parse(source);
    return undefined;
  } catch (err) {
    return `bad template: ${(err as Error).message}`;
  }
}
