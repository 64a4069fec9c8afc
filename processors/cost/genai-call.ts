/**
 * Reads one LLM call from a span's attributes, in every dialect instrumentations emit today (the cost
 * README's "What it reads" table): the current and the deprecated OpenTelemetry GenAI names, OpenLLMetry /
 * Traceloop's `llm.*`, OpenInference's `llm.model_name` / `llm.token_count.*`, and the Vercel AI SDK's `ai.model.id` /
 * `ai.usage.*` (on a provider call's span only), Langfuse's `langfuse.observation.*`, plus the OpenAI service tier. One pass over the
 * attributes fills a {@link GenAiCall} that the caller reuses for every span (no allocation per span: the
 * cost processor's hot path).
 */
import type { KeyValue } from '../../src/model.ts';
import { valueCount as num, valueString as str } from '../../src/attributes.ts';
import { MAX_TOKEN_COUNT, tokenCountProblem } from '../../src/limits.ts';

/** What one span says about its LLM call. Token counts are NaN when absent or unusable; models and names undefined. */
export interface GenAiCall {
  /** The requested model (gen_ai.request.model, llm.request.model, llm.model_name). */
  reqModel: string | undefined;
  /** The model that served the call (gen_ai.response.model, llm.response.model). */
  resModel: string | undefined;
  /** The provider as the span names it (gen_ai.provider.name, llm.provider, gen_ai.system, llm.system, llm.vendor). */
  provider: string | undefined;
  /** server.address of the span. */
  address: string | undefined;
  /** gen_ai.operation.name (or OpenLLMetry's llm.request.type). */
  operation: string | undefined;
  /**
   * The OpenAI service tier that served the call (openai.response.service_tier, else the one requested:
   * openai.request.service_tier; also their deprecated gen_ai.openai.* names), as sent; undefined when absent.
   */
  serviceTier: string | undefined;
  /** service.name set on the span itself, the first one (undefined: the resource's). */
  spanService: string | undefined;
  /** Input and output tokens (any dialect's names, the current OTel ones first); NaN when absent. */
  input: number;
  output: number;
  /** Total tokens alone (gen_ai.usage.total_tokens, llm.usage.total_tokens, llm.token_count.total); NaN when absent. */
  total: number;
  /** Cache read and cache write input tokens (subsets of input); NaN when absent. */
  cacheRead: number;
  cacheWrite: number;
  /** Reasoning tokens (a subset of output: OTel GenAI semconv); NaN when absent. */
  reasoning: number;
  /** Audio input and output tokens (subsets of input and output: OpenInference prompt/completion_details.audio); NaN when absent. */
  audioInput: number;
  audioOutput: number;
  /**
   * Set when a quantity the price needs (input, output, cache read, cache write, reasoning; the total when
   * neither input nor output is given) has no usable count because a name of it holds a number that is no token
   * count (negative, fractional, not finite, over src/limits.ts MAX_TOKEN_COUNT: what the intake refuses,
   * `tokenCountProblem`): the first such attribute as `key: problem`; undefined otherwise. Such a call is not
   * priced: any count put in its place would be made up. (Another name of the same quantity with a usable count
   * is used, as for any unusable value.)
   */
  invalid: string | undefined;
  /** Where the attributes the cost processor writes already are (-1: absent). */
  iCost: number;
  iSource: number;
  iModel: number;
}

/** A GenAiCall to reuse with {@link readGenAiCall}. */
export function newGenAiCall(): GenAiCall {
  return { reqModel: undefined, resModel: undefined, provider: undefined, address: undefined, operation: undefined, serviceTier: undefined, spanService: undefined, input: NaN, output: NaN, total: NaN, cacheRead: NaN, cacheWrite: NaN, reasoning: NaN, audioInput: NaN, audioOutput: NaN, invalid: undefined, iCost: -1, iSource: -1, iModel: -1 };
}

