/**
 * Ingest benchmark: OTLP traces over loopback, 32 keep-alive clients, in 100-span requests (the Collector
 * testbed's size) and 512-span requests (the OTel SDK's default batch). The spans are bench/_spans.ts's:
 * GenAI client spans from the OTel SDK, encoded by the SDK's own protobuf serializer (14 attributes, 17
 * Kubernetes resource attributes, ~600 bytes a span), made fresh at send time (timestamps now, new ids,
 * response ids and client addresses in every request). Runs, each server a child process:
 *   1. reference: node:http + protobufjs reflection decode (schema written below from the field numbers);
 *   2. vigil otlp/http -> nop, passed through: the nop exporter takes encoded requests, so the receiver
 *      checks each one with the validating scan and passes its bytes on undecoded. No pipeline with cost,
 *      percentiles, alerts, file or debug runs this path (the shipped one does not): it is not the headline;
 *   2b. vigil otlp/http -> nop with every request decoded into the model (what any pipeline that reads
 *      spans pays): the figure set beside the goal;
 *   3. / 3b. the same two over gRPC;
 *   4. vigil otlp/http -> cost -> percentiles -> nop (the shipped pipeline's percentiles dimensions), the
 *      decoder building only what the two read of each span, as the pipeline graph has it; the series
 *      percentiles holds at the end are printed, to show the spans were counted and not dropped as late.
 * Each server is pinned to core 0 (`taskset -c 0` when available), the load generator to core 1. Goals
 * come from the README's benchmark table (bench/_goals.ts); figures are printed, never asserted.
 * The fixed-rate CPU and RSS goal (10,000 spans/s) is the shipped daemon's: bench/daemon.ts.
 *
 *   node --import tsx bench/ingest.ts
 *   BENCH_INGEST_MS=5000       measured milliseconds per saturation run (after 1 s of warm-up)
 *   BENCH_INGEST_SIZES=100,512 spans per request
 *   BENCH_SERVER_FLAGS="--cpu-prof"  extra node flags for the server processes
 *   node --import tsx bench/ingest.ts --fixed-only   (not run by default) the in-process receiver -> nop
 *     at a fixed 10,000 spans/s in 100-span requests, passed through and decoded: CPU and RSS, no goal
 *     (no processors, not the shipped pipeline); BENCH_FIXED_ONLY=decoded|passed, BENCH_FIXED_WARMUP_MS
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { goalNumber } from './_goals.ts';
import { type Payload, SERVICES, genAiTracesRequest, payload } from './_spans.ts';
import { loadAverage } from './_proc.ts';
import { median, percentile } from './_stats.ts';

const SIZES = (process.env.BENCH_INGEST_SIZES ?? '100,512').split(',').map(Number);
const CLIENTS = 32;
const SATURATE_MS = Number(process.env.BENCH_INGEST_MS ?? 5000);
const WARMUP_MS = 1000;
const FIXED_RATE_SPANS = 10_000;
const FIXED_SPANS_PER_REQUEST = 100;
const FIXED_RATE_MS = 20_000;
const FIXED_WARMUP_MS = Number(process.env.BENCH_FIXED_WARMUP_MS ?? 10_000);

/**
 * The goals, read from the README's benchmark table (the one place they are kept); read when printed, not
 * at import (the server processes run from a bundle elsewhere, and tests import genAiTracesRequest from here).
 */
const HTTP_ROW = 'ingest, OTLP/HTTP protobuf';
const goals = () => ({
  httpSpans: goalNumber(HTTP_ROW, />= ([\d,]+) spans\/s/),
  httpRatio: goalNumber(HTTP_ROW, />= ([\d.]+)x/),
  grpcSpans: goalNumber('ingest, OTLP/gRPC', />= ([\d,]+) spans\/s/),
  processorsPct: goalNumber('ingest, otlp/http -> cost -> percentiles', />= (\d+)%/),
});

