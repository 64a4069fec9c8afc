/**
 * What the chaos scenarios share: starting vigil as a user runs it (a child process, optionally with a
 * heap cap and a file-descriptor limit), sampling its RSS, timing requests, percentiles, and invariants
 * that are collected and reported together at the end.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
// one port picker for tests and chaos scenarios: it never hands the same port out twice in a process
import { freePort } from '../test/helpers/free-port.ts';
import { percentile } from '../bench/_stats.ts';
export { freePort, percentile };

/** The checkout whose vigil runs: this one, or `VIGIL_ROOT` (to measure another version). */
export const ROOT = path.resolve(process.env.VIGIL_ROOT ?? path.join(import.meta.dirname, '..'));
/** Short mode (CI): smaller loads, shorter phases; the invariants are the same. */
export const SHORT = process.env.CHAOS_SHORT === '1';

export function tempDir(prefix = 'vigil-chaos-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Vigil {
  proc: ChildProcess;
  pid: number;
  telemetryUrl: string;
  logs: string[];
  stderr(): string;
  /** Exit code, or signal name, once exited. */
  exit: Promise<string>;
  exited(): boolean;
  /** Resident set size now, in MiB (0 once exited). */
  rssMiB(): number;
  stop(): Promise<string>;
}

export interface VigilOptions {
  /** --max-old-space-size, in MB. */
  heapMiB?: number;
  /** `ulimit -n` for the child. */
  nofile?: number;
  env?: NodeJS.ProcessEnv;
  /** Run dist/ (built by {@link ensureDist}) as the container does, instead of the sources. */
  dist?: boolean;
}

/** Starts `vigil run --config <file>` and waits until /readyz is 200. */
/**
 * Builds dist/ (`npm run build`) unless it is newer than every source file: scenarios that check RSS against a
 * container's memory limit run vigil as the container does, compiled (running from the TypeScript sources
 * through tsx holds ~70 MiB more). CHAOS_FROM_SOURCE=1 skips this and runs the sources.
 */
export function ensureDist(): boolean {
  if (process.env.CHAOS_FROM_SOURCE === '1') return false;
  const main = path.join(ROOT, 'dist', 'app', 'main.js');
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  const newer = (dir: string): boolean => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() ? newer(p) : /\.(ts|json|js|html|css)$/.test(e.name) && fs.statSync(p).mtimeMs > built) return true;
    }
    return false;
  };
  if (built && !['src', 'app', 'receivers', 'processors', 'exporters'].some((d) => newer(path.join(ROOT, d)))) return true;
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
  return true;
}

