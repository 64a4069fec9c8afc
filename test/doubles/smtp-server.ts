/**
 * A real SMTP server on 127.0.0.1:0 (smtp-server) with STARTTLS (or implicit TLS) on a self-signed
 * certificate made with openssl at start, and AUTH PLAIN/LOGIN. Records each message's envelope and raw bytes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the session was under TLS when the message was sent. */
  secure: boolean;
  user: string | undefined;
}

/** A self-signed certificate for `localhost` / 127.0.0.1, written to a temp dir. */
export function selfSignedCert(): { dir: string; key: string; cert: string; certFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cert-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { dir, key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

export class SmtpTestServer {
  readonly mails: ReceivedMail[] = [];
  /** Reply to the next DATA with this SMTP error code (e.g. 451 retryable, 550 permanent), then clear it. */
  failNext: { code: number; message: string }[] = [];
  /** Reply to the next AUTH with this SMTP error code (e.g. 454 temporary, 535 bad credentials), then clear it. */
  failAuth: { code: number; message: string }[] = [];
  port = 0;
  private server: SMTPServer | undefined;
  private cert: ReturnType<typeof selfSignedCert> | undefined;

  /** `secure`: implicit TLS from the first byte (port 465 style) instead of STARTTLS. */
  constructor(private readonly opts: { username: string; password: string; secure?: boolean }) {}

  get certFile(): string {
    return this.cert!.certFile;
  }

  async start(): Promise<this> {
    this.cert = selfSignedCert();
    const server = new SMTPServer({
      key: this.cert.key,
      cert: this.cert.cert,
      secure: this.opts.secure ?? false,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: false,
      logger: false,
      onAuth: (auth, _session, cb) => {
        const fail = this.failAuth.shift();
        if (fail) cb(Object.assign(new Error(fail.message), { responseCode: fail.code }));
        else if (auth.username === this.opts.username && auth.password === this.opts.password) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const fail = this.failNext.shift();
          if (fail) {
            cb(Object.assign(new Error(fail.message), { responseCode: fail.code }));
            return;
          }
          const addr = (a: SMTPServerAddress | false) => (a ? a.address : '');
          this.mails.push({
            from: addr(session.envelope.mailFrom),
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
            secure: session.secure,
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (this.cert) fs.rmSync(this.cert.dir, { recursive: true, force: true });
  }
}