// Attribute names this reader knows, each with a code for the switch below. Names are first told apart
// by their length (an array index), so that an attribute of another name costs one length read and at
// most a few string compares, never a walk through every name (the hot path of the cost processor).
const REQ_MODEL = 1;
const RES_MODEL = 2;
const PROVIDER_NAME = 3;
const SYSTEM = 4;
const OPERATION = 5;
const COST = 6;
const COST_SOURCE = 7;
const COST_MODEL = 8;
const MODEL_NAME = 9;
const LLM_REQ_MODEL = 10;
const LLM_RES_MODEL = 11;
const LLM_PROVIDER = 12;
const LLM_SYSTEM = 13;
const LLM_REQUEST_TYPE = 14;
const SERVICE_NAME = 15;
const SERVER_ADDRESS = 16;
const RES_SERVICE_TIER = 17;
const REQ_SERVICE_TIER = 18;
const AI_MODEL_ID = 19;
const AI_PROVIDER = 20;
const AI_RES_MODEL = 21;
const AI_OPERATION_ID = 22;
const LF_MODEL = 23;
const LF_USAGE = 24;
/** Codes from here on are token counts (read as numbers). */
const FIRST_COUNT = 25;
const INPUT = 25;
const OUTPUT = 26;
const PROMPT = 27;
const COMPLETION = 28;
const TOTAL = 29;
const CACHE_READ = 30;
const CACHE_WRITE = 31;
const ALT_CACHE_READ = 32;
const ALT_CACHE_WRITE = 33;
const OI_PROMPT = 34;
const OI_COMPLETION = 35;
const OI_CACHE_READ = 36;
const OI_CACHE_WRITE = 37;
const LLM_PROMPT = 38;
const LLM_COMPLETION = 39;
const LLM_CACHE_READ = 40;
const LLM_TOTAL = 41;
const LLM_CACHE_WRITE = 42;
const REASONING = 43;
const ALT_REASONING = 44;
const OI_REASONING = 45;
const AI_PROMPT = 46;
const AI_COMPLETION = 47;
const AI_TOTAL = 48;
const AI_CACHE_READ = 49;
const AI_REASONING = 50;
const OI_AUDIO_IN = 51;
const OI_AUDIO_OUT = 52;
const SENTRY_CACHE_READ = 53;
const SENTRY_CACHE_WRITE = 54;
const SENTRY_REASONING = 55;

// The quantity each token-count code gives (for GenAiCall.invalid).
const Q_INPUT = 0;
const Q_OUTPUT = 1;
const Q_TOTAL = 2;
const Q_CACHE_READ = 3;
const Q_CACHE_WRITE = 4;
const Q_REASONING = 5;
const Q_AUDIO_IN = 6;
const Q_AUDIO_OUT = 7;
const QUANTITY: number[] = [];
for (const c of [INPUT, PROMPT, LLM_PROMPT, OI_PROMPT, AI_PROMPT]) QUANTITY[c] = Q_INPUT;
for (const c of [OUTPUT, COMPLETION, LLM_COMPLETION, OI_COMPLETION, AI_COMPLETION]) QUANTITY[c] = Q_OUTPUT;
for (const c of [TOTAL, LLM_TOTAL, AI_TOTAL]) QUANTITY[c] = Q_TOTAL;
for (const c of [CACHE_READ, ALT_CACHE_READ, OI_CACHE_READ, LLM_CACHE_READ, AI_CACHE_READ, SENTRY_CACHE_READ]) QUANTITY[c] = Q_CACHE_READ;
for (const c of [CACHE_WRITE, ALT_CACHE_WRITE, OI_CACHE_WRITE, LLM_CACHE_WRITE, SENTRY_CACHE_WRITE]) QUANTITY[c] = Q_CACHE_WRITE;
for (const c of [REASONING, ALT_REASONING, OI_REASONING, AI_REASONING, SENTRY_REASONING]) QUANTITY[c] = Q_REASONING;
QUANTITY[OI_AUDIO_IN] = Q_AUDIO_IN;
QUANTITY[OI_AUDIO_OUT] = Q_AUDIO_OUT;

