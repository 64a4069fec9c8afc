/**
 * Start-up cost as a count, not a timing (issue 21): the modules that `vigil validate` and `vigil run` load
 * for the shipped pipelines.yaml, listed by scripts/module-log/preload.mjs. Components the config does not
 * name, and packages only they use, must not load; `validate` must not load the daemon's self-telemetry
 * (the OpenTelemetry metrics SDK); and the totals must stay within a budget, so that a new eager import
 * fails here instead of slowing every start. Raise a budget only with the reason in the commit.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/index.ts';
import { shippedConfigEnv } from '../scripts/module-log/shipped-env.mjs';
import { FLAG_SETS } from '../deploy/code-cache.mjs';

const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules/tsx/dist/loader.mjs');
const preload = path.join(root, 'scripts/module-log/preload.mjs');

/** What the module list says: vigil's own files (repo-relative) and a count of modules per package. */
interface Loaded {
  own: string[];
  packages: Map<string, number>;
  total: number;
  /** Every module file loaded (not built-ins), and those still in require's cache when the process exited. */
  files: string[];
  cached: string[];
  /** From a build: what V8 did with the bundle's code cache (deploy/bundle-main.mjs VIGIL_CODE_CACHE_REPORT). */
  codeCache?: string;
}

function parse(list: string, cachedList = ''): Loaded {
  const own: string[] = [];
  const packages = new Map<string, number>();
  const files: string[] = [];
  let total = 0;
  for (const line of list.split('\n')) {
    if (!line) continue;
    const where = line.slice(4).replace(/^file:\/\//, '');
    if (where.startsWith('node:') || !where.startsWith('/')) continue; // built-ins cost no loading
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(where)?.[1];
    if (pkg === 'tsx' || pkg === 'esbuild' || pkg === 'get-tsconfig' || pkg === 'resolve-pkg-maps') continue; // the test's TypeScript loader
    total++;
    files.push(where);
    if (pkg) packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
    else if (where.startsWith(root)) own.push(path.relative(root, where));
  }
  return { own, packages, total, files, cached: cachedList.split('\n').filter(Boolean) };
}

/**
 * Runs the CLI with the module log, from the sources (through tsx) or from a built dist/ (`dist`: its
 * app/main.js), on the shipped pipelines.yaml and an optional config file merged over it; `run` is stopped
 * with SIGTERM once ready (and `whileReady`, given the log so far, has finished).
 */
async function modulesOf(command: 'validate' | 'run', dist?: string, overlay?: string, whileReady?: (log: string) => Promise<void>): Promise<Loaded> {
  const dir = tempDir('startup-modules-');
  const log = path.join(dir, 'modules.txt');
  const env = {
    ...process.env,
    VIGIL_MODULE_LOG: log,
    VIGIL_CODE_CACHE_REPORT: path.join(dir, 'code-cache.txt'),
    ...shippedConfigEnv(dir),
  };
  const entry = dist ? ['--import', preload, path.join(dist, 'app/main.js')] : ['--import', tsx, '--import', preload, path.join(root, 'app/main.ts')];
  const configs = ['--config', path.join(root, 'pipelines.yaml'), ...(overlay ? ['--config', overlay] : [])];
  const child = spawn(process.execPath, [...entry, command, ...configs], {
    cwd: dir, // anything the shipped config keeps at a relative path lands here
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stopping = false;
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    // once: a second SIGTERM makes vigil exit at once (code 1) instead of draining
    if (command === 'run' && !stopping && out.includes('everything is ready')) {
      stopping = true;
      void (whileReady ?? (async () => undefined))(out).finally(() => child.kill('SIGTERM'));
    }
  });
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code, out).toBe(0);
  if (command === 'run') expect(out).toContain('everything is ready');
  const codeCache = fs.existsSync(env.VIGIL_CODE_CACHE_REPORT) ? fs.readFileSync(env.VIGIL_CODE_CACHE_REPORT, 'utf8') : undefined;
  return { ...parse(fs.readFileSync(log, 'utf8'), fs.existsSync(`${log}.cached`) ? fs.readFileSync(`${log}.cached`, 'utf8') : ''), codeCache };
}

