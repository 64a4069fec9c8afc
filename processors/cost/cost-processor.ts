/**
 * The cost processor: prices LLM calls from OTel GenAI attributes (on spans, and from the
 * `gen_ai.client.token.usage` histogram), sets the cost on each span, emits `llm.cost` / `llm.tokens`
 * every interval and keeps calendar budgets whose spend survives a restart.
 */
import fs from 'node:fs';
import { type BudgetAccount, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import type { Counter } from '@opentelemetry/api';
import { type Consumer, type CreateSettings, type Processor, type SpanReads, stateDirFor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { VigilError, ErrorCodes } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import {
  AggregationTemporality,
  type Batch,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  type Span,
  emptyScope,
} from '../../src/model.ts';
import { findString } from '../../src/attributes.ts';
import { GENAI_CALL_KEYS, type GenAiCall, newGenAiCall, readGenAiCall, serviceTierOf } from './genai-call.ts';
import { MetricStreamReader, type MetricPointVisitor, type PointContext } from '../../src/streams/metric-stream-reader.ts';
import { BudgetBook, MAX_GROUPS } from './budget-book.ts';
import { ModelCosts, budgetStatus } from './cost-status.ts';
import type { ComponentStatus } from '../../src/status.ts';
import type { CostConfig } from './config.ts';
import { type Price, type PriceTable, type ProviderContext, type Resolution, type Unpriced, type UnpricedReason, BUILTIN_PRICES, buildPriceTable, priceOnTier, ratesFor } from './price-table.ts';
import { timerDelay } from '../../src/timer-delay.ts';

/** Accumulated usage of one (service, model, provider, operation) since the last emission. */
interface Usage {
  attrs: KeyValue[];
  service: string;
  cost: number;
  /** Whether any of it was priced (an unpriced-only series emits tokens but no cost). */
  priced: boolean;
  /** When (ms) spans of it were last recorded as seen (seenSpans), so that is done once per batch. */
  seenAt?: number;
  input: number;
  output: number;
}

type Trie = Map<string, Trie | Usage>;

/** What a span's call attributes (model, provider, endpoint, operation) resolved to, for one service. */
interface CallShape {
  reqModel: string | undefined;
  resModel: string | undefined;
  provider: string | undefined;
  address: string | undefined;
  operation: string | undefined;
  r: Resolution | Unpriced;
  usage: Usage;
  /** The service the shape belongs to (the span's service.name, else its resource's). */
  service: string;
  /** Spend of this batch's spans of the shape not yet added to the budgets (see CostProcessor.budgetPending). */
  spend: number;
}

const MAX_USAGE_SERIES = 10_000;
const MAX_MODEL_LABELS = 1000;
const MAX_STREAMS = 10_000;
/** Estimated bytes of one usage series or held metric usage without its strings (objects, trie maps, attributes). */
const USAGE_BYTES = 900;
/** Estimated bytes of one call shape without its own strings (the object, its list and map slot). */
const SHAPE_BYTES = 200;

/**
 * The cost processor (see this file's comment): prices LLM calls in USD from their token counts, sets the
 * cost on spans, emits cost, token and budget metrics every `interval`, and persists budget spend.
 */
export class CostProcessor implements Processor {
  private table: PriceTable | undefined;
  /** Why the price table could not be built (see priceTable()). */
  private tableError: VigilError | undefined;
  /** start() (or a first batch) has run: budgets restored, the user's price file read. */
  private loaded = false;
  private readonly logger: Logger;
  private readonly telemetry: ComponentTelemetry;
  private saveFailing = false;
  private readonly emit: Consumer;
  private readonly intervalMs: number;
  private readonly persistMs: number;
  private readonly budgets: BudgetBook;
  private readonly modelCosts = new ModelCosts(() => this.budgets.markDirty());
  private readonly stateDir: string;
  /** The processor a reload replaces (its spend is taken over at load), until then. */
  private previous: unknown;
  private usageRoot: Trie = new Map();
  /**
   * Call shapes seen since the last emission, by service then model as sent: each holds what the shape
   * resolved to and its usage series, so that a span of a known shape costs no lookup. Dropped with the
   * usage series at each emission; bounded by MAX_USAGE_SERIES.
   */
  private shapes = new Map<string, Map<string, CallShape[]>>();
  private shapeCount = 0;
  /** Bytes charged to the memory budget for the call shapes (given back when they are dropped). */
  private shapeBytes = 0;
  private usageList: Usage[] = [];
  private usageOverflow: Usage | undefined;
  /** The usage series and held metric usage's share of the process's memory budget (src/memory-budget.ts). */
  readonly budget: BudgetAccount = memoryBudget.account('processor/cost usage');
  private lastEmitNs: bigint;
  /** Bytes charged to the budget for the usage series since the last emission, and for the held metric usage. */
  private usageBytes = 0;
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private readonly unpricedCounter: Counter;
  private readonly counterLabels: CreateSettings['telemetry']['labels'];
  /** Counter labels of each unpriced model seen (the first MAX_MODEL_LABELS; later ones count as `other`). */
  private readonly unpricedLabels = new Map<UnpricedWhy, Map<string, UnpricedLabels>>();
  private labelCount = 0;
  private readonly otherLabels = new Map<UnpricedWhy, UnpricedLabels>();
  /** Unpriced calls of the batch being priced, by reason and model. */
  private readonly unpricedPending = new Map<UnpricedWhy, Map<string, number>>();
  private readonly supersededCounter: Counter;
  /** `vigil_processor_series_overflow_items{store}`: calls counted in the overflow usage series, spend added to a budget's overflow group. */
  private readonly overflowCounter: Counter;
  /** Calls counted in the overflow usage series, not yet added to the counter. */
  private usageOverflowed = 0;
  /** `budgets.overflowed` when last added to the counter. */
  private budgetOverflowSeen = 0;
  /** Which overflows were logged (once each per processor: the counter says how often). */
  private readonly overflowLogged = { usage: false, budget: false };
  /** (service, model) pairs seen as spans, with the last time (ms): their token-usage points are not counted. */
  private readonly spanPairs = new Map<string, Map<string, number>>();
  /** Token-usage metric usage held until the next emission (then counted, or dropped for pairs seen as spans). */
  private readonly heldMetrics = new Map<string, HeldUsage>();
  /** Every attribute a budget groups by (kept with held metric usage). */
  private readonly groupKeys: string[];
  /** Token-usage points as increments, whatever their temporality (src/streams). */
  private readonly streams: MetricStreamReader;
  /** The LLM call of the span being priced (reused for every span). */
  private readonly call: GenAiCall = newGenAiCall();
  /** What a span event says of the call (streamed usage on the last event), reused like `call`. */
  private readonly eventCall: GenAiCall = newGenAiCall();
  /** The attributes of the call being priced, for budget group_by lookups (no closure per span). */
  private curAttrs: readonly KeyValue[] = [];
  private curResAttrs: readonly KeyValue[] = [];
  /** service.name of the call being priced (span, else resource), when already known: no scan for it. */
  private curService: string | undefined;
  /**
   * Whether every budget groups by nothing or by service.name alone: a call shape then always lands in the
   * same budget groups, and its spans' spend is added to the budgets once per batch (budgetPending) rather
   * than span by span.
   */
  private readonly budgetsByService: boolean;
  /** Call shapes of the batch being priced with spend not yet added to the budgets. */
  private readonly budgetPending: CallShape[] = [];
  private readonly lookupAttr = (key: string): string | undefined => {
    if (this.curService !== undefined && key === 'service.name') return this.curService;
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
    this.previous = settings.previous;
    this.budgets = new BudgetBook(config.budgets, this.stateDir);
    this.budgets.models = this.modelCosts; // saved with the spend (budgets.json), so that a restart keeps the month's figures
    this.lastEmitNs = BigInt(Date.now()) * 1_000_000n;
    this.counterLabels = settings.telemetry.labels;
    this.streams = new MetricStreamReader({ component: 'cost', logger: settings.logger, telemetry: settings.telemetry, maxStreams: MAX_STREAMS });
    this.unpricedCounter = settings.telemetry.meter.createCounter('vigil_processor_llm_unpriced_calls', {
      description: 'LLM calls (spans or token-usage points) that could not be priced, by model and reason',
    });
    this.supersededCounter = settings.telemetry.meter.createCounter('vigil_processor_llm_usage_points_superseded', {
      description: 'gen_ai.client.token.usage points not counted because the same service and model sent priced spans',
    });
    this.overflowCounter = settings.telemetry.meter.createCounter('vigil_processor_series_overflow_items', {
      description: 'Observations folded into the overflow series because max_series was reached or the memory budget was full',
    });
    this.groupKeys = [...new Set(config.budgets.flatMap((b) => b.group_by))];
    this.budgetsByService = this.groupKeys.every((k) => k === 'service.name');
    this.spanReads = { attributes: [...new Set([...GENAI_CALL_KEYS.keys(), ...this.groupKeys])], ids: false };
  }

  /**
   * What it reads of a span: every dialect's call attributes (genai-call.ts, including the cost attributes
   * it writes over) and the budgets' `group_by` keys; not the ids.
   */
  readonly spanReads: SpanReads;

  /** Loads the price table and the saved budget spend; a bad price file fails the start with the reason. */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.loadTable();
    this.lastEmitNs = BigInt(Date.now()) * 1_000_000n;
    this.started = true;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.logger.error({ err }, 'cost: emit failed'));
    }, timerDelay(this.intervalMs));
    this.timer.unref();
  }

  private loadTable(): void {
    if (this.loaded) return;
    // The user's price file is read now: a bad one fails the start with the reason. The built-in table
    // (shipped with vigil and tested) is parsed and indexed at first use instead: about 2,000 entries, tens of
    // ms and their memory that a daemon without LLM data never spends (issue 21).
    if (this.config.price_table !== 'builtin') this.priceTable();
    else {
      // ... but a broken install (the file missing or unreadable) fails the start, not the first batch
      try {
        fs.accessSync(BUILTIN_PRICES, fs.constants.R_OK);
      } catch (err) {
        throw new VigilError(
          ErrorCodes.START_FAILED,
          `cost: the built-in price table ${BUILTIN_PRICES} cannot be read (${(err as Error).message}): reinstall vigil, or set price_table to a price file`,
          err,
        );
      }
    }
    this.loaded = true;
    // restore saved spend before anything is added (and before anything could overwrite the file)
    // A reload that changed this processor: the one it replaces holds the newest spend in memory, newer than
    // the file when its last saves failed (disk full); taken over rather than read back from the file.
    const prev = this.previous;
    this.previous = undefined;
    // The cost per model (the status page's) is kept in the same file, also without budgets.
    if (prev instanceof CostProcessor && prev.budgetFile === this.budgetFile) {
      const doc = prev.budgets.document();
      const restored = this.budgets.restore(doc, Date.now());
      this.modelCosts.restore(doc.models, Date.now());
      if (prev.budgets.isDirty || prev.saveFailing) this.budgets.markDirty();
      if (restored) this.logger.info({ groups: restored }, 'cost: budget spend carried over from before the reload');
    } else {
      const { restored, error, models } = this.budgets.load(Date.now());
      if (error) this.logger.error(error);
      else if (restored) this.logger.info({ groups: restored }, 'cost: budget spend restored');
      this.modelCosts.restore(models, Date.now());
    }
  }

  /**
   * The price table, built on first call. A table that cannot be built (a corrupt built-in file) fails each
   * batch with the same error, which is kept: the file is not read again per batch.
   */
  private priceTable(): PriceTable {
    if (this.tableError) throw this.tableError;
    if (!this.table) {
      try {
        this.table = buildPriceTable(this.config.price_table, this.config.prices);
      } catch (err) {
        this.tableError = new VigilError(ErrorCodes.START_FAILED, `cost: ${(err as Error).message}`, err);
        throw this.tableError;
      }
    }
    return this.table;
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.streams.close();
    this.budget.close();
    if (this.timer) clearInterval(this.timer);
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.timer = this.persistTimer = undefined;
    if (!this.loaded) return; // never started nor given data: nothing to flush
    try {
      await this.flush();
    } finally {
      await this.saveBudgets();
      this.budgets.close();
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
      if (!this.loaded) this.loadTable(); // process() before start() (tests, `vigil test`)
      const now = Date.now();
      if (batch.resourceSpans) this.priceSpans(batch, now);
      if (batch.resourceMetrics) this.priceMetrics(batch);
      if (this.budgets.isDirty) this.schedulePersist();
    } catch (err) {
      this.logger.error({ err }, 'cost: failed to price a batch (passed on unchanged)');
    } finally {
      if (this.budgetPending.length) {
        // a batch that failed midway: what it priced still counts
        this.addPendingSpend(Date.now());
        this.schedulePersist();
      }
      if (this.unpricedPending.size) this.flushUnpriced();
      if (this.usageOverflowed || this.budgets.overflowed !== this.budgetOverflowSeen) this.countOverflow();
    }
    return next.consume(batch);
  }

  // ----------------------------------------------------------------------------------------- pricing

  private priceSpans(batch: Batch, nowMs: number): void {
    const table = this.priceTable();
    let ctx: ProviderContext | undefined;
    let ctxProvider: string | undefined;
    let ctxAddress: string | undefined;
    for (const rs of batch.resourceSpans!) {
      const rattrs = rs.resource?.attributes ?? [];
      const service = findString(rattrs, 'service.name') ?? '';
      // the call shapes of this resource's service, looked up once per resource
      const resShapes = this.shapesOf(service);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const attrs = span.attributes;
          // every dialect's names, read in one pass into the reused `call` (genai-call.ts)
          const call = this.call;
          readGenAiCall(attrs, call);
          // a streamed call whose usage came on an event (the last chunk's) rather than on the span: when the
          // span's own attributes hold no token count, the last event that holds one gives the counts
          if (!(call.input >= 0) && !(call.output >= 0) && !(call.total >= 0) && call.invalid === undefined && span.events.length !== 0) this.usageFromEvents(span, call);
          const { reqModel, resModel, total, operation, address, iCost, iSource, iModel } = call;
          let { input, output, cacheRead, cacheWrite, reasoning } = call;
          const model = resModel || reqModel;
          if (call.invalid !== undefined) {
            // a token count that is no count (12.5, -5): the call is not priced, nor are its tokens counted,
            // rather than priced with a count made up in its place (the intake refuses such spans the same way)
            this.markUnpriced(attrs, iSource, model ?? '', 'invalid_tokens', call.invalid);
            continue;
          }
          const hasInput = input >= 0 && Number.isFinite(input);
          const hasOutput = output >= 0 && Number.isFinite(output);
          if (!hasInput && !hasOutput) {
            // an LLM call that cannot be priced: counted with the reason, never silently dropped
            if (total >= 0) this.markUnpriced(attrs, iSource, model ?? '', 'only_total_tokens');
            else if (model && !NOT_A_CALL.has(operation ?? '')) this.markUnpriced(attrs, iSource, model, 'no_tokens');
            continue;
          }
          if (!model) {
            this.markUnpriced(attrs, iSource, '', 'no_model');
            continue;
          }
          if (!hasInput) input = 0;
          if (!hasOutput) output = 0;
          if (!(cacheRead >= 0) || !Number.isFinite(cacheRead)) cacheRead = 0;
          if (!(cacheWrite >= 0) || !Number.isFinite(cacheWrite)) cacheWrite = 0;
          if (!(reasoning >= 0) || !Number.isFinite(reasoning)) reasoning = 0;
          // OTel GenAI: the input includes the cache reads and writes. Anthropic's own usage does not (input_tokens
          // are the uncached tokens only), and an instrumentation that copies it as is sends cache counts that add up
          // to more than the input: they cannot be parts of it, so the input is read as the uncached tokens
          // A total that is the sum of the counts with the cache tokens beside the input says the same (Langfuse-style
          // and raw Anthropic usage copied with its total)
          if (cacheRead + cacheWrite > input || (cacheRead + cacheWrite > 0 && total >= 0 && (total === input + cacheRead + cacheWrite + output || total === input + cacheRead + cacheWrite + output + reasoning))) input += cacheRead + cacheWrite;
          // Reasoning tokens: among the output (OTel GenAI) or beside it (xAI's and Perplexity's usage, Gemini's
          // thoughts): a total says which, where one is sent; else the provider's own usage does (Price.reasoningBeside)
          const beside = reasoning > 0 && total >= 0 ? (total === input + output + reasoning ? true : total === input + output ? false : undefined) : undefined;

          const provider = call.provider;
          const spanService = call.spanService;
          const svc = spanService ?? service;
          const key = reqModel || resModel || '';
          // the same call shape as an earlier span since the last emission: its resolution and usage
          // series without any lookup (one Map get by model name; README "Speed")
          const shapes = spanService === undefined || spanService === service ? resShapes : this.shapesOf(svc);
          const list = shapes.get(key);
          let shape: CallShape | undefined;
          if (list !== undefined) {
            for (let j = 0; j < list.length; j++) {
              const s = list[j]!;
              if (s.reqModel === reqModel && s.resModel === resModel && s.provider === provider && s.address === address && s.operation === operation) {
                shape = s;
                break;
              }
            }
          }
          if (shape === undefined) {
            if (ctx === undefined || ctxProvider !== provider || ctxAddress !== address) {
              ctx = table.context(provider, address);
              ctxProvider = provider;
              ctxAddress = address;
            }
            // the response model is what served the call; fall back to the requested one (a geo profile requested first)
            const r = table.resolveCall(reqModel, resModel, ctx);
            shape = { reqModel, resModel, provider, address, operation, r: r!, usage: this.usageFor(svc, key, provider ?? '', operation ?? '', r?.price?.name ?? ''), service: svc, spend: 0 };
            this.rememberShape(svc, shapes, key, list, shape);
          }
          const r = shape.r;
          const usage = shape.usage;
          if (usage === this.usageOverflow) this.usageOverflowed++;
          if (usage.seenAt !== nowMs) {
            usage.seenAt = nowMs;
            this.seenSpans(svc, key, nowMs);
          }
          usage.input += input;
          usage.output += output;
          if (!r?.price) {
            this.markUnpriced(attrs, iSource, key, r?.reason ?? 'no_price');
            continue;
          }
          // an OpenAI-style service tier priced apart (flex, priority: LiteLLM *_flex, *_priority); any other is standard
          const price = priceOnTier(r.price, call.serviceTier);
          const ai = call.audioInput;
          const ao = call.audioOutput;
          const cost = callCost(price, input, output, cacheRead, cacheWrite, reasoning, beside, ai > 0 && Number.isFinite(ai) ? ai : 0, ao > 0 && Number.isFinite(ao) ? ao : 0);
          if (iCost < 0 && iSource < 0 && iModel < 0) {
            // a span priced for the first time (the common case): one push, one growth of the array
            attrs.push({ key: 'gen_ai.usage.cost', value: cost }, { key: 'gen_ai.usage.cost.source', value: 'table' }, { key: 'gen_ai.usage.cost.model', value: r.price.name });
          } else {
            if (iCost >= 0) attrs[iCost]!.value = cost;
            else attrs.push({ key: 'gen_ai.usage.cost', value: cost });
            if (iSource >= 0) attrs[iSource]!.value = 'table';
            else attrs.push({ key: 'gen_ai.usage.cost.source', value: 'table' });
            if (iModel >= 0) attrs[iModel]!.value = r.price.name;
            else attrs.push({ key: 'gen_ai.usage.cost.model', value: r.price.name });
          }
          usage.cost += cost;
          usage.priced = true;
          if (cost > 0 && this.budgets.active) {
            if (this.budgetsByService) {
              if (shape.spend === 0) this.budgetPending.push(shape);
              shape.spend += cost;
            } else {
              this.curAttrs = attrs;
              this.curResAttrs = rattrs;
              this.curService = svc;
              this.budgets.add(cost, nowMs, this.lookupAttr);
            }
          }
        }
      }
    }
    if (this.budgetPending.length) this.addPendingSpend(nowMs);
  }

  /**
   * Fills the token counts of `call` (and its model, provider and address where the span has none) from the last
   * event of `span` that carries a token count, in any dialect the span's attributes are read in.
   */
  private usageFromEvents(span: Span, call: GenAiCall): void {
    const ev = this.eventCall;
    for (let i = span.events.length - 1; i >= 0; i--) {
      const attrs = span.events[i]!.attributes;
      if (attrs.length === 0) continue;
      readGenAiCall(attrs, ev);
      if (!(ev.input >= 0) && !(ev.output >= 0) && !(ev.total >= 0) && ev.invalid === undefined) continue;
      call.input = ev.input;
      call.output = ev.output;
      call.total = ev.total;
      call.cacheRead = ev.cacheRead;
      call.cacheWrite = ev.cacheWrite;
      call.reasoning = ev.reasoning;
      call.audioInput = ev.audioInput;
      call.audioOutput = ev.audioOutput;
      call.invalid = ev.invalid;
      if (!call.reqModel && !call.resModel) {
        call.reqModel = ev.reqModel;
        call.resModel = ev.resModel;
      } else call.resModel ||= ev.resModel;
      call.provider ??= ev.provider;
      call.address ??= ev.address;
      call.serviceTier ??= ev.serviceTier;
      return;
    }
  }

  /** Adds the spend of the batch's call shapes to the budgets (budgets grouped by service.name or nothing). */
  private addPendingSpend(nowMs: number): void {
    const pending = this.budgetPending;
    this.curAttrs = [];
    this.curResAttrs = [];
    for (let i = 0; i < pending.length; i++) {
      const shape = pending[i]!;
      this.curService = shape.service;
      this.budgets.add(shape.spend, nowMs, this.lookupAttr);
      shape.spend = 0;
    }
    pending.length = 0;
    this.curService = undefined;
  }

  private markUnpriced(attrs: KeyValue[], iSource: number, model: string, reason: UnpricedWhy, detail?: string): void {
    if (iSource >= 0) attrs[iSource]!.value = 'unpriced';
    else attrs.push({ key: 'gen_ai.usage.cost.source', value: 'unpriced' });
    this.countUnpriced(model, reason, 1, detail);
  }

  /** The call shapes of one service (created on first use; all are dropped at each emission). */
  private shapesOf(service: string): Map<string, CallShape[]> {
    let m = this.shapes.get(service);
    if (m === undefined) {
      if (this.shapeCount >= MAX_USAGE_SERIES) this.clearShapes();
      this.shapes.set(service, (m = new Map()));
      this.shapeCount++;
    }
    return m;
  }

  /**
   * Keeps a call shape for the next spans of it. Bounded like the usage series they point to (past the
   * bound, all are forgotten and the cache starts again) and charged to the memory budget; when the budget
   * is full the shape is not kept (its spans are then resolved each time: slower, the same prices).
   */
  private rememberShape(service: string, shapes: Map<string, CallShape[]>, model: string, list: CallShape[] | undefined, shape: CallShape): void {
    const bytes = SHAPE_BYTES + stringBytes(shape.address ?? '') + stringBytes(shape.resModel ?? '');
    if (!this.budget.admit(bytes)) return;
    if (this.shapeCount >= MAX_USAGE_SERIES) {
      this.clearShapes();
      shapes.clear();
      this.shapes.set(service, shapes);
      list = undefined;
    }
    if (list === undefined) shapes.set(model, [shape]);
    else list.push(shape);
    this.shapeCount++;
    this.budget.add(bytes);
    this.shapeBytes += bytes;
  }

  private clearShapes(): void {
    this.shapes = new Map();
    this.shapeCount = 0;
    this.budget.add(-this.shapeBytes);
    this.shapeBytes = 0;
  }

  /** Remembers that (service, model) sends spans: its token-usage metric points are then not counted (README "Counted once"). */
  private seenSpans(service: string, model: string, nowMs: number): void {
    let models = this.spanPairs.get(service);
    if (!models) {
      if (this.spanPairs.size >= MAX_STREAMS) this.spanPairs.clear();
      this.spanPairs.set(service, (models = new Map()));
    }
    if (models.get(model) === nowMs) return;
    if (models.size >= MAX_STREAMS) models.clear();
    models.set(model, nowMs);
  }

  /**
   * Prices `gen_ai.client.token.usage` points (explicit-bucket or exponential histograms): the sum of
   * each point is its token count. They are held until the next emission, and dropped there for any
   * (service, model) whose calls also arrived as spans (spans win: they carry the cache split).
   */
  private priceMetrics(batch: Batch): void {
    // cumulative streams are read as increments by the shared stream reader (src/streams): one stream
    // per resource (two replicas are two streams), scope and point attributes
    this.streams.read(batch, this.wantsTokenUsage, this.tokenVisitor);
  }

  private readonly wantsTokenUsage = (m: Metric): boolean => {
    if (m.name === USAGE_INPUT_COUNTER || m.name === USAGE_OUTPUT_COUNTER) {
      // the OTel GenAI token counters (gen_ai.client.inference.usage.*): monotonic sums of tokens
      if (m.data?.type === 'sum') return true;
      this.countUnpriced('', 'unsupported_metric_type', (m.data as { dataPoints?: unknown[] } | undefined)?.dataPoints?.length ?? 1);
      return false;
    }
    if (m.name !== 'gen_ai.client.token.usage') return false;
    const data = m.data;
    if (!data || (data.type !== 'histogram' && data.type !== 'exponentialHistogram')) {
      this.countUnpriced('', 'unsupported_metric_type', (data as { dataPoints?: unknown[] } | undefined)?.dataPoints?.length ?? 1);
      return false;
    }
    return true;
  };

  private readonly tokenVisitor: MetricPointVisitor = {
    histogram: (ctx, delta, dp) => this.priceTokenPoint(ctx, dp.attributes, dp.sum, delta ? (delta.sum ?? NaN) : undefined),
    exponentialHistogram: (ctx, delta, dp) => this.priceTokenPoint(ctx, dp.attributes, dp.sum, delta ? (delta.sum ?? NaN) : undefined),
    // gen_ai.client.inference.usage.input_tokens / output_tokens: the counter's value (its increase) is the token count
    number: (ctx, delta, dp) => this.priceTokenPoint(ctx, dp.attributes, Number(dp.value), delta, ctx.metric.name === USAGE_INPUT_COUNTER ? 'input' : 'output'),
  };

  /**
   * One token-usage point: `value` is the point's own token count (a histogram's sum, a counter's value), `tokens`
   * what it adds since its stream's previous point (undefined: a baseline), `counterType` the token type a
   * counter's name gives (a histogram point says it in gen_ai.token.type).
   */
  private priceTokenPoint(ctx: PointContext, a: KeyValue[], value: number | undefined, tokens: number | undefined, counterType?: 'input' | 'output'): void {
    const table = this.priceTable();
    const rattrs = ctx.resourceMetrics.resource?.attributes ?? [];
    const reqModel = findString(a, 'gen_ai.request.model');
    const resModel = findString(a, 'gen_ai.response.model');
    const model = resModel || reqModel;
    if (typeof value !== 'number') {
      this.countUnpriced(model ?? '', 'no_tokens');
      return;
    }
    // the sum of token counts (int) is a whole number: 12.5, a negative or a non-finite sum is no count
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && value % 1 === 0)) {
      this.countUnpriced(model ?? '', 'invalid_tokens', 1, `${counterType ? 'value' : 'sum'}: ${String(value)}`);
      return;
    }
    if (tokens === undefined) return; // a cumulative stream's baseline: nothing new yet
    if (!(tokens > 0)) return;
    const rawType = counterType ?? findString(a, 'gen_ai.token.type') ?? findString(a, 'llm.usage.token_type');
    const type = rawType === 'input' || rawType === 'prompt' ? 'input' : rawType === 'output' || rawType === 'completion' ? 'output' : undefined;
    if (!type) {
      this.countUnpriced(model ?? '', 'unknown_token_type');
      return;
    }
    if (!model) {
      this.countUnpriced('', 'no_model');
      return;
    }
    const provider = findString(a, 'gen_ai.provider.name') ?? findString(a, 'gen_ai.system');
    const pctx = table.context(provider, findString(a, 'server.address'));
    const r = table.resolveCall(reqModel, resModel, pctx);
    const svc = findString(a, 'service.name') ?? findString(rattrs, 'service.name') ?? '';
    // the histogram does not say which input tokens were cached: all are priced as input; a service tier on the
    // point (flex, priority) picks its prices as on a span
    const price = r?.price?.serviceTiers !== undefined ? priceOnTier(r.price, serviceTierOf(a)) : r?.price;
    const cost = price ? (type === 'input' ? tokens * price.input : tokens * price.output) / 1e6 : 0;
    this.holdMetricUsage(svc, reqModel || resModel || '', provider ?? '', findString(a, 'gen_ai.operation.name') ?? '', price?.name ?? '', type, tokens, cost, price ? undefined : ((r as Unpriced | undefined)?.reason ?? 'no_price'), a, rattrs);
  }

  private holdMetricUsage(service: string, model: string, provider: string, operation: string, priced: string, type: 'input' | 'output', tokens: number, cost: number, unpriced: UnpricedWhy | undefined, a: readonly KeyValue[], rattrs: readonly KeyValue[]): void {
    this.curAttrs = a;
    this.curResAttrs = rattrs;
    this.curService = undefined;
    const groupAttrs: KeyValue[] = this.groupKeys.map((k) => ({ key: k, value: this.lookupAttr(k) ?? '' }));
    const key = `${service}\u0001${model}\u0002${provider}\u0002${operation}\u0002${priced}\u0002${groupAttrs.map((g) => g.value).join('\u0001')}`;
    let h = this.heldMetrics.get(key);
    if (!h) {
      const bytes = USAGE_BYTES + stringBytes(key) * 2;
      if (this.heldMetrics.size >= MAX_USAGE_SERIES || !this.budget.admit(bytes)) {
        if (this.heldMetrics.size < MAX_USAGE_SERIES) this.budget.shed(1);
        // too many held series: count at once rather than lose it (no deduplication for these)
        h = { service, model, provider, operation, priced, groupAttrs, input: 0, output: 0, cost: 0, points: 0, unpriced: new Map() };
        this.applyHeld(h, Date.now());
      } else {
        this.heldMetrics.set(key, (h = { service, model, provider, operation, priced, groupAttrs, input: 0, output: 0, cost: 0, points: 0, unpriced: new Map() }));
        this.budget.add(bytes);
        this.heldBytes += bytes;
      }
    }
    if (type === 'input') h.input += tokens;
    else h.output += tokens;
    h.cost += cost;
    h.points++;
    if (unpriced) h.unpriced.set(unpriced, (h.unpriced.get(unpriced) ?? 0) + 1);
  }

  /** Counts the held token-usage series: dropped where spans of the same (service, model) were seen. */
  private applyHeldMetrics(nowMs: number): void {
    if (!this.heldMetrics.size) return;
    for (const [svc, models] of this.spanPairs) {
      for (const [m, t] of models) if (t < nowMs - SPAN_MEMORY_MS) models.delete(m);
      if (!models.size) this.spanPairs.delete(svc);
    }
    let superseded = 0;
    for (const h of this.heldMetrics.values()) {
      if (this.spanPairs.get(h.service)?.has(h.model)) superseded += h.points;
      else this.applyHeld(h, nowMs);
    }
    this.heldMetrics.clear();
    this.budget.add(-this.heldBytes);
    this.heldBytes = 0;
    if (superseded) this.supersededCounter.add(superseded, this.counterLabels);
    if (this.unpricedPending.size) this.flushUnpriced();
    if (this.usageOverflowed || this.budgets.overflowed !== this.budgetOverflowSeen) this.countOverflow();
  }

  private applyHeld(h: HeldUsage, nowMs: number): void {
    const usage = this.usageFor(h.service, h.model, h.provider, h.operation, h.priced);
    if (usage === this.usageOverflow) this.usageOverflowed += h.points;
    usage.input += h.input;
    usage.output += h.output;
    for (const [reason, n] of h.unpriced) this.countUnpriced(h.model, reason, n);
    if (!h.priced) return;
    usage.cost += h.cost;
    usage.priced = true;
    if (this.budgets.active && h.cost > 0) {
      this.curAttrs = h.groupAttrs;
      this.curResAttrs = [];
      this.curService = undefined;
      this.budgets.add(h.cost, nowMs, this.lookupAttr);
    }
  }

  private usageFor(service: string, model: string, provider: string, operation: string, priced: string): Usage {
    let n1 = this.usageRoot.get(service) as Trie | undefined;
    let n2 = n1?.get(model) as Trie | undefined;
    let n3 = n2?.get(provider) as Trie | undefined;
    let n4 = n3?.get(operation) as Trie | undefined;
    const found = n4?.get(priced) as Usage | undefined;
    if (found) return found;
    const bytes = USAGE_BYTES + 2 * (stringBytes(service) + stringBytes(model) + stringBytes(provider) + stringBytes(operation) + stringBytes(priced));
    const fits = this.budget.admit(bytes);
    if (!fits && this.usageList.length < MAX_USAGE_SERIES) this.budget.shed(1);
    if (this.usageList.length >= MAX_USAGE_SERIES || !fits) {
      return (this.usageOverflow ??= { attrs: [{ key: 'otel.metric.overflow', value: true }], service: '', cost: 0, priced: false, input: 0, output: 0 });
    }
    if (!n1) this.usageRoot.set(service, (n1 = new Map()));
    if (!n2) n1.set(model, (n2 = new Map()));
    if (!n3) n2.set(provider, (n3 = new Map()));
    if (!n4) n3.set(operation, (n4 = new Map()));
    const attrs: KeyValue[] = [
      { key: 'service.name', value: service },
      { key: 'gen_ai.request.model', value: model },
      { key: 'gen_ai.provider.name', value: provider },
      { key: 'gen_ai.system', value: provider },
      { key: 'gen_ai.operation.name', value: operation },
    ];
    // the table key the calls were priced with: one series per real model, whatever name was sent
    if (priced) attrs.push({ key: 'gen_ai.usage.cost.model', value: priced });
    const u: Usage = { attrs, service, cost: 0, priced: false, input: 0, output: 0 };
    n4.set(priced, u);
    this.usageList.push(u);
    this.budget.add(bytes);
    this.usageBytes += bytes;
    return u;
  }

  /**
   * Adds the overflows since the last call to `vigil_processor_series_overflow_items{store}` (`usage`: calls
   * counted in the overflow usage series past 10,000 series or the memory budget; `budget`: spend added to a
   * budget's overflow group past 1000 groups or the memory budget), and logs the first of each kind.
   */
  private countOverflow(): void {
    const budget = this.budgets.overflowed - this.budgetOverflowSeen;
    this.budgetOverflowSeen = this.budgets.overflowed;
    const usage = this.usageOverflowed;
    this.usageOverflowed = 0;
    for (const [store, n, what] of [
      ['usage', usage, `more than ${MAX_USAGE_SERIES} llm.cost/llm.tokens series in an interval (or the memory budget full): further calls are counted in one series with otel.metric.overflow=true`],
      ['budget', budget, `a budget has ${MAX_GROUPS} groups (or the memory budget is full): spend of further groups goes to its group with otel.metric.overflow=true`],
    ] as const) {
      if (n <= 0) continue;
      this.overflowCounter.add(n, { ...this.counterLabels, store });
      if (!this.overflowLogged[store]) this.logger.warn({ store }, `cost: ${what}; counted on vigil_processor_series_overflow_items_total{store="${store}"} (logged once)`);
      this.overflowLogged[store] = true;
    }
  }

  /** Counts unpriced calls; the counter is updated once per (model, reason) per batch (flushUnpriced). */
  private countUnpriced(model: string, reason: UnpricedWhy, n = 1, detail?: string): void {
    let byModel = this.unpricedPending.get(reason);
    if (!byModel) this.unpricedPending.set(reason, (byModel = new Map()));
    byModel.set(model, (byModel.get(model) ?? 0) + n);
    if (detail !== undefined && !this.unpricedDetail.has(`${reason}\0${model}`)) this.unpricedDetail.set(`${reason}\0${model}`, detail);
  }

  /** The first detail (which attribute, what value) of each (reason, model) of the batch, for the warning. */
  private readonly unpricedDetail = new Map<string, string>();

  private flushUnpriced(): void {
    for (const [reason, byModel] of this.unpricedPending) {
      let known = this.unpricedLabels.get(reason);
      if (!known) this.unpricedLabels.set(reason, (known = new Map()));
      for (const [model, n] of byModel) {
        let labels = known.get(model);
        if (!labels) {
          if (this.labelCount >= MAX_MODEL_LABELS) {
            labels = this.otherLabels.get(reason);
            if (!labels) this.otherLabels.set(reason, (labels = { ...this.counterLabels, model: 'other', reason }));
          } else {
            this.labelCount++;
            known.set(model, (labels = { ...this.counterLabels, model, reason }));
            const detail = this.unpricedDetail.get(`${reason}\0${model}`);
            this.logger.warn({ model, reason, ...(detail ? { detail } : {}) }, `cost: ${REASON_TEXT[reason]}${detail ? ` (${detail})` : ''} for model "${model}"; its calls are marked gen_ai.usage.cost.source=unpriced and counted on vigil_processor_llm_unpriced_calls_total{reason="${reason}"}`);
          }
        }
        this.unpricedCounter.add(n, labels);
      }
    }
    this.unpricedPending.clear();
    this.unpricedDetail.clear();
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.stopped) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      void this.saveBudgets();
    }, timerDelay(this.persistMs));
    this.persistTimer.unref();
  }

  // ------------------------------------------------------------------------------------------ emit

  /** Emits llm.cost and llm.tokens since the last emission, and the budget gauges. */
  async flush(): Promise<void> {
    const nowMs = Date.now();
    const nowNs = BigInt(nowMs) * 1_000_000n;
    const startNs = this.lastEmitNs;
    this.applyHeldMetrics(nowMs);
    this.lastEmitNs = nowNs;
    const usages = this.usageOverflow ? [...this.usageList, this.usageOverflow] : this.usageList;
    this.usageRoot = new Map();
    this.clearShapes();
    this.usageList = [];
    this.usageOverflow = undefined;
    this.budget.add(-this.usageBytes);
    this.usageBytes = 0;

    const groups = new Map<string, { cost: NumberDataPoint[]; tokens: NumberDataPoint[] }>();
    const groupOf = (service: string) => {
      let g = groups.get(service);
      if (!g) groups.set(service, (g = { cost: [], tokens: [] }));
      return g;
    };
    for (const u of usages) {
      // one row per real model: the table key it was priced with, else the name as sent
      const model = (u.attrs.find((a) => a.key === 'gen_ai.usage.cost.model') ?? u.attrs.find((a) => a.key === 'gen_ai.request.model'))?.value;
      if (typeof model === 'string') this.modelCosts.add(model, u.priced ? u.cost : 0, u.priced, u.input, u.output, nowMs);
      const g = groupOf(u.service);
      if (u.priced) g.cost.push(numberPoint(u.attrs, startNs, nowNs, u.cost));
      if (u.input) g.tokens.push(numberPoint([...u.attrs, { key: 'gen_ai.token.type', value: 'input' }], startNs, nowNs, int64(u.input)));
      if (u.output) g.tokens.push(numberPoint([...u.attrs, { key: 'gen_ai.token.type', value: 'output' }], startNs, nowNs, int64(u.output)));
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
      const limit: NumberDataPoint[] = [];
      for (const b of this.budgets.snapshot(nowMs)) {
        for (const g of b.groups) {
          const attrs: KeyValue[] = [{ key: 'budget', value: b.config.name }, ...g.attrs];
          spent.push(numberPoint(attrs, nowNs, nowNs, g.spent));
          utilization.push(numberPoint(attrs, nowNs, nowNs, g.spent / b.config.limit_usd));
          limit.push(numberPoint(attrs, nowNs, nowNs, b.config.limit_usd));
        }
      }
      resourceMetrics.push(
        resourceOf('', [
          { name: 'llm.budget.spent', description: 'Spend of the current budget period', unit: 'USD', metadata: [], data: { type: 'gauge', dataPoints: spent } },
          { name: 'llm.budget.utilization', description: 'Spend of the current period / limit', unit: '1', metadata: [], data: { type: 'gauge', dataPoints: utilization } },
          // the limit itself, so that a graph draws it without dividing spend by utilization (0 / 0 before any spend)
          { name: 'llm.budget.limit', description: 'Limit of one budget period', unit: 'USD', metadata: [], data: { type: 'gauge', dataPoints: limit } },
        ]),
      );
    }
    // a period roll-over changes the state too, and so does the cost per model
    if (this.budgets.isDirty) this.schedulePersist();
    if (resourceMetrics.length) await this.emit.consume({ resourceMetrics });
  }

  /** Spend against each budget (with the projection to the end of the period) and cost per model. */
  status(nowMs: number): ComponentStatus {
    return {
      cost: {
        budgets: this.budgets.active ? this.budgets.snapshot(nowMs).flatMap((b) => budgetStatus(b, nowMs)) : [],
        models: this.modelCosts.list(nowMs),
      },
    };
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

/**
 * USD for one call. input includes the cached and cache-write tokens and output the reasoning tokens (OTel
 * GenAI semconv), so they are taken out of them: each token is priced once, at its own rate. Reasoning
 * tokens are priced whole, the rest of the output at the output rate (`max(0, output - reasoning)`, as
 * LiteLLM's generic_cost_per_token and DashScope calculator do); where they are counted beside the output
 * (`reasoningBeside`: by default the provider's usage, `Price.reasoningBeside`, Perplexity and xAI; the caller
 * passes what the call's own total says) the output is priced whole and the reasoning on top (LiteLLM's
 * Perplexity and xAI calculators). Audio tokens (parts of the uncached input and of the text output) are at the
 * entry's audio prices (LiteLLM `input_cost_per_audio_token`, `output_cost_per_audio_token`). Above a long-context threshold (LiteLLM
 * `*_above_<N>k_tokens`, compared with the input tokens) every token of the call is at the tier's rates.
 */
export function callCost(p: Price, input: number, output: number, cacheRead: number, cacheWrite: number, reasoning = 0, reasoningBeside = p.reasoningBeside, audioInput = 0, audioOutput = 0): number {
  const r = ratesFor(p, input);
  const cached = Math.min(cacheRead, input);
  const written = Math.min(cacheWrite, input - cached);
  let fresh = input - cached - written;
  // audio tokens are parts of the uncached input and of the output other than reasoning, at their own prices
  const audioIn = Math.min(audioInput, fresh);
  fresh -= audioIn;
  // reasoning counted beside the output (Perplexity's and xAI's usage): the output whole, the reasoning on top
  let text = reasoningBeside ? output : Math.max(0, output - reasoning);
  const audioOut = Math.min(audioOutput, text);
  text -= audioOut;
  return (fresh * r.input + cached * r.cacheRead + written * r.cacheWrite + text * r.output + reasoning * r.reasoning + audioIn * p.audioInput + audioOut * p.audioOutput) / 1e6;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A token total as an OTLP int64 (`llm.tokens`): rounded, and held at the int64 maximum rather than wrapped. */
function int64(n: number): bigint {
  if (!Number.isFinite(n)) return n > 0 ? INT64_MAX : 0n;
  const b = BigInt(Math.round(n));
  return b > INT64_MAX ? INT64_MAX : b;
}

/** Why a call was not priced (the `reason` label of vigil_processor_llm_unpriced_calls_total). */
export type UnpricedWhy = UnpricedReason | 'no_model' | 'no_tokens' | 'invalid_tokens' | 'only_total_tokens' | 'unknown_token_type' | 'unsupported_metric_type';

const REASON_TEXT: Record<UnpricedWhy, string> = {
  no_price: 'no price in the table',
  ambiguous: 'the name could mean entries with different prices (give the provider, or add it under prices:)',
  no_model: 'token counts without a model name',
  no_tokens: 'a model but no token counts',
  invalid_tokens: 'a token count that is not a whole number from 0 to 1,000,000,000 (OTel GenAI token counts are int)',
  only_total_tokens: 'only a total token count (input and output are priced differently)',
  unknown_token_type: 'a token-usage point without gen_ai.token.type input|output',
  unsupported_metric_type: 'gen_ai.client.token.usage is not a histogram',
};

/** Operations that are not model calls themselves (OTel GenAI agent spans): no count when they carry no tokens. */
/** The OTel GenAI token counters priced (gen_ai-token-metrics.md); their cache and reasoning parts are not read apart. */
const USAGE_INPUT_COUNTER = 'gen_ai.client.inference.usage.input_tokens';
const USAGE_OUTPUT_COUNTER = 'gen_ai.client.inference.usage.output_tokens';

const NOT_A_CALL = new Set(['invoke_agent', 'create_agent', 'execute_tool', 'invoke_workflow']);

/** How long a (service, model) pair stays "sent as spans" after its last span. */
const SPAN_MEMORY_MS = 60 * 60_000;

type UnpricedLabels = CreateSettings['telemetry']['labels'] & { model: string; reason: string };

interface HeldUsage {
  service: string;
  model: string;
  provider: string;
  operation: string;
  priced: string;
  groupAttrs: KeyValue[];
  input: number;
  output: number;
  cost: number;
  points: number;
  unpriced: Map<UnpricedWhy, number>;
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

