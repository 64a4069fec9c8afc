/**
 * Builds Opsgenie Alert API v2 requests for one alert group
 * (https://docs.opsgenie.com/docs/alert-api): create (`POST /v2/alerts`) while it fires, close by alias
 * (`POST /v2/alerts/{alias}/close?identifierType=alias`) once it is resolved.
 * - `alias`: the SHA-256 (hex) of the group key, as Alertmanager's Opsgenie integration derives it, so the
 *   close finds the alert the create opened, across restarts; Opsgenie de-duplicates creates on the alias.
 * - `message` from its template (default Alertmanager's subject) cut to 130 characters, `description` (default:
 *   the alerts with their labels, annotations and links) cut to 15,000, `tags` (each template's text split on
 *   commas as Alertmanager splits it; 20 at most, 50 characters each), `entity` (512), `source` (100),
 *   `details` (the common labels, then the configured ones, as Alertmanager; 8,000 characters in all),
 *   `responders` templated;
 * - `priority`: the `priority` template when it renders P1..P5, else by the most severe firing alert's severity
 *   (`priorities`: critical P1, error P2, warning P3, info P5, anything else P3).
 * Whatever is cut ends with the truncation marker.
 */
import crypto from 'node:crypto';
import { cut, sortedNames, sortedValues } from '../../src/delivery/format.ts';
import { firingRank, rankName } from '../../src/delivery/severity.ts';
import { Template } from '../../src/delivery/template.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';
import type { OpsgenieConfig } from './config.ts';

/** Opsgenie's documented field limits. */
export const OG_LIMITS = { message: 130, alias: 512, description: 15_000, tags: 20, tag: 50, entity: 512, source: 100, details: 8000, note: 25_000, responders: 50 } as const;

/**
 * A responder of an Opsgenie alert (Alert API v2 `responders[]`): a team, user, escalation or schedule, by
 * `id`, `name` or (users) `username`.
 */
export interface OpsgenieResponder {
  type: 'team' | 'user' | 'escalation' | 'schedule';
  id?: string;
  name?: string;
  username?: string;
}

/** The body of Opsgenie's create-alert request (`POST /v2/alerts`), fields cut to {@link OG_LIMITS}. */
export interface OpsgenieCreate {
  message: string;
  alias: string;
  description?: string;
  responders?: OpsgenieResponder[];
  tags?: string[];
  details?: Record<string, string>;
  entity?: string;
  source?: string;
  priority: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
  note?: string;
}

/** The body of Opsgenie's close-alert request (`POST /v2/alerts/{alias}/close?identifierType=alias`). */
export interface OpsgenieClose {
  source?: string;
  note?: string;
}

/** The bodies of Opsgenie's update requests (`PUT /v2/alerts/{alias}/message|description?identifierType=alias`). */
export type OpsgenieUpdate = { message: string } | { description: string };

/** One HTTP request to make: method, path below the API URL and the JSON body. */
export interface OpsgenieRequest {
  action: 'create' | 'close' | 'update message' | 'update description';
  method?: 'POST' | 'PUT';
  path: string;
  body: OpsgenieCreate | OpsgenieClose | OpsgenieUpdate;
}

/**
 * With `update_alerts` (Alertmanager's), what follows a create: the open alert's message and description set
 * to the create's (`PUT /v2/alerts/{alias}/message?identifierType=alias`, then `.../description`), since
 * Opsgenie keeps an open alert's fields when a create with its alias is de-duplicated. Nothing for a close.
 */
export function opsgenieUpdates(req: OpsgenieRequest): OpsgenieRequest[] {
  if (req.action !== 'create') return [];
  const c = req.body as OpsgenieCreate;
  const at = (what: string) => `/v2/alerts/${encodeURIComponent(c.alias)}/${what}?identifierType=alias`;
  return [
    { action: 'update message', method: 'PUT', path: at('message'), body: { message: c.message } },
    { action: 'update description', method: 'PUT', path: at('description'), body: { description: c.description ?? '' } },
  ];
}

/** `alias` of a group: hex SHA-256 of its group key. */
export function opsgenieAlias(groupKey: string): string {
  return crypto.createHash('sha256').update(groupKey).digest('hex');
}

/**
 * The opsgenie exporter's templates, parsed once from its config (an empty `description` or `priority` is
 * undefined: the default text or the severity map is used). Throws when a template does not parse (the
 * factory's validation reports that first).
 */
export class OpsgenieTemplates {
  readonly message: Template;
  readonly description: Template | undefined;
  readonly priority: Template | undefined;
  readonly tags: Template[];
  readonly responders: { type: OpsgenieConfig['responders'][number]['type']; id: Template; name: Template; username: Template }[];
  readonly entity: Template;
  readonly source: Template;
  readonly details: [string, Template][];
  readonly note: Template;

  constructor(c: OpsgenieConfig) {
    this.message = Template.parse(c.message);
    this.description = c.description ? Template.parse(c.description) : undefined;
    this.priority = c.priority ? Template.parse(c.priority) : undefined;
    this.tags = (typeof c.tags === 'string' ? [c.tags] : c.tags).map((s) => Template.parse(s));
    this.responders = c.responders.map((r) => ({ type: r.type, id: Template.parse(r.id), name: Template.parse(r.name), username: Template.parse(r.username) }));
    this.entity = Template.parse(c.entity);
    this.source = Template.parse(c.source);
    this.details = Object.entries(c.details).map(([k, v]) => [k, Template.parse(v)]);
    this.note = Template.parse(c.note);
  }
}

