/**
 * Builds the Slack incoming-webhook message for one alert group: a `text` fallback (notifications, old
 * clients), and an attachment coloured by state and severity holding Block Kit blocks: a header, the
 * optional text, then one section per alert (summary, labels, value, start time, link). Slack's limits are
 * kept by cutting, never by failing: at most 50 blocks (the alerts that do not fit are counted in a last
 * section), 3000 characters a section text, 150 a header, `text` under 4000; what is cut ends with
 * "… (truncated)".
 */
import { cut, formatValue, TRUNCATION_MARKER } from '../../src/delivery/format.ts';
import { firingRank } from '../../src/delivery/severity.ts';
import type { Template } from '../../src/delivery/template.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';

/** Most Block Kit blocks in one Slack message (Slack's limit, 50). */
export const SLACK_MAX_BLOCKS = 50;
/** Longest text of a Block Kit section block, in characters (Slack's limit, 3000). */
export const SLACK_MAX_SECTION = 3000;
/** Longest text of a Block Kit header block, in characters (Slack's limit, 150). */
export const SLACK_MAX_HEADER = 150;
/** Longest top-level `text` vigil sends, in characters (kept under 4000). */
export const SLACK_MAX_TEXT = 3999;

/** Attachment colours: resolved green; firing by severity. */
export const COLORS = { resolved: '#2eb886', critical: '#d40e0d', error: '#e01e5a', warning: '#ff9900', info: '#439fe0', other: '#808080' } as const;

/** One Block Kit block of the message (header, section, context or divider) with plain-text or mrkdwn text. */
export interface SlackBlock {
  type: 'header' | 'section' | 'context' | 'divider';
  text?: { type: 'plain_text' | 'mrkdwn'; text: string };
  elements?: { type: 'mrkdwn'; text: string }[];
}

/**
 * The incoming-webhook JSON body: fallback `text`, optional channel/user name/icon overrides, and one coloured
 * attachment holding the blocks.
 */
export interface SlackPayload {
  text: string;
  channel?: string;
  username?: string;
  icon_emoji?: string;
  attachments: { color: string; fallback: string; blocks: SlackBlock[] }[];
}

/**
 * What {@link buildSlackMessage} needs besides the notification: the parsed templates, the receiver (exporter
 * ID) and the overrides from the config ("" = the webhook's own).
 */
export interface SlackMessageOptions {
  title: Template;
  text: Template | undefined;
  receiver: string;
  channel: string;
  username: string;
  icon_emoji: string;
}

/**
 * The attachment colour of a notification ({@link COLORS}): green when resolved, else by the most severe firing alert's severity.
 */
export function colorFor(n: AlertNotification): string {
  if (n.status === 'resolved') return COLORS.resolved;
  return [COLORS.other, COLORS.info, COLORS.warning, COLORS.error, COLORS.critical][firingRank(n)]!;
}

/** Slack mrkdwn needs &, < and > escaped (they delimit links and mentions). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A URL that can go in a `<url|label>` link: http(s) only, no characters that end the link. */
function safeLink(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  return url.replace(/[<>|\s]/g, encodeURIComponent);
}

function alertSection(a: Alert): string {
  const summary = a.annotations?.summary ?? a.annotations?.description ?? a.labels?.alertname ?? 'alert';
  const lines: string[] = [];
  const state = a.status === 'resolved' ? ':white_check_mark: resolved' : `:fire: ${a.labels?.severity ?? 'firing'}`;
  lines.push(`*${escapeMrkdwn(summary)}*  (${state})`);
  const desc = a.annotations?.description;
  if (desc && desc !== summary) lines.push(escapeMrkdwn(desc));
  const labels = Object.keys(a.labels ?? {})
    .sort()
    .map((k) => `\`${escapeMrkdwn(k)}=${escapeMrkdwn(a.labels[k]!)}\``)
    .join(' ');
  if (labels) lines.push(`*Labels:* ${labels}`);
  let meta = `*Value:* ${formatValue(a.value)}  *Since:* ${escapeMrkdwn(a.startsAt)}`;
  if (a.status === 'resolved' && a.endsAt && !a.endsAt.startsWith('0001-')) meta += `  *Resolved:* ${escapeMrkdwn(a.endsAt)}`;
  const link = a.generatorURL ? safeLink(a.generatorURL) : undefined;
  if (link) meta += `  <${link}|source>`;
  lines.push(meta);
  return cut(lines.join('\n'), SLACK_MAX_SECTION);
}

/**
 * The Slack message for one notification (see this file's comment); Slack's limits are kept by cutting, never by failing.
 */
export function buildSlackMessage(n: AlertNotification, o: SlackMessageOptions): SlackPayload {
  const title = o.title.render(n, o.receiver).replace(/[\r\n]+/g, ' ');
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: cut(title || 'vigil alert', SLACK_MAX_HEADER) } }];
  const intro = o.text ? o.text.render(n, o.receiver) : '';
  if (intro) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(intro), SLACK_MAX_SECTION) } });
  const alerts = n.alerts ?? [];
  // Leave room for the "and N more" section.
  const room = SLACK_MAX_BLOCKS - blocks.length - 1;
  const shown = alerts.length <= room + 1 ? alerts.length : room;
  for (let i = 0; i < shown; i++) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: alertSection(alerts[i]!) } });
  if (shown < alerts.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `… and ${alerts.length - shown} more alerts in this group ${TRUNCATION_MARKER}` } });
  }
  const firstSummary = alerts[0]?.annotations?.summary ?? '';
  // `text` and `fallback` are parsed for links and mentions (`<!channel>`, `<url|label>`) like any mrkdwn:
  // escaped, so that a label or annotation taken from telemetry cannot ping a channel or plant a link.
  const fallback = cut(
    escapeMrkdwn([title, intro, firstSummary && alerts.length === 1 ? firstSummary : `${alerts.length} alerts`].filter(Boolean).join('\n')),
    SLACK_MAX_TEXT,
  );
  const payload: SlackPayload = { text: fallback, attachments: [{ color: colorFor(n), fallback, blocks }] };
  if (o.channel) payload.channel = o.channel;
  if (o.username) payload.username = o.username;
  if (o.icon_emoji) payload.icon_emoji = o.icon_emoji;
  return payload;
}
