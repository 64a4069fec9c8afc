/**
 * A reload or a restart must page no one (issue 12): rule `sum(errors) over 1m > 10` (30s in short mode), one
 * error a second over OTLP/HTTP, spans (percentiles, 1s windows) at ~20 requests/s over keep-alive
 * connections, and a burst of 32 concurrent keep-alive senders around the reload. 20 s in: SIGHUP with the
 * config unchanged; 15 s later SIGTERM and a new start.
 * Figures: the webhook's notifications (status, offset, startsAt), export requests that failed without an
 * answer (connection reset) or got 503 around the reload, percentile windows emitted twice.
 * Invariants: the alert fires once, never resolves, keeps its startsAt through the reload and the restart;
 * no request reset by the reload; each window emitted once across the reload.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Invariants, SHORT, figure, freePort, loadavg, request, sleep, startVigil, tally, tempDir, traceJson, writeYaml } from './lib.ts';

const inv = new Invariants('reload-restart');
const dir = tempDir();
const [httpPort, tel] = [await freePort(), await freePort()];
const notes: { at: number; status: string; startsAt: string }[] = [];
const hook = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const p = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: { status: string; startsAt: string }[] };
    for (const a of p.alerts) notes.push({ at: Date.now(), status: a.status, startsAt: a.startsAt });
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(hook.address() as import('node:net').AddressInfo).port}/hook`;
const metricsFile = path.join(dir, 'metrics.jsonl');
const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
  processors: {
    percentiles: { window: '1s', late_windows: 0, dimensions: ['service.name'] },
    alerts: {
      interval: '1s',
      rules: [{ name: 'Errors', metric: 'errors', stat: 'sum', window: SHORT ? '30s' : '1m', op: '>', threshold: 10, severity: 'critical' }],
      routes: [{ exporters: ['webhook/ops'], group_wait: '0s', repeat_interval: '1h' }],
    },
  },
  exporters: { 'webhook/ops': { url: hookUrl }, 'file/metrics': { path: metricsFile, signals: ['metrics'], fsync: false } },
  service: {
    state_dir: path.join(dir, 'state'),
    shutdown_timeout: '10s',
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { main: { receivers: ['otlp'], processors: ['percentiles', 'alerts'], exporters: ['webhook/ops', 'file/metrics'] } },
  },
});

figure('load average (start)', loadavg());
let vigil = await startVigil(config, tel);
const t0 = Date.now();
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const burstAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
type Outcome = { at: number; status: number; error?: string };
const outcomes: Outcome[] = [];
let running = true;
const post = async (p: string, body: string, a: http.Agent) => {
  const r = await request(`http://127.0.0.1:${httpPort}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, agent: a });
  outcomes.push({ at: Date.now(), status: r.status, error: r.error });
};
const errorsBody = () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceMetrics: [
      {
        resource: { attributes: [] },
        scopeMetrics: [{ scope: {}, metrics: [{ name: 'errors', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '1', startTimeUnixNano: String(now - 1_000_000_000n), timeUnixNano: String(now) }] } }] }],
      },
    ],
  });
};
const loops = [
  (async () => {
    while (running) {
      await post('/v1/metrics', errorsBody(), agent);
      await sleep(1000);
    }
  })(),
  ...[0, 1, 2, 3].map(async () => {
    while (running) {
      await post('/v1/traces', traceJson(5), agent);
      await sleep(200);
    }
  }),
];
let burst = false;
const burstLoops = Array.from({ length: 32 }, async () => {
  while (running) {
    if (burst) await post('/v1/traces', traceJson(50), burstAgent);
    else await sleep(50);
  }
});

const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));
await at(19_000);
burst = true;
await at(20_000);
const hupAt = Date.now();
vigil.proc.kill('SIGHUP');
for (let i = 0; i < 400 && !vigil.logs.some((l) => l.includes('config reloaded')); i++) await sleep(25);
const reloadLog = vigil.logs.find((l) => l.includes('config reloaded')) ?? '';
const reloadedAt = Date.now();
await sleep(3000);
burst = false;
await at(35_000);
const termAt = Date.now();
await vigil.stop();
vigil = await startVigil(config, tel);
const startedAgain = Date.now();
await at(55_000);
running = false;
await Promise.all([...loops, ...burstLoops]);
await vigil.stop();
hook.close();
agent.destroy();
burstAgent.destroy();

const rel = (t: number) => `+${((t - t0) / 1000).toFixed(1)}s`;
figure('notifications', notes.map((n) => `${n.status}@${rel(n.at)} startsAt ${n.startsAt}`).join('; ') || '(none)');
const aroundReload = outcomes.filter((o) => o.at >= hupAt - 1000 && o.at <= reloadedAt + 3000);
const resets = aroundReload.filter((o) => o.status === 0);
figure('reload took', `${reloadedAt - hupAt} ms from SIGHUP to the log line; ${/"swap_ms":\d+/.exec(reloadLog)?.[0] ?? 'swap_ms: n/a'} ${/"drain_ms":\d+/.exec(reloadLog)?.[0] ?? ''}`);
figure('requests around the reload', `${aroundReload.length}: ${JSON.stringify(tally(aroundReload.map((o) => o.status)))}; errors ${JSON.stringify(tally(resets.map((o) => o.error ?? '')))}`);
const down = outcomes.filter((o) => o.at >= termAt && o.at <= startedAgain + 1000);
figure('requests around the restart (vigil down part of it)', JSON.stringify(tally(down.map((o) => o.status))));
// span.calls windows (start, end) emitted more than once, up to the SIGTERM
const seen = new Map<string, number>();
for (const line of fs.readFileSync(metricsFile, 'utf8').split('\n')) {
  if (!line) continue;
  const req = JSON.parse(line) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { startTimeUnixNano: string; timeUnixNano: string }[] } }[] }[] }[] };
  for (const rm of req.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        if (m.name === 'span.calls')
          for (const dp of m.sum!.dataPoints) {
            if (Number(BigInt(dp.timeUnixNano) / 1_000_000n) > termAt - 1000) continue;
            const k = `${dp.startTimeUnixNano}-${dp.timeUnixNano}`;
            seen.set(k, (seen.get(k) ?? 0) + 1);
          }
}
const twice = [...seen.values()].filter((n) => n > 1).length;
figure('percentile windows before the SIGTERM', `${seen.size}; emitted twice: ${twice}`);
figure('load average (end)', loadavg());

const firing = notes.filter((n) => n.status === 'firing');
inv.check(firing.length >= 1, `the alert fired (${firing.length} firing notifications)`);
inv.check(notes.every((n) => n.status !== 'resolved'), `no resolve because of the reload or the restart (${notes.filter((n) => n.status === 'resolved').length})`);
inv.check(firing.length === 1, `paged once (${firing.length})`);
inv.check(new Set(notes.map((n) => n.startsAt)).size <= 1, 'the same startsAt throughout');
inv.check(resets.length === 0, `no request failed without an answer around the reload (${resets.length})`);
inv.check(twice === 0, `each percentile window emitted once across the reload (${twice} twice)`);
inv.finish();