/** The OTLP trace messages in .proto syntax, from opentelemetry-proto's field numbers (for protobufjs). */
export const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10; repeated Event events = 11; uint32 dropped_events_count = 12; repeated Link links = 13;
  uint32 dropped_links_count = 14; Status status = 15;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
}
message Status { string message = 2; int32 code = 3; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
`;

/** The spans this bench sends, shared with the others (bench/forward.ts, bench/file.ts import it from here). */
export { genAiTracesRequest } from './_spans.ts';

// ============================================================================================== server

type ServerKind = 'reference' | 'vigil-http' | 'vigil-http-decoded' | 'vigil-grpc' | 'vigil-grpc-decoded' | 'vigil-http-processors';

async function serve(kind: ServerKind): Promise<void> {
  let port = 0;
  /** Series the percentiles processor holds (run 4), for the stats. */
  let seriesHeld: (() => number) | undefined;
  if (kind === 'reference') {
    const protobuf = (await import('protobufjs')).default;
    const Request = protobuf.parse(OTLP_TRACE_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');
    let spans = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const msg = Request.decode(Buffer.concat(chunks)) as unknown as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
          for (const rs of msg.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
          res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
        } catch (e) {
          res.writeHead(400).end(String(e));
        }
      });
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    void spans;
  } else {
    const { otlpReceiverFactory } = await import('../receivers/otlp/index.ts');
    const { nopExporterFactory } = await import('../exporters/nop/index.ts');
    const { validateComponentConfig } = await import('../src/config/ajv.ts');
    const { silentLogger } = await import('../src/logger.ts');
    const { ServiceTelemetry } = await import('../src/telemetry.ts');
    const { NOOP_CONSUMER } = await import('../src/component.ts');
    const telemetry = new ServiceTelemetry();
    const service = { componentIds: { receiver: ['otlp'], processor: [], exporter: ['nop'] }, pipelines: {} };
    const settings = (k: 'receiver' | 'exporter', id: string) => ({
      id,
      kind: k,
      logger: silentLogger(),
      telemetry: telemetry.forComponent(k, id),
      stateDir: os.tmpdir(),
      emit: NOOP_CONSUMER,
      service,
    });
    const nopConfig = {};
    validateComponentConfig(nopExporterFactory, nopConfig);
    const nop = nopExporterFactory.create(settings('exporter', 'nop'), nopConfig as never) as import('../src/component.ts').Exporter;
    await nop.start({ reportFatal: () => undefined });
    const http = kind !== 'vigil-grpc' && kind !== 'vigil-grpc-decoded';
    const raw = { protocols: http ? { http: { endpoint: '127.0.0.1:0' } } : { grpc: { endpoint: '127.0.0.1:0' } } };
    const issues = validateComponentConfig(otlpReceiverFactory, raw);
    if (issues.length) throw new Error(JSON.stringify(issues));
    // The nop exporter takes encoded requests, so the receiver passes them through after a validating scan;
    // the '-decoded' kinds hide that (as any exporter that reads the spans does), so each request is decoded.
    let into: import('../src/component.ts').Consumer = kind.endsWith('-decoded') ? { consume: (b) => nop.consume(b) } : nop;
    if (kind === 'vigil-http-processors') {
      // otlp -> cost -> percentiles -> nop, with the shipped pipelines.yaml's percentiles dimensions
      const { costProcessorFactory } = await import('../processors/cost/index.ts');
      const { percentilesProcessorFactory } = await import('../processors/percentiles/index.ts');
      const make = async (f: typeof costProcessorFactory | typeof percentilesProcessorFactory, cfg: Record<string, unknown>) => {
        const bad = validateComponentConfig(f as never, cfg);
        if (bad.length) throw new Error(JSON.stringify(bad));
        const p = f.create({ ...settings('exporter', f.type), kind: 'processor', telemetry: telemetry.forComponent('processor', f.type), emit: nop }, cfg as never) as import('../src/component.ts').Processor;
        await p.start({ reportFatal: () => undefined });
        return p;
      };
      const cost = await make(costProcessorFactory, {});
      const percentiles = await make(percentilesProcessorFactory, {
        dimensions: ['service.name', 'span.name', 'gen_ai.request.model'],
        span_attributes: ['gen_ai.usage.cost'],
      });
      seriesHeld = () => (percentiles as import('../processors/percentiles/percentiles-processor.ts').PercentilesProcessor).seriesHeld();
      // what the graph would tell the receiver: what cost and percentiles read of each span (the decoder builds only that)
      const { unionOfSpanReads } = await import('../src/graph.ts');
      const spanReads = unionOfSpanReads([cost.spanReads, percentiles.spanReads, nop.spanReads]);
      const afterCost = { consume: (b: import('../src/model.ts').Batch) => percentiles.process(b, nop) };
      into = { consume: (b) => cost.process(b, afterCost), spanReads };
    }
    const receiver = otlpReceiverFactory.create({ ...settings('receiver', 'otlp'), emit: into }, raw as never) as import('../receivers/otlp/otlp-receiver.ts').OtlpReceiver;
    await receiver.start({ reportFatal: () => undefined });
    const addr = http ? receiver.httpAddress : receiver.grpcAddress;
    port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  }
  process.on('SIGTERM', () => process.exit(0));
  let cpu = process.cpuUsage();
  let t = performance.now();
  let gcMs = 0;
  let gcCount = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcCount++;
    }
  }).observe({ entryTypes: ['gc'] });
  let threads0 = threadTicks();
  process.on('message', (m: string) => {
    if (m === 'mark') {
      threads0 = threadTicks();
      cpu = process.cpuUsage();
      t = performance.now();
      gcMs = 0;
      gcCount = 0;
      process.send!({ ok: true });
    } else if (m === 'stats') {
      const d = process.cpuUsage(cpu);
      const ms = performance.now() - t;
      process.send!({
        cpuPct: ((d.user + d.system) / 1000 / ms) * 100,
        userPct: (d.user / 1000 / ms) * 100,
        systemPct: (d.system / 1000 / ms) * 100,
        gcPct: (gcMs / ms) * 100,
        gcCount,
        threads: threadShares(threads0, threadTicks(), ms),
        rss: process.memoryUsage().rss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        heapUsed: process.memoryUsage().heapUsed,
        heapTotal: process.memoryUsage().heapTotal,
        seriesHeld: seriesHeld?.(),
      });
    }
  });
  process.send!({ port });
}

/** CPU ticks (utime + stime) per thread of this process, keyed by thread name (Linux /proc; empty elsewhere). */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
    }
  } catch {
    // not Linux
  }
  return out;
}

/** Per thread name, % of one core between two threadTicks() readings `ms` apart (clock ticks are 1/100 s). */
function threadShares(a: Map<string, number>, b: Map<string, number>, ms: number): string {
  return [...b]
    .map(([name, t]) => [name, ((t - (a.get(name) ?? 0)) * 10 * 100) / ms] as const)
    .filter(([, pct]) => pct > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([name, pct]) => `${name} ${pct.toFixed(1)}%`)
    .join(', ');
}

// ======================================================================================== load generator

interface ServerHandle {
  child: ChildProcess;
  port: number;
  ask<T>(msg: string): Promise<T>;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles this file and what it imports into one JavaScript file (as production runs vigil from compiled
 * JS), so that the server processes do not carry tsx's loader thread (~30 MB and some CPU). Undefined
 * when esbuild is not there: the servers then run through tsx.
 */
async function bundleServer(): Promise<string | undefined> {
  try {
    const esbuild = await import('esbuild');
    const self = fileURLToPath(import.meta.url);
    const out = path.join(path.dirname(self), '..', 'node_modules', '.cache', 'vigil-bench', 'ingest.mjs');
    await esbuild.build({ entryPoints: [self], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: out, logLevel: 'silent' });
    // data files read relative to import.meta.url (the cost processor's price table) sit next to the bundle
    fs.copyFileSync(path.join(path.dirname(self), '..', 'processors', 'cost', 'prices.json'), path.join(path.dirname(out), 'prices.json'));
    return out;
  } catch {
    return undefined;
  }
}

let serverEntry: string[] = ['--import', 'tsx', fileURLToPath(import.meta.url)];

async function startServer(kind: ServerKind, pin: boolean): Promise<ServerHandle> {
  // BENCH_SERVER_FLAGS: extra node flags for the server processes (e.g. --cpu-prof), for looking into a figure
  const args = [...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []), ...serverEntry, '--server', kind];
  const child = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return {
    child,
    port,
    ask: <T>(msg: string) =>
      new Promise<T>((resolve) => {
        child.once('message', (m: T) => resolve(m));
        child.send(msg);
      }),
  };
}

async function stopServer(s: ServerHandle): Promise<void> {
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
}

interface LoadResult {
  spansPerSec: number;
  p99ms: number;
  errors: number;
  /** CPU of this (load generator) process over the window, % of one core. */
  clientCpuPct: number;
}

/** `CLIENTS` loops sending `payloads` round-robin, each made fresh at send time, for `ms` (after a warm-up). */
async function saturate(send: (body: Buffer) => Promise<boolean>, payloads: Payload[], ms: number, mark: () => Promise<unknown>): Promise<LoadResult> {
  let stopAt = performance.now() + WARMUP_MS;
  let measuring = false;
  let ok = 0;
  let errors = 0;
  const lat: number[] = [];
  const loop = async (i: number) => {
    let k = i;
    while (performance.now() < stopAt) {
      const p = payloads[k++ % payloads.length]!;
      const body = p.fresh();
      const t0 = performance.now();
      const good = await send(body);
      if (!measuring) continue;
      lat.push(performance.now() - t0);
      if (good) ok += p.spans;
      else errors++;
    }
  };
  // Warm-up, then the measured window.
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => loop(i)));
  measuring = true;
  await mark();
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  stopAt = t + ms;
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => loop(i)));
  const secs = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { spansPerSec: ok / secs, p99ms: percentile(lat, 0.99), errors, clientCpuPct: ((cpu.user + cpu.system) / 1e6 / secs) * 100 };
}

/** Why requests failed in the current run (status or error code), with counts. */
const failures = new Map<string, number>();
const failure = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);

function httpSender(port: number): { send: (b: Buffer) => Promise<boolean>; close: () => Promise<void> } {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS, pipelining: 1, keepAliveTimeout: 60_000 });
  return {
    send: async (body) => {
      try {
        const res = await pool.request({ path: '/v1/traces', method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
        await res.body.dump();
        if (res.statusCode !== 200) failure(`HTTP ${res.statusCode}`);
        return res.statusCode === 200;
      } catch (e) {
        failure((e as { code?: string }).code ?? (e as Error).message);
        return false;
      }
    },
    close: () => pool.close(),
  };
}

/**
 * gRPC load over node:http2 directly (length-prefixed messages, status from the trailers): a much lighter
 * client than grpc-js, so that one load-generator core can keep the server busy.
 */
function grpcSender(port: number): { send: (b: Buffer) => Promise<boolean>; close: () => Promise<void> } {
  const sessions = Array.from({ length: 4 }, () => http2.connect(`http://127.0.0.1:${port}`));
  for (const s of sessions) s.on('error', () => undefined);
  // every body is fresh (made at send time), so each is framed anew
  const frame = (body: Buffer) => {
    const f = Buffer.allocUnsafe(5 + body.length);
    f[0] = 0;
    f.writeUInt32BE(body.length, 1);
    body.copy(f, 5);
    return f;
  };
  let n = 0;
  return {
    send: (body) =>
      new Promise((resolve) => {
        const req = sessions[n++ % sessions.length]!.request({
          ':method': 'POST',
          ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        let status = -1;
        req.on('response', (h) => {
          if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        });
        req.on('trailers', (t) => (status = Number(t['grpc-status'])));
        req.on('data', () => undefined);
        req.on('end', () => {
          if (status !== 0) failure(`grpc-status ${status}`);
          resolve(status === 0);
        });
        req.on('error', (e) => {
          failure((e as { code?: string }).code ?? e.message);
          resolve(false);
        });
        req.end(frame(body));
      }),
    close: async () => {
      for (const s of sessions) s.close();
    },
  };
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const mb = (b: number) => `${fmt(b / 1024 / 1024, 1)} MiB`;
const verdict = (ok: boolean) => (ok ? 'meets' : 'MISSES');

/**
 * Decode only, in this process: ms per request for vigil's decoder, its validating scan and protobufjs
 * reflection, over 64 distinct fresh requests in turn (one request decoded again and again would find its
 * unique strings in the decoder's intern cache: flattering). `vigilAfterIdle`: vigil's decoder again, one request
 * every 10 ms (what 10,000 spans/s in 100-span requests gives the daemon), timed around each call only: what a
 * request costs when the machine's caches have served other work since the last one, which back-to-back calls hide.
 */
async function decodeOnly(payloads: Payload[]): Promise<Record<'vigil' | 'vigilAfterIdle' | 'scan' | 'protobufjs' | 'fresh', { wallMs: number; cpuMs: number }>> {
  const { decodeExportRequest } = await import('../src/otlp/proto.ts');
  const { scanExportRequest } = await import('../src/otlp/scan.ts');
  const protobuf = (await import('protobufjs')).default;
  const Request = protobuf.parse(OTLP_TRACE_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');
  const bodies = Array.from({ length: 64 }, (_, i) => payloads[i % payloads.length]!.fresh());
  // wall and CPU time per call (CPU: user + system of this process, moved less by other work on the machine)
  const time = (f: (b: Buffer) => unknown) => {
    for (let i = 0; i < 64; i++) f(bodies[i]!);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000) f(bodies[n++ & 63]!);
    const cpu = process.cpuUsage(cpu0);
    return { wallMs: (performance.now() - t0) / n, cpuMs: (cpu.user + cpu.system) / 1000 / n };
  };
  const afterIdle = async () => {
    const calls: number[] = [];
    for (let i = 0; i < 101; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const t0 = performance.now();
      decodeExportRequest('traces', bodies[i & 63]!);
      calls.push(performance.now() - t0);
    }
    // the median call (a collection inside one call would move a mean); single-threaded and never waiting, so a
    // call's wall time is its CPU time
    const ms = median(calls);
    return { wallMs: ms, cpuMs: ms };
  };
  return {
    vigil: time((b) => decodeExportRequest('traces', b)),
    vigilAfterIdle: await afterIdle(),
    scan: time((b) => scanExportRequest('traces', b)),
    protobufjs: time((b) => Request.decode(b)),
    fresh: time(() => payloads[0]!.fresh()),
  };
}

export async function run(): Promise<void> {
  const pin = hasTaskset() && os.cpus().length >= 2;
  let affinity: string | undefined;
  if (pin) {
    try {
      affinity = /:\s*([0-9a-f]+)\s*$/i.exec(execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }))?.[1];
      execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    } catch {
      // keep running unpinned
    }
  }
  try {
    await runPinned(pin);
  } finally {
    // Give the bench runner its CPUs back for the benchmarks that follow.
    if (affinity) execFileSync('taskset', ['-p', affinity, String(process.pid)], { stdio: 'ignore' });
  }
}

/** Eight encoded requests of `n` spans (two per service), to be made fresh at each send. */
async function makePayloads(n: number): Promise<Payload[]> {
  return Promise.all(Array.from({ length: 2 * SERVICES.length }, async (_, seed) => payload(await genAiTracesRequest(n, seed))));
}

interface Row {
  /** why requests failed (warm-up included), e.g. "HTTP 503 x12" */
  failures: string;
  name: string;
  kind: ServerKind;
  r: LoadResult;
  stats: ServerStats;
}

interface ServerStats {
  cpuPct: number;
  rss: number;
  maxRss: number;
  heapUsed: number;
  heapTotal: number;
  seriesHeld?: number;
}

async function runPinned(pin: boolean): Promise<void> {
  const bundle = await bundleServer();
  if (bundle) serverEntry = [bundle];

  if (process.argv.includes('--fixed-only')) {
    // BENCH_FIXED_ONLY=decoded or passed: one of the two runs
    const payloads = await makePayloads(FIXED_SPANS_PER_REQUEST);
    const only = process.env.BENCH_FIXED_ONLY;
    if (only !== 'decoded') printFixed(await fixedRate(pin, payloads, 'vigil-http'), 'passed through encoded (validating scan)');
    if (only !== 'passed') printFixed(await fixedRate(pin, payloads, 'vigil-http-decoded'), 'every request decoded');
    return;
  }
  for (const size of SIZES) {
    const payloads = await makePayloads(size);
    const bytes = payloads.reduce((n, p) => n + p.bytes.length, 0) / payloads.length;
    console.log(
      `\ningest: OTLP traces, ${size}-span requests (${fmt(bytes / 1024, 1)} KiB protobuf from the OTel SDK's serializer, ${fmt(bytes / size)} bytes a span; ` +
        `fresh timestamps, ids, response ids and client addresses at each send), ${CLIENTS} keep-alive clients, ${SATURATE_MS / 1000}s per run; ` +
        `servers run ${bundle ? 'compiled (esbuild bundle)' : 'through tsx'}, ${pin ? 'pinned to core 0 (taskset), load generator on core 1' : 'not pinned'}; load average ${loadAverage()}`,
    );
    const dec = await decodeOnly(payloads);
    const t = (x: { wallMs: number; cpuMs: number }) => `${fmt(x.cpuMs, 3)} ms CPU (${fmt(x.wallMs, 3)} wall; ${fmt((size / x.cpuMs) * 1000)} spans per CPU-second)`;
    console.log(
      `decode only (one ${size}-span request, this process, 64 distinct requests in turn): vigil ${t(dec.vigil)} into the full model; ` +
        `the same requests, one every 10 ms (the daemon's pace at 10,000 spans/s in 100-span requests) ${fmt(dec.vigilAfterIdle.wallMs, 3)} ms a request (median of 101), ` +
        `${fmt(dec.vigilAfterIdle.wallMs / dec.vigil.wallMs, 2)}x back-to-back (caches that served other work in between: why the daemon's CPU at the rate is above what in-process figures predict); ` +
        `protobufjs reflection ${t(dec.protobufjs)}, message objects only: vigil ${fmt(dec.protobufjs.cpuMs / dec.vigil.cpuMs, 2)}x; ` +
        `vigil's validating scan ${t(dec.scan)}: the pass-through check of runs 2 and 3, which no pipeline with cost, percentiles, alerts, file or debug uses; ` +
        `making a request fresh costs the load generator ${fmt(dec.fresh.cpuMs, 3)} ms CPU`,
    );

    const rows: Row[] = [];
    for (const [name, kind] of [
      ['1. reference: node:http + protobufjs', 'reference'],
      ['2. vigil otlp/http -> nop, passed through (validating scan only: no pipeline with processors runs this)', 'vigil-http'],
      ['2b. vigil otlp/http -> nop, every request decoded', 'vigil-http-decoded'],
      ['3. vigil otlp/grpc -> nop, passed through (validating scan only)', 'vigil-grpc'],
      ['3b. vigil otlp/grpc -> nop, every request decoded', 'vigil-grpc-decoded'],
      ['4. vigil otlp/http -> cost -> percentiles -> nop', 'vigil-http-processors'],
    ] as const) {
      const server = await startServer(kind, pin);
      failures.clear();
      const sender = kind.startsWith('vigil-grpc') ? grpcSender(server.port) : httpSender(server.port);
      const r = await saturate(sender.send, payloads, SATURATE_MS, () => server.ask('mark'));
      const stats = await server.ask<ServerStats>('stats');
      await sender.close();
      await stopServer(server);
      rows.push({ name, kind, r, stats, failures: [...failures].map(([k, n]) => `${k} x${n}`).join(', ') });
    }
    printRows(size, rows);
  }
}

interface FixedRateResult {
  achieved: number;
  cpuPct: number;
  userPct: number;
  systemPct: number;
  gcPct: number;
  gcCount: number;
  threads: string;
  rss: number;
  maxRss: number;
  heapUsed: number;
  heapTotal: number;
}

/**
 * The in-process receiver over HTTP at FIXED_RATE_SPANS (not run by default: no processors, not the shipped
 * pipeline; bench/daemon.ts measures the goal): first FIXED_WARMUP_MS at that rate, then FIXED_RATE_MS
 * measured: CPU of the server process (all its threads) and RSS.
 */
async function fixedRate(pin: boolean, payloads: Payload[], kind: ServerKind): Promise<FixedRateResult> {
  const server = await startServer(kind, pin);
  const sender = httpSender(server.port);
  const intervalMs = (payloads[0]!.spans / FIXED_RATE_SPANS) * 1000;
  const pace = async (ms: number) => {
    const t0 = performance.now();
    let sent = 0;
    const inflight: Promise<boolean>[] = [];
    while (performance.now() - t0 < ms) {
      inflight.push(sender.send(payloads[sent++ % payloads.length]!.fresh()));
      const next = t0 + sent * intervalMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(inflight);
    return (sent * payloads[0]!.spans) / ((performance.now() - t0) / 1000);
  };
  await pace(FIXED_WARMUP_MS);
  await server.ask('mark');
  const achieved = await pace(FIXED_RATE_MS);
  const stats = await server.ask<Omit<FixedRateResult, 'achieved'>>('stats');
  await sender.close();
  await stopServer(server);
  return { achieved, ...stats };
}

function printFixed(f: FixedRateResult, how: string): void {
  console.log(
    `in-process otlp receiver -> nop (no processors: not the shipped pipeline, no goal; see bench/daemon.ts), ${how}, at a fixed ${fmt(FIXED_RATE_SPANS)} spans/s in ${FIXED_SPANS_PER_REQUEST}-span requests ` +
      `(achieved ${fmt(f.achieved)}, after ${FIXED_WARMUP_MS / 1000}s at that rate, measured over ${FIXED_RATE_MS / 1000}s; load average ${loadAverage()}): ` +
      `CPU ${fmt(f.cpuPct, 1)}% of one core (user ${fmt(f.userPct, 1)}%, system ${fmt(f.systemPct, 1)}%; GC pauses ${fmt(f.gcPct, 2)}% in ${f.gcCount} collections; by thread: ${f.threads || 'n/a'}), ` +
      `RSS ${mb(f.rss)} (peak ${mb(f.maxRss)}), heap ${mb(f.heapTotal)} total / ${mb(f.heapUsed)} used`,
  );
}

function printRows(size: number, rows: Row[]): void {
  const by = (k: ServerKind) => rows.find((r) => r.kind === k)!;
  const perCpu = (k: ServerKind) => by(k).r.spansPerSec / (by(k).stats.cpuPct / 100);
  console.log('');
  console.log(`| run (${size}-span requests) | spans/s | p99 latency | peak RSS | heap total / used at the end | server CPU | spans per server CPU-second | load generator CPU | errors |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const { name, r, stats, failures } of rows)
    console.log(
      `| ${name} | ${fmt(r.spansPerSec)} | ${fmt(r.p99ms, 1)} ms | ${mb(stats.maxRss)} | ${mb(stats.heapTotal)} / ${mb(stats.heapUsed)} | ${fmt(stats.cpuPct)}% | ${fmt(r.spansPerSec / (stats.cpuPct / 100))} | ${fmt(r.clientCpuPct)}% | ${r.errors}${failures ? ` (${failures})` : ''} |`,
    );
  console.log('(server CPU below 100% means the server was not the bottleneck: the load generator or a busy machine was;');
  console.log(' "spans per server CPU-second" is then the better measure of what one dedicated core would take)');
  const ref = by('reference').r.spansPerSec;
  const dec = by('vigil-http-decoded').r.spansPerSec;
  const grpc = by('vigil-grpc-decoded').r.spansPerSec;
  const proc = by('vigil-http-processors');
  const GOALS = goals();
  console.log(`load average ${loadAverage()}`);
  console.log(
    `vigil otlp/http, every request decoded: ${fmt(dec)} spans/s (goal >= ${fmt(GOALS.httpSpans)}: ${verdict(dec >= GOALS.httpSpans)}; ` +
      `${fmt(perCpu('vigil-http-decoded'))} per server CPU-second: ${verdict(perCpu('vigil-http-decoded') >= GOALS.httpSpans)}), ` +
      `${fmt(dec / ref, 2)}x the reference (goal >= ${GOALS.httpRatio}x: ${verdict(dec / ref >= GOALS.httpRatio)}; ${fmt(perCpu('vigil-http-decoded') / perCpu('reference'), 2)}x per server CPU-second); ` +
      `passed through (validating scan, no goal: no pipeline with processors uses it) ${fmt(by('vigil-http').r.spansPerSec)} spans/s`,
  );
  console.log(
    `vigil otlp/grpc, every request decoded: ${fmt(grpc)} spans/s (goal >= ${fmt(GOALS.grpcSpans)}: ${verdict(grpc >= GOALS.grpcSpans)}; ` +
      `${fmt(perCpu('vigil-grpc-decoded'))} per server CPU-second: ${verdict(perCpu('vigil-grpc-decoded') >= GOALS.grpcSpans)}); ` +
      `passed through (validating scan, no goal) ${fmt(by('vigil-grpc').r.spansPerSec)} spans/s`,
  );
  const pct = (proc.r.spansPerSec / dec) * 100;
  const cpuPct = (perCpu('vigil-http-processors') / perCpu('vigil-http-decoded')) * 100;
  console.log(
    `with cost and percentiles: ${fmt(proc.r.spansPerSec)} spans/s, ${fmt(pct)}% of the decoded run without processors (goal >= ${GOALS.processorsPct}%: ${verdict(pct >= GOALS.processorsPct)}; ` +
      `${fmt(perCpu('vigil-http-processors'))} vs ${fmt(perCpu('vigil-http-decoded'))} spans per server CPU-second, ${fmt(cpuPct)}%: ${verdict(cpuPct >= GOALS.processorsPct)}); ` +
      `percentiles held ${fmt(proc.stats.seriesHeld ?? NaN)} series at the end (0 would mean the spans were dropped as late)`,
  );
}

const argv = process.argv;
if (argv.includes('--server')) {
  await serve(argv[argv.indexOf('--server') + 1] as ServerKind);
} else if (import.meta.url === `file://${argv[1]}`) {
  await run();
}
