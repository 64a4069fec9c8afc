/** HTTP for exporters: one POST with undici, and the status -> retryable/permanent classification. */
import { Agent, request } from 'undici';
import { ConsumerError, permanentError, retryableError } from '../errors.ts';
import { parseRetryAfter } from './backoff.ts';

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

/** POSTs `body`; network failures reject with a retryable ConsumerError. Reads at most 64 KiB of the answer. */
export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  signal: AbortSignal,
  dispatcher?: Agent,
): Promise<HttpResponse> {
  try {
    const res = await request(url, { method: 'POST', body, headers, signal, dispatcher });
    let text = '';
    for await (const chunk of res.body) {
      if (text.length < 65536) text += (chunk as Buffer).toString('utf8');
    }
    return { status: res.statusCode, headers: res.headers, body: text.slice(0, 65536) };
  } catch (err) {
    if (err instanceof ConsumerError) throw err;
    const reason = signal.aborted && signal.reason instanceof Error ? signal.reason.message : (err as Error).message;
    throw retryableError(`POST ${redact(url)}: ${reason}`, undefined, err);
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
  const detail = `${what} answered ${res.status}${res.body ? `: ${res.body.slice(0, 300).trim()}` : ''}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw retryableError(detail, retryAfterMs);
  throw permanentError(detail);
}

/** A URL for log lines: no credentials, no query, and the path of a secret-bearing URL (Slack's) shortened. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    // A long path may carry a secret (Slack's /services/T…/B…/<token>): keep its first segment only.
    const p = u.pathname.length > 24 ? `${u.pathname.slice(0, u.pathname.indexOf('/', 1) + 1 || 16)}…` : u.pathname;
    return `${u.protocol}//${u.host}${p}`;
  } catch {
    return '<invalid url>';
  }
}
