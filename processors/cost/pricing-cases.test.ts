/**
 * Real calls, in the name forms and attribute dialects instrumentations emit, priced end to end through
 * the cost processor with the built-in table (the LiteLLM snapshot of 2026-07-24). Each case gives the
 * model as sent, the provider attributes, the tokens, the expected USD (or "unpriced" with the reason)
 * and the public source of the price. Unless said otherwise a case is 1M input + 1M output tokens, so
 * the USD is the sum of the two list prices per 1M tokens; models with a 200k long-context tier get
 * 100k + 100k (a tenth of that sum) unless the case is about the tier.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { type Batch, type Span, getAttr } from '../../src/model.ts';
import { SpanDecodePlan, decodeExportRequest, encodeExportRequest } from '../../src/otlp/proto.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../test/helpers/index.ts';
import { attrs, counterValue, resourceSpans, span } from '../../test/percentiles-helpers.ts';
import type { CostProcessor } from './cost-processor.ts';
import { costProcessorFactory as factory } from './index.ts';

type Attrs = Record<string, string | number>;
/** [what, span attributes (model, provider, tokens in any dialect), expected USD or the unpriced reason, source] */
type Case = [string, Attrs, number | `unpriced:${string}`, string];

const M = 1_000_000;
/** Models with a long-context tier (LiteLLM *_above_200k_tokens) are given 100k + 100k tokens, below it. */
const K100 = 100_000;
/** The OTel GenAI (current) names for a call of `input` + `output` tokens. */
const otel = (model: string, provider: string | undefined, input = M, output = M, more: Attrs = {}): Attrs => ({
  'gen_ai.request.model': model,
  ...(provider ? { 'gen_ai.provider.name': provider } : {}),
  'gen_ai.usage.input_tokens': input,
  'gen_ai.usage.output_tokens': output,
  ...more,
});

/** A Vercel AI SDK span (ai.* telemetry) of operation `op` for `model` from provider `provider`. */
const VERCEL_DO = (op: string, model: string, provider: string, usage: Attrs): Attrs => ({ 'ai.operationId': op, 'operation.name': `${op} my-function`, 'ai.model.id': model, 'ai.model.provider': provider, ...usage });
const OPENAI = 'OpenAI API pricing, openai.com/api/pricing';
const ANTHROPIC = 'Anthropic pricing, docs.anthropic.com/en/docs/about-claude/pricing';
const BEDROCK = 'Amazon Bedrock pricing, aws.amazon.com/bedrock/pricing (geo cross-region profiles +10% from Claude Sonnet 4.5 on; LiteLLM us./eu./jp./au. entries)';
const GEMINI = 'Gemini API pricing, ai.google.dev/gemini-api/docs/pricing';
const VERTEX = 'Vertex AI generative AI pricing, cloud.google.com/vertex-ai/generative-ai/pricing (LiteLLM vertex_ai-language-models entry)';
const MISTRAL = 'Mistral pricing, mistral.ai/pricing (LiteLLM mistral/ entries)';
const LITELLM_TEST = "LiteLLM's own cost tests (tests/test_litellm, test_completion_cost.py) for the same model and provider";
const LANGFUSE = 'Langfuse default model match pattern (langfuse/langfuse packages/shared default-model-prices)';
const ISSUE = 'issue 14, "What was seen"';
const DASHSCOPE = 'Alibaba Model Studio pricing, help.aliyun.com/zh/model-studio/billing-for-model-studio (LiteLLM dashscope/ entries, output_cost_per_reasoning_token)';
const PERPLEXITY = 'Perplexity pricing, docs.perplexity.ai/getting-started/pricing (LiteLLM perplexity/ entries)';
const LITELLM_PERPLEXITY = "LiteLLM's llms/perplexity/cost_calculator.py (completion_tokens at the output price, plus reasoning_tokens at output_cost_per_reasoning_token)";
const XAI = 'xAI API pricing, docs.x.ai/docs/models (LiteLLM xai/ entries)';
const LITELLM_XAI = "LiteLLM's llms/xai/cost_calculator.py (completion_tokens + reasoning_tokens at the output price)";
const LITELLM_STEPS = "LiteLLM tiered_pricing (select_tier_for_input: range_start < input <= range_end, every token of the call at that range's rates)";
const LITELLM_REASONING = "LiteLLM's cost calculator (litellm_core_utils/llm_cost_calc/utils.py generic_cost_per_token, llms/dashscope/cost_calculator.py)";

