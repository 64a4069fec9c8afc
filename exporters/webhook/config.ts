import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/**
 * The schema of the webhook exporter's config (TypeBox; defaults applied by Ajv): URL, extra headers,
 * `max_alerts` (0 = all; the rest counted in `truncatedAlerts`, as Alertmanager's webhook_config), optional
 * HMAC-SHA256 signing secret, `send_resolved` (default true, as Alertmanager's webhook_config), and the shared
 * delivery keys.
 */
export const WebhookConfigSchema = Obj({
  url: Type.String({ format: 'uri', description: 'where alert notifications are POSTed' }),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'extra HTTP headers (e.g. Authorization)' }),
  send_resolved: Type.Boolean({ default: true, description: 'also notify when alerts resolve (Alertmanager webhook_config send_resolved)' }),
  max_alerts: Type.Integer({ minimum: 0, default: 0, description: 'alerts per message at most; 0 = all (the rest is counted in truncatedAlerts)' }),
  hmac_secret: Type.String({ default: '', description: 'when set, X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body>' }),
  ...deliveryConfigProps,
});
/** The webhook exporter's validated config, defaults applied. */
export type WebhookConfig = Static<typeof WebhookConfigSchema>;
