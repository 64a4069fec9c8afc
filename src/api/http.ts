/**
 * Everything the telemetry endpoint serves besides /metrics, /healthz and /readyz: the
 * Alertmanager-compatible API (`/api/v2/...`, src/api/alertmanager.ts), the overview JSON
 * (`GET /api/overview`), `GET /api/matchers?text=` (matcher text read by src/matchers.ts, for the page's silence
 * form: `[{name, value, isRegex, isEqual}]`, or 400 and the parser's message) and the status page (`/`, its files under `/static/`, uPlot under `/vendor/`).
 * The page's files ship in the package (src/status-page/) and uPlot comes from node_modules: no CDN, no
 * build step.
 */
import fs from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMatchers } from '../matchers.ts';
import type { RequestHandler } from '../telemetry.ts';
import type { AlertsApi } from './alertmanager.ts';
import type { Overview } from './overview.ts';

const PAGE_DIR = fileURLToPath(new URL('../status-page/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** uPlot's browser build and stylesheet, from the installed package. */
function vendorFiles(): Record<string, string> {
  try {
    const dist = path.dirname(createRequire(import.meta.url).resolve('uplot'));
    return { 'uPlot.iife.min.js': path.join(dist, 'uPlot.iife.min.js'), 'uPlot.min.css': path.join(dist, 'uPlot.min.css') };
  } catch {
    return {};
  }
}

/** Paths that show the page (`/alerts?rule=NAME` opens a rule on it, as does `/api/v1/rules/NAME` from a browser). */
const PAGE_PATHS = new Set(['/', '/index.html', '/alerts', '/rules']);

/**
 * The telemetry endpoint's handler for everything but /metrics, /healthz and /readyz (see this file's comment):
 * the Alertmanager v2 API, `GET /api/overview` and the status page's static files.
 */
export function apiHandler(opts: { alerts: AlertsApi; overview: (nowMs: number) => Overview }): RequestHandler {
  const vendor = vendorFiles();
  const cache = new Map<string, Buffer>();
  const file = (res: http.ServerResponse, req: http.IncomingMessage, full: string): boolean => {
    let body = cache.get(full);
    if (!body) {
      try {
        body = fs.readFileSync(full);
      } catch {
        return false;
      }
      cache.set(full, body);
    }
    res
      .writeHead(200, {
        'content-type': TYPES[path.extname(full)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
      })
      .end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
  return async (req, res, url) => {
    const p = url.pathname;
    if (p.startsWith('/api/v2/')) return opts.alerts.handle(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (p === '/api/overview' || p === '/api/matchers' || PAGE_PATHS.has(p) || p.startsWith('/static/') || p.startsWith('/vendor/')) {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return true;
      }
      return false;
    }
    if (p === '/api/matchers') {
      // the status page's matcher text, read by vigil's one parser (Alertmanager's reading of a matcher list)
      let status = 200;
      let body: unknown;
      try {
        const ms = parseMatchers(url.searchParams.get('text') ?? '');
        if (!ms.length) throw new Error('give at least one matcher, such as alertname="HighP95Latency"');
        body = ms.map((m) => ({ name: m.name, value: m.value, isRegex: m.op === '=~' || m.op === '!~', isEqual: m.op === '=' || m.op === '=~' }));
      } catch (e) {
        status = 400;
        body = (e as Error).message;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
      return true;
    }
    if (p === '/api/overview') {
      const body = JSON.stringify(opts.overview(Date.now()));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    if (PAGE_PATHS.has(p)) return file(res, req, path.join(PAGE_DIR, 'index.html'));
    // a rule's own path (an alert's generatorURL, JSON for programs) opened in a browser: the page shows the rule
    if (p.startsWith('/api/v1/rules/') && /\btext\/html\b/.test(req.headers.accept ?? '')) return file(res, req, path.join(PAGE_DIR, 'index.html'));
    if (p.startsWith('/static/')) {
      const name = p.slice('/static/'.length);
      if (!/^[a-z0-9-]+\.(js|css|svg)$/.test(name)) return false;
      return file(res, req, path.join(PAGE_DIR, name));
    }
    if (p.startsWith('/vendor/')) {
      const f = vendor[p.slice('/vendor/'.length)];
      return f ? file(res, req, f) : false;
    }
    return false;
  };
}
