/**
 * The subset of Alertmanager's v2 API (api/v2/openapi.yaml) that amtool, Grafana's Alertmanager data source
 * and the status page use, answered from vigil's own alert state and silence set:
 *
 * | request | answer |
 * | --- | --- |
 * | `GET /api/v2/status` | `alertmanagerStatus` (cluster disabled, version, a config made from the routes, uptime) |
 * | `GET /api/v2/receivers` | `[{name}]`: the receiver of every route (its `receiver:` name, else its exporters joined by `,`) |
 * | `GET /api/v2/alerts` | firing alerts as `gettableAlert`; `filter`, `active`, `silenced`, `inhibited`, `unprocessed`, `receiver` |
 * | `GET /api/v2/alerts/groups` | `alertGroup`s: per route and group labels, same parameters |
 * | `GET /api/v2/silences` | `gettableSilence`s, `filter` |
 * | `POST /api/v2/silences` | `postableSilence` -> `{silenceID}` |
 * | `GET /api/v2/silence/{id}` / `DELETE /api/v2/silence/{id}` | one silence / expire it |
 *
 * Errors are JSON strings with the status Alertmanager uses (400 bad input, 404 unknown silence), so that
 * amtool prints them. Writes need `Authorization: Bearer <service.telemetry.api.bearer_token>` (401
 * otherwise); without a configured token they are refused unless `unauthenticated_writes: true`.
 */
import { compileRegex } from '../regex.ts';
import crypto from 'node:crypto';
import type http from 'node:http';
import { stringify } from 'yaml';
import type { SilenceStore, StoredSilence } from '../silence-store.ts';
import { SilenceInputError, SilenceNotFoundError, silenceState } from '../silence-store.ts';
import type { AlertStatus, AlertsStatus, ConfigSilence } from '../status.ts';
import { type AmMatcher, type CompiledAmMatcher, MatcherError, compileAmMatcher, matchesAll, parseAmMatcher } from './matchers.ts';
import { ErrorCodes, VigilError } from '../errors.ts';
import { goCompare } from '../go-quote.ts';

/** What the API reads and writes. */
export interface AlertsApiContext {
  /** The alerts sections every alerts processor reports now. */
  alertsStatuses(nowMs: number): AlertsStatus[];
  silences: SilenceStore;
  /** The configured write token ('' for none) and whether writes without one are allowed. */
  auth(): { token: string; unauthenticatedWrites: boolean };
  /** Process start, Unix ms. */
  startedAt: number;
  version: string;
}

/** An error answer: HTTP status and the message (sent as a JSON string). */
export class ApiError extends VigilError {
  /**
   * `status`: the HTTP status; `message`: the body, as a JSON string (Alertmanager's own errors are); `body`:
   * another body instead, such as the `{"code", "message"}` object of Alertmanager's OpenAPI validation (422).
   */
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(status === 400 ? ErrorCodes.API_BAD_REQUEST : status === 401 ? ErrorCodes.API_UNAUTHORIZED : status === 404 ? ErrorCodes.API_NOT_FOUND : ErrorCodes.API_ERROR, message);
    this.name = 'ApiError';
  }
}

/** Alertmanager's gettableAlert. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  fingerprint: string;
  generatorURL: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

/** Alertmanager's gettableSilence. */
export interface GettableSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  updatedAt: string;
  matchers: AmMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

const MAX_BODY = 1 << 20;

/**
 * Reads a JSON request body (at most 1 MiB); ApiError 400/413 otherwise. `param`: the name of the body in
 * Alertmanager's OpenAPI spec (`silence`): an empty body is then answered as its validation answers a
 * required body missing, 422 `{"code": 602, "message": "<param> in body is required"}`.
 */
