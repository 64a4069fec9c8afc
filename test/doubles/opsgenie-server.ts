/**
 * A local HTTP server that answers as Opsgenie's Alert API v2 does (https://docs.opsgenie.com/docs/alert-api):
 * `Authorization: GenieKey <key>` checked (401 otherwise); `POST /v2/alerts` creates an alert (202
 * `{"result":"Request will be processed","took","requestId"}`; an open alert with the same alias is
 * de-duplicated, its count goes up); `POST /v2/alerts/{alias}/close?identifierType=alias` closes it (202);
 * `PUT /v2/alerts/{alias}/message|description?identifierType=alias` updates an alert's field (202); a body
 * that is not JSON: 400; a missing or too long message (130), a bad priority, more than 20 tags:
 * 422 `{"message":"Request body is not processable. Please check the errors.","errors":{...}}`; scripted
 * answers first (429, 500, slow ones).
 */
import crypto from 'node:crypto';
import { type RecordedRequest, RecordingServer, type Reply } from './http-server.ts';
import type { OpsgenieCreate } from '../../exporters/opsgenie/opsgenie-alert.ts';

export interface OpsgenieAlert {
  alias: string;
  status: 'open' | 'closed';
  count: number;
  create: OpsgenieCreate;
}

export class OpsgenieServer extends RecordingServer {
  readonly alerts = new Map<string, OpsgenieAlert>();
  /** Accepted actions in order: `create <alias>` / `close <alias>`. */
  readonly actions: string[] = [];

  constructor(readonly apiKey: string) {
    super();
    this.responder = (req) => this.answer(req);
  }

  private answer(req: RecordedRequest): Reply {
    const headers = { 'content-type': 'application/json' };
    const requestId = crypto.randomUUID();
    const reply = (status: number, body: Record<string, unknown>): Reply => ({ status, headers, body: JSON.stringify({ ...body, took: 0.01, requestId }) });
    if (req.headers.authorization !== `GenieKey ${this.apiKey}`) return reply(401, { message: 'Could not authenticate' });
    const update = /^\/v2\/alerts\/([^/]+)\/(message|description)$/.exec(new URL(req.path, 'http://x').pathname);
    if (req.method === 'PUT' && update) {
      if (new URL(req.path, 'http://x').searchParams.get('identifierType') !== 'alias') return reply(422, { message: 'identifierType must be alias in this test double' });
      const a = this.alerts.get(decodeURIComponent(update[1]!));
      const field = update[2] as 'message' | 'description';
      const value = (req.json as Record<string, unknown> | undefined)?.[field];
      if (typeof value !== 'string') return reply(422, { message: `${field} is required` });
      if (a) a.create = { ...a.create, [field]: value };
      this.actions.push(`update ${field} ${update[1]}`);
      return reply(202, { result: 'Request will be processed' });
    }
    if (req.method !== 'POST') return reply(404, { message: 'Handler not found' });
    if (req.json === undefined) return reply(400, { message: 'Could not parse the request body' });
    const url = new URL(req.path, 'http://x');
    if (url.pathname === '/v2/alerts') {
      const b = req.json as OpsgenieCreate;
      const errors: Record<string, string> = {};
      if (typeof b.message !== 'string' || !b.message.trim()) errors.message = 'Message can not be empty.';
      else if (b.message.length > 130) errors.message = 'Message can not be longer than 130 characters.';
      if (b.alias !== undefined && (typeof b.alias !== 'string' || b.alias.length > 512)) errors.alias = 'Alias can not be longer than 512 characters.';
      if (b.priority !== undefined && !/^P[1-5]$/.test(b.priority)) errors.priority = 'Priority should be one of [P1, P2, P3, P4, P5]';
      if (b.tags !== undefined && (!Array.isArray(b.tags) || b.tags.length > 20 || b.tags.some((t) => t.length > 50))) errors.tags = 'Tags can have at most 20 items of 50 characters.';
      if (b.description !== undefined && b.description.length > 15_000) errors.description = 'Description can not be longer than 15000 characters.';
      for (const r of b.responders ?? []) if (!r.id && !r.name && !r.username) errors.responders = 'Responder should have one of id, name, username.';
      if (Object.keys(errors).length) return reply(422, { message: 'Request body is not processable. Please check the errors.', errors });
      const alias = b.alias ?? requestId;
      const open = this.alerts.get(alias);
      if (open && open.status === 'open') open.count++;
      else this.alerts.set(alias, { alias, status: 'open', count: 1, create: b });
      this.actions.push(`create ${alias}`);
      return reply(202, { result: 'Request will be processed' });
    }
    const close = /^\/v2\/alerts\/([^/]+)\/close$/.exec(url.pathname);
    if (close) {
      if (url.searchParams.get('identifierType') !== 'alias') return reply(422, { message: 'identifierType must be alias in this test double' });
      const alias = decodeURIComponent(close[1]!);
      const a = this.alerts.get(alias);
      if (a) a.status = 'closed';
      this.actions.push(`close ${alias}`);
      return reply(202, { result: 'Request will be processed' });
    }
    return reply(404, { message: 'Handler not found' });
  }
}
