/**
 * The dialect reader against a plain reference: for every quantity, the first name of its list (the cost
 * README's "What it reads" table) that is present. Random attribute lists mix every known name with
 * decoys of the same length (one character changed, other case), unrelated keys, keys built at run time
 * (not the interned literals), and keys longer than any known name, so that the length-first dispatch is
 * exercised on each path (no candidate, a candidate that differs, the name itself), and each list is read
 * twice, the second time through the per-position shortcut.
 */
import { describe, expect, it } from 'vitest';
import type { AnyValue, KeyValue } from '../../src/model.ts';
import { valueCount, valueString } from '../../src/attributes.ts';
import { tokenCountProblem } from '../../src/limits.ts';
import { GENAI_CALL_KEYS, type GenAiCall, newGenAiCall, readGenAiCall } from './genai-call.ts';

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMERIC = new Set([...GENAI_CALL_KEYS.keys()].filter((k) => /tokens|token_count|cache_|^ai\.usage\./.test(k)));
const WRITTEN = ['gen_ai.usage.cost', 'gen_ai.usage.cost.source', 'gen_ai.usage.cost.model'];

/** Why a token count's value is invalid (the intake's rule, and a string with digits that is no decimal integer); undefined when it is not. */
function problemOf(v: AnyValue): string | undefined {
  return tokenCountProblem(v) ?? (typeof v === 'string' && /[0-9]/.test(v) && !/^-?[0-9]+$/.test(v) ? `expected a whole number of tokens written as a decimal integer ("12"), got ${JSON.stringify(v)}` : undefined);
}

