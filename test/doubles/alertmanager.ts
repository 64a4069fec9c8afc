/**
 * Starts a real Alertmanager (Debian package prometheus-alertmanager, installed by .ci/steps/40-alertmanager.sh)
 * on a free loopback port, with a null receiver, a temp storage path and clustering off.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/daemon.ts';

const CANDIDATES = ['/usr/bin/prometheus-alertmanager', '/usr/local/bin/alertmanager', '/usr/bin/alertmanager'];

/** amtool (Debian's prometheus-alertmanager package ships it), or undefined when it is not installed. */
export const AMTOOL = ['/usr/bin/amtool', '/usr/local/bin/amtool'].find((p) => fs.existsSync(p));

/** What `amtool --alertmanager.url=URL ARGS...` prints (rejects when amtool exits non-zero or takes over 20 s). */
export async function amtoolAt(url: string, ...args: string[]): Promise<string> {
  return (await promisify(execFile)(AMTOOL!, [`--alertmanager.url=${url}`, ...args], { timeout: 20_000 })).stdout;
}

/** The Alertmanager binary, or undefined when it is not installed. */
export function alertmanagerBinary(): string | undefined {
  const env = process.env.VIGIL_ALERTMANAGER_BIN;
  if (env && fs.existsSync(env)) return env;
  for (const c of CANDIDATES) if (fs.existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus-alertmanager || command -v alertmanager'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}


export class AlertmanagerProcess {
  url = '';
  private child: ChildProcess | undefined;
  private dir = '';
  log = '';

  /** The process ID while it runs (bench/delivery.ts reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `config`: the alertmanager.yml to run with (default: one null receiver, group_wait 1s). */
  constructor(
    private readonly bin: string,
    private readonly config = "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n",
  ) {}

  async start(): Promise<this> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-am-'));
    const cfg = path.join(this.dir, 'alertmanager.yml');
    fs.writeFileSync(cfg, this.config);
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      this.url = `http://127.0.0.1:${port}`;
      this.log = '';
      const child = spawn(
        this.bin,
        [`--config.file=${cfg}`, `--storage.path=${path.join(this.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
      this.child = child;
      const until = Date.now() + 15_000;
      while (Date.now() < until && child.exitCode === null) {
        try {
          const r = await fetch(`${this.url}/-/ready`);
          if (r.ok) return this;
        } catch {
          // not up yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGKILL');
    }
    throw new Error(`Alertmanager did not start:\n${this.log}`);
  }

  /** GET /api/v2/alerts. */
  async alerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }[]> {
    const r = await fetch(`${this.url}/api/v2/alerts`);
    return (await r.json()) as never;
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
