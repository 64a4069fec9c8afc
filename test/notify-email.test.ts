import libmime from 'libmime';
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { type Exporter, stateDirFor } from '../src/component.ts';
import { emailExporterFactory } from '../exporters/email/index.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { SmtpTestServer } from './doubles/smtp-server.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(smtpOver: Record<string, unknown> = {}, raw: Record<string, unknown> = {}) {
  const smtp = await new SmtpTestServer({ username: 'vigil', password: 'pw', secure: smtpOver.secure === true }).start();
  cleanup.push(() => smtp.close());
  const dir = tempDir();
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const settings = testSettings('exporter', 'email/oncall', { stateDir: dir });
  const config = configFor(emailExporterFactory, {
    smtp: { host: 'localhost', port: smtp.port, starttls: 'required', username: 'vigil', password: 'pw', ca_file: smtp.certFile, ...smtpOver },
    from: 'vigil <vigil@example.com>',
    to: ['oncall@example.com', 'lead@example.com'],
    cc: ['audit@example.com'],
    retry: { initial_interval: '20ms', max_interval: '50ms' },
    ...raw,
  });
  const exp = emailExporterFactory.create(settings, config) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { smtp, exp, deadLetter: path.join(stateDirFor(settings), 'dead-letter.jsonl') };
}

const addresses = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value.map((v) => v.address));