/** The first invalid count (GenAiCall.invalid) of a quantity the call is left without, or undefined. */
function invalidCount(bad: readonly [number, string][], call: GenAiCall): string | undefined {
  const io = call.input >= 0 || call.output >= 0;
  for (const [q, problem] of bad) {
    const v = q === Q_INPUT ? call.input : q === Q_OUTPUT ? call.output : q === Q_CACHE_READ ? call.cacheRead : q === Q_CACHE_WRITE ? call.cacheWrite : q === Q_REASONING ? call.reasoning : q === Q_AUDIO_IN ? call.audioInput : q === Q_AUDIO_OUT ? call.audioOutput : io ? 0 : call.total;
    if (!(v >= 0)) return problem;
  }
  return undefined;
}

/** Token counts of a Langfuse `usage_details` JSON object, as the other dialects' (NaN: absent), and the counts that are no count. */
interface LangfuseUsage {
  input: number;
  output: number;
  total: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  audioInput: number;
  audioOutput: number;
  bad: [number, string][] | undefined;
}

const LF_KEY = 'langfuse.observation.usage_details';

/**
 * Reads Langfuse's `usage_details` (`{"input": 1000, "output": 200, "cache_read_input_tokens": 400,
 * "output_reasoning_tokens": 50, "total": 1650}`): Langfuse prices each kind apart, so its kinds do not overlap
 * (its SDKs take OpenAI's cached and reasoning tokens out of `input` and `output`). They are added up into the
 * OTel reading, where the cache counts are parts of the input and the reasoning a part of the output: input =
 * `input` + every `input_*`/cache kind, output = `output` + every `output_*` kind. A string that is no JSON object
 * gives no count.
 */
function langfuseUsage(text: string): LangfuseUsage {
  const u: LangfuseUsage = { input: NaN, output: NaN, total: NaN, cacheRead: NaN, cacheWrite: NaN, reasoning: NaN, audioInput: NaN, audioOutput: NaN, bad: undefined };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return u;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return u;
  const add = (a: number, b: number) => (a >= 0 ? a + b : b);
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = k.toLowerCase();
    const isIn = key === 'input' || key === 'prompt_tokens' || key === 'input_tokens' || key.startsWith('input_') || key.startsWith('cache_');
    const isOut = key === 'output' || key === 'completion_tokens' || key === 'output_tokens' || key.startsWith('output_');
    const isTotal = key === 'total' || key === 'total_tokens';
    if (!isIn && !isOut && !isTotal) continue;
    const problem = typeof v === 'number' || typeof v === 'string' ? tokenCountProblem(v) : undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN;
    if (problem !== undefined || !(n >= 0)) {
      if (problem !== undefined) (u.bad ??= []).push([isIn ? Q_INPUT : isOut ? Q_OUTPUT : Q_TOTAL, `${LF_KEY}.${k}: ${problem}`]);
      continue;
    }
    if (isTotal) u.total = n;
    else if (isIn) {
      u.input = add(u.input, n);
      if (/cache_read|cached|cache_hit/.test(key)) u.cacheRead = add(u.cacheRead, n);
      else if (/cache_creation|cache_write/.test(key)) u.cacheWrite = add(u.cacheWrite, n);
      else if (key.includes('audio')) u.audioInput = add(u.audioInput, n);
    } else {
      u.output = add(u.output, n);
      if (key.includes('reasoning')) u.reasoning = add(u.reasoning, n);
      else if (key.includes('audio')) u.audioOutput = add(u.audioOutput, n);
    }
  }
  return u;
}

/** Vercel AI SDK provider ids whose usage counts the cached input tokens beside the input tokens. */
const AI_CACHE_BESIDE = /^(anthropic|amazon-bedrock|bedrock)|\.anthropic/i;

