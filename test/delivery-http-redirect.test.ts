/**
 * Redirects of a notification target, as Go's http.Client (Alertmanager's integrations) takes them: a 307 or 308
 * is followed with the same method and body, up to 10 times, and the configured credentials go only to the
 * configured origin; a 301, 302 or 303 (which Go would repeat as a GET without the body) is refused, naming where
 * it pointed, and never taken for a delivery.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_REDIRECTS, checkStatus, post } from '../src/delivery/http.ts';
import { ConsumerError } from '../src/errors.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
}

/** A server answering each path as `answer` says; records every request. */
async function server(answer: (url: string, base: string) => { status: number; location?: string }): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  let base = '';
  const s = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, authorization: req.headers.authorization });
      const a = answer(req.url!, base);
      res.writeHead(a.status, a.location ? { location: a.location } : {});
      res.end(a.status >= 300 && a.status < 400 ? 'moved' : 'ok');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => s.close(() => r())));
  base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { base, seen };
}

const signal = () => AbortSignal.timeout(10_000);
const headers = { 'content-type': 'application/json', authorization: 'GenieKey secret' };

describe('a redirect of a notification target', () => {
  it.each([307, 308])('%i is followed with the same method, body and (same origin) credentials', async (status) => {
    const t = await server((url) => (url === '/old' ? { status, location: '/new?x=1' } : { status: 202 }));
    for (const method of ['POST', 'PUT'] as const) {
      const res = await post(`${t.base}/old`, '{"alert":1}', headers, signal(), undefined, method);
      expect(res.status).toBe(202);
      expect(() => checkStatus(res, 'target')).not.toThrow();
    }
    expect(t.seen.map((s) => [s.method, s.url, s.body, s.authorization])).toEqual([
      ['POST', '/old', '{"alert":1}', 'GenieKey secret'],
      ['POST', '/new?x=1', '{"alert":1}', 'GenieKey secret'],
      ['PUT', '/old', '{"alert":1}', 'GenieKey secret'],
      ['PUT', '/new?x=1', '{"alert":1}', 'GenieKey secret'],
    ]);
  });

  it('to another origin, the credentials stay behind', async () => {
    const other = await server(() => ({ status: 200 }));
    const t = await server(() => ({ status: 308, location: `${other.base}/elsewhere` }));
    const res = await post(`${t.base}/hook`, 'body', headers, signal());
    expect(res.status).toBe(200);
    expect(t.seen[0]!.authorization).toBe('GenieKey secret');
    expect(other.seen).toEqual([{ method: 'POST', url: '/elsewhere', body: 'body', authorization: undefined }]);
  });

  it(`stops after ${MAX_REDIRECTS} redirects with a permanent error`, async () => {
    const t = await server((url) => ({ status: 307, location: `/r${Number(url.slice(2) || 0) + 1}` }));
    const err = await post(`${t.base}/r0`, 'body', headers, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsumerError);
    expect((err as ConsumerError).permanent).toBe(true);
    expect((err as Error).message).toMatch(/stopped after 10 redirects/);
    expect(t.seen).toHaveLength(MAX_REDIRECTS + 1);
  });

  it.each([301, 302, 303])('%i is refused, naming where it pointed, and the body is not re-sent as a GET', async (status) => {
    const t = await server((url) => (url === '/old' ? { status, location: '/new' } : { status: 200 }));
    const res = await post(`${t.base}/old`, 'body', headers, signal());
    expect(res.status).toBe(status);
    let err: unknown;
    try {
      checkStatus(res, 'webhook');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConsumerError);
    expect((err as ConsumerError).permanent).toBe(true);
    expect((err as Error).message).toContain(`webhook answered ${status} (a redirect to /new: vigil follows 307 and 308 only`);
    expect(t.seen.map((s) => s.url)).toEqual(['/old']);
  });
});