describe('email exporter', () => {
  it('mails over STARTTLS with AUTH: Alertmanager subject, HTML and text parts, recipients', async () => {
    const { smtp, exp } = await setup();
    const alerts = [
      makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', pod: 'a' }, { annotations: { summary: 'p95 <b>high</b> & rising' } }),
      makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout', pod: 'b' }),
    ];
    await exp.consume({ alerts: [makeNotification(['email/oncall'], { alerts, commonLabels: { alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' } })] });
    await waitFor(() => smtp.mails.length === 1, 10_000, 'mail');
    const mail = smtp.mails[0]!;
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe('vigil');
    expect(mail.from).toBe('vigil@example.com');
    expect(mail.to.sort()).toEqual(['audit@example.com', 'lead@example.com', 'oncall@example.com']);
    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe('[FIRING:2] HighP95Latency checkout (critical)');
    expect(addresses(parsed.to).sort()).toEqual(['lead@example.com', 'oncall@example.com']);
    expect(addresses(parsed.cc)).toEqual(['audit@example.com']);
    expect(parsed.text).toContain('p95 <b>high</b> & rising');
    expect(parsed.text).toContain('pod=b');
    expect(parsed.text).toContain('Value: 2345.5');
    expect(parsed.html).toContain('p95 &lt;b&gt;high&lt;/b&gt; &amp; rising');
    expect(parsed.html).not.toContain('<b>high</b>');
    expect(parsed.html).toContain('pod=b');
    expect(parsed.html).toContain('href="http://vigil.local/rules/HighP95Latency"');
  });

  it('speaks implicit TLS with smtp.secure', async () => {
    const { smtp, exp } = await setup({ secure: true });
    await exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => smtp.mails.length === 1, 10_000, 'mail');
    expect(smtp.mails[0]!.secure).toBe(true);
  });

  it('writes [RESOLVED] for a resolved group', async () => {
    const { smtp, exp } = await setup();
    const a = makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' }, { status: 'resolved', endsAt: '2026-11-23T10:10:00Z' });
    await exp.consume({ alerts: [makeNotification(['email/oncall'], { alerts: [a], commonLabels: { alertname: 'HighP95Latency', 'service.name': 'checkout' } })] });
    await waitFor(() => smtp.mails.length === 1, 10_000, 'mail');
    const parsed = await simpleParser(smtp.mails[0]!.raw);
    expect(parsed.subject).toBe('[RESOLVED] HighP95Latency checkout');
    expect(parsed.text).toContain('Resolved: 2026-11-23T10:10:00Z');
  });

  it('a label with CR/LF cannot inject a header', async () => {
    const { smtp, exp } = await setup();
    const evil = 'checkout\r\nBcc: attacker@evil.example\r\nX-Injected: yes';
    const a = makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': evil });
    await exp.consume({ alerts: [makeNotification(['email/oncall'], { alerts: [a], groupLabels: { alertname: 'HighP95Latency', 'service.name': evil }, commonLabels: a.labels, groupKey: `{}:{service.name="${evil}"}` })] });
    await waitFor(() => smtp.mails.length === 1, 10_000, 'mail');
    const mail = smtp.mails[0]!;
    expect(mail.to).not.toContain('attacker@evil.example');
    const parsed = await simpleParser(mail.raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has('x-injected')).toBe(false);
    expect(parsed.subject).toContain('checkout Bcc: attacker@evil.example');
    const headerBlock = mail.raw.toString('utf8').split(/\r\n\r\n/)[0]!;
    expect(headerBlock).not.toMatch(/^Bcc:/im);
    expect(headerBlock).not.toMatch(/^X-Injected:/im);
  });

  it('a long group key is cut for its header between characters, never inside one (an emoji at the cut point)', async () => {
    const { smtp, exp } = await setup();
    const value = `${'a'.repeat(899 - '{}:{service.name="'.length)}😀😀"}`;
    const groupKey = `{}:{service.name="${value}`;
    expect(groupKey.charCodeAt(899)).toBe(0xd83d); // the cut at 900 falls inside the first emoji
    await exp.consume({ alerts: [makeNotification(['email/oncall'], { groupKey })] });
    await waitFor(() => smtp.mails.length === 1, 10_000, 'mail');
    const parsed = await simpleParser(smtp.mails[0]!.raw);
    // mailparser leaves an unknown header's encoded words as they are: decode them as a mail client does
    const header = libmime.decodeWords(String(parsed.headers.get('x-vigil-group-key')));
    expect(header).not.toContain('\ufffd');
    expect(groupKey.startsWith(header)).toBe(true);
    expect(header.length).toBe(899);
  });

  it('retries a 451 and dead-letters a 550; a wrong password is permanent', async () => {
    const { smtp, exp, deadLetter } = await setup();
    smtp.failNext.push({ code: 451, message: 'try later' }, { code: 550, message: 'mailbox unavailable' });
    await exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => fs.existsSync(deadLetter), 10_000, 'dead letter');
    const line = JSON.parse(fs.readFileSync(deadLetter, 'utf8').trim()) as { reason: string; attempts: number };
    expect(line.attempts).toBe(2);
    expect(line.reason).toContain('550');

    const bad = await setup({ password: 'wrong' });
    await bad.exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => fs.existsSync(bad.deadLetter), 10_000, 'dead letter (auth)');
    expect(fs.readFileSync(bad.deadLetter, 'utf8')).toMatch(/permanent error: .*(Invalid login|535)/);
    expect(bad.smtp.mails).toHaveLength(0);
  });

  it('retries an AUTH answered 4xx (454 temporary authentication failure, RFC 4954); a 535 stays permanent', async () => {
    const { smtp, exp, deadLetter } = await setup();
    smtp.failAuth.push({ code: 454, message: '4.7.0 Temporary authentication failure' });
    await exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => smtp.mails.length === 1 || fs.existsSync(deadLetter), 10_000, 'delivery after the retry');
    expect(fs.existsSync(deadLetter) ? fs.readFileSync(deadLetter, 'utf8') : '', 'not dead-lettered').toBe('');
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.user).toBe('vigil');

    const bad = await setup();
    bad.smtp.failAuth.push({ code: 535, message: '5.7.8 Authentication credentials invalid' });
    await bad.exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => fs.existsSync(bad.deadLetter), 10_000, 'dead letter (535)');
    const line = JSON.parse(fs.readFileSync(bad.deadLetter, 'utf8').trim()) as { reason: string; attempts: number };
    expect(line.attempts).toBe(1);
    expect(line.reason).toMatch(/permanent error: .*535/);
    expect(bad.smtp.mails).toHaveLength(0);
  });

  it('refuses an untrusted certificate unless told to skip verification', async () => {
    const { smtp, exp, deadLetter } = await setup({ ca_file: '' }, { retry: { enabled: false } });
    await exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => fs.existsSync(deadLetter), 10_000, 'dead letter (tls)');
    expect(fs.readFileSync(deadLetter, 'utf8')).toMatch(/certificate/i);
    expect(smtp.mails).toHaveLength(0);

    const skip = await setup({ ca_file: '', tls_insecure_skip_verify: true });
    await skip.exp.consume({ alerts: [makeNotification(['email/oncall'])] });
    await waitFor(() => skip.smtp.mails.length === 1, 10_000, 'mail');
  });
});
