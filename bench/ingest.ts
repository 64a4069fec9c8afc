/**
 * Ingest benchmark: OTLP/HTTP protobuf, 512-span batches with GenAI attributes, 32 keep-alive clients.
 *   1. reference: node:http + protobufjs reflection decode (schema written below from the field numbers);
 *   2. vigil: otlp receiver (HTTP) -> no processor -> nop exporter. The nop exporter takes encoded requests,
 *      so the receiver checks each one with the validating scan and passes its bytes through undecoded;
 *   2b. the same with every request decoded into the model (as when any component downstream reads spans);
 *   3. vigil over gRPC (passed through, as 2);
 *   4. vigil: otlp receiver (HTTP) -> cost -> percentiles -> nop exporter (decoded: the processors read spans).
 * Each server runs in a child process pinned to core 0 (`taskset -c 0` when available); the load
 * generator runs here (pinned to core 1 when there is one). Then vigil HTTP at a fixed 10,000 spans/s,
 * passed through and decoded: CPU% of one core and RSS. Figures are printed, not asserted.
 *
 *   node --import tsx bench/ingest.ts [--fixed-only]
 *   BENCH_FIXED_WARMUP_MS=30000  milliseconds at the fixed rate before measuring (default 10000)
 *   BENCH_SERVER_FLAGS="--cpu-prof"  extra node flags for the server processes
 *   BENCH_FIXED_ONLY=decoded|passed  with --fixed-only: one of the two fixed-rate runs
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const SPANS_PER_BATCH = 512;
const CLIENTS = 32;
const SATURATE_MS = 5000;
const WARMUP_MS = 1000;
const FIXED_RATE_SPANS = 10_000;
const FIXED_RATE_MS = 20_000;
const FIXED_WARMUP_MS = Number(process.env.BENCH_FIXED_WARMUP_MS ?? 10_000);

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

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022', 'gemini-1.5-pro'];

/** A realistic LLM-call batch: one resource, one scope, `n` client spans with GenAI attributes. */
export async function genAiTracesRequest(n: number, seed = 0): Promise<Buffer> {
  const { encodeExportRequest } = await import('../src/otlp/proto.ts');
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = [];
  for (let i = 0; i < n; i++) {
    const model = MODELS[(i + seed) % MODELS.length]!;
    const start = now + BigInt(i) * 1_000_000n;
    spans.push({
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceState: '',
      parentSpanId: randomBytes(8).toString('hex'),
      flags: 0x101,
      name: `chat ${model}`,
      kind: 3,
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(200_000_000 + ((i * 7919) % 2_000_000_000)),
      attributes: [
        { key: 'gen_ai.system', value: 'openai' },
        { key: 'gen_ai.operation.name', value: 'chat' },
        { key: 'gen_ai.request.model', value: model },
        { key: 'gen_ai.response.model', value: `${model}-2024-08-06` },
        { key: 'gen_ai.request.max_tokens', value: 1024n },
        { key: 'gen_ai.request.temperature', value: 0.7 },
        { key: 'gen_ai.usage.input_tokens', value: BigInt(500 + ((i * 31) % 3000)) },
        { key: 'gen_ai.usage.output_tokens', value: BigInt(50 + ((i * 17) % 800)) },
        { key: 'gen_ai.response.finish_reasons', value: ['stop'] },
        { key: 'server.address', value: 'api.openai.com' },
      ],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: i % 50 === 0 ? 2 : 0, message: '' },
    });
  }
  const batch = {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: 'support-bot' },
            { key: 'service.version', value: '1.4.2' },
            { key: 'deployment.environment', value: 'production' },
          ],
          droppedAttributesCount: 0,
        },
        scopeSpans: [{ scope: { name: 'opentelemetry.instrumentation.openai', version: '0.48.0', attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
  return Buffer.from(encodeExportRequest(batch, 'traces'));
}

// ============================================================================================== server

type ServerKind = 'reference' | 'vigil-http' | 'vigil-http-decoded' | 'vigil-grpc' | 'vigil-http-processors';

async function serve(kind: ServerKind): Promise<void> {
  let port = 0;
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
    const http = kind !== 'vigil-grpc';
    const raw = { protocols: http ? { http: { endpoint: '127.0.0.1:0' } } : { grpc: { endpoint: '127.0.0.1:0' } } };
    const issues = validateComponentConfig(otlpReceiverFactory, raw);
    if (issues.length) throw new Error(JSON.stringify(issues));
    // The nop exporter takes encoded requests, so the receiver passes them through after a validating scan;
    // 'vigil-http-decoded' hides that (as any exporter that reads the spans does), so each request is decoded.
    let into: import('../src/component.ts').Consumer = kind === 'vigil-http-decoded' ? { consume: (b) => nop.consume(b) } : nop;
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
      const afterCost = { consume: (b: import('../src/model.ts').Batch) => percentiles.process(b, nop) };
      into = { consume: (b) => cost.process(b, afterCost) };
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

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface LoadResult {
  spansPerSec: number;
  p99ms: number;
  errors: number;
  /** CPU of this (load generator) process over the window, % of one core. */
  clientCpuPct: number;
}

/** `CLIENTS` loops sending `payloads` round-robin for `ms` (after a warm-up); latency per request. */
async function saturate(send: (body: Buffer) => Promise<boolean>, payloads: Buffer[], ms: number, mark: () => Promise<unknown>): Promise<LoadResult> {
  let stopAt = performance.now() + WARMUP_MS;
  let measuring = false;
  let ok = 0;
  let errors = 0;
  const lat: number[] = [];
  const loop = async (i: number) => {
    let k = i;
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      const good = await send(payloads[k++ % payloads.length]!);
      if (!measuring) continue;
      lat.push(performance.now() - t0);
      if (good) ok++;
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
  lat.sort((a, b) => a - b);
  return { spansPerSec: (ok * SPANS_PER_BATCH) / secs, p99ms: percentile(lat, 0.99), errors, clientCpuPct: ((cpu.user + cpu.system) / 1e6 / secs) * 100 };
}

function httpSender(port: number): { send: (b: Buffer) => Promise<boolean>; close: () => Promise<void> } {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS, pipelining: 1, keepAliveTimeout: 60_000 });
  return {
    send: async (body) => {
      try {
        const res = await pool.request({ path: '/v1/traces', method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
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
  const framed = new Map<Buffer, Buffer>();
  const frame = (body: Buffer) => {
    let f = framed.get(body);
    if (!f) {
      f = Buffer.alloc(5 + body.length);
      f.writeUInt32BE(body.length, 1);
      body.copy(f, 5);
      framed.set(body, f);
    }
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
        req.on('end', () => resolve(status === 0));
        req.on('error', () => resolve(false));
        req.end(frame(body));
      }),
    close: async () => {
      for (const s of sessions) s.close();
    },
  };
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
const mb = (b: number) => `${fmt(b / 1024 / 1024, 1)} MB`;

/** Decode only, in this process: ms per batch for vigil's decoder and for protobufjs reflection. */
async function decodeOnly(payload: Buffer): Promise<{ vigilMs: number; scanMs: number; protobufjsMs: number }> {
  const { decodeExportRequest } = await import('../src/otlp/proto.ts');
  const { scanExportRequest } = await import('../src/otlp/scan.ts');
  const protobuf = (await import('protobufjs')).default;
  const Request = protobuf.parse(OTLP_TRACE_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');
  const time = (f: () => unknown) => {
    for (let i = 0; i < 50; i++) f();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000) {
      f();
      n++;
    }
    return (performance.now() - t0) / n;
  };
  return {
    vigilMs: time(() => decodeExportRequest('traces', payload)),
    scanMs: time(() => scanExportRequest('traces', payload)),
    protobufjsMs: time(() => Request.decode(payload)),
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

async function runPinned(pin: boolean): Promise<void> {
  const bundle = await bundleServer();
  if (bundle) serverEntry = [bundle];
  const payloads = await Promise.all([0, 1, 2, 3].map((s) => genAiTracesRequest(SPANS_PER_BATCH, s)));
  console.log(
    `ingest: OTLP traces, ${SPANS_PER_BATCH}-span batches (${fmt(payloads[0]!.length / 1024, 1)} KiB protobuf), ${CLIENTS} keep-alive clients, ` +
      `${SATURATE_MS / 1000}s per run; servers run ${bundle ? 'compiled (esbuild bundle)' : 'through tsx'}, ${pin ? 'pinned to core 0 (taskset), load generator on core 1' : 'not pinned'}`,
  );

  if (process.argv.includes('--fixed-only')) {
    // BENCH_FIXED_ONLY=decoded or passed: one of the two runs
    const only = process.env.BENCH_FIXED_ONLY;
    if (only !== 'decoded') printFixed(await fixedRate(pin, payloads, 'vigil-http'), 'passed through encoded');
    if (only !== 'passed') printFixed(await fixedRate(pin, payloads, 'vigil-http-decoded'), 'every request decoded');
    return;
  }
  const dec = await decodeOnly(payloads[0]!);
  console.log(
    `decode only (one ${SPANS_PER_BATCH}-span batch, this process): vigil ${fmt(dec.vigilMs, 2)} ms (${fmt((SPANS_PER_BATCH / dec.vigilMs) * 1000)} spans/s, ` +
      `into the full model), protobufjs reflection ${fmt(dec.protobufjsMs, 2)} ms (${fmt((SPANS_PER_BATCH / dec.protobufjsMs) * 1000)} spans/s, ` +
      `message objects only): ${fmt(dec.protobufjsMs / dec.vigilMs, 2)}x; ` +
      `vigil's validating scan (pass-through) ${fmt(dec.scanMs, 3)} ms, ${fmt(dec.vigilMs / dec.scanMs, 1)}x faster than its decode`,
  );

  const rows: { name: string; r: LoadResult; maxRss: number; cpuPct: number }[] = [];
  for (const [name, kind] of [
    ['1. reference: node:http + protobufjs', 'reference'],
    ['2. vigil otlp/http -> nop (passed through encoded)', 'vigil-http'],
    ['2b. vigil otlp/http -> nop, every request decoded', 'vigil-http-decoded'],
    ['3. vigil otlp/grpc -> nop (passed through encoded)', 'vigil-grpc'],
    ['4. vigil otlp/http -> cost -> percentiles -> nop', 'vigil-http-processors'],
  ] as const) {
    const server = await startServer(kind, pin);
    const sender = kind === 'vigil-grpc' ? grpcSender(server.port) : httpSender(server.port);
    const r = await saturate(sender.send, payloads, SATURATE_MS, () => server.ask('mark'));
    const stats = await server.ask<{ maxRss: number; cpuPct: number }>('stats');
    await sender.close();
    await stopServer(server);
    rows.push({ name, r, maxRss: stats.maxRss, cpuPct: stats.cpuPct });
  }

  printRows(rows);
  printFixed(await fixedRate(pin, payloads, 'vigil-http'), 'passed through encoded');
  printFixed(await fixedRate(pin, payloads, 'vigil-http-decoded'), 'every request decoded');
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
}

/**
 * vigil over HTTP at FIXED_RATE_SPANS: first FIXED_WARMUP_MS at that rate (the JIT settles, as in a daemon
 * that has been up a while), then FIXED_RATE_MS measured: CPU of the server process (all its threads) and RSS.
 */
async function fixedRate(pin: boolean, payloads: Buffer[], kind: ServerKind): Promise<FixedRateResult> {
  const server = await startServer(kind, pin);
  const sender = httpSender(server.port);
  const intervalMs = (SPANS_PER_BATCH / FIXED_RATE_SPANS) * 1000;
  const pace = async (ms: number) => {
    const t0 = performance.now();
    let sent = 0;
    const inflight: Promise<boolean>[] = [];
    while (performance.now() - t0 < ms) {
      inflight.push(sender.send(payloads[sent++ % payloads.length]!));
      const next = t0 + sent * intervalMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(inflight);
    return (sent * SPANS_PER_BATCH) / ((performance.now() - t0) / 1000);
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
    `vigil HTTP -> nop, ${how}, at a fixed ${fmt(FIXED_RATE_SPANS)} spans/s (achieved ${fmt(f.achieved)}, after ${FIXED_WARMUP_MS / 1000}s at that rate, measured over ${FIXED_RATE_MS / 1000}s): ` +
      `CPU ${fmt(f.cpuPct, 1)}% of one core (user ${fmt(f.userPct, 1)}%, system ${fmt(f.systemPct, 1)}%; GC pauses ${fmt(f.gcPct, 2)}% in ${f.gcCount} collections; by thread: ${f.threads || 'n/a'}), ` +
      `RSS ${mb(f.rss)} (peak ${mb(f.maxRss)})   (targets: CPU < 5%, RSS < 150 MB)`,
  );
}

function printRows(rows: { name: string; r: LoadResult; maxRss: number; cpuPct: number }[]): void {
  console.log('');
  console.log(`| run | spans/s | p99 latency | peak RSS | server CPU | spans per server CPU-second | load generator CPU | errors |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const { name, r, maxRss, cpuPct } of rows)
    console.log(
      `| ${name} | ${fmt(r.spansPerSec)} | ${fmt(r.p99ms, 1)} ms | ${mb(maxRss)} | ${fmt(cpuPct)}% | ${fmt(r.spansPerSec / (cpuPct / 100))} | ${fmt(r.clientCpuPct)}% | ${r.errors} |`,
    );
  console.log('(server CPU below 100% means the server was not the bottleneck: the load generator or a busy machine was;');
  console.log(' "spans per server CPU-second" is then the better measure of what one dedicated core would take)');
  const ratio = (i: number) => rows[i]!.r.spansPerSec / rows[0]!.r.spansPerSec;
  const perCpu = (i: number) => rows[i]!.r.spansPerSec / rows[i]!.cpuPct;
  console.log('');
  console.log(
    `vigil HTTP / reference: passed through ${fmt(ratio(1), 2)}x in spans/s (${fmt(perCpu(1) / perCpu(0), 2)}x per server CPU-second); ` +
      `every request decoded ${fmt(ratio(2), 2)}x (${fmt(perCpu(2) / perCpu(0), 2)}x per server CPU-second)   ` +
      `(targets: HTTP >= 250,000 spans/s and >= 1.2x; gRPC >= 150,000 spans/s)`,
  );
  console.log(
    `with cost and percentiles: ${fmt(rows[4]!.r.spansPerSec)} spans/s, ${fmt((rows[4]!.r.spansPerSec / rows[2]!.r.spansPerSec) * 100)}% of the decoded no-processor figure ` +
      `(${fmt(perCpu(4) * 100)} vs ${fmt(perCpu(2) * 100)} spans per server CPU-second; target: at least 60%, e.g. 250k -> 150k)`,
  );
}

const argv = process.argv;
if (argv.includes('--server')) {
  await serve(argv[argv.indexOf('--server') + 1] as ServerKind);
} else if (import.meta.url === `file://${argv[1]}`) {
  await run();
}
