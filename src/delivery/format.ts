/** Text every notification exporter writes the same way: the Alertmanager-style subject, cutting with a marker. */
import type { AlertNotification } from '../model.ts';
import { goCompare } from '../go-quote.ts';

/** What a cut text ends with. */
export const TRUNCATION_MARKER = '… (truncated)';

/** `text` cut to at most `max` characters, ending with the marker when it was cut. */
export function cut(text: string, max: number, marker = TRUNCATION_MARKER): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return marker.slice(0, max);
  // Do not split a surrogate pair.
  let end = max - marker.length;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return text.slice(0, end) + marker;
}

/**
 * The names of a label (or annotation) set in Alertmanager's `SortedPairs` order (template.KV.SortedPairs):
 * `alertname` first, then the others by name in Go's string order. Templates' `.Names`, `.Values` and
 * `.SortedPairs` all use it.
 */
export function sortedNames(labels: Record<string, string>): string[] {
  const names = Object.keys(labels).filter((k) => k !== 'alertname');
  names.sort(goCompare);
  if ('alertname' in labels) names.unshift('alertname');
  return names;
}

/** Label values in {@link sortedNames} order (Alertmanager's `.SortedPairs.Values`). */
export function sortedValues(labels: Record<string, string>): string[] {
  return sortedNames(labels).map((k) => labels[k]!);
}

/**
 * The subject Alertmanager's default templates write (`__subject` of template/default.tmpl, behind
 * `email.default.subject`, `slack.default.title`, `pagerduty.default.description`, `opsgenie.default.message`):
 * `[FIRING:2] HighP95Latency checkout (critical)` — the status (with the count of firing alerts while
 * firing), a space, the group labels' values in `SortedPairs` order (`alertname` first) joined by spaces, a
 * space, then, when there are more common labels than group labels, the values of the common labels that
 * are not group labels in parentheses. `[RESOLVED] ...` once every alert is resolved. The text is the
 * template's to the character: with no group labels it reads `[FIRING:1]  (a b)`, and with no other common
 * labels it ends with a space (`[RESOLVED] HighP95Latency checkout `); exporters that need one line trim it.
 */
export function alertmanagerSubject(n: AlertNotification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const group = n.groupLabels ?? {};
  const common = n.commonLabels ?? {};
  let tail = '';
  if (Object.keys(common).length > Object.keys(group).length) {
    // own keys only: a label named `constructor` or `__proto__` is a label like any other
    const rest = Object.fromEntries(Object.entries(common).filter(([k]) => !Object.hasOwn(group, k)));
    tail = `(${sortedValues(rest).join(' ')})`;
  }
  return `${head} ${sortedValues(group).join(' ')} ${tail}`;
}

/** A value as the notifications print it (NaN / absent: "n/a"; up to 6 significant digits). */
export function formatValue(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}
