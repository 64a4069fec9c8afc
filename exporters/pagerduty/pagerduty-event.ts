/**
 * Builds the PagerDuty Events API v2 event for one alert group
 * (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 * - `event_action`: `trigger` while the group fires, `resolve` once it is resolved;
 * - `dedup_key`: the SHA-256 (hex) of the group key, as Alertmanager's PagerDuty integration derives it, so a
 *   resolve closes the incident its trigger opened, across restarts (the group key survives them);
 * - `payload.summary` from the `summary` template (default: Alertmanager's subject,
 *   `[FIRING:2] HighP95Latency checkout (critical)`), cut to PagerDuty's 1,024 characters with the marker;
 * - `payload.severity` from the `severity` template when it renders one of PagerDuty's four values, else the
 *   most severe firing alert's `severity` label (critical > error > warning > info), else `default_severity`;
 * - `payload.custom_details`: the firing and resolved alerts (labels, annotations, times, value, link), their
 *   counts, and the user's `details` templates;
 * - `links`: each alert's page on vigil (`generatorURL`), then the configured links; `images` as configured.
 * A resolve carries only `routing_key`, `dedup_key` and `event_action` (PagerDuty ignores the rest).
 */
import crypto from 'node:crypto';
import { cut } from '../../src/delivery/format.ts';
import { firingRank, rankName } from '../../src/delivery/severity.ts';
import { Template } from '../../src/delivery/template.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';
import type { PagerDutyConfig } from './config.ts';

/** PagerDuty's documented limits. */
export const PD_MAX_SUMMARY = 1024;
/** Longest `dedup_key` PagerDuty takes, 255 characters (Events API v2). */
export const PD_MAX_DEDUP_KEY = 255;
/** The whole event must stay under 512 KB. */
export const PD_MAX_EVENT_BYTES = 512 * 1024;
/** Characters kept of one annotation value in custom_details. */
const MAX_ANNOTATION = 2000;
/** Links to alert pages at most (PagerDuty shows them as a list). */
const MAX_ALERT_LINKS = 10;

/** The four `payload.severity` values the PagerDuty Events API v2 accepts, most severe first. */
export const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
/** One of {@link PD_SEVERITIES}. */
export type PagerDutySeverity = (typeof PD_SEVERITIES)[number];

/**
 * A PagerDuty Events API v2 event (`POST /v2/enqueue`), as built by this file (see its comment); a resolve has
 * no `payload`.
 */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  client?: string;
  client_url?: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text?: string }[];
  images?: { src: string; href?: string; alt?: string }[];
}

/** `dedup_key` of a group: hex SHA-256 of its group key (64 characters, within PagerDuty's 255). */
export function dedupKey(groupKey: string): string {
  return crypto.createHash('sha256').update(groupKey).digest('hex');
}

/** The config's templates, parsed once. */
export class PagerDutyTemplates {
  readonly summary: Template;
  readonly severity: Template | undefined;
  readonly source: Template;
  readonly component: Template;
  readonly group: Template;
  readonly class: Template;
  readonly client: Template;
  readonly clientUrl: Template;
  readonly details: [string, Template][];
  readonly links: { href: Template; text: Template }[];
  readonly images: { src: Template; href: Template; alt: Template }[];

  constructor(c: PagerDutyConfig) {
    this.summary = Template.parse(c.summary);
    this.severity = c.severity ? Template.parse(c.severity) : undefined;
    this.source = Template.parse(c.source);
    this.component = Template.parse(c.component);
    this.group = Template.parse(c.group);
    this.class = Template.parse(c.class);
    this.client = Template.parse(c.client);
    this.clientUrl = Template.parse(c.client_url);
    this.details = Object.entries(c.details).map(([k, v]) => [k, Template.parse(v)]);
    this.links = c.links.map((l) => ({ href: Template.parse(l.href), text: Template.parse(l.text) }));
    this.images = c.images.map((i) => ({ src: Template.parse(i.src), href: Template.parse(i.href), alt: Template.parse(i.alt) }));
  }
}

/** PagerDuty severity of a notification (see the module comment). */
export function pagerDutySeverity(n: AlertNotification, rendered: string, fallback: PagerDutySeverity): PagerDutySeverity {
  const r = rendered.trim().toLowerCase();
  if ((PD_SEVERITIES as readonly string[]).includes(r)) return r as PagerDutySeverity;
  const rank = firingRank(n);
  return rank > 0 ? (rankName(rank) as PagerDutySeverity) : fallback;
}

