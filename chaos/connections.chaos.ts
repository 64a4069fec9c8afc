/**
 * Slow and idle connections at a low file-descriptor limit (`ulimit -n 256` in vigil's process): more idle
 * TCP connections to the gRPC port than vigil has descriptors, and HTTP clients trickling their headers a
 * byte at a time. Meanwhile /healthz and OTLP/HTTP requests probe whether vigil still serves.
 * Figures: probe results over time, when the server cut the idle and trickling connections, refused
 * connections on /metrics.
 * Invariants: no crash; /healthz and OTLP/HTTP answer again within read_timeout (10 s) + 5 s and stay up;
 * header trickles cut within read_timeout + 5 s; idle connections that never send a request are closed
 * within read_timeout + 5 s; refused connections counted on /metrics.
 */
import net from 'node:net';
import path from 'node:path';
import { Invariants, SHORT, figure, freePort, loadavg, percentile, request, sleep, startVigil, tally, tempDir, traceJson, writeYaml } from './lib.ts';

const inv = new Invariants('connections');
const NOFILE = 256;
const IDLE = 300;
const TRICKLE = 100;
const RUN_S = SHORT ? 22 : 30;
const READ_TIMEOUT_S = 10;
const dir = tempDir();
const [httpPort, grpcPort, jsonPort, tel] = [await freePort(), await freePort(), await freePort(), await freePort()];
const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: {
    otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` }, grpc: { endpoint: `127.0.0.1:${grpcPort}` } } },
    http_json: { endpoint: `127.0.0.1:${jsonPort}` },
  },
  exporters: { nop: {} },
  service: {
    state_dir: path.join(dir, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { main: { receivers: ['otlp', 'http_json'], exporters: ['nop'] } },
  },
});
figure('load average (start)', loadavg());
const vigil = await startVigil(config, tel, { nofile: NOFILE });
const t0 = Date.now();
const since = () => (Date.now() - t0) / 1000;

// Idle connections to the gRPC port that never send a byte.
const idleClosed: number[] = [];
const idleErrors: string[] = [];
const sockets: net.Socket[] = [];
for (let i = 0; i < IDLE; i++) {
  const s = net.connect(grpcPort, '127.0.0.1');
  s.on('error', (e) => idleErrors.push((e as NodeJS.ErrnoException).code ?? e.message));
  s.on('close', () => idleClosed.push(since()));
  s.resume();
  sockets.push(s);
}
// HTTP clients trickling their request headers, one header line every 2 s.
const trickleClosed: number[] = [];
let trickleCutByVigil: number[] = [];
for (let i = 0; i < TRICKLE; i++) {
  const s = net.connect(httpPort, '127.0.0.1', () => s.write('POST /v1/traces HTTP/1.1\r\nHost: vigil\r\n'));
  s.on('error', () => {});
  const timer = setInterval(() => s.writable && s.write(`X-Slow-${i}: a\r\n`), 2000);
  s.on('close', () => {
    clearInterval(timer);
    trickleClosed.push(since());
  });
  s.resume();
  sockets.push(s);
}

const probes: { t: number; healthz: string; otlp: string }[] = [];
while (since() < RUN_S && !vigil.exited()) {
  const [h, o] = await Promise.all([
    request(`${vigil.telemetryUrl}/healthz`, { timeoutMs: 2000 }),
    request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: traceJson(2), timeoutMs: 2000 }),
  ]);
  probes.push({ t: since(), healthz: h.status ? String(h.status) : (h.error ?? 'error'), otlp: o.status ? String(o.status) : (o.error ?? 'error') });
  await sleep(1000);
}
const crashed = vigil.exited();
const metrics = crashed ? '' : (await request(`${vigil.telemetryUrl}/metrics`)).body;
trickleCutByVigil = [...trickleClosed];
const stillOpenIdle = IDLE - idleClosed.length;
const idleClosedByVigil = [...idleClosed];
for (const s of sockets) s.destroy();
const code = await vigil.stop();

figure('probes (t s: healthz / OTLP HTTP)', probes.map((p) => `${p.t.toFixed(0)}:${p.healthz}/${p.otlp}`).join(' '));
figure('idle gRPC connections', `${IDLE} opened; ${idleClosedByVigil.length} closed by vigil (median at ${percentile(idleClosedByVigil, 0.5).toFixed(1)} s, last ${Math.max(0, ...idleClosedByVigil).toFixed(1)} s); errors ${JSON.stringify(tally(idleErrors))}`);
figure('header trickles', `${TRICKLE} opened; ${trickleCutByVigil.length} cut by vigil (median at ${percentile(trickleCutByVigil, 0.5).toFixed(1)} s, last ${Math.max(0, ...trickleCutByVigil).toFixed(1)} s)`);
const refusedLines = metrics.split('\n').filter((l) => l.startsWith('vigil_') && l.includes('connection'));
figure('/metrics connections', refusedLines.join(' | ') || '(none)');
const logLines = vigil.logs.filter((l) => /connection/i.test(l));
figure('log lines about connections', `${logLines.length}${logLines[0] ? `, e.g. ${logLines[0].slice(0, 200)}` : ''}`);

const deadline = READ_TIMEOUT_S + 5;
const lateProbes = probes.filter((p) => p.t >= deadline);
inv.check(!crashed, `no crash (${crashed ? `exited ${code}` : 'running'})`);
inv.check(lateProbes.length > 0 && lateProbes.every((p) => p.healthz === '200'), `/healthz answers 200 from ${deadline} s on`);
inv.check(lateProbes.length > 0 && lateProbes.every((p) => p.otlp === '200'), `OTLP/HTTP answers 200 from ${deadline} s on`);
inv.check(trickleCutByVigil.length === TRICKLE && Math.max(...trickleCutByVigil) <= deadline, `every header trickle cut within ${deadline} s`);
inv.check(stillOpenIdle === 0 && Math.max(...idleClosedByVigil) <= deadline, `every idle gRPC connection closed within ${deadline} s (${stillOpenIdle} still open)`);
inv.check(refusedLines.some((l) => /refused|dropped/.test(l) && !/ 0$/.test(l)), 'refused connections counted on /metrics');
inv.finish();