export async function startVigil(configFile: string, telemetryPort: number, o: VigilOptions = {}): Promise<Vigil> {
  // CHAOS_VIGIL_NODE_ARGS: extra node flags for vigil (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile a scenario);
  // CHAOS_DUMP=file: vigil's stdout appended to that file too (e.g. with '--trace-gc' as a node flag)
  const extra = (process.env.CHAOS_VIGIL_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const node = [process.execPath, ...extra, ...(o.heapMiB ? [`--max-old-space-size=${o.heapMiB}`] : []), path.join(ROOT, 'bin/vigil.js'), 'run', '--config', configFile];
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const cmd = o.nofile ? `ulimit -n ${o.nofile} && exec ${quoted}` : `exec ${quoted}`;
  const proc = spawn('sh', ['-c', cmd], { cwd: ROOT, env: { ...process.env, ...o.env, ...(o.dist && ensureDist() ? { VIGIL_DIST: '1' } : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  let err = '';
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    if (process.env.CHAOS_DUMP) fs.appendFileSync(process.env.CHAOS_DUMP, d);
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      logs.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (logs.length > 20_000) logs.splice(0, 10_000);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  let done = false;
  // A scenario that throws or exits early must not leave its vigil running.
  process.on('exit', () => {
    if (!done) proc.kill('SIGKILL');
  });
  const exit = new Promise<string>((resolve) =>
    proc.on('exit', (code, sig) => {
      done = true;
      resolve(sig ?? String(code));
    }),
  );
  const telemetryUrl = `http://127.0.0.1:${telemetryPort}`;
  const t0 = Date.now();
  for (;;) {
    if (done) throw new Error(`vigil exited before ready:\n${err}\n${logs.slice(-20).join('\n')}`);
    if (Date.now() - t0 > 30_000) throw new Error(`vigil not ready after 30 s:\n${err}`);
    try {
      const r = await fetch(`${telemetryUrl}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return {
    proc,
    pid: proc.pid!,
    telemetryUrl,
    logs,
    stderr: () => err,
    exit,
    exited: () => done,
    rssMiB: () => rssMiB(proc.pid!),
    async stop() {
      if (!done) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const r = await exit;
      clearTimeout(t);
      return r;
    },
  };
}

export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Samples RSS every `everyMs`; `stop()` returns the samples (seconds since start, MiB). */
export function sampleRss(pid: number, everyMs = 1000): { stop(): [number, number][]; max(): number } {
  const t0 = Date.now();
  const samples: [number, number][] = [];
  const take = () => samples.push([Math.round((Date.now() - t0) / 100) / 10, rssMiB(pid)]);
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
    max: () => Math.max(...samples.map((s) => s[1])),
  };
}

/** A compact "t=0s 80MiB, t=5s 120MiB ..." line of at most ~16 samples. */
export function rssLine(samples: [number, number][]): string {
  const step = Math.max(1, Math.ceil(samples.length / 16));
  return samples
    .filter((_, i) => i % step === 0 || i === samples.length - 1)
    .map(([t, m]) => `${t}s:${m}`)
    .join(' ');
}

export interface HttpResult {
  status: number; // 0: no answer (connection error or client timeout)
  error?: string;
  ms: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with a client timeout (as an OTel SDK has: 10 s by default). */
export function request(
  url: string,
  o: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; timeoutMs?: number; agent?: http.Agent } = {},
): Promise<HttpResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<HttpResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const req = http.request(url, { method: o.method ?? 'GET', headers: o.headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, 4_000_000) }));
      res.on('error', (e) => done({ status: 0, error: e.message, headers: {}, body: '' }));
    });
    req.setTimeout(o.timeoutMs ?? 10_000, () => {
      req.destroy(new Error('client timeout'));
    });
    req.on('error', (e) => done({ status: 0, error: e.message, headers: {}, body: '' }));
    req.end(o.body);
  });
}

/** Tallies values ("200": 12, "503": 3). */
export function tally(xs: (string | number)[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const x of xs) t[String(x)] = (t[String(x)] ?? 0) + 1;
  return t;
}

/** Invariants: each `check` is printed; `finish()` exits 1 when one failed. */
export class Invariants {
  private failed = 0;
  constructor(private readonly scenario: string) {}
  check(ok: boolean, what: string): void {
    console.log(`  [${ok ? 'ok' : 'FAIL'}] ${what}`);
    if (!ok) this.failed++;
  }
  finish(): never {
    console.log(`${this.scenario}: ${this.failed ? `${this.failed} invariant(s) failed` : 'all invariants hold'}`);
    process.exit(this.failed ? 1 : 0);
  }
}

export function figure(name: string, value: unknown): void {
  console.log(`  ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

export function writeYaml(file: string, config: unknown): string {
  fs.writeFileSync(file, typeof config === 'string' ? config : YAML.stringify(config));
  return file;
}

/** The vigil config embedded in a Kubernetes manifest's ConfigMap (`data["pipelines.yaml"]`). */
export function configFromManifest(file: string): Record<string, any> {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const o = doc.toJS() as { kind?: string; data?: Record<string, string> };
    if (o?.kind === 'ConfigMap' && o.data?.['pipelines.yaml']) return YAML.parse(o.data['pipelines.yaml']) as Record<string, any>;
  }
  throw new Error(`no ConfigMap with pipelines.yaml in ${file}`);
}

/** The NODE_OPTIONS the manifest gives the vigil container (heap cap, young generation), '' if none. */
export function nodeOptionsFromManifest(file: string): string {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } };
    const pod = o?.spec?.template?.spec;
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
      if (/^(?:.*\/)?vigil(?::|@|$)/.test(String(c.image))) return String(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
    }
  }
  return '';
}
interface Container {
  image?: string;
  env?: { name: string; value?: string }[];
}

/** vigil running a shipped Kubernetes manifest's config on loopback (see {@link startFromManifest}). */
export interface ManifestVigil {
  vigil: Vigil;
  dir: string;
  httpPort: number;
  grpcPort: number;
  /** The vigil container's memory limit, MiB. */
  containerLimitMiB: number;
  /** POSTs the local Slack received. */
  slackPosts(): number;
  /** Closes the local Slack (vigil is stopped by its own `stop()`) and removes the temp dir. */
  close(): void;
}

/**
 * Starts vigil from `dist/` on the config of a shipped Kubernetes manifest (`CHAOS_MANIFEST`, the sidecar by
 * default) with the container's `NODE_OPTIONS` (heap cap, young generation; `defaultHeapMiB` when it has
 * none), as the container runs it: loopback and free ports instead of 0.0.0.0:4317/4318/8888, a temp dir
 * instead of /var/lib/vigil, Slack a local server that answers as Slack does, SMTP a closed port
 * (notifications wait in their on-disk queues), the bearer token `chaos-token`. Prints what it ran.
 */
export async function startFromManifest(defaultHeapMiB: number): Promise<ManifestVigil> {
  const dir = tempDir();
  const [httpPort, grpcPort, tel, smtpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  let slackPosts = 0;
  const slack = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      slackPosts++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  const slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  const manifest = path.join(ROOT, process.env.CHAOS_MANIFEST ?? 'deploy/kubernetes/sidecar.yaml');
  const cfg = configFromManifest(manifest);
  const nodeOptions = nodeOptionsFromManifest(manifest);
  // The vigil container's memory limit (the first `limits:` of the manifest: vigil's own container comes first).
  const limitMatch = /limits:\s*\{[^}]*memory:\s*(\d+)(Mi|Gi)/.exec(fs.readFileSync(manifest, 'utf8'));
  const containerLimitMiB = limitMatch ? Number(limitMatch[1]) * (limitMatch[2] === 'Gi' ? 1024 : 1) : 256;
  cfg.receivers.otlp.protocols = { grpc: { ...cfg.receivers.otlp.protocols.grpc, endpoint: `127.0.0.1:${grpcPort}` }, http: { ...cfg.receivers.otlp.protocols.http, endpoint: `127.0.0.1:${httpPort}` } };
  cfg.service.telemetry.endpoint = `127.0.0.1:${tel}`;
  cfg.service.state_dir = path.join(dir, 'state');
  for (const e of Object.values(cfg.exporters) as { path?: string; endpoint?: string }[]) {
    if (e.path) e.path = path.join(dir, path.basename(e.path));
    if (e.endpoint?.startsWith('0.0.0.0:')) e.endpoint = '127.0.0.1:0'; // a scrape endpoint (prometheus)
  }
  const config = writeYaml(path.join(dir, 'pipelines.yaml'), cfg);
  const env = {
    SLACK_WEBHOOK_URL: slackUrl,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    SMTP_USERNAME: 'vigil',
    SMTP_PASSWORD: 'chaos-password',
    ALERT_EMAIL_TO: 'oncall@example.com',
    OTLP_BEARER_TOKEN: 'chaos-token',
    VIGIL_BEARER_TOKEN: 'chaos-token',
  };
  figure('NODE_OPTIONS', `${nodeOptions || `--max-old-space-size=${defaultHeapMiB}`} (from ${path.relative(ROOT, manifest)}; container limit ${containerLimitMiB} MiB)`);
  figure('load average (start)', loadavg());
  const vigil = await startVigil(config, tel, { dist: true, ...(nodeOptions ? { env: { ...env, NODE_OPTIONS: nodeOptions } } : { heapMiB: defaultHeapMiB, env }) });
  return {
    vigil,
    dir,
    httpPort,
    grpcPort,
    containerLimitMiB,
    slackPosts: () => slackPosts,
    close: () => {
      slack.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Load average now (the machine is shared: figures are noisy). */
export function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** An OTLP/JSON trace request of `n` spans; `name(i)` and `attrs(i)` shape each span. */
export function traceJson(n: number, o: { name?: (i: number) => string; attrs?: (i: number) => Record<string, string | number>; service?: string; traceId?: string; durationMs?: number } = {}): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = [];
  for (let i = 0; i < n; i++) {
    const a = o.attrs?.(i) ?? {};
    spans.push({
      traceId: o.traceId ?? randomHex(16),
      spanId: randomHex(8),
      name: o.name?.(i) ?? 'chat',
      kind: 3,
      startTimeUnixNano: String(now - BigInt(o.durationMs ?? 100) * 1_000_000n),
      endTimeUnixNano: String(now),
      attributes: Object.entries(a).map(([key, v]) => ({ key, value: typeof v === 'number' ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : { stringValue: v } })),
      status: {},
    });
  }
  return JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: o.service ?? 'checkout' } }] }, scopeSpans: [{ scope: { name: 'chaos' }, spans }] }],
  });
}

