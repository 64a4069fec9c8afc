/**
 * Reads one LLM call from a span's attributes, in every dialect instrumentations emit today (the cost
 * README's "What it reads" table): the current and the deprecated OpenTelemetry GenAI names, OpenLLMetry /
 * Traceloop's `llm.*`, and OpenInference's `llm.model_name` / `llm.token_count.*`. One pass over the
 * attributes fills a {@link GenAiCall} that the caller reuses for every span (no allocation per span: the
 * cost processor's hot path).
 */
import type { KeyValue } from '../../src/model.ts';
import { valueNumber as num, valueString as str } from '../../src/attributes.ts';

/** What one span says about its LLM call. Token counts are NaN when absent; models and names undefined. */
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
  /** Where the attributes the cost processor writes already are (-1: absent). */
  iCost: number;
  iSource: number;
  iModel: number;
}

/** A GenAiCall to reuse with {@link readGenAiCall}. */
export function newGenAiCall(): GenAiCall {
  return { reqModel: undefined, resModel: undefined, provider: undefined, address: undefined, operation: undefined, spanService: undefined, input: NaN, output: NaN, total: NaN, cacheRead: NaN, cacheWrite: NaN, iCost: -1, iSource: -1, iModel: -1 };
}

// Attribute names this reader knows, each with a code for the switch below. Names are first told apart
// by their length (an array index), so that an attribute of another name costs one length read and at
// most a few string compares, never a walk through every name (the hot path of the cost processor).
const REQ_MODEL = 1;
const RES_MODEL = 2;
const INPUT = 3;
const OUTPUT = 4;
const PROMPT = 5;
const COMPLETION = 6;
const TOTAL = 7;
const CACHE_READ = 8;
const CACHE_WRITE = 9;
const ALT_CACHE_READ = 10;
const ALT_CACHE_WRITE = 11;
const PROVIDER_NAME = 12;
const SYSTEM = 13;
const OPERATION = 14;
const COST = 15;
const COST_SOURCE = 16;
const COST_MODEL = 17;
const MODEL_NAME = 18;
const LLM_REQ_MODEL = 19;
const LLM_RES_MODEL = 20;
const LLM_PROVIDER = 21;
const LLM_SYSTEM = 22;
const OI_PROMPT = 23;
const OI_COMPLETION = 24;
const OI_CACHE_READ = 25;
const OI_CACHE_WRITE = 26;
const LLM_PROMPT = 27;
const LLM_COMPLETION = 28;
const LLM_CACHE_READ = 29;
const LLM_TOTAL = 30;
const LLM_REQUEST_TYPE = 31;
const SERVICE_NAME = 32;
const SERVER_ADDRESS = 33;

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
  ['llm.usage.prompt_tokens', LLM_PROMPT], // OpenLLMetry (older)
  ['llm.usage.completion_tokens', LLM_COMPLETION],
  ['llm.usage.cache_read_input_tokens', LLM_CACHE_READ],
  ['llm.usage.total_tokens', LLM_TOTAL],
  ['llm.token_count.total', LLM_TOTAL],
  ['llm.request.type', LLM_REQUEST_TYPE], // OpenLLMetry: chat, completion, embedding
  ['service.name', SERVICE_NAME],
  ['server.address', SERVER_ADDRESS],
]);

