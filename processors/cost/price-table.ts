/**
 * The price table: loads the built-in table (the whole LiteLLM table, converted), a price file (our
 * format or LiteLLM's JSON) and the user's additions, and resolves a call, given as (provider context,
 * model name as sent), to one price — or to "unpriced" with a reason. It never prices a call from a
 * neighbouring entry with a different price: a name that could mean entries with different prices is
 * unpriced (`ambiguous`). Resolutions are cached per (provider context, model).
 *
 * Order of resolution (see processors/cost/README.md, "Model names"):
 *   1. the user's `prices:` `model` entries (exact name, any case; also after a routing prefix);
 *   2. the provider: `server.address` when it names a known endpoint, else `gen_ai.provider.name` /
 *      `gen_ai.system` / `llm.provider` / `llm.system`, else a routing prefix of the model
 *      (`openai/`, `bedrock/`, ...) — mapped to LiteLLM `litellm_provider` values;
 *   3. exact table key (case-insensitive) when it belongs to that provider (or no provider is known);
 *   4. the provider-qualified key (`<prefix>/<model>`, or the model among that provider's unprefixed keys);
 *   5. a normalised match among that provider's entries (no provider known: among the unprefixed keys,
 *      then among all), allowed only when every candidate has the same prices;
 *   6. the user's `match:` regexes, in order.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PriceEntryConfig } from './config.ts';
import { ErrorCodes, VigilError } from '../../src/errors.ts';
import { readTextFileSync } from '../../src/text-file.ts';
import { type SearchRegex, compileSearchRegex } from '../../src/regex.ts';

/** Prices above an input-token threshold: every token of such a call is at these rates (LiteLLM `*_above_<N>k_tokens`). */
export interface Tier {
  /** Applies when the call's input tokens (cached ones included) are greater than this. */
  above: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Reasoning output tokens: the entry's own reasoning price, else the tier's output price. */
  reasoning: number;
}

/**
 * One priced entry, USD per 1M tokens. Cache and reasoning prices are always set (the provider-correct
 * fallback is applied at load; reasoning tokens without a price of their own are output tokens).
 */
export interface Price {
  /** The entry's key as written in its table (what `gen_ai.usage.cost.model` records). */
  name: string;
  /** LiteLLM's `litellm_provider` (absent for user entries and own-format entries without one). */
  provider?: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /**
   * Reasoning output tokens (LiteLLM `output_cost_per_reasoning_token`; default: the output price, or 0 where
   * reasoning tokens are counted beside the output, see {@link reasoningBeside}).
   */
  reasoning: number;
  /**
   * True where the provider's usage counts reasoning tokens beside the output tokens, not among them
   * (Perplexity and xAI: `completion_tokens` + `reasoning_tokens`): the output is then priced whole and the
   * reasoning tokens on top at the reasoning price, as LiteLLM's Perplexity and xAI cost calculators do. A
   * call's own total can say otherwise (see cost-processor.ts `callCost`).
   */
  reasoningBeside?: boolean;
  /** Audio input and output tokens (LiteLLM `input_cost_per_audio_token`, `output_cost_per_audio_token`; default: the input and output prices). */
  audioInput: number;
  audioOutput: number;
  /** Long-context tiers, ascending by `above`. */
  tiers?: Tier[];
  /**
   * The prices of an OpenAI-style service tier (`flex`, `priority`: LiteLLM `*_flex`, `*_priority`), for a call
   * whose `openai.response.service_tier` / `openai.request.service_tier` names it; absent: the standard prices.
   */
  serviceTiers?: Partial<Record<ServiceTierName, Price>>;
}

/** The service tiers LiteLLM prices apart (`*_flex`, `*_priority`); any other tier is billed at the standard prices. */
export type ServiceTierName = 'flex' | 'priority';
/** {@link ServiceTierName}s, in the order they are written. */
export const SERVICE_TIERS: readonly ServiceTierName[] = ['flex', 'priority'];

/** The prices of one service tier as a price file gives them: each price absent is the standard one. */
export interface RawServiceTier {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  tiers?: { above: number; input?: number; output?: number; cacheRead?: number; cacheWrite?: number }[];
}

/**
 * LiteLLM providers whose raw usage counts reasoning tokens outside the completion tokens, with the price of
 * reasoning tokens where the entry has none of its own:
 * - Perplexity (`usage.reasoning_tokens` beside `completion_tokens`, docs.perplexity.ai "Pricing"; LiteLLM
 *   llms/perplexity/cost_calculator.py adds them on top, at `output_cost_per_reasoning_token`, 0 without one);
 * - xAI (docs.x.ai "Consumption and rate limits": "reasoning token consumption will be counted separately from
 *   completion_tokens, but will be counted in the total_tokens"; LiteLLM llms/xai/cost_calculator.py bills
 *   completion + reasoning tokens at the output price).
 */
const REASONING_BESIDE_OUTPUT = new Map<string, 'unbilled' | 'output'>([
  ['perplexity', 'unbilled'],
  ['xai', 'output'],
]);

/** A price file entry before the fallbacks (cache prices may be absent). */
export interface RawPrice {
  name: string;
  provider?: string;
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
  audioInput?: number;
  audioOutput?: number;
  tiers?: { above: number; input?: number; output?: number; cacheRead?: number; cacheWrite?: number; reasoning?: number }[];
  /** Service tier prices (`flex`, `priority`); a price a tier does not give is the standard one (as LiteLLM reads them). */
  serviceTiers?: Partial<Record<ServiceTierName, RawServiceTier>>;
}

/**
 * Why a call has no price: no entry for the model (`no_price`), or a name that could mean entries with
 * different prices (`ambiguous`).
 */
export type UnpricedReason = 'no_price' | 'ambiguous';

/** A model name resolved to one price (USD per 1M tokens), and how it was matched (see this file's comment). */
export interface Resolution {
  price: Price;
  /** How the name was matched. */
  how: 'user' | 'exact' | 'provider' | 'normalised' | 'match';
}

/** A model name that resolved to no price, and why. */
export interface Unpriced {
  price?: undefined;
  reason: UnpricedReason;
}

/** Path of the built-in price table (`prices.json` beside this file, converted from LiteLLM's table). */
export const BUILTIN_PRICES = fileURLToPath(new URL('./prices.json', import.meta.url));

/** A price file that cannot be used, with the reason and where. */
export class PriceFileError extends VigilError {
  constructor(file: string, reason: string) {
    super(ErrorCodes.PRICE_FILE, `price table ${file}: ${reason}`);
    this.name = 'PriceFileError';
  }
}

/** What a price file holds, with its provenance (built-in table: LiteLLM source and date). */
export interface PriceFile {
  entries: RawPrice[];
  source?: string;
  lastUpdated?: string;
  /** Entries left out because every price is $0 (free tiers, local runtimes). */
  zeroPriced: number;
}