/** Opsgenie priority of a notification (see the module comment). */
export function opsgeniePriority(n: AlertNotification, rendered: string, map: OpsgenieConfig['priorities']): OpsgenieCreate['priority'] {
  const r = rendered.trim().toUpperCase();
  if (/^P[1-5]$/.test(r)) return r as OpsgenieCreate['priority'];
  const name = rankName(firingRank(n)) as keyof OpsgenieConfig['priorities'];
  return (map[name] ?? map.other) as OpsgenieCreate['priority'];
}

/** Alertmanager's `__text_alert_list` (template/default.tmpl): per alert its labels, annotations and source. */
function textAlertList(alerts: Alert[]): string {
  let out = '';
  for (const a of alerts) {
    const labels = a.labels ?? {};
    const annotations = a.annotations ?? {};
    out += 'Labels:\n';
    for (const k of sortedNames(labels)) out += ` - ${k} = ${labels[k]}\n`;
    out += 'Annotations:\n';
    for (const k of sortedNames(annotations)) out += ` - ${k} = ${annotations[k]}\n`;
    out += `Source: ${a.generatorURL ?? ''}\n`;
  }
  return out;
}

/**
 * The default description: Alertmanager's `opsgenie.default.description` (template/default.tmpl) to the
 * character: the common annotations' values (`SortedPairs` order) joined by spaces, a newline, then
 * `Alerts Firing:` and each firing alert's `__text_alert_list`, a newline, then `Alerts Resolved:` and each
 * resolved alert's.
 */
export function defaultDescription(n: AlertNotification): string {
  const alerts = n.alerts ?? [];
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  let out = `${sortedValues(n.commonAnnotations ?? {}).join(' ')}\n`;
  if (firing.length) out += `Alerts Firing:\n${textAlertList(firing)}`;
  out += '\n';
  if (resolved.length) out += `Alerts Resolved:\n${textAlertList(resolved)}`;
  return out;
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();

/**
 * The tags (or `teams` responder names) one rendered template gives, as Alertmanager's `safeSplit`: the text
 * (one line, trimmed) split on commas, empty parts left out (`{{ labels.team }},prod` is two tags).
 */
export function splitTags(rendered: string): string[] {
  return oneLine(rendered)
    .split(',')
    .filter((tag) => tag !== '');
}

/**
 * Details cut to Opsgenie's total: keys and values together stay within 8,000 characters, the entries first
 * in `d` kept first. Built with `fromEntries`, so that any name (a label `__proto__`) is a plain key.
 */
function boundedDetails(d: Map<string, string>): Record<string, string> {
  const out: [string, string][] = [];
  let room = OG_LIMITS.details;
  for (const [k, v] of d) {
    if (room <= k.length + 1) break;
    const val = cut(v, room - k.length);
    out.push([k, val]);
    room -= k.length + val.length;
  }
  return Object.fromEntries(out);
}

/** The request for `n`: create while the group fires, close once it is resolved. */
export function buildOpsgenieRequest(n: AlertNotification, c: OpsgenieConfig, t: OpsgenieTemplates, receiver: string): OpsgenieRequest {
  const alias = opsgenieAlias(n.groupKey);
  const render = (tpl: Template) => tpl.render(n, receiver);
  const source = cut(oneLine(render(t.source)), OG_LIMITS.source);
  const note = cut(render(t.note), OG_LIMITS.note);
  if (n.status === 'resolved') {
    const body: OpsgenieClose = {};
    if (source) body.source = source;
    if (note) body.note = note;
    return { action: 'close', path: `/v2/alerts/${encodeURIComponent(alias)}/close?identifierType=alias`, body };
  }
  const body: OpsgenieCreate = {
    message: cut(oneLine(render(t.message)) || `[FIRING] ${n.groupLabels?.alertname ?? 'vigil alert'}`, OG_LIMITS.message),
    alias,
    priority: opsgeniePriority(n, t.priority ? render(t.priority) : '', c.priorities),
  };
  const description = cut(t.description ? render(t.description) : defaultDescription(n), OG_LIMITS.description);
  if (description) body.description = description;
  const tags = [...new Set(t.tags.flatMap((tpl) => splitTags(render(tpl)).map((tag) => cut(tag, OG_LIMITS.tag))))].slice(0, OG_LIMITS.tags);
  if (tags.length) body.tags = tags;
  const responders: OpsgenieResponder[] = [];
  for (const r of t.responders) {
    if (r.type === 'teams') {
      // Alertmanager's `teams`: one team responder per name of the comma-separated list
      for (const name of splitTags(render(r.name))) responders.push({ type: 'team', name });
      continue;
    }
    const x: OpsgenieResponder = { type: r.type };
    const id = oneLine(render(r.id));
    const name = oneLine(render(r.name));
    const username = oneLine(render(r.username));
    if (id) x.id = id;
    if (name) x.name = name;
    if (username) x.username = username;
    // A responder whose templates all rendered empty names nobody: Opsgenie would refuse the whole alert.
    if (id || name || username) responders.push(x);
  }
  if (responders.length) body.responders = responders.slice(0, OG_LIMITS.responders);
  // As Alertmanager: the group's common labels and the configured details, which win on the same key (and
  // come first within Opsgenie's 8,000 characters).
  const details = new Map<string, string>();
  for (const [k, tpl] of t.details) details.set(k, render(tpl));
  for (const [k, v] of Object.entries(n.commonLabels ?? {})) if (!details.has(k)) details.set(k, v);
  if (details.size) body.details = boundedDetails(details);
  const entity = cut(oneLine(render(t.entity)), OG_LIMITS.entity);
  if (entity) body.entity = entity;
  if (source) body.source = source;
  if (note) body.note = note;
  return { action: 'create', path: '/v2/alerts', body };
}
