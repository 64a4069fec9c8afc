/**
 * `POST /-/reload` on the telemetry endpoint (Alertmanager's and Prometheus's lifecycle endpoint) and the
 * `vigil_config_last_reload_successful` / `..._success_timestamp_seconds` gauges, on a real `vigil run`: a
 * changed config takes effect (200), a broken one is refused with its file:line:col (500) while the running
 * config is kept and the gauge turns 0, a write without the API token is refused (401), GET is 405; SIGHUP
 * moves the same gauges.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort, startDaemon, writeConfig } from './helpers/daemon.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** One gauge's value on /metrics (undefined when absent). */
async function gauge(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('POST /-/reload', () => {
  it('reloads, refuses a broken config with the reason and keeps the running one, needs the API token; the gauges follow', async () => {
    const dir = tempDir('vigil-reload-endpoint-');
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const telPort = await freePort();
    const config = (level: string) => ({
      receivers: { nop: {} },
      exporters: { debug: { verbosity: level } },
      service: {
        state_dir: path.join(dir, 'state'),
        telemetry: { endpoint: `127.0.0.1:${telPort}`, logs: { level: 'info' }, api: { bearer_token: 's3cret' } },
        pipelines: { traces: { receivers: ['nop'], exporters: ['debug'] } },
      },
    });
    const file = writeConfig(path.join(dir, 'pipelines.yaml'), config('basic'));
    const daemon = await startDaemon([file], telPort);
    cleanup.push(() => daemon.stop());
    const url = daemon.telemetryUrl;
    const auth = { authorization: 'Bearer s3cret' };

    expect(await gauge(url, 'vigil_config_last_reload_successful')).toBe(1);
    const startedAt = (await gauge(url, 'vigil_config_last_reload_success_timestamp_seconds'))!;
    expect(Math.abs(startedAt - Date.now() / 1000)).toBeLessThan(120);

    // a read of a write endpoint, and a write without the token
    const get = await fetch(`${url}/-/reload`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, PUT');
    const noToken = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(noToken.status).toBe(401);
    expect(await noToken.text()).toMatch(/API token/);

    // a changed config takes effect
    writeConfig(file, config('detailed'));
    await new Promise((r) => setTimeout(r, 1100)); // the timestamp is in seconds: let one pass
    const ok = await fetch(`${url}/-/reload`, { method: 'POST', headers: auth });
    expect(await ok.text()).toBe('config reloaded\n');
    expect(ok.status).toBe(200);
    await daemon.waitForLog((l) => l.message === 'config reloaded'); // info lines are written in batches (src/logger.ts)
    expect(await gauge(url, 'vigil_config_last_reload_successful')).toBe(1);
    const reloadedAt = (await gauge(url, 'vigil_config_last_reload_success_timestamp_seconds'))!;
    expect(reloadedAt).toBeGreaterThan(startedAt);

    // a broken one is refused with where and why; the daemon keeps serving
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('verbosity: detailed', 'verbosity: loud'));
    const refused = await fetch(`${url}/-/reload`, { method: 'PUT', headers: auth });
    expect(refused.status).toBe(500);
    const why = await refused.text();
    expect(why).toMatch(/^failed to reload config: .*pipelines\.yaml:\d+:\d+: exporters\.debug\.verbosity: expected one of/);
    expect(why).toMatch(/the running config is kept\n$/);
    expect(await gauge(url, 'vigil_config_last_reload_successful')).toBe(0);
    expect(await gauge(url, 'vigil_config_last_reload_success_timestamp_seconds')).toBe(reloadedAt);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // SIGHUP with the file mended: the gauge turns 1 again
    writeConfig(file, config('basic'));
    daemon.proc.kill('SIGHUP');
    await waitFor(async () => (await gauge(url, 'vigil_config_last_reload_successful')) === 1, 20_000);
  }, 60_000);
});
