/**
 * The telemetry endpoint's front: a worker thread that owns the public listener of
 * `service.telemetry.endpoint`, answers `/healthz` itself and passes every other request (/metrics,
 * /readyz, the API, the status page) to the main thread's server on a private local socket.
 *
 * Why: vigil's pipelines run on the main thread's event loop. At saturation each turn of that loop is
 * busy (an intake request, a garbage collection), and a fresh connection needs two turns (accept, then
 * read) before its request is seen, so a liveness probe answered there waits for the load it is meant to
 * survive (issue 11: `/healthz` up to 1.5 s at 2x saturation; 40-80 ms p99 with admission control). The
 * worker has its own event loop and heap, so main-thread GC pauses and long turns do not reach the probe.
 *
 * Liveness stays truthful: the main thread writes the time of its latest loop turn into shared memory
 * every 250 ms; `/healthz` answers 200 `ok` while that time is at most `stallLimitMs` old, and 503
 * naming the stall otherwise (a wedged loop fails its probe at once instead of timing out). This is the
 * Collector's `health_check` idea (an endpoint that answers independently of the pipelines) with a
 * liveness check of the one thread vigil runs on.
 *
 * The front applies the endpoint's connection hygiene (headers within 10 s, a request within 30 s,
 * keep-alive 5 s, a connection cap); hop-by-hop headers are not passed on (RFC 9110 section 7.6.1).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { heldForStartup } from './startup-v8.ts';

/** `/healthz` answers 503 when the main event loop has not turned for longer than this (ms). */
export const DEFAULT_STALL_LIMIT_MS = 5000;
/** How often the main thread stamps its heartbeat (ms). */
const BEAT_MS = 250;

/** Where and how the front listens. */
export interface FrontOptions {
  host: string | undefined;
  port: number;
  /** The main thread's server: a Unix socket path or a Windows named pipe. */
  upstream: string;
  maxConnections: number;
  stallLimitMs?: number;
}

