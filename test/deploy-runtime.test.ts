/**
 * The container image's runtime stage, rehearsed without a Docker engine: the same steps as
 * deploy/Dockerfile in a clean temporary directory (build stage: tsc to dist/ plus the runtime data
 * files; runtime stage: `npm ci --omit=dev` from the lock file, dist/, bin/, the container config), then
 * `node bin/vigil.js run --config .../pipelines.yaml` with the state in a temp dir: /readyz turns 200, the
 * receivers take data, the Dockerfile's own HEALTHCHECK command passes, and SIGTERM exits 0. The directory
 * has no src/ and no dev dependencies, so the daemon can only be running the compiled dist/.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInstructions } from '../deploy/lint-dockerfile.ts';
import { freePort } from './helpers/daemon.ts';
import { tempDir, waitFor } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const work = tempDir('vigil-runtime-');
const app = path.join(work, 'opt-vigil');
const stateDir = path.join(work, 'var-lib-vigil');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Runs a build step; asynchronously, so that vitest's worker keeps answering its RPC meanwhile (npm ci, the bundle). */
async function run(cmd: string, args: string[], cwd: string, timeout = 240_000): Promise<void> {
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(cmd, args, { cwd, encoding: 'utf8', timeout, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: unknown }).code as number | null) ?? 1 : 0, out: `${stdout}\n${stderr}` }),
    );
    child.stdin?.end();
  });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.out}`);
}

/** The environment without what vitest adds for its own workers. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(VITEST|NODE_OPTIONS$|TSX)/.test(k)) env[k] = v;
  return { ...env, NODE_ENV: 'production', ...extra };
}

let proc: ChildProcess | undefined;
let exited: Promise<number | null> | undefined;
let output = '';
const ports = { grpc: 0, http: 0, json: 0, telemetry: 0 };

beforeAll(async () => {
  // build stage: `npm run build` (tsc -p tsconfig.build.json), deploy/copy-data-files.mjs, deploy/precompile-schemas.mjs,
  // deploy/bundle.mjs and deploy/code-cache.mjs
  const build = path.join(work, 'build');
  fs.mkdirSync(build, { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(build, 'node_modules')); // the build stage's `npm ci`
  await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(build, 'dist')], root);
  await run(process.execPath, [path.join(root, 'deploy/copy-data-files.mjs'), root, path.join(build, 'dist')], root);
  await run(process.execPath, [path.join(root, 'deploy/precompile-schemas.mjs'), root, path.join(build, 'dist')], root);
  await run(process.execPath, [path.join(root, 'deploy/bundle.mjs'), root, path.join(build, 'dist')], root);
  await run(process.execPath, [path.join(root, 'deploy/code-cache.mjs'), root, path.join(build, 'dist')], root);
  // runtime stage
  fs.mkdirSync(app, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(root, f), path.join(app, f));
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], app);
  fs.cpSync(path.join(build, 'dist'), path.join(app, 'dist'), { recursive: true });
  fs.cpSync(path.join(root, 'bin'), path.join(app, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(app, 'etc/vigil'), { recursive: true });
  fs.copyFileSync(path.join(root, 'deploy/pipelines.container.yaml'), path.join(app, 'etc/vigil/pipelines.yaml'));
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
}, 300_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGKILL');
    await exited;
  }
  // asynchronously: removing the installed node_modules takes a while on a loaded machine, and a blocking
  // rmSync starves vitest's worker RPC ("Timeout calling onTaskUpdate")
  await fs.promises.rm(work, { recursive: true, force: true });
}, 120_000);

describe('the runtime stage of deploy/Dockerfile', () => {
  it('has production dependencies only, the compiled code and its data files, and no sources', () => {
    for (const dep of Object.keys(pkg.dependencies)) expect(fs.existsSync(path.join(app, 'node_modules', dep)), dep).toBe(true);
    // a dev dependency that no production dependency needs too (the lock marks it "dev") is absent
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
    expect(devOnly).toEqual(expect.arrayContaining(['typescript', 'vitest', 'dockerfile-utils']));
    for (const dep of devOnly) expect(fs.existsSync(path.join(app, 'node_modules', dep)), dep).toBe(false);
    expect(fs.existsSync(path.join(app, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'dist/app/cli.js'))).toBe(true);
    // every runtime data file beside the sources is beside the compiled modules too (e.g. the price table)
    const data = spawnSync(process.execPath, ['-e', `import('${path.join(root, 'deploy/copy-data-files.mjs')}').then((m) => console.log(JSON.stringify(m.findDataFiles('${root}'))))`], { encoding: 'utf8' });
    const files = JSON.parse(data.stdout) as string[];
    expect(files).toContain('processors/cost/prices.json');
    for (const f of files) expect(fs.existsSync(path.join(app, 'dist', f)), f).toBe(true);
  });

  it('runs `node bin/vigil.js run --config /etc/vigil/pipelines.yaml` from dist/: ready, takes data, healthy, drains on SIGTERM', async () => {
    proc = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', path.join(app, 'etc/vigil/pipelines.yaml')], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({
        VIGIL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.grpc}`,
        VIGIL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.http}`,
        VIGIL_HTTP_JSON_ENDPOINT: `127.0.0.1:${ports.json}`,
        VIGIL_TELEMETRY_ENDPOINT: `127.0.0.1:${ports.telemetry}`,
        VIGIL_PROMETHEUS_ENDPOINT: '127.0.0.1:0',
        VIGIL_STATE_DIR: stateDir,
        VIGIL_BEARER_TOKEN: 'runtime-token',
        VIGIL_CODE_CACHE_REPORT: path.join(work, 'code-cache.txt'),
      }),
    });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => proc!.on('exit', (code) => resolve(code)));
    const tel = `http://127.0.0.1:${ports.telemetry}`;
    await waitFor(async () => {
      if (proc!.exitCode !== null) throw new Error(`vigil exited (${proc!.exitCode}) before ready:\n${output}`);
      return fetch(`${tel}/readyz`).then((r) => r.status === 200, () => false);
    }, 30_000, 'the runtime vigil /readyz');
    // the bundle compiled with the code cache the build stage's training start made (production node_modules here)
    expect(fs.readFileSync(path.join(work, 'code-cache.txt'), 'utf8')).toBe('accepted');

    // the receivers of the container config take data
    const trace = fs.readFileSync(path.join(root, 'test/fixtures/otlp-examples/trace.json'), 'utf8');
    const r1 = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer runtime-token' }, body: trace });
    expect(r1.status).toBe(200);
    const event = { kind: 'span', name: 'chat', service: 'support-bot', duration_ms: 1234.5, status: 'ok', attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 } };
    const r2 = await fetch(`http://127.0.0.1:${ports.json}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer runtime-token' }, body: JSON.stringify(event) });
    expect(r2.status).toBe(200);
    await waitFor(async () => /vigil_receiver_accepted_items[^\n]*receiver="otlp"/.test(await (await fetch(`${tel}/metrics`, { headers: { authorization: 'Bearer runtime-token' } })).text()), 10_000, '/metrics to count the accepted spans');

    // the Dockerfile's HEALTHCHECK command, as written, against this daemon's telemetry port (the image's
    // ENV VIGIL_HEALTHCHECK_URL points it at 127.0.0.1:8888; here the port is another)
    const hc = parseInstructions(fs.readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8')).find((i) => i.keyword === 'HEALTHCHECK')!;
    const cmd = JSON.parse(hc.args.slice(hc.args.indexOf('CMD') + 3).trim()) as string[];
    expect(cmd[0]).toBe('node');
    const envLine = parseInstructions(fs.readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8')).find((i) => i.keyword === 'ENV' && i.args.startsWith('VIGIL_HEALTHCHECK_URL='))!;
    expect(envLine.args).toBe('VIGIL_HEALTHCHECK_URL=http://127.0.0.1:8888/healthz');
    const probe = (url: string) => spawnSync(process.execPath, cmd.slice(1), { cwd: app, encoding: 'utf8', timeout: 10_000, env: cleanEnv({ VIGIL_HEALTHCHECK_URL: url }) }).status;
    expect(probe(`${tel}/healthz`)).toBe(0);
    // and it fails when nothing answers (the free port of a closed listener) or the answer is not 200
    const closed = await freePort();
    expect(probe(`http://127.0.0.1:${closed}/healthz`)).toBe(1);
    expect(probe(`${tel}/no-such-path`)).toBe(1);

    proc.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(fs.existsSync(stateDir)).toBe(true);
  }, 60_000);
});