function alertDetail(a: Alert): Record<string, unknown> {
  // fromEntries: an annotation named `__proto__` is a key like any other
  const annotations = Object.fromEntries(Object.entries(a.annotations ?? {}).map(([k, v]) => [k, cut(v, MAX_ANNOTATION)]));
  const d: Record<string, unknown> = { labels: a.labels ?? {}, annotations, startsAt: a.startsAt };
  if (a.status === 'resolved' && a.endsAt && !a.endsAt.startsWith('0001-')) d.endsAt = a.endsAt;
  if (typeof a.value === 'number' && Number.isFinite(a.value)) d.value = a.value;
  if (a.generatorURL) d.generatorURL = a.generatorURL;
  return d;
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();

/** The event for `n` (trigger or resolve by the group's status). */
export function buildPagerDutyEvent(n: AlertNotification, c: PagerDutyConfig, t: PagerDutyTemplates, receiver: string): PagerDutyEvent {
  const key = dedupKey(n.groupKey);
  if (n.status === 'resolved') return { routing_key: c.routing_key, event_action: 'resolve', dedup_key: key };
  const alerts = n.alerts ?? [];
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  const listed = (list: Alert[], room: number) => list.slice(0, Math.max(0, room)).map(alertDetail);
  const firingListed = listed(firing, c.max_alerts);
  const resolvedListed = listed(resolved, c.max_alerts - firingListed.length);
  const custom: Record<string, unknown> = {
    firing: firingListed,
    resolved: resolvedListed,
    num_firing: firing.length,
    num_resolved: resolved.length,
  };
  const left = alerts.length - firingListed.length - resolvedListed.length;
  if (left > 0) custom.truncated_alerts = left;
  for (const [k, tpl] of t.details) custom[k] = tpl.render(n, receiver);

  const render = (tpl: Template) => oneLine(tpl.render(n, receiver));
  const summary = cut(render(t.summary) || `[FIRING:${firing.length}] ${n.groupLabels?.alertname ?? 'vigil alert'}`, PD_MAX_SUMMARY);
  const payload: NonNullable<PagerDutyEvent['payload']> = {
    summary,
    source: cut(render(t.source) || 'vigil', PD_MAX_SUMMARY),
    severity: pagerDutySeverity(n, t.severity ? render(t.severity) : '', c.default_severity),
    custom_details: custom,
  };
  const earliest = firing.map((a) => a.startsAt).filter(Boolean).sort()[0];
  if (earliest && !Number.isNaN(Date.parse(earliest))) payload.timestamp = earliest;
  for (const field of ['component', 'group', 'class'] as const) {
    const v = render(t[field]);
    if (v) payload[field] = cut(v, PD_MAX_SUMMARY);
  }
  const event: PagerDutyEvent = { routing_key: c.routing_key, event_action: 'trigger', dedup_key: key, payload };
  const client = render(t.client);
  if (client) event.client = client;
  const clientUrl = render(t.clientUrl);
  if (/^https?:\/\//i.test(clientUrl)) event.client_url = clientUrl;

  const links: { href: string; text?: string }[] = [];
  const seen = new Set<string>();
  for (const a of [...firing, ...resolved]) {
    if (links.length >= MAX_ALERT_LINKS) break;
    const href = a.generatorURL;
    if (!href || !/^https?:\/\//i.test(href) || seen.has(href)) continue;
    seen.add(href);
    links.push({ href, text: `${a.labels?.alertname ?? 'alert'} in vigil` });
  }
  for (const l of t.links) {
    const href = render(l.href);
    if (!href) continue;
    const text = render(l.text);
    links.push(text ? { href, text } : { href });
  }
  if (links.length) event.links = links;
  const images = t.images
    .map((i) => ({ src: render(i.src), href: render(i.href), alt: render(i.alt) }))
    .filter((i) => i.src)
    .map((i) => ({ src: i.src, ...(i.href ? { href: i.href } : {}), ...(i.alt ? { alt: i.alt } : {}) }));
  if (images.length) event.images = images;

  // Stay under PagerDuty's event size: list no alerts (counts stay) rather than be refused.
  if (Buffer.byteLength(JSON.stringify(event)) > PD_MAX_EVENT_BYTES) {
    custom.firing = [];
    custom.resolved = [];
    custom.truncated_alerts = alerts.length;
    for (const [k] of t.details) custom[k] = cut(String(custom[k]), 1000);
  }
  return event;
}
