import { describe, expect, it } from 'vitest';
import { Template } from '../../src/delivery/template.ts';
import { makeAlert, makeNotification } from '../../test/doubles/alerts.ts';
import { buildSlackMessage, escapeMrkdwn } from './slack-message.ts';

const HOSTILE = '<!channel> <https://example.invalid|click> & <@U123>';

/** Every string in a payload: `text`, attachment fallbacks, block texts and context elements. */
function mrkdwnTexts(p: ReturnType<typeof buildSlackMessage>): string[] {
  const out = [p.text];
  for (const a of p.attachments) {
    out.push(a.fallback);
    for (const b of a.blocks) {
      if (b.text?.type === 'mrkdwn') out.push(b.text.text);
      for (const e of b.elements ?? []) out.push(e.text);
    }
  }
  return out;
}

describe('Slack message escaping', () => {
  it('escapes &, < and > as Slack requires', () => {
    expect(escapeMrkdwn('a & <b> >c')).toBe('a &amp; &lt;b&gt; &gt;c');
  });

  it('escapes telemetry-borne text in `text`, the fallback and every mrkdwn block, so no mention or link reaches the channel', () => {
    const n = makeNotification(['slack/oncall'], {
      alerts: [makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'span.name': HOSTILE }, { annotations: { summary: `slow ${HOSTILE}`, description: HOSTILE } })],
    });
    const p = buildSlackMessage(n, {
      title: Template.parse('{{ labels.alertname }} {{ commonLabels.span.name }}'),
      text: Template.parse('intro {{ commonLabels.span.name }}'),
      receiver: 'slack/oncall',
      channel: '',
      username: '',
      icon_emoji: '',
    });
    const texts = mrkdwnTexts(p);
    expect(texts.length).toBeGreaterThan(3);
    for (const t of texts) {
      expect(t).not.toMatch(/<!channel>|<https:\/\/example\.invalid|<@U123>/);
      expect(t.replace(/<https?:\/\/[^|>]*\|source>/g, '')).not.toMatch(/[<>]/);
    }
    expect(p.text).toContain('&lt;!channel&gt;');
    expect(p.text).toContain('&amp;');
  });
});