/** NAMES[n] / CODES[n]: the names of length n and their codes (dense: an empty list where none). */
const MAX_LEN = Math.max(...[...GENAI_CALL_KEYS.keys()].map((k) => k.length));
const NAMES: string[][] = Array.from({ length: MAX_LEN + 1 }, () => []);
const CODES: number[][] = Array.from({ length: MAX_LEN + 1 }, () => []);
for (const [name, code] of GENAI_CALL_KEYS) {
  NAMES[name.length]!.push(name);
  CODES[name.length]!.push(code);
}

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
  let spanService: string | undefined;
  let sawService = false;
  // where the attributes this processor writes already are (-1: absent, pushed without a scan)
  let iCost = -1;
  let iSource = -1;
  let iModel = -1;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    const k = kv.key;
    const len = k.length;
    if (len > MAX_LEN) continue;
    const names = NAMES[len]!;
    let code = 0;
    for (let j = 0; j < names.length; j++) {
      if (names[j] === k) {
        code = CODES[len]![j]!;
        break;
      }
    }
    switch (code) {
      case 0:
        break;
      case REQ_MODEL:
        reqModel = str(kv.value);
        break;
      case RES_MODEL:
        resModel = str(kv.value);
        break;
      case INPUT:
        input = num(kv.value);
        break;
      case OUTPUT:
        output = num(kv.value);
        break;
      case PROMPT:
        prompt = num(kv.value);
        break;
      case COMPLETION:
        completion = num(kv.value);
        break;
      case TOTAL: {
        // a name read ahead of others never erases their valid count with an invalid one of its own
        const v = num(kv.value);
        if (v >= 0 || !(total >= 0)) total = v;
        break;
      }
      case CACHE_READ:
        cacheRead = num(kv.value);
        break;
      case CACHE_WRITE:
        cacheWrite = num(kv.value);
        break;
      case ALT_CACHE_READ: {
        const v = num(kv.value);
        if (v >= 0 || !(altCacheRead >= 0)) altCacheRead = v;
        break;
      }
      case ALT_CACHE_WRITE: {
        const v = num(kv.value);
        if (v >= 0 || !(altCacheWrite >= 0)) altCacheWrite = v;
        break;
      }
      case PROVIDER_NAME:
        providerName = str(kv.value);
        break;
      case SYSTEM:
        system = str(kv.value);
        break;
      case OPERATION: {
        const v = str(kv.value);
        if (v !== undefined) operation = v;
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
        modelName = str(kv.value);
        break;
      case LLM_REQ_MODEL:
        llmReqModel = str(kv.value);
        break;
      case LLM_RES_MODEL:
        llmResModel = str(kv.value);
        break;
      case LLM_PROVIDER:
        llmProvider = str(kv.value);
        break;
      case LLM_SYSTEM:
        llmSystem ??= str(kv.value);
        break;
      case OI_PROMPT:
        oiPrompt = num(kv.value);
        break;
      case OI_COMPLETION:
        oiCompletion = num(kv.value);
        break;
      case OI_CACHE_READ:
      case LLM_CACHE_READ:
        if (!(altCacheRead >= 0)) altCacheRead = num(kv.value);
        break;
      case OI_CACHE_WRITE:
        if (!(altCacheWrite >= 0)) altCacheWrite = num(kv.value);
        break;
      case LLM_PROMPT:
        llmPrompt = num(kv.value);
        break;
      case LLM_COMPLETION:
        llmCompletion = num(kv.value);
        break;
      case LLM_TOTAL:
        if (!(total >= 0)) total = num(kv.value);
        break;
      case LLM_REQUEST_TYPE:
        operation ??= str(kv.value);
        break;
      case SERVICE_NAME:
        // the first service.name, as an attribute lookup (findString) sees it
        if (!sawService) {
          sawService = true;
          spanService = str(kv.value);
        }
        break;
      case SERVER_ADDRESS:
        address = str(kv.value);
        break;
    }
  }
  if (!(input >= 0)) input = prompt >= 0 ? prompt : llmPrompt >= 0 ? llmPrompt : oiPrompt;
  if (!(output >= 0)) output = completion >= 0 ? completion : llmCompletion >= 0 ? llmCompletion : oiCompletion;
  reqModel ||= llmReqModel || modelName;
  resModel ||= llmResModel;
  out.reqModel = reqModel;
  out.resModel = resModel;
  out.provider = providerName ?? llmProvider ?? system ?? llmSystem;
  out.address = address;
  out.operation = operation;
  out.spanService = spanService;
  out.input = input;
  out.output = output;
  out.total = total;
  out.cacheRead = cacheRead >= 0 ? cacheRead : altCacheRead;
  out.cacheWrite = cacheWrite >= 0 ? cacheWrite : altCacheWrite;
  out.iCost = iCost;
  out.iSource = iSource;
  out.iModel = iModel;
}
