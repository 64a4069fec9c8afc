import { checkStatus, post, redact, type HttpResponse } from '../../src/delivery/http.ts';
import { IncidentSender, type IncidentSenderOptions } from '../../src/delivery/incident-sender.ts';
import type { Logger } from '../../src/logger.ts';
import type { AlertNotification } from '../../src/model.ts';
import type { OpsgenieConfig } from './config.ts';
import { buildOpsgenieRequest, opsgenieAlias, OpsgenieTemplates, opsgenieUpdates } from './opsgenie-alert.ts';
import { USER_AGENT } from '../../src/version.ts';

/**
 * Opsgenie's error answer as one line (`{"message": "...", "errors": {...}, "took", "requestId"}`), any other
 * body as text; the API key never appears in it.
 */
export function opsgenieError(res: HttpResponse, apiKey: string): string {
  let text = res.body.trim();
  try {
    const j = JSON.parse(res.body) as { message?: unknown; errors?: unknown; requestId?: unknown };
    if (typeof j.message === 'string') {
      const errs = j.errors && typeof j.errors === 'object' ? Object.values(j.errors as Record<string, unknown>).map(String) : [];
      text = [j.message, ...errs].join(': ') + (typeof j.requestId === 'string' ? ` (requestId ${j.requestId})` : '');
    }
  } catch {
    // not JSON
  }
  return apiKey ? text.split(apiKey).join('<api_key>') : text;
}

/**
 * Creates an Opsgenie alert per firing group and closes it by alias when the group resolves. Status
 * handling as Opsgenie documents it: 202 (the request is queued by Opsgenie; `result`, `requestId`) is
 * success; 429 (rate limit) and 5xx are retried with backoff; with `update_alerts`, each create is followed by
 * the updates of the open alert's message and description, as Alertmanager sends them; 400, 401, 402, 403, 404, 409, 422 are permanent
 * (dead letter, with Opsgenie's message). A create or close that is no longer the group's state when its
 * turn comes is skipped (src/delivery/incident-state.ts).
 */
export class OpsgenieSender extends IncidentSender {
  private readonly templates: OpsgenieTemplates;
  private readonly base: string;

  constructor(
    private readonly config: OpsgenieConfig,
    private readonly receiver: string,
    stateDir: string,
    logger: Logger,
    /** Where a state file that cannot be saved is reported, and the sender a reload replaces. */
    reload: Pick<IncidentSenderOptions, 'telemetry' | 'previous'> = {},
  ) {
    super({ ...reload, sendResolved: config.send_resolved, stateDir, logger, incidentKey: opsgenieAlias, keyField: 'alias', skipMessage: 'opsgenie: skipped a request the alert has moved past' });
    this.templates = new OpsgenieTemplates(config);
    this.base = config.api_url.replace(/\/+$/, '');
  }

  async send(n: AlertNotification, signal: AbortSignal): Promise<void> {
    const alias = this.currentKey(n);
    if (alias === undefined) return;
    const req = buildOpsgenieRequest(n, this.config, this.templates, this.receiver);
    // update_alerts, as Alertmanager: the create, then the message and the description of the open alert
    // (a failure of any retries them all; the create is de-duplicated on the alias)
    for (const r of [req, ...(this.config.update_alerts ? opsgenieUpdates(req) : [])]) {
      const url = this.base + r.path;
      const res = await post(url, JSON.stringify(r.body), { 'content-type': 'application/json', 'user-agent': USER_AGENT, authorization: `GenieKey ${this.config.api_key}` }, signal, this.agent, r.method);
      if (res.status >= 200 && res.status < 300) continue;
      checkStatus({ ...res, body: opsgenieError(res, this.config.api_key) }, `Opsgenie ${redact(this.base)} (${r.action} ${alias.slice(0, 12)})`);
    }
  }
}
