/**
 * The daemon as a user runs it: `vigil run` in a child process, /readyz, SIGHUP with a good and a bad
 * config, SIGTERM while data is in flight; nothing accepted is lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { tempDir } from './helpers/index.ts';

const TRACE = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/otlp-examples/trace.json'), 'utf8')) as {
  resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
};

function traceNamed(name: string): string {
  const t = structuredClone(TRACE);
  t.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name = name;
  return JSON.stringify(t);
}

function spanNamesIn(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      const o = JSON.parse(l) as typeof TRACE;
      return (o.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
    });
}

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
});

describe('vigil run', () => {
  it('starts, reloads on SIGHUP (good and bad config), drains on SIGTERM and loses nothing accepted', async () => {
    const dir = tempDir();
    const [httpPort, grpcPort, telPort] = [await freePort(), await freePort(), await freePort()];
    const config = (out: string) => ({
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` }, grpc: { endpoint: `127.0.0.1:${grpcPort}` } } } },
      processors: { batch: { timeout: '50ms' } },
      exporters: { 'file/out': { path: path.join(dir, out), signals: ['traces'] } },
      service: {
        state_dir: path.join(dir, 'state'),
        telemetry: { endpoint: `127.0.0.1:${telPort}` },
        pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['file/out'] } },
      },
    });
    const file = writeConfig(path.join(dir, 'pipelines.yaml'), config('one.jsonl'));
    const t0 = Date.now();
    daemon = await startDaemon([file], telPort);
    const readyMs = Date.now() - t0;

    const accepted: string[] = [];
    const post = async (name: string) => {
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: traceNamed(name) });
      if (r.status === 200) accepted.push(name);
      return r.status;
    };
    expect(await post('before-reload')).toBe(200);

    // good reload: the output moves to two.jsonl
    writeConfig(file, config('two.jsonl'));
    daemon.proc.kill('SIGHUP');
    await daemon.waitForLog((l) => l['message'] === 'config reloaded');
    expect(await post('after-reload')).toBe(200);

    // bad reload: refused, logged, the running config kept
    writeConfig(file, { ...config('three.jsonl'), processors: { batch: { timeout: 'soon' } } });
    daemon.proc.kill('SIGHUP');
    await daemon.waitForLog((l) => l['message'] === 'reload refused: the running config is kept');
    expect(daemon.logs.some((l) => String(l['error']).includes('processors.batch.timeout: expected a duration'))).toBe(true);
    expect((await fetch(`${daemon.telemetryUrl}/readyz`)).status).toBe(200);
    expect(await post('after-bad-reload')).toBe(200);

    // SIGTERM with requests in flight: whatever got a 200 is in the file
    const inflight = Array.from({ length: 40 }, (_, i) => post(`burst-${i}`).catch(() => 0));
    await new Promise((r) => setTimeout(r, 5));
    const code = await daemon.stop('SIGTERM');
    await Promise.all(inflight);
    expect(code).toBe(0);

    const written = [...spanNamesIn(path.join(dir, 'one.jsonl')), ...spanNamesIn(path.join(dir, 'two.jsonl'))];
    expect(spanNamesIn(path.join(dir, 'one.jsonl'))).toEqual(['before-reload']);
    expect(fs.existsSync(path.join(dir, 'three.jsonl'))).toBe(false);
    for (const name of accepted) expect(written).toContain(name);
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    console.log(`vigil run -> /readyz 200 in ${readyMs} ms; ${accepted.length} requests accepted, all written`);
  });

  it('exits 1 with every error when the config is bad', async () => {
    const dir = tempDir();
    const file = writeConfig(path.join(dir, 'bad.yaml'), { exporters: { debug: { verbosity: 'loud' } }, service: { pipelines: {} } });
    const telPort = await freePort();
    await expect(startDaemon([file], telPort, { readyTimeoutMs: 45_000 })).rejects.toThrow(
      /bad\.yaml:3:16: exporters\.debug\.verbosity: expected one of "basic", "normal", "detailed"\n.*bad\.yaml:5:3: service\.pipelines: expected at least 1 entry\nvigil run: 2 config error\(s\); not starting/,
    );
  }, 60_000);
});

describe('vigil validate', () => {
  it('prints all three mistakes with line and column and exits 1', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['bin/vigil.js', 'validate', '--config', 'src/config/testdata/bad_three.yaml'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').filter((l) => /^src\/config\/testdata\/bad_three\.yaml:\d+:\d+: /.test(l))).toHaveLength(3);
    expect(r.stderr).toContain('3 errors in src/config/testdata/bad_three.yaml');
  });
});
