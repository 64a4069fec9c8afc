import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stateDirFor } from '../../src/component.ts';
import { validateComponentConfig } from '../../src/config/ajv.ts';
import { createLogger } from '../../src/logger.ts';
import {
  AggregationTemporality,
  type AnyValue,
  type Batch,
  type HistogramDataPoint,
  type NumberDataPoint,
  type Span,
  emptyScope,
  getAttr,
} from '../../src/model.ts';
import { memoryBudget } from '../../src/memory-budget.ts';
import { BUILTIN_PRICES } from './price-table.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../test/helpers/index.ts';
import { attrs, counterValue, resourceSpans, span } from '../../test/percentiles-helpers.ts';
import type { CostProcessor } from './cost-processor.ts';
import { costProcessorFactory as factory } from './index.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
let telemetry: ServiceTelemetry;
let dirs: string[] = [];

function make(raw: Record<string, unknown> = {}, over: { stateDir?: string } = {}) {
  const emitted = new SinkConsumer();
  const logs: string[] = [];
  const stateDir = over.stateDir ?? tempDir();
  dirs.push(stateDir);
  const settings = testSettings('processor', 'cost', {
    emit: emitted,
    stateDir,
    telemetry: telemetry.forComponent('processor', 'cost'),
    logger: createLogger('info', { write: (s: string) => logs.push(s) }),
  });
  const proc = factory.create(settings, configFor(factory, raw)) as CostProcessor;
  return { proc, emitted, logs, settings };
}

function llmSpan(a: Record<string, string | number | bigint>): Span {
  return span(T0, 1000, { attributes: attrs(a) });
}

async function price(proc: CostProcessor, spans: Span[], service = 'bot'): Promise<Span[]> {
  const next = new SinkConsumer();
  await proc.process({ resourceSpans: [resourceSpans(service, spans)] }, next);
  return next.spans;
}

const cost = (s: Span): AnyValue | undefined => getAttr(s.attributes, 'gen_ai.usage.cost');

