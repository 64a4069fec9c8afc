import type { Agent } from 'undici';
import { checkStatus, httpAgent, post } from '../../src/delivery/http.ts';
import type { NotificationSender } from '../../src/delivery/notification-exporter.ts';
import { Template } from '../../src/delivery/template.ts';
import type { AlertNotification } from '../../src/model.ts';
import type { SlackConfig } from './config.ts';
import { buildSlackMessage, type SlackMessageOptions } from './slack-message.ts';
import { USER_AGENT } from '../../src/version.ts';

/**
 * Posts one message per alert group to a Slack incoming webhook. `200 ok` is success; 429 and 5xx are
 * retried (after Retry-After); 400 (invalid_payload...), 403, 404 (channel_not_found), 410 are permanent.
 */
export class SlackSender implements NotificationSender {
  private agent: Agent | undefined;
  private readonly message: SlackMessageOptions;

  constructor(
    private readonly config: SlackConfig,
    receiver: string,
  ) {
    this.message = {
      title: Template.parse(config.title),
      text: config.text ? Template.parse(config.text) : undefined,
      receiver,
      channel: config.channel,
      username: config.username,
      icon_emoji: config.icon_emoji,
    };
  }

  wants(n: AlertNotification): boolean {
    return this.config.send_resolved || n.status === 'firing';
  }

  async start(): Promise<void> {
    this.agent = httpAgent();
  }

  async shutdown(): Promise<void> {
    await this.agent?.close();
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(buildSlackMessage(n, this.message));
    const res = await post(this.config.webhook_url, body, { 'content-type': 'application/json', 'user-agent': USER_AGENT }, signal, this.agent);
    // The webhook URL is a secret: never name it in errors. Any 2xx is success (incoming webhooks answer
    // "ok", workflow webhooks a JSON body).
    checkStatus(res, 'Slack webhook');
  }
}
