/**
 * A local HTTP server that answers as a Slack incoming webhook does: `200 ok`; `400 invalid_payload` for a
 * body that is not valid JSON, has neither text nor blocks, or breaks Slack's limits (more than 50 blocks,
 * a section text over 3000 characters, a `text` of 4000 characters or more); and whatever is scripted
 * (`429` with `Retry-After`, `500`, `404 channel_not_found`...). Every message is checked against the limits,
 * and violations are kept in `violations`.
 */
import { type RecordedRequest, RecordingServer, type Reply } from './http-server.ts';

export interface SlackMessage {
  text?: string;
  channel?: string;
  username?: string;
  icon_emoji?: string;
  blocks?: { type: string; text?: { type: string; text: string }; fields?: { type: string; text: string }[]; elements?: { type: string; text: string }[] }[];
  attachments?: { color?: string; blocks?: SlackMessage['blocks']; fallback?: string }[];
}

export const SLACK_LIMITS = { blocks: 50, sectionText: 3000, text: 4000, fieldText: 2000, fields: 10 } as const;

/** Every way a message breaks Slack's documented limits (empty when it is fine). */
export function slackLimitViolations(m: SlackMessage): string[] {
  const out: string[] = [];
  if (typeof m.text === 'string' && m.text.length >= SLACK_LIMITS.text) out.push(`text is ${m.text.length} characters`);
  const check = (blocks: SlackMessage['blocks'], where: string) => {
    if (!blocks) return;
    if (blocks.length > SLACK_LIMITS.blocks) out.push(`${where}: ${blocks.length} blocks`);
    blocks.forEach((b, i) => {
      if (b.type === 'section' && b.text && b.text.text.length > SLACK_LIMITS.sectionText) out.push(`${where}[${i}] section text is ${b.text.text.length} characters`);
      if (b.fields && b.fields.length > SLACK_LIMITS.fields) out.push(`${where}[${i}] has ${b.fields.length} fields`);
      for (const f of b.fields ?? []) if (f.text.length > SLACK_LIMITS.fieldText) out.push(`${where}[${i}] field is ${f.text.length} characters`);
      if (b.type === 'header' && b.text && b.text.text.length > 150) out.push(`${where}[${i}] header is ${b.text.text.length} characters`);
      if (b.type === 'context' && (b.elements?.length ?? 0) > 10) out.push(`${where}[${i}] context has ${b.elements!.length} elements`);
    });
  };
  check(m.blocks, 'blocks');
  const attachBlocks = (m.attachments ?? []).reduce((n, a) => n + (a.blocks?.length ?? 0), 0);
  if ((m.blocks?.length ?? 0) + attachBlocks > SLACK_LIMITS.blocks) out.push(`${(m.blocks?.length ?? 0) + attachBlocks} blocks in all`);
  (m.attachments ?? []).forEach((a, i) => check(a.blocks, `attachments[${i}].blocks`));
  return out;
}

export class SlackServer extends RecordingServer {
  readonly violations: { request: RecordedRequest; problems: string[] }[] = [];
  /** Messages answered `200 ok`, parsed, in arrival order. */
  readonly messages: SlackMessage[] = [];

  constructor() {
    super();
    this.responder = (req) => this.answer(req);
  }

  private answer(req: RecordedRequest): Reply {
    const m = req.json as SlackMessage | undefined;
    if (!m || typeof m !== 'object') return { status: 400, body: 'invalid_payload' };
    if (!m.text && !m.blocks && !m.attachments) return { status: 400, body: 'no_text' };
    const problems = slackLimitViolations(m);
    if (problems.length) {
      this.violations.push({ request: req, problems });
      return { status: 400, body: 'invalid_blocks' };
    }
    this.messages.push(m);
    return { status: 200, body: 'ok' };
  }
}
