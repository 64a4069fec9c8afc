/**
 * Every component's `testdata/` is read here (the Collector's convention, shared/docs/conventions.md):
 * `valid.yaml` validates with the component's own factory, on its own, and every `bad_*.yaml` fails with
 * exactly the message its `# expect:` line states. Component-specific tests read the other files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { components } from '../app/components.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { loadPriceFile, PriceFileError } from '../processors/cost/price-table.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const factories = await components.all();
const withTestdata = factories
  .map((f) => ({ f, dir: path.join(ROOT, `${f.kind}s`, f.type, 'testdata') }))
  .filter(({ dir }) => fs.existsSync(path.join(dir, 'valid.yaml')));

const issues = (f: (typeof factories)[number], text: string) => validateComponentConfig(f, YAML.parse(text) ?? {}).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('component testdata', () => {
  it('covers the components that ship a testdata/valid.yaml (every processor among them)', () => {
    const names = withTestdata.map(({ f }) => `${f.kind}/${f.type}`);
    for (const p of ['alerts', 'cost', 'percentiles']) expect(names).toContain(`processor/${p}`);
  });

  describe.each(withTestdata.map(({ f, dir }) => [`${f.kind} ${f.type}`, f, dir] as const))('%s', (_name, factory, dir) => {
    it('valid.yaml validates on its own', () => {
      expect(issues(factory, fs.readFileSync(path.join(dir, 'valid.yaml'), 'utf8'))).toEqual([]);
    });
    const bad = fs.readdirSync(dir).filter((f) => f.startsWith('bad_') && f.endsWith('.yaml'));
    it.skipIf(bad.length === 0).each(bad)('%s fails with the message it states', (file) => {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const expected = /^# expect: (.*)$/m.exec(text)?.[1];
      expect(expected, `${file} states its expected message`).toBeDefined();
      expect(issues(factory, text)).toEqual([expected]);
    });
  });

  it('processors/cost/testdata/bad_prices.json is refused with the entry and field named', () => {
    const file = path.join(ROOT, 'processors/cost/testdata/bad_prices.json');
    expect(() => loadPriceFile(file)).toThrow(PriceFileError);
    expect(() => loadPriceFile(file)).toThrow(`price table ${file}: models[0] (gpt-x): "input" must be a number >= 0 (USD per 1M tokens)`);
  });
});
