/**
 * Overload at about 2x saturation, over OTLP/HTTP (protobuf) and OTLP/gRPC at once, into
 * memory_limiter -> cost -> percentiles -> alerts -> file. First the saturation rate is measured with a
 * closed loop (each client sends its next request when the last one is answered); then requests of 512
 * spans are sent open-loop at twice that rate, each with a 10 s client timeout as the OTel SDKs have.
 * Every request has its own trace id, so the file tells which requests were written.
 * Figures: statuses, latency p50/p99/max, /healthz latency, RSS over time, acked vs written.
 * Invariants: no crash, no 500, every acknowledged request written (nothing acked lost), no request left
 * unanswered past the client timeout, overload answered with 429/503 + Retry-After or UNAVAILABLE /
 * RESOURCE_EXHAUSTED.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { encodeExportRequest } from '../src/otlp/proto.ts';
import type { Batch, Span } from '../src/model.ts';
import { Invariants, SHORT, clientLag, figure, freePort, loadavg, percentile, request, rssLine, sampleRss, sleep, startProbe, startVigil, tally, tempDir, writeYaml } from './lib.ts';

const inv = new Invariants('overload');
const SPANS = 512;
const SATURATION_S = SHORT ? 3 : 6;
const OVERLOAD_S = SHORT ? 6 : 15;
const CLIENT_TIMEOUT_MS = 10_000;

const dir = tempDir();
const [httpPort, grpcPort, tel] = [await freePort(), await freePort(), await freePort()];
const out = path.join(dir, 'spans.jsonl');
const config = writeYaml(path.join(dir, 'pipelines.yaml'), {
  receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` }, grpc: { endpoint: `127.0.0.1:${grpcPort}` } } } },
  processors: {
    memory_limiter: { limit_mib: 768, spike_limit_mib: 128 },
    cost: { price_table: 'builtin' },
    percentiles: { window: '10s', dimensions: ['service.name', 'span.name', 'gen_ai.request.model'] },
    alerts: {
      interval: '5s',
      rules: [{ name: 'HighP95Latency', metric: 'span.duration', stat: 'p95', group_by: ['service.name'], window: '1m', op: '>', threshold: 60000 }],
      routes: [{ exporters: ['file/alerts'] }],
    },
  },
  exporters: { 'file/spans': { path: out, signals: ['traces'], max_megabytes: 0 }, 'file/alerts': { path: path.join(dir, 'alerts.jsonl'), signals: ['alerts'] } },
  service: {
    state_dir: path.join(dir, 'state'),
    telemetry: { endpoint: `127.0.0.1:${tel}` },
    pipelines: { main: { receivers: ['otlp'], processors: ['memory_limiter', 'cost', 'percentiles', 'alerts'], exporters: ['file/spans', 'file/alerts'] } },
  },
});

// One encoded request, whose trace id (in every span) is patched per request.
const MARK = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const now = BigInt(Date.now()) * 1_000_000n;
const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022'];
const spans: Span[] = [];
for (let i = 0; i < SPANS; i++) {
  const model = models[i % models.length]!;
  spans.push({
    traceId: MARK,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    traceState: '',
    parentSpanId: '',
    flags: 0,
    name: `chat ${model}`,
    kind: 3,
    startTimeUnixNano: now,
    endTimeUnixNano: now + BigInt(100_000_000 + i * 1_000_000),
    attributes: [
      { key: 'gen_ai.system', value: 'openai' },
      { key: 'gen_ai.request.model', value: model },
      { key: 'gen_ai.usage.input_tokens', value: BigInt(500 + i) },
      { key: 'gen_ai.usage.output_tokens', value: BigInt(50 + i) },
    ],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  });
}
const batch: Batch = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: 'support-bot' }], droppedAttributesCount: 0 },
      scopeSpans: [{ scope: { name: 'chaos', version: '', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }],
      schemaUrl: '',
    },
  ],
};
const template = encodeExportRequest(batch, 'traces');
const markBytes = Buffer.from(MARK, 'hex');
const offsets: number[] = [];
for (let at = template.indexOf(markBytes); at >= 0; at = template.indexOf(markBytes, at + 1)) offsets.push(at);
if (offsets.length !== SPANS) throw new Error(`trace id found ${offsets.length} times`);
let seq = 0;
function nextRequest(): { id: string; body: Buffer } {
  const id = `a0${(++seq).toString(16).padStart(30, '0')}`;
  const idBytes = Buffer.from(id, 'hex');
  const body = Buffer.from(template);
  for (const o of offsets) idBytes.copy(body, o);
  return { id, body };
}

const vigil = await startVigil(config, tel, { heapMiB: 1024 });
const rss = sampleRss(vigil.pid, 1000);

const GrpcClient = grpc.makeGenericClientConstructor(
  {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  'TraceService',
);
const grpcClients = Array.from({ length: 2 }, () => new GrpcClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Export: Function });

interface Result {
  via: 'http' | 'grpc';
  id: string;
  status: string; // HTTP status, gRPC code name, or "timeout"/"error"
  ms: number;
  retryAfter: boolean;
}
const results: Result[] = [];

// Keep-alive connections, as the OTel SDKs' OTLP/HTTP exporters keep them (Node's: an http.Agent with
// keepAlive and no socket limit), so a refused client retries on its connection instead of opening another.
const httpAgent = new http.Agent({ keepAlive: true });
function sendHttp(): Promise<Result> {
  const { id, body } = nextRequest();
  return request(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body, timeoutMs: CLIENT_TIMEOUT_MS, agent: httpAgent }).then((r) => ({
    via: 'http',
    id,
    status: r.status ? String(r.status) : r.error === 'client timeout' ? 'timeout' : 'error',
    ms: r.ms,
    retryAfter: r.headers['retry-after'] !== undefined,
  }));
}
let rr = 0;
function sendGrpc(): Promise<Result> {
  const { id, body } = nextRequest();
  const t0 = performance.now();
  const client = grpcClients[rr++ % grpcClients.length]!;
  return new Promise((resolve) => {
    client.Export(body, new grpc.Metadata(), { deadline: Date.now() + CLIENT_TIMEOUT_MS }, (err: grpc.ServiceError | null) => {
      const status = err ? (err.code === grpc.status.DEADLINE_EXCEEDED ? 'timeout' : grpc.status[err.code]!) : 'OK';
      const retryAfter = !!err && err.metadata?.get('grpc-status-details-bin').length > 0;
      resolve({ via: 'grpc', id, status, ms: performance.now() - t0, retryAfter });
    });
  });
}
const send = (i: number) => (i % 2 ? sendGrpc() : sendHttp());

// Warm-up (JIT, connections), not counted.
figure('load average (start)', loadavg());
const warmEnd = Date.now() + 2000;
await Promise.all(Array.from({ length: 4 }, async (_, c) => { for (let i = c; Date.now() < warmEnd; i += 4) await send(i); }));
results.length = 0;

// Phase 1: saturation, closed loop with 8 clients.
let done = 0;
let ok = 0;
const satEnd = Date.now() + SATURATION_S * 1000;
await Promise.all(
  Array.from({ length: 8 }, async (_, c) => {
    for (let i = c; Date.now() < satEnd; i += 8) {
      const r = await send(i);
      results.push(r);
      done++;
      if (r.status === '200' || r.status === 'OK') ok++;
    }
  }),
);
const saturation = ok / SATURATION_S;
figure('saturation (closed loop, 8 clients)', `${saturation.toFixed(1)} requests/s of ${SPANS} spans = ${Math.round(saturation * SPANS)} spans/s (${done} answered)`);

// Phase 2: open loop at 2x saturation.
const rate = Math.max(4, 2 * saturation);
const overloadStart = results.length;
// /healthz is probed from a process of its own: this one is busy sending, and its lag is not vigil's.
const probe = startProbe(`${vigil.telemetryUrl}/healthz`);
const lag = clientLag();
const inflight = new Set<Promise<void>>();
const t0 = Date.now();
let sent = 0;
while (Date.now() - t0 < OVERLOAD_S * 1000) {
  const due = Math.floor(((Date.now() - t0) / 1000) * rate);
  while (sent < due) {
    const p = send(sent).then((r) => {
      results.push(r);
      inflight.delete(p);
    });
    inflight.add(p);
    sent++;
  }
  await sleep(5);
}
await Promise.all(inflight);
const healthz = await probe.stop();
const clientLagMs = lag.stop();
const overload = results.slice(overloadStart);
const lat = overload.map((r) => r.ms);
figure('offered', `${rate.toFixed(1)} requests/s for ${OVERLOAD_S} s (${sent} requests, half HTTP half gRPC)`);
figure('statuses (HTTP)', tally(overload.filter((r) => r.via === 'http').map((r) => r.status)));
figure('statuses (gRPC)', tally(overload.filter((r) => r.via === 'grpc').map((r) => r.status)));
figure('latency ms', `p50 ${percentile(lat, 0.5).toFixed(0)}  p99 ${percentile(lat, 0.99).toFixed(0)} (goal < 1000)  max ${Math.max(...lat).toFixed(0)}`);
for (const via of ['http', 'grpc'] as const)
  for (const [label, pick] of [['accepted', (r: Result) => r.status === '200' || r.status === 'OK'], ['refused', (r: Result) => ['429', '503', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED'].includes(r.status)]] as const) {
    const ms = overload.filter((r) => r.via === via && pick(r)).map((r) => r.ms);
    if (ms.length) figure(`latency ms, ${via} ${label}`, `n ${ms.length}  p50 ${percentile(ms, 0.5).toFixed(0)}  p90 ${percentile(ms, 0.9).toFixed(0)}  p99 ${percentile(ms, 0.99).toFixed(0)}  max ${Math.max(...ms).toFixed(0)}`);
  }
figure('load generator event-loop lag ms (lag of the sending process itself, part of the latency above)', `p50 ${percentile(clientLagMs, 0.5).toFixed(0)}  p99 ${percentile(clientLagMs, 0.99).toFixed(0)}  max ${Math.max(0, ...clientLagMs).toFixed(0)}`);
figure('/healthz ms (probed from a separate process, a new connection every 50 ms)', `n ${healthz.length}  p50 ${percentile(healthz, 0.5).toFixed(1)}  p99 ${percentile(healthz, 0.99).toFixed(1)}  max ${Math.max(...healthz).toFixed(1)} (goal < 50)`);
figure('load average (end)', loadavg());

// Acked vs written: read every trace id the file exporter wrote (after a drain).
const stopCode = await vigil.stop();
const samples = rss.stop();
figure('RSS MiB over time', rssLine(samples));
const written = new Map<string, number>();
if (fs.existsSync(out)) {
  const rl = readline.createInterface({ input: fs.createReadStream(out) });
  const re = /"traceId":"(a0[0-9a-f]{30})"/g;
  for await (const line of rl) {
    const seen = new Set<string>();
    for (const m of line.matchAll(re)) seen.add(m[1]!);
    for (const id of seen) written.set(id, (written.get(id) ?? 0) + 1);
  }
}
const acked = results.filter((r) => r.status === '200' || r.status === 'OK');
const lost = acked.filter((r) => !written.has(r.id));
const unacked = results.filter((r) => !(r.status === '200' || r.status === 'OK'));
const writtenUnacked = unacked.filter((r) => written.has(r.id));
const timedOutWritten = unacked.filter((r) => r.status === 'timeout' && written.has(r.id));
figure('acked vs written', `${acked.length} acked, ${written.size} written, ${lost.length} acked but not written, ${writtenUnacked.length} written but not acked (of which ${timedOutWritten.length} after the client gave up)`);
const bad = overload.filter((r) => r.status === '500' || r.status === 'INTERNAL' || r.status === 'UNKNOWN');
const refused = overload.filter((r) => ['429', '503', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED'].includes(r.status));
inv.check(stopCode === '0', `vigil ran through and drained cleanly (exit ${stopCode})`);
inv.check(bad.length === 0, `no 500 / INTERNAL (${bad.length})`);
inv.check(lost.length === 0, `nothing acked lost (${lost.length} acked requests missing from the file)`);
inv.check(overload.every((r) => r.status !== 'timeout' && r.status !== 'error'), `every request answered before the client timeout (${overload.filter((r) => r.status === 'timeout').length} timed out, ${overload.filter((r) => r.status === 'error').length} connection errors)`);
const p99 = percentile(lat, 0.99);
inv.check(refused.length > 0 || p99 < 1000, `kept up (p99 ${p99.toFixed(0)} ms < 1000) or said so: ${refused.length} requests refused with 429/503/UNAVAILABLE/RESOURCE_EXHAUSTED`);
inv.check(refused.every((r) => r.retryAfter), 'every refusal carries Retry-After / RetryInfo');
for (const c of grpcClients) c.close();
httpAgent.destroy();
fs.rmSync(dir, { recursive: true, force: true });
inv.finish();
