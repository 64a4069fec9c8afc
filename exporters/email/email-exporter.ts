import fs from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import { permanentError, retryableError } from '../../src/errors.ts';
import type { NotificationSender } from '../../src/delivery/notification-exporter.ts';
import { Template } from '../../src/delivery/template.ts';
import type { AlertNotification } from '../../src/model.ts';
import type { EmailConfig } from './config.ts';
import { buildEmail, headerSafe } from './email-message.ts';
import { cut } from '../../src/delivery/format.ts';

/**
 * Mails each alert group over SMTP with nodemailer. The SMTP reply class decides (RFC 5321 4.2.1), whatever
 * the command: a 5xx reply is permanent (dead letter), a 4xx one is retried, AUTH included (454 "Temporary
 * authentication failure", RFC 4954, is retried; 535 bad credentials is permanent). Failed AUTH without a
 * reply (no credentials the server's methods take) is permanent; connection failures and timeouts are retried.
 */
export class EmailSender implements NotificationSender {
  private transport: Transporter | undefined;
  private readonly subject: Template;

  constructor(
    private readonly config: EmailConfig,
    private readonly receiver: string,
    private readonly timeoutMs: number,
  ) {
    this.subject = Template.parse(config.subject);
  }

  wants(n: AlertNotification): boolean {
    return this.config.send_resolved || n.status === 'firing';
  }

  async start(): Promise<void> {
    const s = this.config.smtp;
    let ca: string | undefined;
    if (s.ca_file) {
      try {
        ca = fs.readFileSync(s.ca_file, 'utf8');
      } catch (err) {
        throw new Error(`email: cannot read smtp.ca_file "${s.ca_file}": ${(err as Error).message}`);
      }
    }
    this.transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: !s.secure && s.starttls === 'required',
      ignoreTLS: !s.secure && s.starttls === 'never',
      auth: s.username ? { user: s.username, pass: s.password } : undefined,
      name: s.hello || undefined,
      tls: { rejectUnauthorized: !s.tls_insecure_skip_verify, ...(ca ? { ca } : {}), servername: s.host },
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
    });
  }

  async shutdown(): Promise<void> {
    this.transport?.close();
  }

  async send(n: AlertNotification): Promise<void> {
    const mail = buildEmail(n, this.subject, this.receiver);
    try {
      await this.transport!.sendMail({
        from: headerSafe(this.config.from),
        to: this.config.to.map(headerSafe),
        cc: this.config.cc.length ? this.config.cc.map(headerSafe) : undefined,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // cut between characters (never inside a surrogate pair), without a marker: it is an identifier
        headers: { 'X-Vigil-Group-Key': cut(headerSafe(n.groupKey), 900, '') },
      });
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      const detail = `SMTP ${this.config.smtp.host}:${this.config.smtp.port}: ${e.message}`;
      if (smtpFailureIsPermanent(e)) throw permanentError(detail, err);
      throw retryableError(detail, undefined, err);
    }
  }
}

/**
 * Whether a nodemailer error is permanent: by the SMTP reply's class when the server replied (5xx permanent,
 * 4xx retried, for AUTH as for any command); without a reply, only an AUTH failure (nodemailer's `EAUTH`:
 * missing credentials, no method in common) is, since trying again cannot change it.
 */
export function smtpFailureIsPermanent(e: { responseCode?: number; code?: string }): boolean {
  if (typeof e.responseCode === 'number' && e.responseCode >= 200) return e.responseCode >= 500;
  return e.code === 'EAUTH';
}
