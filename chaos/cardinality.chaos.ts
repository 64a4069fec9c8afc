/**
 * A cardinality burst through the shipped sidecar config (deploy/kubernetes/sidecar.yaml's ConfigMap, with
 * its NODE_OPTIONS (heap cap and young generation)): 1,000 spans/s, every one with a new span name (`op-<n>`), then
 * ordinary traffic (one span name). Slack is a local server that answers as Slack does, SMTP a closed
 * port (notifications wait in their on-disk queues).
 * Figures: statuses during and after the burst, RSS over time, time until ordinary data is accepted again.
 * Invariants: no crash (no "heap out of memory"), RSS under the container's memory limit (256 MiB), no 500,
 * ordinary data accepted again within seconds of the burst's end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Invariants, SHORT, figure, request, rssLine, sampleRss, sleep, startFromManifest, tally, traceJson } from './lib.ts';

const inv = new Invariants('cardinality');
const BURST_S = SHORT ? 10 : 30;
const AFTER_S = SHORT ? 15 : 30;
const SPANS_PER_S = 1000;
const REQ_PER_S = 10;
const HEAP_MIB = 192;

const { vigil, dir, httpPort, containerLimitMiB: CONTAINER_LIMIT_MIB, slackPosts, close } = await startFromManifest(HEAP_MIB);
const rss = sampleRss(vigil.pid, 1000);
const post = (body: string) =>
  request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer chaos-token' }, body, timeoutMs: 10_000 });

// Burst: REQ_PER_S requests a second of SPANS_PER_S / REQ_PER_S spans, each span a new name.
let n = 0;
const burst: string[] = [];
const pending: Promise<void>[] = [];
const tBurst = Date.now();
for (let s = 0; s < BURST_S * REQ_PER_S && !vigil.exited(); s++) {
  const body = traceJson(SPANS_PER_S / REQ_PER_S, { name: () => `op-${n++}` });
  pending.push(post(body).then((r) => void burst.push(r.status ? String(r.status) : 'no answer')));
  const wait = tBurst + ((s + 1) * 1000) / REQ_PER_S - Date.now();
  if (wait > 0) await sleep(wait);
}
await Promise.all(pending);
const burstEnd = Date.now();
figure('burst', `${n} distinct span names in ${((burstEnd - tBurst) / 1000).toFixed(1)} s; statuses ${JSON.stringify(tally(burst))}`);

// Afterwards: ordinary traffic, 5 requests/s of 20 spans with one name.
const after: { t: number; status: string }[] = [];
while (Date.now() - burstEnd < AFTER_S * 1000 && !vigil.exited()) {
  const r = await post(traceJson(20, { name: () => 'checkout' }));
  after.push({ t: (Date.now() - burstEnd) / 1000, status: r.status ? String(r.status) : 'no answer' });
  await sleep(200);
}
const firstOk = after.find((a) => a.status === '200');
const lastRefused = [...after].reverse().find((a) => a.status !== '200');
figure('after the burst', `statuses ${JSON.stringify(tally(after.map((a) => a.status)))}; first 200 after ${firstOk ? `${firstOk.t.toFixed(1)} s` : 'never'}; last refusal at ${lastRefused ? `${lastRefused.t.toFixed(1)} s` : '-'}`);
const crashed = vigil.exited();
const metrics = crashed ? '' : (await request(`${vigil.telemetryUrl}/metrics`, { headers: { authorization: 'Bearer chaos-token' } })).body;
const code = await vigil.stop();
const samples = rss.stop();
figure('RSS MiB over time', rssLine(samples));
figure('RSS max', `${Math.max(...samples.map((s) => s[1]))} MiB (container limit ${CONTAINER_LIMIT_MIB} MiB)`);
figure('alerts.jsonl', (() => {
  const f = path.join(dir, 'alerts.jsonl');
  return fs.existsSync(f) ? `${(fs.statSync(f).size / 1048576).toFixed(1)} MiB` : 'absent';
})());
figure('Slack posts', slackPosts());
const oom = /heap out of memory/i.test(vigil.stderr());
if (crashed) figure('stderr (tail)', vigil.stderr().slice(-600));
figure('memory budget (/metrics)', metrics.split('\n').filter((l) => /^vigil_memory_budget|series_overflow_items_total|vigil_processor_refused_items_total/.test(l)).join(' | ') || '(none)');
inv.check(!crashed && !oom, `no crash (${crashed ? `exited: ${code}${oom ? ', heap out of memory' : ''}` : 'still running'})`);
inv.check(Math.max(...samples.map((s) => s[1])) < CONTAINER_LIMIT_MIB, `RSS stayed under ${CONTAINER_LIMIT_MIB} MiB`);
inv.check(![...burst, ...after.map((a) => a.status)].some((s) => s.startsWith('5') && s !== '503'), 'no 500');
inv.check(!!firstOk && firstOk.t < 10, `ordinary data accepted again within 10 s of the burst (${firstOk ? `${firstOk.t.toFixed(1)} s` : 'never'})`);
inv.check(after.slice(-10).every((a) => a.status === '200'), 'the last 10 ordinary requests all accepted');
close();
inv.finish();