/** What readGenAiCall must give, from lookups by name (attribute lists without duplicate keys). */
function reference(attrs: readonly KeyValue[]): GenAiCall {
  const at = (k: string) => attrs.findIndex((a) => a.key === k);
  const s = (k: string): string | undefined => {
    const i = at(k);
    return i < 0 ? undefined : valueString(attrs[i]!.value);
  };
  const n = (k: string): number => {
    const i = at(k);
    const v = i < 0 || problemOf(attrs[i]!.value) !== undefined ? NaN : valueCount(attrs[i]!.value);
    return v > Number.MAX_SAFE_INTEGER ? NaN : v; // beyond 2^53 - 1 (or infinite): not a count
  };
  /** Of names read as alternatives in one place, the one that comes first in the list. */
  const firstInList = <T>(keys: string[], read: (k: string) => T, ok: (v: T) => boolean, none: T): T => {
    const present = keys.filter((k) => at(k) >= 0 && ok(read(k))).sort((a, b) => at(a) - at(b));
    return present.length ? read(present[0]!) : none;
  };
  const firstValid = (...vals: number[]): number => vals.find((v) => v >= 0) ?? vals[vals.length - 1]!;
  // Vercel AI SDK: ai.* names are read only on a provider call's span (ai.operationId with ".do"), or without one
  const op = s('ai.operationId');
  const aiWrapper = op !== undefined && !op.includes('.do');
  const as = (k: string) => (aiWrapper ? undefined : s(k));
  const an = (k: string) => (aiWrapper ? NaN : n(k));
  const aiPrompt = firstInList(['ai.usage.inputTokens', 'ai.usage.promptTokens', 'ai.usage.tokens'], an, (v) => v >= 0, NaN);
  const aiCompletion = firstInList(['ai.usage.outputTokens', 'ai.usage.completionTokens'], an, (v) => v >= 0, NaN);
  const total0 = n('gen_ai.usage.total_tokens') >= 0 ? n('gen_ai.usage.total_tokens') : firstInList(['llm.usage.total_tokens', 'llm.token_count.total'], n, (v) => v >= 0, n('gen_ai.usage.total_tokens'));
  const total = total0 >= 0 ? total0 : an('ai.usage.totalTokens') >= 0 ? an('ai.usage.totalTokens') : total0;
  const cacheRead = n('gen_ai.usage.cache_read.input_tokens');
  const cacheWrite = n('gen_ai.usage.cache_creation.input_tokens');
  const altRead0 = n('gen_ai.usage.cache_read_input_tokens') >= 0 ? n('gen_ai.usage.cache_read_input_tokens') : firstInList(['llm.token_count.prompt_details.cache_read', 'llm.usage.cache_read_input_tokens'], n, (v) => v >= 0, NaN);
  const altRead = altRead0 >= 0 ? altRead0 : an('ai.usage.cachedInputTokens') >= 0 ? an('ai.usage.cachedInputTokens') : altRead0;
  const altWrite = n('gen_ai.usage.cache_creation_input_tokens') >= 0 ? n('gen_ai.usage.cache_creation_input_tokens') : firstInList(['llm.token_count.prompt_details.cache_write', 'llm.usage.cache_creation_input_tokens'], n, (v) => v >= 0, NaN);
  // the AI SDK's Anthropic and Bedrock providers count the cached input beside the input tokens
  const inputSeen = firstValid(n('gen_ai.usage.input_tokens'), n('gen_ai.usage.prompt_tokens'), n('llm.usage.prompt_tokens'), n('llm.token_count.prompt'), aiPrompt);
  const aiBeside = !(cacheRead >= 0) && !(altRead0 >= 0) && an('ai.usage.cachedInputTokens') >= 0 && inputSeen >= 0 && /^(anthropic|amazon-bedrock|bedrock)|\.anthropic/i.test(as('ai.model.provider') ?? '');
  const call = {
    reqModel: s('gen_ai.request.model') || s('llm.request.model') || s('llm.model_name') || as('ai.model.id') || s('langfuse.observation.model.name'),
    resModel: s('gen_ai.response.model') || s('llm.response.model') || as('ai.response.model'),
    provider: s('gen_ai.provider.name') ?? s('llm.provider') ?? s('gen_ai.system') ?? firstInList(['llm.system', 'llm.vendor'], s, (v) => v !== undefined, undefined) ?? as('ai.model.provider'),
    address: s('server.address'),
    operation: s('gen_ai.operation.name') ?? s('llm.request.type'),
    serviceTier:
      firstInList(['openai.response.service_tier', 'gen_ai.openai.response.service_tier'], s, (v) => v !== undefined, undefined) ||
      firstInList(['openai.request.service_tier', 'gen_ai.openai.request.service_tier'], s, (v) => v !== undefined, undefined),
    spanService: s('service.name'),
    input: aiBeside ? inputSeen + an('ai.usage.cachedInputTokens') : inputSeen,
    output: firstValid(n('gen_ai.usage.output_tokens'), n('gen_ai.usage.completion_tokens'), n('llm.usage.completion_tokens'), n('llm.token_count.completion'), aiCompletion),
    total,
    cacheRead: cacheRead >= 0 ? cacheRead : altRead >= 0 ? altRead : n('gen_ai.usage.input_tokens.cached'),
    cacheWrite: cacheWrite >= 0 ? cacheWrite : altWrite >= 0 ? altWrite : n('gen_ai.usage.input_tokens.cache_write'),
    reasoning: firstValid(n('gen_ai.usage.reasoning.output_tokens'), n('gen_ai.usage.reasoning_tokens'), n('llm.token_count.completion_details.reasoning'), an('ai.usage.reasoningTokens'), n('gen_ai.usage.output_tokens.reasoning')),
    audioInput: n('llm.token_count.prompt_details.audio'),
    audioOutput: n('llm.token_count.completion_details.audio'),
    invalid: undefined as string | undefined,
    iCost: at(WRITTEN[0]!),
    iSource: at(WRITTEN[1]!),
    iModel: at(WRITTEN[2]!),
  };
  // the first token count (in attribute order) holding a number that is no whole count in range, of a quantity
  // left without a usable count (the total only matters when neither input nor output is given)
  const left = (k: string): boolean => {
    const q = QUANTITY_OF[k]!;
    if (q === 'total') return !(call.input >= 0 || call.output >= 0) && !(call.total >= 0);
    return !(call[q] >= 0);
  };
  call.invalid = attrs.filter((a) => NUMERIC.has(a.key) && !(aiWrapper && a.key.startsWith('ai.')) && problemOf(a.value) !== undefined && left(a.key)).map((a) => `${a.key}: ${problemOf(a.value)}`)[0];
  return call;
}

/** The quantity each token-count name gives (the README's "What it reads" table). */
const QUANTITY_OF: Record<string, 'input' | 'output' | 'total' | 'cacheRead' | 'cacheWrite' | 'reasoning' | 'audioInput' | 'audioOutput'> = {
  'gen_ai.usage.input_tokens': 'input',
  'gen_ai.usage.prompt_tokens': 'input',
  'llm.usage.prompt_tokens': 'input',
  'llm.token_count.prompt': 'input',
  'gen_ai.usage.output_tokens': 'output',
  'gen_ai.usage.completion_tokens': 'output',
  'llm.usage.completion_tokens': 'output',
  'llm.token_count.completion': 'output',
  'gen_ai.usage.total_tokens': 'total',
  'llm.usage.total_tokens': 'total',
  'llm.token_count.total': 'total',
  'gen_ai.usage.cache_read.input_tokens': 'cacheRead',
  'gen_ai.usage.cache_read_input_tokens': 'cacheRead',
  'llm.usage.cache_read_input_tokens': 'cacheRead',
  'llm.token_count.prompt_details.cache_read': 'cacheRead',
  'gen_ai.usage.cache_creation.input_tokens': 'cacheWrite',
  'gen_ai.usage.cache_creation_input_tokens': 'cacheWrite',
  'llm.usage.cache_creation_input_tokens': 'cacheWrite',
  'llm.token_count.prompt_details.cache_write': 'cacheWrite',
  'gen_ai.usage.reasoning.output_tokens': 'reasoning',
  'gen_ai.usage.reasoning_tokens': 'reasoning',
  'llm.token_count.completion_details.reasoning': 'reasoning',
  'gen_ai.usage.input_tokens.cached': 'cacheRead',
  'gen_ai.usage.input_tokens.cache_write': 'cacheWrite',
  'gen_ai.usage.output_tokens.reasoning': 'reasoning',
  'llm.token_count.prompt_details.audio': 'audioInput',
  'llm.token_count.completion_details.audio': 'audioOutput',
  'ai.usage.inputTokens': 'input',
  'ai.usage.promptTokens': 'input',
  'ai.usage.tokens': 'input',
  'ai.usage.outputTokens': 'output',
  'ai.usage.completionTokens': 'output',
  'ai.usage.totalTokens': 'total',
  'ai.usage.cachedInputTokens': 'cacheRead',
  'ai.usage.reasoningTokens': 'reasoning',
};

