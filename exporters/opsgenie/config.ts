import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/** Opsgenie's API base URL (US instance); EU: https://api.eu.opsgenie.com. */
export const OPSGENIE_API_URL = 'https://api.opsgenie.com';

const Responder = Obj({
  type: Type.Union([Type.Literal('team'), Type.Literal('teams'), Type.Literal('user'), Type.Literal('escalation'), Type.Literal('schedule')], {
    description: 'what the responder is; teams (Alertmanager\'s): name is a comma-separated list of team names, one team responder each',
  }),
  id: Type.String({ default: '', description: 'template of the responder id' }),
  name: Type.String({ default: '', description: 'template of the team, escalation or schedule name' }),
  username: Type.String({ default: '', description: 'template of the user name (an e-mail address), for type user' }),
});

/**
 * The schema of the opsgenie exporter's config (TypeBox; defaults applied by Ajv): API URL (US or EU), API
 * integration key (sent as `Authorization: GenieKey <key>`), `send_resolved`, the templates of the Alert API v2
 * fields (message, description, priority, tags, responders, entity, source, details, note), the severity to
 * P1..P5 map, and the shared delivery keys.
 */
export const OpsgenieConfigSchema = Obj({
  api_url: Type.String({ format: 'uri', default: OPSGENIE_API_URL, description: 'Opsgenie API base URL: https://api.opsgenie.com (US) or https://api.eu.opsgenie.com (EU)' }),
  api_key: Type.String({ minLength: 1, description: 'an API integration key (a secret: use ${env:OPSGENIE_API_KEY}); sent as "Authorization: GenieKey <key>"' }),
  send_resolved: Type.Boolean({ default: true, description: 'close the alert (by alias) when the group resolves' }),
  message: Type.String({ default: '{{ subject }}', description: 'template of the alert message (cut to 130 characters)' }),
  description: Type.String({ default: '', description: 'template of the description (cut to 15,000 characters); empty: the alerts with their labels, annotations and links' }),
  priority: Type.String({ default: '', description: 'template of the priority; empty or not P1..P5: mapped from the alerts\' severity label' }),
  priorities: Obj(
    {
      critical: Type.String({ pattern: '^P[1-5]$', default: 'P1' }),
      error: Type.String({ pattern: '^P[1-5]$', default: 'P2' }),
      warning: Type.String({ pattern: '^P[1-5]$', default: 'P3' }),
      info: Type.String({ pattern: '^P[1-5]$', default: 'P5' }),
      other: Type.String({ pattern: '^P[1-5]$', default: 'P3' }),
    },
    { description: 'priority of a group by the severity of its most severe alert' },
  ),
  tags: Type.Union([Type.Array(Type.String()), Type.String()], {
    default: [],
    description:
      "tag templates, each rendered text split on commas as Alertmanager does (at most 20 tags of 50 characters are sent; empty ones are left out); one template as a string is Alertmanager's own form (`tags: '{{ labels.team }},prod'`)",
  }),
  responders: Type.Array(Responder, { default: [], description: 'who is notified (teams, users, escalations, schedules); values are templates' }),
  entity: Type.String({ default: '{{ labels.service.name }}', description: 'template of entity (cut to 512 characters)' }),
  source: Type.String({ default: 'vigil', description: 'template of source (cut to 100 characters)' }),
  details: Type.Record(Type.String(), Type.String(), { default: {}, description: 'key-value details, each value a template, sent over the group\'s common labels (as Alertmanager)' }),
  note: Type.String({ default: '', description: 'template of a note added when the alert is created and when it is closed' }),
  update_alerts: Type.Boolean({ default: false, description: 'after each create, also update the open alert\'s message and description (Alertmanager\'s update_alerts): Opsgenie keeps them when it de-duplicates a create' }),
  ...deliveryConfigProps,
});
/** The opsgenie exporter's validated config, defaults applied. */
export type OpsgenieConfig = Static<typeof OpsgenieConfigSchema>;
