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
import { configFor, recordingLogger, tempDir, testSettings } from './helpers/index.ts';
import { STATEFUL_COMPONENTS } from './helpers/stateful-components.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const cases = STATEFUL_COMPONENTS.flatMap(([id, factory, kind, raw, rel]) =>
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