export function randomHex(bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += ((Math.random() * 256) | 0).toString(16).padStart(2, '0');
  return s;
}

/**
 * Polls `url` every `everyMs` from a process of its own (as a kubelet probe would: the scenario's own
 * process is busy generating load, and its event loop lag would count as the daemon's). `stop()` returns
 * each answer's latency in ms (`timeoutMs` for a failure or a timeout).
 */
export function startProbe(url: string, everyMs = 50, timeoutMs = 5000): { stop: () => Promise<number[]> } {
  const script = `
    const http = require('node:http');
    const out = []; let on = true;
    process.on('SIGTERM', () => { on = false; });
    (async () => {
      while (on) {
        const t0 = performance.now();
        const ms = await new Promise((resolve) => {
          const req = http.get(${JSON.stringify(url)}, { agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : ${timeoutMs})); });
          req.setTimeout(${timeoutMs}, () => { req.destroy(); });
          req.on('error', () => resolve(${timeoutMs}));
        });
        out.push(ms);
        await new Promise((r) => setTimeout(r, ${everyMs}));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
      return text ? (JSON.parse(text) as number[]) : [];
    },
  };
}

/** Samples this process's own event-loop lag every 50 ms (ms late per tick) until `stop()`. */
export function clientLag(): { stop: () => number[] } {
  const out: number[] = [];
  let expected = performance.now() + 50;
  const t = setInterval(() => {
    const now = performance.now();
    out.push(Math.max(0, now - expected));
    expected = now + 50;
  }, 50);
  return {
    stop: () => {
      clearInterval(t);
      return out;
    },
  };
}
