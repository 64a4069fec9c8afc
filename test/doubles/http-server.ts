/** A local HTTP server on 127.0.0.1:0 that records every request and answers with a scripted reply. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The exact body bytes. */
  body: Buffer;
  /** The body parsed as JSON (undefined if it is not JSON). */
  json: unknown;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Decides the answer to a request (after it is recorded). */
export type Responder = (req: RecordedRequest) => Reply | Promise<Reply>;

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  /** Replies used first, one per request, before `responder`. */
  readonly script: Reply[] = [];
  private server: http.Server | undefined;
  url = '';

  constructor(public responder: Responder = () => ({ status: 200, body: 'ok' })) {}

  /** Listens on `port` (0: ephemeral, or a fixed one to come back on the same address). */
  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = undefined;
        }
        const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
        this.requests.push(rec);
        void Promise.resolve(this.script.length ? this.script.shift()! : this.responder(rec)).then(
          (r) => res.writeHead(r.status, { 'content-type': 'text/plain', ...r.headers }).end(r.body ?? ''),
          () => res.writeHead(500).end('responder failed'),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
