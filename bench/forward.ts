/**
 * Forwarding benchmark: the otlp exporter sending 512-span GenAI batches to a vigil upstream (otlp receiver
 * -> a consumer that counts, in a child process), with `sending_queue.storage: disk` (queued on disk,
 * fsync'd before consume() resolves) and `memory`. Two arrival patterns: 16 consume() calls in flight (a
 * receiver serving many clients) and one at a time. "accepted/s": how fast consume() resolves; "end to
 * end": until the upstream acknowledged the last batch. Each protocol is also run with the requests "passed
 * through" (as the otlp receiver hands them on when nothing in between reads them: bytes, not a model, so
 * the exporter does not encode). Figures are printed, not asserted.
 *
 *   node --import tsx bench/forward.ts        (P=grpc or P=http/protobuf: one protocol only)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import type { OtlpExporter } from '../exporters/otlp/otlp-exporter.ts';
import type { Factory } from '../src/component.ts';
import { NOOP_CONSUMER } from '../src/component.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { silentLogger } from '../src/logger.ts';
import type { Batch } from '../src/model.ts';
import { decodeExportRequest } from '../src/otlp/proto.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { genAiTracesRequest } from './ingest.ts';
import { loadAverage } from './_proc.ts';

const SPANS = 512;
const BATCHES = 600;

const UPSTREAM = `
  const { otlpReceiverFactory } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../receivers/otlp/index.ts'))});
  const { validateComponentConfig } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../src/config/ajv.ts'))});
  const { silentLogger } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../src/logger.ts'))});
  const { ServiceTelemetry } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../src/telemetry.ts'))});
  const config = { protocols: { http: { endpoint: '127.0.0.1:0' }, grpc: { endpoint: '127.0.0.1:0' } } };
  validateComponentConfig(otlpReceiverFactory, config);
  const r = otlpReceiverFactory.create({ id: 'otlp', kind: 'receiver', logger: silentLogger(), telemetry: new ServiceTelemetry().forComponent('receiver', 'otlp'),
    stateDir: '/tmp', emit: { consume: async () => {} }, service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {} } }, config);
  await r.start();
  console.log(JSON.stringify({ http: r.httpAddress, grpc: r.grpcAddress }));
`;

async function startUpstream(): Promise<{ http: string; grpc: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`upstream exited (${code})`)));
  });
  return { ...(JSON.parse(line) as { http: string; grpc: string }), stop: () => child.kill('SIGKILL') };
}

interface Row {
  protocol: string;
  storage: string;
  inFlight: number;
  acceptedPerS: number;
  batchesPerS: number;
  spansPerS: number;
}

/** Whether the exporter has `sending_queue.storage` (before it did, its queue was in memory only). */
function hasStorageKey(): boolean {
  const schema = otlpExporterFactory.schema as unknown as { properties: { sending_queue: { properties: Record<string, unknown> } } };
  return 'storage' in schema.properties.sending_queue.properties;
}

async function scenario(protocol: 'grpc' | 'http/protobuf', storage: 'disk' | 'memory', inFlight: number, up: { http: string; grpc: string }, batches: Batch[]): Promise<Row> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-forward-'));
  const raw: Record<string, unknown> = {
    endpoint: protocol === 'grpc' ? `http://${up.grpc}` : `http://${up.http}`,
    protocol,
    sending_queue: { max_items: BATCHES + 10, max_bytes: 2 ** 30, num_consumers: 4 },
  };
  if (hasStorageKey()) (raw['sending_queue'] as Record<string, unknown>)['storage'] = storage;
  const issues = validateComponentConfig(otlpExporterFactory as Factory, raw);
  if (issues.length) throw new Error(issues.map((i) => i.message).join('; '));
  const exp = otlpExporterFactory.create(
    {
      id: 'otlp/bench',
      kind: 'exporter',
      logger: silentLogger(),
      telemetry: new ServiceTelemetry().forComponent('exporter', 'otlp/bench'),
      stateDir,
      emit: NOOP_CONSUMER,
      service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {} },
    },
    raw as never,
  ) as OtlpExporter;
  await exp.start({ reportFatal: () => undefined });
  // warm-up
  for (let i = 0; i < 20; i++) await exp.consume(batches[i % batches.length]!);
  while (exp.queued > 0) await new Promise((r) => setTimeout(r, 1));

  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < BATCHES) await exp.consume(batches[next++ % batches.length]!);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const tAccepted = performance.now();
  while (exp.queued > 0) await new Promise((r) => setTimeout(r, 1));
  const tDone = performance.now();
  await exp.shutdown();
  fs.rmSync(stateDir, { recursive: true, force: true });
  const s = (tDone - t0) / 1000;
  return {
    protocol,
    storage,
    inFlight,
    acceptedPerS: Math.round(BATCHES / ((tAccepted - t0) / 1000)),
    batchesPerS: Math.round(BATCHES / s),
    spansPerS: Math.round((BATCHES * SPANS) / s),
  };
}

export async function run(): Promise<void> {
  const batches: Batch[] = [];
  // The same requests as the otlp receiver hands them on when nothing between it and the exporter reads the
  // data (pass-through): the exporter then queues the received bytes instead of encoding a model.
  const encoded: Batch[] = [];
  for (let i = 0; i < 8; i++) {
    const bytes = await genAiTracesRequest(SPANS, i);
    batches.push(decodeExportRequest('traces', bytes));
    encoded.push({ encoded: { signal: 'traces', bytes, items: SPANS } });
  }
  const up = await startUpstream();
  const rows: (Row & { input: string })[] = [];
  try {
    for (const protocol of (process.env.P ? [process.env.P] : ['http/protobuf', 'grpc']) as ('grpc' | 'http/protobuf')[]) {
      for (const inFlight of [16, 1])
        for (const storage of hasStorageKey() ? (['memory', 'disk'] as const) : (['memory'] as const))
          rows.push({ input: 'decoded', ...(await scenario(protocol, storage, inFlight, up, batches)) });
      for (const storage of ['memory', 'disk'] as const) rows.push({ input: 'passed through', ...(await scenario(protocol, storage, 16, up, encoded)) });
    }
  } finally {
    up.stop();
  }
  console.log(
    `otlp exporter -> vigil upstream (child process), ${BATCHES} batches of ${SPANS} spans (bench/_spans.ts: the OTel SDK's GenAI spans), gzip, 4 consumers, ${os.cpus().length} cores; ` +
      `load average ${loadAverage()} (no goal in the README's table)`,
  );
  console.table(
    rows.map((r) => ({
      input: r.input,
      protocol: r.protocol,
      storage: r.storage,
      'consume() in flight': r.inFlight,
      'accepted batches/s': r.acceptedPerS,
      'end-to-end batches/s': r.batchesPerS,
      'end-to-end spans/s': r.spansPerS,
    })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
