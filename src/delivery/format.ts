/** Text every notification exporter writes the same way: the Alertmanager-style subject, cutting with a marker. */
import type { AlertNotification } from '../model.ts';

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

/** Label values ordered by label name. */
export function sortedValues(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => labels[k]!);
}

/**
 * The subject Alertmanager's default templates write: `[FIRING:2] HighP95Latency checkout (critical)` —
 * the status (with the count of firing alerts while firing), the group labels' values by label name,
 * then in parentheses the values of the common labels that are not group labels, when there are any.
 * `[RESOLVED] ...` once every alert is resolved.
 */
export function alertmanagerSubject(n: AlertNotification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const group = n.groupLabels ?? {};
  const parts = [head, ...sortedValues(group)];
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.commonLabels ?? {})) if (!(k in group)) rest[k] = v;
  if (Object.keys(rest).length) parts.push(`(${sortedValues(rest).join(' ')})`);
  return parts.join(' ');
}

/** A value as the notifications print it (NaN / absent: "n/a"; up to 6 significant digits). */
export function formatValue(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}
