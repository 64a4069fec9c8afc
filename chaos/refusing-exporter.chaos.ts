/**
 * One refusing exporter must not make the others page again (issue 12, item 5): a route to `webhook/oncall`
 * (target down, its queue holding one notification: once full of criticals it refuses) and to
 * `webhook/ops` (healthy), `interval: 1s`. First one alert fills oncall's queue, then 3 more fire.
 * Figures: POSTs per alert at each target, with the load average.
 * Invariants: no crash; webhook/ops gets each alert's firing notification exactly once while oncall keeps
 * refusing (the issue saw 15 in 15 s); once oncall's target is up, it gets each alert, each once.
 */
import http from 'node:http';
import path from 'node:path';
import { Invariants, SHORT, figure, freePort, loadavg, request, sleep, startVigil, tempDir, writeYaml } from './lib.ts';

const inv = new Invariants('refusing-exporter');
const REFUSING_S = SHORT ? 10 : 15;
const dir = tempDir();
const [jsonPort, tel, oncallPort] = [await freePort(), await freePort(), await freePort()];

/** A webhook target counting firing notifications per host label. */
function target(): { server: http.Server; perHost: Map<string, number>; posts: () => number } {
  const perHost = new Map<string, number>();
  let posts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { status: string; labels: Record<string, string> }[] };
        for (const a of body.alerts) if (a.status === 'firing') perHost.set(a.labels.host ?? '', (perHost.get(a.labels.host ?? '') ?? 0) + 1);
      } catch {
        // counted as a POST only
      }
      res.writeHead(200).end();
    });
  });
  return { server, perHost, posts: () => posts };
}
const ops = target();
await new Promise<void>((r) => ops.server.listen(0, '127.0.0.1', r));
const opsUrl = `http://127.0.0.1:${(ops.server.address() as import('node:net').AddressInfo).port}/hook`;

const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { http_json: { endpoint: `127.0.0.1:${jsonPort}` } },
  processors: {
    alerts: {
      interval: '1s',
      rules: [{ name: 'HighLoad', metric: 'load', group_by: ['host'], stat: 'last', window: '1m', op: '>', threshold: 10, severity: 'critical' }],
      route: { exporters: ['webhook/ops', 'webhook/oncall'], group_by: ['host'], group_wait: '0s', group_interval: '1s' },
    },
  },
  exporters: {
    'webhook/ops': { url: opsUrl },
    'webhook/oncall': { url: `http://127.0.0.1:${oncallPort}/hook`, retry: { initial_interval: '200ms', max_interval: '500ms' }, sending_queue: { max_items: 1 } },
  },
  service: {
    state_dir: path.join(dir, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { main: { receivers: ['http_json'], processors: ['alerts'], exporters: ['webhook/ops', 'webhook/oncall'] } },
  },
});
figure('load average (start)', loadavg());
const vigil = await startVigil(config, tel);
const post = async (hosts: string[]) => {
  const body = JSON.stringify(hosts.map((host) => ({ kind: 'metric', name: 'load', value: 50, attributes: { host } })));
  return (await request(`http://127.0.0.1:${jsonPort}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;
};
const statuses = [await post(['x'])];
await sleep(3000); // x is queued at oncall (and delivered to ops)
statuses.push(await post(['a', 'b', 'c']));
await sleep(REFUSING_S * 1000);
const opsWhileRefusing = Object.fromEntries(ops.perHost);
figure(`webhook/ops during ${REFUSING_S} s of refusals`, `${ops.posts()} POSTs; firing per host ${JSON.stringify(opsWhileRefusing)}`);

const oncall = target();
await new Promise<void>((r) => oncall.server.listen(oncallPort, '127.0.0.1', r));
const until = Date.now() + 20_000;
while (Date.now() < until && ['x', 'a', 'b', 'c'].some((h) => !oncall.perHost.get(h))) await sleep(250);
await sleep(3000);
figure('webhook/oncall once its target is up', `${oncall.posts()} POSTs; firing per host ${JSON.stringify(Object.fromEntries(oncall.perHost))}`);
figure('webhook/ops at the end', `${ops.posts()} POSTs; firing per host ${JSON.stringify(Object.fromEntries(ops.perHost))}`);
figure('load average (end)', loadavg());
const crashed = vigil.exited();
const code = await vigil.stop();
inv.check(statuses.every((s) => s === 200), `events accepted (${statuses.join(', ')})`);
inv.check(!crashed, `no crash (${crashed ? `exited ${code}` : 'running'})`);
for (const h of ['x', 'a', 'b', 'c']) {
  inv.check(opsWhileRefusing[h] === 1, `webhook/ops got ${h} once while oncall refused (got ${opsWhileRefusing[h] ?? 0})`);
  inv.check(oncall.perHost.get(h) === 1, `webhook/oncall got ${h} once after recovering (got ${oncall.perHost.get(h) ?? 0})`);
}
inv.check(ops.posts() === 4, `webhook/ops: no further POST after oncall recovered (${ops.posts()} in all)`);
ops.server.close();
oncall.server.close();
inv.finish();