/** Every name read, with its code (the README's "What it reads" table); the current OTel names first. */
export const GENAI_CALL_KEYS: ReadonlyMap<string, number> = new Map([
  ['gen_ai.request.model', REQ_MODEL],
  ['gen_ai.response.model', RES_MODEL],
  ['gen_ai.usage.input_tokens', INPUT],
  ['gen_ai.usage.output_tokens', OUTPUT],
  ['gen_ai.usage.prompt_tokens', PROMPT],
  ['gen_ai.usage.completion_tokens', COMPLETION],
  ['gen_ai.usage.total_tokens', TOTAL],
  ['gen_ai.usage.cache_read.input_tokens', CACHE_READ],
  ['gen_ai.usage.cache_creation.input_tokens', CACHE_WRITE],
  ['gen_ai.usage.cache_read_input_tokens', ALT_CACHE_READ], // OpenLLMetry
  ['gen_ai.usage.cache_creation_input_tokens', ALT_CACHE_WRITE], // OpenLLMetry
  ['gen_ai.usage.reasoning.output_tokens', REASONING],
  ['gen_ai.usage.reasoning_tokens', ALT_REASONING], // OpenLLMetry
  ['gen_ai.usage.input_tokens.cached', SENTRY_CACHE_READ], // Sentry SDKs
  ['gen_ai.usage.input_tokens.cache_write', SENTRY_CACHE_WRITE],
  ['gen_ai.usage.output_tokens.reasoning', SENTRY_REASONING],
  ['gen_ai.provider.name', PROVIDER_NAME],
  ['gen_ai.system', SYSTEM],
  ['gen_ai.operation.name', OPERATION],
  ['gen_ai.usage.cost', COST],
  ['gen_ai.usage.cost.source', COST_SOURCE],
  ['gen_ai.usage.cost.model', COST_MODEL],
  ['llm.model_name', MODEL_NAME], // OpenInference
  ['llm.request.model', LLM_REQ_MODEL], // OpenLLMetry (older)
  ['llm.response.model', LLM_RES_MODEL],
  ['llm.provider', LLM_PROVIDER], // OpenInference
  ['llm.system', LLM_SYSTEM], // OpenInference
  ['llm.vendor', LLM_SYSTEM], // Traceloop (older)
  ['llm.token_count.prompt', OI_PROMPT], // OpenInference
  ['llm.token_count.completion', OI_COMPLETION],
  ['llm.token_count.prompt_details.cache_read', OI_CACHE_READ],
  ['llm.token_count.prompt_details.cache_write', OI_CACHE_WRITE],
  ['llm.token_count.completion_details.reasoning', OI_REASONING],
  ['llm.token_count.prompt_details.audio', OI_AUDIO_IN],
  ['llm.token_count.completion_details.audio', OI_AUDIO_OUT],
  ['llm.usage.prompt_tokens', LLM_PROMPT], // OpenLLMetry (older)
  ['llm.usage.completion_tokens', LLM_COMPLETION],
  ['llm.usage.cache_read_input_tokens', LLM_CACHE_READ],
  ['llm.usage.cache_creation_input_tokens', LLM_CACHE_WRITE],
  ['llm.usage.total_tokens', LLM_TOTAL],
  ['llm.token_count.total', LLM_TOTAL],
  ['llm.request.type', LLM_REQUEST_TYPE], // OpenLLMetry: chat, completion, embedding
  ['service.name', SERVICE_NAME],
  ['server.address', SERVER_ADDRESS],
  ['openai.response.service_tier', RES_SERVICE_TIER], // OTel GenAI OpenAI conventions
  ['openai.request.service_tier', REQ_SERVICE_TIER],
  ['gen_ai.openai.response.service_tier', RES_SERVICE_TIER], // their deprecated names
  ['gen_ai.openai.request.service_tier', REQ_SERVICE_TIER],
  // Vercel AI SDK (ai.* telemetry; v4 promptTokens/completionTokens, v5 inputTokens/outputTokens...)
  ['ai.model.id', AI_MODEL_ID],
  ['ai.model.provider', AI_PROVIDER],
  ['ai.response.model', AI_RES_MODEL],
  ['ai.operationId', AI_OPERATION_ID],
  ['ai.usage.inputTokens', AI_PROMPT],
  ['ai.usage.promptTokens', AI_PROMPT],
  ['ai.usage.tokens', AI_PROMPT], // embeddings
  ['ai.usage.outputTokens', AI_COMPLETION],
  ['ai.usage.completionTokens', AI_COMPLETION],
  ['ai.usage.totalTokens', AI_TOTAL],
  ['ai.usage.cachedInputTokens', AI_CACHE_READ],
  ['ai.usage.reasoningTokens', AI_REASONING],
  // Langfuse SDKs (v3+: langfuse.observation.*; usage_details a JSON object of token counts by kind)
  ['langfuse.observation.model.name', LF_MODEL],
  ['langfuse.observation.usage_details', LF_USAGE],
]);

