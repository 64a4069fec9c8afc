/**
 * The price table: loads the built-in table, a price file (our format or LiteLLM's JSON) and the user's
 * additions, and resolves a model name as it really arrives (provider and cloud prefixes, date suffixes,
 * `-latest`, any case) to a priced entry. Resolutions are cached per distinct model string.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PriceEntryConfig } from './config.ts';

/** One priced model, USD per 1M tokens. */
export interface Price {
  /** The entry's name as written in its table (what `gen_ai.usage.cost.model` records). */
  name: string;
  input: number;
  output: number;
  /** Cached input tokens (absent: priced as input). */
  cacheRead?: number;
  /** Cache-write input tokens (absent: priced as input). */
  cacheWrite?: number;
}

export interface Resolution {
  price: Price;
  /** How the name was matched. */
  how: 'exact' | 'normalised' | 'match';
}

export const BUILTIN_PRICES = fileURLToPath(new URL('./prices.json', import.meta.url));

/** A price file that cannot be used, with the reason and where. */
export class PriceFileError extends Error {
  constructor(file: string, reason: string) {
    super(`price table ${file}: ${reason}`);
    this.name = 'PriceFileError';
  }
}

/** Reads a price file in our format (`{models: [...]}`) or LiteLLM's (`{name: {input_cost_per_token...}}`). */
export function loadPriceFile(file: string): Price[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PriceFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PriceFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PriceFileError(file, 'expected a JSON object');
  const obj = doc as Record<string, unknown>;
  if (Array.isArray(obj.models)) return parseOwn(file, obj.models);
  return parseLiteLlm(file, obj);
}

function parseOwn(file: string, models: unknown[]): Price[] {
  const out: Price[] = [];
  models.forEach((m, i) => {
    const where = `models[${i}]`;
    if (!m || typeof m !== 'object') throw new PriceFileError(file, `${where}: expected an object`);
    const e = m as Record<string, unknown>;
    if (typeof e.model !== 'string' || !e.model) throw new PriceFileError(file, `${where}: "model" must be a non-empty string`);
    const num = (k: string, required: boolean): number | undefined => {
      const v = e[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new PriceFileError(file, `${where} (${String(e.model)}): "${k}" must be a number >= 0 (USD per 1M tokens)`);
      return v;
    };
    out.push({ name: e.model, input: num('input', true)!, output: num('output', true)!, cacheRead: num('cache_read', false), cacheWrite: num('cache_write', false) });
  });
  if (out.length === 0) throw new PriceFileError(file, '"models" is empty');
  return out;
}

function parseLiteLlm(file: string, obj: Record<string, unknown>): Price[] {
  const out: Price[] = [];
  for (const [name, v] of Object.entries(obj)) {
    if (name === 'sample_spec' || !v || typeof v !== 'object') continue;
    const e = v as Record<string, unknown>;
    const input = e.input_cost_per_token;
    const output = e.output_cost_per_token;
    // only token-priced entries (not per image, per second, per character)
    if (typeof input !== 'number' && typeof output !== 'number') continue;
    const perM = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? roundPerMillion(x) : undefined);
    out.push({
      name,
      input: perM(input) ?? 0,
      output: perM(output) ?? 0,
      cacheRead: perM(e.cache_read_input_token_cost),
      cacheWrite: perM(e.cache_creation_input_token_cost),
    });
  }
  if (out.length === 0) {
    throw new PriceFileError(file, 'no priced models found: expected our format ({"models": [{"model", "input", "output"}]}) or the LiteLLM format ({"<model>": {"input_cost_per_token", "output_cost_per_token"}})');
  }
  return out;
}

/** USD per token to USD per 1M tokens, without float noise (2.5e-6 * 1e6 = 2.4999999999999996). */
function roundPerMillion(perToken: number): number {
  return Math.round(perToken * 1e6 * 1e9) / 1e9;
}

