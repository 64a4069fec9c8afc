/**
 * The cost processor: prices LLM calls from OTel GenAI attributes (on spans, and from the
 * `gen_ai.client.token.usage` histogram), sets the cost on each span, emits `llm.cost` / `llm.tokens`
 * every interval and keeps calendar budgets whose spend survives a restart.
 */
import type { Counter } from '@opentelemetry/api';
import { type Consumer, type CreateSettings, type Processor, stateDirFor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { VigilError, ErrorCodes } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import {
  AggregationTemporality,
  type Batch,
  type HistogramDataPoint,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  attrToString,
  emptyScope,
  getAttr,
} from '../../src/model.ts';
import { BudgetBook } from './budget-book.ts';
import type { CostConfig } from './config.ts';
import { type Price, type PriceTable, buildPriceTable } from './price-table.ts';

/** Accumulated usage of one (service, model, provider, operation) since the last emission. */
interface Usage {
  attrs: KeyValue[];
  service: string;
  cost: number;
  /** Whether any of it was priced (an unpriced-only series emits tokens but no cost). */
  priced: boolean;
  input: number;
  output: number;
}

type Trie = Map<string, Trie | Usage>;

const MAX_USAGE_SERIES = 10_000;
const MAX_MODEL_LABELS = 1000;
const MAX_STREAMS = 10_000;

export class CostProcessor implements Processor {
  private table: PriceTable | undefined;
  private readonly logger: Logger;
  private readonly telemetry: ComponentTelemetry;
  private saveFailing = false;
  private readonly emit: Consumer;
  private readonly intervalMs: number;
  private readonly persistMs: number;
  private readonly budgets: BudgetBook;
  private readonly stateDir: string;
  private usageRoot: Trie = new Map();
  private usageList: Usage[] = [];
  private usageOverflow: Usage | undefined;
  private lastEmitNs: bigint;
  private timer: NodeJS.Timeout | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly unpricedCounter: Counter;
  private readonly counterLabels: CreateSettings['telemetry']['labels'];
  /** Counter labels of each unpriced model seen (the first MAX_MODEL_LABELS; later ones count as `other`). */
  private readonly unpricedLabels = new Map<string, CreateSettings['telemetry']['labels'] & { model: string }>();
  private otherLabels: (CreateSettings['telemetry']['labels'] & { model: string }) | undefined;
  /** Unpriced calls of the batch being priced, by model. */
  private readonly unpricedPending = new Map<string, number>();
  private readonly cumulative = new Map<string, { start: bigint; sum: number }>();
  /** The attributes of the call being priced, for budget group_by lookups (no closure per span). */
  private curAttrs: readonly KeyValue[] = [];
  private curResAttrs: readonly KeyValue[] = [];
  private readonly lookupAttr = (key: string): string | undefined => {
    const v = findString(this.curAttrs, key);
    return v !== undefined ? v : findString(this.curResAttrs, key);
  };

  constructor(
    private readonly config: CostConfig,
    settings: CreateSettings,
  ) {
    this.logger = settings.logger;
    this.telemetry = settings.telemetry;
    this.emit = settings.emit;
    this.intervalMs = parseDuration(config.interval);
    this.persistMs = parseDuration(config.persist_interval);
    this.stateDir = stateDirFor(settings);
    this.budgets = new BudgetBook(config.budgets, this.stateDir);
    this.lastEmitNs = BigInt(Date.now()) * 1_000_000n;
    this.counterLabels = settings.telemetry.labels;
    this.unpricedCounter = settings.telemetry.meter.createCounter('vigil_processor_llm_unpriced_calls', {
      description: 'LLM calls (spans or token-usage points) whose model has no price, by model',
    });
  }

  /** Loads the price table and the saved budget spend; a bad price file fails the start with the reason. */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.loadTable();
    this.lastEmitNs = BigInt(Date.now()) * 1_000_000n;
    this.started = true;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.logger.error({ err }, 'cost: emit failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  private loadTable(): void {
    if (this.table) return;
    try {
      this.table = buildPriceTable(this.config.price_table, this.config.prices);
    } catch (err) {
      throw new VigilError(ErrorCodes.START_FAILED, `cost: ${(err as Error).message}`, err);
    }
    // restore saved spend before anything is added (and before anything could overwrite the file)
    if (this.budgets.active) {
      const { restored, error } = this.budgets.load(Date.now());
      if (error) this.logger.error(error);
      else if (restored) this.logger.info({ groups: restored }, 'cost: budget spend restored');
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.timer = this.persistTimer = undefined;
    if (!this.table) return; // never started nor given data: nothing to flush
    try {
      await this.flush();
    } finally {
      await this.saveBudgets();
    }
  }

  /**
   * Writes the budget spend; a failure (disk full) is logged, marks the processor not ready on /readyz and
   * is retried at the next emit interval (the spend stays in memory); the next write that works clears it.
   */
  private async saveBudgets(): Promise<void> {
    try {
      await this.budgets.persist();
      if (this.saveFailing) {
        this.saveFailing = false;
        this.telemetry.setHealthy(true, undefined, 'budget file');
        this.logger.info({ file: this.budgets.path }, 'cost: budget spend saved again');
      }
    } catch (err) {
      if (!this.saveFailing) this.logger.error({ err: (err as Error).message, file: this.budgets.path }, 'cost: could not save budget spend (kept in memory, retried every interval)');
      this.saveFailing = true;
      this.telemetry.setHealthy(false, `cannot save budget spend: ${(err as Error).message}`, 'budget file');
    }
  }

  async process(batch: Batch, next: Consumer): Promise<void> {
    try {
      if (!this.table) this.loadTable(); // process() before start() (tests, `vigil test`)
      const now = Date.now();
      if (batch.resourceSpans) this.priceSpans(batch, now);
      if (batch.resourceMetrics) this.priceMetrics(batch, now);
      if (this.budgets.isDirty) this.schedulePersist();
    } catch (err) {
      this.logger.error({ err }, 'cost: failed to price a batch (passed on unchanged)');
    } finally {
      if (this.unpricedPending.size) this.flushUnpriced();
    }
    return next.consume(batch);
  }

  // ----------------------------------------------------------------------------------------- pricing

  private priceSpans(batch: Batch, nowMs: number): void {
    const table = this.table!;
    for (const rs of batch.resourceSpans!) {
      const rattrs = rs.resource?.attributes ?? [];
      const service = findString(rattrs, 'service.name') ?? '';
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const attrs = span.attributes;
          let reqModel: string | undefined;
          let resModel: string | undefined;
          let provider: string | undefined;
          let system: string | undefined;
          let operation: string | undefined;
          let input = NaN;
          let output = NaN;
          let prompt = NaN;
          let completion = NaN;
          let cacheRead = 0;
          let cacheWrite = 0;
          let spanService: string | undefined;
          // where the attributes this processor writes already are (-1: absent, pushed without a scan)
          let iCost = -1;
          let iSource = -1;
          let iModel = -1;
          for (let i = 0; i < attrs.length; i++) {
            const kv = attrs[i]!;
            const k = kv.key;
            if (k.charCodeAt(0) !== 103 /* g */) {
              if (k === 'service.name') spanService = str(kv.value);
              continue;
            }
            switch (k) {
              case 'gen_ai.request.model':
                reqModel = str(kv.value);
                break;
              case 'gen_ai.response.model':
                resModel = str(kv.value);
                break;
              case 'gen_ai.usage.input_tokens':
                input = num(kv.value);
                break;
              case 'gen_ai.usage.output_tokens':
                output = num(kv.value);
                break;
              case 'gen_ai.usage.prompt_tokens':
                prompt = num(kv.value);
                break;
              case 'gen_ai.usage.completion_tokens':
                completion = num(kv.value);
                break;
              case 'gen_ai.usage.cache_read.input_tokens':
                cacheRead = num(kv.value);
                break;
              case 'gen_ai.usage.cache_creation.input_tokens':
                cacheWrite = num(kv.value);
                break;
              case 'gen_ai.provider.name':
                provider = str(kv.value);
                break;
              case 'gen_ai.system':
                system = str(kv.value);
                break;
              case 'gen_ai.operation.name':
                operation = str(kv.value);
                break;
              case 'gen_ai.usage.cost':
                if (iCost < 0) iCost = i;
                break;
              case 'gen_ai.usage.cost.source':
                if (iSource < 0) iSource = i;
                break;
              case 'gen_ai.usage.cost.model':
                if (iModel < 0) iModel = i;
                break;
            }
          }
          if (!(input >= 0)) input = prompt;
          if (!(output >= 0)) output = completion;
          const hasInput = input >= 0 && Number.isFinite(input);
          const hasOutput = output >= 0 && Number.isFinite(output);
          const model = resModel || reqModel;
          if (!model || (!hasInput && !hasOutput)) continue;
          if (!hasInput) input = 0;
          if (!hasOutput) output = 0;
          if (!(cacheRead >= 0) || !Number.isFinite(cacheRead)) cacheRead = 0;
          if (!(cacheWrite >= 0) || !Number.isFinite(cacheWrite)) cacheWrite = 0;

          // the response model is what served the call; fall back to the requested one
          let r = resModel ? table.resolve(resModel) : undefined;
          if (!r && reqModel) r = table.resolve(reqModel);
          const usage = this.usageFor(spanService ?? service, reqModel || resModel || '', provider ?? system ?? '', operation ?? '');
          usage.input += input;
          usage.output += output;
          if (!r) {
            if (iSource >= 0) attrs[iSource]!.value = 'unpriced';
            else attrs.push({ key: 'gen_ai.usage.cost.source', value: 'unpriced' });
            this.countUnpriced(reqModel || model);
            continue;
          }
          const cost = callCost(r.price, input, output, cacheRead, cacheWrite);
          if (iCost >= 0) attrs[iCost]!.value = cost;
          else attrs.push({ key: 'gen_ai.usage.cost', value: cost });
          if (iSource >= 0) attrs[iSource]!.value = 'table';
          else attrs.push({ key: 'gen_ai.usage.cost.source', value: 'table' });
          if (iModel >= 0) attrs[iModel]!.value = r.price.name;
          else attrs.push({ key: 'gen_ai.usage.cost.model', value: r.price.name });
          usage.cost += cost;
          usage.priced = true;
          if (this.budgets.active && cost > 0) {
            this.curAttrs = attrs;
            this.curResAttrs = rattrs;
            this.budgets.add(cost, nowMs, this.lookupAttr);
          }
        }
      }
    }
  }

  /** Prices `gen_ai.client.token.usage` points: the sum of each point is its token count. */
  private priceMetrics(batch: Batch, nowMs: number): void {
    const table = this.table!;
    for (const rm of batch.resourceMetrics!) {
      const rattrs = rm.resource?.attributes ?? [];
      const service = findString(rattrs, 'service.name') ?? '';
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          if (m.name !== 'gen_ai.client.token.usage' || m.data?.type !== 'histogram') continue;
          const cumulative = m.data.aggregationTemporality === AggregationTemporality.Cumulative;
          for (const dp of m.data.dataPoints as HistogramDataPoint[]) {
            let tokens = typeof dp.sum === 'number' && Number.isFinite(dp.sum) && dp.sum >= 0 ? dp.sum : NaN;
            if (!(tokens >= 0)) continue;
            if (cumulative) tokens = this.tokenDelta(service, rattrs, dp, tokens);
            if (!(tokens > 0)) continue;
            const a = dp.attributes;
            const type = findString(a, 'gen_ai.token.type');
            if (type !== 'input' && type !== 'output') continue;
            const reqModel = findString(a, 'gen_ai.request.model');
            const resModel = findString(a, 'gen_ai.response.model');
            const model = resModel || reqModel;
            if (!model) continue;
            let r = resModel ? table.resolve(resModel) : undefined;
            if (!r && reqModel) r = table.resolve(reqModel);
            const provider = findString(a, 'gen_ai.provider.name') ?? findString(a, 'gen_ai.system') ?? '';
            const usage = this.usageFor(findString(a, 'service.name') ?? service, reqModel || resModel || '', provider, findString(a, 'gen_ai.operation.name') ?? '');
            if (type === 'input') usage.input += tokens;
            else usage.output += tokens;
            if (!r) {
              this.countUnpriced(reqModel || model);
              continue;
            }
            // the histogram does not say which input tokens were cached: all are priced as input
            const cost = type === 'input' ? (tokens * r.price.input) / 1e6 : (tokens * r.price.output) / 1e6;
            usage.cost += cost;
            usage.priced = true;
            if (this.budgets.active && cost > 0) {
              this.curAttrs = a;
              this.curResAttrs = rattrs;
              this.budgets.add(cost, nowMs, this.lookupAttr);
            }
          }
        }
      }
    }
  }

  /** Tokens since the previous point of a cumulative stream (the first point only primes the stream). */
  private tokenDelta(service: string, rattrs: readonly KeyValue[], dp: HistogramDataPoint, sum: number): number {
    const key = `${service}\u0002${rattrs.length}\u0002${dp.attributes.map((kv) => `${kv.key}=${attrToString(kv.value)}`).sort().join('\u0001')}`;
    const prev = this.cumulative.get(key);
    if (!prev && this.cumulative.size >= MAX_STREAMS) this.cumulative.clear();
    this.cumulative.set(key, { start: dp.startTimeUnixNano, sum });
    if (!prev) return dp.startTimeUnixNano >= this.lastEmitNs - BigInt(this.intervalMs) * 1_000_000n ? sum : 0;
    if (prev.start !== dp.startTimeUnixNano || sum < prev.sum) return sum; // reset
    return sum - prev.sum;
  }

  private usageFor(service: string, model: string, provider: string, operation: string): Usage {
    let n1 = this.usageRoot.get(service) as Trie | undefined;
    let n2 = n1?.get(model) as Trie | undefined;
    let n3 = n2?.get(provider) as Trie | undefined;
    const found = n3?.get(operation) as Usage | undefined;
    if (found) return found;
    if (this.usageList.length >= MAX_USAGE_SERIES) {
      return (this.usageOverflow ??= { attrs: [{ key: 'otel.metric.overflow', value: true }], service: '', cost: 0, priced: false, input: 0, output: 0 });
    }
    if (!n1) this.usageRoot.set(service, (n1 = new Map()));
    if (!n2) n1.set(model, (n2 = new Map()));
    if (!n3) n2.set(provider, (n3 = new Map()));
    const attrs: KeyValue[] = [
      { key: 'service.name', value: service },
      { key: 'gen_ai.request.model', value: model },
      { key: 'gen_ai.provider.name', value: provider },
      { key: 'gen_ai.system', value: provider },
      { key: 'gen_ai.operation.name', value: operation },
    ];
    const u: Usage = { attrs, service, cost: 0, priced: false, input: 0, output: 0 };
    n3.set(operation, u);
    this.usageList.push(u);
    return u;
  }

  /** Counts one unpriced call; the counter is updated once per model per batch (flushUnpriced). */
  private countUnpriced(model: string): void {
    const pending = this.unpricedPending;
    pending.set(model, (pending.get(model) ?? 0) + 1);
  }

  private flushUnpriced(): void {
    for (const [model, n] of this.unpricedPending) {
      let labels = this.unpricedLabels.get(model);
      if (!labels) {
        if (this.unpricedLabels.size >= MAX_MODEL_LABELS) labels = (this.otherLabels ??= { ...this.counterLabels, model: 'other' });
        else {
          this.unpricedLabels.set(model, (labels = { ...this.counterLabels, model }));
          this.logger.warn({ model }, `cost: no price for model "${model}"; its calls are marked gen_ai.usage.cost.source=unpriced (add it under prices:)`);
        }
      }
      this.unpricedCounter.add(n, labels);
    }
    this.unpricedPending.clear();
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.stopped) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      void this.saveBudgets();
    }, this.persistMs);
    this.persistTimer.unref();
  }

  // ------------------------------------------------------------------------------------------ emit

  /** Emits llm.cost and llm.tokens since the last emission, and the budget gauges. */
  async flush(): Promise<void> {
    const nowMs = Date.now();
    const nowNs = BigInt(nowMs) * 1_000_000n;
    const startNs = this.lastEmitNs;
    this.lastEmitNs = nowNs;
    const usages = this.usageOverflow ? [...this.usageList, this.usageOverflow] : this.usageList;
    this.usageRoot = new Map();
    this.usageList = [];
    this.usageOverflow = undefined;

    const groups = new Map<string, { cost: NumberDataPoint[]; tokens: NumberDataPoint[] }>();
    const groupOf = (service: string) => {
      let g = groups.get(service);
      if (!g) groups.set(service, (g = { cost: [], tokens: [] }));
      return g;
    };
    for (const u of usages) {
      const g = groupOf(u.service);
      if (u.priced) g.cost.push(numberPoint(u.attrs, startNs, nowNs, u.cost));
      if (u.input) g.tokens.push(numberPoint([...u.attrs, { key: 'gen_ai.token.type', value: 'input' }], startNs, nowNs, BigInt(Math.round(u.input))));
      if (u.output) g.tokens.push(numberPoint([...u.attrs, { key: 'gen_ai.token.type', value: 'output' }], startNs, nowNs, BigInt(Math.round(u.output))));
    }
    const resourceMetrics: ResourceMetrics[] = [];
    for (const [service, g] of groups) {
      const metrics: Metric[] = [];
      if (g.cost.length) metrics.push(sumMetric('llm.cost', 'Cost of LLM calls', 'USD', g.cost));
      if (g.tokens.length) metrics.push(sumMetric('llm.tokens', 'Tokens of LLM calls', '{token}', g.tokens));
      if (metrics.length) resourceMetrics.push(resourceOf(service, metrics));
    }
    if (this.budgets.active) {
      const spent: NumberDataPoint[] = [];
      const utilization: NumberDataPoint[] = [];
      for (const b of this.budgets.snapshot(nowMs)) {
        for (const g of b.groups) {
          const attrs: KeyValue[] = [{ key: 'budget', value: b.config.name }, ...g.attrs];
          spent.push(numberPoint(attrs, nowNs, nowNs, g.spent));
          utilization.push(numberPoint(attrs, nowNs, nowNs, g.spent / b.config.limit_usd));
        }
      }
      resourceMetrics.push(
        resourceOf('', [
          { name: 'llm.budget.spent', description: 'Spend of the current budget period', unit: 'USD', metadata: [], data: { type: 'gauge', dataPoints: spent } },
          { name: 'llm.budget.utilization', description: 'Spend of the current period / limit', unit: '1', metadata: [], data: { type: 'gauge', dataPoints: utilization } },
        ]),
      );
      if (this.budgets.isDirty) this.schedulePersist(); // a period roll-over changes the state too
    }
    if (resourceMetrics.length) await this.emit.consume({ resourceMetrics });
  }

  /** For tests: resolves once pending budget writes are on disk. */
  async persistNow(): Promise<void> {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    await this.budgets.persist();
  }

  /** The state file's path (for tests and docs). */
  get budgetFile(): string {
    return this.budgets.path;
  }
}

