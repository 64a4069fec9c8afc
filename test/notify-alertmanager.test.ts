import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import type { Exporter } from '../src/component.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import type { PostableAlert } from '../exporters/alertmanager/alertmanager-exporter.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';
import { RecordingServer } from './doubles/http-server.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function exporter(url: string, raw: Record<string, unknown> = {}, stateDir = tempDir()) {
  cleanup.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const exp = alertmanagerExporterFactory.create(
    testSettings('exporter', 'alertmanager', { stateDir }),
    configFor(alertmanagerExporterFactory, { url, retry: { initial_interval: '20ms', max_interval: '50ms' }, ...raw }),
  ) as Exporter;
  await exp.start({ reportFatal: () => undefined });
  cleanup.push(() => exp.shutdown());
  return { exp, stateDir };
}

const bin = alertmanagerBinary();
if (!bin) {
  console.warn(
    '\n!!!!! prometheus-alertmanager is NOT installed: the real-Alertmanager test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh (apt-get install prometheus-alertmanager). !!!!!\n',
  );
}

describe('alertmanager exporter', () => {
  it.skipIf(!bin)('vigil alerts appear in a real Alertmanager with their labels, and resolve', async () => {
    const am = await new AlertmanagerProcess(bin!).start();
    cleanup.push(() => am.stop());
    const { exp } = await exporter(am.url, { external_labels: { vigil: 'sidecar-1' } });
    const a = makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' }, {
      annotations: { summary: 'p95 high' },
      startsAt: new Date(Date.now() - 60_000).toISOString(),
    });
    await exp.consume({ alerts: [makeNotification(['alertmanager'], { alerts: [a] })] });
    await waitFor(async () => (await am.alerts()).length === 1, 10_000, 'alert in Alertmanager');
    const [got] = await am.alerts();
    // Label names as Alertmanager takes them: `service.name` becomes `service_name`.
    expect(got!.labels).toEqual({ alertname: 'HighP95Latency', severity: 'critical', service_name: 'checkout', vigil: 'sidecar-1' });
    expect(got!.annotations).toEqual({ summary: 'p95 high' });
    expect(got!.status.state).toBe('active');
    expect(Date.parse(got!.startsAt)).toBe(Date.parse(a.startsAt));
    // Valid for 4 x resend_delay (1m): Alertmanager expires it if vigil stops re-sending.
    const validFor = Date.parse(got!.endsAt) - Date.now();
    expect(validFor).toBeGreaterThan(3 * 60_000);
    expect(validFor).toBeLessThanOrEqual(4 * 60_000);

    const resolved = { ...a, status: 'resolved' as const, endsAt: new Date(Date.now() - 1000).toISOString() };
    await exp.consume({ alerts: [makeNotification(['alertmanager'], { alerts: [resolved] })] });
    await waitFor(async () => (await am.alerts()).length === 0, 10_000, 'alert resolved in Alertmanager');
  });

  it.skipIf(!bin)('a corrupt entry in the saved firing set (active.json) does not keep the good ones out of a real Alertmanager', async () => {
    const am = await new AlertmanagerProcess(bin!).start();
    cleanup.push(() => am.stop());
    const stateDir = tempDir();
    const file = `${stateDir}/exporters/alertmanager/active.json`;
    fs.mkdirSync(`${stateDir}/exporters/alertmanager`, { recursive: true });
    const good = makeAlert({ alertname: 'StillFiring', severity: 'critical' }, { startsAt: new Date(Date.now() - 60_000).toISOString() });
    // half-rewritten by hand or by a bad disk, but still JSON: entries Alertmanager refuses with 400
    const bad = [
      { ...good, fingerprint: 'f-no-labels', labels: {} },
      { ...good, fingerprint: 'f-bad-time', labels: { alertname: 'Bad' }, startsAt: 'garbage' },
      { ...good, fingerprint: 'f-number-label', labels: { alertname: 5 } },
      null,
      7,
    ];
    fs.writeFileSync(file, JSON.stringify([bad[0], good, ...bad.slice(1)]));
    await exporter(am.url, { resend_delay: '200ms' }, stateDir);
    await waitFor(async () => (await am.alerts()).length === 1, 10_000, 'the good saved alert re-sent to Alertmanager');
    expect((await am.alerts())[0]!.labels.alertname).toBe('StillFiring');
  });

  it('re-sends firing alerts every resend_delay until they resolve, also after a restart', async () => {
    const srv = await new RecordingServer(() => ({ status: 200, body: '' })).start();
    cleanup.push(() => srv.close());
    const stateDir = tempDir();
    const first = await exporter(srv.url, { resend_delay: '100ms' }, stateDir);
    const a = makeAlert({ alertname: 'Budget', severity: 'warning' });
    await first.exp.consume({ alerts: [makeNotification(['alertmanager'], { alerts: [a] })] });
    await waitFor(() => srv.requests.length >= 3, 10_000, 'resends');
    for (const r of srv.requests) {
      expect(r.path).toBe('/api/v2/alerts');
      const body = r.json as PostableAlert[];
      expect(body.map((x) => x.labels.alertname)).toEqual(['Budget']);
      expect(Date.parse(body[0]!.endsAt) - r.at).toBeGreaterThan(300);
    }
    await first.exp.shutdown();

    // A new instance on the same state folder picks the firing alert up again.
    const before = srv.requests.length;
    const second = await exporter(srv.url, { resend_delay: '100ms' }, stateDir);
    await waitFor(() => srv.requests.length >= before + 2, 10_000, 'resends after restart');
    await second.exp.consume({ alerts: [makeNotification(['alertmanager'], { alerts: [{ ...a, status: 'resolved', endsAt: '2026-11-23T10:30:00.000Z' }] })] });
    await waitFor(() => (srv.requests.at(-1)!.json as PostableAlert[])[0]!.endsAt === '2026-11-23T10:30:00.000Z', 10_000, 'resolve sent');
    const after = srv.requests.length;
    await new Promise((r) => setTimeout(r, 350));
    expect(srv.requests.length).toBe(after);
  });
});