export async function readJsonBody(req: http.IncomingMessage, param?: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (param) throw new ApiError(422, `${param} in body is required`, { code: 602, message: `${param} in body is required` });
    throw new ApiError(400, 'a JSON body is required');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Throws ApiError 401 unless the request may write. */
export function checkWrite(req: http.IncomingMessage, auth: { token: string; unauthenticatedWrites: boolean }): void {
  if (auth.token === '') {
    if (auth.unauthenticatedWrites) return;
    throw new ApiError(401, 'writes are disabled: no API token is configured (set service.telemetry.api.bearer_token, or unauthenticated_writes: true)');
  }
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) throw new ApiError(401, 'this request needs the API token: send Authorization: Bearer <token>');
  const given = crypto.createHash('sha256').update(m[1]!.trim()).digest();
  const want = crypto.createHash('sha256').update(auth.token).digest();
  if (!crypto.timingSafeEqual(given, want)) throw new ApiError(401, 'the API token is wrong');
}

/** What Alertmanager's API (go-openapi swag.ConvertBool) reads as true, case-insensitive. */
const TRUE_WORDS = new Set(['true', '1', 'yes', 'ok', 'y', 'on', 'selected', 'checked', 't', 'enabled']);
/** Their opposites (Alertmanager reads any other word as false too; vigil says it does not know it). */
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', 'off', 'f', 'disabled', 'unselected', 'unchecked']);

function boolParam(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const w = v.trim().toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  throw new ApiError(400, `${name}: expected true or false, got ${JSON.stringify(v)}`);
}

function filterParam(q: URLSearchParams): CompiledAmMatcher[] {
  const out: CompiledAmMatcher[] = [];
  for (const f of q.getAll('filter')) {
    try {
      out.push(compileAmMatcher(parseAmMatcher(f))); // one matcher a filter, as Alertmanager (a=b,c=d is the value b,c=d)
    } catch (e) {
      throw new ApiError(400, `bad matcher format: ${(e as Error).message}`);
    }
  }
  return out;
}

function receiverParam(q: URLSearchParams): { test(s: string): boolean } | undefined {
  const r = q.get('receiver');
  if (r === null || r === '') return undefined;
  try {
    const re = compileRegex(r); // RE2, as Alertmanager
    return { test: (s) => re.matches(s) };
  } catch (e) {
    throw new ApiError(400, `receiver: ${(e as Error).message}`);
  }
}

function toGettable(a: AlertStatus & { silencedBy?: string[] }): GettableAlert {
  // as Alertmanager's marker holds them: every silence muting the alert, ids sorted (silence.Silencer.Mutes);
  // the one alert that inhibits it, the first found (inhibit.Inhibitor.Mutes stops there)
  const silencedBy = [...a.silencedBy].sort(goCompare);
  const inhibitedBy = a.inhibitedBy.slice(0, 1);
  return {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    updatedAt: a.updatedAt,
    fingerprint: a.fingerprint,
    generatorURL: a.generatorURL,
    receivers: a.receivers.map((name) => ({ name })),
    status: { state: silencedBy.length || inhibitedBy.length ? 'suppressed' : 'active', silencedBy, inhibitedBy },
  };
}

function configSilenceToGettable(s: ConfigSilence, nowMs: number): GettableSilence | undefined {
  let matchers: AmMatcher[];
  try {
    matchers = s.matchers.map(parseAmMatcher); // as processors/alerts/silences.ts reads them
  } catch {
    return undefined;
  }
  const endsAt = s.endsAt || '9999-12-31T23:59:59.000Z';
  return {
    id: s.id,
    status: { state: silenceState({ startsAt: s.startsAt, endsAt }, nowMs) },
    updatedAt: s.startsAt,
    matchers,
    startsAt: s.startsAt,
    endsAt,
    createdBy: 'config',
    comment: s.comment ? `${s.comment} (defined in the config file)` : 'defined in the config file',
  };
}

/**
 * A stored silence as Alertmanager's v2 `gettableSilence`, with its `status.state` (active, pending, expired) at `nowMs` (Unix ms).
 */
