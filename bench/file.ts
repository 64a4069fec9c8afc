/**
 * The `file` exporter (issue 21): spans/s written as OTLP/JSON lines, 512-span GenAI batches (decoded
 * model batches, as the exporter receives them from a pipeline), 16 consume() calls in flight (as a
 * receiver with concurrent requests gives it), for each fsync policy, to a file in the temp folder and to
 * /dev/null. Beside it: the JSON encoding alone (what the event loop still pays per span), so the
 * write path's own cost shows. The goal is read from the README's benchmark table.
 *
 *   node --import tsx bench/file.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exporter } from '../src/component.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { silentLogger } from '../src/logger.ts';
import { NOOP_CONSUMER } from '../src/component.ts';
import { decodeExportRequest } from '../src/otlp/proto.ts';
import { toOtlpJson } from '../src/otlp/json.ts';
import { otlpJsonBytes } from '../src/otlp/json-text.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { fileExporterFactory } from '../exporters/file/index.ts';
import type { FileConfig } from '../exporters/file/config.ts';
import { goalNumber } from './_goals.ts';
import { genAiTracesRequest } from './ingest.ts';

const SPANS = 512;
const IN_FLIGHT = 16;
const MS = Number(process.env.BENCH_FILE_MS ?? 3000);
const GOAL = goalNumber('file exporter', />= ([\d,.]+)k spans\/s/) * 1000;

async function exporterFor(file: string, fsync: FileConfig['fsync']): Promise<Exporter> {
  const config = { path: file, fsync, max_megabytes: 0, signals: ['traces'] };
  const issues = validateComponentConfig(fileExporterFactory as never, config);
  if (issues.length) throw new Error(JSON.stringify(issues));
  const telemetry = new ServiceTelemetry();
  const exp = fileExporterFactory.create(
    {
      id: 'file/bench',
      kind: 'exporter',
      logger: silentLogger(),
      telemetry: telemetry.forComponent('exporter', 'file/bench'),
      stateDir: os.tmpdir(),
      emit: NOOP_CONSUMER,
      service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {}, telemetryEndpoint: 'localhost:8888' },
    },
    config as unknown as FileConfig,
  ) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  return exp;
}

export async function run(): Promise<void> {
  console.log(`load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const batches = await Promise.all([0, 1, 2, 3].map(async (seed) => decodeExportRequest('traces', await genAiTracesRequest(SPANS, seed))));
  // The encoding alone, on the event loop, to the bytes that are written: the reference (object tree,
  // JSON.stringify, UTF-8) against the direct writer the exporters use, alternated in rounds in this one
  // process so that load hits both alike. CPU time (the process's, so GC threads count), beside wall time.
  const enc = { reference: { cpu: 0, wall: 0, spans: 0, bytes: 0 }, direct: { cpu: 0, wall: 0, spans: 0, bytes: 0 } };
  const ROUNDS = 8;
  let n = 0;
  for (let r = 0; r < ROUNDS * 2; r++) {
    const which = r % 2 ? 'reference' : 'direct';
    const e = enc[which];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const until = t0 + MS / 2 / ROUNDS;
    while (performance.now() < until) {
      const b = batches[n++ % batches.length]!;
      const bytes = which === 'direct' ? otlpJsonBytes(b, 'traces') : Buffer.from(JSON.stringify(toOtlpJson(b, 'traces')));
      e.spans += SPANS;
      e.bytes += bytes.length;
    }
    e.wall += performance.now() - t0;
    const c = process.cpuUsage(c0);
    e.cpu += (c.user + c.system) / 1000;
  }
  console.table(
    Object.entries(enc).map(([how, e]) => ({
      'OTLP/JSON encoding alone': how === 'direct' ? 'direct writer (otlpJsonBytes)' : 'Buffer.from(JSON.stringify(toOtlpJson())) (before)',
      'CPU ns/span': Math.round((e.cpu * 1e6) / e.spans),
      'wall ns/span': Math.round((e.wall * 1e6) / e.spans),
      'spans/s of CPU': Math.round(e.spans / (e.cpu / 1000)).toLocaleString('en'),
      'MB/s of CPU': Math.round(e.bytes / 1e3 / e.cpu),
      'bytes/span': Math.round(e.bytes / e.spans),
    })),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-file-'));
  const rows = [];
  try {
    for (const [target, file] of [
      ['temp file', path.join(dir, 'out.jsonl')],
      ['/dev/null', '/dev/null'],
    ] as const) {
      for (const fsync of ['batch', 'interval', 'none'] as const) {
        if (target === '/dev/null' && fsync !== 'batch') continue; // nothing is synced there
        const exp = await exporterFor(file, fsync);
        let spans = 0;
        let i = 0;
        const start = performance.now();
        const worker = async () => {
          while (performance.now() - start < MS) {
            await exp.consume(batches[i++ % batches.length]!);
            spans += SPANS;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        const rate = spans / ((performance.now() - start) / 1000);
        await exp.shutdown();
        rows.push({ target, fsync, 'spans/s': Math.round(rate).toLocaleString('en'), goal: `>= ${GOAL.toLocaleString('en')}`, verdict: rate >= GOAL ? 'meets' : 'MISSES' });
        fs.rmSync(path.join(dir, 'out.jsonl'), { force: true });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
