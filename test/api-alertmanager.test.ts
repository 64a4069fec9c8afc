/**
 * The Alertmanager-compatible API on the telemetry endpoint, driven by Debian's real `amtool` (installed by
 * .ci/steps/40-alertmanager.sh): it lists vigil's firing alerts, adds a silence that mutes the next
 * notification, queries it and expires it (the notifications come back). Also: writes without the token
 * are refused (401), bad input gets 400 with a message, silences survive a restart, concurrent writes all land.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../src/service.ts';
import { freePort } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { startService } from './helpers/service.ts';
import { AlertmanagerProcess, alertmanagerBinary, AMTOOL, amtoolAt } from './doubles/alertmanager.ts';

if (!AMTOOL) console.warn('\n!!!!! amtool is NOT installed (apt-get install prometheus-alertmanager, .ci/steps/40-alertmanager.sh): the amtool test fails in CI !!!!!\n');
const TOKEN = 'test-token-5f2c';

let dir: string;
let service: Service;
let api: string;
let intake: string;
let feeding: NodeJS.Timeout | undefined;

interface Line {
  alert: { status: string; labels: Record<string, string>; receiver: string };
}
function notifications(): Line[] {
  const f = path.join(dir, 'alerts.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}
const firingFor = (queue: string) => notifications().filter((l) => l.alert.status === 'firing' && l.alert.labels.queue === queue).length;

const amtool = (...args: string[]) => amtoolAt(api, ...args);

async function feed(): Promise<void> {
  const events = ['orders', 'emails'].map((queue) => ({ kind: 'metric', name: 'queue_depth', service: 'worker', value: 500, metric_type: 'gauge', attributes: { queue } }));
  const r = await fetch(`${intake}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  dir = tempDir('vigil-api-');
  const port = await freePort();
  intake = `http://127.0.0.1:${port}`;
  service = await startService(
    dir,
    `
receivers:
  http_json: {endpoint: "127.0.0.1:${port}"}
processors:
  alerts:
    interval: 200ms
    rules:
      - name: QueueBacklog
        metric: queue_depth
        stat: last
        window: 1m
        group_by: [queue]
        op: ">"
        threshold: 100
        severity: warning
        annotations: {summary: "queue {{ labels.queue }} holds {{ value }} items"}
    routes:
      - exporters: [file/alerts]
        group_by: [queue]
        group_wait: 0s
        group_interval: 200ms
        repeat_interval: 400ms
exporters:
  file/alerts: {path: "${dir}/alerts.jsonl", signals: [alerts]}
service:
  state_dir: "${dir}/state"
  telemetry:
    endpoint: "127.0.0.1:0"
    api: {bearer_token: "${TOKEN}"}
  pipelines:
    main: {receivers: [http_json], processors: [alerts], exporters: [file/alerts]}
`,
  );
  api = `http://127.0.0.1:${service.telemetryPort}`;
  await feed();
  feeding = setInterval(() => void feed().catch(() => undefined), 2000);
  await waitFor(() => firingFor('orders') > 0 && firingFor('emails') > 0, 15_000, 'both alerts notified');
}, 60_000);

afterAll(async () => {
  clearInterval(feeding);
  await service?.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Alertmanager v2 API with amtool', () => {
  it.runIf(AMTOOL || process.env.CI)('amtool lists the firing alerts, adds a silence that mutes the next notification, queries it and expires it', async () => {
    expect(AMTOOL, 'amtool must be installed (.ci/steps/40-alertmanager.sh)').toBeDefined();
    const listed = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } }[];
    expect(listed.map((a) => `${a.labels.alertname}/${a.labels.queue}/${a.status.state}`).sort()).toEqual(['QueueBacklog/emails/active', 'QueueBacklog/orders/active']);
    expect(listed[0]!.annotations.summary).toMatch(/^queue (orders|emails) holds 500 items$/);
    const simple = await amtool('alert', 'query', 'queue=orders');
    expect(simple).toContain('QueueBacklog');
    expect(simple).toContain('orders');
    expect(simple).not.toContain('emails');

    // without the token the write is refused
    await expect(amtool('silence', 'add', 'queue=orders', '-c', 'no token', '-d', '1h')).rejects.toThrow();
    const http = path.join(dir, 'amtool-http.yaml');
    fs.writeFileSync(http, `authorization:\n  type: Bearer\n  credentials: ${TOKEN}\n`);
    const id = (await amtool(`--http.config.file=${http}`, 'silence', 'add', 'alertname=QueueBacklog', 'queue=orders', '-a', 'tester', '-c', 'draining the orders queue', '-d', '1h')).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // the next rounds notify emails again (repeat_interval 400ms) but never orders
    const ordersBefore = firingFor('orders');
    const emailsBefore = firingFor('emails');
    await waitFor(() => firingFor('emails') >= emailsBefore + 3, 15_000, 'emails notified again three times');
    expect(firingFor('orders')).toBe(ordersBefore);

    const q = JSON.parse(await amtool('silence', 'query', '-o', 'json')) as { id: string; createdBy: string; comment: string; status: { state: string }; matchers: { name: string; value: string }[] }[];
    expect(q.map((s) => [s.id, s.status.state, s.createdBy, s.comment])).toEqual([[id, 'active', 'tester', 'draining the orders queue']]);
    expect(q[0]!.matchers.map((m) => `${m.name}=${m.value}`).sort()).toEqual(['alertname=QueueBacklog', 'queue=orders']);
    expect((await amtool('silence', 'query', '-q', 'queue=orders')).trim()).toBe(id);
    expect((await amtool('silence', 'query', '-q', 'queue=emails')).trim()).toBe('');
    // amtool's default alert query hides silenced alerts; --silenced shows them as suppressed
    const active = JSON.parse(await amtool('alert', 'query', '-o', 'json')) as { labels: Record<string, string> }[];
    expect(active.map((a) => a.labels.queue)).toEqual(['emails']);
    const all = JSON.parse(await amtool('alert', 'query', '--silenced', '-o', 'json')) as { labels: Record<string, string>; status: { state: string; silencedBy: string[] } }[];
    expect(all.find((a) => a.labels.queue === 'orders')!.status).toMatchObject({ state: 'suppressed', silencedBy: [id] });

    // the status's config is one Alertmanager reads: amtool shows and tests vigil's routing tree from it
    expect(await amtool('config', 'routes')).toMatch(/default-route\s+receiver: vigil\n\s+└── default-route\s+receiver: file\/alerts/);
    expect((await amtool('config', 'routes', 'test', 'queue=orders', 'alertname=QueueBacklog')).trim()).toBe('file/alerts');

    await amtool(`--http.config.file=${http}`, 'silence', 'expire', id);
    const expired = JSON.parse(await amtool('silence', 'query', '--expired', '-o', 'json')) as { id: string; status: { state: string } }[];
    expect(expired.map((s) => [s.id, s.status.state])).toEqual([[id, 'expired']]);
    await waitFor(() => firingFor('orders') > ordersBefore, 15_000, 'orders notified again once the silence expired');
  }, 90_000);
});

describe('the API directly', () => {
  const silenceBody = (over: Record<string, unknown> = {}) => ({
    matchers: [{ name: 'queue', value: 'orders', isRegex: false, isEqual: true }],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3600_000).toISOString(),
    createdBy: 'test',
    comment: 'c',
    ...over,
  });
  const post = (body: unknown, token: string | null = TOKEN) =>
    fetch(`${api}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('refuses writes without the token, or with a wrong one (401), and reads without it', async () => {
    const none = await post(silenceBody(), null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toMatch(/Authorization: Bearer/);
    expect((await post(silenceBody(), 'wrong')).status).toBe(401);
    const del = await fetch(`${api}/api/v2/silence/00000000-0000-0000-0000-000000000000`, { method: 'DELETE' });
    expect(del.status).toBe(401);
    expect((await fetch(`${api}/api/v2/silences`)).status).toBe(200);
    expect((await fetch(`${api}/api/v2/status`)).status).toBe(200);
  });

  it('answers bad input with 400 and a message that says what is wrong, and what Alertmanager refuses with 422 likewise', async () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      [[], /expected a JSON object/],

      [silenceBody({ matchers: [{ name: 'queue', value: '(unclosed', isRegex: true, isEqual: true }] }), /matchers\[0\]: matcher queue: invalid regex "\(unclosed"/],
      [silenceBody({ matchers: [{ name: 'queue', value: '.*', isRegex: true, isEqual: true }] }), /must not match the empty string/],
      [silenceBody({ matchers: [{ name: '', value: 'x', isRegex: false }] }), /matchers\[0\]\.name/],
      [silenceBody({ endsAt: 'tomorrow' }), /endsAt "tomorrow" is not an RFC 3339 time/],
      [silenceBody({ endsAt: new Date(Date.now() - 60_000).toISOString(), startsAt: new Date(Date.now() - 120_000).toISOString() }), /in the past/],
      [silenceBody({ startsAt: new Date(Date.now() + 7200_000).toISOString() }), /must be after startsAt/],
      [silenceBody({ createdBy: 5 }), /createdBy: expected a string/],
    ];
    for (const [body, message] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(await r.json(), JSON.stringify(body)).toMatch(message);
    }
    // what Alertmanager's OpenAPI validation refuses: 422 and {code, message}, its codes and words (Alertmanager 0.25)
    const openApi: [unknown, number, string][] = [
      [silenceBody({ matchers: [] }), 612, 'matchers in body should have at least 1 items'],
      [silenceBody({ createdBy: undefined }), 602, 'createdBy in body is required'],
      [{ startsAt: new Date().toISOString() }, 602, 'comment in body is required'],
      [silenceBody({ matchers: [{ name: 'queue', value: 'x' }] }), 602, 'matchers.0.isRegex in body is required'],
      [silenceBody({ matchers: [{ value: 'x', isRegex: false }] }), 602, 'matchers.0.name in body is required'],
    ];
    for (const [body, code, message] of openApi) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(await r.json(), JSON.stringify(body)).toEqual({ code, message });
    }
    // an empty createdBy is taken, as Alertmanager takes it
    expect((await post(silenceBody({ createdBy: '' }))).status).toBe(200);
    const filter = await fetch(`${api}/api/v2/alerts?filter=${encodeURIComponent('queue=~"(bad"')}`);
    expect(filter.status).toBe(400);
    expect(await filter.json()).toMatch(/bad matcher format.*invalid regex/);
    const flag = await fetch(`${api}/api/v2/alerts?silenced=maybe`);
    expect(flag.status).toBe(400);
    expect(await flag.json()).toMatch(/silenced: expected true or false/);
    const unknown = await fetch(`${api}/api/v2/silence/nope`);
    expect(unknown.status).toBe(404);
    const unknownUpdate = await post(silenceBody({ id: 'nope' }));
    expect(unknownUpdate.status).toBe(404);
  });

  it('serves the status, receivers and groups as Alertmanager shapes', async () => {
    const status = (await (await fetch(`${api}/api/v2/status`)).json()) as { cluster: { status: string; peers: unknown[] }; versionInfo: { version: string }; config: { original: string }; uptime: string };
    expect(status.cluster).toMatchObject({ status: 'disabled', peers: [] });
    expect(status.config.original).toContain('receivers:');
    expect(Date.parse(status.uptime)).not.toBeNaN();
    // the receiver name of every route: the route's exporters, and the shorthand's root, which sends nothing (as in the status's config)
    expect(await (await fetch(`${api}/api/v2/receivers`)).json()).toEqual([{ name: 'file/alerts' }, { name: 'vigil' }]);
    const groups = (await (await fetch(`${api}/api/v2/alerts/groups?filter=queue%3D%22emails%22`)).json()) as { labels: Record<string, string>; receiver: { name: string }; alerts: { labels: Record<string, string> }[] }[];
    expect(groups.map((g) => [g.labels, g.receiver.name, g.alerts.map((a) => a.labels.queue)])).toEqual([[{ queue: 'emails' }, 'file/alerts', ['emails']]]);
  });

  it('keeps every one of concurrent writes, in the API and on disk', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const r = await post(silenceBody({ matchers: [{ name: 'queue', value: `q${i}`, isRegex: false, isEqual: true }] }));
        expect(r.status).toBe(200);
        return ((await r.json()) as { silenceID: string }).silenceID;
      }),
    );
    expect(new Set(ids).size).toBe(20);
    const listed = (await (await fetch(`${api}/api/v2/silences`)).json()) as { id: string }[];
    for (const id of ids) expect(listed.map((s) => s.id)).toContain(id);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'state', 'silences.json'), 'utf8')) as { silences: { id: string }[] };
    for (const id of ids) expect(onDisk.silences.map((s) => s.id)).toContain(id);
    // expire them all at once: every expiry lands
    await Promise.all(ids.map((id) => fetch(`${api}/api/v2/silence/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => expect(r.status).toBe(200))));
    const after = (await (await fetch(`${api}/api/v2/silences`)).json()) as { id: string; status: { state: string } }[];
    expect(after.filter((s) => ids.includes(s.id)).every((s) => s.status.state === 'expired')).toBe(true);
  });
});

/**
 * The JSON shape of a value: object keys (sorted) with their shapes, array element shapes, or the type. Label
 * and annotation sets are maps whose keys depend on the config (group_by), so they are just "map".
 */
