/**
 * The client `vigil silence`, `vigil alerts` and `vigil status` use to talk to a running daemon's API on
 * its telemetry endpoint. Every failure becomes an ApiClientError whose message says what went wrong and
 * where: an unreachable daemon ("is it running? give --url"), a refused token, an error the API answered.
 */
import { loadConfig, formatConfigError } from '../config/load.ts';
import type { ComponentRegistry } from '../registry.ts';
import fs from 'node:fs';
import { ErrorCodes, VigilError } from '../errors.ts';

/**
 * A failure of the API client (unreachable daemon, refused token, an error the API answered, a bad `--url` or
 * endpoint); `status` is the HTTP status when the API answered.
 */
export class ApiClientError extends VigilError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(ErrorCodes.API_CLIENT, message);
    this.name = 'ApiClientError';
  }
}

/** `http://host:port` of a telemetry endpoint (`host:port`; an empty or wildcard host becomes localhost). */
export function urlOfEndpoint(endpoint: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(endpoint.trim());
  if (!m) throw new ApiClientError(`invalid telemetry endpoint "${endpoint}": expected host:port`);
  const host = m[1] ?? m[2] ?? '';
  const reachable = host === '' || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${m[3]}`;
}

/**
 * Where the daemon is and which tokens to send: `--url` wins, else the telemetry endpoint of the `--config`
 * files (and their API token when readable), else `$VIGIL_URL`, else http://localhost:8888. `token` (writes, and
 * reads when there is no `readToken`): `--token`, then `$VIGIL_API_TOKEN`, then the config's API token.
 * `readToken`: the config's `service.telemetry.auth.bearer_token`, which every read needs when it is set.
 */
export async function resolveTarget(opts: { url?: string; config?: string[]; token?: string }, registry: ComponentRegistry): Promise<{ url: string; token: string; readToken: string }> {
  let url = opts.url;
  let token = opts.token ?? process.env.VIGIL_API_TOKEN ?? '';
  let readToken = '';
  if (opts.config?.length) {
    const r = await loadConfig(opts.config, registry);
    if (!r.config) throw new ApiClientError(`cannot read the config for the daemon's address:\n${r.errors.map(formatConfigError).join('\n')}`);
    const endpoint = r.config.service.telemetry.endpoint;
    if (!url && /:0+$/.test(endpoint)) throw new ApiClientError(`the config's telemetry endpoint ${endpoint} has port 0 (any free port): give the daemon's address with --url`);
    url ??= urlOfEndpoint(endpoint);
    readToken = r.config.service.telemetry.auth.bearer_token;
    if (!token) {
      const api = r.config.service.telemetry.api;
      if (api.bearer_token) token = api.bearer_token;
      else if (api.bearer_token_file) {
        try {
          token = fs.readFileSync(api.bearer_token_file, 'utf8').trim();
        } catch {
          // not readable by this user: writes will say that a token is needed
        }
      }
    }
  }
  url ??= process.env.VIGIL_URL || 'http://localhost:8888';
  if (!/^https?:\/\//.test(url)) throw new ApiClientError(`--url ${JSON.stringify(url)}: expected http://host:port or https://host:port`);
  return { url: url.replace(/\/+$/, ''), token, readToken };
}

/**
 * The HTTP client of the daemon's API at `url` (no trailing slash): sends JSON, adds `Authorization: Bearer <token>`
 * to writes (non-GET requests), and to reads `readToken` (the daemon's `service.telemetry.auth.bearer_token`), else
 * `token` (the API token also reads); a write without `token` sends `readToken`; gives up after `timeoutMs`
 * (default 10 s). Failures reject with an {@link ApiClientError}.
 */
export class ApiClient {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
    private readonly readToken = '',
  ) {}

  /** Sends a request; resolves with the parsed JSON body (undefined when empty). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const read = method === 'GET' || method === 'HEAD';
    // the read token passes the endpoint's gate for a write too (a daemon with unauthenticated_writes and no API token)
    const bearer = read ? this.readToken || this.token : this.token || this.readToken;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new ApiClientError(`cannot reach vigil at ${this.url} (${why}): is the daemon running? Give its telemetry endpoint with --url or --config`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      // Alertmanager's errors are a JSON string, or `{"code", "message"}` (its OpenAPI validation, 422)
      const message = (parsed as { message?: unknown } | undefined)?.message;
      const msg = typeof parsed === 'string' ? parsed.trim() : typeof message === 'string' ? message : JSON.stringify(parsed);
      const hint =
        res.status === 401
          ? read && /service\.telemetry\.auth/.test(msg)
            ? " (give the daemon's config with --config, or its service.telemetry.auth.bearer_token with --token)"
            : /no API token is configured/.test(msg)
            ? ' (the daemon has no API token: start it with $VIGIL_API_TOKEN or service.telemetry.api.bearer_token set, then give the same token here)'
            : this.token
              ? ' (the daemon refused the token given: it must equal its service.telemetry.api.bearer_token)'
              : ' (give the API token with --token or $VIGIL_API_TOKEN)'
          : res.status === 404 && typeof parsed !== 'string'
            ? ` (is ${this.url} a vigil?)`
            : '';
      throw new ApiClientError(`${method} ${this.url}${path}: ${res.status} ${msg}${hint}`, res.status);
    }
    return parsed as T;
  }
}
