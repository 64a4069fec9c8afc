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
  /** service.name set on the span itself (undefined: the resource's). */
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
  // where the attributes this processor writes already are (-1: absent, pushed without a scan)
  let iCost = -1;
  let iSource = -1;
  let iModel = -1;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    const k = kv.key;
    const c0 = k.charCodeAt(0);
    if (c0 === 103 /* g */) {
      switch (k) {
        case 'gen_ai.request.model':
          reqModel = str(kv.value);
          break;
        case 'gen_ai.response.model':
          resModel = str(kv.value);
          break;
        case 'gen_ai.usage.input_tokens':
          input = num(kv.value);
          break;
        case 'gen_ai.usage.output_tokens':
          output = num(kv.value);
          break;
        case 'gen_ai.usage.prompt_tokens':
          prompt = num(kv.value);
          break;
        case 'gen_ai.usage.completion_tokens':
          completion = num(kv.value);
          break;
        case 'gen_ai.usage.total_tokens':
          total = num(kv.value);
          break;
        case 'gen_ai.usage.cache_read.input_tokens':
          cacheRead = num(kv.value);
          break;
        case 'gen_ai.usage.cache_creation.input_tokens':
          cacheWrite = num(kv.value);
          break;
        case 'gen_ai.usage.cache_read_input_tokens': // OpenLLMetry
          altCacheRead = num(kv.value);
          break;
        case 'gen_ai.usage.cache_creation_input_tokens': // OpenLLMetry
          altCacheWrite = num(kv.value);
          break;
        case 'gen_ai.provider.name':
          providerName = str(kv.value);
          break;
        case 'gen_ai.system':
          system = str(kv.value);
          break;
        case 'gen_ai.operation.name':
          operation = str(kv.value);
          break;
        case 'gen_ai.usage.cost':
          if (iCost < 0) iCost = i;
          break;
        case 'gen_ai.usage.cost.source':
          if (iSource < 0) iSource = i;
          break;
        case 'gen_ai.usage.cost.model':
          if (iModel < 0) iModel = i;
          break;
      }
    } else if (c0 === 108 /* l */) {
      switch (k) {
        case 'llm.model_name': // OpenInference
          modelName = str(kv.value);
          break;
        case 'llm.request.model': // OpenLLMetry (older)
          llmReqModel = str(kv.value);
          break;
        case 'llm.response.model':
          llmResModel = str(kv.value);
          break;
        case 'llm.provider': // OpenInference
          llmProvider = str(kv.value);
          break;
        case 'llm.system': // OpenInference
        case 'llm.vendor': // Traceloop (older)
          llmSystem ??= str(kv.value);
          break;
        case 'llm.token_count.prompt': // OpenInference
          oiPrompt = num(kv.value);
          break;
        case 'llm.token_count.completion':
          oiCompletion = num(kv.value);
          break;
        case 'llm.token_count.prompt_details.cache_read':
          if (!(altCacheRead >= 0)) altCacheRead = num(kv.value);
          break;
        case 'llm.token_count.prompt_details.cache_write':
          if (!(altCacheWrite >= 0)) altCacheWrite = num(kv.value);
          break;
        case 'llm.usage.prompt_tokens': // OpenLLMetry (older)
          llmPrompt = num(kv.value);
          break;
        case 'llm.usage.completion_tokens':
          llmCompletion = num(kv.value);
          break;
        case 'llm.usage.cache_read_input_tokens':
          if (!(altCacheRead >= 0)) altCacheRead = num(kv.value);
          break;
        case 'llm.usage.total_tokens':
        case 'llm.token_count.total':
          if (!(total >= 0)) total = num(kv.value);
          break;
        case 'llm.request.type': // OpenLLMetry: chat, completion, embedding
          operation ??= str(kv.value);
          break;
      }
    } else if (c0 === 115 /* s */) {
      if (k === 'service.name') spanService = str(kv.value);
      else if (k === 'server.address') address = str(kv.value);
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
