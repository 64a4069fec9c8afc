/**
 * No secret in any message: `vigil validate` with secret-bearing values that are wrong (a Slack webhook URL
 * with the wrong scheme, a webhook URL with a token, an Alertmanager URL with credentials) names the key
 * and what is wrong, never the value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { main } from '../app/cli.ts';
import { httpUrlIssue } from '../src/delivery/config.ts';
import { redact } from '../src/delivery/http.ts';
import { tempDir } from './helpers/index.ts';

const SECRETS = ['T0SECRET/B0SECRET/XXSLACKSECRETXX', 'tok3nW3bh00k', 'am-pa55word', 'smtp-pa55word', 'hmac-k3y'];

describe('secrets stay out of messages', () => {
  it('vigil validate names the key and the scheme of a bad URL, not the URL', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'pipelines.yaml');
    fs.writeFileSync(
      file,
      YAML.stringify({
        receivers: { otlp: {} },
        processors: { alerts: { rules: [{ name: 'A', metric: 'm', stat: 'last', op: '>', threshold: 1 }], routes: [{ exporters: ['slack/oncall', 'webhook/ops', 'alertmanager'] }] } },
        exporters: {
          'slack/oncall': { webhook_url: `ftp://hooks.slack.com/services/${SECRETS[0]}` },
          'webhook/ops': { url: `hooks.example.com/alerts?token=${SECRETS[1]}`, hmac_secret: SECRETS[4] },
          alertmanager: { url: `mailto:admin:${SECRETS[2]}@am.example.com` },
        },
        service: { pipelines: { main: { receivers: ['otlp'], processors: ['alerts'], exporters: ['slack/oncall', 'webhook/ops', 'alertmanager'] } } },
      }),
    );
    let out = '';
    const code = await main(['validate', '--config', file], { out: (s) => (out += s), err: (s) => (out += s) });
    expect(code).toBe(1);
    expect(out).toContain('exporters.slack/oncall.webhook_url: expected an http:// or https:// URL, got a "ftp:" URL (the value is not shown: it may be a secret)');
    expect(out).toContain('exporters.webhook/ops.url');
    expect(out).toContain('exporters.alertmanager.url');
    for (const s of SECRETS) expect(out).not.toContain(s);
  });

  it('URL messages and redacted URLs hold no path secret, query or credentials', () => {
    expect(httpUrlIssue('https://hooks.slack.com/services/T/B/X')).toBeUndefined();
    expect(httpUrlIssue(`hooks.slack.com/services/${SECRETS[0]}`)).toBe('expected an http:// or https:// URL, got a value without a scheme (the value is not shown: it may be a secret)');
    const r = redact(`https://user:${SECRETS[2]}@hooks.slack.com/services/${SECRETS[0]}?token=${SECRETS[1]}`);
    expect(r).toBe('https://hooks.slack.com/services/…');
    for (const s of SECRETS) expect(r).not.toContain(s);
  });
});
