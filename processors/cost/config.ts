import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

const PerMillion = (description: string) => Type.Number({ minimum: 0, description });

export const PriceEntrySchema = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'exact model name (any case)' })),
    match: Type.Optional(Type.String({ minLength: 1, description: 'regular expression on the model name (case-insensitive)' })),
    input: PerMillion('USD per 1M input tokens'),
    output: PerMillion('USD per 1M output tokens'),
    cache_read: Type.Optional(PerMillion('USD per 1M cached input tokens (default: the input price)')),
    cache_write: Type.Optional(PerMillion('USD per 1M cache-write input tokens (default: the input price)')),
  },
  { additionalProperties: false },
);
export type PriceEntryConfig = Static<typeof PriceEntrySchema>;

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
export type BudgetConfig = Static<typeof BudgetSchema>;

export const CostConfigSchema = Obj({
  price_table: Type.String({ minLength: 1, default: 'builtin', description: '`builtin` or a path to a price file (ours or LiteLLM JSON)' }),
  prices: Type.Array(PriceEntrySchema, { default: [], description: 'additions and overrides, USD per 1M tokens' }),
  budgets: Type.Array(BudgetSchema, { default: [] }),
  interval: Duration('10s', 'how often llm.cost, llm.tokens and the budget gauges are emitted'),
  persist_interval: Duration('1s', 'budget spend is written to disk at most this long after it changes'),
});
export type CostConfig = Static<typeof CostConfigSchema>;