/** Reads a price file in our format (`{models: [...]}`) or LiteLLM's (`{name: {input_cost_per_token...}}`). */
export function loadPriceFile(file: string): RawPrice[] {
  return readPriceFile(file).entries;
}

/**
 * Reads a price file in our format or LiteLLM's, with its provenance. Throws a {@link PriceFileError} when the
 * file cannot be read, is not JSON, or does not have a usable shape.
 */
export function readPriceFile(file: string): PriceFile {
  const read = readTextFileSync(file);
  if (!read.ok) throw new PriceFileError(file, read.position ? `line ${read.position.line}, column ${read.position.col}: ${read.message}` : `the file ${read.message}`);
  const text = read.text;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PriceFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PriceFileError(file, 'expected a JSON object');
  const obj = doc as Record<string, unknown>;
  if (Array.isArray(obj.models)) return parseOwn(file, obj);
  return fromLiteLlm(obj, file);
}

function parseOwn(file: string, obj: Record<string, unknown>): PriceFile {
  const models = obj.models as unknown[];
  const entries: RawPrice[] = [];
  let zeroPriced = 0;
  models.forEach((m, i) => {
    const where = `models[${i}]`;
    if (!m || typeof m !== 'object') throw new PriceFileError(file, `${where}: expected an object`);
    const e = m as Record<string, unknown>;
    if (typeof e.model !== 'string' || !e.model) throw new PriceFileError(file, `${where}: "model" must be a non-empty string`);
    const num = (o: Record<string, unknown>, k: string, required: boolean, at = where): number | undefined => {
      const v = o[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new PriceFileError(file, `${at} (${String(e.model)}): "${k}" must be a number >= 0 (USD per 1M tokens)`);
      return v;
    };
    if (e.provider !== undefined && typeof e.provider !== 'string') throw new PriceFileError(file, `${where} (${e.model}): "provider" must be a string`);
    const tiersOf = (o: Record<string, unknown>, at: string): RawPrice['tiers'] => {
      if (o.tiers === undefined) return undefined;
      if (!Array.isArray(o.tiers)) throw new PriceFileError(file, `${at} (${e.model}): "tiers" must be a list`);
      return o.tiers.map((t, j) => {
        const tat = `${at}.tiers[${j}]`;
        if (!t || typeof t !== 'object') throw new PriceFileError(file, `${tat}: expected an object`);
        const x = t as Record<string, unknown>;
        const above = num(x, 'above', true, tat)!;
        const tier: NonNullable<RawPrice['tiers']>[number] = { above, input: num(x, 'input', false, tat), output: num(x, 'output', false, tat), cacheRead: num(x, 'cache_read', false, tat), cacheWrite: num(x, 'cache_write', false, tat) };
        const reasoning = num(x, 'reasoning', false, tat);
        if (reasoning !== undefined) tier.reasoning = reasoning;
        return tier;
      });
    };
    const tiers = tiersOf(e, where);
    let serviceTiers: RawPrice['serviceTiers'];
    if (e.service_tiers !== undefined) {
      const st = e.service_tiers;
      if (!st || typeof st !== 'object' || Array.isArray(st)) throw new PriceFileError(file, `${where} (${e.model}): "service_tiers" must be an object of ${SERVICE_TIERS.join(', ')}`);
      for (const [name, v] of Object.entries(st as Record<string, unknown>)) {
        const at = `${where}.service_tiers.${name}`;
        if (!(SERVICE_TIERS as readonly string[]).includes(name)) throw new PriceFileError(file, `${at} (${e.model}): unknown service tier (expected ${SERVICE_TIERS.join(' or ')})`);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new PriceFileError(file, `${at} (${e.model}): expected an object`);
        const o = v as Record<string, unknown>;
        (serviceTiers ??= {})[name as ServiceTierName] = { input: num(o, 'input', false, at), output: num(o, 'output', false, at), cacheRead: num(o, 'cache_read', false, at), cacheWrite: num(o, 'cache_write', false, at), tiers: tiersOf(o, at) };
      }
    }
    const p: RawPrice = {
      name: e.model,
      provider: e.provider as string | undefined,
      input: num(e, 'input', true)!,
      output: num(e, 'output', true)!,
      cacheRead: num(e, 'cache_read', false),
      cacheWrite: num(e, 'cache_write', false),
      reasoning: num(e, 'reasoning', false),
      tiers,
    };
    const audioInput = num(e, 'audio_input', false);
    const audioOutput = num(e, 'audio_output', false);
    if (audioInput !== undefined) p.audioInput = audioInput;
    if (audioOutput !== undefined) p.audioOutput = audioOutput;
    if (serviceTiers) p.serviceTiers = serviceTiers;
    if (isZero(p)) zeroPriced++;
    else entries.push(p);
  });
  if (entries.length === 0) throw new PriceFileError(file, '"models" is empty (or every entry is priced $0)');
  if (typeof obj.zero_priced_left_out === 'number') zeroPriced += obj.zero_priced_left_out;
  return { entries, zeroPriced, source: typeof obj.source === 'string' ? obj.source : undefined, lastUpdated: typeof obj.last_updated === 'string' ? obj.last_updated : undefined };
}

function isZero(p: RawPrice): boolean {
  return !p.input && !p.output && !p.cacheRead && !p.cacheWrite && !(p.tiers ?? []).some((t) => t.input || t.output);
}

const TIER_KEY = /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)_above_(\d+)k_tokens$/;
/**
 * LiteLLM `tiered_pricing` ranges (`[{"range": [start, end], "input_cost_per_token", "output_cost_per_token",
 * "cache_read_input_token_cost"?, "output_cost_per_reasoning_token"?}]`) as tiers ascending by start, `above` =
 * the range's start (USD per 1M tokens); undefined when there are none with token prices.
 */
function stepsOf(x: unknown): NonNullable<RawPrice['tiers']> | undefined {
  if (!Array.isArray(x)) return undefined;
  const steps: NonNullable<RawPrice['tiers']> = [];
  for (const t of x) {
    if (!t || typeof t !== 'object') continue;
    const o = t as Record<string, unknown>;
    const range = o.range;
    const input = perM(o.input_cost_per_token);
    const output = perM(o.output_cost_per_token);
    if (!Array.isArray(range) || typeof range[0] !== 'number' || !(range[0] >= 0) || (input === undefined && output === undefined)) continue;
    const step: NonNullable<RawPrice['tiers']>[number] = { above: range[0], input, output };
    const cacheRead = perM(o.cache_read_input_token_cost);
    if (cacheRead !== undefined) step.cacheRead = cacheRead;
    const reasoning = perM(o.output_cost_per_reasoning_token);
    if (reasoning !== undefined) step.reasoning = reasoning;
    steps.push(step);
  }
  steps.sort((a, b) => a.above - b.above);
  // each range is priced on its own: cached tokens of a range without a cache price are at its input price
  // (LiteLLM dashscope cost_calculator.py), not at another range's cache price
  if (steps.some((t) => t.cacheRead !== undefined)) for (const t of steps) t.cacheRead ??= t.input;
  return steps.length && steps[0]!.above === 0 ? steps : undefined;
}