/** Packages that only components the shipped config does not use (or tools) need. */
const NOT_FOR_SHIPPED_CONFIG = [
  'nodemailer', // email exporter
  'undici', // slack / webhook / pagerduty / opsgenie / alertmanager / otlp exporters
  'protobufjs',
  'playwright-core',
  'uplot', // served to the browser, never imported
  're2js', // regex matchers (=~, !~): the shipped config has none
  '@opentelemetry/sdk-trace-base', // self-export of traces, off in the shipped config
  '@opentelemetry/sdk-logs',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-metrics-otlp-grpc',
  '@opentelemetry/exporter-metrics-otlp-http',
  '@opentelemetry/exporter-metrics-otlp-proto',
];
/** Component folders the shipped config does not name. */
const UNUSED_COMPONENTS = ['exporters/email/', 'exporters/slack/', 'exporters/webhook/', 'exporters/pagerduty/', 'exporters/opsgenie/', 'exporters/alertmanager/', 'exporters/otlp/', 'exporters/nop/', 'receivers/nop/', 'processors/batch/'];

describe('modules loaded at start with the shipped pipelines.yaml', () => {
  it('vigil validate loads the used components only, no self-telemetry, within its budget', async () => {
    const m = await modulesOf('validate');
    // nor grpc-js: the otlp receiver imports it when its gRPC listener starts
    for (const p of [...NOT_FOR_SHIPPED_CONFIG, '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus', '@grpc/grpc-js']) expect(m.packages.has(p), p).toBe(false);
    for (const c of UNUSED_COMPONENTS) expect(m.own.filter((f) => f.startsWith(c)), c).toEqual([]);
    // the components the config names are loaded (their config schemas validate it)
    for (const c of ['receivers/otlp/', 'receivers/http_json/', 'processors/cost/', 'processors/alerts/', 'exporters/file/', 'exporters/prometheus/'])
      expect(m.own.some((f) => f.startsWith(c)), c).toBe(true);
    expect(m.own).not.toContain('src/telemetry.ts');
    // 2026-11-29: 480 modules from the sources (typebox's ESM build alone is 200 of them); before issue 21: 846.
    // The built daemon loads far fewer (the bundle: see the last case).
    expect(m.total).toBeLessThanOrEqual(500);
  }, 60_000);

  it('vigil run loads the used components only, within its budget', async () => {
    const m = await modulesOf('run');
    // vigil's own /metrics is written by src/own-meter.ts: the OTel metrics SDK loads only to export them over OTLP
    for (const p of [...NOT_FOR_SHIPPED_CONFIG, '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus', '@opentelemetry/semantic-conventions']) expect(m.packages.has(p), p).toBe(false);
    for (const c of UNUSED_COMPONENTS) expect(m.own.filter((f) => f.startsWith(c)), c).toEqual([]);
    // 2026-11-29: 601 modules from the sources (typebox 200, yaml 73, grpc-js 66, ajv 63); 846-849 while the
    // OpenTelemetry metrics SDK served vigil's own /metrics (~245 more). The built daemon loads 64 (the last case).
    expect(m.total).toBeLessThanOrEqual(620);
  }, 60_000);

  it('vigil run from the build (bundled, schemas precompiled) loads neither Ajv\'s compiler nor unused packages, within its budget', async () => {
    // `npm run build`'s steps, into a temporary dist/
    const build = tempDir('startup-modules-dist-');
    const dist = path.join(build, 'dist');
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(build, 'node_modules')); // the packages, as beside the repo's dist/
    // asynchronously, so that vitest's worker keeps answering its RPC meanwhile
    const step = (file: string, args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [file, ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}\n${stdout}${stderr}`)) : resolve())),
      );
    await step(path.join(root, 'node_modules/typescript/bin/tsc'), ['-p', path.join(root, 'tsconfig.build.json'), '--outDir', dist]);
    for (const s of ['copy-data-files', 'precompile-schemas', 'bundle', 'code-cache']) await step(path.join(root, `deploy/${s}.mjs`), [root, dist]);
    // V8 takes the validators' code caches under the flags the daemon holds while it starts (src/startup-v8.ts),
    // which is when it loads them: every cache the build wrote is accepted there
    const codeCaches = await new Promise<Record<string, string>>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import fs from 'node:fs'; import { createRequire } from 'node:module';
           const { holdForStartup } = await import(${JSON.stringify(path.join(dist, 'src/startup-v8.js'))});
           holdForStartup();
           const dir = ${JSON.stringify(path.join(dist, 'precompiled-validators'))};
           const req = createRequire(dir + '/');
           const out = {};
           for (const f of fs.readdirSync(dir).filter((f) => /^[a-z]+_[0-9a-f]{40}\.cjs$/.test(f))) out[f] = req('./' + f).codeCache;
           console.log(JSON.stringify(out));`,
        ],
        { cwd: build, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Record<string, string>)),
      ),
    );
    expect(Object.keys(codeCaches).length).toBeGreaterThan(15);
    expect(Object.entries(codeCaches).filter(([, c]) => c !== 'accepted')).toEqual([]);
    // and its gRPC listener (grpc-js is in the bundle) takes an OTLP export
    let grpcReply = '';
    const m = await modulesOf('run', dist, undefined, async (log) => {
      const port = /"grpc":"127\.0\.0\.1:(\d+)"/.exec(log)?.[1];
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const id = (b: Buffer) => b;
      grpcReply = await new Promise<string>((resolve) =>
        client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', id, id, Buffer.alloc(0), (err) => resolve(err ? `${err.code} ${err.details}` : 'OK')),
      );
      client.close();
    });
    expect(grpcReply).toBe('OK');
    // the bundle (dist/app/vigil.cjs, compiled by main.js with node:vm, not a module node loads) took the code cache
    // the build's training start made (deploy/code-cache.mjs): V8 checks it against its version, its flags and the code
    expect(m.codeCache, 'the bundle compiled with its V8 code cache').toBe('accepted');
    // and under the heap-size flags of each shipped deployment (NODE_OPTIONS), which void a cache made without them:
    // the build makes one for each (deploy/code-cache.mjs FLAG_SETS, checked against the manifests below)
    for (const flags of FLAG_SETS) {
      const report = path.join(build, `code-cache-${FLAG_SETS.indexOf(flags)}.txt`);
      await new Promise<void>((resolve, reject) =>
        execFile(
          process.execPath,
          [path.join(dist, 'app/main.js'), 'validate', '--config', path.join(root, 'pipelines.yaml')],
          { cwd: build, env: { ...process.env, NODE_OPTIONS: flags, VIGIL_CODE_CACHE_REPORT: report } },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve()),
        ),
      );
      expect(fs.readFileSync(report, 'utf8'), `NODE_OPTIONS=${flags}`).toBe('accepted');
    }
    for (const p of [...NOT_FOR_SHIPPED_CONFIG, '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus']) expect(m.packages.has(p), p).toBe(false);
    // the precompiled validators need Ajv's small runtime helpers only (ajv/dist/runtime/*), never its compiler
    expect(m.packages.get('ajv') ?? 0).toBeLessThanOrEqual(3);
    expect(m.packages.has('@sinclair/typebox'), 'typebox is bundled').toBe(false);
    // idle memory: the config's validators, used once at start, are no longer held once the daemon runs
    // (src/config/ajv.ts forgetValidators); http_json's per-request events validators stay
    const validators = (list: string[], set: string) => list.filter((f) => f.includes(`/precompiled-validators/${set}_`));
    expect(validators(m.files, 'config').length, 'config validators loaded at start').toBeGreaterThan(5);
    expect(validators(m.cached, 'config'), 'config validators still in require.cache once running').toEqual([]);
    expect(validators(m.cached, 'events').length).toBe(validators(m.files, 'events').length);
    expect(validators(m.cached, 'events').length).toBeGreaterThan(0);
    // The packages the bundle imports lazily (CommonJS ones give their exports as `default` there:
    // src/import-package.ts) work from it: vigil's own telemetry exported over OTLP/gRPC for all three
    // signals (the gRPC exporters, grpc-js' Metadata and sdk-trace-node are CommonJS) starts and gets ready.
    const overlay = path.join(build, 'self-export.yaml');
    const otlp = '{exporter: {otlp: {protocol: grpc, endpoint: "http://127.0.0.1:9"}}}';
    fs.writeFileSync(overlay, `service:\n  telemetry:\n    metrics: {readers: [{periodic: ${otlp}}]}\n    logs: {processors: [{batch: ${otlp}}]}\n    traces: {processors: [{batch: ${otlp}}]}\n`);
    const withExport = await modulesOf('run', dist, overlay);
    expect(withExport.total, 'the OTLP exporters load').toBeGreaterThan(m.total);
    // from node_modules: the bundle leaves them out (deploy/bundle.mjs EXTERNAL), and requires them when used
    for (const p of ['@opentelemetry/sdk-metrics', '@opentelemetry/sdk-logs', '@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-grpc']) expect(withExport.packages.has(p), p).toBe(true);
    expect(withExport.codeCache).toBe('accepted');
    // 2026-11-29: 64 files (the bundle's chunks, 10 precompiled validators and 4 Ajv runtime helpers; 68 with the
    // OTel metrics SDK for /metrics); 849 unbundled. 2026-11-30: 72, raised to 74: four small modules of that
    // session's fixes are shared by components and the core, so esbuild gives each a chunk of its own (src/text-file.ts:
    // strict UTF-8 reads of configs and price tables; src/rfc3339.ts: silence times as Alertmanager reads them;
    // src/regex.ts, now also the cost processor's and the templates'; src/limits.ts, now also http_json's); one
    // precompiled validator fewer. Each is one more file to load (well under a millisecond here). Raised to 75:
    // src/version.ts (vigil's version, read by the API and status page and by the HTTP exporters' User-Agent
    // `vigil/<version>`) is shared by the core and the exporters, so it is a chunk of its own. Raised to 76:
    // src/delivery/disk-queue.ts is a chunk of its own, as the core now reads it at start and at each reload to
    // report the sending queues left by exporters that are no longer configured (their folder and count).
    // 2026-11-30, later: 18, budget 20. The bundle is one CommonJS file that main.js compiles with V8's code cache
    // (node:vm, so not counted here; node 20 has no code cache for ES modules): main.js, 13 precompiled validators
    // and 4 Ajv runtime helpers.
    expect(m.files.filter((f) => f.startsWith(path.join(dist, 'app')))).toEqual([path.join(dist, 'app/main.js')]);
    expect(m.total).toBeLessThanOrEqual(20);
  }, 300_000);
});

describe("the bundle's code caches", () => {
  it('cover the NODE_OPTIONS of every shipped deployment (deploy/kubernetes, deploy/systemd)', () => {
    const found = new Set<string>();
    for (const f of fs.readdirSync(path.join(root, 'deploy/kubernetes')).filter((f) => f.endsWith('.yaml'))) {
      const text = fs.readFileSync(path.join(root, 'deploy/kubernetes', f), 'utf8');
      for (const m of text.matchAll(/name: NODE_OPTIONS\s*\n\s*value: ["']?([^"'\n]+)/g)) found.add(m[1]!.trim());
    }
    for (const m of fs.readFileSync(path.join(root, 'deploy/systemd/vigil.service'), 'utf8').matchAll(/^Environment=NODE_OPTIONS=(.+)$/gm)) found.add(m[1]!.trim());
    expect(found.size).toBeGreaterThan(1);
    expect([...found].sort()).toEqual(FLAG_SETS.filter(Boolean).sort());
  });
});