export function silenceToGettable(s: StoredSilence, nowMs: number): GettableSilence {
  return {
    id: s.id,
    status: { state: silenceState(s, nowMs) },
    updatedAt: s.updatedAt,
    matchers: s.matchers.map((m) => ({ ...m })),
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

const STATE_ORDER = { active: 0, pending: 1, expired: 2 } as const;

/** Alertmanager's order: active by end, then pending by start, then expired, most recently ended first. */
function sortSilences(list: GettableSilence[]): GettableSilence[] {
  return list.sort((a, b) => {
    const sa = STATE_ORDER[a.status.state];
    const sb = STATE_ORDER[b.status.state];
    if (sa !== sb) return sa - sb;
    if (a.status.state === 'active') return Date.parse(a.endsAt) - Date.parse(b.endsAt);
    if (a.status.state === 'pending') return Date.parse(a.startsAt) - Date.parse(b.startsAt);
    return Date.parse(b.endsAt) - Date.parse(a.endsAt);
  });
}

/**
 * The Alertmanager v2 API subset described in this file's comment, answered from the alerts processors' state
 * (through its context) and the daemon's silence store.
 */
export class AlertsApi {
  constructor(private readonly ctx: AlertsApiContext) {}

  /** Every firing alert (deduplicated by fingerprint), with its status. */
  private firing(nowMs: number): AlertStatus[] {
    const seen = new Set<string>();
    const out: AlertStatus[] = [];
    for (const st of this.ctx.alertsStatuses(nowMs))
      for (const a of st.alerts) {
        if (a.state !== 'firing' || seen.has(a.fingerprint)) continue;
        seen.add(a.fingerprint);
        out.push(a);
      }
    return out;
  }

  /** The alerts the query asks for (Alertmanager's alert filter), sorted by fingerprint. */
  alerts(q: URLSearchParams, nowMs: number): GettableAlert[] {
    return this.select(q, nowMs).map(({ alert }) => alert);
  }

  private select(q: URLSearchParams, nowMs: number): { alert: GettableAlert; raw: AlertStatus }[] {
    const active = boolParam(q, 'active', true);
    const silenced = boolParam(q, 'silenced', true);
    const inhibited = boolParam(q, 'inhibited', true);
    boolParam(q, 'unprocessed', true); // vigil has no unprocessed alerts: evaluated alerts are processed
    const filter = filterParam(q);
    const receiver = receiverParam(q);
    const out: { alert: GettableAlert; raw: AlertStatus }[] = [];
    for (const a of this.firing(nowMs)) {
      const g = toGettable(a);
      if (!active && g.status.state === 'active') continue;
      if (!silenced && g.status.silencedBy.length) continue;
      if (!inhibited && g.status.inhibitedBy.length) continue;
      if (receiver && !a.receivers.some((r) => receiver.test(r))) continue;
      if (!matchesAll(filter, a.labels)) continue;
      out.push({ alert: g, raw: a });
    }
    return out.sort((x, y) => (x.alert.fingerprint < y.alert.fingerprint ? -1 : x.alert.fingerprint > y.alert.fingerprint ? 1 : 0));
  }

  /**
   * Alertmanager's alertGroups: one per route receiver and group labels, in its order (dispatch.AlertGroups:
   * by group labels, then receiver name; each group's alerts as types.AlertSlice sorts them). As in
   * Alertmanager, an alert's `receivers` there are the sorted names of the groups it is listed in (those
   * the `receiver` filter kept).
   */
  groups(q: URLSearchParams, nowMs: number): { labels: Record<string, string>; receiver: { name: string }; alerts: GettableAlert[] }[] {
    const receiver = receiverParam(q);
    const groups = new Map<string, { labels: Record<string, string>; receiver: { name: string }; alerts: { alert: GettableAlert; labels: Record<string, string> }[] }>();
    const receiversOf = new Map<string, string[]>();
    for (const { alert, raw } of this.select(new URLSearchParams([...q].filter(([k]) => k !== 'receiver')), nowMs)) {
      for (const g of raw.groups) {
        if (receiver && !receiver.test(g.receiver)) continue;
        const key = `${g.receiver}\u0000${JSON.stringify(Object.entries(g.labels).sort())}`;
        let e = groups.get(key);
        if (!e) groups.set(key, (e = { labels: g.labels, receiver: { name: g.receiver }, alerts: [] }));
        e.alerts.push({ alert, labels: raw.labels });
        const names = receiversOf.get(alert.fingerprint) ?? [];
        names.push(g.receiver);
        receiversOf.set(alert.fingerprint, names);
      }
    }
    return [...groups.values()]
      .sort((a, b) => labelSetCompare(a.labels, b.labels) || goCompare(a.receiver.name, b.receiver.name))
      .map((g) => ({
        labels: g.labels,
        receiver: g.receiver,
        alerts: g.alerts
          .sort((a, b) => alertSliceCompare(a.labels, b.labels))
          .map(({ alert }) => ({ ...alert, receivers: [...receiversOf.get(alert.fingerprint)!].sort(goCompare).map((name) => ({ name })) })),
      }));
  }

  /** Every silence (the API's and the config's), filtered as Alertmanager does, in its order. */
  silences(q: URLSearchParams, nowMs: number): GettableSilence[] {
    const filter = filterParam(q);
    const all: GettableSilence[] = this.ctx.silences.list().map((s) => silenceToGettable(s, nowMs));
    const seen = new Set(all.map((s) => s.id));
    for (const st of this.ctx.alertsStatuses(nowMs))
      for (const c of st.configSilences) {
        const g = seen.has(c.id) ? undefined : configSilenceToGettable(c, nowMs);
        if (g) {
          seen.add(g.id);
          all.push(g);
        }
      }
    // as Alertmanager's CheckSilenceMatchesFilterLabels (api/v2): a silence is selected when, for every filter
    // matcher, it has a matcher with the same name, operator and value (`queue=~"ord.*"` finds the silences
    // written `queue=~"ord.*"`, not those whose `queue="orders"` the regex would match)
    const selected = all.filter((s) => filter.every((f) => s.matchers.some((m) => m.name === f.name && m.isRegex === f.isRegex && m.isEqual === f.isEqual && m.value === f.value)));
    return sortSilences(selected);
  }

  silence(id: string, nowMs: number): GettableSilence {
    const s = this.ctx.silences.get(id);
    if (s) return silenceToGettable(s, nowMs);
    const c = this.silences(new URLSearchParams(), nowMs).find((x) => x.id === id);
    if (c) return c;
    throw new ApiError(404, `silence ${id} not found`);
  }

  async postSilence(body: unknown, nowMs: number): Promise<{ silenceID: string }> {
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id.startsWith('config-') && !this.ctx.silences.get(id)) throw new ApiError(400, `silence ${id} is defined in the config file: change it there`);
    try {
      return { silenceID: await this.ctx.silences.upsert(body, nowMs) };
    } catch (e) {
      throw asApiError(e);
    }
  }

  async deleteSilence(id: string, nowMs: number): Promise<void> {
    if (id.startsWith('config-') && !this.ctx.silences.get(id)) throw new ApiError(400, `silence ${id} is defined in the config file: remove it there`);
    try {
      await this.ctx.silences.expire(id, nowMs);
    } catch (e) {
      throw asApiError(e);
    }
  }

  /** The receiver name of every route (alerts' `receivers`, groups' `receiver` and `receiver=` use the same names). */
  receivers(nowMs: number): { name: string }[] {
    const names = new Set<string>();
    for (const st of this.ctx.alertsStatuses(nowMs)) for (const r of st.receivers) names.add(r);
    return [...names].sort().map((name) => ({ name }));
  }

  status(nowMs: number): unknown {
    // a config Alertmanager would take, without vigil's secrets: the routes of every alerts processor under
    // a root that receives nothing, one receiver per exporter list (amtool `config routes`, Grafana's policies)
    const routes = this.ctx.alertsStatuses(nowMs).flatMap((st) => st.routes);
    const names = new Set<string>(['vigil']);
    const collect = (r: { receiver: string; routes?: { receiver: string }[] }): void => {
      names.add(r.receiver);
      for (const c of r.routes ?? []) collect(c);
    };
    for (const r of routes) collect(r); // route trees: every receiver at every depth
    const original = stringify({
      route: { receiver: 'vigil', group_by: ['alertname'], ...(routes.length ? { routes } : {}) },
      receivers: [...names].map((name) => ({ name })),
    });
    return {
      cluster: { name: 'vigil', status: 'disabled', peers: [] },
      versionInfo: { version: this.ctx.version, revision: 'vigil', branch: 'main', buildUser: 'vigil', buildDate: '', goVersion: `node ${process.version}` },
      config: { original },
      uptime: new Date(this.ctx.startedAt).toISOString(),
    };
  }

  /**
   * Answers `/api/v2/...`; resolves to false when the path is not part of the API. Sends JSON, or a JSON
   * string with the error status.
   */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname.replace(/\/+$/, '');
    if (!path.startsWith('/api/v2/')) return false;
    const now = Date.now();
    const method = req.method ?? 'GET';
    const send = (status: number, body: unknown) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(method === 'HEAD' ? undefined : text);
    };
    const allow = (methods: string) => {
      if (!methods.split(', ').includes(method === 'HEAD' ? 'GET' : method)) {
        res.setHeader('allow', methods);
        throw new ApiError(405, `${method} is not allowed on ${path} (allowed: ${methods})`);
      }
    };
    try {
      const q = url.searchParams;
      if (path === '/api/v2/status') {
        allow('GET');
        send(200, this.status(now));
      } else if (path === '/api/v2/receivers') {
        allow('GET');
        send(200, this.receivers(now));
      } else if (path === '/api/v2/alerts') {
        if (method === 'POST') throw new ApiError(405, 'vigil evaluates its own rules: it does not take alerts from other sources (POST /api/v2/alerts)');
        allow('GET');
        send(200, this.alerts(q, now));
      } else if (path === '/api/v2/alerts/groups') {
        allow('GET');
        send(200, this.groups(q, now));
      } else if (path === '/api/v2/silences') {
        allow('GET, POST');
        if (method === 'POST') {
          checkWrite(req, this.ctx.auth());
          send(200, await this.postSilence(await readJsonBody(req, 'silence'), Date.now()));
        } else send(200, this.silences(q, now));
      } else if (path.startsWith('/api/v2/silence/')) {
        allow('GET, DELETE');
        const id = decodeURIComponent(path.slice('/api/v2/silence/'.length));
        if (!id || id.includes('/')) throw new ApiError(404, `no such path ${path}`);
        if (method === 'DELETE') {
          checkWrite(req, this.ctx.auth());
          await this.deleteSilence(id, Date.now());
          send(200, undefined);
        } else send(200, this.silence(id, now));
      } else {
        throw new ApiError(404, `no such path ${path}: vigil answers /api/v2/{status,receivers,alerts,alerts/groups,silences,silence/ID}`);
      }
    } catch (e) {
      const err = asApiError(e);
      if (err.status === 401) res.setHeader('www-authenticate', 'Bearer realm="vigil"');
      if (!res.headersSent) send(err.status, err.body ?? err.message);
    }
    return true;
  }
}

