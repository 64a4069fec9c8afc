/**
 * The `file` exporter (issue 21): spans/s written as OTLP/JSON lines, 512-span GenAI batches (decoded
 * model batches, as the exporter receives them from a pipeline), 16 consume() calls in flight (as a
 * receiver with concurrent requests gives it), for each fsync policy, to a file in the temp folder and to
 * /dev/null, with the policy beside each figure. Beside the rate: how busy the event loop was (the
 * encoding runs there; under 100% the exporter waited for its writes or fdatasyncs), the main thread's
 * CPU per span (Linux: /proc/self/task), and writev and fdatasync calls per batch (counted through the
 * exporter's FileIo, which calls node:fs): figures that move less with the machine's load than the rate.
 * Before all that: the JSON encoding alone (what the event loop pays per span), so the write path's own
 * cost shows. The goal is read from the README's benchmark table.
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
import { FileExporter, type FileIo, nodeFileIo } from '../exporters/file/file-exporter.ts';
import { goalNumber } from './_goals.ts';
import { genAiTracesRequest } from './ingest.ts';
import { loadAverage } from './_proc.ts';

const SPANS = 512;
const IN_FLIGHT = 16;
const MS = Number(process.env.BENCH_FILE_MS ?? 3000);
const GOAL = goalNumber('file exporter', />= ([\d,.]+)k spans\/s/) * 1000;

/** The real node:fs calls, counted. */
class CountingIo implements FileIo {
  writes = 0;
  syncs = 0;
  writev(fd: number, bufs: Buffer[]): Promise<number> {
    this.writes++;
    return nodeFileIo.writev(fd, bufs);
  }
  fdatasync(fd: number): Promise<void> {
    this.syncs++;
    return nodeFileIo.fdatasync(fd);
  }
}

/** The exporter as the factory makes it (config validated, defaults applied), with its fs calls counted. */
async function exporterFor(file: string, fsync: FileConfig['fsync'], io: FileIo): Promise<Exporter> {
  const config = { path: file, fsync, max_megabytes: 0, signals: ['traces'] };
  const issues = validateComponentConfig(fileExporterFactory as never, config);
  if (issues.length) throw new Error(JSON.stringify(issues));
  const telemetry = new ServiceTelemetry();
  const exp = new FileExporter('file/bench', config as unknown as FileConfig, silentLogger(), telemetry.forComponent('exporter', 'file/bench'), io);
  await exp.start({ reportFatal: () => undefined });
  return exp;
}

/** CPU milliseconds of this process's main thread (the event loop), or undefined off Linux. */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on Linux (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

export async function run(): Promise<void> {
  console.log(`load average ${loadAverage()}`);
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
        const io = new CountingIo();
        const exp = await exporterFor(file, fsync, io);
        let spans = 0;
        let i = 0;
        const elu0 = performance.eventLoopUtilization();
        const cpu0 = mainThreadCpuMs();
        const start = performance.now();
        const worker = async () => {
          while (performance.now() - start < MS) {
            await exp.consume(batches[i++ % batches.length]!);
            spans += SPANS;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        const rate = spans / ((performance.now() - start) / 1000);
        const elu = performance.eventLoopUtilization(elu0).utilization;
        const cpu1 = mainThreadCpuMs();
        const consumed = spans / SPANS;
        await exp.shutdown();
        rows.push({
          target,
          fsync: fsync === 'batch' ? 'batch (default)' : fsync,
          'spans/s': Math.round(rate).toLocaleString('en'),
          goal: `>= ${GOAL.toLocaleString('en')}`,
          verdict: rate >= GOAL ? 'meets' : 'MISSES',
          'event loop busy': `${Math.round(elu * 100)}%`,
          'main thread CPU us/span': cpu0 === undefined || cpu1 === undefined ? '-' : ((cpu1 - cpu0) * 1000 / spans).toFixed(2),
          'writev/batch': (io.writes / consumed).toFixed(2),
          'fdatasync/batch': (io.syncs / consumed).toFixed(2),
        });
        fs.rmSync(path.join(dir, 'out.jsonl'), { force: true });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.table(rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
