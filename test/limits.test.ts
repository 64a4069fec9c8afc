import { describe, expect, it } from 'vitest';
import { isTokenCountKey, tokenAttributesProblem } from '../src/limits.ts';

/** The rule as first written (three prefix tests per key), kept here as the reference for the fast one. */
const reference = (key: string) =>
  (key.startsWith('gen_ai.usage.') && key.endsWith('tokens')) || (key.startsWith('llm.usage.') && key.endsWith('tokens')) || key.startsWith('llm.token_count.');

describe('isTokenCountKey', () => {
  it.each([
    ['gen_ai.usage.input_tokens', true],
    ['gen_ai.usage.output_tokens', true],
    ['gen_ai.usage.prompt_tokens', true],
    ['gen_ai.usage.completion_tokens', true],
    ['gen_ai.usage.cache_read.input_tokens', true],
    ['gen_ai.usage.tokens', true],
    ['llm.usage.total_tokens', true],
    ['llm.usage.prompt_tokens', true],
    ['llm.token_count.prompt', true],
    ['llm.token_count.completion', true],
    ['gen_ai.request.max_tokens', false],
    ['gen_ai.usage.cost', false],
    ['gen_ai.usage.', false],
    ['gen_ai.usage.token', false],
    ['llm.model_name', false],
    ['llm.usage.cost', false],
    ['llm', false],
    ['g', false],
    ['', false],
    ['service.name', false],
  ])('%s -> %s', (key, expected) => {
    expect(isTokenCountKey(key)).toBe(expected);
    expect(reference(key)).toBe(expected);
  });

  it('agrees with the reference rule on keys built from the fragments that matter', () => {
    const heads = ['gen_ai.', 'gen_ai.usage.', 'gen_ai.usage', 'llm.', 'llm.usage.', 'llm.token_count.', 'llm.token_count', 'gen_ai.u', 'llm_', 'x', ''];
    const tails = ['', 'tokens', 'input_tokens', '_tokens', 'token', 'prompt', 'cost', 'usage.tokens', 'a.tokens'];
    let n = 0;
    for (const h of heads) for (const t of tails) {
      expect(isTokenCountKey(h + t), h + t).toBe(reference(h + t));
      n++;
    }
    expect(n).toBe(heads.length * tails.length);
  });

  it('tokenAttributesProblem names the first count out of range', () => {
    expect(tokenAttributesProblem([{ key: 'gen_ai.request.max_tokens', value: -1n }, { key: 'gen_ai.usage.input_tokens', value: 10n }])).toBeUndefined();
    expect(tokenAttributesProblem([{ key: 'gen_ai.usage.input_tokens', value: -5n }])).toMatch(/^gen_ai\.usage\.input_tokens: /);
    expect(tokenAttributesProblem([{ key: 'llm.token_count.prompt', value: 1e12 }])).toMatch(/^llm\.token_count\.prompt: /);
  });
});
