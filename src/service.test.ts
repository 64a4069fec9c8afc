import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { created, testRegistry } from '../test/helpers/doubles.ts';
import { tempDir } from '../test/helpers/index.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { loadConfig } from './config/load.ts';
import { CoalescingDestination, createLogger } from './logger.ts';
import { Service } from './service.ts';


function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

function writeYaml(dir: string, name: string, doc: unknown): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, YAML.stringify(doc));
  return f;
}

const base = (dir: string, sink = 'testsink/a') => ({
  receivers: { testsource: {} },
  exporters: { [sink]: {} },
  service: { state_dir: dir, telemetry: { endpoint: '127.0.0.1:0' }, pipelines: { main: { receivers: ['testsource'], exporters: [sink] } } },
});

describe('Service', () => {
  it('writes "everything is ready" when start() resolves, not with the next coalesced write of the log', async () => {
    const dir = tempDir();
    const { config } = await loadConfig([writeYaml(dir, 'c.yaml', base(dir))], testRegistry);
    const writes: string[] = [];
    const dest = new CoalescingDestination({ write: (d: string) => writes.push(d) });
    const logger = createLogger('info', dest);
    const svc = new Service(config!, { logger, registry: testRegistry });
    try {
      // a line just before (as components log while starting): the ready line would be coalesced behind it
      logger.info('starting');
      await svc.start();
      expect(writes.join('')).toContain('"message":"everything is ready"');
    } finally {
      await svc.shutdown();
      dest.close();
    }
  });

  it('serves /healthz, /readyz and /metrics, reloads a good config, keeps the running one on a bad one', async () => {
    const dir = tempDir();
    const file = writeYaml(dir, 'c.yaml', base(dir));
    const { config } = await loadConfig([file], testRegistry);
    const { logger, lines } = captureLogger();
    const svc = new Service(config!, { logger, registry: testRegistry });
    await svc.start();
    const url = `http://127.0.0.1:${svc.telemetryPort}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    await created.get('testsource')!.emit.consume({ resourceSpans: [] });
    expect(created.get('testsink/a')!.received).toHaveLength(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_process_memory_rss(_bytes)?\{?.*\}? \d+/m);
    expect(metrics).toContain('vigil_process_cpu_seconds');

    // a bad config: refused, the running pipelines keep working
    writeYaml(dir, 'c.yaml', { ...base(dir), exporters: { 'testsink/a': { no_such_key: 1 } } });
    expect(await svc.reload([file])).toBe(false);
    expect(lines.some((l) => l['message'] === 'reload refused: the running config is kept')).toBe(true);
    expect(lines.some((l) => String(l['error']).includes('exporters.testsink/a.no_such_key: unknown key'))).toBe(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await created.get('testsource')!.emit.consume({ resourceSpans: [] });
    expect(created.get('testsink/a')!.received).toHaveLength(2);

    // a good config: swapped in without a restart
    writeYaml(dir, 'c.yaml', base(dir, 'testsink/b'));
    expect(await svc.reload([file])).toBe(true);
    await created.get('testsource')!.emit.consume({ resourceSpans: [] });
    expect(created.get('testsink/b')!.received).toHaveLength(1);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // a config whose pipelines fail to start: the running one is restored
    writeYaml(dir, 'c.yaml', { ...base(dir, 'testsink/c'), receivers: { testsource: { fail_start: true } } });
    expect(await svc.reload([file])).toBe(false);
    expect(lines.some((l) => String(l['message']).startsWith('reload refused: the new pipelines failed to start'))).toBe(true);
    await created.get('testsource')!.emit.consume({ resourceSpans: [] });
    expect(created.get('testsink/b')!.received).toHaveLength(1); // a new instance of testsink/b took over
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    expect(await svc.shutdown()).toBe(true);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('reports not ready while a component is failed', async () => {
    const dir = tempDir();
    const { config } = await loadConfig([writeYaml(dir, 'c.yaml', base(dir))], testRegistry);
    const svc = new Service(config!, { logger: captureLogger().logger, registry: testRegistry });
    await svc.start();
    const url = `http://127.0.0.1:${svc.telemetryPort}`;
    svc.telemetry.markFailed('testsink/a', 'disk full');
    const r = await fetch(`${url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('disk full');
    await svc.shutdown();
  });

  it('a reload moving the telemetry endpoint to a taken port is refused, names the key and address, and the endpoint stays served', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const taken = (holder.address() as net.AddressInfo).port;
    const dir = tempDir();
    const running = base(dir);
    running.service.telemetry.endpoint = `127.0.0.1:${await freePort()}`;
    const file = writeYaml(dir, 'c.yaml', running);
    const { config } = await loadConfig([file], testRegistry);
    const { logger, lines } = captureLogger();
    const svc = new Service(config!, { logger, registry: testRegistry });
    try {
      await svc.start();
      const url = `http://${running.service.telemetry.endpoint}`;
      const moved = base(dir);
      moved.service.telemetry.endpoint = `127.0.0.1:${taken}`;
      writeYaml(dir, 'c.yaml', moved);
      expect(await svc.reload([file])).toBe(false);
      const refused = lines.find((l) => l['message'] === 'reload refused: the new pipelines failed to start; restoring the running config');
      expect(String(refused?.['err'])).toContain(`service.telemetry.endpoint: cannot listen on 127.0.0.1:${taken}`);
      // with the codes a failed start logs, as the README's error codes say
      expect([refused?.['code'], refused?.['cause']]).toEqual(['VIGIL_START_FAILED', 'EADDRINUSE']);
      // the running config's endpoint answers again, and the pipelines still deliver
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      await created.get('testsource')!.emit.consume({ resourceSpans: [] });
      expect(created.get('testsink/a')!.received.length).toBeGreaterThan(0);
    } finally {
      await svc.shutdown();
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });
});
