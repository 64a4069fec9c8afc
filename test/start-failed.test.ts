/**
 * A start that fails after the config validated (here: the telemetry port is already taken) logs the
 * catalogue's code VIGIL_START_FAILED (README "Config reference", src/errors.ts), with the system error's
 * code beside it, and exits 1.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/index.ts';
import { mountTmpfs, skipBanner, type Tmpfs } from './helpers/tmpfs.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const dir = tempDir('vigil-start-failed-');
const holder = net.createServer();

afterAll(async () => {
  await new Promise<void>((r) => holder.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('vigil run when a port is taken', () => {
  it('logs code VIGIL_START_FAILED with cause EADDRINUSE and the address, and exits 1', async () => {
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const port = (holder.address() as net.AddressInfo).port;
    const config = path.join(dir, 'vigil.yaml');
    fs.writeFileSync(
      config,
      `receivers: {nop: {}}\nexporters: {nop: {}}\nservice:\n  state_dir: ${JSON.stringify(path.join(dir, 'state'))}\n  telemetry: {endpoint: "127.0.0.1:${port}"}\n  pipelines: {main: {receivers: [nop], exporters: [nop]}}\n`,
    );
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'run', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    const line = out.split('\n').find((l) => l.includes('"start failed"'));
    expect(line, out).toBeDefined();
    const rec = JSON.parse(line!) as { level: string; code: string; cause?: string; err: string };
    expect(rec).toMatchObject({ level: 'fatal', code: 'VIGIL_START_FAILED', cause: 'EADDRINUSE' });
    expect(rec.err).toContain(`127.0.0.1:${port}`);
  }, 60_000);

  // the same for a component's listener, whose error the graph wraps ("failed to start receiver ...")
  it.each([
    ['the otlp receiver (HTTP)', (port: number) => `receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:${port}"}}}}\nexporters: {nop: {}}`, 'otlp'],
    ['the otlp receiver (gRPC)', (port: number) => `receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:${port}"}}}}\nexporters: {nop: {}}`, 'otlp'],
    ['the prometheus exporter', (port: number) => `receivers: {nop: {}}\nexporters: {prometheus: {endpoint: "127.0.0.1:${port}"}}`, 'nop'],
  ])('logs cause EADDRINUSE when %s cannot listen', async (_what, components, receiver) => {
    const port = (holder.address() as net.AddressInfo).port;
    const config = path.join(dir, 'component.yaml');
    const exporter = components(port).includes('prometheus') ? 'prometheus' : 'nop';
    fs.writeFileSync(
      config,
      `${components(port)}\nservice:\n  state_dir: ${JSON.stringify(path.join(dir, 'state'))}\n  telemetry: {endpoint: "127.0.0.1:0"}\n  pipelines: {main: {receivers: [${receiver}], exporters: [${exporter}]}}\n`,
    );
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'run', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
    expect(await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)))).toBe(1);
    const line = out.split('\n').find((l) => l.includes('"start failed"'));
    expect(line, out).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'fatal', code: 'VIGIL_START_FAILED', cause: 'EADDRINUSE' });
  }, 60_000);
});

/** Runs vigil on `stateDir`; resolves its exit code and output, or `ready` when it started instead (then stopped). */
async function runWithStateDir(stateDir: string): Promise<{ code: number | null | 'ready'; out: string }> {
  const config = path.join(dir, 'state-dir.yaml');
  fs.writeFileSync(
    config,
    `receivers: {nop: {}}\nexporters: {nop: {}}\nservice:\n  state_dir: ${JSON.stringify(stateDir)}\n  telemetry: {endpoint: "127.0.0.1:0"}\n  pipelines: {main: {receivers: [nop], exporters: [nop]}}\n`,
  );
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/vigil.js'), 'run', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve) => {
    const read = (b: Buffer) => {
      out += b.toString();
      if (out.includes('"everything is ready"')) {
        proc.kill('SIGKILL');
        resolve({ code: 'ready', out });
      }
    };
    proc.stdout.on('data', read);
    proc.stderr.on('data', read);
    proc.on('exit', (c) => resolve({ code: c, out }));
  });
}

describe('vigil run when state_dir cannot be written', () => {
  it('a file in the way: VIGIL_START_FAILED naming service.state_dir and the folder, exit 1', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    const stateDir = path.join(blocker, 'state');
    const { code, out } = await runWithStateDir(stateDir);
    expect(code, out).toBe(1);
    const rec = JSON.parse(out.split('\n').find((l) => l.includes('"start failed"'))!) as { code: string; cause?: string; err: string };
    expect(rec).toMatchObject({ code: 'VIGIL_START_FAILED', cause: 'ENOTDIR' });
    expect(rec.err).toContain(`service.state_dir ${stateDir} cannot be written`);
  }, 60_000);

  const ro = mountTmpfs(64 * 1024);
  if (typeof ro === 'string') skipBanner(ro);
  it.skipIf(typeof ro === 'string')('on a read-only filesystem (the folder there or not): it does not start as if all were well', async () => {
    const t = ro as Tmpfs;
    try {
      fs.mkdirSync(path.join(t.dir, 'there'));
      execFileSync('mount', ['-o', 'remount,ro', t.dir]);
      for (const stateDir of [path.join(t.dir, 'there'), path.join(t.dir, 'missing')]) {
        const { code, out } = await runWithStateDir(stateDir);
        expect(code, out).toBe(1);
        const rec = JSON.parse(out.split('\n').find((l) => l.includes('"start failed"'))!) as { code: string; cause?: string; err: string };
        expect(rec).toMatchObject({ code: 'VIGIL_START_FAILED', cause: 'EROFS' });
        expect(rec.err).toContain(`service.state_dir ${stateDir} cannot be written: read-only file system`);
      }
    } finally {
      t.unmount();
    }
  }, 60_000);
});
