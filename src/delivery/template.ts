/**
 * The small, safe `{{ ... }}` template language of notification titles and texts. A placeholder is a
 * variable name, nothing else (no code, no calls, no loops): `{{ status }}`, `{{ STATUS }}`, `{{ count }}`,
 * `{{ firing }}`, `{{ resolved }}`, `{{ subject }}`, `{{ receiver }}`, `{{ groupKey }}`, `{{ externalURL }}`,
 * `{{ groupLabels.NAME }}`, `{{ commonLabels.NAME }}`, `{{ labels.NAME }}` (same as commonLabels),
 * `{{ commonAnnotations.NAME }}`, `{{ annotations.NAME }}` (same as commonAnnotations). Everything after the
 * first dot is the label name, dots included (`{{ labels.service.name }}`). A label that is not there renders
 * as "". `{{{{` writes a literal `{{`. An unknown variable or an unclosed `{{` is a config error.
 */
import type { AlertNotification } from '../model.ts';
import { alertmanagerSubject } from './format.ts';

type Part = string | { scope: string; key: string };

const SCALARS = new Set(['status', 'STATUS', 'count', 'firing', 'resolved', 'subject', 'receiver', 'groupKey', 'externalURL']);
const MAPS = new Set(['groupLabels', 'commonLabels', 'labels', 'commonAnnotations', 'annotations']);

export class Template {
  private constructor(
    readonly source: string,
    private readonly parts: Part[],
  ) {}

  /** Parses a template; throws an Error saying what is wrong and at which character. */
  static parse(source: string): Template {
    const parts: Part[] = [];
    let i = 0;
    let lit = '';
    while (i < source.length) {
      if (source.startsWith('{{{{', i)) {
        lit += '{{';
        i += 4;
        continue;
      }
      if (source.startsWith('{{', i)) {
        const end = source.indexOf('}}', i + 2);
        if (end < 0) throw new Error(`unclosed "{{" at character ${i + 1}`);
        const expr = source.slice(i + 2, end).trim();
        const dot = expr.indexOf('.');
        if (dot < 0) {
          if (!SCALARS.has(expr)) throw new Error(`unknown variable "${expr}" at character ${i + 1}; known: ${[...SCALARS, ...[...MAPS].map((m) => `${m}.NAME`)].join(', ')}`);
          if (lit) parts.push(lit);
          lit = '';
          parts.push({ scope: expr, key: '' });
        } else {
          const scope = expr.slice(0, dot);
          const key = expr.slice(dot + 1);
          if (!MAPS.has(scope) || key === '') throw new Error(`unknown variable "${expr}" at character ${i + 1}; label and annotation variables look like labels.NAME`);
          if (lit) parts.push(lit);
          lit = '';
          parts.push({ scope, key });
        }
        i = end + 2;
        continue;
      }
      lit += source[i];
      i++;
    }
    if (lit) parts.push(lit);
    return new Template(source, parts);
  }

  /** Renders for a notification (values are inserted as they are: the caller escapes for its format). */
  render(n: AlertNotification, receiver: string): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      out += lookup(n, receiver, p);
    }
    return out;
  }
}

function lookup(n: AlertNotification, receiver: string, p: { scope: string; key: string }): string {
  switch (p.scope) {
    case 'status':
      return n.status;
    case 'STATUS':
      return n.status.toUpperCase();
    case 'count':
      return String(n.alerts.length);
    case 'firing':
      return String(n.alerts.filter((a) => a.status === 'firing').length);
    case 'resolved':
      return String(n.alerts.filter((a) => a.status === 'resolved').length);
    case 'subject':
      return alertmanagerSubject(n);
    case 'receiver':
      return receiver;
    case 'groupKey':
      return n.groupKey;
    case 'externalURL':
      return n.externalURL ?? '';
    case 'groupLabels':
      return n.groupLabels?.[p.key] ?? '';
    case 'commonLabels':
    case 'labels':
      return n.commonLabels?.[p.key] ?? '';
    case 'commonAnnotations':
    case 'annotations':
      return n.commonAnnotations?.[p.key] ?? '';
  }
  return '';
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
