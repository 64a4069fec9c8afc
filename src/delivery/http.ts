/** HTTP for exporters: one POST with undici, and the status -> retryable/permanent classification. */
import { Agent, type Dispatcher, getGlobalDispatcher } from 'undici';
import { ConsumerError, permanentError, retryableError } from '../errors.ts';
import { parseRetryAfter } from './backoff.ts';
import { cut } from './format.ts';
import { StringDecoder } from 'node:string_decoder';

/**
 * A destination's answer to {@link post}: HTTP status code, response headers (lower-case names, as Node gives them) and
 * the body as text, truncated to at most 64 KiB.
 */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A keep-alive connection pool for one exporter; `close()` it at shutdown. */
export function httpAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 16 });
}

/** Origin and path of the URLs posted to (an exporter posts to one or a few): parsed once, not per request. */
const targets = new Map<string, { origin: string; path: string }>();

function targetOf(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    // bounded: a sender that builds URLs per notification must not grow this without end
    if (targets.size >= 256) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/** The answer's body as text, at most 64 KiB of it kept (the rest is read and discarded). */
function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    // a character whose UTF-8 bytes arrive in two chunks is decoded whole, not as two U+FFFD
    const utf8 = new StringDecoder('utf8');
    body.on('data', (chunk: Buffer) => {
      if (text.length < 65536) text += utf8.write(chunk);
    });
    body.on('end', () => resolve(cut(text + utf8.end(), 65536, '')));
    body.on('error', reject);
  });
}

/** Redirects followed for one request at most: Go's http.Client's limit, which Alertmanager's integrations use. */
export const MAX_REDIRECTS = 10;

/** Request headers that carry a credential: not sent on to a redirect's other origin (Go's http.Client drops them too). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'www-authenticate']);

/**
 * POSTs `body` (through `dispatcher`, else undici's global one; `method` PUT for an update); network failures
 * reject with a retryable ConsumerError. Reads at most 64 KiB of the answer.
 *
 * A 307 or 308 answer with a `Location` is followed with the same method and body, as Go's http.Client
 * (Alertmanager's) follows it, up to {@link MAX_REDIRECTS} times; credential headers (`Authorization`...) go
 * only to the origin they were configured for. A 301, 302 or 303 is returned as it is: Go's client would
 * repeat a POST as a GET without its body (the notification lost behind a 200), so {@link checkStatus}
 * refuses it, naming where it pointed. @throws ConsumerError (retryable; permanent for a redirect loop or a
 * redirect to another scheme than http or https), or `TypeError` for a URL that does not parse.
 */
export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  signal: AbortSignal,
  dispatcher?: Agent,
  method: 'POST' | 'PUT' = 'POST',
): Promise<HttpResponse> {
  try {
    const first = targetOf(url).origin;
    let target = url;
    let sent = headers;
    for (let redirects = 0; ; redirects++) {
      const { origin, path } = targetOf(target);
      const res = await (dispatcher ?? getGlobalDispatcher()).request({ origin, path, method, body, headers: sent, signal });
      const location = res.headers['location'];
      const to = typeof location === 'string' && location ? location : undefined;
      if ((res.statusCode !== 307 && res.statusCode !== 308) || to === undefined) {
        const text = await readCapped(res.body);
        return { status: res.statusCode, headers: res.headers, body: text };
      }
      await res.body.dump();
      if (redirects >= MAX_REDIRECTS) throw permanentError(`${method} ${redact(url)}: stopped after ${MAX_REDIRECTS} redirects (the last one to ${redact(new URL(to, target).href)})`);
      const next = new URL(to, target);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw permanentError(`${method} ${redact(url)}: redirected to a ${next.protocol} URL, which is not followed`);
      target = next.href;
      sent = next.origin === first ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase())));
    }
  } catch (err) {
    if (err instanceof ConsumerError) throw err;
    const reason = signal.aborted && signal.reason instanceof Error ? signal.reason.message : (err as Error).message;
    throw retryableError(`${method} ${redact(url)}: ${reason}`, undefined, err);
  }
}

/**
 * Throws unless `res` is a 2xx: 408, 429 and 5xx are retryable (with the Retry-After, seconds or HTTP date),
 * any other status is permanent (the target refuses this payload).
 */
export function checkStatus(res: HttpResponse, what: string): void {
  if (res.status >= 200 && res.status < 300) return;
  const ra = res.headers['retry-after'];
  const retryAfterMs = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra);
  const location = res.headers['location'];
  const moved = res.status >= 300 && res.status < 400 && typeof location === 'string' ? ` (a redirect to ${/^[a-z][a-z0-9+.-]*:/i.test(location) ? redact(location) : location.split('?')[0]!.slice(0, 24)}: vigil follows 307 and 308 only, which keep the method and body; configure the new URL)` : '';
  const detail = `${what} answered ${res.status}${moved}${res.body ? `: ${cut(res.body, 300, '').trim()}` : ''}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw retryableError(detail, retryAfterMs);
  throw permanentError(detail);
}

const redacted = new Map<string, string>();

/**
 * A URL for log lines: no credentials, no query, and the path of a secret-bearing URL (Slack's) shortened.
 * Remembered per URL (senders pass the same few on every delivery; at most 256 kept).
 */
export function redact(url: string): string {
  let r = redacted.get(url);
  if (r === undefined) {
    r = redactUrl(url);
    if (redacted.size >= 256) redacted.clear();
    redacted.set(url, r);
  }
  return r;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    // A long path may carry a secret (Slack's /services/T…/B…/<token>): keep its first segment only.
    const p = u.pathname.length > 24 ? `${u.pathname.slice(0, u.pathname.indexOf('/', 1) + 1 || 16)}…` : u.pathname;
    return `${u.protocol}//${u.host}${p}`;
  } catch {
    return '<invalid url>';
  }
}