/** A copy of `s` that is not the interned literal (as keys decoded from the wire are). */
const fresh = (s: string): string => [...s].join('');

describe('readGenAiCall', () => {
  it('reads every dialect as the reference does, whatever else the span carries', () => {
    const r = rand(14);
    const known = [...GENAI_CALL_KEYS.keys()];
    const decoys = known.flatMap((k) => [k.slice(0, -1) + (k.endsWith('x') ? 'y' : 'x'), k.toUpperCase(), `x${k.slice(1)}`]);
    const others = ['http.route', 'http.request.method', 'llm.input_messages.0.message.content', 'gen_ai.prompt.0.content', 'a', '', `${'llm.'.repeat(20)}long`];
    const value = (k: string): AnyValue => {
      const x = r();
      if (NUMERIC.has(k)) return x < 0.4 ? BigInt(Math.floor(r() * 5000)) : x < 0.7 ? Math.floor(r() * 5000) : x < 0.85 ? String(Math.floor(r() * 5000)) : x < 0.9 ? '' : x < 0.92 ? [1e308, 'Infinity', 2 ** 60, '0x10', '1e3', ' 12 ', 12.5, -3, '2.5', 2e9, 12.0, NaN][Math.floor(r() * 12)]! : null;
      if (k === 'ai.model.provider') return x < 0.3 ? 'anthropic.messages' : x < 0.45 ? 'amazon-bedrock' : x < 0.9 ? 'openai.chat' : null;
      if (k === 'ai.operationId') return x < 0.45 ? 'ai.streamText.doStream' : x < 0.9 ? 'ai.streamText' : null; // a provider call's span, or the one around it
      return x < 0.9 ? `v${Math.floor(r() * 5)}` : x < 0.95 ? '' : null;
    };
    let withModel = 0;
    for (let i = 0; i < 3000; i++) {
      const keys = new Set<string>();
      const size = Math.floor(r() * 14);
      while (keys.size < size) {
        const x = r();
        const pool = x < 0.6 ? known : x < 0.85 ? decoys : others;
        keys.add(pool[Math.floor(r() * pool.length)]!);
      }
      const list: KeyValue[] = [...keys].map((k) => ({ key: r() < 0.5 ? fresh(k) : k, value: value(k) }));
      const want = reference(list);
      const got = newGenAiCall();
      readGenAiCall(list, got);
      expect(got, JSON.stringify(list, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual(want);
      // again: now every position holds the name it last saw (the per-position shortcut taken throughout)
      const again = newGenAiCall();
      readGenAiCall(list, again);
      expect(again).toEqual(want);
      if (got.reqModel) withModel++;
    }
    expect(withModel).toBeGreaterThan(500); // the draw did exercise the model names
  });

  it('a token count given as a string is a decimal integer (as OTLP/JSON writes an int64), nothing else Number() would read', () => {
    const read = (v: AnyValue, fallback?: AnyValue) => {
      const call = newGenAiCall();
      const attrs: KeyValue[] = [{ key: 'gen_ai.usage.input_tokens', value: v }, { key: 'gen_ai.usage.output_tokens', value: v }];
      if (fallback !== undefined) attrs.push({ key: 'llm.usage.prompt_tokens', value: fallback });
      readGenAiCall(attrs, call);
      return call;
    };
    // Number() reads these as 16, 1000, 12, 12: not what the sender's count said, or not a count's form
    for (const bad of ['0x10', '1e3', ' 12 ', '1,000', '-5', '12.0', '0b11', '0o7', '+12', '12n', 'Infinity', '']) {
      expect(read(bad).input, JSON.stringify(bad)).toBeNaN();
      expect(read(bad).output, JSON.stringify(bad)).toBeNaN();
      // not a count: the next name's count is used, as for any unusable value
      expect(read(bad, '7').input, JSON.stringify(bad)).toBe(7);
      // alone, a string with digits is invalid (the call is not priced with a count made up); one without is no count
      if (/[0-9]/.test(bad)) expect(read(bad).invalid, JSON.stringify(bad)).toMatch(/^gen_ai\.usage\.input_tokens: expected a whole number of tokens/);
      else expect(read(bad).invalid, JSON.stringify(bad)).toBeUndefined();
    }
    expect(read('1000')).toMatchObject({ input: 1000, output: 1000 });
    expect(read('0').input).toBe(0);
    expect(read('0012').input).toBe(12);
    expect(read('1000000000')).toMatchObject({ input: 1e9, invalid: undefined });
    // past the most tokens one call may report (src/limits.ts MAX_TOKEN_COUNT): invalid, as the intake says
    expect(read('1000000001')).toMatchObject({ input: NaN, invalid: expect.stringContaining('gen_ai.usage.input_tokens: expected a whole number') });
    expect(read('9007199254740992').input).toBeNaN();
    // typed values are unchanged: int64 and double as they are
    expect(read(12n).input).toBe(12);
    expect(read(12).input).toBe(12);
  });

  it('a count that is no whole number of tokens in range (12.5, -5, "2.5", NaN, 2e9) leaves the call invalid, naming it; 12.0 is 12', () => {
    const read = (attrs: Record<string, AnyValue>) => {
      const call = newGenAiCall();
      readGenAiCall(Object.entries(attrs).map(([key, value]) => ({ key, value })), call);
      return call;
    };
    const expected = 'expected a whole number of tokens from 0 to 1000000000';
    expect(read({ 'gen_ai.usage.input_tokens': 12.5, 'gen_ai.usage.output_tokens': 3n }).invalid).toBe(`gen_ai.usage.input_tokens: ${expected}, got 12.5`);
    expect(read({ 'gen_ai.usage.input_tokens': 12.5 }).input).toBeNaN();
    for (const [key, value, others] of [
      ['gen_ai.usage.output_tokens', -5n, { 'gen_ai.usage.input_tokens': 10n }],
      ['gen_ai.usage.prompt_tokens', '2.5', { 'gen_ai.usage.output_tokens': 3n }],
      ['llm.token_count.completion', Number.NaN, { 'llm.token_count.prompt': 10n }],
      ['llm.usage.prompt_tokens', 2e9, {}],
      ['gen_ai.usage.cache_read.input_tokens', 0.5, { 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': 3n }],
      ['gen_ai.usage.cache_creation_input_tokens', 1.5, { 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': 3n }],
      ['gen_ai.usage.reasoning.output_tokens', -1, { 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': 3n }],
    ] as [string, AnyValue, Record<string, AnyValue>][])
      expect(read({ ...others, [key]: value }).invalid, key).toContain(`${key}: ${expected}`);
    // another name of the same quantity with a usable count is used (no count made up); a total beside input
    // and output is not needed
    expect(read({ 'gen_ai.usage.input_tokens': 12.5, 'gen_ai.usage.prompt_tokens': 12n })).toMatchObject({ input: 12, invalid: undefined });
    expect(read({ 'gen_ai.usage.input_tokens': 12n, 'gen_ai.usage.total_tokens': 7.25 }).invalid).toBeUndefined();
    expect(read({ 'gen_ai.usage.total_tokens': 7.25 }).invalid).toContain('gen_ai.usage.total_tokens: ');
    // an integral double, an int64, a decimal string: counts; a string that is no number at all: no count, not invalid
    expect(read({ 'gen_ai.usage.input_tokens': 12.0, 'gen_ai.usage.output_tokens': '7', 'llm.usage.total_tokens': 'lots' })).toMatchObject({ input: 12, output: 7, invalid: undefined });
  });

  it('reuses the call object: every field is reset for the next span', () => {
    const call = newGenAiCall();
    readGenAiCall([{ key: 'gen_ai.request.model', value: 'gpt-4o' }, { key: 'gen_ai.usage.input_tokens', value: 10n }, { key: 'gen_ai.usage.cost', value: 1 }, { key: 'service.name', value: 'a' }], call);
    expect(call).toMatchObject({ reqModel: 'gpt-4o', input: 10, iCost: 2, spanService: 'a' });
    readGenAiCall([{ key: 'http.route', value: '/' }], call);
    expect(call).toEqual(newGenAiCall());
  });

  it('takes the first service.name when a span repeats it (as an attribute lookup does)', () => {
    const call = newGenAiCall();
    readGenAiCall([{ key: 'service.name', value: 'first' }, { key: 'service.name', value: 'second' }], call);
    expect(call.spanService).toBe('first');
  });
});
