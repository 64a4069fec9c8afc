import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/index.ts';
import { callCost } from './cost-processor.ts';
import { BUILTIN_PRICES, PriceTable, buildPriceTable, formatPriceFile, fromLiteLlm, loadPriceFile, normaliseModel, readPriceFile, withFallbacks } from './price-table.ts';

const LITELLM = path.resolve('test/fixtures/prices/model_prices_and_context_window.json');
const liteDoc = () => JSON.parse(fs.readFileSync(LITELLM, 'utf8')) as Record<string, Record<string, unknown>>;

describe('built-in price table', () => {
  const builtin = readPriceFile(BUILTIN_PRICES);

  it('is the whole LiteLLM table: every token-priced entry not priced $0, with its provider, source and date', () => {
    const raw = liteDoc();
    // token prices of their own, or in step-priced ranges (tiered_pricing: DashScope, Volcengine; the first range is the base)
    const steps = (e: Record<string, unknown>) => (Array.isArray(e.tiered_pricing) ? (e.tiered_pricing as Record<string, unknown>[]).filter((t) => typeof t.input_cost_per_token === 'number') : []);
    const priced = Object.entries(raw)
      .filter(([k, e]) => k !== 'sample_spec' && e && typeof e === 'object')
      .map(([k, e]): [string, Record<string, unknown>] => [k, e.input_cost_per_token === undefined && e.output_cost_per_token === undefined && steps(e).length ? { ...steps(e)[0], litellm_provider: e.litellm_provider } : e])
      .filter(([, e]) => typeof e.input_cost_per_token === 'number' || typeof e.output_cost_per_token === 'number');
    expect(priced.filter(([, e]) => Array.isArray(e.range)).length).toBe(18);
    expect(builtin.entries.length + builtin.zeroPriced).toBe(priced.length);
    expect(builtin.entries.length).toBeGreaterThan(2000);
    expect(builtin.zeroPriced).toBeGreaterThan(100); // Ollama, free tiers: left out
    expect(builtin.lastUpdated).toBe(raw.last_updated as unknown as string);
    expect(builtin.source).toMatch(/litellm/i);
    const byName = new Map(builtin.entries.map((p) => [p.name, p]));
    for (const [name, e] of priced) {
      const p = byName.get(name);
      if (!p) continue; // $0
      expect([name, p.provider, p.input, p.output]).toEqual([name, e.litellm_provider, Math.round(((e.input_cost_per_token as number) ?? 0) * 1e15) / 1e9, Math.round(((e.output_cost_per_token as number) ?? 0) * 1e15) / 1e9]);
    }
  });

  it('is exactly what the refresh command makes of the LiteLLM file (scripts/refresh-prices.ts)', () => {
    const doc = JSON.parse(fs.readFileSync(BUILTIN_PRICES, 'utf8')) as { source: string; license: string; refresh: string };
    const again = formatPriceFile(fromLiteLlm(liteDoc()), { source: doc.source, license: doc.license, refresh: doc.refresh });
    expect(again).toBe(fs.readFileSync(BUILTIN_PRICES, 'utf8'));
  });

  it('keeps long-context tiers and cache prices', () => {
    const sonnet4 = builtin.entries.find((p) => p.name === 'claude-sonnet-4-20250514')!;
    expect(sonnet4).toMatchObject({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, tiers: [{ above: 200_000, input: 6, output: 22.5 }] });
    const deepseek = builtin.entries.find((p) => p.name === 'deepseek/deepseek-chat')!;
    expect(deepseek.cacheWrite).toBeUndefined(); // LiteLLM's $0 cache write next to a real input price is "no separate price"
  });
});

