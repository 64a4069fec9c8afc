// What each import of `vigil run` costs (issue 21): imports, in the daemon's order, the packages it uses and
// then tsc's per-file build of vigil (dist/, so run `npm run build` first), loads the components the shipped
// pipelines.yaml names, compiles (or, with the build's precompiled validators, requires) their schemas, loads
// the config, builds the service and starts it, printing each step's wall time and the change of RSS and V8
// heap used. The daemon itself runs the bundle (dist/app/vigil.cjs, compiled by dist/app/main.js with V8's code cache):
// use the per-step figures to see what costs, the bench (BENCH_DAEMON_START_ONLY) for what start-up takes.
// Steps are cumulative: a package already loaded by an earlier step costs nothing later.
//
//   node --expose-gc scripts/module-log/import-costs.mjs [repo root]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { shippedConfigEnv } from './shipped-env.mjs';

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../..'));
const d = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-import-costs-'));
Object.assign(process.env, shippedConfigEnv(dir));
process.chdir(dir);

const rows = [];
let t = performance.now();
let m = process.memoryUsage();
async function step(name, fn) {
  await fn();
  const t2 = performance.now();
  const m2 = process.memoryUsage();
  rows.push([name, t2 - t, (m2.rss - m.rss) / 1048576, (m2.heapUsed - m.heapUsed) / 1048576]);
  t = performance.now();
  m = process.memoryUsage();
}

// packages, resolved from the repo (as dist/ resolves them)
const { createRequire } = await import('node:module');
const req = createRequire(path.join(root, 'package.json'));
const PACKAGES = ['yaml', '@sinclair/typebox', 'ajv', 'ajv-formats', 'pino', 're2js', '@opentelemetry/api', '@grpc/grpc-js', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus'];
for (const p of PACKAGES) await step(`package ${p}`, () => import(pathToFileURL(req.resolve(p)).href));

let components;
await step('dist app/cli.js (config loader)', () => import(d('app/cli.js')));
await step('dist app/components.js', async () => ({ components } = await import(d('app/components.js'))));
const { loadConfig } = await import(d('src/config/load.js'));
const { compileSchema } = await import(d('src/config/ajv.js'));
const USED = [['receiver', 'otlp'], ['receiver', 'http_json'], ['processor', 'memory_limiter'], ['processor', 'cost'], ['processor', 'percentiles'], ['processor', 'alerts'], ['exporter', 'debug'], ['exporter', 'file'], ['exporter', 'prometheus']];
const factories = [];
for (const [k, type] of USED) await step(`component ${k}/${type}`, async () => factories.push(await components.load(k, type)));
for (const f of factories) await step(`schema of ${f.kind}/${f.type}`, () => compileSchema(f.schema));
let cfg;
await step('loadConfig(pipelines.yaml)', async () => {
  cfg = await loadConfig([path.join(root, 'pipelines.yaml')], components);
  if (!cfg.config) throw new Error(JSON.stringify(cfg.errors));
});
let mods;
await step('dist self-export, service, telemetry', async () => (mods = await Promise.all([import(d('src/self-export.js')), import(d('src/service.js')), import(d('src/telemetry.js'))])));
const [{ startSelfExport }, { Service }, { ServiceTelemetry }] = mods;
const { createLogger } = await import(d('src/logger.js'));
let svc;
await step('Service and its telemetry constructed', async () => {
  const se = await startSelfExport(cfg.config.service.telemetry);
  svc = new Service(cfg.config, { logger: createLogger('warn'), registry: components, telemetry: new ServiceTelemetry({ metricReaders: se.metricReaders }) });
});
await step('service.start()', () => svc.start());
globalThis.gc?.();
await step('full GC (with --expose-gc)', async () => {});

for (const [name, ms, rss, heap] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${rss >= 0 ? '+' : ''}${rss.toFixed(1)} | ${heap >= 0 ? '+' : ''}${heap.toFixed(1)} |`);
const mem = process.memoryUsage();
console.log(`total: RSS ${(mem.rss / 1048576).toFixed(1)} MiB, heap ${(mem.heapTotal / 1048576).toFixed(1)} / ${(mem.heapUsed / 1048576).toFixed(1)} MiB, ${(process.uptime() * 1000).toFixed(0)} ms since the process started; load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
await svc.shutdown();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
