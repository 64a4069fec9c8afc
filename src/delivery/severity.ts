/** Severity order of notifications: what a full queue drops first, and what Slack colours. */
import type { AlertNotification } from '../model.ts';

/** critical > error > warning > info > anything else. */
export const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 4, error: 3, warning: 2, info: 1 };
/** The rank of `critical` in {@link SEVERITY_RANK} (4), the highest. */
export const CRITICAL_RANK = 4;

/**
 * The rank of a `severity` label value in {@link SEVERITY_RANK}, case-insensitive; 0 for an absent or unknown severity.
 */
export function severityRank(severity: string | undefined): number {
  return (severity !== undefined && SEVERITY_RANK[severity.toLowerCase()]) || 0;
}

/** The rank of the most severe alert in a notification. */
export function notificationRank(n: AlertNotification): number {
  let r = severityRank(n.commonLabels?.severity);
  for (const a of n.alerts ?? []) r = Math.max(r, severityRank(a.labels?.severity));
  return r;
}

/**
 * The rank of what a notification pages for: its most severe *firing* alert (a notification that lists a
 * resolved critical beside a firing warning is a warning); the most severe alert of all when none fires.
 * PagerDuty's severity, Opsgenie's priority and Slack's colour come from it.
 */
export function firingRank(n: AlertNotification): number {
  let r = 0;
  let firing = false;
  for (const a of n.alerts ?? []) {
    if (a.status !== 'firing') continue;
    firing = true;
    r = Math.max(r, severityRank(a.labels?.severity));
  }
  return firing ? r : notificationRank(n);
}

/**
 * The severity name of a rank from {@link severityRank} (`critical`, `error`, `warning`, `info`), `other` for 0 or out of range.
 */
export function rankName(rank: number): string {
  return ['other', 'info', 'warning', 'error', 'critical'][rank] ?? 'other';
}