/** NAMES[n] / CODES[n]: the names of length n and their codes (dense: an empty list where none). */
const MAX_LEN = Math.max(...[...GENAI_CALL_KEYS.keys()].map((k) => k.length));
const NAMES: string[][] = Array.from({ length: MAX_LEN + 1 }, () => []);
const CODES: number[][] = Array.from({ length: MAX_LEN + 1 }, () => []);
for (const [name, code] of GENAI_CALL_KEYS) {
  NAMES[name.length]!.push(name);
  CODES[name.length]!.push(code);
}

/** The code of an attribute name (0: not read). */
function codeOf(k: string): number {
  const len = k.length;
  if (len > MAX_LEN) return 0;
  const names = NAMES[len]!;
  for (let j = 0; j < names.length; j++) if (names[j] === k) return CODES[len]![j]!;
  return 0;
}

/**
 * The OpenAI service tier `attrs` name, as {@link readGenAiCall} reads it for a span (the served one, else the one
 * requested; the first of each present), for a token-usage metric point; undefined when none.
 */
export function serviceTierOf(attrs: readonly KeyValue[]): string | undefined {
  let res: string | undefined;
  let req: string | undefined;
  for (const kv of attrs) {
    if (!kv.key.endsWith('service_tier')) continue;
    const code = codeOf(kv.key);
    const v = kv.value;
    if (code === RES_SERVICE_TIER) res ??= typeof v === 'string' ? v : str(v);
    else if (code === REQ_SERVICE_TIER) req ??= typeof v === 'string' ? v : str(v);
  }
  return res || req || undefined;
}

// The name last seen at each of the first SLOTS positions and its code: spans of one instrumentation
// carry their attributes in the same order, and a decoder that reuses key strings (src/otlp intern
// cache) gives the same string object, so the check is one identity compare.
const SLOTS = 40;
const slotKey: string[] = new Array<string>(SLOTS).fill('');
const slotCode = new Int32Array(SLOTS);