function shape(v: unknown, key = ''): unknown {
  if ((key === 'labels' || key === 'annotations') && v && typeof v === 'object') return 'map';
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k], k)]));
  return typeof v;
}

describe('the same answers as a real Alertmanager', () => {
  const bin = alertmanagerBinary();
  it.runIf(bin || process.env.CI)('alerts, groups, silences, a silence and the status have the shapes Alertmanager gives (what Grafana and amtool decode)', async () => {
    expect(bin, 'prometheus-alertmanager must be installed (.ci/steps/40-alertmanager.sh)').toBeDefined();
    const am = await new AlertmanagerProcess(bin!).start();
    try {
      // the same alert and the same silence on both
      const labels = { alertname: 'QueueBacklog', queue: 'orders', severity: 'warning' };
      const post = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ labels, annotations: { summary: 'x' }, startsAt: new Date().toISOString(), generatorURL: 'http://vigil/alerts?rule=QueueBacklog' }]),
      });
      expect(post.status).toBe(200);
      const silence = {
        matchers: [{ name: 'queue', value: 'orders', isRegex: false, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
        createdBy: 'test',
        comment: 'shape check',
      };
      const both = async (method: string, p: string, body?: unknown) => {
        const init = { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, ...(body ? { body: JSON.stringify(body) } : {}) };
        const [a, v] = await Promise.all([fetch(`${am.url}${p}`, init), fetch(`${api}${p}`, init)]);
        expect([p, v.status]).toEqual([p, a.status]);
        return [await a.json(), await v.json()] as [unknown, unknown];
      };
      const [amId, vigilId] = await both('POST', '/api/v2/silences', silence);
      expect(shape(vigilId)).toEqual(shape(amId));
      await waitFor(async () => ((await (await fetch(`${am.url}/api/v2/alerts?filter=queue%3D%22orders%22`)).json()) as { status: { state: string } }[])[0]?.status.state === 'suppressed', 10_000, 'Alertmanager marks the alert silenced');
      for (const p of ['/api/v2/alerts?filter=queue%3D%22orders%22', '/api/v2/alerts/groups?filter=queue%3D%22orders%22', '/api/v2/silences?filter=queue%3D%22orders%22', '/api/v2/receivers']) {
        const [a, v] = await both('GET', p);
        expect([p, shape(v)]).toEqual([p, shape(a)]);
      }
      // the state flags as Alertmanager reads them (swag.ConvertBool, any case): 1/yes/TRUE, 0/no/False
      const counts: number[] = [];
      for (const flag of ['silenced=1', 'silenced=TRUE', 'silenced=yes', 'silenced=0', 'silenced=False', 'silenced=no', 'active=on', 'active=off']) {
        const [a, v] = await both('GET', `/api/v2/alerts?filter=queue%3D%22orders%22&${flag}`);
        expect([flag, (v as unknown[]).length]).toEqual([flag, (a as unknown[]).length]);
        counts.push((v as unknown[]).length);
      }
      expect(counts).toEqual([1, 1, 1, 0, 0, 0, 1, 1]);
      const one = async (base: string, id: unknown) => (await fetch(`${base}/api/v2/silence/${(id as { silenceID: string }).silenceID}`)).json();
      expect(shape(await one(api, vigilId))).toEqual(shape(await one(am.url, amId)));
      const [amStatus, vigilStatus] = await both('GET', '/api/v2/status');
      const s = (x: unknown) => shape(x) as { cluster: Record<string, unknown>; versionInfo: unknown; config: unknown; uptime: unknown };
      expect(Object.keys(s(vigilStatus))).toEqual(Object.keys(s(amStatus)));
      expect(s(vigilStatus).versionInfo).toEqual(s(amStatus).versionInfo);
      expect(s(vigilStatus).config).toEqual(s(amStatus).config);
      expect(s(vigilStatus).cluster.status).toEqual(s(amStatus).cluster.status);
      // an invalid silence: 400 with a JSON string on both
      const bad = { ...silence, matchers: [{ name: 'queue', value: '(unclosed', isRegex: true, isEqual: true }] };
      const [amErr, vigilErr] = await both('POST', '/api/v2/silences', bad);
      expect([typeof vigilErr, typeof amErr]).toEqual(['string', 'string']);
      const expire = async (base: string, id: unknown) => (await fetch(`${base}/api/v2/silence/${(id as { silenceID: string }).silenceID}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status;
      expect(await expire(api, vigilId)).toBe(await expire(am.url, amId));
    } finally {
      await am.stop();
    }
  }, 60_000);
});

describe('writes without a configured token', () => {
  const minimal = (d: string, api: string) => `
receivers:
  nop: {}
processors:
  alerts: {rules: []}
exporters:
  nop: {}
service:
  state_dir: "${d}/state"
  telemetry: {endpoint: "127.0.0.1:0", api: ${api}}
  pipelines:
    main: {receivers: [nop], processors: [alerts], exporters: [nop]}
`;
  const body = JSON.stringify({
    matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }],
    startsAt: new Date().toISOString(),
    endsAt: new Date(Date.now() + 3600_000).toISOString(),
    createdBy: 't',
    comment: '',
  });

  it('are refused (401, saying how to enable them) unless unauthenticated_writes is set', async () => {
    const d = tempDir('vigil-api-ro-');
    const ro = await startService(d, minimal(d, '{}'));
    try {
      const r = await fetch(`http://127.0.0.1:${ro.telemetryPort}/api/v2/silences`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer anything' }, body });
      expect(r.status).toBe(401);
      expect(await r.json()).toBe('writes are disabled: no API token is configured (set service.telemetry.api.bearer_token, or unauthenticated_writes: true)');
      expect(ro.overview().api).toEqual({ tokenRequired: false, writable: false });
    } finally {
      await ro.shutdown();
    }
    const open = await startService(d, minimal(d, '{unauthenticated_writes: true}'));
    try {
      const r = await fetch(`http://127.0.0.1:${open.telemetryPort}/api/v2/silences`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status).toBe(200);
      expect(open.overview().api).toEqual({ tokenRequired: false, writable: true });
    } finally {
      await open.shutdown();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
