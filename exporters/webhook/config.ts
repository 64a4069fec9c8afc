import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

export const WebhookConfigSchema = Obj({
  url: Type.String({ format: 'uri', description: 'where alert notifications are POSTed' }),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'extra HTTP headers (e.g. Authorization)' }),
  max_alerts: Type.Integer({ minimum: 0, default: 0, description: 'alerts per message at most; 0 = all (the rest is counted in truncatedAlerts)' }),
  hmac_secret: Type.String({ default: '', description: 'when set, X-Vigil-Signature: sha256=<hex HMAC-SHA256 of the body>' }),
  ...deliveryConfigProps,
});
export type WebhookConfig = Static<typeof WebhookConfigSchema>;
