import type { ConfigIssue, Factory } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { compileSearchRegex } from '../../src/regex.ts';
import { calendarFor } from './budget-book.ts';
import { type CostConfig, CostConfigSchema } from './config.ts';
import { CostProcessor } from './cost-processor.ts';
import { loadPriceFile } from './price-table.ts';

/**
 * The factory of the `cost` processor (LLM cost from traces and the GenAI token usage metric); the config is
 * refused when the price table cannot be loaded or a price entry is unusable.
 */
export const costProcessorFactory: Factory<CostConfig> = {
  type: 'cost',
  kind: 'processor',
  schema: CostConfigSchema,
  signals: ['traces', 'metrics'],
  // writes gen_ai.usage.cost onto spans; emits llm.cost, llm.tokens and budget metrics
  capabilities: { mutatesData: true, derives: ['metrics'] },
  // a price or budget the schema refuses does not hide the problems of the others (or of the price file)
  independentItems: ['prices', 'budgets'],
  validate(config) {
    const issues: ConfigIssue[] = [];
    // a price file of the user's is checked here; the built-in one ships with vigil (and is tested), so
    // validating a config does not parse its ~260 KB (issue 21, start-up)
    if (config.price_table !== 'builtin') {
      try {
        loadPriceFile(config.price_table);
      } catch (err) {
        issues.push({ path: ['price_table'], message: (err as Error).message });
      }
    }
    config.prices.forEach((p, i) => {
      if ((p.model === undefined) === (p.match === undefined)) issues.push({ path: ['prices', i], message: 'give exactly one of "model" (exact name) or "match" (regex)' });
      if (p.match !== undefined) {
        try {
          compileSearchRegex(p.match, { caseInsensitive: true });
        } catch (err) {
          issues.push({ path: ['prices', i, 'match'], message: (err as Error).message });
        }
      }
    });
    const names = new Set<string>();
    config.budgets.forEach((b, i) => {
      if (names.has(b.name)) issues.push({ path: ['budgets', i, 'name'], message: `budget "${b.name}" is defined twice` });
      names.add(b.name);
      try {
        calendarFor(b.timezone);
      } catch {
        issues.push({ path: ['budgets', i, 'timezone'], message: `unknown time zone "${b.timezone}" (expected an IANA name such as Europe/Paris)` });
      }
    });
    if (!(parseDuration(config.interval) > 0)) issues.push({ path: ['interval'], message: 'must be greater than 0' });
    return issues;
  },
  create: (settings, config) => new CostProcessor(config, settings),
};
