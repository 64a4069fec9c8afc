import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/index.ts';
import { BUILTIN_PRICES, PriceTable, buildPriceTable, loadPriceFile, normaliseModel } from './price-table.ts';

const LITELLM = path.resolve('test/fixtures/prices/model_prices_and_context_window.json');

describe('built-in price table', () => {
  const builtin = loadPriceFile(BUILTIN_PRICES);

  it('has at least 40 models from every provider the brief names, each with a checked date', () => {
    expect(builtin.length).toBeGreaterThanOrEqual(40);
    const doc = JSON.parse(fs.readFileSync(BUILTIN_PRICES, 'utf8')) as { models: { model: string; provider: string; checked: string }[] };
    const providers = new Set(doc.models.map((m) => m.provider));
    for (const p of ['openai', 'anthropic', 'google', 'mistral', 'together_ai', 'aws.bedrock', 'deepseek']) expect(providers).toContain(p);
    expect(doc.models.some((m) => m.model.includes('nova'))).toBe(true);
    expect(doc.models.some((m) => /llama/i.test(m.model))).toBe(true);
    for (const m of doc.models) expect(m.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('agrees with the LiteLLM table for the models both list under the same name', () => {
    const lite = new Map(loadPriceFile(LITELLM).map((p) => [p.name, p]));
    let compared = 0;
    for (const p of builtin) {
      const l = lite.get(p.name);
      if (!l) continue;
      compared++;
      expect([p.name, p.input, p.output]).toEqual([p.name, l.input, l.output]);
    }
    expect(compared).toBeGreaterThan(20);
  });
});

describe('model name resolution', () => {
  const table = buildPriceTable('builtin', []);
  const cases: [string, string][] = [
    ['gpt-4o', 'gpt-4o'],
    ['GPT-4o', 'gpt-4o'],
    ['openai/gpt-4o', 'gpt-4o'],
    ['azure/gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4.1-mini-2025-04-14', 'gpt-4.1-mini'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-5@20250929', 'claude-sonnet-4-5'],
    ['claude-opus-4-20250514', 'claude-opus-4'],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['us.anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-haiku-4-5'],
    ['eu.anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet'],
    ['bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['claude-3.7-sonnet', 'claude-3-7-sonnet'],
    ['mistral/mistral-large-latest', 'mistral-large-latest'],
    ['Mistral-Large-Latest', 'mistral-large-latest'],
    ['us.meta.llama3-3-70b-instruct-v1:0', 'meta.llama3-3-70b-instruct-v1:0'],
    ['together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo', 'meta-llama/Llama-3.3-70B-Instruct-Turbo'],
    ['us.amazon.nova-pro-v1:0', 'amazon.nova-pro-v1:0'],
    ['bedrock/amazon.nova-lite-v1:0', 'amazon.nova-lite-v1:0'],
    ['gemini-2.5-flash', 'gemini-2.5-flash'],
    ['vertex_ai/gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['deepseek/deepseek-chat', 'deepseek-chat'],
  ];
  for (const [raw, entry] of cases) {
    it(`${raw} -> ${entry}`, () => {
      expect(table.resolve(raw)?.price.name).toBe(entry);
    });
  }

  it('tries the exact name first, then the normalised one, then the user regexes', () => {
    const t = buildPriceTable('builtin', [
      { model: 'gpt-4o-2024-08-06', input: 9, output: 9 },
      { match: '^acme-.*-large$', input: 1, output: 2 },
      { match: 'gpt-4o', input: 100, output: 100 }, // never reached for gpt-4o names: they resolve before the regexes
    ]);
    expect(t.resolve('gpt-4o-2024-08-06')).toMatchObject({ how: 'exact', price: { input: 9 } });
    expect(t.resolve('gpt-4o-2024-11-20')).toMatchObject({ how: 'normalised', price: { name: 'gpt-4o', input: 2.5 } });
    expect(t.resolve('ACME-chat-large')).toMatchObject({ how: 'match', price: { input: 1, output: 2 } });
    expect(t.resolve('totally-unknown-model')).toBeUndefined();
  });

  it('normalises the usual decorations away', () => {
    expect(normaliseModel('us.anthropic.claude-3-5-sonnet-20241022-v2:0')).toBe(normaliseModel('claude-3.5-sonnet'));
    expect(normaliseModel('openai/gpt-4o-2024-08-06')).toBe('gpt4o');
    expect(normaliseModel('codestral-latest')).toBe('codestral');
  });

  it('caches each distinct model string (a second lookup returns the same resolution object)', () => {
    const t = buildPriceTable('builtin', []);
    const a = t.resolve('openai/gpt-4o');
    expect(t.resolve('openai/gpt-4o')).toBe(a);
    expect(t.resolve('nope')).toBeUndefined();
    expect(t.resolve('nope')).toBeUndefined();
  });
});

describe('price files', () => {
  it('loads the LiteLLM table and prices its own models by their own names', () => {
    const raw = JSON.parse(fs.readFileSync(LITELLM, 'utf8')) as Record<string, Record<string, unknown>>;
    const table = buildPriceTable(LITELLM, []);
    let checked = 0;
    for (const [name, e] of Object.entries(raw)) {
      if (name === 'sample_spec' || (typeof e.input_cost_per_token !== 'number' && typeof e.output_cost_per_token !== 'number')) continue;
      const r = table.resolve(name);
      expect(r, name).toBeDefined();
      // the name resolves to an entry with the same prices (names differing only in case share one)
      const inPerM = typeof e.input_cost_per_token === 'number' ? e.input_cost_per_token * 1e6 : 0;
      const outPerM = typeof e.output_cost_per_token === 'number' ? e.output_cost_per_token * 1e6 : 0;
      if (r!.price.name === name) {
        expect(r!.price.input).toBeCloseTo(inPerM, 9);
        expect(r!.price.output).toBeCloseTo(outPerM, 9);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(1500);
    const claude = table.resolve('claude-sonnet-4-5')!.price;
    expect(claude.cacheRead).toBe(0.3);
    expect(claude.cacheWrite).toBe(3.75);
  });

  it('refuses a bad price file with a message naming the file and the problem', () => {
    const dir = tempDir();
    const bad = path.join(dir, 'prices.json');
    fs.writeFileSync(bad, '{"models": [{"model": "x", "input": "cheap", "output": 1}]}');
    expect(() => loadPriceFile(bad)).toThrow(`price table ${bad}: models[0] (x): "input" must be a number >= 0 (USD per 1M tokens)`);
    fs.writeFileSync(bad, '{not json');
    expect(() => loadPriceFile(bad)).toThrow(/not valid JSON/);
    fs.writeFileSync(bad, '{"a": {"b": 1}}');
    expect(() => loadPriceFile(bad)).toThrow(/no priced models found/);
    expect(() => loadPriceFile(path.join(dir, 'missing.json'))).toThrow(/cannot read it \(ENOENT\)/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a later entry with the same name overrides', () => {
    const t = new PriceTable();
    t.add([{ name: 'm', input: 1, output: 1 }]);
    t.add([{ name: 'M', input: 2, output: 2 }]);
    expect(t.resolve('m')!.price.input).toBe(2);
  });
});
