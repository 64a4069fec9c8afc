/** Budgets: calendar roll-over (UTC, a time zone, day and month), group_by, restart and kill -9 survival. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type NumberDataPoint, getAttr } from '../src/model.ts';
import { costProcessorFactory as factory } from '../processors/cost/index.ts';
import type { CostProcessor } from '../processors/cost/cost-processor.ts';
import { SinkConsumer, configFor, tempDir, testSettings } from './helpers/index.ts';
import { attrs, resourceSpans, span } from './percentiles-helpers.ts';

let dirs: string[] = [];

function make(budgets: unknown[], stateDir = tempDir()) {
  dirs.push(stateDir);
  const emitted = new SinkConsumer();
  const proc = factory.create(testSettings('processor', 'cost', { emit: emitted, stateDir }), configFor(factory, { budgets, persist_interval: '100ms' })) as CostProcessor;
  return { proc, emitted, stateDir };
}

/** Spends `usd` on gpt-4o (input at $2.50 per 1M tokens) for `service`. */
async function spend(proc: CostProcessor, usd: number, service = 'bot'): Promise<void> {
  const tokens = Math.round((usd / 2.5) * 1e6);
  await proc.process({ resourceSpans: [resourceSpans(service, [span(Date.now(), 10, { attributes: attrs({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': tokens }) })])] }, new SinkConsumer());
}

/** The last emitted value of a budget gauge for `budget` (and an optional service group). */
async function gauge(proc: CostProcessor, emitted: SinkConsumer, name: string, budget: string, service?: string): Promise<number | undefined> {
  emitted.batches.length = 0;
  await proc.flush();
  const points = emitted.metrics.filter((m) => m.name === name).flatMap((m) => m.data!.dataPoints as NumberDataPoint[]);
  const p = points.find((dp) => getAttr(dp.attributes, 'budget') === budget && (service === undefined || getAttr(dp.attributes, 'service.name') === service));
  return p === undefined ? undefined : Number(p.value);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('cost budgets', () => {
  it('a day budget starts from zero at midnight UTC; utilization is spent / limit', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 23, 59, 0));
    const { proc, emitted } = make([{ name: 'daily', period: 'day', limit_usd: 10 }]);
    await proc.start();
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBe(0);
    // the limit itself, also before any spend (a graph's limit line: spent / utilization would be 0 / 0)
    expect(await gauge(proc, emitted, 'llm.budget.limit', 'daily')).toBe(10);
    await spend(proc, 2);
    await spend(proc, 6);
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBeCloseTo(8, 9);
    expect(await gauge(proc, emitted, 'llm.budget.utilization', 'daily')).toBeCloseTo(0.8, 9);
    vi.setSystemTime(Date.UTC(2026, 10, 24, 0, 0, 1));
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBe(0);
    await spend(proc, 1);
    expect(await gauge(proc, emitted, 'llm.budget.utilization', 'daily')).toBeCloseTo(0.1, 9);
    await proc.shutdown();
  });

  it('a month budget rolls over on the 1st, not at midnight of other days', async () => {
    vi.setSystemTime(Date.UTC(2026, 0, 30, 12, 0, 0));
    const { proc, emitted } = make([{ name: 'monthly', period: 'month', limit_usd: 100 }]);
    await proc.start();
    await spend(proc, 10);
    vi.setSystemTime(Date.UTC(2026, 0, 31, 23, 59, 59));
    await spend(proc, 5);
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'monthly')).toBeCloseTo(15, 9);
    vi.setSystemTime(Date.UTC(2026, 1, 1, 0, 0, 0));
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'monthly')).toBe(0);
    await proc.shutdown();
  });

  it('follows the calendar of its time zone', async () => {
    // 2026-11-23 04:30Z is 23:30 on the 22nd in New York (UTC-5); 05:30Z is 00:30 on the 23rd there
    vi.setSystemTime(Date.UTC(2026, 10, 23, 4, 30, 0));
    const { proc, emitted } = make([
      { name: 'ny', period: 'day', limit_usd: 10, timezone: 'America/New_York' },
      { name: 'utc', period: 'day', limit_usd: 10 },
      { name: 'tokyo-month', period: 'month', limit_usd: 10, timezone: 'Asia/Tokyo' },
    ]);
    await proc.start();
    await spend(proc, 3);
    vi.setSystemTime(Date.UTC(2026, 10, 23, 5, 30, 0));
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'ny')).toBe(0);
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'utc')).toBeCloseTo(3, 9);
    // 2026-11-30 15:00Z is already December 1st in Tokyo (UTC+9)
    vi.setSystemTime(Date.UTC(2026, 10, 30, 14, 59, 0));
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'tokyo-month')).toBeCloseTo(3, 9);
    vi.setSystemTime(Date.UTC(2026, 10, 30, 15, 0, 0));
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'tokyo-month')).toBe(0);
    await proc.shutdown();
  });

  it('keeps one budget per group_by value', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const { proc, emitted } = make([{ name: 'per-service', period: 'day', limit_usd: 4, group_by: ['service.name'] }]);
    await proc.start();
    await spend(proc, 1, 'a');
    await spend(proc, 3, 'b');
    await spend(proc, 1, 'b');
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'per-service', 'a')).toBeCloseTo(1, 9);
    expect(await gauge(proc, emitted, 'llm.budget.utilization', 'per-service', 'b')).toBeCloseTo(1, 9);
    await proc.shutdown();
  });

  it('survives a restart in the same period, and a restart in the next period starts from zero', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const budgets = [{ name: 'daily', period: 'day', limit_usd: 10, group_by: ['service.name'] }];
    const first = make(budgets);
    await first.proc.start();
    await spend(first.proc, 2.5, 'a');
    await first.proc.shutdown();
    const file = first.proc.budgetFile;
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).budgets.daily.groups).toEqual([{ attrs: { 'service.name': 'a' }, spent: 2.5 }]);

    const second = make(budgets, first.stateDir);
    await second.proc.start();
    expect(await gauge(second.proc, second.emitted, 'llm.budget.spent', 'daily', 'a')).toBeCloseTo(2.5, 9);
    await spend(second.proc, 1, 'a');
    await second.proc.shutdown();

    vi.setSystemTime(Date.UTC(2026, 10, 24, 0, 0, 1));
    const third = make(budgets, first.stateDir);
    await third.proc.start();
    expect(await gauge(third.proc, third.emitted, 'llm.budget.spent', 'daily', 'a')).toBeUndefined();
    await third.proc.shutdown();
  });

  it("the status page's cost per model survives a restart (also without budgets): the month's figures, today's on the same day", async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const models = (p: CostProcessor) => (p.status(Date.now()).cost as { models: { model: string; todayUsd: number; monthUsd: number; inputTokens: number }[] }).models;
    const first = make([]);
    await first.proc.start();
    await spend(first.proc, 2.5);
    await first.proc.flush();
    expect(models(first.proc)).toEqual([expect.objectContaining({ model: 'gpt-4o', todayUsd: 2.5, monthUsd: 2.5, inputTokens: 1e6 })]);
    await first.proc.shutdown();

    const second = make([], first.stateDir);
    await second.proc.start();
    expect(models(second.proc)).toEqual([expect.objectContaining({ model: 'gpt-4o', todayUsd: 2.5, monthUsd: 2.5, inputTokens: 1e6 })]);
    await spend(second.proc, 1);
    await second.proc.flush();
    await second.proc.shutdown();

    // the next day: today's figure starts again, the month's goes on
    vi.setSystemTime(Date.UTC(2026, 10, 24, 8));
    const third = make([], first.stateDir);
    await third.proc.start();
    expect(models(third.proc)).toEqual([expect.objectContaining({ model: 'gpt-4o', todayUsd: 0, monthUsd: 3.5 })]);
    await third.proc.shutdown();

    // the next month: nothing of November
    vi.setSystemTime(Date.UTC(2026, 11, 1, 0, 0, 1));
    const fourth = make([], first.stateDir);
    await fourth.proc.start();
    expect(models(fourth.proc)).toEqual([]);
    await fourth.proc.shutdown();
  });

  it('persists spend shortly after it changes (debounced), with no temp file left behind', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const { proc, stateDir } = make([{ name: 'daily', period: 'day', limit_usd: 10 }]);
    await proc.start();
    await spend(proc, 4);
    expect(fs.existsSync(proc.budgetFile)).toBe(false);
    await vi.advanceTimersByTimeAsync(150); // past persist_interval: the debounced write starts
    vi.useRealTimers(); // the write itself is real file I/O
    for (let i = 0; i < 200 && !fs.existsSync(proc.budgetFile); i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(fs.readFileSync(proc.budgetFile, 'utf8')).budgets.daily.groups[0].spent).toBeCloseTo(4, 9);
    const files = fs.readdirSync(path.dirname(proc.budgetFile));
    expect(files).toEqual(['budgets.json']);
    expect(stateDir).toBeTruthy();
    await proc.shutdown();
  });

  it('a corrupt state file does not stop the processor: spend starts from zero and the file is kept aside', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const { proc, emitted } = make([{ name: 'daily', period: 'day', limit_usd: 10 }]);
    fs.mkdirSync(path.dirname(proc.budgetFile), { recursive: true });
    fs.writeFileSync(proc.budgetFile, '{"version": 1, "budg');
    await proc.start();
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBe(0);
    expect(fs.existsSync(`${proc.budgetFile}.corrupt`)).toBe(true);
    await proc.shutdown();
  });

  it('a state file of the right version but another shape does not fail the start either: it is kept aside', async () => {
    vi.setSystemTime(Date.UTC(2026, 10, 23, 12));
    const first = make([{ name: 'daily', period: 'day', limit_usd: 10 }]);
    await first.proc.start();
    await spend(first.proc, 4);
    await first.proc.shutdown();
    const saved = JSON.parse(fs.readFileSync(first.proc.budgetFile, 'utf8')) as { budgets: Record<string, { groups: unknown }> };
    expect(saved.budgets['daily']!.groups).toHaveLength(1); // the period and time zone match: its groups are read
    for (const damage of [{ budgets: null }, { budgets: { daily: { ...saved.budgets['daily'], groups: 5 } } }, { budgets: { daily: { ...saved.budgets['daily'], groups: [null] } } }]) {
      const damaged = JSON.stringify({ ...saved, ...damage });
      fs.writeFileSync(first.proc.budgetFile, damaged);
      fs.rmSync(`${first.proc.budgetFile}.corrupt`, { force: true });
      const { proc, emitted } = make([{ name: 'daily', period: 'day', limit_usd: 10 }], first.stateDir);
      await proc.start();
      expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBe(0);
      // [null]: that group is skipped, the file read; the others are kept aside
      if (Array.isArray(damage.budgets?.daily?.groups)) expect(fs.existsSync(`${proc.budgetFile}.corrupt`)).toBe(false);
      else expect(fs.readFileSync(`${proc.budgetFile}.corrupt`, 'utf8')).toBe(damaged);
      await proc.shutdown();
    }
  });

  it('survives kill -9: a child process spends, is SIGKILLed, and a restart finds the spend', async () => {
    vi.useRealTimers();
    const stateDir = tempDir();
    dirs.push(stateDir);
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('processors/cost/testdata/crash-child.ts'), stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await vi.waitFor(() => expect(out, err).toContain('persisted'), { timeout: 20_000, interval: 20 });
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const { proc, emitted } = make([{ name: 'daily', period: 'day', limit_usd: 10 }], stateDir);
    await proc.start();
    // 1M input tokens of gpt-4o = $2.50
    expect(await gauge(proc, emitted, 'llm.budget.spent', 'daily')).toBeCloseTo(2.5, 9);
    expect(await gauge(proc, emitted, 'llm.budget.utilization', 'daily')).toBeCloseTo(0.25, 9);
    await proc.shutdown();
  });
});