// The worker's code, run as CommonJS from a string so that it works the same from the sources (tsx,
// vitest) and from the bundle in dist/, with no file of its own to find at run time. Node built-ins only.
const WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');
// V8 reset the process-wide growth factor start-up holds when it configured this thread's heap: set it again
// from here too, as early as this thread runs (src/startup-v8.ts)
if (workerData.holdGrowth) require('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
const http = require('node:http');
const beat = new Float64Array(workerData.beat);
// RFC 9110 7.6.1: connection-specific fields are not forwarded; Date is the upstream's
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 8 });
const passOn = (raw) => {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  return out;
};
// the listen options come in a message: the thread may have booted before they were known (prewarm)
let server;
const listen = (d) => {
server = http.createServer({ connectionsCheckingInterval: 1000, headersTimeout: 10000, requestTimeout: 30000 }, (req, res) => {
  const p = (req.url || '/').split('?')[0];
  if (p === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
    const age = Math.max(0, Date.now() - beat[0]);
    const ok = age <= d.stallLimitMs;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(ok ? 'ok\n' : 'event loop stalled: no turn for ' + Math.round(age) + ' ms (limit ' + d.stallLimitMs + ' ms)\n');
    return;
  }
  res.sendDate = false;
  const up = http.request({ socketPath: d.upstream, agent, method: req.method, path: req.url, headers: passOn(req.rawHeaders) }, (ur) => {
    res.writeHead(ur.statusCode, ur.statusMessage, passOn(ur.rawHeaders));
    ur.pipe(res);
    ur.on('aborted', () => res.destroy());
  });
  up.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('telemetry endpoint: the daemon did not answer (' + e.message + ')\n');
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 5000;
server.maxConnections = d.maxConnections;
server.on('error', (e) => parentPort.postMessage({ type: 'error', error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port } }));
server.listen(d.port, d.host, () => parentPort.postMessage({ type: 'listening', address: server.address() }));
};
parentPort.on('message', (m) => {
  if (m && m.type === 'listen') return listen(m.options);
  if (m !== 'close') return;
  agent.destroy();
  if (!server) return parentPort.postMessage({ type: 'closed' });
  server.close(() => parentPort.postMessage({ type: 'closed' }));
  server.closeAllConnections();
});
`;

/** A front's thread, booted and waiting for its listen options. */
interface Thread {
  worker: Worker;
  beat: Float64Array;
  /** Set once the thread errored or exited: it is not handed out then. */
  gone: boolean;
}

function spawnThread(): Thread {
  const beat = new Float64Array(new SharedArrayBuffer(8));
  beat[0] = Date.now();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { beat: beat.buffer, holdGrowth: heldForStartup()?.growth === true },
    // a small heap: it holds headers and streams bodies through
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  const t: Thread = { worker, beat, gone: false };
  // an idle prewarmed thread that fails must not take the process down ('error' without a listener throws)
  worker.on('error', () => (t.gone = true));
  worker.once('exit', () => (t.gone = true));
  return t;
}

/** The thread {@link TelemetryFront.prewarm} booted ahead, until a start takes it. */
let warm: Thread | undefined;

/**
 * Where the main thread's server listens for the front: on Linux an abstract Unix socket (no file, so a
 * read-only root filesystem is fine; reachable from this network namespace only, and served with the
 * same bearer-token rules as the public port), a named pipe on Windows, elsewhere a socket in a new
 * directory only this user can read.
 */
export function privateSocketPath(): { path: string; cleanup: () => void } {
  const name = `vigil-telemetry-${process.pid}-${randomBytes(8).toString('hex')}`;
  if (process.platform === 'linux') return { path: `\0${name}`, cleanup: () => undefined };
  if (process.platform === 'win32') return { path: `\\\\.\\pipe\\${name}`, cleanup: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-tel-'));
  return { path: path.join(dir, 'http.sock'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A listen error as the worker reported it, rebuilt with its `code`/`syscall`/`address`/`port`. */
function listenError(e: { message: string; code?: string; errno?: number; syscall?: string; address?: string; port?: number }): NodeJS.ErrnoException & { address?: string; port?: number } {
  return Object.assign(new Error(e.message), e);
}

/**
 * The running front (see this file's comment). `start` resolves once the public port is bound, and
 * rejects with the listen error (`code` EADDRINUSE, EACCES, ...) otherwise.
 */
export class TelemetryFront {
  private readonly timer: NodeJS.Timeout;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    readonly address: AddressInfo,
    private readonly beat: Float64Array,
  ) {
    this.timer = setInterval(() => (this.beat[0] = Date.now()), BEAT_MS);
    this.timer.unref();
  }

  /**
   * Boots a front's thread ahead of {@link start}, which then takes it: its boot (about 100 ms of CPU)
   * overlaps the main thread's own start-up (loading modules, the config) on a second core instead of
   * coming after it (issue 21: start to ready). Idempotent; the idle thread does not keep the process alive.
   * Returns the thread's id (the {@link threadId} of the front that takes it).
   */
  static prewarm(): number {
    if (!warm || warm.gone) warm = spawnThread();
    return warm.worker.threadId;
  }

  static async start(o: FrontOptions): Promise<TelemetryFront> {
    let thread = warm;
    warm = undefined;
    if (!thread || thread.gone) thread = spawnThread();
    const { worker, beat } = thread;
    beat[0] = Date.now();
    worker.postMessage({ type: 'listen', options: { host: o.host, port: o.port, upstream: o.upstream, maxConnections: o.maxConnections, stallLimitMs: o.stallLimitMs ?? DEFAULT_STALL_LIMIT_MS } });
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      const onMessage = (m: { type: string; address?: AddressInfo; error?: Parameters<typeof listenError>[0] }) => {
        if (m.type === 'listening') resolve(m.address!);
        else if (m.type === 'error') reject(listenError(m.error!));
        else return;
        worker.off('message', onMessage);
        worker.off('error', reject);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the telemetry endpoint's thread exited (code ${code}) before listening`)));
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    return new TelemetryFront(worker, address, beat);
  }

  /** The worker thread's id. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Calls `onExit` if the front's thread ends without `close()` (it should not: it is then restarted). */
  onUnexpectedExit(onExit: (why: string) => void): void {
    this.worker.once('error', (e) => onExit(`error: ${e.message}`));
    this.worker.once('exit', (code) => {
      if (!this.closing) onExit(`exited with code ${code}`);
    });
  }

  /** Stops listening, cuts open connections, and ends the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    const closed = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.worker.on('message', (m: { type: string }) => {
        if (m.type === 'closed') {
          clearTimeout(t);
          resolve();
        }
      });
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.worker.postMessage('close');
    await closed;
    await this.worker.terminate();
  }
}
