import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

const PerMillion = (description: string) => Type.Number({ minimum: 0, description });

/**
 * The schema of one `prices:` entry: an exact `model` name or a `match` regex, and prices in USD per 1M tokens
 * (input, output, cache read/write, which default to the input price, and reasoning, which defaults to the output price).
 */
export const PriceEntrySchema = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'exact model name (any case)' })),
    match: Type.Optional(Type.String({ minLength: 1, description: 'regular expression on the model name (case-insensitive)' })),
    input: PerMillion('USD per 1M input tokens'),
    output: PerMillion('USD per 1M output tokens'),
    cache_read: Type.Optional(PerMillion('USD per 1M cached input tokens (default: the input price)')),
    cache_write: Type.Optional(PerMillion('USD per 1M cache-write input tokens (default: the input price)')),
    reasoning: Type.Optional(PerMillion('USD per 1M reasoning output tokens (default: the output price)')),
  },
  { additionalProperties: false },
);
/** One validated `prices:` entry (USD per 1M tokens). */
export type PriceEntryConfig = Static<typeof PriceEntrySchema>;

/**
 * The schema of one `budgets:` entry: name (the `budget` attribute's value), period (calendar day or month),
 * `limit_usd` (USD per period), `group_by` attributes and IANA `timezone` (default UTC).
 */
export const BudgetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'the value of the `budget` attribute' }),
    period: Type.Union([Type.Literal('day'), Type.Literal('month')], { default: 'day', description: 'calendar day or month' }),
    limit_usd: Type.Number({ exclusiveMinimum: 0, description: 'spend limit of one period, USD' }),
    group_by: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'one budget per value of these attributes' }),
    timezone: Type.String({ minLength: 1, default: 'UTC', description: 'IANA time zone of the calendar' }),
  },
  { additionalProperties: false },
);
/** One validated `budgets:` entry, defaults applied. */
export type BudgetConfig = Static<typeof BudgetSchema>;

/**
 * The schema of the cost processor's config (TypeBox; defaults applied by Ajv): price table (`builtin` or a
 * file), price additions (USD per 1M tokens), budgets, emit `interval` (default 10s) and `persist_interval` (default 1s).
 */
export const CostConfigSchema = Obj({
  price_table: Type.String({ minLength: 1, default: 'builtin', description: '`builtin` or a path to a price file (ours or LiteLLM JSON)' }),
  prices: Type.Array(PriceEntrySchema, { default: [], description: 'additions and overrides, USD per 1M tokens' }),
  budgets: Type.Array(BudgetSchema, { default: [] }),
  interval: Duration('10s', 'how often llm.cost, llm.tokens and the budget gauges are emitted'),
  persist_interval: Duration('1s', 'budget spend is written to disk at most this long after it changes'),
});
/** The cost processor's validated config, defaults applied. */
export type CostConfig = Static<typeof CostConfigSchema>;
