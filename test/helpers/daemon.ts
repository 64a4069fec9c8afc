/** Runs `vigil run` as a child process for process-level tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { waitFor } from './index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export { freePort } from './free-port.ts';

export interface Daemon {
  proc: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** stderr text so far. */
  stderr: () => string;
  telemetryUrl: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Writes a config object as YAML. */
export function writeConfig(file: string, config: unknown): string {
  fs.writeFileSync(file, typeof config === 'string' ? config : YAML.stringify(config));
  return file;
}

/** Starts `node bin/vigil.js run --config ...` and waits until /readyz answers 200. */
export async function startDaemon(configFiles: string[], telemetryPort: number, opts: { env?: NodeJS.ProcessEnv; cwd?: string; readyTimeoutMs?: number } = {}): Promise<Daemon> {
  const args = [path.join(ROOT, 'bin/vigil.js'), 'run', ...configFiles.flatMap((f) => ['--config', f])];
  const proc = spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, VIGIL_PROMETHEUS_ENDPOINT: '127.0.0.1:0', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const telemetryUrl = `http://127.0.0.1:${telemetryPort}`;
  let done = false;
  void exited.then(() => (done = true));
  await waitFor(
    async () => {
      if (done) throw new Error(`vigil exited before ready:\n${stderr}\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
      try {
        const r = await fetch(`${telemetryUrl}/readyz`);
        return r.status === 200;
      } catch {
        return false;
      }
    },
    opts.readyTimeoutMs ?? 60_000,
    'vigil /readyz',
  );
  return {
    proc,
    logs,
    stderr: () => stderr,
    telemetryUrl,
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) proc.kill(signal);
      return exited;
    },
    async waitForLog(pred, timeoutMs = 10_000) {
      let hit: Record<string, unknown> | undefined;
      await waitFor(() => (hit = logs.find(pred)) !== undefined, timeoutMs, 'a log line');
      return hit!;
    },
  };
}
