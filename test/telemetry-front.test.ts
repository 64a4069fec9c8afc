/**
 * The telemetry endpoint's front (src/telemetry-front.ts): a worker thread owns the public port, answers
 * /healthz itself from the main loop's heartbeat, and passes everything else to the main thread's server.
 * Probes run in child processes so that they go on while this test's own event loop is held on purpose.
 */
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { TelemetryFront, privateSocketPath } from '../src/telemetry-front.ts';

const open: ServiceTelemetry[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.closeServer();
});

async function started(opts: { stallLimitMs?: number } = {}): Promise<{ t: ServiceTelemetry; base: string; port: number }> {
  const t = new ServiceTelemetry();
  open.push(t);
  const addr = await t.listen('127.0.0.1:0', opts);
  return { t, base: `http://127.0.0.1:${addr.port}`, port: addr.port };
}

/** Holds this thread (and so the event loop the pipelines run on) for `ms`. */
function hold(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy on purpose
  }
}

/**
 * Starts a process that, once running, GETs `url` after `afterMs` and prints `status|wall clock at the
 * answer|body`; resolves `ready` when the process runs (node's own start-up varies with load).
 */
function probeLater(url: string, afterMs: number): { ready: Promise<void>; answer: Promise<{ status: number; at: number; body: string }> } {
  const script = `process.stdout.write('ready\\n'); setTimeout(() => fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(r.status + '|' + Date.now() + '|' + (await r.text()))).catch((e) => process.stdout.write('0|' + Date.now() + '|' + e.message)), ${afterMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  const answer = new Promise<{ status: number; at: number; body: string }>((resolve) =>
    child.on('exit', () => {
      const [status, at, ...body] = out.slice('ready\n'.length).split('|');
      resolve({ status: Number(status), at: Number(at), body: body.join('|') });
    }),
  );
  return { ready, answer };
}

describe('the telemetry endpoint front', () => {
  it('answers /healthz while the main event loop is held, and passes /metrics and /readyz through', async () => {
    const { base } = await started();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const probe = probeLater(`${base}/healthz`, 300);
    await probe.ready;
    hold(1500); // the probe fires during this
    const released = Date.now();
    const r = await probe.answer;
    expect(r).toMatchObject({ status: 200, body: 'ok\n' });
    expect(r.at).toBeLessThan(released); // answered while this thread was still held
    // a request for the main thread waits for it, and is answered afterwards
    const metrics = probeLater(`${base}/metrics`, 200);
    await metrics.ready;
    hold(800);
    const releasedAgain = Date.now();
    const m = await metrics.answer;
    expect(m.status).toBe(200);
    expect(m.body).toContain('# TYPE vigil_process_');
    expect(m.at).toBeGreaterThanOrEqual(releasedAgain);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, 'not ready: starting\n']);
  });

  it('answers 503 naming the stall when the main loop has not turned for longer than the limit', async () => {
    const { base } = await started({ stallLimitMs: 300 });
    const probe = probeLater(`${base}/healthz`, 600);
    await probe.ready;
    hold(2000);
    const r = await probe.answer;
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^event loop stalled: no turn for \d+ ms \(limit 300 ms\)\n$/);
    // once the loop turns again, it is healthy again
    await new Promise((res) => setTimeout(res, 250));
    const again = await fetch(`${base}/healthz`);
    expect([again.status, await again.text()]).toEqual([200, 'ok\n']);
  });

  it('passes methods, bodies (chunked or not), statuses and headers through, and not hop-by-hop headers', async () => {
    const { t, port } = await started();
    t.setRequestHandler(async (req, res, url) => {
      if (url.pathname === '/echo') {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        const body = Buffer.concat(parts);
        res.writeHead(201, 'Made', { 'content-type': 'application/x-echo', 'x-seen-method': req.method!, 'x-seen-query': url.search, 'x-seen-te': String(req.headers['transfer-encoding'] ?? ''), 'x-seen-len': String(body.length), 'x-seen-custom': String(req.headers['x-custom'] ?? '') });
        res.end(body);
        return true;
      }
      if (url.pathname === '/big') {
        const chunk = Buffer.alloc(64 * 1024, 'v');
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 32; i++) res.write(chunk);
        res.end();
        return true;
      }
      return false;
    });
    const call = (method: string, path: string, body?: Buffer, chunked = false) =>
      new Promise<{ status: number; message: string; headers: http.IncomingHttpHeaders; raw: string[]; body: Buffer }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: { 'x-custom': 'yes', ...(chunked ? {} : body ? { 'content-length': body.length } : {}) } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, message: res.statusMessage!, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(parts) }));
        });
        req.on('error', reject);
        if (body && chunked) {
          req.write(body.subarray(0, 10));
          req.write(body.subarray(10));
        } else if (body) req.write(body);
        req.end();
      });
    const payload = Buffer.from('a body of some length, '.repeat(100));
    const plain = await call('POST', '/echo?x=1', payload);
    expect([plain.status, plain.message, plain.body.equals(payload)]).toEqual([201, 'Made', true]);
    expect(plain.headers).toMatchObject({ 'content-type': 'application/x-echo', 'x-seen-method': 'POST', 'x-seen-query': '?x=1', 'x-seen-len': String(payload.length), 'x-seen-custom': 'yes', 'x-seen-te': '' });
    const chunked = await call('PUT', '/echo', payload, true);
    expect([chunked.status, chunked.body.equals(payload), chunked.headers['x-seen-te']]).toEqual([201, true, 'chunked']);
    // one Connection and one Date header: the front's own connection handling, the daemon's Date
    const names = (raw: string[]) => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names(plain.raw).filter((n) => n === 'connection' || n === 'date' || n === 'keep-alive')).toEqual(['date', 'connection']);
    const big = await call('GET', '/big');
    expect([big.status, big.body.length]).toEqual([200, 32 * 64 * 1024]);
    const head = await call('HEAD', '/healthz');
    expect([head.status, head.body.length]).toEqual([200, 0]);
    expect((await call('GET', '/nothing-here')).status).toBe(404);
    expect((await call('DELETE', '/metrics')).status).toBe(405);
  });

  it('refuses a taken port with EADDRINUSE, and frees its port on close', async () => {
    const { t, port } = await started();
    const other = new ServiceTelemetry();
    await expect(other.listen(`127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'EADDRINUSE', port });
    await t.closeServer();
    open.splice(open.indexOf(t), 1);
    const refused = await new Promise<string>((resolve) => net.connect(port, '127.0.0.1').once('connect', () => resolve('connected')).once('error', (e: NodeJS.ErrnoException) => resolve(e.code!)));
    expect(refused).toBe('ECONNREFUSED');
    // the same port can be taken again
    open.push(other);
    expect((await other.listen(`127.0.0.1:${port}`)).port).toBe(port);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('prewarm: a thread booted ahead is the one a start takes, and it serves; an idle prewarmed thread does not keep a process alive', async () => {
    const id = TelemetryFront.prewarm();
    expect(TelemetryFront.prewarm()).toBe(id); // idempotent
    const upstream = http.createServer((_req, res) => res.end('from the main thread\n'));
    const socket = privateSocketPath();
    await new Promise<void>((r) => upstream.listen(socket.path, r));
    const front = await TelemetryFront.start({ host: '127.0.0.1', port: 0, upstream: socket.path, maxConnections: 100 });
    try {
      expect(front.threadId).toBe(id);
      expect(TelemetryFront.prewarm()).not.toBe(id); // taken: a new one boots
      const base = `http://127.0.0.1:${front.address.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toBe('from the main thread\n');
    } finally {
      await front.close();
      await new Promise<void>((r) => upstream.close(() => r()));
      socket.cleanup();
    }
    const script = `import(${JSON.stringify(new URL('../src/telemetry-front.ts', import.meta.url).pathname)}).then((m) => { m.TelemetryFront.prewarm(); console.log('warm'); });`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(out).toBe('warm\n');
  }, 60_000);
});
