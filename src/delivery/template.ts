/**
 * Notification titles and texts, in vigil's one template language (src/template/): the variables are
 * `{{ status }}`, `{{ STATUS }}`, `{{ count }}`, `{{ firing }}`, `{{ resolved }}`, `{{ subject }}`,
 * `{{ receiver }}`, `{{ groupKey }}`, `{{ externalURL }}`, `{{ groupLabels.NAME }}`, `{{ commonLabels.NAME }}`,
 * `{{ labels.NAME }}` (same as commonLabels), `{{ commonAnnotations.NAME }}`, `{{ annotations.NAME }}` (same
 * as commonAnnotations); the filters are the language's (`{{ commonAnnotations.value | humanize }}`).
 * Everything after the first dot is the label name, dots included (`{{ labels.service.name }}`). A label
 * that is not there renders as "". `{{{{` writes a literal `{{`. An unknown variable or an unclosed `{{` is
 * a config error.
 */
import type { AlertNotification } from '../model.ts';
import { Template as Engine, type Vocabulary } from '../template/template.ts';
import { alertmanagerSubject } from './format.ts';

const firing = (n: AlertNotification) => n.alerts.filter((a) => a.status === 'firing').length;

/** The variables of notification templates (`receiver` is the exporter ID the text is for). */
export const NOTIFICATION_VOCABULARY: Vocabulary<{ n: AlertNotification; receiver: string }> = {
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
  },
  maps: {
    groupLabels: (c, k) => c.n.groupLabels?.[k],
    commonLabels: (c, k) => c.n.commonLabels?.[k],
    labels: (c, k) => c.n.commonLabels?.[k],
    commonAnnotations: (c, k) => c.n.commonAnnotations?.[k],
    annotations: (c, k) => c.n.commonAnnotations?.[k],
  },
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
