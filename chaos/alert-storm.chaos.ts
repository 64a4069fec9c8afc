/**
 * An alert storm: one rule grouped by `user.id` over 100,000 distinct values (a gauge received over
 * OTLP/HTTP), routed to a webhook grouped by user. Without a per-rule limit that is one alert and one POST
 * per user.
 * A second rule, over a gauge of 10,000 users, has its limit raised (`limit: 15000`) and goes to a second
 * webhook, grouped by user too: there the dispatcher's `max_aggregation_groups` (50 here) is what bounds the
 * groups and the POSTs; the alerts past it arrive together in one overflow group, none lost. (With the limit
 * lifted altogether, `limit: 0`, the alerts themselves are what the user allowed to grow: 100,000 of them
 * held ~900 MiB.)
 * Figures: alerts and webhook POSTs, RSS over time.
 * Invariants: no crash, webhook POSTs bounded (<= 20 for the limited rule, <= 100 for the raised one),
 * every alert of the raised rule delivered, RSS under 512 MiB, the rule's limit reported, the group
 * limit counted on /metrics.
 */
import http from 'node:http';
import path from 'node:path';
import { Invariants, SHORT, figure, freePort, loadavg, request, rssLine, sampleRss, sleep, startVigil, tempDir, writeYaml } from './lib.ts';

const inv = new Invariants('alert-storm');
const USERS = SHORT ? 20_000 : 100_000;
const RUN_S = SHORT ? 12 : 30;
/** Users of the second rule, whose limit is raised to RAISED_LIMIT. */
const RAISED_USERS = 10_000;
const RAISED_LIMIT = 15_000;
const dir = tempDir();
const [httpPort, tel] = [await freePort(), await freePort()];
let posts = 0;
let alerts = 0;
const names = new Map<string, number>();
const hook = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    posts++;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { labels: Record<string, string> }[] };
      alerts += body.alerts.length;
      for (const a of body.alerts) names.set(a.labels.alertname ?? '', (names.get(a.labels.alertname ?? '') ?? 0) + 1);
    } catch {
      // counted as a POST only
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(hook.address() as import('node:net').AddressInfo).port}/hook`;
let rawPosts = 0;
const rawUsers = new Set<string>();
let overflowPosts = 0;
const rawHook = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    rawPosts++;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { groupLabels: Record<string, string>; alerts: { labels: Record<string, string> }[] };
      if (body.groupLabels.group_overflow === 'true') overflowPosts++;
      for (const a of body.alerts) rawUsers.add(a.labels['user.id'] ?? '');
    } catch {
      // counted as a POST only
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => rawHook.listen(0, '127.0.0.1', r));
const rawUrl = `http://127.0.0.1:${(rawHook.address() as import('node:net').AddressInfo).port}/hook`;
const MAX_GROUPS = 50;

const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
  processors: {
    alerts: {
      interval: '1s',
      max_aggregation_groups: MAX_GROUPS,
      rules: [
        { name: 'QueueBacklog', metric: 'queue_depth', stat: 'last', group_by: ['user.id'], window: '1m', op: '>', threshold: 0, severity: 'warning' },
        { name: 'QueueBacklogRaised', metric: 'queue_depth_raised', stat: 'last', group_by: ['user.id'], window: '1m', op: '>', threshold: 0, severity: 'info', limit: RAISED_LIMIT },
      ],
      routes: [
        { matchers: ['alertname="QueueBacklogRaised"'], exporters: ['webhook/raw'], group_by: ['alertname', 'user.id'], group_wait: '0s', group_interval: '1s' },
        { exporters: ['webhook/ops'], group_by: ['alertname', 'user.id'], group_wait: '0s', group_interval: '1s' },
      ],
    },
  },
  exporters: { 'webhook/ops': { url: hookUrl }, 'webhook/raw': { url: rawUrl } },
  service: {
    state_dir: path.join(dir, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { main: { receivers: ['otlp'], processors: ['alerts'], exporters: ['webhook/ops', 'webhook/raw'] } },
  },
});
figure('load average (start)', loadavg());
const vigil = await startVigil(config, tel, { heapMiB: 2048 });
const rss = sampleRss(vigil.pid, 1000);
const t0 = Date.now();
const statuses: Record<string, number> = {};
// Points of USERS distinct user ids, 1,000 per request; sent twice so every series has a value in the window.
for (let round = 0; round < 2; round++)
  for (let u = 0; u < USERS; u += 1000) {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const dataPoints = Array.from({ length: 1000 }, (_, i) => ({ asDouble: 5, timeUnixNano: now, attributes: [{ key: 'user.id', value: { stringValue: `user-${u + i}` } }] }));
    const metrics = [{ name: 'queue_depth', gauge: { dataPoints } }, ...(u < RAISED_USERS ? [{ name: 'queue_depth_raised', gauge: { dataPoints } }] : [])];
    const body = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ scope: {}, metrics }] }] });
    const r = await request(`http://127.0.0.1:${httpPort}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  }
figure('sent', `${USERS} distinct user.id values x2 in ${((Date.now() - t0) / 1000).toFixed(1)} s; statuses ${JSON.stringify(statuses)}`);
while (Date.now() - t0 < RUN_S * 1000 && !vigil.exited()) await sleep(500);
const crashed = vigil.exited();
const metrics = crashed ? '' : (await request(`${vigil.telemetryUrl}/metrics`)).body;
const code = await vigil.stop();
const samples = rss.stop();
figure('webhook', `${posts} POSTs holding ${alerts} alerts; by alertname ${JSON.stringify(Object.fromEntries(names))}`);
figure(`webhook (rule limit ${RAISED_LIMIT})`, `${rawPosts} POSTs (${overflowPosts} of the overflow group) holding ${rawUsers.size} distinct users of ${RAISED_USERS}`);
figure('RSS MiB over time', rssLine(samples));
const limitLine = metrics.split('\n').filter((l) => /limit|overflow|dropped_series|memory_budget/i.test(l) && !l.startsWith('#')).slice(0, 12);
const groupLimit = Number(/vigil_processor_aggregation_group_limit_reached_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
figure('/metrics (limits)', limitLine.join(' | ') || '(none)');
inv.check(!crashed, `no crash (${crashed ? `exited ${code}` : 'running'})`);
inv.check(posts <= 20, `webhook POSTs bounded: ${posts} <= 20`);
inv.check(Math.max(...samples.map((s) => s[1])) < 512, `RSS under 512 MiB (max ${Math.max(...samples.map((s) => s[1]))})`);
inv.check([...names.keys()].some((n) => /limit/i.test(n)), 'the rule limit was reported as an alert');
inv.check(rawPosts <= 2 * MAX_GROUPS, `raised rule: webhook POSTs bounded by max_aggregation_groups: ${rawPosts} <= ${2 * MAX_GROUPS}`);
inv.check(rawUsers.size === RAISED_USERS, `raised rule: every alert delivered (${rawUsers.size} of ${RAISED_USERS} users)`);
inv.check(groupLimit >= RAISED_USERS - MAX_GROUPS, `group limit counted on /metrics (${groupLimit} >= ${RAISED_USERS - MAX_GROUPS})`);
hook.close();
rawHook.close();
inv.finish();
