/**
 * A bad disk day (issue 12): `state_dir` and a file exporter's output on a 1 MiB tmpfs; an alerts
 * processor pages 20 hosts through a webhook whose target is down, and an otlp exporter forwards spans to an
 * upstream that is down (its on-disk queue), while a file exporter writes the same spans. 5 hosts fire and
 * 5 span requests are sent, the disk is filled, 5 more of each, the disk is freed, 10 more of each, then
 * kill -9, restart, targets up.
 * Figures: alerts delivered / lost / duplicated, spans acknowledged (HTTP 200) / forwarded / lost,
 * torn lines in the file, what /readyz said while the disk was full and after, the queue gauge before the
 * kill against what the restart replayed, whether state.json parses.
 * Invariants: nothing acknowledged lost (every firing host paged, every acknowledged span forwarded and in
 * the file), no torn line, state.json parses, /readyz names the component while full and is 200 once freed,
 * refusals are 503.
 * Needs root for `mount -t tmpfs`; without it the scenario says so loudly and exits 0 without figures.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Invariants, figure, freePort, loadavg, request, sleep, startVigil, tally, tempDir, traceJson, writeYaml } from './lib.ts';

const inv = new Invariants('disk-full');
const dir = tempDir();
const mnt = path.join(dir, 'tmpfs');
fs.mkdirSync(mnt);
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
} catch (e) {
  console.log(`\n${'!'.repeat(90)}\n!!! disk-full: SKIPPED, cannot mount a tmpfs (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}); run as root\n${'!'.repeat(90)}\n`);
  process.exit(0);
}
process.on('exit', () => {
  try {
    execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
  } catch {
    // gone already
  }
});

const filler = path.join(mnt, 'filler');
function fill(): number {
  const fd = fs.openSync(filler, 'w');
  let n = 0;
  for (let chunk = 65536; chunk >= 1; chunk >>= 1) {
    const b = Buffer.alloc(chunk, 0x66);
    for (;;) {
      try {
        n += fs.writeSync(fd, b);
      } catch {
        break;
      }
    }
  }
  fs.closeSync(fd);
  return n;
}

const [httpPort, tel, hookPort, upPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const spansFile = path.join(mnt, 'out', 'spans.jsonl');
const retry = { initial_interval: '200ms', max_interval: '1s', max_elapsed_time: '0s' };
const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
  processors: {
    alerts: {
      interval: '1s',
      rules: [{ name: 'HighLoad', metric: 'load', stat: 'last', group_by: ['host'], window: '1m', op: '>', threshold: 10, severity: 'warning' }],
      routes: [{ exporters: ['webhook/ops'], group_by: ['alertname', 'host'], group_wait: '0s', repeat_interval: '1h' }],
    },
  },
  exporters: {
    'webhook/ops': { url: `http://127.0.0.1:${hookPort}/hook`, retry },
    'otlp/upstream': { endpoint: `http://127.0.0.1:${upPort}`, protocol: 'http/json', compression: 'none', retry },
    'file/spans': { path: spansFile, signals: ['traces'] },
  },
  service: {
    state_dir: path.join(mnt, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: {
      alerting: { receivers: ['otlp'], processors: ['alerts'], exporters: ['webhook/ops'] },
      traces: { receivers: ['otlp'], exporters: ['otlp/upstream', 'file/spans'] },
    },
  },
});

figure('load average (start)', loadavg());
let vigil = await startVigil(config, tel);
const pad = 'p'.repeat(3000);
const statuses: number[] = [];
const acked = new Set<string>();
async function fire(hosts: number[]): Promise<void> {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  const dataPoints = hosts.map((h) => ({ asDouble: 50, timeUnixNano: now, attributes: [{ key: 'host', value: { stringValue: `h${h}` } }] }));
  const body = JSON.stringify({ resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ scope: {}, metrics: [{ name: 'load', gauge: { dataPoints } }] }] }] });
  await request(`http://127.0.0.1:${httpPort}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}
let spanSeq = 0;
async function spans(requests: number): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const names = [0, 1, 2].map(() => `op-${spanSeq++}`);
    const r = await request(`http://127.0.0.1:${httpPort}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: traceJson(3, { name: (k) => names[k]!, attrs: () => ({ pad }) }),
    });
    statuses.push(r.status);
    if (r.status === 200) for (const n of names) acked.add(n);
  }
}
const readyz = async () => {
  const r = await request(`${vigil.telemetryUrl}/readyz`);
  return `${r.status} ${r.body.trim()}`;
};
const queueGauge = async (): Promise<Record<string, number>> => {
  const text = await (await fetch(`${vigil.telemetryUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vigil_exporter_queue_size\{[^}]*exporter="([^"]+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
};

await fire([0, 1, 2, 3, 4]);
await spans(5);
await sleep(3000);
figure('filled the tmpfs with', `${fill()} bytes`);
await fire([5, 6, 7, 8, 9]);
await spans(5);
await sleep(3000);
const whileFull = await readyz();
const gaugeFull = await queueGauge();
fs.rmSync(filler);
await fire([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
await spans(10);
await sleep(4000);
const afterFree = await readyz();
const gaugeBeforeKill = await queueGauge();
vigil.proc.kill('SIGKILL');
await vigil.exit;

// targets up, restart
const hosts: string[] = [];
const forwarded: string[] = [];
const serve = (port: number, onBody: (b: string) => void) =>
  new Promise<http.Server>((resolve) => {
    const s = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        onBody(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
const hook = await serve(hookPort, (b) => {
  for (const a of (JSON.parse(b) as { alerts: { status: string; labels: { host: string } }[] }).alerts) if (a.status === 'firing') hosts.push(a.labels.host);
});
const up = await serve(upPort, (b) => {
  const req = JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] };
  for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) forwarded.push(s.name);
});
vigil = await startVigil(config, tel);
const replayed = vigil.logs.filter((l) => l.includes('resuming delivery')).map((l) => `${JSON.parse(l).component}: ${JSON.parse(l).queued}`);
const t1 = Date.now();
while (Date.now() - t1 < 20_000 && (new Set(hosts).size < 20 || [...acked].some((n) => !forwarded.includes(n)))) await sleep(250);
await sleep(1000);

const uniqueHosts = new Set(hosts);
const forwardedSet = new Set(forwarded);
const lostSpans = [...acked].filter((n) => !forwardedSet.has(n));
let torn = 0;
const inFile = new Set<string>();
for (const line of fs.readFileSync(spansFile, 'utf8').split('\n').filter(Boolean)) {
  try {
    const req = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] };
    for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) inFile.add(s.name);
  } catch {
    torn++;
  }
}
const missingInFile = [...acked].filter((n) => !inFile.has(n));
let stateOk = true;
try {
  JSON.parse(fs.readFileSync(path.join(mnt, 'state/processors/alerts/state.json'), 'utf8'));
} catch {
  stateOk = false;
}
const tornLogs = vigil.logs.filter((l) => /torn/.test(l)).length;
await vigil.stop();
hook.close();
up.close();

figure('span requests', JSON.stringify(tally(statuses)));
figure('alerts', `20 hosts fired; ${uniqueHosts.size} paged after the restart, ${20 - uniqueHosts.size} lost, ${hosts.length - uniqueHosts.size} duplicate pages`);
figure('spans', `${acked.size} acknowledged; ${forwardedSet.size} forwarded (${forwarded.length - forwardedSet.size} duplicates), ${lostSpans.length} acknowledged but lost`);
figure('file exporter', `${torn} torn lines; ${missingInFile.length} acknowledged spans missing from the file`);
figure('/readyz while full', whileFull);
figure('/readyz after freeing', afterFree);
figure('queue gauge while full', gaugeFull);
figure('queue gauge before kill -9', gaugeBeforeKill);
figure('replayed after restart', replayed.join('; ') || '(nothing)');
figure('"torn" log lines after restart', tornLogs);
figure('state.json parses', stateOk);

inv.check(uniqueHosts.size === 20, `every firing host paged after the restart (${uniqueHosts.size}/20)`);
inv.check(lostSpans.length === 0, `no acknowledged span lost by the otlp exporter queue (${lostSpans.length})`);
inv.check(torn === 0, `file exporter output is whole JSON lines (${torn} torn)`);
inv.check(missingInFile.length === 0, `every acknowledged span is in the file (${missingInFile.length} missing)`);
inv.check(stateOk, 'state.json parses');
inv.check(/^503 .*exporter\/(otlp\/upstream|file\/spans|webhook\/ops)/.test(whileFull), '/readyz names a component that cannot write while the disk is full');
inv.check(afterFree.startsWith('200'), '/readyz is 200 again once the disk has room');
inv.check(statuses.every((s) => s === 200 || s === 503), 'refusals are 503 (retryable)');
inv.finish();
