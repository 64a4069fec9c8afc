/** The mail for one alert group: subject, and the same content as HTML (escaped) and plain text. */
import { formatValue } from '../../src/delivery/format.ts';
import type { Template } from '../../src/delivery/template.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';

/** Anything that reaches a header line: CR, LF and other control characters become spaces. */
export function headerSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** `s` with `& < > " '` replaced by HTML entities, safe in element text and in quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

interface AlertView {
  title: string;
  state: string;
  description: string;
  labels: [string, string][];
  value: string;
  startsAt: string;
  endsAt: string;
  link: string;
}

function view(a: Alert): AlertView {
  const title = a.annotations?.summary ?? a.labels?.alertname ?? 'alert';
  const description = a.annotations?.description ?? '';
  return {
    title,
    state: a.status === 'resolved' ? 'resolved' : `firing (${a.labels?.severity ?? 'no severity'})`,
    description: description !== title ? description : '',
    labels: Object.keys(a.labels ?? {})
      .sort()
      .map((k) => [k, a.labels[k]!]),
    value: formatValue(a.value),
    startsAt: a.startsAt,
    endsAt: a.status === 'resolved' && a.endsAt && !a.endsAt.startsWith('0001-') ? a.endsAt : '',
    link: /^https?:\/\//i.test(a.generatorURL ?? '') ? a.generatorURL : '',
  };
}

/**
 * The mail for one notification: its subject (the rendered template, made header-safe) and the same content
 * as plain text and as HTML (every value escaped), one section per alert.
 */
export function buildEmail(n: AlertNotification, subjectTemplate: Template, receiver: string): { subject: string; text: string; html: string } {
  const subject = headerSafe(subjectTemplate.render(n, receiver));
  const alerts = (n.alerts ?? []).map(view);
  const firing = alerts.filter((a) => !a.state.startsWith('resolved')).length;
  const lines: string[] = [subject, '', `${alerts.length} alert(s): ${firing} firing, ${alerts.length - firing} resolved`, ''];
  for (const a of alerts) {
    lines.push(`* ${a.title} — ${a.state}`);
    if (a.description) lines.push(`  ${a.description}`);
    lines.push(`  Labels: ${a.labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
    lines.push(`  Value: ${a.value}`);
    lines.push(`  Started: ${a.startsAt}`);
    if (a.endsAt) lines.push(`  Resolved: ${a.endsAt}`);
    if (a.link) lines.push(`  Source: ${a.link}`);
    lines.push('');
  }
  if (n.externalURL) lines.push(`Sent by vigil (${n.externalURL}), receiver ${receiver}`);
  else lines.push(`Sent by vigil, receiver ${receiver}`);

  const e = escapeHtml;
  const html: string[] = [
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>',
    e(subject),
    '</title></head><body style="font-family:sans-serif">',
    `<h2 style="color:${n.status === 'resolved' ? '#2eb886' : '#d40e0d'}">${e(subject)}</h2>`,
    `<p>${alerts.length} alert(s): ${firing} firing, ${alerts.length - firing} resolved</p>`,
  ];
  for (const a of alerts) {
    html.push('<div style="border-left:4px solid #ccc;padding-left:8px;margin-bottom:12px">');
    html.push(`<p><strong>${e(a.title)}</strong> — ${e(a.state)}</p>`);
    if (a.description) html.push(`<p>${e(a.description)}</p>`);
    html.push('<table>');
    html.push(`<tr><td>Labels</td><td>${a.labels.map(([k, v]) => `<code>${e(k)}=${e(v)}</code>`).join(' ')}</td></tr>`);
    html.push(`<tr><td>Value</td><td>${e(a.value)}</td></tr>`);
    html.push(`<tr><td>Started</td><td>${e(a.startsAt)}</td></tr>`);
    if (a.endsAt) html.push(`<tr><td>Resolved</td><td>${e(a.endsAt)}</td></tr>`);
    if (a.link) html.push(`<tr><td>Source</td><td><a href="${e(a.link)}">${e(a.link)}</a></td></tr>`);
    html.push('</table></div>');
  }
  html.push(`<p style="color:#888">Sent by vigil${n.externalURL ? ` (${e(n.externalURL)})` : ''}, receiver ${e(receiver)}</p></body></html>`);
  return { subject, text: lines.join('\n'), html: html.join('') };
}
