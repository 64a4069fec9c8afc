import crypto from 'node:crypto';
import type { Agent } from 'undici';
import { checkStatus, httpAgent, post, redact } from '../../src/delivery/http.ts';
import type { NotificationSender } from '../../src/delivery/notification-exporter.ts';
import type { AlertNotification } from '../../src/model.ts';
import type { WebhookConfig } from './config.ts';
import { webhookPayload } from '../../src/delivery/webhook-payload.ts';
import { USER_AGENT } from '../../src/version.ts';

/** The HMAC header value for a body: `sha256=<hex>`. */
export function signature(secret: string, body: Buffer | string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs each notification as an Alertmanager webhook body. */
export class WebhookSender implements NotificationSender {
  private agent: Agent | undefined;
  /** The request headers, built once (a signature is added per body). */
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: WebhookConfig,
    private readonly receiver: string,
  ) {
    this.headers = { 'user-agent': USER_AGENT, ...config.headers, 'content-type': 'application/json' };
  }

  async start(): Promise<void> {
    this.agent = httpAgent();
  }

  async shutdown(): Promise<void> {
    await this.agent?.close();
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<void> {
    // the JSON text itself: undici writes it as UTF-8, the same bytes the signature is computed over
    const body = JSON.stringify(webhookPayload(n, this.receiver, this.config.max_alerts));
    const headers = this.config.hmac_secret ? { ...this.headers, 'x-vigil-signature': signature(this.config.hmac_secret, body) } : this.headers;
    const res = await post(this.config.url, body, headers, signal, this.agent);
    checkStatus(res, `webhook ${redact(this.config.url)}`);
  }
}