/** Fills `out` from `attrs` (every field is set, so `out` may be reused); the first name of each list present wins. */
export function readGenAiCall(attrs: readonly KeyValue[], out: GenAiCall): void {
  // every dialect's names (README "What it reads"); the first of each list present wins
  let reqModel: string | undefined; // gen_ai.request.model, llm.request.model, llm.model_name
  let resModel: string | undefined; // gen_ai.response.model, llm.response.model
  let modelName: string | undefined;
  let llmReqModel: string | undefined;
  let llmResModel: string | undefined;
  let providerName: string | undefined; // gen_ai.provider.name, llm.provider, gen_ai.system, llm.system, llm.vendor
  let llmProvider: string | undefined;
  let system: string | undefined;
  let llmSystem: string | undefined;
  let address: string | undefined;
  let operation: string | undefined;
  let resTier: string | undefined;
  // Vercel AI SDK: read only on a provider call's span (ai.operationId ai.generateText.doGenerate,
  // ai.streamText.doStream, ai.embed.doEmbed...), never on the ai.generateText span around it, whose usage is the
  // sum of its calls' (priced on their own spans: counting it too would count every call twice)
  let aiModel: string | undefined;
  let aiProvider: string | undefined;
  let aiResModel: string | undefined;
  let aiOperation: string | undefined;
  let aiPrompt = NaN;
  let aiCompletion = NaN;
  let aiTotal = NaN;
  let aiCacheRead = NaN;
  let aiReasoning = NaN;
  let sentryCacheRead = NaN;
  let sentryCacheWrite = NaN;
  let sentryReasoning = NaN;
  let audioIn = NaN;
  let audioOut = NaN;
  let lfModel: string | undefined;
  let lfUsage: string | undefined;
  let reqTier: string | undefined;
  let input = NaN;
  let output = NaN;
  let prompt = NaN;
  let completion = NaN;
  let llmPrompt = NaN;
  let llmCompletion = NaN;
  let oiPrompt = NaN;
  let oiCompletion = NaN;
  let total = NaN;
  let cacheRead = NaN;
  let cacheWrite = NaN;
  let altCacheRead = NaN;
  let altCacheWrite = NaN;
  let reasoning = NaN; // gen_ai.usage.reasoning.output_tokens, gen_ai.usage.reasoning_tokens, llm.token_count.completion_details.reasoning
  let altReasoning = NaN;
  let oiReasoning = NaN;
  let spanService: string | undefined;
  let sawService = false;
  // token counts that are numbers but no count, as (quantity, `key: problem`): rare, so allocated only then
  let bad: [number, string][] | undefined;
  // where the attributes this processor writes already are (-1: absent, pushed without a scan)
  let iCost = -1;
  let iSource = -1;
  let iModel = -1;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    const k = kv.key;
    let code: number;
    if (i < SLOTS && k === slotKey[i]) code = slotCode[i]!;
    else {
      code = codeOf(k);
      if (i < SLOTS) {
        slotKey[i] = k;
        slotCode[i] = code;
      }
    }
    if (code === 0) continue;
    // the value as a count (valueCount, its common cases inline) or as a string (valueString)
    const v = kv.value;
    let n = code < FIRST_COUNT ? NaN : typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : num(v);
    // OTel GenAI token counts are int: a number that is not a whole count in range (12.5, -5, NaN, 1e30; also
    // as a numeric string, "-3", "2.5") is invalid, as the intake says (src/limits.ts), and is no count at all
    if (code >= FIRST_COUNT && !(n >= 0 && n <= MAX_TOKEN_COUNT && n % 1 === 0)) {
      let problem = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' ? tokenCountProblem(v) : undefined;
      // a string with digits in another form than a decimal integer ("12.0", " 12 ", "1e3", "0x10", "1,000"): no
      // int64's form, and no count is made up from it (the call would be priced with an input of 0, say)
      if (problem === undefined && typeof v === 'string' && /[0-9]/.test(v)) problem = `expected a whole number of tokens written as a decimal integer ("12"), got ${JSON.stringify(v)}`;
      if (problem !== undefined) {
        (bad ??= []).push([QUANTITY[code]!, `${k}: ${problem}`]);
        n = NaN;
      }
    }
    // beyond the largest integer a double holds exactly (or infinite): no real call's count, read as unusable like a
    // negative one, so it neither prices a call absurdly nor overflows llm.tokens (int64) and the budgets. (The
    // intake's own bound on one call's tokens is src/limits.ts MAX_TOKEN_COUNT.)
    if (n > Number.MAX_SAFE_INTEGER) n = NaN;
    switch (code) {
      case REQ_MODEL:
        reqModel = typeof v === 'string' ? v : str(v);
        break;
      case RES_MODEL:
        resModel = typeof v === 'string' ? v : str(v);
        break;
      case INPUT:
        input = n;
        break;
      case OUTPUT:
        output = n;
        break;
      case PROMPT:
        prompt = n;
        break;
      case COMPLETION:
        completion = n;
        break;
      case TOTAL:
        // a name read ahead of others never erases their valid count with an invalid one of its own
        if (n >= 0 || !(total >= 0)) total = n;
        break;
      case CACHE_READ:
        cacheRead = n;
        break;
      case CACHE_WRITE:
        cacheWrite = n;
        break;
      case ALT_CACHE_READ:
        if (n >= 0 || !(altCacheRead >= 0)) altCacheRead = n;
        break;
      case ALT_CACHE_WRITE:
        if (n >= 0 || !(altCacheWrite >= 0)) altCacheWrite = n;
        break;
      case PROVIDER_NAME:
        providerName = typeof v === 'string' ? v : str(v);
        break;
      case SYSTEM:
        system = typeof v === 'string' ? v : str(v);
        break;
      case OPERATION: {
        const op = typeof v === 'string' ? v : str(v);
        if (op !== undefined) operation = op;
        break;
      }
      case COST:
        if (iCost < 0) iCost = i;
        break;
      case COST_SOURCE:
        if (iSource < 0) iSource = i;
        break;
      case COST_MODEL:
        if (iModel < 0) iModel = i;
        break;
      case MODEL_NAME:
        modelName = typeof v === 'string' ? v : str(v);
        break;
      case LLM_REQ_MODEL:
        llmReqModel = typeof v === 'string' ? v : str(v);
        break;
      case LLM_RES_MODEL:
        llmResModel = typeof v === 'string' ? v : str(v);
        break;
      case LLM_PROVIDER:
        llmProvider = typeof v === 'string' ? v : str(v);
        break;
      case LLM_SYSTEM:
        llmSystem ??= typeof v === 'string' ? v : str(v);
        break;
      case OI_PROMPT:
        oiPrompt = n;
        break;
      case OI_COMPLETION:
        oiCompletion = n;
        break;
      case OI_CACHE_READ:
      case LLM_CACHE_READ:
        if (!(altCacheRead >= 0)) altCacheRead = n;
        break;
      case OI_CACHE_WRITE:
      case LLM_CACHE_WRITE:
        if (!(altCacheWrite >= 0)) altCacheWrite = n;
        break;
      case LLM_PROMPT:
        llmPrompt = n;
        break;
      case LLM_COMPLETION:
        llmCompletion = n;
        break;
      case LLM_TOTAL:
        if (!(total >= 0)) total = n;
        break;
      case REASONING:
        reasoning = n;
        break;
      case ALT_REASONING:
        altReasoning = n;
        break;
      case OI_REASONING:
        oiReasoning = n;
        break;
      case LLM_REQUEST_TYPE:
        operation ??= typeof v === 'string' ? v : str(v);
        break;
      case SERVICE_NAME:
        // the first service.name, as an attribute lookup (findString) sees it
        if (!sawService) {
          sawService = true;
          spanService = typeof v === 'string' ? v : str(v);
        }
        break;
      case SERVER_ADDRESS:
        address = typeof v === 'string' ? v : str(v);
        break;
      case RES_SERVICE_TIER:
        resTier ??= typeof v === 'string' ? v : str(v);
        break;
      case REQ_SERVICE_TIER:
        reqTier ??= typeof v === 'string' ? v : str(v);
        break;
      case AI_MODEL_ID:
        aiModel = typeof v === 'string' ? v : str(v);
        break;
      case AI_PROVIDER:
        aiProvider = typeof v === 'string' ? v : str(v);
        break;
      case AI_RES_MODEL:
        aiResModel = typeof v === 'string' ? v : str(v);
        break;
      case AI_OPERATION_ID:
        aiOperation = typeof v === 'string' ? v : str(v);
        break;
      case AI_PROMPT:
        // v4 and v5 names: the first with a usable count
        if (!(aiPrompt >= 0)) aiPrompt = n;
        break;
      case AI_COMPLETION:
        if (!(aiCompletion >= 0)) aiCompletion = n;
        break;
      case AI_TOTAL:
        aiTotal = n;
        break;
      case AI_CACHE_READ:
        aiCacheRead = n;
        break;
      case AI_REASONING:
        aiReasoning = n;
        break;
      case SENTRY_CACHE_READ:
        sentryCacheRead = n;
        break;
      case SENTRY_CACHE_WRITE:
        sentryCacheWrite = n;
        break;
      case SENTRY_REASONING:
        sentryReasoning = n;
        break;
      case OI_AUDIO_IN:
        audioIn = n;
        break;
      case OI_AUDIO_OUT:
        audioOut = n;
        break;
      case LF_MODEL:
        lfModel = typeof v === 'string' ? v : str(v);
        break;
      case LF_USAGE:
        lfUsage = typeof v === 'string' ? v : undefined;
        break;
    }
  }
  // a Vercel AI SDK span around the provider calls (no ".do" in its ai.operationId): its ai.* names are not read
  const aiWrapper = aiOperation !== undefined && !aiOperation.includes('.do');
  if (aiWrapper) {
    aiModel = aiProvider = aiResModel = undefined;
    aiPrompt = aiCompletion = aiTotal = aiCacheRead = aiReasoning = NaN;
    if (bad !== undefined) bad = bad.filter((b) => !b[1].startsWith('ai.'));
  }
  // Langfuse usage details: read only when no other dialect gave a count (rare: parsed then)
  if (lfUsage !== undefined && !(input >= 0 || prompt >= 0 || llmPrompt >= 0 || oiPrompt >= 0 || aiPrompt >= 0 || output >= 0 || completion >= 0 || llmCompletion >= 0 || oiCompletion >= 0 || aiCompletion >= 0)) {
    const lf = langfuseUsage(lfUsage);
    if (lf.bad !== undefined) (bad ??= []).push(...lf.bad);
    input = lf.input;
    output = lf.output;
    if (!(total >= 0)) total = lf.total;
    if (!(cacheRead >= 0)) cacheRead = lf.cacheRead;
    if (!(cacheWrite >= 0)) cacheWrite = lf.cacheWrite;
    if (!(reasoning >= 0)) reasoning = lf.reasoning;
    if (!(audioIn >= 0)) audioIn = lf.audioInput;
    if (!(audioOut >= 0)) audioOut = lf.audioOutput;
  }
  if (!(input >= 0)) input = prompt >= 0 ? prompt : llmPrompt >= 0 ? llmPrompt : oiPrompt >= 0 ? oiPrompt : aiPrompt;
  if (!(output >= 0)) output = completion >= 0 ? completion : llmCompletion >= 0 ? llmCompletion : oiCompletion >= 0 ? oiCompletion : aiCompletion;
  if (!(total >= 0) && aiTotal >= 0) total = aiTotal;
  if (!(altCacheRead >= 0) && aiCacheRead >= 0) {
    altCacheRead = aiCacheRead;
    // the AI SDK's Anthropic and Amazon Bedrock providers (v5) report inputTokens without the cache reads, their
    // cachedInputTokens beside them (Anthropic's input_tokens, Bedrock Converse's inputTokens): the input the
    // other dialects mean is the sum
    if (!(cacheRead >= 0) && input >= 0 && aiProvider !== undefined && AI_CACHE_BESIDE.test(aiProvider)) input += aiCacheRead;
  }
  reqModel ||= llmReqModel || modelName || aiModel || lfModel;
  resModel ||= llmResModel || aiResModel;
  out.reqModel = reqModel;
  out.resModel = resModel;
  out.provider = providerName ?? llmProvider ?? system ?? llmSystem ?? aiProvider;
  out.address = address;
  out.operation = operation;
  out.serviceTier = resTier || reqTier;
  out.spanService = spanService;
  out.input = input;
  out.output = output;
  out.total = total;
  out.cacheRead = cacheRead >= 0 ? cacheRead : altCacheRead >= 0 ? altCacheRead : sentryCacheRead;
  out.cacheWrite = cacheWrite >= 0 ? cacheWrite : altCacheWrite >= 0 ? altCacheWrite : sentryCacheWrite;
  out.reasoning = reasoning >= 0 ? reasoning : altReasoning >= 0 ? altReasoning : oiReasoning >= 0 ? oiReasoning : aiReasoning >= 0 ? aiReasoning : sentryReasoning;
  out.audioInput = audioIn;
  out.audioOutput = audioOut;
  out.invalid = bad === undefined ? undefined : invalidCount(bad, out);
  out.iCost = iCost;
  out.iSource = iSource;
  out.iModel = iModel;
}
