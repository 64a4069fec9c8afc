import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/**
 * The schema of the slack exporter's config (TypeBox; defaults applied by Ajv): incoming-webhook URL, channel,
 * user name and icon overrides, `send_resolved`, title and text templates, and the shared delivery keys.
 */
export const SlackConfigSchema = Obj({
  webhook_url: Type.String({ format: 'uri', description: 'the Slack incoming-webhook URL (a secret: use ${env:SLACK_WEBHOOK_URL})' }),
  channel: Type.String({ default: '', description: 'overrides the webhook default channel (legacy webhooks only)' }),
  username: Type.String({ default: '', description: 'overrides the webhook default user name' }),
  icon_emoji: Type.String({ default: '', description: 'overrides the webhook default icon, e.g. ":rotating_light:"' }),
  send_resolved: Type.Boolean({ default: true, description: 'also post when a group resolves' }),
  title: Type.String({ default: '{{ subject }}', description: 'message title template' }),
  text: Type.String({ default: '', description: 'optional text template shown above the alerts' }),
  ...deliveryConfigProps,
});
/** The slack exporter's validated config, defaults applied. */
export type SlackConfig = Static<typeof SlackConfigSchema>;
