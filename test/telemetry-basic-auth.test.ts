/**
 * The telemetry endpoint behind `service.telemetry.auth` (every shipped deployment) from a browser: a browser cannot
 * send a bearer token, so the status page could not be opened at all. The 401 now also offers HTTP Basic (RFC 7617),
 * as Prometheus's and Alertmanager's web UIs behind basic auth do: the browser asks for a user name and password,
 * and any user name with the token as password is let in, for the page and the API calls it makes. Bearer tokens
 * work as before; /healthz and /readyz stay open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { tempDir } from './helpers/index.ts';
import { startService } from './helpers/service.ts';
import type { Service } from '../src/service.ts';

const TOKEN = 'read-tok3n';
let service: Service | undefined;
afterEach(async () => {
  await service?.shutdown();
  service = undefined;
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the telemetry endpoint behind service.telemetry.auth, from a browser', () => {
  it('offers Basic on its 401 and takes the token as the password, with any user name; bearer tokens as before', async () => {
    const dir = tempDir();
    service = await startService(
      dir,
      `receivers: {nop: {}}
processors: {alerts: {}}
exporters: {nop: {}}
service:
  state_dir: ${dir}/state
  telemetry: {endpoint: "127.0.0.1:0", auth: {bearer_token: "${TOKEN}"}}
  pipelines: {main: {receivers: [nop], processors: [alerts], exporters: [nop]}}
`,
    );
    const url = `http://127.0.0.1:${service.telemetryPort}`;
    const get = (path: string, authorization?: string) => fetch(`${url}${path}`, { headers: { accept: 'text/html', ...(authorization ? { authorization } : {}) } });

    const refused = await get('/');
    expect(refused.status).toBe(401);
    const challenges = refused.headers.get('www-authenticate') ?? '';
    expect(challenges).toMatch(/Basic realm="vigil"/);
    expect(challenges).toMatch(/Bearer/);

    const page = await get('/', basic('anyone', TOKEN));
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>vigil status<\/title>/);
    for (const path of ['/api/overview', '/api/v2/alerts', '/metrics']) expect((await get(path, basic('', TOKEN))).status, path).toBe(200);

    for (const wrong of [basic('anyone', 'wrong'), basic(TOKEN, ''), `Basic ${Buffer.from(TOKEN).toString('base64')}`, 'Basic !!!', `Digest ${TOKEN}`]) expect((await get('/api/overview', wrong)).status, wrong).toBe(401);
    expect((await get('/api/overview', `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
