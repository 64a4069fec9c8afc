/**
 * The answer text a notification exporter keeps of a refusal (in its error, the log and the dead letter) is the
 * target's text: a multi-byte character split across two TCP chunks is decoded whole, and the 300-character
 * excerpt in the error is cut between characters, never inside a surrogate pair.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkStatus, post } from '../src/delivery/http.ts';
import { ConsumerError } from '../src/errors.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A server that answers 400 with `parts` written one by one, each after the previous one has left. */
async function splitAnswer(parts: Buffer[]): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(400, { 'content-type': 'application/json' });
      for (const p of parts) {
        await new Promise<void>((r) => res.write(p, () => r()));
        await new Promise((r) => setTimeout(r, 30));
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`;
}

describe('the text of an answer', () => {
  it('a character split across chunks is decoded whole', async () => {
    const text = '{"message":"Événement invalide 😀"}';
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf(Buffer.from('😀', 'utf8')) + 2; // inside the emoji's four bytes
    const e = bytes.indexOf(Buffer.from('É', 'utf8')) + 1; // inside É's two bytes
    const url = await splitAnswer([bytes.subarray(0, e), bytes.subarray(e, at), bytes.subarray(at)]);
    const res = await post(url, '{}', { 'content-type': 'application/json' }, new AbortController().signal);
    expect(res.status).toBe(400);
    expect(res.body).toBe(text);
  });

  it('the excerpt in a refusal is cut between characters', () => {
    const body = `${'x'.repeat(299)}😀 and more`;
    let err: unknown;
    try {
      checkStatus({ status: 400, headers: {}, body }, 'PagerDuty');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConsumerError);
    const message = (err as Error).message;
    expect(message).toBe(`PagerDuty answered 400: ${'x'.repeat(299)}`);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(message)).toBe(false);
  });
});