const PROVIDER_PREFIX = /^.*\//;
const REGION_PREFIX = /^(us|eu|apac|ap|au|ca|jp|global|us-gov)\./;
const VENDOR_PREFIX = /^(anthropic|meta|amazon|mistral|deepseek|cohere|ai21|openai|google|qwen|writer|twelvelabs)\./;
const SUFFIXES = [
  /-v\d+(:\d+)?$/, // bedrock -v1:0, -v2:0
  /:\d+$/,
  /@(\d{8}|latest|\d{3})$/, // vertex @20251001, @latest, @001
  /-\d{4}-\d{2}-\d{2}$/, // -2024-08-06
  /-\d{8}$/, // -20241022
  /-\d{2}-\d{4}$/, // -09-2025
  /-\d{4}$/, // -2411 (mistral), -0613 (openai)
  /-\d{3}$/, // -001 (gemini)
  /-latest$/,
];

/**
 * The canonical form of a model name: lower case, without provider (`openai/`), cloud region (`us.`)
 * or vendor (`anthropic.`) prefixes, without version/date suffixes and `-latest`, and with punctuation
 * removed so that `claude-3.5-sonnet` and `claude-3-5-sonnet` meet.
 */
export function normaliseModel(name: string): string {
  let s = name.trim().toLowerCase().replace(PROVIDER_PREFIX, '').replace(REGION_PREFIX, '').replace(VENDOR_PREFIX, '');
  for (let changed = true; changed; ) {
    changed = false;
    for (const re of SUFFIXES) {
      const t = s.replace(re, '');
      if (t !== s && t.length > 0) {
        s = t;
        changed = true;
      }
    }
  }
  return s.replace(/[^a-z0-9]/g, '');
}

const CACHE_LIMIT = 10_000;

export class PriceTable {
  private readonly exact = new Map<string, Price>();
  private readonly normalised = new Map<string, { price: Price; removed: number }>();
  private readonly regexes: { re: RegExp; price: Price }[] = [];
  private readonly cache = new Map<string, Resolution | null>();

  /** Number of entries that can be matched by name. */
  get size(): number {
    return this.exact.size;
  }

  /** Adds entries; a later entry with the same name replaces an earlier one. */
  add(prices: readonly Price[]): void {
    for (const p of prices) {
      const lower = p.name.trim().toLowerCase();
      this.exact.set(lower, p);
      const key = normaliseModel(p.name);
      if (!key) continue;
      // between entries that normalise alike, keep the one closest to the canonical name (gpt-4o over
      // azure/gpt-4o); an entry with the very same name replaces (an override)
      const removed = lower.length - key.length;
      const cur = this.normalised.get(key);
      if (!cur || removed < cur.removed || cur.price.name.trim().toLowerCase() === lower) this.normalised.set(key, { price: p, removed });
    }
    this.cache.clear();
  }

  addMatch(re: RegExp, price: Price): void {
    this.regexes.push({ re, price });
    this.cache.clear();
  }

  /** The price for a model name as received, or undefined when it cannot be priced. Cached per string. */
  resolve(model: string): Resolution | undefined {
    const hit = this.cache.get(model);
    if (hit !== undefined) return hit ?? undefined;
    const r = this.lookup(model);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(model, r ?? null);
    return r;
  }

  private lookup(model: string): Resolution | undefined {
    const exact = this.exact.get(model.trim().toLowerCase());
    if (exact) return { price: exact, how: 'exact' };
    const key = normaliseModel(model);
    const n = key ? this.normalised.get(key) : undefined;
    if (n) return { price: n.price, how: 'normalised' };
    for (const { re, price } of this.regexes) if (re.test(model)) return { price, how: 'match' };
    return undefined;
  }
}

/** Builds the table a cost processor uses: the base table (builtin or a file), then the user's `prices`. */
export function buildPriceTable(priceTable: string, prices: readonly PriceEntryConfig[], baseDir = process.cwd()): PriceTable {
  const table = new PriceTable();
  const file = priceTable === 'builtin' ? BUILTIN_PRICES : path.resolve(baseDir, priceTable);
  table.add(loadPriceFile(file));
  for (const p of prices) {
    const price: Price = { name: p.model ?? p.match ?? '', input: p.input, output: p.output, cacheRead: p.cache_read, cacheWrite: p.cache_write };
    if (p.model) table.add([price]);
    else if (p.match) table.addMatch(new RegExp(p.match, 'i'), price);
  }
  return table;
}
