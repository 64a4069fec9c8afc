/**
 * A local HTTP server that answers as PagerDuty's Events API v2 does (`POST /v2/enqueue`,
 * https://developer.pagerduty.com/docs/events-api-v2/overview/): `202 {"status":"success","message":"Event
 * processed","dedup_key"}` for a valid event; `400 {"status":"invalid event","message":"Event object is
 * invalid","errors":[...]}` for a routing key that is not 32 characters, an unknown `event_action`, a
 * `dedup_key` over 255 characters, or a trigger without a summary (or one over 1,024 characters), a source, or
 * one of the four severities; scripted answers first (429, 500, slow ones). It keeps the incidents the events
 * open and close, by dedup_key, as PagerDuty does.
 */
import { type RecordedRequest, RecordingServer, type Reply } from './http-server.ts';
import type { PagerDutyEvent } from '../../exporters/pagerduty/pagerduty-event.ts';

export class PagerDutyServer extends RecordingServer {
  /** Valid events, in the order they were accepted. */
  readonly events: PagerDutyEvent[] = [];
  /** Incident state by dedup_key. */
  readonly incidents = new Map<string, 'triggered' | 'resolved'>();

  constructor() {
    super();
    this.responder = (req) => this.answer(req);
  }

  private answer(req: RecordedRequest): Reply {
    const json = { 'content-type': 'application/json' };
    if (req.method !== 'POST' || req.path !== '/v2/enqueue') return { status: 404, headers: json, body: '{"status":"not found"}' };
    const e = req.json as PagerDutyEvent | undefined;
    const errors: string[] = [];
    if (!e || typeof e !== 'object') return { status: 400, headers: json, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid JSON'] }) };
    if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action)) errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
    if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255)) errors.push("'dedup_key' is invalid (must be a string of at most 255 characters)");
    if (e.event_action !== 'trigger' && !e.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve events");
    if (e.event_action === 'trigger') {
      const p = e.payload;
      if (!p || typeof p !== 'object') errors.push("'payload' is missing or blank");
      else {
        if (typeof p.summary !== 'string' || !p.summary) errors.push("'payload.summary' is missing or blank");
        else if (p.summary.length > 1024) errors.push("'payload.summary' is too long (must be at most 1024 characters)");
        if (typeof p.source !== 'string' || !p.source) errors.push("'payload.source' is missing or blank");
        if (!['critical', 'error', 'warning', 'info'].includes(p.severity)) errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
      }
    }
    if (req.body.length > 512 * 1024) errors.push('Event is too large');
    if (errors.length) return { status: 400, headers: json, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }) };
    this.events.push(e);
    const key = e.dedup_key ?? `generated-${this.events.length}`;
    if (e.event_action === 'trigger') this.incidents.set(key, 'triggered');
    else if (e.event_action === 'resolve' && this.incidents.has(key)) this.incidents.set(key, 'resolved');
    return { status: 202, headers: json, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }) };
  }
}