describe('model name resolution', () => {
  const table = buildPriceTable('builtin', []);
  const name = (model: string, provider?: string, address?: string) => table.resolve(model, table.context(provider, address)).price?.name;

  it('takes the provider from server.address, then gen_ai.provider.name / gen_ai.system / llm.provider, then a routing prefix', () => {
    expect(name('gpt-4o', 'openai', 'res.openai.azure.com')).toBe('azure/gpt-4o');
    expect(name('gpt-4o', 'azure.ai.openai')).toBe('azure/gpt-4o');
    expect(name('gpt-4o', 'openai')).toBe('gpt-4o');
    expect(name('azure/gpt-4o')).toBe('azure/gpt-4o');
    // a generic client name (openai) gives way to the name's own routing prefix; any other provider does not
    expect(name('bedrock/anthropic.claude-3-haiku-20240307-v1:0', 'openai')).toBe('anthropic.claude-3-haiku-20240307-v1:0');
    expect(name('deepseek/deepseek-chat', 'openrouter')).toBe('openrouter/deepseek/deepseek-chat');
    expect(name('deepseek/deepseek-chat')).toBe('deepseek/deepseek-chat');
  });

  it('every key of the table, sent as it is (with its provider, or with none), gets its own prices or is unpriced: never another price', () => {
    const t = buildPriceTable('builtin', []);
    const entries = readPriceFile(BUILTIN_PRICES).entries;
    const prices = (p: { input: number; output: number; cacheRead: number; cacheWrite: number; tiers?: unknown }) => JSON.stringify([p.input, p.output, p.cacheRead, p.cacheWrite, p.tiers]);
    const wrong: string[] = [];
    let unpriced = 0;
    for (const e of entries) {
      const want = prices(withFallbacks(e));
      for (const ctx of [t.context(e.provider, undefined), t.context(undefined, undefined)]) {
        const r = t.resolve(e.name, ctx);
        if (!r.price) unpriced++;
        else if (prices(r.price) !== want) wrong.push(`${e.name} (${e.provider}) -> ${r.price.name}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(unpriced).toBeLessThan(20); // a few keys LiteLLM lists twice at different prices under two providers
  });

  it('never crosses to another provider: a known provider without the model is unpriced', () => {
    expect(table.resolve('llama3-70b-8192', table.context('groq', undefined))).toEqual({ reason: 'no_price' });
    expect(table.resolve('gpt-4o', table.context('anthropic', undefined))).toEqual({ reason: 'no_price' });
  });

  it('a normalised name is priced only when every entry it could mean has the same prices', () => {
    // mistral-large with no version: 2402 ($4), 2407 ($3), 2411 ($2), latest ($0.5) -> ambiguous
    expect(table.resolve('mistral-large', table.context('mistral_ai', undefined))).toEqual({ reason: 'ambiguous' });
    // a version that is not in the table is not priced as another version
    expect(table.resolve('gpt-4o-2031-01-01', table.context('openai', undefined))).toEqual({ reason: 'no_price' });
    // Anthropic's name on Bedrock: one Bedrock entry means it
    expect(name('claude-3-5-sonnet-20241022', 'aws.bedrock')).toBe('anthropic.claude-3-5-sonnet-20241022-v2:0');
    // Vertex's @ and punctuation variants
    expect(name('claude-3-5-haiku@20241022', 'gcp.vertex_ai')).toBe('vertex_ai/claude-3-5-haiku@20241022');
    expect(name('CLAUDE-3.7-SONNET-20250219', 'anthropic')).toBe('claude-3-7-sonnet-20250219');
  });

  it('geo profiles: the geo entry, else any other geo profile of the model (same surcharge), global. and none at the base price', () => {
    const ctx = table.context('aws.bedrock', undefined);
    expect(table.resolve('us.anthropic.claude-sonnet-4-6', ctx).price).toMatchObject({ input: 3.3 });
    expect(table.resolve('apac.anthropic.claude-sonnet-4-6', ctx).price).toMatchObject({ input: 3.3 });
    expect(table.resolve('global.anthropic.claude-sonnet-4-6', ctx).price).toMatchObject({ input: 3 });
    expect(table.resolve('anthropic.claude-sonnet-4-6', ctx).price).toMatchObject({ input: 3 });
  });

  it('normalises names into geo, base and version', () => {
    expect(normaliseModel('us.anthropic.claude-3-5-sonnet-20241022-v2:0')).toEqual({ geo: 'us', base: 'claude-3-5-sonnet', ver: '20241022' });
    expect(normaliseModel('claude-3.5-sonnet@20241022')).toEqual({ geo: '', base: 'claude-3-5-sonnet', ver: '20241022' });
    expect(normaliseModel('openai/gpt-4o-2024-08-06')).toEqual({ geo: '', base: 'gpt-4o', ver: '20240806' });
    expect(normaliseModel('mistral-large-latest')).toEqual({ geo: '', base: 'mistral-large', ver: 'latest' });
    expect(normaliseModel('deepseek-v3')).toEqual({ geo: '', base: 'deepseek-v3', ver: '' });
  });

  it("the user's entries win by exact name (also behind a routing prefix); regexes come last", () => {
    const t = buildPriceTable('builtin', [
      { model: 'gpt-4o-2024-08-06', input: 9, output: 9 },
      { match: '^acme-.*-large$', input: 1, output: 2 },
      { match: 'gpt-4o', input: 100, output: 100 }, // never reached for gpt-4o names: they resolve before the regexes
    ]);
    expect(t.resolve('gpt-4o-2024-08-06')).toMatchObject({ how: 'user', price: { input: 9 } });
    expect(t.resolve('openai/gpt-4o-2024-08-06')).toMatchObject({ how: 'user', price: { input: 9 } });
    expect(t.resolve('gpt-4o')).toMatchObject({ how: 'exact', price: { name: 'gpt-4o', input: 2.5 } });
    expect(t.resolve('ACME-chat-large')).toMatchObject({ how: 'match', price: { input: 1, output: 2 } });
    expect(t.resolve('totally-unknown-model')).toEqual({ reason: 'no_price' });
  });

  it('`match` regexes are RE2, searched for and case-insensitive: linear in the model name a span sends', () => {
    // first (a backtracking engine would hang on the long name below): a lookbehind, which JavaScript has and
    // RE2 refuses, is a config error, not a regex of another dialect
    expect(() => buildPriceTable('builtin', [{ match: '(?<=acme-)large', input: 1, output: 1 }])).toThrow(/lookbehind/);
    const t = buildPriceTable('builtin', [
      { match: '(a|aa)+$', input: 3, output: 4 }, // exponential for a backtracking engine on "aaa...b"
      { match: 'internal', input: 1, output: 1 },
    ]);
    expect(t.resolve(`${'a'.repeat(5000)}!`)).toEqual({ reason: 'no_price' });
    expect(t.resolve('x-AAAA')).toMatchObject({ how: 'match', price: { input: 3 } });
    expect(t.resolve('my-INTERNAL-model-v2')).toMatchObject({ how: 'match', price: { input: 1 } });
  });

  it('caches each (provider context, model) resolution', () => {
    const t = buildPriceTable('builtin', []);
    const ctx = t.context('openai', undefined);
    expect(t.context('openai', undefined)).toBe(ctx);
    const a = t.resolve('openai/gpt-4o', ctx);
    expect(t.resolve('openai/gpt-4o', ctx)).toBe(a);
    expect(t.resolve('openai/gpt-4o', t.context('anthropic', undefined))).not.toBe(a);
  });
});

describe('cost arithmetic with tiers and cache fallbacks', () => {
  it('above the threshold every token of the call is at the tier rate (LiteLLM *_above_200k_tokens)', () => {
    const t = buildPriceTable('builtin', []);
    const p = t.resolve('gemini/gemini-2.5-pro').price!;
    expect(callCost(p, 200_000, 0, 0, 0)).toBeCloseTo(0.25, 12); // at the threshold: base
    expect(callCost(p, 200_001, 1000, 0, 0)).toBeCloseTo((200_001 * 2.5 + 1000 * 15) / 1e6, 12);
  });

  it('reasoning: its own price from every source (LiteLLM file, our file, prices:), else the output price (of the tier)', () => {
    const dir = tempDir();
    const lite = path.join(dir, 'litellm.json');
    fs.writeFileSync(lite, JSON.stringify({ 'r-model': { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, output_cost_per_reasoning_token: 5e-6 }, plain: { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, output_cost_per_token_above_200k_tokens: 3e-6 } }));
    const own = path.join(dir, 'own.json');
    fs.writeFileSync(own, formatPriceFile(readPriceFile(lite), { source: 's', license: 'l', refresh: 'r' }));
    for (const file of [lite, own]) {
      const t = buildPriceTable(file, [{ model: 'mine', input: 1, output: 2, reasoning: 7 }, { model: 'mine-plain', input: 1, output: 2 }]);
      const r = t.resolve('r-model').price!;
      // 1M output of which 400k reasoning: 600k at $2 + 400k at $5, never the 400k twice
      expect(callCost(r, 0, 1_000_000, 0, 0, 400_000)).toBeCloseTo(0.6 * 2 + 0.4 * 5, 12);
      const plain = t.resolve('plain').price!;
      expect(callCost(plain, 0, 1_000_000, 0, 0, 400_000)).toBeCloseTo(2, 12);
      expect(callCost(plain, 300_000, 1_000_000, 0, 0, 400_000)).toBeCloseTo(0.3 * 1 + 0.6 * 3 + 0.4 * 3, 12); // reasoning at the tier's output price
      expect(callCost(t.resolve('mine').price!, 0, 1_000_000, 0, 0, 400_000)).toBeCloseTo(0.6 * 2 + 0.4 * 7, 12);
      expect(callCost(t.resolve('mine-plain').price!, 0, 1_000_000, 0, 0, 400_000)).toBeCloseTo(2, 12);
    }
    expect(fs.readFileSync(own, 'utf8')).toContain('{"model":"r-model","input":1,"output":2,"reasoning":5}');
    fs.writeFileSync(own, '{"models": [{"model": "x", "input": 1, "output": 1, "reasoning": -1}]}');
    expect(() => loadPriceFile(own)).toThrow(`price table ${own}: models[0] (x): "reasoning" must be a number >= 0 (USD per 1M tokens)`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("Perplexity counts reasoning beside the completion: the output whole plus the reasoning at its own price (none: $0), from a LiteLLM file and our own", () => {
    const dir = tempDir();
    const lite = path.join(dir, 'litellm.json');
    fs.writeFileSync(
      lite,
      JSON.stringify({
        'perplexity/deep': { litellm_provider: 'perplexity', input_cost_per_token: 2e-6, output_cost_per_token: 8e-6, output_cost_per_reasoning_token: 3e-6 },
        'perplexity/same': { litellm_provider: 'perplexity', input_cost_per_token: 1e-6, output_cost_per_token: 5e-6, output_cost_per_reasoning_token: 5e-6 },
        'perplexity/none': { litellm_provider: 'perplexity', input_cost_per_token: 1e-6, output_cost_per_token: 5e-6 },
        'other/deep': { litellm_provider: 'other', input_cost_per_token: 2e-6, output_cost_per_token: 8e-6, output_cost_per_reasoning_token: 3e-6 },
      }),
    );
    const own = path.join(dir, 'own.json');
    fs.writeFileSync(own, formatPriceFile(readPriceFile(lite), { source: 's', license: 'l', refresh: 'r' }));
    for (const file of [lite, own]) {
      const t = buildPriceTable(file, []);
      // 1,000 completion + 5,000 reasoning tokens (LiteLLM llms/perplexity/cost_calculator.py)
      expect(callCost(t.resolve('perplexity/deep').price!, 0, 1000, 0, 0, 5000), file).toBeCloseTo((1000 * 8 + 5000 * 3) / 1e6, 12);
      expect(callCost(t.resolve('perplexity/same').price!, 0, 1000, 0, 0, 5000), file).toBeCloseTo((1000 * 5 + 5000 * 5) / 1e6, 12);
      expect(callCost(t.resolve('perplexity/none').price!, 0, 1000, 0, 0, 5000), file).toBeCloseTo((1000 * 5) / 1e6, 12);
      // any other provider: reasoning is a part of the output (OTel GenAI)
      expect(callCost(t.resolve('other/deep').price!, 0, 6000, 0, 0, 5000), file).toBeCloseTo((1000 * 8 + 5000 * 3) / 1e6, 12);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a Claude entry without cache prices gets Anthropic\'s multipliers; any other model the input price', () => {
    const t = new PriceTable();
    t.add([
      { name: 'snowflake/claude-x', provider: 'snowflake', input: 3, output: 15, cacheRead: 0.3 },
      { name: 'plain', input: 2, output: 4 },
    ]);
    expect(t.resolve('snowflake/claude-x').price).toMatchObject({ cacheRead: 0.3, cacheWrite: 3.75 });
    expect(t.resolve('plain').price).toMatchObject({ cacheRead: 2, cacheWrite: 2 });
  });

  it('above a long-context threshold, a cache price the entry does not have follows the tier\'s input price (one it has is kept)', () => {
    const t = new PriceTable();
    t.add([
      // LiteLLM gemini-2.5-computer-use-preview-10-2025: no cache prices, a 200k tier of $2.50/$15
      { name: 'gemini-x', input: 1.25, output: 10, tiers: [{ above: 200_000, input: 2.5, output: 15 }] },
      { name: 'claude-y', input: 3, output: 15, tiers: [{ above: 200_000, input: 6, output: 22.5 }] },
      { name: 'kept', input: 1, output: 2, cacheRead: 0.25, tiers: [{ above: 200_000, input: 2, output: 4 }] },
    ]);
    // 300k input of which 50k cached, 10k output: every token at the tier's rates
    expect(callCost(t.resolve('gemini-x').price!, 300_000, 10_000, 50_000, 0)).toBeCloseTo((300_000 * 2.5 + 10_000 * 15) / 1e6, 12);
    expect(callCost(t.resolve('claude-y').price!, 300_000, 10_000, 50_000, 20_000)).toBeCloseTo((230_000 * 6 + 50_000 * 0.6 + 20_000 * 7.5 + 10_000 * 22.5) / 1e6, 12);
    expect(callCost(t.resolve('kept').price!, 300_000, 0, 50_000, 0)).toBeCloseTo((250_000 * 2 + 50_000 * 0.25) / 1e6, 12);
  });
});

describe('price files', () => {
  it('loads the LiteLLM file itself (price_table: <path>) with the same entries as the built-in table', () => {
    const table = buildPriceTable(LITELLM, []);
    const builtin = buildPriceTable('builtin', []);
    expect(table.size).toBe(builtin.size);
    expect(table.resolve('us.anthropic.claude-sonnet-4-6', table.context('aws.bedrock', undefined)).price).toEqual(builtin.resolve('us.anthropic.claude-sonnet-4-6', builtin.context('aws.bedrock', undefined)).price);
  });

  it('leaves out entries priced $0 (they would be a silent $0)', () => {
    const dir = tempDir();
    const f = path.join(dir, 'p.json');
    fs.writeFileSync(f, JSON.stringify({ 'ollama/llama3': { input_cost_per_token: 0, output_cost_per_token: 0, litellm_provider: 'ollama' }, m: { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 } }));
    const r = readPriceFile(f);
    expect(r.entries.map((e) => e.name)).toEqual(['m']);
    expect(r.zeroPriced).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('service tiers (flex, priority): their own prices from a LiteLLM file and our own, a price not given being the standard one', () => {
    const dir = tempDir();
    const lite = path.join(dir, 'litellm.json');
    fs.writeFileSync(
      lite,
      JSON.stringify({
        m: {
          litellm_provider: 'openai',
          input_cost_per_token: 2e-6,
          output_cost_per_token: 8e-6,
          cache_read_input_token_cost: 5e-7,
          input_cost_per_token_above_200k_tokens: 4e-6,
          input_cost_per_token_flex: 1e-6,
          output_cost_per_token_flex: 4e-6,
          input_cost_per_token_priority: 3.5e-6,
          input_cost_per_token_above_200k_tokens_priority: 7e-6,
        },
      }),
    );
    const own = path.join(dir, 'own.json');
    fs.writeFileSync(own, formatPriceFile(readPriceFile(lite), { source: 's', license: 'l', refresh: 'r' }));
    expect(fs.readFileSync(own, 'utf8')).toContain('"service_tiers":{"flex":{"input":1,"output":4},"priority":{"input":3.5,"tiers":[{"above":200000,"input":7}]}}');
    for (const file of [lite, own]) {
      const p = buildPriceTable(file, []).resolve('m').price!;
      const flex = p.serviceTiers!.flex!;
      const priority = p.serviceTiers!.priority!;
      // 100k input of which 10k cached, 1M output: flex keeps the standard cache read ($0.50), priority the output ($8)
      expect(callCost(flex, 100_000, 1_000_000, 10_000, 0), file).toBeCloseTo(0.09 * 1 + 0.01 * 0.5 + 4, 12);
      expect(callCost(priority, 100_000, 1_000_000, 0, 0), file).toBeCloseTo(0.1 * 3.5 + 8, 12);
      // above 200k: the priority tier's own price; flex has none, so the standard tier's
      expect(callCost(priority, 300_000, 0, 0, 0), file).toBeCloseTo(0.3 * 7, 12);
      expect(callCost(flex, 300_000, 0, 0, 0), file).toBeCloseTo(0.3 * 4, 12);
    }
    fs.writeFileSync(own, '{"models": [{"model": "x", "input": 1, "output": 1, "service_tiers": {"batch": {"input": 0.5}}}]}');
    expect(() => loadPriceFile(own)).toThrow(`price table ${own}: models[0].service_tiers.batch (x): unknown service tier (expected flex or priority)`);
    fs.writeFileSync(own, '{"models": [{"model": "x", "input": 1, "output": 1, "service_tiers": {"flex": {"input": -1}}}]}');
    expect(() => loadPriceFile(own)).toThrow(`price table ${own}: models[0].service_tiers.flex (x): "input" must be a number >= 0 (USD per 1M tokens)`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('step pricing (LiteLLM tiered_pricing): the range the input falls in prices every token, from a LiteLLM file and our own', () => {
    const dir = tempDir();
    const lite = path.join(dir, 'litellm.json');
    const range = (start: number, end: number, input: number, output: number, more: Record<string, number> = {}) => ({ range: [start, end], input_cost_per_token: input, output_cost_per_token: output, ...more });
    fs.writeFileSync(
      lite,
      JSON.stringify({
        'dashscope/q': { litellm_provider: 'dashscope', tiered_pricing: [range(32_000, 128_000, 2e-6, 1e-5, { output_cost_per_reasoning_token: 3e-5 }), range(0, 32_000, 1e-6, 5e-6, { cache_read_input_token_cost: 1e-7, output_cost_per_reasoning_token: 2e-5 })] },
        'search/per-query': { litellm_provider: 'search', tiered_pricing: [{ input_cost_per_query: 0.005, max_results_range: [0, 25] }] },
      }),
    );
    const own = path.join(dir, 'own.json');
    fs.writeFileSync(own, formatPriceFile(readPriceFile(lite), { source: 's', license: 'l', refresh: 'r' }));
    expect(fs.readFileSync(own, 'utf8')).toContain('{"model":"dashscope/q","provider":"dashscope","input":1,"output":5,"cache_read":0.1,"reasoning":20,"tiers":[{"above":32000,"input":2,"output":10,"cache_read":2,"reasoning":30}]}');
    for (const file of [lite, own]) {
      const t = buildPriceTable(file, []);
      expect(t.resolve('search/per-query').price, file).toBeUndefined(); // priced per query, not per token
      const p = t.resolve('dashscope/q').price!;
      // 32,000 input (the first range, its end included) of which 2,000 cached, 1,000 output of which 400 reasoning
      expect(callCost(p, 32_000, 1000, 2000, 0, 400), file).toBeCloseTo((30_000 * 1 + 2000 * 0.1 + 600 * 5 + 400 * 20) / 1e6, 12);
      // 32,001 input: every token at the second range (no cache price of its own there: cached at its input price,
      // as LiteLLM's dashscope calculator does, not at the first range's)
      expect(callCost(p, 32_001, 1000, 2000, 0, 400), file).toBeCloseTo((32_001 * 2 + 600 * 10 + 400 * 30) / 1e6, 12);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('audio tokens: their own prices from a LiteLLM file and our own, else the text prices', () => {
    const dir = tempDir();
    const lite = path.join(dir, 'litellm.json');
    fs.writeFileSync(lite, JSON.stringify({ a: { input_cost_per_token: 2e-6, output_cost_per_token: 8e-6, input_cost_per_audio_token: 4e-5, output_cost_per_audio_token: 8e-5 }, plain: { input_cost_per_token: 2e-6, output_cost_per_token: 8e-6 } }));
    const own = path.join(dir, 'own.json');
    fs.writeFileSync(own, formatPriceFile(readPriceFile(lite), { source: 's', license: 'l', refresh: 'r' }));
    expect(fs.readFileSync(own, 'utf8')).toContain('{"model":"a","input":2,"output":8,"audio_input":40,"audio_output":80}');
    for (const file of [lite, own]) {
      const t = buildPriceTable(file, []);
      // 1,000 input of which 200 cached and 300 audio, 500 output of which 100 reasoning and 200 audio
      expect(callCost(t.resolve('a').price!, 1000, 500, 200, 0, 100, false, 300, 200), file).toBeCloseTo((500 * 2 + 200 * 2 + 300 * 40 + 200 * 8 + 100 * 8 + 200 * 80) / 1e6, 12);
      expect(callCost(t.resolve('plain').price!, 1000, 500, 0, 0, 0, false, 300, 200), file).toBeCloseTo((1000 * 2 + 500 * 8) / 1e6, 12);
    }
    fs.writeFileSync(own, '{"models": [{"model": "x", "input": 1, "output": 1, "audio_input": "loud"}]}');
    expect(() => loadPriceFile(own)).toThrow(`price table ${own}: models[0] (x): "audio_input" must be a number >= 0 (USD per 1M tokens)`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad price file with a message naming the file and the problem', () => {
    const dir = tempDir();
    const bad = path.join(dir, 'prices.json');
    fs.writeFileSync(bad, '{"models": [{"model": "x", "input": "cheap", "output": 1}]}');
    expect(() => loadPriceFile(bad)).toThrow(`price table ${bad}: models[0] (x): "input" must be a number >= 0 (USD per 1M tokens)`);
    fs.writeFileSync(bad, '{"models": [{"model": "x", "input": 1, "output": 1, "tiers": [{"input": 2}]}]}');
    expect(() => loadPriceFile(bad)).toThrow(`price table ${bad}: models[0].tiers[0] (x): "above" must be a number >= 0 (USD per 1M tokens)`);
    fs.writeFileSync(bad, '{not json');
    expect(() => loadPriceFile(bad)).toThrow(/not valid JSON/);
    fs.writeFileSync(bad, '{"a": {"b": 1}}');
    expect(() => loadPriceFile(bad)).toThrow(/no priced models found/);
    expect(() => loadPriceFile(path.join(dir, 'missing.json'))).toThrow(`price table ${path.join(dir, 'missing.json')}: the file does not exist`);
    // not UTF-8 (a model name in Latin-1): refused at the byte, not read with U+FFFD in the name
    fs.writeFileSync(bad, Buffer.concat([Buffer.from('{"models": [\n  {"model": "caf'), Buffer.from([0xe9]), Buffer.from('", "input": 1, "output": 1}]}')]));
    expect(() => loadPriceFile(bad)).toThrow(`price table ${bad}: line 2, column 17: invalid UTF-8 (byte 0xe9 at byte offset 29): save the file as UTF-8`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a later entry with the same name overrides', () => {
    const t = new PriceTable();
    t.add([{ name: 'm', input: 1, output: 1 }]);
    t.add([{ name: 'M', input: 2, output: 2 }]);
    expect(t.resolve('m').price!.input).toBe(2);
  });
});
