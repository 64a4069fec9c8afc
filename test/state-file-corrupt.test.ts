/**
 * A state file that cannot be read back (not JSON: a torn write on a filesystem without the atomic rename, a
 * hand edit; or JSON of another shape) is moved aside as `<file>.corrupt` and said so, and the component starts
 * without that state, for every component that keeps one. Before, the exporters' files (alertmanager
 * `active.json`, prometheus `alerts.json`, the pagerduty and opsgenie incident state) were only named in a
 * warning, and the next save overwrote them unseen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Factory } from '../src/component.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/index.ts';
import { pagerdutyExporterFactory } from '../exporters/pagerduty/index.ts';
import { opsgenieExporterFactory } from '../exporters/opsgenie/index.ts';
import { configFor, recordingLogger, tempDir, testSettings } from './helpers/index.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const components: [string, Factory, 'processor' | 'exporter', Record<string, unknown>, string][] = [
  ['alerts', alertsProcessorFactory as Factory, 'processor', {}, 'processors/alerts/state.json'],
  ['cost', costProcessorFactory as Factory, 'processor', { budgets: [{ name: 'daily', period: 'day', limit_usd: 10 }] }, 'processors/cost/budgets.json'],
  ['alertmanager', alertmanagerExporterFactory as Factory, 'exporter', { url: 'http://127.0.0.1:9' }, 'exporters/alertmanager/active.json'],
  ['prometheus', prometheusExporterFactory as Factory, 'exporter', { endpoint: '127.0.0.1:0' }, 'exporters/prometheus/alerts.json'],
  ['pagerduty', pagerdutyExporterFactory as Factory, 'exporter', { url: 'http://127.0.0.1:9/v2/enqueue', routing_key: 'R0UT1NGKEY0000000000000000000000' }, 'exporters/pagerduty/incidents.json'],
  ['opsgenie', opsgenieExporterFactory as Factory, 'exporter', { api_url: 'http://127.0.0.1:9', api_key: '00000000-0000-0000-0000-000000000000' }, 'exporters/opsgenie/incidents.json'],
];
const cases = components.flatMap(([id, factory, kind, raw, rel]) =>
  [
    ['not JSON', '{"half": [1, 2'],
    ['a number', '42'],
  ].map(([what, text]) => [`${id}, ${what}`, factory, kind, raw, rel, text!] as const),
);

describe('a state file that cannot be read back', () => {
  it.each(cases)('%s: kept as .corrupt and said so; the component starts without it', async (name, factory, kind, raw, rel, text) => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    const { logger, lines } = recordingLogger();
    const c = factory.create(testSettings(kind, name.split(',')[0]!, { stateDir: dir, logger }), configFor(factory, raw)) as unknown as { start(): Promise<void>; shutdown(): Promise<void> };
    await c.start();
    cleanup.push(() => c.shutdown());
    expect(fs.readFileSync(`${file}.corrupt`, 'utf8')).toBe(text);
    const said = lines.map((l) => JSON.parse(l) as { level: string; err?: unknown; message: string }).filter((l) => `${String(l.err)} ${l.message}`.includes('.corrupt'));
    expect(said.length, lines.join('')).toBeGreaterThan(0);
    expect(['warn', 'error']).toContain(said[0]!.level);
  });
});
