/** A webhook receiver that verifies vigil's X-Vigil-Signature against the exact body bytes. */
import crypto from 'node:crypto';
import { type RecordedRequest, RecordingServer, type Reply } from './http-server.ts';

export class WebhookReceiver extends RecordingServer {
  /** Requests whose signature did not verify (with a secret set). */
  readonly badSignatures: RecordedRequest[] = [];
  /** Requests answered 200 (scripted replies come first), in arrival order. */
  readonly accepted: RecordedRequest[] = [];

  constructor(readonly secret?: string) {
    super();
    this.responder = (req) => this.answer(req);
  }

  private answer(req: RecordedRequest): Reply {
    if (this.secret !== undefined) {
      const want = `sha256=${crypto.createHmac('sha256', this.secret).update(req.body).digest('hex')}`;
      const got = String(req.headers['x-vigil-signature'] ?? '');
      if (got.length !== want.length || !crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want))) {
        this.badSignatures.push(req);
        return { status: 401, body: 'bad signature' };
      }
    }
    this.accepted.push(req);
    return { status: 200, body: 'ok' };
  }

  /** Bodies of the requests answered 200, parsed. */
  payloads<T = Record<string, unknown>>(): T[] {
    return this.accepted.map((r) => r.json as T);
  }
}
