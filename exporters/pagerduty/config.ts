import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/** PagerDuty's Events API v2 endpoint (US service region); EU: https://events.eu.pagerduty.com/v2/enqueue. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const Link = Obj({
  href: Type.String({ description: 'template of the link URL' }),
  text: Type.String({ default: '', description: 'template of the link text' }),
});
const Image = Obj({
  src: Type.String({ description: 'template of the image URL (https)' }),
  href: Type.String({ default: '', description: 'template of the URL the image links to' }),
  alt: Type.String({ default: '', description: 'template of the alternative text' }),
});

/**
 * The schema of the pagerduty exporter's config (TypeBox; defaults applied by Ajv): Events API v2 URL, routing
 * key, `send_resolved`, the templates of the event's fields, `default_severity`, details, links, images, and
 * the shared delivery keys.
 */
export const PagerDutyConfigSchema = Obj({
  url: Type.String({ format: 'uri', default: PAGERDUTY_EVENTS_URL, description: 'Events API v2 endpoint (EU service region: https://events.eu.pagerduty.com/v2/enqueue)' }),
  routing_key: Type.String({ minLength: 1, description: 'the integration key of an Events API v2 integration (a secret: use ${env:PAGERDUTY_ROUTING_KEY})' }),
  send_resolved: Type.Boolean({ default: true, description: 'resolve the incident when the group resolves' }),
  summary: Type.String({ default: '{{ subject }}', description: 'template of payload.summary (cut to 1,024 characters)' }),
  severity: Type.String({ default: '', description: 'template of payload.severity; empty or not one of critical/error/warning/info: mapped from the alerts\' severity label' }),
  default_severity: Type.Union([Type.Literal('critical'), Type.Literal('error'), Type.Literal('warning'), Type.Literal('info')], {
    default: 'error',
    description: 'payload.severity when no alert has a severity PagerDuty knows',
  }),
  source: Type.String({ default: '{{ labels.service.name }}', description: 'template of payload.source (the affected system); "vigil" when it renders empty' }),
  component: Type.String({ default: '', description: 'template of payload.component' }),
  group: Type.String({ default: '', description: 'template of payload.group' }),
  class: Type.String({ default: '{{ labels.alertname }}', description: 'template of payload.class' }),
  client: Type.String({ default: 'vigil', description: 'template of client (shown in PagerDuty as the event\'s origin)' }),
  client_url: Type.String({ default: '{{ externalURL }}', description: 'template of client_url' }),
  details: Type.Record(Type.String(), Type.String(), { default: {}, description: 'extra payload.custom_details entries, each a template' }),
  max_alerts: Type.Integer({ minimum: 1, default: 50, description: 'alerts listed in custom_details at most (the rest are counted)' }),
  links: Type.Array(Link, { default: [], description: 'extra links (after those to each alert\'s page on vigil)' }),
  images: Type.Array(Image, { default: [], description: 'images shown in the incident' }),
  ...deliveryConfigProps,
});
/** The pagerduty exporter's validated config, defaults applied. */
export type PagerDutyConfig = Static<typeof PagerDutyConfigSchema>;