/** A service tier's price (`input_cost_per_token_flex`, `output_cost_per_token_above_272k_tokens_priority`...). */
const SERVICE_TIER_KEY = /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)(?:_above_(\d+)k_tokens)?_(flex|priority)$/;

/**
 * Converts LiteLLM's `model_prices_and_context_window.json` (USD per token) into our entries (USD per
 * 1M tokens). Kept: `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`
 * (or DeepSeek-style `input_cost_per_token_cache_hit`), `cache_creation_input_token_cost`,
 * `output_cost_per_reasoning_token` (when it differs from the output price, the default) and the
 * `*_above_<N>k_tokens` tiers of the first four. Left out: entries priced per image/second/character only,
 * entries whose every price is $0 (counted), and the batch/flex/priority/1-hour-cache variants.
 */
export function fromLiteLlm(obj: Record<string, unknown>, file = 'LiteLLM table'): PriceFile {
  const entries: RawPrice[] = [];
  let zeroPriced = 0;
  for (const [name, v] of Object.entries(obj)) {
    if (name === 'sample_spec' || !v || typeof v !== 'object' || Array.isArray(v)) continue;
    const e = v as Record<string, unknown>;
    // step pricing (LiteLLM `tiered_pricing`, DashScope and Volcengine): the input tokens of a call select one
    // range, `start < input <= end`, and every token of the call is at its rates (LiteLLM
    // litellm_core_utils/llm_cost_calc/tiered_pricing.py select_tier_for_input); the first range is the base
    const steps = stepsOf(e.tiered_pricing);
    const base = steps?.[0];
    const input = perM(e.input_cost_per_token) ?? base?.input;
    const output = perM(e.output_cost_per_token) ?? base?.output;
    // only token-priced entries (not per image, per second, per character)
    if (input === undefined && output === undefined) continue;
    const tiers = new Map<number, NonNullable<RawPrice['tiers']>[number]>();
    if (steps && base && e.input_cost_per_token === undefined && e.output_cost_per_token === undefined) for (const t of steps.slice(1)) tiers.set(t.above, t);
    for (const [k, x] of Object.entries(e)) {
      const m = TIER_KEY.exec(k);
      const val = m ? perM(x) : undefined;
      if (!m || val === undefined) continue;
      const above = Number(m[2]) * 1000;
      let t = tiers.get(above);
      if (!t) tiers.set(above, (t = { above }));
      if (m[1] === 'input_cost_per_token') t.input = val;
      else if (m[1] === 'output_cost_per_token') t.output = val;
      else if (m[1] === 'cache_read_input_token_cost') t.cacheRead = val;
      else t.cacheWrite = val;
    }
    const stepBase = base && e.input_cost_per_token === undefined && e.output_cost_per_token === undefined ? base : undefined;
    const cacheWrite = perM(e.cache_creation_input_token_cost);
    const reasoning = perM(e.output_cost_per_reasoning_token) ?? stepBase?.reasoning;
    const p: RawPrice = {
      name,
      provider: typeof e.litellm_provider === 'string' ? e.litellm_provider : undefined,
      input: input ?? 0,
      output: output ?? 0,
      cacheRead: perM(e.cache_read_input_token_cost) ?? perM(e.input_cost_per_token_cache_hit) ?? stepBase?.cacheRead,
      // a $0 cache-write price next to a real input price (DeepSeek) means "no separate price", not free
      cacheWrite: cacheWrite === 0 && input ? undefined : cacheWrite,
    };
    // kept where it differs from the default (the output price; 0 for reasoning counted beside the output)
    if (reasoning !== undefined && (reasoning !== p.output || (p.provider !== undefined && REASONING_BESIDE_OUTPUT.get(p.provider) === 'unbilled'))) p.reasoning = reasoning;
    // audio tokens priced apart (kept where they differ from the text price, the default)
    const audioInput = perM(e.input_cost_per_audio_token);
    const audioOutput = perM(e.output_cost_per_audio_token);
    if (audioInput !== undefined && audioInput !== p.input) p.audioInput = audioInput;
    if (audioOutput !== undefined && audioOutput !== p.output) p.audioOutput = audioOutput;
    if (tiers.size) p.tiers = [...tiers.values()].sort((a, b) => a.above - b.above);
    // service tiers (flex, priority): each price they give; the others are the standard ones
    for (const [k, x] of Object.entries(e)) {
      const m = SERVICE_TIER_KEY.exec(k);
      const val = m ? perM(x) : undefined;
      if (!m || val === undefined) continue;
      const st = ((p.serviceTiers ??= {})[m[3] as ServiceTierName] ??= {});
      let into: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number } = st;
      if (m[2] !== undefined) {
        const above = Number(m[2]) * 1000;
        const list = (st.tiers ??= []);
        let t = list.find((y) => y.above === above);
        if (!t) list.push((t = { above }));
        list.sort((a, b) => a.above - b.above);
        into = t;
      }
      if (m[1] === 'input_cost_per_token') into.input = val;
      else if (m[1] === 'output_cost_per_token') into.output = val;
      else if (m[1] === 'cache_read_input_token_cost') into.cacheRead = val;
      else into.cacheWrite = val;
    }
    if (isZero(p)) zeroPriced++;
    else entries.push(p);
  }
  if (entries.length === 0) {
    throw new PriceFileError(file, 'no priced models found: expected our format ({"models": [{"model", "input", "output"}]}) or the LiteLLM format ({"<model>": {"input_cost_per_token", "output_cost_per_token"}})');
  }
  return { entries, zeroPriced, source: 'LiteLLM model_prices_and_context_window.json', lastUpdated: typeof obj.last_updated === 'string' ? obj.last_updated : undefined };
}

/**
 * Our price file format: one entry per line, USD per 1M tokens, with the table's provenance.
 * `{"source", "license", "last_updated", "refresh", "unit", "models": [{"model", "provider", "input",
 * "output", "cache_read"?, "cache_write"?, "reasoning"?, "tiers"?: [{"above", "input", "output", "cache_read"?, "cache_write"?, "reasoning"?}],
 * "audio_input"?, "audio_output"?, "service_tiers"?: {"flex"?|"priority"?: {"input"?, "output"?, "cache_read"?, "cache_write"?, "tiers"?}}}]}`
 */
