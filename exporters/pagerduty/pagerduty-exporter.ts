import { checkStatus, post, redact, type HttpResponse } from '../../src/delivery/http.ts';
import { IncidentSender, type IncidentSenderOptions } from '../../src/delivery/incident-sender.ts';
import type { Logger } from '../../src/logger.ts';
import type { AlertNotification } from '../../src/model.ts';
import type { PagerDutyConfig } from './config.ts';
import { buildPagerDutyEvent, dedupKey, PagerDutyTemplates } from './pagerduty-event.ts';
import { USER_AGENT } from '../../src/version.ts';

/**
 * PagerDuty's error answer as one line: `Event object is invalid: Length of 'routing_key' is incorrect`
 * (the Events API answers `{"status", "message", "errors": [...]}`); any other body as text. The routing
 * key never appears in it.
 */
export function pagerDutyError(res: HttpResponse, routingKey: string): string {
  let text = res.body.trim();
  try {
    const j = JSON.parse(res.body) as { message?: unknown; errors?: unknown };
    const errors = Array.isArray(j.errors) ? j.errors.map(String) : [];
    if (typeof j.message === 'string') text = [j.message, ...errors].join(': ');
  } catch {
    // not JSON: keep the text
  }
  return routingKey ? text.split(routingKey).join('<routing_key>') : text;
}

/**
 * Sends each alert group to PagerDuty's Events API v2 (`POST /v2/enqueue`): `trigger` while it fires,
 * `resolve` once it is resolved, with the same `dedup_key`. Status handling as PagerDuty documents it: 202
 * accepted; 400 invalid event: permanent (dead letter, with PagerDuty's message); 429: retried with backoff
 * (and its Retry-After when given); 5xx: retried. A trigger or resolve that is no longer the incident's state
 * when its turn comes (a retried trigger behind the resolve) is skipped (src/delivery/incident-state.ts).
 */
export class PagerDutySender extends IncidentSender {
  private readonly templates: PagerDutyTemplates;

  constructor(
    private readonly config: PagerDutyConfig,
    private readonly receiver: string,
    stateDir: string,
    logger: Logger,
    /** Where a state file that cannot be saved is reported, and the sender a reload replaces. */
    reload: Pick<IncidentSenderOptions, 'telemetry' | 'previous'> = {},
  ) {
    super({ ...reload, sendResolved: config.send_resolved, stateDir, logger, incidentKey: dedupKey, keyField: 'dedup_key', skipMessage: 'pagerduty: skipped an event the incident has moved past' });
    this.templates = new PagerDutyTemplates(config);
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<void> {
    const key = this.currentKey(n);
    if (key === undefined) return;
    const event = buildPagerDutyEvent(n, this.config, this.templates, this.receiver);
    const res = await post(this.config.url, JSON.stringify(event), { 'content-type': 'application/json', 'user-agent': USER_AGENT }, signal, this.agent);
    if (res.status >= 200 && res.status < 300) return;
    checkStatus({ ...res, body: pagerDutyError(res, this.config.routing_key) }, `PagerDuty ${redact(this.config.url)} (${event.event_action} ${key.slice(0, 12)})`);
  }
}