/** USD for one call. input includes the cached and cache-write tokens (OTel GenAI semconv), so they are taken out of it. */
export function callCost(p: Price, input: number, output: number, cacheRead: number, cacheWrite: number): number {
  const cached = Math.min(cacheRead, input);
  const written = Math.min(cacheWrite, input - cached);
  const fresh = input - cached - written;
  return (fresh * p.input + cached * (p.cacheRead ?? p.input) + written * (p.cacheWrite ?? p.input) + output * p.output) / 1e6;
}

function numberPoint(attributes: KeyValue[], start: bigint, time: bigint, value: number | bigint): NumberDataPoint {
  return { attributes, startTimeUnixNano: start, timeUnixNano: time, value, exemplars: [], flags: 0 };
}

function sumMetric(name: string, description: string, unit: string, dataPoints: NumberDataPoint[]): Metric {
  return { name, description, unit, metadata: [], data: { type: 'sum', dataPoints, aggregationTemporality: AggregationTemporality.Delta, isMonotonic: true } };
}

function resourceOf(service: string, metrics: Metric[]): ResourceMetrics {
  return {
    resource: { attributes: service ? [{ key: 'service.name', value: service }] : [], droppedAttributesCount: 0 },
    scopeMetrics: [{ scope: emptyScope('vigil/cost'), metrics, schemaUrl: '' }],
    schemaUrl: '',
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : attrToString(v as never);
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function findString(attrs: readonly KeyValue[], key: string): string | undefined {
  return str(getAttr(attrs, key));
}