const cases: Case[] = [
  // ---------------------------------------------------------------------------------------- OpenAI
  ['gpt-4o, openai', otel('gpt-4o', 'openai'), 12.5, OPENAI],
  ['gpt-4o-2024-05-13 is not gpt-4o ($5/$15)', otel('gpt-4o-2024-05-13', 'openai'), 20, `${OPENAI}; ${ISSUE}`],
  ['gpt-4o-2024-08-06', otel('gpt-4o-2024-08-06', 'openai'), 12.5, OPENAI],
  ['gpt-4o-mini', otel('gpt-4o-mini', 'openai'), 0.75, OPENAI],
  ['response model wins: gpt-4o-mini-2024-07-18', otel('gpt-4o', 'openai', M, M, { 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18' }), 0.75, OPENAI],
  ['openai/gpt-4o (routing prefix, no provider attribute)', { 'gen_ai.request.model': 'openai/gpt-4o', 'gen_ai.usage.input_tokens': M, 'gen_ai.usage.output_tokens': M }, 12.5, `${LANGFUSE}: (?i)^(openai\\/)?(gpt-4o)$`],
  ['GPT-4o (any case)', otel('GPT-4o', undefined), 12.5, LANGFUSE],
  ['gpt-4.1', otel('gpt-4.1', 'openai'), 10, OPENAI],
  ['gpt-4.1-mini-2025-04-14', otel('gpt-4.1-mini-2025-04-14', 'openai'), 2, OPENAI],
  ['o3-mini', otel('o3-mini', 'openai'), 5.5, OPENAI],
  ['o1', otel('o1', 'openai'), 75, OPENAI],
  ['gpt-3.5-turbo-0125', otel('gpt-3.5-turbo-0125', 'openai'), 2, OPENAI],
  ['gpt-4o, 1M input of which 500k cached ($1.25)', otel('gpt-4o', 'openai', M, 0, { 'gen_ai.usage.cache_read.input_tokens': 500_000 }), 0.5 * 2.5 + 0.5 * 1.25, OPENAI],
  ['OpenAI fine-tuned gpt-4.1-mini (ft:<base>:<org>:<suffix>:<id>)', otel('ft:gpt-4.1-mini-2025-04-14:acme::B1x2y3z4', 'openai'), 0.8 + 3.2, 'OpenAI pricing, fine-tuning models (LiteLLM ft:gpt-4.1-mini-2025-04-14)'],
  ['fine-tuned model behind a LiteLLM routing prefix (openai/ft:...)', { 'gen_ai.request.model': 'openai/ft:gpt-4o-mini-2024-07-18:acme:support:9xYz1', 'gen_ai.usage.input_tokens': M, 'gen_ai.usage.output_tokens': M }, 0.3 + 1.2, 'OpenAI pricing, fine-tuning models (LiteLLM ft:gpt-4o-mini-2024-07-18)'],
  // service tiers (OTel GenAI OpenAI conventions: openai.response.service_tier, openai.request.service_tier):
  // LiteLLM *_flex / *_priority prices, a price a tier does not give being the standard one
  ['gpt-5 on the flex tier ($0.625/$5)', otel('gpt-5', 'openai', M, M, { 'openai.response.service_tier': 'flex' }), 0.625 + 5, `${OPENAI} (Flex processing; LiteLLM gpt-5 input/output_cost_per_token_flex)`],
  [
    'gpt-5 requested on the priority tier ($2.50/$20, cache read $0.25): 1M input of which 500k cached',
    otel('gpt-5', 'openai', M, M, { 'openai.request.service_tier': 'priority', 'gen_ai.usage.cache_read.input_tokens': 500_000 }),
    0.5 * 2.5 + 0.5 * 0.25 + 20,
    `${OPENAI} (Priority processing; LiteLLM gpt-5 *_priority)`,
  ],
  ['gpt-5 requested flex, served on the default tier: standard prices', otel('gpt-5', 'openai', M, M, { 'openai.request.service_tier': 'flex', 'openai.response.service_tier': 'default' }), 1.25 + 10, OPENAI],
  ['o3 on flex, deprecated gen_ai.openai.request.service_tier ($1/$4)', otel('o3', 'openai', M, M, { 'gen_ai.openai.request.service_tier': 'flex' }), 1 + 4, `${OPENAI} (LiteLLM o3 *_flex)`],
  ['gpt-4o on priority ($4.25/$17)', otel('gpt-4o', 'openai', M, M, { 'openai.response.service_tier': 'priority' }), 4.25 + 17, `${OPENAI} (LiteLLM gpt-4o *_priority)`],
  ['gpt-4o on the scale tier (no price of its own): standard', otel('gpt-4o', 'openai', M, M, { 'openai.response.service_tier': 'scale' }), 12.5, OPENAI],
  [
    'gpt-5.4 on priority with 300k input, above the 272k tier (no priority price above it: the tier price, $5)',
    otel('gpt-5.4', 'openai', 300_000, 0, { 'openai.response.service_tier': 'priority' }),
    0.3 * 5,
    `${OPENAI}; LiteLLM gpt-5.4 input_cost_per_token_above_272k_tokens (generic_cost_per_token: the threshold price wins)`,
  ],
  ['text-embedding-3-small (embeddings)', otel('text-embedding-3-small', 'openai', M, 0, { 'gen_ai.operation.name': 'embeddings' }), 0.02, OPENAI],
  ['OpenAI SDK aimed at DeepSeek (server.address wins over gen_ai.system=openai)', otel('deepseek-chat', undefined, M, M, { 'gen_ai.system': 'openai', 'server.address': 'api.deepseek.com' }), 0.7, 'DeepSeek API pricing, api-docs.deepseek.com/quick_start/pricing'],
  // ----------------------------------------------------------------------------------------- Azure
  ['gpt-4o on Azure OpenAI (az.ai.openai)', otel('gpt-4o', undefined, M, M, { 'gen_ai.system': 'az.ai.openai' }), 12.5, 'Azure OpenAI pricing (LiteLLM azure/gpt-4o)'],
  ['Azure deployment name, response model gpt-4o-2024-11-20', otel('prod-gpt4o', 'azure.ai.openai', M, M, { 'gen_ai.response.model': 'gpt-4o-2024-11-20' }), 13.75, 'Azure OpenAI regional price (LiteLLM azure/gpt-4o-2024-11-20: $2.75/$11)'],
  ['gpt-4o-mini via *.openai.azure.com with gen_ai.system=openai', otel('gpt-4o-mini', undefined, M, M, { 'gen_ai.system': 'openai', 'server.address': 'contoso.openai.azure.com' }), 0.825, 'Azure OpenAI regional price (LiteLLM azure/gpt-4o-mini: $0.165/$0.66)'],
  // ------------------------------------------------------------------------------------- Anthropic
  ['claude-sonnet-4-5-20250929', otel('claude-sonnet-4-5-20250929', 'anthropic', K100, K100), 1.8, ANTHROPIC],
  ['claude-sonnet-4-5 (alias)', otel('claude-sonnet-4-5', 'anthropic', K100, K100), 1.8, ANTHROPIC],
  ['claude-opus-4-1-20250805', otel('claude-opus-4-1-20250805', 'anthropic'), 90, ANTHROPIC],
  ['claude-3-7-sonnet-20250219', otel('claude-3-7-sonnet-20250219', 'anthropic'), 18, ANTHROPIC],
  ['claude-haiku-4-5-20251001', otel('claude-haiku-4-5-20251001', 'anthropic'), 6, ANTHROPIC],
  ['claude-3-haiku-20240307', otel('claude-3-haiku-20240307', 'anthropic'), 1.5, ANTHROPIC],
  ['claude-sonnet-4 above 200k input: every token at $6 (300k input)', otel('claude-sonnet-4-20250514', 'anthropic', 300_000, 0), 1.8, `${ANTHROPIC} (long context); ${ISSUE}`],
  ['claude-sonnet-4 above 200k: output at $22.5 too', otel('claude-sonnet-4-20250514', 'anthropic', 300_000, 10_000), 1.8 + 0.225, `${ANTHROPIC} (long context)`],
  ['claude-sonnet-4 at 150k input: base rates', otel('claude-sonnet-4-20250514', 'anthropic', 150_000, 10_000), 0.45 + 0.15, ANTHROPIC],
  [
    'claude-sonnet-4-5 cache: 100k input = 80k read + 10k write + 10k fresh',
    otel('claude-sonnet-4-5', 'anthropic', K100, 0, { 'gen_ai.usage.cache_read.input_tokens': 80_000, 'gen_ai.usage.cache_creation.input_tokens': 10_000 }),
    0.03 + 0.024 + 0.0375,
    `${ANTHROPIC} (prompt caching: write 1.25x, read 0.1x)`,
  ],
  [
    'OpenLLMetry: gen_ai.system=Anthropic, prompt/completion tokens, cache_read_input_tokens',
    { 'gen_ai.system': 'Anthropic', 'gen_ai.request.model': 'claude-3-7-sonnet-20250219', 'gen_ai.usage.prompt_tokens': M, 'gen_ai.usage.completion_tokens': 0, 'gen_ai.usage.cache_read_input_tokens': 500_000 },
    1.5 + 0.15,
    ANTHROPIC,
  ],
  [
    'OpenLLMetry (older): llm.usage.cache_read/cache_creation_input_tokens, each at its own rate',
    { 'gen_ai.system': 'Anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5', 'llm.usage.prompt_tokens': K100, 'llm.usage.completion_tokens': 0, 'llm.usage.cache_read_input_tokens': 50_000, 'llm.usage.cache_creation_input_tokens': 40_000 },
    0.03 + 0.015 + 0.15,
    `${ANTHROPIC} (prompt caching: write 1.25x, read 0.1x)`,
  ],
  // --------------------------------------------------------------------------------------- Bedrock
  ['anthropic.claude-3-5-sonnet-20241022-v2:0', otel('anthropic.claude-3-5-sonnet-20241022-v2:0', 'aws.bedrock', K100, K100), 1.8, `${BEDROCK}; ${LANGFUSE}`],
  ['claude-3-5-sonnet-20241022 sent to Bedrock (Anthropic name form)', otel('claude-3-5-sonnet-20241022', 'aws.bedrock', K100, K100), 1.8, BEDROCK],
  ['us. profile of Claude Sonnet 4.5: +10%', otel('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100), 1.98, `${BEDROCK}; ${ISSUE}`],
  ['eu. profile of Claude Haiku 4.5: +10%', otel('eu.anthropic.claude-haiku-4-5-20251001-v1:0', 'aws.bedrock'), 6.6, BEDROCK],
  ['jp. profile of Claude Sonnet 4.6: +10%', otel('jp.anthropic.claude-sonnet-4-6', 'aws.bedrock'), 19.8, BEDROCK],
  ['au. profile of Claude Sonnet 4.5: +10%', otel('au.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100), 1.98, BEDROCK],
  ['apac. profile (no apac. entry): priced as the other geo profiles', otel('apac.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100), 1.98, BEDROCK],
  [
    "us. profile of Claude Sonnet 4.5 requested, the response naming the model alone (the Anthropic body's \"model\"): billed as the profile, +10%",
    otel('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100, { 'gen_ai.response.model': 'claude-sonnet-4-5-20250929' }),
    1.98,
    BEDROCK,
  ],
  [
    'inference-profile ARN of an eu. profile requested, the response naming the base model id: the profile price',
    otel('arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0', 'aws.bedrock', M, M, { 'gen_ai.response.model': 'anthropic.claude-haiku-4-5-20251001-v1:0' }),
    6.6,
    BEDROCK,
  ],
  ['global. profile of Claude Sonnet 4.5: base price', otel('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100), 1.8, BEDROCK],
  ['bedrock/us.anthropic.claude-sonnet-4-6 (LiteLLM routing prefix, no provider attribute)', { 'gen_ai.request.model': 'bedrock/us.anthropic.claude-sonnet-4-6', 'gen_ai.usage.input_tokens': M, 'gen_ai.usage.output_tokens': M }, 19.8, `${BEDROCK}; ${ISSUE}`],
  ['anthropic.claude-3-haiku-20240307-v1:0', otel('anthropic.claude-3-haiku-20240307-v1:0', 'aws.bedrock'), 1.5, `${BEDROCK}; ${LANGFUSE}`],
  ['us. profile of Claude 3.7 Sonnet: no surcharge', otel('us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'aws.bedrock'), 18, BEDROCK],
  ['Llama 3 70B in eu-west-1 (region from server.address)', otel('meta.llama3-70b-instruct-v1:0', 'aws.bedrock', M, M, { 'server.address': 'bedrock-runtime.eu-west-1.amazonaws.com' }), 2.86 + 3.78, `${BEDROCK} (eu-west-1)`],
  ['Llama 3 70B, no region: us-east-1 on-demand', otel('meta.llama3-70b-instruct-v1:0', 'aws.bedrock'), 2.65 + 3.5, BEDROCK],
  ['foundation-model ARN: the region in the ARN (eu-west-1) picks the price', otel('arn:aws:bedrock:eu-west-1::foundation-model/meta.llama3-70b-instruct-v1:0', 'aws.bedrock'), 2.86 + 3.78, `${BEDROCK} (eu-west-1); AWS Bedrock ARN format`],
  ['GovCloud foundation-model ARN: the GovCloud price', otel('arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0', undefined, K100, K100), 0.36 + 1.8, `${BEDROCK} (AWS GovCloud, LiteLLM bedrock/us-gov-west-1/...)`],
  ['inference-profile ARN of a us. profile: the geo profile price', otel('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'aws.bedrock', K100, K100), 1.98, BEDROCK],
  ['application-inference-profile ARN: an opaque id, unpriced', otel('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3', 'aws.bedrock'), 'unpriced:no_price', 'the ARN names no model'],
  ['amazon.nova-pro-v1:0', otel('amazon.nova-pro-v1:0', 'aws.bedrock'), 4, BEDROCK],
  ['us.amazon.nova-micro-v1:0', otel('us.amazon.nova-micro-v1:0', 'aws.bedrock'), 0.175, BEDROCK],
  [
    'OpenInference: llm.provider=aws, llm.model_name, llm.token_count.prompt/completion',
    { 'llm.provider': 'aws', 'llm.model_name': 'anthropic.claude-3-5-haiku-20241022-v1:0', 'llm.token_count.prompt': M, 'llm.token_count.completion': M, 'openinference.span.kind': 'LLM' },
    4.8,
    BEDROCK,
  ],
  // ---------------------------------------------------------------------------------------- Google
  ['gemini-2.0-flash-001 on the Gemini API (gcp.gemini)', otel('gemini-2.0-flash-001', 'gcp.gemini'), 0.5, `${GEMINI}; ${ISSUE}`],
  ['gemini-2.0-flash-001 on Vertex AI', otel('gemini-2.0-flash-001', 'gcp.vertex_ai'), 0.75, `${VERTEX}; ${LITELLM_TEST}`],
  ['gemini-2.5-pro above 200k: every input token at $2.50 (250k)', otel('gemini-2.5-pro', 'gcp.gemini', 250_000, 0), 0.625, `${GEMINI}; ${ISSUE}`],
  ['gemini-2.5-pro below 200k', otel('gemini-2.5-pro', 'gcp.gemini', 100_000, 10_000), 0.125 + 0.1, GEMINI],
  ['gemini-2.5-flash', otel('gemini-2.5-flash', 'gcp.gemini'), 2.8, GEMINI],
  ['models/gemini-2.5-flash via generativelanguage.googleapis.com', otel('models/gemini-2.5-flash', undefined, M, M, { 'server.address': 'generativelanguage.googleapis.com' }), 2.8, GEMINI],
  ['gemini-2.0-flash, provider "google" (Gemini API and Vertex agree)', otel('gemini-2.0-flash', undefined, M, M, { 'gen_ai.system': 'google' }), 0.5, `${GEMINI}; ${VERTEX}`],
  ['gemini-2.0-flash-001, provider "google": Gemini API $0.10 or Vertex $0.15, ambiguous', otel('gemini-2.0-flash-001', undefined, M, M, { 'gen_ai.system': 'google' }), 'unpriced:ambiguous', `${GEMINI}; ${VERTEX}`],
  ['claude-sonnet-4-5@20250929 on Vertex AI', otel('claude-sonnet-4-5@20250929', 'gcp.vertex_ai', K100, K100), 1.8, `Vertex AI partner models pricing; ${LANGFUSE}`],
  // --------------------------------------------------------------------------------------- Mistral
  ['mistral-large-latest (mistral_ai) is not Azure AI\'s mistral-large', otel('mistral-large-latest', 'mistral_ai'), 2, `${MISTRAL}; ${ISSUE}`],
  ['mistral-medium-2505 is not mistral-medium-latest', otel('mistral-medium-2505', 'mistral_ai'), 2.4, `${MISTRAL}; ${ISSUE}`],
  ['mistral-small-latest', otel('mistral-small-latest', 'mistral_ai'), 0.24, MISTRAL],
  ['mistral-large-latest without a provider: ambiguous', otel('mistral-large-latest', undefined), 'unpriced:ambiguous', `${MISTRAL}; Azure's azure/mistral-large-latest is $8/$24`],
  // -------------------------------------------------------------------------------------- DeepSeek
  ['deepseek-chat on DeepSeek', otel('deepseek-chat', 'deepseek'), 0.7, 'DeepSeek API pricing, api-docs.deepseek.com/quick_start/pricing'],
  ['deepseek/deepseek-chat via OpenRouter is OpenRouter\'s price', otel('deepseek/deepseek-chat', 'openrouter'), 0.42, `OpenRouter model page (LiteLLM openrouter/deepseek/deepseek-chat); ${ISSUE}`],
  ['deepseek/deepseek-chat from an OpenAI-compatible client, no endpoint: LiteLLM route ($0.28) or OpenRouter ($0.14), ambiguous', otel('deepseek/deepseek-chat', undefined, M, M, { 'gen_ai.system': 'openai' }), 'unpriced:ambiguous', ISSUE],
  ['deepseek-v3 (no such key; -v3 is part of the name)', otel('deepseek-v3', undefined), 'unpriced:ambiguous', ISSUE],
  // ------------------------------------------------------------------------------ Groq, Together, xAI
  ['llama3-70b-8192 on Groq: never Ollama\'s $0', otel('llama3-70b-8192', 'groq'), 'unpriced:no_price', ISSUE],
  ['llama-3.3-70b-versatile on Groq', otel('llama-3.3-70b-versatile', 'groq'), 0.59 + 0.79, 'Groq pricing, groq.com/pricing'],
  ['groq/llama-3.1-8b-instant (routing prefix)', otel('groq/llama-3.1-8b-instant', undefined), 0.05 + 0.08, 'Groq pricing, groq.com/pricing'],
  ['Together: meta-llama/Llama-3.3-70B-Instruct-Turbo', otel('meta-llama/Llama-3.3-70B-Instruct-Turbo', undefined, M, M, { 'gen_ai.system': 'together' }), 1.76, `Together AI pricing, together.ai/pricing; ${ISSUE}`],
  ['Together by server.address api.together.xyz', otel('meta-llama/Llama-3.3-70B-Instruct-Turbo', undefined, M, M, { 'server.address': 'api.together.xyz' }), 1.76, 'Together AI pricing, together.ai/pricing'],
  ['the same name with no provider: ambiguous (DeepInfra is $0.13/$0.39)', otel('meta-llama/Llama-3.3-70B-Instruct-Turbo', undefined), 'unpriced:ambiguous', ISSUE],
  ['grok-3 on xAI (x_ai)', otel('grok-3', 'x_ai'), 18, 'xAI API pricing, docs.x.ai/docs/models'],
  ['OpenRouter: anthropic/claude-3.5-sonnet by server.address', otel('anthropic/claude-3.5-sonnet', undefined, M, M, { 'gen_ai.system': 'openai', 'server.address': 'openrouter.ai' }), 18, 'OpenRouter model page (LiteLLM openrouter/anthropic/claude-3.5-sonnet)'],
  ['command-r-plus on Cohere', otel('command-r-plus', 'cohere'), 12.5, 'Cohere pricing, cohere.com/pricing'],
  // --------------------------------------------------------------------------------------- dialects
  [
    'OpenInference: llm.provider=openai, llm.model_name, llm.token_count.*',
    { 'llm.provider': 'openai', 'llm.system': 'openai', 'llm.model_name': 'gpt-4o-mini', 'llm.token_count.prompt': M, 'llm.token_count.completion': M, 'llm.token_count.total': 2 * M },
    0.75,
    OPENAI,
  ],
  [
    'OpenInference: prompt_details.cache_read',
    { 'llm.provider': 'anthropic', 'llm.model_name': 'claude-sonnet-4-5', 'llm.token_count.prompt': K100, 'llm.token_count.completion': 0, 'llm.token_count.prompt_details.cache_read': K100 },
    0.03,
    ANTHROPIC,
  ],
  ['OpenLLMetry (older): llm.request.model, llm.usage.prompt/completion_tokens, llm.vendor', { 'llm.vendor': 'openai', 'llm.request.model': 'gpt-4o', 'llm.usage.prompt_tokens': M, 'llm.usage.completion_tokens': M }, 12.5, OPENAI],
  ['deprecated gen_ai.usage.prompt_tokens/completion_tokens + gen_ai.system', { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.prompt_tokens': M, 'gen_ai.usage.completion_tokens': M }, 12.5, OPENAI],
  ['Vercel AI SDK: gen_ai.system=anthropic.messages', otel('claude-3-7-sonnet-20250219', undefined, M, M, { 'gen_ai.system': 'anthropic.messages' }), 18, ANTHROPIC],
  ['Vercel AI SDK: gen_ai.system=google.vertex.chat', otel('gemini-2.0-flash-001', undefined, M, M, { 'gen_ai.system': 'google.vertex.chat' }), 0.75, VERTEX],
  // Vercel AI SDK telemetry (ai.* attributes; sdk.vercel.ai/docs/ai-sdk-core/telemetry): v4 promptTokens /
  // completionTokens, v5 inputTokens / outputTokens / cachedInputTokens / reasoningTokens, on the provider call's span
  ['Vercel AI SDK v4 doGenerate span, ai.* only: gpt-4o-mini via openai.chat', VERCEL_DO('ai.generateText.doGenerate', 'gpt-4o-mini', 'openai.chat', { 'ai.usage.promptTokens': M, 'ai.usage.completionTokens': M }), 0.15 + 0.6, OPENAI],
  [
    'Vercel AI SDK v5 doStream span: claude-sonnet-4-5 via anthropic.messages, ai.response.model dated',
    VERCEL_DO('ai.streamText.doStream', 'claude-sonnet-4-5', 'anthropic.messages', { 'ai.usage.inputTokens': K100, 'ai.usage.outputTokens': 10_000, 'ai.response.model': 'claude-sonnet-4-5-20250929' }),
    0.1 * 3 + 0.01 * 15,
    ANTHROPIC,
  ],
  [
    'Vercel AI SDK v5: o3-mini via openai.responses, 1M input of which 400k cached, 1M output of which 600k reasoning ($1.10/$0.55/$4.40)',
    VERCEL_DO('ai.generateText.doGenerate', 'o3-mini', 'openai.responses', { 'ai.usage.inputTokens': M, 'ai.usage.outputTokens': M, 'ai.usage.cachedInputTokens': 400_000, 'ai.usage.reasoningTokens': 600_000, 'ai.usage.totalTokens': 2 * M }),
    0.6 * 1.1 + 0.4 * 0.55 + 4.4,
    `${OPENAI} (LiteLLM o3-mini)`,
  ],
  [
    "Vercel AI SDK v5: claude-sonnet-4-5 via anthropic.messages, inputTokens 5,000 (Anthropic's input_tokens, without the cache) + cachedInputTokens 20,000",
    VERCEL_DO('ai.generateText.doGenerate', 'claude-sonnet-4-5', 'anthropic.messages', { 'ai.usage.inputTokens': 5000, 'ai.usage.outputTokens': 1000, 'ai.usage.totalTokens': 6000, 'ai.usage.cachedInputTokens': 20_000 }),
    (5000 * 3 + 20_000 * 0.3 + 1000 * 15) / M,
    `${ANTHROPIC}; @ai-sdk/anthropic v2 (inputTokens: usage.input_tokens, cachedInputTokens: usage.cache_read_input_tokens)`,
  ],
  [
    'Vercel AI SDK v5: the same with 50,000 input tokens and 20,000 cached beside them (fewer cached than input: still beside)',
    VERCEL_DO('ai.streamText.doStream', 'claude-sonnet-4-5', 'anthropic.messages', { 'ai.usage.inputTokens': 50_000, 'ai.usage.outputTokens': 1000, 'ai.usage.cachedInputTokens': 20_000 }),
    (50_000 * 3 + 20_000 * 0.3 + 1000 * 15) / M,
    `${ANTHROPIC}; @ai-sdk/anthropic v2`,
  ],
  ['Vercel AI SDK embed: ai.usage.tokens of text-embedding-3-small', VERCEL_DO('ai.embed.doEmbed', 'text-embedding-3-small', 'openai.embedding', { 'ai.usage.tokens': M }), 0.02, OPENAI],
  ['Vercel AI SDK amazon-bedrock, no ai.operationId', { 'ai.model.id': 'anthropic.claude-3-haiku-20240307-v1:0', 'ai.model.provider': 'amazon-bedrock', 'ai.usage.promptTokens': M, 'ai.usage.completionTokens': M }, 1.5, BEDROCK],
  // Langfuse SDKs (langfuse.observation.model.name, langfuse.observation.usage_details: a JSON object whose kinds
  // do not overlap, each priced apart: langfuse.com/docs/observability/features/token-and-cost-tracking)
  [
    'Langfuse: gpt-4o, usage_details {"input": 600, "input_cached_tokens": 400, "output": 500}',
    { 'langfuse.observation.type': 'generation', 'langfuse.observation.model.name': 'gpt-4o', 'langfuse.observation.usage_details': '{"input": 600, "input_cached_tokens": 400, "output": 500, "total": 1500}' },
    (600 * 2.5 + 400 * 1.25 + 500 * 10) / M,
    OPENAI,
  ],
  [
    'Langfuse: claude-sonnet-4-5 (provider from gen_ai.system), cache read and creation beside the input, reasoning beside the output',
    { 'gen_ai.system': 'anthropic', 'langfuse.observation.model.name': 'claude-sonnet-4-5', 'langfuse.observation.usage_details': '{"input": 5000, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 1000, "output": 300, "output_reasoning_tokens": 200}' },
    (5000 * 3 + 2000 * 0.3 + 1000 * 3.75 + 500 * 15) / M,
    `${ANTHROPIC} (prompt caching: write 1.25x, read 0.1x)`,
  ],
  ['Langfuse: a negative count in usage_details is invalid: unpriced', { 'langfuse.observation.model.name': 'gpt-4o', 'langfuse.observation.usage_details': '{"input": -5, "output": 10}' }, 'unpriced:invalid_tokens', 'OTel GenAI semantic conventions: token counts are int >= 0'],
  // audio tokens (parts of the prompt and completion tokens, OpenAI prompt/completion_tokens_details.audio_tokens;
  // OpenInference llm.token_count.prompt_details.audio / completion_details.audio) at LiteLLM's
  // input_cost_per_audio_token / output_cost_per_audio_token (generic_cost_per_token)
  [
    'OpenInference: gpt-4o-audio-preview, 1,000 prompt of which 600 audio ($40), 500 completion of which 400 audio ($80)',
    { 'llm.provider': 'openai', 'llm.model_name': 'gpt-4o-audio-preview', 'llm.token_count.prompt': 1000, 'llm.token_count.prompt_details.audio': 600, 'llm.token_count.completion': 500, 'llm.token_count.completion_details.audio': 400 },
    (400 * 2.5 + 600 * 40 + 100 * 10 + 400 * 80) / M,
    `${OPENAI} (audio tokens; LiteLLM gpt-4o-audio-preview input/output_cost_per_audio_token)`,
  ],
  [
    'OpenInference: gemini-2.0-flash on the Gemini API, 10,000 prompt of which 8,000 audio ($0.70), 1,000 completion',
    { 'llm.provider': 'google', 'llm.system': 'gemini', 'server.address': 'generativelanguage.googleapis.com', 'llm.model_name': 'gemini-2.0-flash', 'llm.token_count.prompt': 10_000, 'llm.token_count.prompt_details.audio': 8000, 'llm.token_count.completion': 1000 },
    (2000 * 0.1 + 8000 * 0.7 + 1000 * 0.4) / M,
    `${GEMINI} (audio input; LiteLLM gemini/gemini-2.0-flash input_cost_per_audio_token)`,
  ],
  [
    'Langfuse: gpt-4o-mini-audio-preview, usage_details with input_audio_tokens and output_audio_tokens beside input and output',
    { 'gen_ai.system': 'openai', 'langfuse.observation.model.name': 'gpt-4o-mini-audio-preview', 'langfuse.observation.usage_details': '{"input": 100, "input_audio_tokens": 900, "output": 50, "output_audio_tokens": 450}' },
    (100 * 0.15 + 900 * 10 + 50 * 0.6 + 450 * 20) / M,
    `${OPENAI} (LiteLLM gpt-4o-mini-audio-preview)`,
  ],
  // Sentry SDKs' AI spans (develop.sentry.dev, AI agents module: gen_ai.usage.input_tokens.cached and
  // .cache_write are parts of the input tokens, gen_ai.usage.output_tokens.reasoning a part of the output tokens)
  [
    'Sentry: claude-sonnet-4-5, 100k input = 80k gen_ai.usage.input_tokens.cached + 10k .cache_write + 10k fresh',
    otel('claude-sonnet-4-5', 'anthropic', K100, 0, { 'gen_ai.usage.input_tokens.cached': 80_000, 'gen_ai.usage.input_tokens.cache_write': 10_000 }),
    0.03 + 0.024 + 0.0375,
    `${ANTHROPIC} (prompt caching: write 1.25x, read 0.1x)`,
  ],
  [
    'Sentry: qwen-plus on DashScope, 1M output of which 600k gen_ai.usage.output_tokens.reasoning ($4)',
    otel('qwen-plus-2025-04-28', 'dashscope', M, M, { 'gen_ai.usage.output_tokens.reasoning': 600_000 }),
    0.4 + 0.4 * 1.2 + 0.6 * 4,
    `${DASHSCOPE}; ${LITELLM_REASONING}`,
  ],
  ['string token counts', otel('gpt-4o', 'openai', M, M, { 'gen_ai.usage.input_tokens': '1000000', 'gen_ai.usage.output_tokens': '1000000' }), 12.5, OPENAI],
  // ---------------------------------------------------------------------------- reasoning tokens
  // Reasoning tokens are part of the output tokens (OTel GenAI semconv: output_tokens "including reasoning
  // tokens"); LiteLLM prices the rest of the output at the output rate and the reasoning at
  // output_cost_per_reasoning_token where the model has one (generic_cost_per_token, dashscope cost_calculator)
  [
    'qwen-plus on DashScope ($0.4/$1.2, reasoning $4): 1M input, 1M output of which 600k reasoning (OTel)',
    otel('qwen-plus-2025-04-28', 'dashscope', M, M, { 'gen_ai.usage.reasoning.output_tokens': 600_000 }),
    0.4 + 0.4 * 1.2 + 0.6 * 4,
    `${DASHSCOPE}; ${LITELLM_REASONING}`,
  ],
  [
    'qwen-turbo via dashscope-intl.aliyuncs.com ($0.05/$0.2, reasoning $0.5): OpenLLMetry gen_ai.usage.reasoning_tokens',
    { 'gen_ai.system': 'openai', 'server.address': 'dashscope-intl.aliyuncs.com', 'gen_ai.request.model': 'qwen-turbo', 'gen_ai.usage.prompt_tokens': M, 'gen_ai.usage.completion_tokens': M, 'gen_ai.usage.reasoning_tokens': 250_000 },
    0.05 + 0.75 * 0.2 + 0.25 * 0.5,
    `${DASHSCOPE}; ${LITELLM_REASONING}`,
  ],
  // Perplexity's usage counts reasoning_tokens beside completion_tokens, not among them: LiteLLM's Perplexity
  // calculator prices the completion whole and the reasoning on top at output_cost_per_reasoning_token (none: $0)
  // step pricing (LiteLLM tiered_pricing: the call's input tokens select one range, start < input <= end, and every
  // token of the call is at its rates; litellm_core_utils/llm_cost_calc/tiered_pricing.py, dashscope cost_calculator.py)
  ['qwen-flash on DashScope, 300k input (256k-1M range: $0.25/$2) + 10k output', otel('qwen-flash', 'dashscope', 300_000, 10_000), (300_000 * 0.25 + 10_000 * 2) / M, `${DASHSCOPE}; ${LITELLM_STEPS}`],
  ['qwen-flash, exactly 256k input: still the first range ($0.05)', otel('qwen-flash', 'dashscope', 256_000, 0), (256_000 * 0.05) / M, `${DASHSCOPE}; ${LITELLM_STEPS}`],
  ['qwen3-max via dashscope-intl.aliyuncs.com, 50k input (32k-128k: $2.4/$12) + 10k output', otel('qwen3-max', undefined, 50_000, 10_000, { 'gen_ai.system': 'openai', 'server.address': 'dashscope-intl.aliyuncs.com' }), (50_000 * 2.4 + 10_000 * 12) / M, `${DASHSCOPE}; ${LITELLM_STEPS}`],
  [
    'qwen-plus-latest, 100k input + 20k output of which 5k reasoning (first range: $0.4/$1.2, reasoning $4)',
    otel('qwen-plus-latest', 'dashscope', 100_000, 20_000, { 'gen_ai.usage.reasoning.output_tokens': 5000 }),
    (100_000 * 0.4 + 15_000 * 1.2 + 5000 * 4) / M,
    `${DASHSCOPE}; ${LITELLM_STEPS}`,
  ],
  [
    'qwen-plus-latest, 300k input + 20k output of which 5k reasoning (256k-1M: $1.2/$3.6, reasoning $12)',
    otel('qwen-plus-latest', 'dashscope', 300_000, 20_000, { 'gen_ai.usage.reasoning.output_tokens': 5000 }),
    (300_000 * 1.2 + 15_000 * 3.6 + 5000 * 12) / M,
    `${DASHSCOPE}; ${LITELLM_STEPS}`,
  ],
  [
    "qwen3-coder-plus, 40k input of which 10k cached + 1k output (32k-128k: $1.8/$9, the range's cache read $0.18)",
    otel('qwen3-coder-plus', 'dashscope', 40_000, 1000, { 'gen_ai.usage.cache_read.input_tokens': 10_000 }),
    (30_000 * 1.8 + 10_000 * 0.18 + 1000 * 9) / M,
    `${DASHSCOPE}; ${LITELLM_STEPS}`,
  ],
  ['doubao-seed-2-0-pro-260215 on Volcengine, 20k input + 2k output (first range: $0.46/$2.3)', otel('volcengine/doubao-seed-2-0-pro-260215', undefined, 20_000, 2000), (20_000 * 0.46 + 2000 * 2.3) / M, `Volcengine Ark pricing (LiteLLM volcengine/doubao-seed-2-0-pro-260215 tiered_pricing); ${LITELLM_STEPS}`],
  [
    'perplexity/sonar-deep-research ($2/$8, reasoning $3): OpenInference llm.token_count.completion_details.reasoning',
    { 'llm.provider': 'perplexity', 'llm.model_name': 'sonar-deep-research', 'llm.token_count.prompt': M, 'llm.token_count.completion': M, 'llm.token_count.completion_details.reasoning': 400_000 },
    2 + 8 + 0.4 * 3,
    `${PERPLEXITY}; ${LITELLM_PERPLEXITY}`,
  ],
  [
    'sonar-deep-research via api.perplexity.ai, a real usage (12 prompt, 3,200 completion, 75,000 reasoning tokens)',
    { 'gen_ai.system': 'openai', 'server.address': 'api.perplexity.ai', 'gen_ai.request.model': 'sonar-deep-research', 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 3200, 'gen_ai.usage.reasoning_tokens': 75_000 },
    (12 * 2 + 3200 * 8 + 75_000 * 3) / M,
    `${PERPLEXITY} (usage of a sonar-deep-research answer); ${LITELLM_PERPLEXITY}`,
  ],
  [
    'perplexity/sonar-reasoning-pro ($2/$8, no reasoning price): the completion whole, reasoning tokens beside it not billed',
    otel('perplexity/sonar-reasoning-pro', undefined, M, M, { 'gen_ai.usage.reasoning.output_tokens': 500_000 }),
    2 + 8,
    `${PERPLEXITY}; ${LITELLM_PERPLEXITY}`,
  ],
  [
    'Perplexity through the Vercel AI Gateway (OpenAI-style usage: reasoning among the output)',
    otel('vercel_ai_gateway/perplexity/sonar-reasoning-pro', undefined, M, M, { 'gen_ai.usage.reasoning.output_tokens': 500_000 }),
    2 + 8,
    `LiteLLM vercel_ai_gateway/perplexity/sonar-reasoning-pro; ${LITELLM_REASONING}`,
  ],
  // xAI's usage counts reasoning_tokens beside completion_tokens (docs.x.ai, consumption and rate limits: "counted
  // separately from completion_tokens, but ... in the total_tokens"); LiteLLM's xai cost_calculator.py bills
  // completion + reasoning at the output price. grok-3-mini: $0.30 in, $0.075 cached, $0.50 out (LiteLLM xai/grok-3-mini)
  [
    'grok-3-mini via api.x.ai, a real usage (10,120 prompt of which 128 cached, 1,499 completion, 2,809 reasoning beside it)',
    { 'gen_ai.system': 'openai', 'server.address': 'api.x.ai', 'gen_ai.request.model': 'grok-3-mini', 'gen_ai.usage.input_tokens': 10_120, 'gen_ai.usage.output_tokens': 1499, 'gen_ai.usage.reasoning_tokens': 2809, 'gen_ai.usage.cache_read_input_tokens': 128 },
    ((10_120 - 128) * 0.3 + 128 * 0.075 + (1499 + 2809) * 0.5) / M,
    `${XAI}; ${LITELLM_XAI}`,
  ],
  [
    'grok-3-mini (x_ai) with its total (10,120 + 1,499 + 2,809 = 14,428): reasoning beside the output',
    otel('grok-3-mini', 'x_ai', 10_120, 1499, { 'gen_ai.usage.reasoning.output_tokens': 2809, 'gen_ai.usage.total_tokens': 14_428 }),
    (10_120 * 0.3 + (1499 + 2809) * 0.5) / M,
    `${XAI}; ${LITELLM_XAI}`,
  ],
  [
    'grok-3-mini whose output already holds the reasoning (the total says so: 13 + 387 = 400; Vercel AI SDK xAI provider)',
    otel('grok-3-mini', 'x_ai', 13, 387, { 'gen_ai.usage.reasoning.output_tokens': 386, 'gen_ai.usage.total_tokens': 400 }),
    (13 * 0.3 + 387 * 0.5) / M,
    `${XAI}; vercel/ai pull request 12425 (outputTokens = completion + reasoning)`,
  ],
  [
    "gemini-2.5-flash ($0.30/$2.50) with thoughts beside the candidates, as Gemini's usage_metadata counts them (total 1,000 + 100 + 900)",
    otel('gemini-2.5-flash', 'gcp.gemini', 1000, 100, { 'gen_ai.usage.reasoning.output_tokens': 900, 'gen_ai.usage.total_tokens': 2000 }),
    (1000 * 0.3 + (100 + 900) * 2.5) / M,
    `${GEMINI} (output price including thinking tokens); Gemini API usageMetadata: totalTokenCount = prompt + candidates + thoughts`,
  ],
  [
    "claude-sonnet-4-5 with Anthropic's own usage copied as is and its total (5,000 uncached + 2,000 cache read + 100 output = 7,100)",
    otel('claude-sonnet-4-5', 'anthropic', 5000, 100, { 'gen_ai.usage.cache_read.input_tokens': 2000, 'gen_ai.usage.total_tokens': 7100 }),
    (5000 * 3 + 2000 * 0.3 + 100 * 15) / M,
    `${ANTHROPIC} (input_tokens exclude cache reads; cache read 0.1x)`,
  ],
  ['o3-mini (no reasoning price): reasoning at the output rate, counted once', otel('o3-mini', 'openai', M, M, { 'gen_ai.usage.reasoning.output_tokens': 700_000 }), 5.5, `${OPENAI}; ${LITELLM_REASONING}`],
  [
    'reasoning above the output count (not a part of it): the output is all reasoning, priced once at its rate',
    otel('qwen-plus-2025-04-28', 'dashscope', 0, 100_000, { 'gen_ai.usage.reasoning.output_tokens': 300_000 }),
    0.3 * 4,
    `${LITELLM_REASONING} (text = max(0, completion - reasoning))`,
  ],
  [
    'a reasoning count written in another form than a decimal integer ("1e3") is invalid: unpriced, no count made up',
    otel('qwen-plus-2025-04-28', 'dashscope', 0, M, { 'gen_ai.usage.reasoning.output_tokens': '1e3' }),
    'unpriced:invalid_tokens',
    DASHSCOPE,
  ],
  [
    'a negative reasoning count (-5) is invalid: unpriced, never priced as if it were 0',
    otel('qwen-plus-2025-04-28', 'dashscope', 0, M, { 'gen_ai.usage.reasoning.output_tokens': '1e3', 'gen_ai.usage.reasoning_tokens': -5 }),
    'unpriced:invalid_tokens',
    'OTel GenAI semantic conventions: token counts are int >= 0',
  ],
  ['a fractional input count (12.5) is invalid: unpriced', otel('gpt-4o', 'openai', 12.5, M), 'unpriced:invalid_tokens', 'OTel GenAI semantic conventions: gen_ai.usage.input_tokens is an int'],
  ['an integral double (12.0) is a count', otel('gpt-4o', 'openai', 12.0, M), (12 * 2.5) / M + 10, OPENAI],
  // --------------------------------------------------------------------------------- unpriceable
  ['only llm.usage.total_tokens', { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'llm.usage.total_tokens': 2 * M }, 'unpriced:only_total_tokens', 'input and output are priced differently'],
  ['tokens but no model', { 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': M }, 'unpriced:no_model', 'nothing to look up'],
  ['a model but no tokens', { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.operation.name': 'chat' }, 'unpriced:no_tokens', 'nothing to price'],
  ['Ollama (LiteLLM lists it at $0): unpriced, never a silent $0', otel('llama3:70b', 'ollama'), 'unpriced:no_price', ISSUE],
  ['an unknown model', otel('acme-llm-9000', 'openai'), 'unpriced:no_price', 'not in the table'],
];

const telemetry = new ServiceTelemetry();
const dirs: string[] = [];
afterAll(async () => {
  await telemetry.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function make(raw: Record<string, unknown> = {}): CostProcessor {
  const stateDir = tempDir();
  dirs.push(stateDir);
  const settings = testSettings('processor', 'cost', { emit: new SinkConsumer(), stateDir, telemetry: telemetry.forComponent('processor', 'cost'), logger: createLogger('error') });
  return factory.create(settings, configFor(factory, raw)) as CostProcessor;
}

async function priceOne(proc: CostProcessor, a: Attrs): Promise<Span> {
  const next = new SinkConsumer();
  await proc.process({ resourceSpans: [resourceSpans('svc', [span(Date.now(), 1000, { attributes: attrs(a) })])] }, next);
  return next.spans[0]!;
}

describe('pricing real calls (table-driven, public sources)', () => {
  const proc = make();
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });
  for (const [what, a, expected, source] of cases) {
    it(`${what} -> ${typeof expected === 'number' ? `$${expected}` : expected} (${source})`, async () => {
      const before = typeof expected === 'string' ? await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', reason: expected.slice(9) }) : 0;
      const s = await priceOne(proc, a);
      const cost = getAttr(s.attributes, 'gen_ai.usage.cost');
      if (typeof expected === 'number') {
        expect({ source: getAttr(s.attributes, 'gen_ai.usage.cost.source'), model: getAttr(s.attributes, 'gen_ai.usage.cost.model') }).toMatchObject({ source: 'table' });
        expect(cost as number).toBeCloseTo(expected, 9);
      } else {
        expect(cost).toBeUndefined();
        expect(getAttr(s.attributes, 'gen_ai.usage.cost.source')).toBe('unpriced');
        const after = await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost', reason: expected.slice(9) });
        expect(after - before).toBe(1);
      }
    });
  }

  it('prices every case the same from a span decoded with only what it reads of it (spanReads)', async () => {
    const plan = new SpanDecodePlan(proc.spanReads);
    const costOf = (s: Span) => ['gen_ai.usage.cost', 'gen_ai.usage.cost.source', 'gen_ai.usage.cost.model'].map((k) => getAttr(s.attributes, k));
    let built = 0;
    for (const [, a] of cases) {
      // what instrumentations send beside the call: attributes no component of a derived-metrics pipeline reads
      const noisy = { 'gen_ai.response.id': 'chatcmpl-Bx1', 'client.address': '10.1.2.3', 'http.response.status_code': 200, ...a };
      const bytes = encodeExportRequest({ resourceSpans: [resourceSpans('svc', [span(Date.now(), 1000, { attributes: attrs(noisy) })])] }, 'traces');
      const full = decodeExportRequest('traces', bytes);
      const slim = decodeExportRequest('traces', bytes, undefined, undefined, plan);
      built += slim.resourceSpans![0]!.scopeSpans[0]!.spans[0]!.attributes.length;
      const priced = async (b: Batch) => {
        const next = new SinkConsumer();
        await proc.process(b, next);
        return costOf(next.spans[0]!);
      };
      expect(await priced(slim)).toEqual(await priced(full));
    }
    // the noise was left out
    expect(built).toBeLessThanOrEqual(cases.reduce((n, [, a]) => n + Object.keys(a).length, 0));
  });

  it('Vercel AI SDK: the ai.generateText span around the provider calls is not priced again (its usage is their sum)', async () => {
    const own = make();
    const usage = { 'ai.usage.promptTokens': M, 'ai.usage.completionTokens': M };
    const before = await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost' });
    const inner = await priceOne(own, VERCEL_DO('ai.generateText.doGenerate', 'gpt-4o-mini', 'openai.chat', usage));
    const outer = await priceOne(own, VERCEL_DO('ai.generateText', 'gpt-4o-mini', 'openai.chat', usage));
    expect(getAttr(inner.attributes, 'gen_ai.usage.cost')).toBeCloseTo(0.75, 9);
    expect([getAttr(outer.attributes, 'gen_ai.usage.cost'), getAttr(outer.attributes, 'gen_ai.usage.cost.source')]).toEqual([undefined, undefined]);
    expect(await counterValue(telemetry, 'vigil_processor_llm_unpriced_calls', { processor: 'cost' })).toBe(before);
  });

  it('a streamed call whose usage comes on its last event (not on the span) is priced from that event, once', async () => {
    const own = make();
    const withEvents = async (a: Attrs, events: Attrs[]): Promise<Span> => {
      const sp = span(Date.now(), 1000, { attributes: attrs(a) });
      sp.events = events.map((e, i) => ({ timeUnixNano: BigInt(i + 1), name: i === events.length - 1 ? 'gen_ai.usage' : 'gen_ai.choice', attributes: attrs(e), droppedAttributesCount: 0 }));
      const next = new SinkConsumer();
      await own.process({ resourceSpans: [resourceSpans('svc', [sp])] }, next);
      return next.spans[0]!;
    };
    const cost = (x: Span) => [getAttr(x.attributes, 'gen_ai.usage.cost'), getAttr(x.attributes, 'gen_ai.usage.cost.model')];
    // gpt-4o ($2.50/$10): 1,000 input of which 400 cached ($1.25), 500 output on the last chunk's event
    const last = { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500, 'gen_ai.usage.cache_read.input_tokens': 400 };
    const want = (600 * 2.5 + 400 * 1.25 + 500 * 10) / M;
    const a = await withEvents({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' }, [{ 'gen_ai.event.content': 'Hel' }, { 'gen_ai.event.content': 'lo' }, last]);
    expect(cost(a)[0] as number).toBeCloseTo(want, 12);
    expect(cost(a)[1]).toBe('gpt-4o');
    // the model and provider on the event too (nothing on the span but its name)
    const b = await withEvents({}, [{ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai', ...last }]);
    expect(cost(b)[0] as number).toBeCloseTo(want, 12);
    // counts on the span and on an event: the span's, never both
    const c = await withEvents({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500 }, [last]);
    expect(cost(c)[0] as number).toBeCloseTo((1000 * 2.5 + 500 * 10) / M, 12);
  });

  it("a $0 price is used only when the user's own prices: say so", async () => {
    const own = make({ prices: [{ model: 'llama3:70b', input: 0, output: 0 }] });
    const s = await priceOne(own, otel('llama3:70b', 'ollama'));
    expect(getAttr(s.attributes, 'gen_ai.usage.cost')).toBe(0);
    expect(getAttr(s.attributes, 'gen_ai.usage.cost.source')).toBe('table');
    expect(getAttr(s.attributes, 'gen_ai.usage.cost.model')).toBe('llama3:70b');
  });
});