export function formatPriceFile(file: PriceFile, meta: { source: string; license: string; refresh: string }): string {
  const line = (p: RawPrice): string => {
    const o: Record<string, unknown> = { model: p.name };
    if (p.provider) o.provider = p.provider;
    o.input = p.input;
    o.output = p.output;
    if (p.cacheRead !== undefined) o.cache_read = p.cacheRead;
    if (p.cacheWrite !== undefined) o.cache_write = p.cacheWrite;
    if (p.reasoning !== undefined) o.reasoning = p.reasoning;
    if (p.audioInput !== undefined) o.audio_input = p.audioInput;
    if (p.audioOutput !== undefined) o.audio_output = p.audioOutput;
    const tiersOut = (tiers: RawPrice['tiers']) =>
      tiers!.map((t) => {
        const x: Record<string, unknown> = { above: t.above };
        if (t.input !== undefined) x.input = t.input;
        if (t.output !== undefined) x.output = t.output;
        if (t.cacheRead !== undefined) x.cache_read = t.cacheRead;
        if (t.cacheWrite !== undefined) x.cache_write = t.cacheWrite;
        if (t.reasoning !== undefined) x.reasoning = t.reasoning;
        return x;
      });
    if (p.tiers?.length) o.tiers = tiersOut(p.tiers);
    if (p.serviceTiers) {
      const st: Record<string, unknown> = {};
      for (const name of SERVICE_TIERS) {
        const t = p.serviceTiers[name];
        if (!t) continue;
        const x: Record<string, unknown> = {};
        if (t.input !== undefined) x.input = t.input;
        if (t.output !== undefined) x.output = t.output;
        if (t.cacheRead !== undefined) x.cache_read = t.cacheRead;
        if (t.cacheWrite !== undefined) x.cache_write = t.cacheWrite;
        if (t.tiers?.length) x.tiers = tiersOut(t.tiers);
        st[name] = x;
      }
      o.service_tiers = st;
    }
    return JSON.stringify(o);
  };
  const head = {
    $comment: 'vigil built-in LLM price table, converted from the LiteLLM price table by the refresh command below. Do not edit by hand: add or override prices with the cost processor\'s `prices:`.',
    source: meta.source,
    license: meta.license,
    last_updated: file.lastUpdated ?? '',
    refresh: meta.refresh,
    unit: 'USD per 1M tokens',
    zero_priced_left_out: file.zeroPriced,
  };
  const headText = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  const sorted = [...file.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${headText},\n  "models": [\n${sorted.map((p) => `    ${line(p)}`).join(',\n')}\n  ]\n}\n`;
}

/** USD per token to USD per 1M tokens, without float noise (2.5e-6 * 1e6 = 2.4999999999999996). */
function perM(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? Math.round(x * 1e6 * 1e9) / 1e9 : undefined;
}

/** Anthropic bills a 5-minute cache write at 1.25x and a cache read at 0.1x the input price (docs.anthropic.com, "Prompt caching" pricing). */
const CLAUDE = /claude/i;

/**
 * Fills in absent cache prices the way the provider bills them: Claude models (on any platform) at
 * Anthropic's multipliers (write 1.25x, read 0.1x input); any other model at the input price (providers
 * without a separate cache price bill those tokens as input). A tier without a cache price keeps the
 * base entry's own (as LiteLLM does), or, where the entry has none, follows the tier's input price by the
 * same rule (cached tokens of a call above the threshold are input tokens at the tier's rate). Reasoning tokens without a price of their own are at the output price (of
 * the tier, when one applies), as LiteLLM's cost calculator bills them.
 */
export function withFallbacks(p: RawPrice): Price {
  const claude = CLAUDE.test(p.name);
  const cacheRead = p.cacheRead ?? (claude ? round(p.input * 0.1) : p.input);
  const cacheWrite = p.cacheWrite ?? (claude ? round(p.input * 1.25) : p.input);
  // reasoning counted beside the output (Perplexity) is billed only at a reasoning price of its own
  const besideRule = p.provider !== undefined ? REASONING_BESIDE_OUTPUT.get(p.provider) : undefined;
  const beside = besideRule !== undefined;
  const unbilled = besideRule === 'unbilled';
  const out: Price = { name: p.name, input: p.input, output: p.output, cacheRead, cacheWrite, reasoning: p.reasoning ?? (unbilled ? 0 : p.output), audioInput: p.audioInput ?? p.input, audioOutput: p.audioOutput ?? p.output };
  if (p.provider) out.provider = p.provider;
  if (beside) out.reasoningBeside = true;
  if (p.tiers?.length) {
    out.tiers = p.tiers.map((t) => ({
      above: t.above,
      input: t.input ?? p.input,
      output: t.output ?? p.output,
      // a cache price the entry has is kept; one it does not have follows the tier's input price by the same rule
      cacheRead: t.cacheRead ?? (t.input !== undefined && p.cacheRead === undefined ? (claude ? round(t.input * 0.1) : t.input) : cacheRead),
      cacheWrite: t.cacheWrite ?? (t.input !== undefined && p.cacheWrite === undefined ? (claude ? round(t.input * 1.25) : t.input) : cacheWrite),
      reasoning: t.reasoning ?? p.reasoning ?? (unbilled ? 0 : (t.output ?? p.output)),
    }));
  }
  if (p.serviceTiers) {
    // a service tier's price not given is the standard one (LiteLLM _get_cost_per_unit), fallbacks included
    for (const name of SERVICE_TIERS) {
      const st = p.serviceTiers[name];
      if (!st) continue;
      const tiers = (p.tiers ?? []).map((t) => ({ ...t, ...defined(st.tiers?.find((x) => x.above === t.above)) }));
      for (const t of st.tiers ?? []) if (!tiers.some((x) => x.above === t.above)) tiers.push({ ...t });
      tiers.sort((a, b) => a.above - b.above);
      const v = withFallbacks({ name: p.name, provider: p.provider, input: st.input ?? p.input, output: st.output ?? p.output, cacheRead: st.cacheRead ?? out.cacheRead, cacheWrite: st.cacheWrite ?? out.cacheWrite, reasoning: p.reasoning, audioInput: out.audioInput, audioOutput: out.audioOutput, tiers: tiers.length ? tiers : undefined });
      (out.serviceTiers ??= {})[name] = v;
    }
  }
  return out;
}

/** The fields of `o` that are not undefined (so that spreading it keeps the values it does not give). */
function defined<T extends object>(o: T | undefined): Partial<T> {
  const r: Partial<T> = {};
  if (o) for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  return r;
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function samePrices(a: Price, b: Price): boolean {
  if (a === b) return true;
  if (a.input !== b.input || a.output !== b.output || a.cacheRead !== b.cacheRead || a.cacheWrite !== b.cacheWrite || a.reasoning !== b.reasoning) return false;
  if (a.reasoningBeside !== b.reasoningBeside || a.audioInput !== b.audioInput || a.audioOutput !== b.audioOutput) return false;
  for (const name of SERVICE_TIERS) {
    const sa = a.serviceTiers?.[name];
    const sb = b.serviceTiers?.[name];
    if ((sa ?? a) !== a || (sb ?? b) !== b) {
      if (!samePrices(sa ?? a, sb ?? b)) return false;
    }
  }
  const ta = a.tiers ?? [];
  const tb = b.tiers ?? [];
  if (ta.length !== tb.length) return false;
  return ta.every((t, i) => {
    const u = tb[i]!;
    return t.above === u.above && t.input === u.input && t.output === u.output && t.cacheRead === u.cacheRead && t.cacheWrite === u.cacheWrite && t.reasoning === u.reasoning;
  });
}

// ------------------------------------------------------------------------------------------ providers

/** Provider families: an attribute value (lower case) -> the LiteLLM `litellm_provider` values it means. */
const VERTEX = '@vertex';
const ALIASES: Record<string, string[]> = {
  // OTel GenAI gen_ai.provider.name / gen_ai.system well-known values
  openai: ['openai', 'text-completion-openai'],
  'azure.ai.openai': ['azure', 'azure_text'],
  'az.ai.openai': ['azure', 'azure_text'],
  'azure.ai.inference': ['azure_ai'],
  'az.ai.inference': ['azure_ai'],
  anthropic: ['anthropic'],
  'aws.bedrock': ['bedrock', 'bedrock_converse'],
  'gcp.gemini': ['gemini'],
  'gcp.vertex_ai': [VERTEX],
  'gcp.gen_ai': ['gemini', VERTEX],
  mistral_ai: ['mistral', 'codestral'],
  cohere: ['cohere', 'cohere_chat'],
  x_ai: ['xai'],
  'ibm.watsonx.ai': ['watsonx'],
  deepseek: ['deepseek'],
  groq: ['groq'],
  perplexity: ['perplexity'],
  // OpenLLMetry / OpenInference / SDK spellings
  azure: ['azure', 'azure_text'],
  azure_openai: ['azure', 'azure_text'],
  azureopenai: ['azure', 'azure_text'],
  azure_ai: ['azure_ai'],
  bedrock: ['bedrock', 'bedrock_converse'],
  aws: ['bedrock', 'bedrock_converse'],
  aws_bedrock: ['bedrock', 'bedrock_converse'],
  amazon_bedrock: ['bedrock', 'bedrock_converse'],
  gemini: ['gemini'],
  google_genai: ['gemini'],
  google_ai_studio: ['gemini'],
  'google.generativeai': ['gemini'],
  vertex_ai: [VERTEX],
  vertexai: [VERTEX],
  vertex: [VERTEX],
  google_vertexai: [VERTEX],
  google: ['gemini', VERTEX],
  mistral: ['mistral', 'codestral'],
  mistralai: ['mistral', 'codestral'],
  xai: ['xai'],
  watsonx: ['watsonx'],
  together: ['together_ai'],
  togetherai: ['together_ai'],
  together_ai: ['together_ai'],
  fireworks: ['fireworks_ai'],
  fireworks_ai: ['fireworks_ai'],
  openrouter: ['openrouter'],
  deepinfra: ['deepinfra'],
  ollama: ['ollama'],
  cerebras: ['cerebras'],
  sambanova: ['sambanova'],
  nebius: ['nebius'],
  novita: ['novita'],
  moonshot: ['moonshot'],
  dashscope: ['dashscope'],
  databricks: ['databricks'],
  snowflake: ['snowflake'],
  replicate: ['replicate'],
  anyscale: ['anyscale'],
  ai21: ['ai21'],
  nvidia_nim: ['nvidia_nim'],
  vercel_ai_gateway: ['vercel_ai_gateway'],
  // Vercel AI SDK provider ids (gen_ai.system = "<provider>.<api>", e.g. openai.chat, anthropic.messages)
  'amazon-bedrock': ['bedrock', 'bedrock_converse'],
  'google.generative-ai': ['gemini'],
  'google.vertex': [VERTEX],
  'azure-openai': ['azure', 'azure_text'],
};

const PROVIDER_ALIASES = new Map<string, string[]>(Object.entries(ALIASES));

/** `server.address` host -> provider family and (Bedrock) AWS region. Sources: each provider's API reference. */
const HOSTS: [RegExp, string[]][] = [
  [/^api\.openai\.com$/, ALIASES.openai!],
  [/\.openai\.azure\.com$|\.cognitiveservices\.azure\.com$/, ALIASES.azure!],
  [/\.services\.ai\.azure\.com$|\.models\.ai\.azure\.com$|\.inference\.ai\.azure\.com$/, ['azure_ai']],
  [/^api\.anthropic\.com$/, ['anthropic']],
  [/^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/, ALIASES.bedrock!],
  [/^generativelanguage\.googleapis\.com$/, ['gemini']],
  [/aiplatform\.googleapis\.com$/, [VERTEX]],
  [/^api\.mistral\.ai$/, ['mistral']],
  [/^codestral\.mistral\.ai$/, ['codestral']],
  [/^api\.groq\.com$/, ['groq']],
  [/^api\.deepseek\.com$/, ['deepseek']],
  [/^api\.together\.(xyz|ai)$/, ['together_ai']],
  [/^(api\.)?openrouter\.ai$/, ['openrouter']],
  [/^api\.fireworks\.ai$/, ['fireworks_ai']],
  [/^api\.x\.ai$/, ['xai']],
  [/^api\.perplexity\.ai$/, ['perplexity']],
  [/^api\.cohere\.(com|ai)$/, ALIASES.cohere!],
  [/^api\.deepinfra\.com$/, ['deepinfra']],
  [/^api\.cerebras\.ai$/, ['cerebras']],
  [/^api\.sambanova\.ai$/, ['sambanova']],
  [/^api\.moonshot\.(ai|cn)$/, ['moonshot']],
  [/^dashscope(-intl)?\.aliyuncs\.com$/, ['dashscope']],
  [/^api\.studio\.nebius\.(com|ai)$/, ['nebius']],
  [/^api\.novita\.ai$/, ['novita']],
];

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
/** An OpenAI fine-tuned model id, `[<routing prefix>/]ft:<base model>:<org>:<suffix>:<id>`: group 1 is up to the base model. */
const FINE_TUNED = /^((?:[^/:]+\/)?ft:[^:]+):/;
/** `arn:<partition>:bedrock:<region>:<account>:foundation-model/<model id>` or `...:inference-profile/<profile id>` (AWS Bedrock API reference, ARNs). */
const BEDROCK_ARN = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]*):\d*:(?:foundation-model|inference-profile)\/(.+)$/;
const GEO = /^(us|eu|apac|ap|au|ca|jp|global|us-gov)\./;
const REGIONAL_GEOS = new Set(['us', 'eu', 'apac', 'ap', 'au', 'ca', 'jp']);
const BEDROCK_VENDOR = /^(anthropic|meta|amazon|mistral|cohere|ai21|deepseek|openai|qwen|writer|twelvelabs|moonshot|moonshotai|minimax|google|nvidia|zai|stability)\./;
/** A version token at the end of a name: a date, a 3-4 digit snapshot (-0613, -2411, -001, -8192) or -latest. */
const VERSION = /-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|latest|default|preview-\d{2}-\d{2}|\d{2}-\d{4})$/;

/** The provider context of a call (what attributes said), with the resolutions cached for it. */
export interface ProviderContext {
  /** LiteLLM providers this context means (empty: unknown). */
  providers: ReadonlySet<string>;
  /** Whether it came from a generic client name (`openai`) that a model's routing prefix may override. */
  generic: boolean;
  /** AWS region from a Bedrock endpoint. */
  awsRegion: string;
  cache: Map<string, Resolution | Unpriced>;
}

/** A table entry with its name taken apart for matching. */
interface Indexed {
  price: Price;
  /** Lower-case key. */
  key: string;
  /** Key without its routing prefix (and Bedrock region segment). */
  bare: string;
  /** Whether the key had a routing prefix (`azure/`, `openrouter/`...). */
  qualified: boolean;
  awsRegion: string;
  geo: string;
  /** Normalised base name (version token removed). */
  base: string;
  /** Version token ('' if none). */
  ver: string;
}

/** A name taken apart: geo prefix, normalised base, version token. */
export function normaliseModel(name: string): { geo: string; base: string; ver: string } {
  let s = name.trim().toLowerCase();
  const slash = s.lastIndexOf('/');
  if (slash >= 0) s = s.slice(slash + 1);
  let geo = '';
  const g = GEO.exec(s);
  if (g) {
    geo = g[1]!;
    s = s.slice(g[0].length);
  }
  s = s.replace(BEDROCK_VENDOR, '');
  // Bedrock model versions (-v1:0, -v2:0, :0) and Ollama/Bedrock size tags after ':' are not snapshot dates
  s = s.replace(/-v\d+:\d+$/, '').replace(/:\d+$/, '');
  // Vertex writes the snapshot after '@' (claude-sonnet-4-5@20250929, gemini-1.5-pro@002)
  s = s.replace('@', '-');
  s = s.replace(/[._\s]+/g, '-');
  let ver = '';
  const v = VERSION.exec(s);
  if (v && v.index > 0) {
    ver = v[1]!.replace(/-/g, '');
    s = s.slice(0, v.index);
  }
  return { geo, base: s, ver };
}

const CACHE_LIMIT = 10_000;

/**
 * The price table (see this file's comment): built-in or file entries plus the user's, resolving (provider
 * context, model) to a price in USD per 1M tokens or to {@link Unpriced}; resolutions are cached (bounded).
 */
export class PriceTable {
  private readonly user = new Map<string, Price>();
  private readonly exact = new Map<string, Indexed>();
  private readonly byBare = new Map<string, Indexed[]>();
  private readonly byBase = new Map<string, Indexed[]>();
  private readonly regexes: { re: SearchRegex; price: Price }[] = [];
  /** Routing prefixes (first path segment of keys) -> the providers they mean. */
  private readonly routes = new Map<string, Set<string>>();
  /** The vendor namespaces of OpenRouter's keys (`openrouter/<namespace>/<model>`). */
  private readonly openRouterNamespaces = new Set<string>();
  /** Every `litellm_provider` value of the table. */
  private readonly providerNames = new Set<string>();
  private readonly contexts = new Map<string, Map<string, ProviderContext>>();
  private cached = 0;
  private readonly unknownContext: ProviderContext = { providers: new Set(), generic: false, awsRegion: '', cache: new Map() };

  /** Number of table entries. */
  get size(): number {
    return this.exact.size;
  }

  /** Adds table entries (cache fallbacks applied); a later entry with the same key replaces an earlier one. */
  add(prices: readonly RawPrice[]): void {
    for (const raw of prices) this.index(withFallbacks(raw));
    this.clearCache();
  }

  /** Adds the user's `prices:` `model` entries: they win over the table for that exact name. */
  addUser(price: Price): void {
    this.user.set(price.name.trim().toLowerCase(), price);
    this.clearCache();
  }

  /** Adds a user's `prices:` `match` entry: its RE2 regex is tried, in the order added, after every table lookup failed. */
  addMatch(re: SearchRegex, price: Price): void {
    this.regexes.push({ re, price });
    this.clearCache();
  }

  private clearCache(): void {
    this.contexts.clear();
    this.unknownContext.cache.clear();
    this.cached = 0;
  }

  private index(p: Price): void {
    const key = p.name.trim().toLowerCase();
    const old = this.exact.get(key);
    if (old) this.unindex(old);
    if (p.provider) this.providerNames.add(p.provider);
    let rest = key;
    let qualified = false;
    let awsRegion = '';
    const slash = key.indexOf('/');
    if (slash > 0 && p.provider) {
      const seg = key.slice(0, slash);
      const prov = p.provider;
      if (seg === prov || prov.startsWith(`${seg}-`) || prov.startsWith(`${seg}_`) || seg.replace(/-/g, '_') === prov || (seg === 'bedrock' && prov.startsWith('bedrock'))) {
        qualified = true;
        rest = key.slice(slash + 1);
        let set = this.routes.get(seg);
        if (!set) this.routes.set(seg, (set = new Set()));
        set.add(prov);
        const s2 = rest.indexOf('/');
        if (s2 > 0 && AWS_REGION.test(rest.slice(0, s2))) {
          awsRegion = rest.slice(0, s2);
          rest = rest.slice(s2 + 1);
        }
        if (prov === 'openrouter' && s2 > 0) this.openRouterNamespaces.add(rest.slice(0, s2));
      }
    }
    const n = normaliseModel(rest);
    const e: Indexed = { price: p, key, bare: rest, qualified, awsRegion, geo: n.geo, base: n.base, ver: n.ver };
    this.exact.set(key, e);
    push(this.byBare, rest, e);
    push(this.byBase, n.base, e);
  }

  private unindex(e: Indexed): void {
    const drop = (m: Map<string, Indexed[]>, k: string) => {
      const l = m.get(k);
      if (l) m.set(k, l.filter((x) => x !== e));
    };
    drop(this.byBare, e.bare);
    drop(this.byBase, e.base);
  }

  /** The providers an attribute value means (lower case; unknown values: an empty set). */
  providersOf(value: string): Set<string> {
    const v = value.trim().toLowerCase();
    const alias = PROVIDER_ALIASES.get(v);
    if (alias) return new Set(alias);
    const route = this.routes.get(v) ?? this.routes.get(v.replace(/[-.]/g, '_'));
    if (route) return new Set(route);
    if (this.providerNames.has(v)) return new Set([v]);
    // "<provider>.<api>" (Vercel AI SDK: openai.chat, anthropic.messages, google.vertex.chat, amazon-bedrock)
    const dot = v.lastIndexOf('.');
    if (dot > 0) return this.providersOf(v.slice(0, dot));
    return new Set();
  }

  /**
   * The provider context for a call's attributes, cached per (provider attribute, server.address).
   * `provider` is the first of gen_ai.provider.name, gen_ai.system, llm.provider, llm.system present.
   */
  context(provider: string | undefined, address: string | undefined): ProviderContext {
    if (!provider && !address) return this.unknownContext;
    const p = provider ?? '';
    const a = address ?? '';
    let byAddr = this.contexts.get(p);
    let ctx = byAddr?.get(a);
    if (ctx) return ctx;
    ctx = this.makeContext(p, a);
    if (!byAddr) this.contexts.set(p, (byAddr = new Map()));
    if (byAddr.size < CACHE_LIMIT) byAddr.set(a, ctx);
    return ctx;
  }

  private makeContext(provider: string, address: string): ProviderContext {
    const host = address.trim().toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/[:/].*$/, '');
    if (host) {
      for (const [re, provs] of HOSTS) {
        if (!re.test(host)) continue;
        const region = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1] ?? '';
        return { providers: this.expand(provs), generic: false, awsRegion: region, cache: new Map() };
      }
    }
    const provs = provider ? this.providersOf(provider) : new Set<string>();
    return { providers: this.expand([...provs]), generic: provider.trim().toLowerCase() === 'openai', awsRegion: '', cache: new Map() };
  }

  private expand(provs: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const p of provs) {
      if (p === VERTEX) {
        for (const x of this.providerNames) if (x.startsWith('vertex_ai')) out.add(x);
      } else out.add(p);
    }
    return out;
  }

  /** The price for a model name as received, in a provider context (default: none known). Cached per (context, model). */
  resolve(model: string, ctx: ProviderContext = this.unknownContext): Resolution | Unpriced {
    const hit = ctx.cache.get(model);
    if (hit !== undefined) return hit;
    const r = this.lookup(model, ctx);
    if (this.cached >= CACHE_LIMIT) this.clearCache();
    ctx.cache.set(model, r);
    this.cached++;
    return r;
  }

  /**
   * The price of a call from its response and request models (either may be absent): the response model is what
   * served the call, the request model the fallback. But a request naming a Bedrock geo inference profile
   * (`us.anthropic.claude-sonnet-4-5-...`, also as an ARN) is billed as that profile, while the response names the
   * model alone (`claude-sonnet-4-5-20250929`, what the Anthropic body returns): then the request is priced first.
   */
  resolveCall(reqModel: string | undefined, resModel: string | undefined, ctx: ProviderContext = this.unknownContext): Resolution | Unpriced | undefined {
    if (reqModel && resModel && reqModel !== resModel) {
      const q = normaliseModel(reqModel);
      if (q.geo !== '' && q.geo !== 'global') {
        const a = normaliseModel(resModel);
        if (a.geo === '' && a.base === q.base && (a.ver === q.ver || a.ver === '' || q.ver === '')) {
          const rq = this.resolve(reqModel, ctx);
          if (rq.price) return rq;
        }
      }
    }
    let r: Resolution | Unpriced | undefined = resModel ? this.resolve(resModel, ctx) : undefined;
    if (!r?.price && reqModel && reqModel !== resModel) {
      const r2 = this.resolve(reqModel, ctx);
      if (r2.price || !r) r = r2;
    }
    return r;
  }

  private lookup(model: string, ctx: ProviderContext): Resolution | Unpriced {
    const lower = model.trim().toLowerCase();
    // 1. the user's own entries
    const u = this.user.get(lower);
    if (u) return { price: u, how: 'user' };
    // an OpenAI fine-tuned model (ft:<base model>:<org>:<suffix>:<id>, also behind a routing prefix:
    // openai/ft:...) is billed at the ft:<base model> price
    const ft = FINE_TUNED.exec(lower);
    if (ft) return this.lookup(ft[1]!, ctx);
    // a Bedrock model or inference profile ARN names its region and model id: priced as bedrock/<region>/<id>
    // (an application inference profile or a provisioned model is an opaque id: not a model name)
    const arn = BEDROCK_ARN.exec(lower);
    if (arn) return this.lookup(arn[1] ? `bedrock/${arn[1]}/${arn[2]}` : `bedrock/${arn[2]}`, ctx);
    // a routing prefix in the name (openai/gpt-4o, bedrock/us-east-1/anthropic.claude-...)
    let rest = lower;
    let routed: Set<string> | undefined;
    let awsRegion = ctx.awsRegion;
    const slash = lower.indexOf('/');
    if (slash > 0) {
      const seg = lower.slice(0, slash);
      const alias = PROVIDER_ALIASES.get(seg);
      const provs = alias ? this.expand(alias) : this.routes.get(seg);
      if (provs) {
        routed = provs;
        rest = lower.slice(slash + 1);
        const s2 = rest.indexOf('/');
        if (s2 > 0 && AWS_REGION.test(rest.slice(0, s2))) {
          awsRegion = rest.slice(0, s2);
          rest = rest.slice(s2 + 1);
        }
        const ur = this.user.get(rest);
        if (ur) return { price: ur, how: 'user' };
      } else if (AWS_REGION.test(seg)) {
        // <region>/<model id> (a Bedrock region without the bedrock/ prefix)
        awsRegion = seg;
        rest = lower.slice(slash + 1);
      }
    }
    // 2. the provider: the attributes', unless only a generic client name (openai) was given and the name routes elsewhere
    let providers: ReadonlySet<string> = ctx.providers;
    if (routed && providers.size === 0) providers = routed;
    else if (routed && ctx.generic && !intersects(routed, providers)) {
      // an OpenAI-compatible client with a vendor/model name: a LiteLLM-style route, or OpenRouter's
      // namespace for the same vendor (deepseek/, anthropic/, openai/): both must then agree
      providers = this.openRouterNamespaces.has(lower.slice(0, slash)) ? new Set([...routed, 'openrouter']) : routed;
    }
    const names = rest === lower ? [lower] : [lower, rest];
    let r: Resolution | Unpriced | undefined;
    if (providers.size === 0) r = this.unknownProvider(lower, names);
    else r = this.forProviders(names, providers, awsRegion);
    if (r.price) return r;
    for (const { re, price } of this.regexes) if (re.test(model)) return { price, how: 'match' };
    return r;
  }

  private unknownProvider(lower: string, names: string[]): Resolution | Unpriced {
    // 3. the exact key
    const e = this.exact.get(lower);
    if (e && !e.awsRegion) return { price: e.price, how: 'exact' };
    // unprefixed keys are each model's own provider (LiteLLM's default for a bare name), then any
    const bare = this.pick(names.flatMap((n) => this.byBare.get(n) ?? []).filter((x) => !x.qualified && !x.awsRegion), 'exact');
    if (bare) return bare;
    const all = this.normalisedCandidates(names[names.length - 1]!, undefined, '');
    const own = all.filter((x) => !x.qualified);
    if (own.length) return this.pick(own, 'normalised') ?? { reason: 'ambiguous' };
    if (all.length) return this.pick(all, 'normalised') ?? { reason: 'ambiguous' };
    return { reason: 'no_price' };
  }

  private forProviders(names: string[], providers: ReadonlySet<string>, awsRegion: string): Resolution | Unpriced {
    // 3./4. the exact key or the provider-qualified one: entries of these providers whose name without
    // routing prefix is the name as sent (with or without its own routing prefix)
    const inProv = (x: Indexed) => x.price.provider !== undefined && providers.has(x.price.provider);
    // (the exact key is among them: a key is its own bare name, or the name without its routing prefix);
    // where the provider means several (gcp.gen_ai: Gemini API and Vertex), they must agree
    const direct = byRegion(
      names.flatMap((n) => this.byBare.get(n) ?? []).filter(inProv),
      awsRegion,
    );
    if (direct.length) {
      // the key exactly as sent wins over its own provider's other spellings (LiteLLM lists some models
      // twice with different prices); not over another provider the attributes could mean
      const ex = direct.find((x) => x.key === names[0]);
      if (ex && direct.every((x) => x.price.provider === ex.price.provider || samePrices(x.price, ex.price))) return { price: ex.price, how: 'exact' };
      const r = this.pick(direct, 'provider', names[0]);
      if (!r) return { reason: 'ambiguous' };
      if (r.price.name.trim().toLowerCase() === names[0]) r.how = 'exact';
      return r;
    }
    // 5. normalised, among this provider's entries
    const cands = this.normalisedCandidates(names[names.length - 1]!, inProv, awsRegion);
    if (cands.length) return this.pick(cands, 'normalised') ?? { reason: 'ambiguous' };
    return { reason: 'no_price' };
  }

  /** Entries the name could mean after normalisation, with the geo (cross-region profile) rules applied. */
  private normalisedCandidates(name: string, filter: ((x: Indexed) => boolean) | undefined, awsRegion: string): Indexed[] {
    const n = normaliseModel(name);
    if (!n.base) return [];
    let list = this.byBase.get(n.base) ?? [];
    if (filter) list = list.filter(filter);
    // a versioned name (date, snapshot, -latest) means only entries of that version; an unversioned
    // name may mean any version (all must then have the same prices)
    if (n.ver) list = list.filter((x) => x.ver === n.ver);
    else {
      // an unversioned name that normalises exactly like unversioned entries means those
      const plain = list.filter((x) => x.ver === '');
      if (plain.length && byRegion(plain, awsRegion).length) list = plain;
    }
    list = byRegion(list, awsRegion);
    if (!list.length) return list;
    // geo: a regional profile (us., eu., jp., au., apac.) is priced as the entries of that geo, else as
    // any regional profile of the model (they carry the same surcharge), else as the base model; global.
    // and no prefix are priced as the base model; us-gov. only as itself
    const geo = n.geo;
    const same = list.filter((x) => x.geo === geo);
    if (same.length || geo === 'us-gov') return same;
    if (REGIONAL_GEOS.has(geo)) {
      const regional = list.filter((x) => REGIONAL_GEOS.has(x.geo));
      if (regional.length) return regional;
    }
    const base = list.filter((x) => x.geo === '');
    if (base.length) return base;
    return geo === '' ? list.filter((x) => x.geo === 'global') : [];
  }

  /** One price when every candidate has the same prices (the key as sent, else the shortest key names it), else undefined. */
  private pick(cands: Indexed[], how: Resolution['how'], exactKey = ''): Resolution | undefined {
    if (!cands.length) return undefined;
    let best = cands[0]!;
    for (const c of cands) {
      if (!samePrices(c.price, best.price)) return undefined;
      if (best.key === exactKey) continue;
      if (c.key === exactKey || c.key.length < best.key.length || (c.key.length === best.key.length && c.key < best.key)) best = c;
    }
    return { price: best.price, how };
  }
}

function byRegion(list: Indexed[], awsRegion: string): Indexed[] {
  if (awsRegion) {
    const inRegion = list.filter((x) => x.awsRegion === awsRegion);
    if (inRegion.length) return inRegion;
  }
  return list.filter((x) => x.awsRegion === '');
}

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const x of a) if (b.has(x)) return true;
  return false;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/**
 * The prices of `p` on an OpenAI-style service tier (`flex`, `priority`, any case: LiteLLM's `*_flex` /
 * `*_priority` prices); `p` itself for no tier, another tier, or a model without tier prices.
 */
export function priceOnTier(p: Price, tier: string | undefined): Price {
  if (!tier || p.serviceTiers === undefined) return p;
  return p.serviceTiers[tier.toLowerCase() as ServiceTierName] ?? p;
}

/** The rates that apply to a call with `input` input tokens (the highest tier it is above, else the base). */
export function ratesFor(p: Price, input: number): { input: number; output: number; cacheRead: number; cacheWrite: number; reasoning: number } {
  const tiers = p.tiers;
  if (tiers) {
    for (let i = tiers.length - 1; i >= 0; i--) if (input > tiers[i]!.above) return tiers[i]!;
  }
  return p;
}

/** Builds the table a cost processor uses: the base table (builtin or a file), then the user's `prices`. */
export function buildPriceTable(priceTable: string, prices: readonly PriceEntryConfig[], baseDir = process.cwd()): PriceTable {
  const table = new PriceTable();
  const file = priceTable === 'builtin' ? BUILTIN_PRICES : path.resolve(baseDir, priceTable);
  table.add(loadPriceFile(file));
  for (const p of prices) {
    // the user's own entries: a cache price not given is the input price, a reasoning price the output
    // price (as documented), $0 allowed
    const price: Price = { name: p.model ?? p.match ?? '', input: p.input, output: p.output, cacheRead: p.cache_read ?? p.input, cacheWrite: p.cache_write ?? p.input, reasoning: p.reasoning ?? p.output, audioInput: p.input, audioOutput: p.output };
    if (p.model) table.addUser(price);
    else if (p.match) table.addMatch(compileSearchRegex(p.match, { caseInsensitive: true }), price);
  }
  return table;
}
