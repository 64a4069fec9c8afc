/**
 * Refreshes the cost processor's built-in price table (processors/cost/prices.json) from LiteLLM's
 * public price table (BerriAI/litellm `model_prices_and_context_window.json`, MIT licence).
 *
 *   npm run prices:refresh -- <path or https URL of model_prices_and_context_window.json> [--source <text>]
 *
 * With no argument it reads test/fixtures/prices/model_prices_and_context_window.json (the snapshot the
 * tests use). The output keeps LiteLLM's `last_updated` and the source given (default: the input).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BUILTIN_PRICES, formatPriceFile, fromLiteLlm } from '../processors/cost/price-table.ts';

const args = process.argv.slice(2);
const si = args.indexOf('--source');
const sourceArg = si >= 0 ? args.splice(si, 2)[1] : undefined;
const input = args[0] ?? path.resolve(import.meta.dirname, '../test/fixtures/prices/model_prices_and_context_window.json');
const out = process.env.PRICES_OUT ?? BUILTIN_PRICES;

const text = /^https?:\/\//.test(input) ? await (await fetch(input)).text() : fs.readFileSync(input, 'utf8');
const file = fromLiteLlm(JSON.parse(text) as Record<string, unknown>, input);
const source =
  sourceArg ??
  (/^https?:\/\//.test(input) ? input : 'BerriAI/litellm model_prices_and_context_window.json (https://github.com/BerriAI/litellm), as mirrored by RoCry/llm-api-price at commit 8442b939a6ead479f7995b5d74d8dce488bd0966');
fs.writeFileSync(out, formatPriceFile(file, { source, license: 'MIT (LiteLLM, Copyright (c) 2023 Berri AI)', refresh: 'npm run prices:refresh -- <model_prices_and_context_window.json path or URL>' }));
console.log(`${out}: ${file.entries.length} priced entries (${file.zeroPriced} priced $0 left out), last_updated ${file.lastUpdated ?? '?'}`);