/** Prometheus's LabelSet.Before as a comparison: fewer labels first; else, over the sorted names, a missing name first, then the lower value. */
function labelSetCompare(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return ka.length - kb.length;
  for (const n of [...new Set([...ka, ...kb])].sort(goCompare)) {
    if (!Object.hasOwn(a, n)) return -1;
    if (!Object.hasOwn(b, n)) return 1;
    const c = goCompare(a[n]!, b[n]!);
    if (c) return c;
  }
  return 0;
}

/** Alertmanager's types.AlertSlice order: by `job`, then `instance` (an alert without the label after one with it), then LabelSet.Before. */
function alertSliceCompare(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  for (const k of ['job', 'instance']) {
    const ia = Object.hasOwn(a, k);
    const ib = Object.hasOwn(b, k);
    if (!ia && !ib) continue;
    if (!ia) return 1;
    if (!ib) return -1;
    const c = goCompare(a[k]!, b[k]!);
    if (c) return c;
  }
  return labelSetCompare(a, b);
}

function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof SilenceInputError && e.openApiCode !== undefined) return new ApiError(422, e.message, { code: e.openApiCode, message: e.message });
  if (e instanceof SilenceInputError || e instanceof MatcherError) return new ApiError(400, e.message);
  if (e instanceof SilenceNotFoundError) return new ApiError(404, e.message);
  return new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
}