beforeEach(() => {
  telemetry = new ServiceTelemetry();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(T0);
});
afterEach(async () => {
  vi.useRealTimers();
  await telemetry.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('cost: pricing spans', () => {
  it('prices input and output tokens (hand-computed) and records what matched', async () => {
    const { proc } = make();
    const [s] = await price(proc, [llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 })]);
    // 1000 x $2.50/M + 200 x $10/M
    expect(cost(s!)).toBeCloseTo(0.0025 + 0.002, 12);
    expect(typeof cost(s!)).toBe('number');
    expect(getAttr(s!.attributes, 'gen_ai.usage.cost.source')).toBe('table');
    expect(getAttr(s!.attributes, 'gen_ai.usage.cost.model')).toBe('gpt-4o');
    await proc.shutdown();
  });

  it('prices cached input at its own rate, and not twice (input_tokens includes cached ones)', async () => {
    const { proc } = make();
    const [openai, anthropic, clamp] = await price(proc, [
      // gpt-4o: 1000 input of which 800 cached: 200 x 2.50 + 800 x 1.25 + 100 x 10
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000n, 'gen_ai.usage.cache_read.input_tokens': 800n, 'gen_ai.usage.output_tokens': 100n }),
      // claude-sonnet-4-5: 10000 input = 6000 cache read + 3000 cache write + 1000 fresh; 500 output
      llmSpan({
        'gen_ai.request.model': 'claude-sonnet-4-5-20250929',
        'gen_ai.usage.input_tokens': 10000,
        'gen_ai.usage.cache_read.input_tokens': 6000,
        'gen_ai.usage.cache_creation.input_tokens': 3000,
        'gen_ai.usage.output_tokens': 500,
      }),
      // cached larger than input: not a part of it (Anthropic's own usage, copied as is): 100 fresh + 400 cached
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.cache_read.input_tokens': 400 }),
    ]);
    expect(cost(openai!)).toBeCloseTo((200 * 2.5 + 800 * 1.25 + 100 * 10) / 1e6, 12);
    expect(cost(anthropic!)).toBeCloseTo((1000 * 3 + 6000 * 0.3 + 3000 * 3.75 + 500 * 15) / 1e6, 12);
    expect(cost(clamp!)).toBeCloseTo((100 * 2.5 + 400 * 1.25) / 1e6, 12);
    await proc.shutdown();
  });

  it("reads Anthropic's own usage (input_tokens without the cache, cache counts above it) as fresh + cache read + cache write, and counts every input token", async () => {
    const { proc, emitted } = make();
    // Anthropic Messages API usage: {input_tokens: 10, cache_read_input_tokens: 5000, cache_creation_input_tokens: 2000, output_tokens: 300}
    // copied as is (OpenLLMetry names); LiteLLM prices 10 x $3 + 5000 x $0.30 + 2000 x $3.75 + 300 x $15 per 1M
    const [s] = await price(proc, [
      llmSpan({
        'gen_ai.system': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-5-20250929',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.cache_read_input_tokens': 5000,
        'gen_ai.usage.cache_creation_input_tokens': 2000,
        'gen_ai.usage.output_tokens': 300,
      }),
    ]);
    expect(cost(s!)).toBeCloseTo((10 * 3 + 5000 * 0.3 + 2000 * 3.75 + 300 * 15) / 1e6, 12);
    await proc.flush();
    const tokens = emitted.metrics.find((m) => m.name === 'llm.tokens')!.data!.dataPoints as NumberDataPoint[];
    expect(tokens.map((p) => [getAttr(p.attributes, 'gen_ai.token.type'), p.value])).toEqual([['input', 7010n], ['output', 300n]]);
    await proc.shutdown();
  });

  it('reads the deprecated prompt/completion token names and gen_ai.system', async () => {
    const { proc, emitted } = make();
    const [s] = await price(proc, [llmSpan({ 'gen_ai.request.model': 'deepseek-chat', 'gen_ai.usage.prompt_tokens': '2000', 'gen_ai.usage.completion_tokens': 1000, 'gen_ai.system': 'deepseek' })]);
    expect(cost(s!)).toBeCloseTo((2000 * 0.28 + 1000 * 0.42) / 1e6, 12);
    await proc.flush();
    const dp = emitted.metrics.find((m) => m.name === 'llm.cost')!.data!.dataPoints[0] as NumberDataPoint;
    expect(getAttr(dp.attributes, 'gen_ai.system')).toBe('deepseek');
    expect(getAttr(dp.attributes, 'gen_ai.provider.name')).toBe('deepseek');
    await proc.shutdown();
  });

  it('prices each name form as it arrives, by the response model first', async () => {
    const { proc } = make();
    const forms: [Record<string, string | number>, number][] = [
      [{ 'gen_ai.request.model': 'openai/gpt-4o-mini' }, 0.15],
      [{ 'gen_ai.request.model': 'azure/gpt-4o-mini' }, 0.165], // LiteLLM's azure/gpt-4o-mini entry, not OpenAI's gpt-4o-mini
      [{ 'gen_ai.request.model': 'us.anthropic.claude-haiku-4-5-20251001-v1:0' }, 1.1], // the us. geo profile: +10% (LiteLLM, AWS Bedrock pricing)
      [{ 'gen_ai.request.model': 'anthropic.claude-3-haiku-20240307-v1:0' }, 0.25],
      [{ 'gen_ai.request.model': 'claude-opus-4-5@20251101' }, 5],
      [{ 'gen_ai.request.model': 'GPT-4.1-2025-04-14' }, 2],
      [{ 'gen_ai.request.model': 'mistral-large-latest', 'gen_ai.provider.name': 'mistral_ai' }, 0.5], // without a provider: ambiguous (Azure's is $8)
      [{ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18' }, 0.15],
      [{ 'gen_ai.request.model': 'us.amazon.nova-micro-v1:0' }, 0.035],
    ];
    const spans = await price(proc, forms.map(([a]) => llmSpan({ ...a, 'gen_ai.usage.input_tokens': 1_000_000 })));
    forms.forEach(([a, perM], i) => expect([a, cost(spans[i]!)]).toEqual([a, perM]));
    await proc.shutdown();
  });

  it('applies the user prices: exact overrides, additions and regexes', async () => {
    const { proc } = make({
      prices: [
        { model: 'my-finetune', input: 2, output: 6, cache_read: 0.5 },
        { model: 'gpt-4o', input: 1, output: 1 },
        { match: '^internal-', input: 0.1, output: 0.2 },
      ],
    });
    const [a, b, c] = await price(proc, [
      llmSpan({ 'gen_ai.request.model': 'my-finetune', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.cache_read.input_tokens': 500, 'gen_ai.usage.output_tokens': 100 }),
      llmSpan({ 'gen_ai.request.model': 'openai/gpt-4o', 'gen_ai.usage.input_tokens': 1000 }),
      llmSpan({ 'gen_ai.request.model': 'internal-summariser-v3', 'gen_ai.usage.output_tokens': 1000 }),
    ]);
    expect(cost(a!)).toBeCloseTo((500 * 2 + 500 * 0.5 + 100 * 6) / 1e6, 12);
    expect(cost(b!)).toBeCloseTo(1000 / 1e6, 12);
    expect(cost(c!)).toBeCloseTo(0.2 / 1000, 12);
    expect(getAttr(c!.attributes, 'gen_ai.usage.cost.model')).toBe('^internal-');
    await proc.shutdown();
  });

  it('never prices an unknown model at $0: marks it unpriced, counts it per model, warns once', async () => {
    const { proc, logs } = make();
    const spans = await price(proc, [
      llmSpan({ 'gen_ai.request.model': 'mystery-7b', 'gen_ai.usage.input_tokens': 10 }),
      llmSpan({ 'gen_ai.request.model': 'mystery-7b', 'gen_ai.usage.input_tokens': 10 }),
      llmSpan({ 'gen_ai.request.model': 'other-13b', 'gen_ai.usage.output_tokens': 10 }),
      llmSpan({ 'gen_ai.request.model': 'gpt-4o' }), // no tokens: cannot be priced, counted with the reason
      span(T0, 5), // not an LLM call
    ]);
    expect(getAttr(spans[0]!.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
    expect(cost(spans[0]!)).toBeUndefined();
    expect(getAttr(spans[3]!.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
    expect(cost(spans[3]!)).toBeUndefined();
    expect(spans[4]!.attributes).toEqual([]);
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', model: 'mystery-7b', reason: 'no_price' })).toBe(2);
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', model: 'other-13b', reason: 'no_price' })).toBe(1);
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', model: 'gpt-4o', reason: 'no_tokens' })).toBe(1);
    const warnings = logs.filter((l) => l.includes('no price in the table'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('mystery-7b');
    await proc.shutdown();
  });
  it('counts what folds into the overflow usage series and the overflow budget group on /metrics, and logs each kind once', async () => {
    const { proc, emitted, logs } = make({ budgets: [{ name: 'per-user', limit_usd: 10, group_by: ['user.id'] }] });
    // 10,000 usage series (one per model name) fit; every call past them goes to the overflow series
    const spans = Array.from({ length: 10_300 }, (_, i) => llmSpan({ 'gen_ai.request.model': `gpt-4o`, 'gen_ai.usage.input_tokens': 10, 'user.id': `u${i}` }));
    for (let i = 0; i < 10_300; i++) spans[i]!.attributes.push({ key: 'gen_ai.operation.name', value: `op${i}` });
    await price(proc, spans);
    // 1000 budget groups fit: the spend of the 9,300 other users goes to the overflow group
    expect(await counterValue(telemetry, 'vigil_processor_series_overflow_items', { processor: 'cost', store: 'budget' })).toBe(9300);
    expect(await counterValue(telemetry, 'vigil_processor_series_overflow_items', { processor: 'cost', store: 'usage' })).toBe(300);
    await price(proc, spans.slice(10_000));
    expect(await counterValue(telemetry, 'vigil_processor_series_overflow_items', { processor: 'cost', store: 'usage' })).toBe(600);
    await proc.flush();
    const tokens = emitted.metrics.filter((m) => m.name === 'llm.tokens').flatMap((m) => m.data!.dataPoints as NumberDataPoint[]);
    const overflow = tokens.filter((p) => getAttr(p.attributes, 'otel.metric.overflow') === true);
    expect(overflow.map((p) => p.value)).toEqual([600n * 10n]);
    expect(logs.filter((l) => l.includes('vigil_processor_series_overflow_items_total{store=\\"usage\\"}'))).toHaveLength(1);
    expect(logs.filter((l) => l.includes('vigil_processor_series_overflow_items_total{store=\\"budget\\"}'))).toHaveLength(1);
    await proc.shutdown();
  });
  it('overwrites the cost attributes a span already carries (priced again: no duplicates)', async () => {
    const { proc } = make();
    const s = llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.cost.source': 'stale', 'gen_ai.usage.cost': -1 });
    const [once] = await price(proc, [s]);
    const first = cost(once!);
    expect(first).toBeGreaterThan(0);
    expect(getAttr(once!.attributes, 'gen_ai.usage.cost.source')).toBe('table');
    const [twice] = await price(proc, [once!]);
    expect(cost(twice!)).toBe(first);
    for (const key of ['gen_ai.usage.cost', 'gen_ai.usage.cost.source', 'gen_ai.usage.cost.model']) {
      expect(twice!.attributes.filter((kv) => kv.key === key)).toHaveLength(1);
    }
    // the model now has no price: the source flips to unpriced in place
    const unknown = twice!.attributes.find((kv) => kv.key === 'gen_ai.request.model')!;
    unknown.value = 'mystery-7b';
    const [third] = await price(proc, [twice!]);
    expect(third!.attributes.filter((kv) => kv.key === 'gen_ai.usage.cost.source').map((kv) => kv.value)).toEqual(['unpriced']);
    await proc.shutdown();
  });
});

describe('cost: bad input', () => {
  it('prices what it can and passes every span on, whatever the attribute values', async () => {
    const { proc } = make();
    const weird = [
      span(T0, 1, { attributes: [{ key: 'gen_ai.request.model', value: { kvlist: [] } }, { key: 'gen_ai.usage.input_tokens', value: 5 }] }),
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 'lots' }),
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.output_tokens': 10 }),
      llmSpan({ 'gen_ai.request.model': '', 'gen_ai.usage.input_tokens': 5 }),
    ];
    const next = new SinkConsumer();
    const batch: Batch = { resourceSpans: [{ ...resourceSpans('x', weird), resource: undefined as never }] };
    await proc.process(batch, next);
    expect(next.spans).toHaveLength(4);
    expect(getAttr(next.spans[0]!.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
    expect(cost(next.spans[1]!)).toBeUndefined();
    // a negative input is no count: not priced from the output alone (input 0 would be a made-up count)
    expect(cost(next.spans[2]!)).toBeUndefined();
    expect(getAttr(next.spans[2]!.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
    expect(cost(next.spans[3]!)).toBeUndefined();
    await proc.shutdown();
  });

  it('a fractional, negative or out-of-range token count (12.5, -5, 2e9) is invalid: unpriced with the reason, its tokens not counted, never priced with a count made up; 12.0 is 12', async () => {
    const { proc, emitted, logs } = make({ budgets: [{ name: 'day', limit_usd: 10 }] });
    const call = (a: Record<string, string | number | bigint>) => llmSpan({ 'gen_ai.request.model': 'gpt-4o', ...a });
    const spans = await price(proc, [
      call({ 'gen_ai.usage.input_tokens': 12.5, 'gen_ai.usage.output_tokens': 3 }),
      call({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 0.5 }),
      call({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 3, 'gen_ai.usage.cache_read.input_tokens': 40.5 }),
      call({ 'llm.token_count.prompt': '2.5', 'llm.token_count.completion': 3 }),
      call({ 'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.output_tokens': 3 }),
      call({ 'gen_ai.usage.input_tokens': 2e9, 'gen_ai.usage.output_tokens': 3 }),
      call({ 'gen_ai.usage.input_tokens': 12.0, 'gen_ai.usage.output_tokens': 3 }), // integral double: a count
    ]);
    for (const s of spans.slice(0, 6)) {
      expect(cost(s)).toBeUndefined();
      expect(getAttr(s.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
    }
    expect(cost(spans[6]!)).toBeCloseTo((12 * 2.5 + 3 * 10) / 1e6, 15);
    await proc.flush();
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', model: 'gpt-4o', reason: 'invalid_tokens' })).toBe(6);
    const warning = logs.filter((l) => l.includes('invalid_tokens'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toContain('gen_ai.usage.input_tokens: expected a whole number of tokens from 0 to 1000000000, got 12.5');
    // only the valid call's tokens and cost count
    const tokens = emitted.metrics.find((m) => m.name === 'llm.tokens')!.data!.dataPoints as NumberDataPoint[];
    expect(tokens.map((p) => [getAttr(p.attributes, 'gen_ai.token.type'), p.value])).toEqual([['input', 12n], ['output', 3n]]);
    const spent = emitted.metrics.find((m) => m.name === 'llm.budget.spent')!.data!.dataPoints[0] as NumberDataPoint;
    expect(spent.value).toBeCloseTo((12 * 2.5 + 3 * 10) / 1e6, 15);
    await proc.shutdown();
  });

  it('reads a token count beyond 2^53 - 1 (1e308, "Infinity") as no count: no absurd price, and the interval is still emitted', async () => {
    const { proc, emitted } = make({ budgets: [{ name: 'day', limit_usd: 10 }] });
    const huge = (input: number | string) => llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.prompt_tokens': 500, 'gen_ai.usage.output_tokens': 10 });
    const spans = await price(proc, [
      llmSpan({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 10 }),
      huge(1e308),
      huge(1e308),
      huge('Infinity'),
      huge(2 ** 60),
    ]);
    // the unusable input_tokens does not hide the usable prompt_tokens (README "What it reads")
    for (const s of spans.slice(1)) expect(cost(s)).toBeCloseTo((500 * 2.5 + 10 * 10) / 1e6, 12);
    await expect(proc.flush()).resolves.toBeUndefined();
    const tokens = emitted.metrics.find((m) => m.name === 'llm.tokens')!.data!.dataPoints as NumberDataPoint[];
    const tok = (model: string, type: string) => tokens.find((p) => getAttr(p.attributes, 'gen_ai.request.model') === model && getAttr(p.attributes, 'gen_ai.token.type') === type)?.value;
    expect([tok('gpt-4o-mini', 'input'), tok('gpt-4o', 'input'), tok('gpt-4o', 'output')]).toEqual([1000n, 2000n, 40n]);
    const spent = emitted.metrics.find((m) => m.name === 'llm.budget.spent')!.data!.dataPoints[0] as NumberDataPoint;
    expect(spent.value).toBeCloseTo((1000 * 0.15 + 10 * 0.6 + 4 * (500 * 2.5 + 10 * 10)) / 1e6, 12);
    await proc.shutdown();
  });
});

describe('cost: emitted metrics', () => {
  it('an interval longer than Node\'s longest timer (24.8 days) does not emit every millisecond', async () => {
    const { proc, emitted } = make({ interval: '30d' });
    await proc.start();
    await price(proc, [llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 })]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(emitted.batches).toHaveLength(0);
    await proc.shutdown();
    expect(emitted.metrics.filter((m) => m.name === 'llm.cost')).toHaveLength(1);
  });

  it('emits llm.cost and llm.tokens every interval, per service, model, provider and operation', async () => {
    const { proc, emitted } = make({ interval: '10s' });
    await proc.start();
    await price(proc, [
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 }),
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 300 }),
      llmSpan({ 'gen_ai.request.model': 'mystery-7b', 'gen_ai.usage.input_tokens': 50 }),
    ]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(emitted.batches).toHaveLength(1);
    const costMetric = emitted.metrics.find((m) => m.name === 'llm.cost')!;
    expect(costMetric.unit).toBe('USD');
    expect(costMetric.data).toMatchObject({ type: 'sum', aggregationTemporality: AggregationTemporality.Delta, isMonotonic: true });
    const points = costMetric.data!.dataPoints as NumberDataPoint[];
    expect(points).toHaveLength(1); // the unpriced model has tokens but no cost
    expect(points[0]!.value).toBeCloseTo((4000 * 2.5 + 400 * 10) / 1e6, 12);
    expect(points[0]!.attributes).toEqual(
      attrs({ 'service.name': 'bot', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.system': 'openai', 'gen_ai.operation.name': 'chat', 'gen_ai.usage.cost.model': 'gpt-4o' }),
    );
    expect(points[0]!.startTimeUnixNano).toBe(BigInt(T0) * 1_000_000n);
    expect(points[0]!.timeUnixNano).toBe(BigInt(T0 + 10_000) * 1_000_000n);
    const tokens = emitted.metrics.find((m) => m.name === 'llm.tokens')!.data!.dataPoints as NumberDataPoint[];
    const tok = (model: string, type: string) =>
      tokens.find((p) => getAttr(p.attributes, 'gen_ai.request.model') === model && getAttr(p.attributes, 'gen_ai.token.type') === type)?.value;
    expect(tok('gpt-4o', 'input')).toBe(4000n);
    expect(tok('gpt-4o', 'output')).toBe(400n);
    expect(tok('mystery-7b', 'input')).toBe(50n);
    expect(getAttr(emitted.batches[0]!.resourceMetrics![0]!.resource.attributes, 'service.name')).toBe('bot');
    // the next interval starts from zero (delta)
    await vi.advanceTimersByTimeAsync(10_000);
    expect(emitted.metrics.filter((m) => m.name === 'llm.cost')).toHaveLength(1);
    await proc.shutdown();
  });

  it('keys llm.cost, llm.tokens and the status rows by the priced model: one per real model, whatever name was sent', async () => {
    const { proc, emitted } = make();
    await price(proc, [
      llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1000 }),
      llmSpan({ 'gen_ai.request.model': 'openai/gpt-4o', 'gen_ai.usage.input_tokens': 1000 }),
      llmSpan({ 'gen_ai.request.model': 'GPT-4o', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 1000 }),
    ]);
    await proc.flush();
    const points = emitted.metrics.find((m) => m.name === 'llm.cost')!.data!.dataPoints as NumberDataPoint[];
    expect(new Set(points.map((p) => getAttr(p.attributes, 'gen_ai.usage.cost.model')))).toEqual(new Set(['gpt-4o']));
    const tokens = emitted.metrics.find((m) => m.name === 'llm.tokens')!.data!.dataPoints as NumberDataPoint[];
    expect(tokens.every((p) => getAttr(p.attributes, 'gen_ai.usage.cost.model') === 'gpt-4o')).toBe(true);
    const rows = proc.status(Date.now()).cost!.models;
    expect(rows.map((r) => [r.model, r.inputTokens])).toEqual([['gpt-4o', 3000]]);
    expect(rows[0]!.todayUsd).toBeCloseTo((3000 * 2.5) / 1e6, 12);
    await proc.shutdown();
  });

  it('prices the gen_ai.client.token.usage histogram (its sum is the token count) into llm.cost', async () => {
    const { proc, emitted } = make();
    await proc.start();
    const point = (type: string, sum: number, start: bigint, afterMs = 0): HistogramDataPoint => ({
      attributes: attrs({ 'gen_ai.token.type': type, 'gen_ai.request.model': 'gpt-4.1', 'gen_ai.provider.name': 'openai', 'gen_ai.operation.name': 'chat' }),
      startTimeUnixNano: start,
      timeUnixNano: BigInt(T0 + afterMs) * 1_000_000n,
      count: 1,
      sum,
      bucketCounts: [1],
      explicitBounds: [],
      exemplars: [],
      flags: 0,
    });
    const batch = (temporality: AggregationTemporality, points: HistogramDataPoint[]): Batch => ({
      resourceMetrics: [
        {
          resource: { attributes: attrs({ 'service.name': 'rag' }), droppedAttributesCount: 0 },
          scopeMetrics: [
            { scope: emptyScope('sdk'), schemaUrl: '', metrics: [{ name: 'gen_ai.client.token.usage', description: '', unit: '{token}', metadata: [], data: { type: 'histogram', aggregationTemporality: temporality, dataPoints: points } }] },
          ],
          schemaUrl: '',
        },
      ],
    });
    const next = new SinkConsumer();
    await proc.process(batch(AggregationTemporality.Delta, [point('input', 10_000, 0n), point('output', 1_000, 0n)]), next);
    // a cumulative stream that started now: 5000 input, then 7000 (an increment of 2000)
    const start = BigInt(T0) * 1_000_000n;
    await proc.process(batch(AggregationTemporality.Cumulative, [point('input', 5_000, start)]), next);
    await proc.process(batch(AggregationTemporality.Cumulative, [point('input', 7_000, start, 1000)]), next);
    expect(next.metrics).toHaveLength(3);
    await proc.flush();
    const dp = emitted.metrics.find((m) => m.name === 'llm.cost')!.data!.dataPoints[0] as NumberDataPoint;
    expect(dp.value).toBeCloseTo(((10_000 + 7_000) * 2 + 1_000 * 8) / 1e6, 12);
    expect(getAttr(dp.attributes, 'service.name')).toBe('rag');
    // a point whose sum is no whole number of tokens (12.5) is not priced: counted as invalid_tokens
    await proc.process(batch(AggregationTemporality.Delta, [point('input', 12.5, 0n, 2000), point('output', -3, 0n, 2000)]), next);
    await proc.flush();
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', model: 'gpt-4.1', reason: 'invalid_tokens' })).toBe(2);
    expect(emitted.metrics.filter((m) => m.name === 'llm.cost')).toHaveLength(1);
    await proc.shutdown();
  });
});

describe('cost: token-usage metric points on a service tier', () => {
  it('a point whose openai.response.service_tier is flex is priced at the flex prices (gpt-5: $0.625/$5, not $1.25/$10)', async () => {
    const { proc, emitted } = make();
    await proc.start();
    const point = (type: string, tier: string): HistogramDataPoint => ({
      attributes: attrs({ 'gen_ai.token.type': type, 'gen_ai.request.model': 'gpt-5', 'gen_ai.provider.name': 'openai', 'openai.response.service_tier': tier }),
      startTimeUnixNano: 0n,
      timeUnixNano: BigInt(T0) * 1_000_000n,
      count: 1,
      sum: 1_000_000,
      bucketCounts: [1],
      explicitBounds: [],
      exemplars: [],
      flags: 0,
    });
    const batch: Batch = {
      resourceMetrics: [
        {
          resource: { attributes: attrs({ 'service.name': 'batch-jobs' }), droppedAttributesCount: 0 },
          scopeMetrics: [
            { scope: emptyScope('sdk'), schemaUrl: '', metrics: [{ name: 'gen_ai.client.token.usage', description: '', unit: '{token}', metadata: [], data: { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [point('input', 'flex'), point('output', 'flex')] } }] },
          ],
          schemaUrl: '',
        },
      ],
    };
    await proc.process(batch, new SinkConsumer());
    await proc.flush();
    const dp = emitted.metrics.find((m) => m.name === 'llm.cost')!.data!.dataPoints[0] as NumberDataPoint;
    expect(dp.value).toBeCloseTo(0.625 + 5, 12);
    await proc.shutdown();
  });
});

describe('cost: the OTel GenAI token counters', () => {
  it('prices gen_ai.client.inference.usage.input_tokens / output_tokens (monotonic sums, delta or cumulative) into llm.cost', async () => {
    const { proc, emitted } = make();
    await proc.start();
    const point = (value: number | bigint, start: bigint, afterMs = 0): NumberDataPoint => ({
      attributes: attrs({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.token.modality': 'text', 'gen_ai.request.model': 'gpt-4.1' }),
      startTimeUnixNano: start,
      timeUnixNano: BigInt(T0 + afterMs) * 1_000_000n,
      value,
      exemplars: [],
      flags: 0,
    });
    const counter = (name: string, temporality: AggregationTemporality, points: NumberDataPoint[]) => ({ name, description: '', unit: '{token}', metadata: [], data: { type: 'sum' as const, aggregationTemporality: temporality, isMonotonic: true, dataPoints: points } });
    const batch = (...metrics: ReturnType<typeof counter>[]): Batch => ({
      resourceMetrics: [{ resource: { attributes: attrs({ 'service.name': 'rag' }), droppedAttributesCount: 0 }, scopeMetrics: [{ scope: emptyScope('sdk'), schemaUrl: '', metrics }], schemaUrl: '' }],
    });
    const next = new SinkConsumer();
    // delta: 10,000 input (an int64) and 1,000 output tokens of gpt-4.1 ($2/$8)
    await proc.process(batch(counter('gen_ai.client.inference.usage.input_tokens', AggregationTemporality.Delta, [point(10_000n, 0n)]), counter('gen_ai.client.inference.usage.output_tokens', AggregationTemporality.Delta, [point(1_000, 0n)])), next);
    // cumulative, started now: 5,000 then 7,000 input (an increase of 2,000 after the first 5,000)
    const start = BigInt(T0) * 1_000_000n;
    await proc.process(batch(counter('gen_ai.client.inference.usage.input_tokens', AggregationTemporality.Cumulative, [point(5_000, start)])), next);
    await proc.process(batch(counter('gen_ai.client.inference.usage.input_tokens', AggregationTemporality.Cumulative, [point(7_000, start, 1000)])), next);
    await proc.flush();
    const dp = emitted.metrics.find((m) => m.name === 'llm.cost')!.data!.dataPoints[0] as NumberDataPoint;
    expect(dp.value).toBeCloseTo(((10_000 + 7_000) * 2 + 1_000 * 8) / 1e6, 12);
    await proc.shutdown();
  });
});

describe('cost: config and startup', () => {
  it('refuses a bad price file at validation and at start, naming the file', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"models": [{"model": "gpt-x", "input": "cheap", "output": 1}]}');
    expect(() => configFor(factory, { price_table: bad })).toThrow(`price_table: price table ${bad}: models[0] (gpt-x): "input" must be a number >= 0`);
    const proc = factory.create(testSettings('processor', 'cost', { stateDir: dir }), { ...configFor(factory, {}), price_table: bad }) as CostProcessor;
    await expect(proc.start()).rejects.toThrow(`cost: price table ${bad}: models[0] (gpt-x)`);
    await proc.shutdown();
  });

  it('fails the start, not the first batch, when the built-in price table cannot be read (a broken install)', async () => {
    // the install is broken for this test only: accessSync answers for BUILTIN_PRICES as for a missing file
    const real = fs.accessSync;
    const spy = vi.spyOn(fs, 'accessSync').mockImplementation((p, mode) => {
      if (p === BUILTIN_PRICES) throw Object.assign(new Error(`ENOENT: no such file or directory, access '${p}'`), { code: 'ENOENT' });
      real(p, mode);
    });
    try {
      const { proc } = make({});
      await expect(proc.start()).rejects.toThrow(`cost: the built-in price table ${BUILTIN_PRICES} cannot be read (ENOENT`);
      await proc.shutdown();
    } finally {
      spy.mockRestore();
    }
    const { proc } = make({});
    await proc.start();
    await proc.shutdown();
  });

  it('checks prices and budgets', () => {
    expect(() => configFor(factory, { prices: [{ input: 1, output: 1 }] })).toThrow(/exactly one of "model"/);
    expect(() => configFor(factory, { prices: [{ match: '(', input: 1, output: 1 }] })).toThrow(/invalid regex "\(" \(RE2 syntax\)/);
    // RE2, as every user regex of vigil: a lookbehind JavaScript would take is refused by name
    expect(() => configFor(factory, { prices: [{ match: '(?<=acme-)large', input: 1, output: 1 }] })).toThrow(/lookbehind `\(\?<=` at offset 0: RE2 does not support it/);
    expect(() => configFor(factory, { budgets: [{ name: 'a', limit_usd: 1, timezone: 'Mars/Olympus' }] })).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => configFor(factory, { budgets: [{ name: 'a', limit_usd: 1 }, { name: 'a', limit_usd: 2 }] })).toThrow(/defined twice/);
    expect(configFor(factory, { budgets: [{ name: 'a', limit_usd: 1 }] }).budgets[0]).toEqual({ name: 'a', limit_usd: 1, period: 'day', group_by: [], timezone: 'UTC' });
  });

  it('a budget or price the schema refuses does not hide the problems of the others, nor a missing price file', () => {
    const issues = validateComponentConfig(factory, {
      price_table: '/nonexistent/prices.json',
      prices: [{ model: 'm', input: 'cheap', output: 1 }, { match: '(', input: 1, output: 1 }],
      budgets: [{ name: 'a', limit_usd: 1, colour: 'red' }, { name: 'b', limit_usd: 1, timezone: 'Mars/Olympus' }],
    }).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual([
      'prices.0.input: expected number',
      'budgets.0.colour: unknown key "colour"',
      'price_table: price table /nonexistent/prices.json: the file does not exist',
      'prices.1.match: invalid regex "(" (RE2 syntax): missing closing ): `(` at offset 0',
      'budgets.1.timezone: unknown time zone "Mars/Olympus" (expected an IANA name such as Europe/Paris)',
    ]);
  });

  it('keeps its state under stateDirFor(settings)', () => {
    const { proc, settings } = make({ budgets: [{ name: 'd', limit_usd: 1 }] });
    expect(proc.budgetFile).toBe(path.join(stateDirFor(settings), 'budgets.json'));
  });
});


describe('cost: spans of a shape already seen (the per-shape cache of README "Speed")', () => {
  // budgets by service.name (or nothing): spend added once per shape and batch; by any other attribute:
  // span by span
  it.each([
    ['service.name', [{ name: 'per-service', limit_usd: 1000, group_by: ['service.name'] }, { name: 'total', limit_usd: 1000, group_by: [] }], 3 + 1],
    ['another attribute', [{ name: 'per-provider', limit_usd: 1000, group_by: ['gen_ai.provider.name'] }], 4],
  ])('prices, counts and budgets (by %s) every span as a processor that has never seen its shape does', async (_by, budgets, groups) => {
    // a processor under test sees the spans in batches (shapes repeat: cache hits), and is flushed midway
    // (the cache goes with the usage series); the reference prices each span alone and flushes after
    // each, so every span of it is resolved from scratch
    const { proc, emitted } = make({ budgets });
    const ref = make({ budgets });
    let seed = 7;
    const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    // the same name resolves differently by provider, endpoint, response model (sources: pricing-cases)
    const shapes: Record<string, string>[] = [
      { 'gen_ai.request.model': 'deepseek/deepseek-chat', 'gen_ai.provider.name': 'deepseek' },
      { 'gen_ai.request.model': 'deepseek/deepseek-chat', 'gen_ai.provider.name': 'openrouter' },
      { 'gen_ai.request.model': 'deepseek/deepseek-chat', 'gen_ai.system': 'openai' },
      { 'gen_ai.request.model': 'deepseek-chat', 'gen_ai.system': 'openai', 'server.address': 'api.deepseek.com' },
      { 'gen_ai.request.model': 'deepseek-chat', 'gen_ai.system': 'openai' },
      { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' },
      { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o-2024-05-13', 'gen_ai.provider.name': 'openai' },
      { 'gen_ai.response.model': 'gpt-4o-2024-05-13' },
      { 'gen_ai.request.model': 'claude-sonnet-4-5-20250929', 'gen_ai.provider.name': 'anthropic' },
      { 'gen_ai.request.model': 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'gen_ai.provider.name': 'aws.bedrock' },
      { 'gen_ai.request.model': 'mystery-7b', 'gen_ai.provider.name': 'openai' },
    ];
    const specs: { svc: string; a: Record<string, string | bigint> }[] = [];
    for (let i = 0; i < 400; i++) {
      const a: Record<string, string | bigint> = { ...pick(shapes), 'gen_ai.usage.input_tokens': BigInt(1 + Math.floor(r() * 5000)), 'gen_ai.usage.output_tokens': BigInt(Math.floor(r() * 900)) };
      const op = pick(['chat', 'chat', 'text_completion', undefined]);
      if (op) a['gen_ai.operation.name'] = op;
      if (r() < 0.3) a['gen_ai.usage.cache_read.input_tokens'] = BigInt(Math.floor(r() * 1000));
      const own = pick([undefined, undefined, 'a', 'c']);
      if (own) a['service.name'] = own;
      specs.push({ svc: pick(['a', 'b']), a });
    }
    const mk = (s: (typeof specs)[number]) => llmSpan(s.a);
    const sum = (m: Map<string, number>, batches: Batch[]) => {
      for (const b of batches) {
        for (const metric of (b.resourceMetrics ?? []).flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))) {
          if (metric.name !== 'llm.cost' && metric.name !== 'llm.tokens') continue;
          for (const p of metric.data!.dataPoints as NumberDataPoint[]) {
            const k = `${metric.name} ${JSON.stringify([...p.attributes].sort((x, y) => (x.key < y.key ? -1 : 1)))}`;
            m.set(k, (m.get(k) ?? 0) + Number(p.value));
          }
        }
      }
    };
    const got: Span[] = [];
    const want: Span[] = [];
    const periods = [specs.slice(0, 200), specs.slice(200)];
    for (const period of periods) {
      for (let i = 0; i < period.length; ) {
        // batches of 1-40 spans in runs of the same resource
        const n = 1 + Math.floor(r() * 40);
        const resources = [];
        for (let j = i; j < Math.min(i + n, period.length); ) {
          let k = j;
          while (k < Math.min(i + n, period.length) && period[k]!.svc === period[j]!.svc) k++;
          resources.push(resourceSpans(period[j]!.svc, period.slice(j, k).map(mk)));
          j = k;
        }
        const next = new SinkConsumer();
        await proc.process({ resourceSpans: resources }, next);
        got.push(...next.spans);
        i += n;
      }
      for (const s of period) {
        want.push(...(await price(ref.proc, [mk(s)], s.svc)));
        await ref.proc.flush();
      }
      await proc.flush();
      const gotSums = new Map<string, number>();
      const wantSums = new Map<string, number>();
      sum(gotSums, emitted.batches.splice(0));
      sum(wantSums, ref.emitted.batches.splice(0));
      expect([...gotSums.keys()].sort()).toEqual([...wantSums.keys()].sort());
      for (const [k, v] of wantSums) expect(gotSums.get(k), k).toBeCloseTo(v, 12);
    }
    expect(got).toHaveLength(specs.length);
    const view = (s: Span) => ['gen_ai.usage.cost', 'gen_ai.usage.cost.source', 'gen_ai.usage.cost.model'].map((k) => getAttr(s.attributes, k));
    expect(got.map(view)).toEqual(want.map(view));
    // the draw covered priced, unpriced and ambiguous shapes
    expect(new Set(got.map((s) => getAttr(s.attributes, 'gen_ai.usage.cost.source')))).toEqual(new Set(['table', 'unpriced']));
    expect(new Set(got.map((s) => getAttr(s.attributes, 'gen_ai.usage.cost.model'))).size).toBeGreaterThan(5);
    // by service: a, b (resources), c (a span's own service.name), and the total; by provider: deepseek,
    // openrouter, openai, anthropic (aws.bedrock spans only when drawn priced) and the empty value
    const rows = proc.status(Date.now()).cost!.budgets;
    const refRows = ref.proc.status(Date.now()).cost!.budgets;
    expect(rows.length).toBeGreaterThanOrEqual(groups);
    expect(rows.map((b) => ({ ...b, spentUsd: 0, projectedUsd: 0, utilization: 0 }))).toEqual(refRows.map((b) => ({ ...b, spentUsd: 0, projectedUsd: 0, utilization: 0 })));
    rows.forEach((b, i) => expect(b.spentUsd).toBeCloseTo(refRows[i]!.spentUsd, 12));
    await proc.shutdown();
    await ref.proc.shutdown();
  });

  it('charges the call shapes to the memory budget and gives them back at emission; with no room, prices the same', async () => {
    const owner = {};
    try {
      const spans = () =>
        ['gpt-4o', 'claude-sonnet-4-5-20250929', 'gpt-4o', 'deepseek-chat', 'gpt-4o'].map((m, i) =>
          llmSpan({ 'gen_ai.request.model': m, 'gen_ai.usage.input_tokens': 1000 + i, 'gen_ai.usage.output_tokens': 100, 'server.address': `host-${i % 2}.example` }),
        );
      const roomy = make();
      const got = await price(roomy.proc, spans());
      expect(roomy.proc.budget.bytes).toBeGreaterThan(0);
      await roomy.proc.flush();
      expect(roomy.proc.budget.bytes).toBe(0); // usage series and shapes go at emission
      // no room at all: nothing is kept, every span is resolved on its own, the prices do not move
      memoryBudget.setLimit(owner, memoryBudget.total);
      const full = make();
      const again = await price(full.proc, spans());
      expect(full.proc.budget.bytes).toBe(0);
      expect(again.map(cost)).toEqual(got.map(cost));
      expect(got.map(cost).every((c) => typeof c === 'number' && c > 0)).toBe(true);
      await roomy.proc.shutdown();
      await full.proc.shutdown();
    } finally {
      memoryBudget.clearLimit(owner);
    }
  });
});
