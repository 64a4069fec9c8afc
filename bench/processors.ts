/**
 * The percentiles and cost processors: nanoseconds per span for each alone, spans/s for
 * cost -> percentiles -> a discarding consumer, and memory at 100,000 live percentile series.
 *
 * Input: 512-span batches with GenAI attributes (20 models in the forms they arrive in, 4 services,
 * lognormal durations, cached tokens on a third of the calls), built at run time with spans ending now,
 * into a 1 h window (nothing is emitted or late mid-measurement): the number of series percentiles holds
 * after each run is printed, to show the spans were counted (issue 21 saw a replay of ~30 s old payloads
 * dropped as late, 0 series held, in bench/ingest.ts run 4). Memory is RSS beside the JS heap and the
 * array buffers (a Sketch's bucket counts are typed arrays, outside the heap when not tiny; a series'
 * packed store is a plain array in the heap: processors/percentiles/dist.ts), from before the first
 * batch to after the last, the batches built one at a time as they are sent.
 * Goals come from the README's benchmark table (bench/_goals.ts). The end-to-end figure, otlp -> cost ->
 * percentiles beside the intake without processors, is run 4 of bench/ingest.ts.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { type Consumer, NOOP_CONSUMER, type Processor } from '../src/component.ts';
import { type Batch, type KeyValue, type Span, StatusCode, emptyScope } from '../src/model.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import type { PercentilesProcessor } from '../processors/percentiles/percentiles-processor.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configFor, testSettings } from '../test/helpers/index.ts';
import { goalNumber } from './_goals.ts';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));

const MODELS = [
  'gpt-4o', 'openai/gpt-4o-mini', 'gpt-4.1-2025-04-14', 'gpt-5-mini', 'o4-mini', 'azure/gpt-4.1-nano',
  'claude-sonnet-4-5-20250929', 'us.anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-opus-4-1', 'anthropic.claude-3-haiku-20240307-v1:0',
  'gemini-2.5-pro', 'gemini-2.5-flash', 'vertex_ai/gemini-2.0-flash-001', 'mistral-large-latest', 'mistral/mistral-small-latest',
  'together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo', 'us.meta.llama3-3-70b-instruct-v1:0', 'deepseek-chat', 'us.amazon.nova-pro-v1:0', 'my-unknown-model',
];
/** The OTel gen_ai.provider.name each model is called through (a name with a routing prefix says it itself). */
function providerOf(model: string): string {
  if (/^(us\.|eu\.)?(anthropic|meta|amazon)\./.test(model)) return 'aws.bedrock';
  if (model.includes('claude')) return 'anthropic';
  if (model.startsWith('gemini')) return 'gcp.gemini';
  if (model.startsWith('vertex_ai/')) return 'gcp.vertex_ai';
  if (model.includes('mistral')) return 'mistral_ai';
  if (model.startsWith('together_ai/')) return 'together';
  if (model.startsWith('deepseek')) return 'deepseek';
  if (model.startsWith('azure/')) return 'azure.ai.openai';
  return 'openai';
}
const SERVICES = ['support-bot', 'search', 'checkout', 'summariser'];
const BATCH = 512;

function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeBatches(n: number, seed = 1, uniqueKey?: (i: number) => string): Batch[] {
  return [...batchStream(n, seed, uniqueKey)];
}

/** The batches of makeBatches one at a time (built as they are taken). */
function* batchStream(n: number, seed = 1, uniqueKey?: (i: number) => string): Generator<Batch> {
  // with a unique key (the memory run) every span of a key has the same service and status, so that
  // the number of series is the number of keys
  const r = rand(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const now = BigInt(Date.now()) * 1_000_000n;
  let k = 0;
  for (let b = 0; b < n; b++) {
    const bySvc = new Map<string, Span[]>();
    for (let i = 0; i < BATCH; i++, k++) {
      const svc = uniqueKey ? SERVICES[k % SERVICES.length]! : SERVICES[Math.floor(r() * SERVICES.length)]!;
      const model = MODELS[Math.floor(r() * MODELS.length)]!;
      const input = Math.floor(200 + r() * 4000);
      const attrs: KeyValue[] = [
        { key: 'gen_ai.operation.name', value: 'chat' },
        { key: 'gen_ai.provider.name', value: providerOf(model) },
        { key: 'gen_ai.request.model', value: model },
        { key: 'gen_ai.usage.input_tokens', value: BigInt(input) },
        { key: 'gen_ai.usage.output_tokens', value: BigInt(Math.floor(20 + r() * 800)) },
        { key: 'http.route', value: '/v1/chat' },
      ];
      if (r() < 0.33) attrs.push({ key: 'gen_ai.usage.cache_read.input_tokens', value: BigInt(Math.floor(input / 2)) });
      if (uniqueKey) attrs.push({ key: 'request.key', value: uniqueKey(k) });
      const durNs = BigInt(Math.round(Math.exp(6 + gauss()) * 1e6));
      const span: Span = {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        traceState: '',
        parentSpanId: '',
        flags: 0,
        name: 'chat',
        kind: 3,
        startTimeUnixNano: now - durNs,
        endTimeUnixNano: now,
        attributes: attrs,
        droppedAttributesCount: 0,
        events: [],
        droppedEventsCount: 0,
        links: [],
        droppedLinksCount: 0,
        status: { code: !uniqueKey && r() < 0.02 ? StatusCode.Error : StatusCode.Ok, message: '' },
      };
      let list = bySvc.get(svc);
      if (!list) bySvc.set(svc, (list = []));
      list.push(span);
    }
    yield {
      resourceSpans: [...bySvc].map(([svc, spans]) => ({
        resource: { attributes: [{ key: 'service.name', value: svc }], droppedAttributesCount: 0 },
        scopeSpans: [{ scope: emptyScope('bench'), spans, schemaUrl: '' }],
        schemaUrl: '',
      })),
    };
  }
}


function makeCost(): Processor {
  return costProcessorFactory.create(testSettings('processor', 'cost', { stateDir }), configFor(costProcessorFactory, { budgets: [{ name: 'daily', limit_usd: 1000, group_by: ['service.name'] }] })) as Processor;
}

function makePercentiles(extra: Record<string, unknown> = {}): Processor {
  return percentilesProcessorFactory.create(
    testSettings('processor', 'percentiles', { stateDir }),
    configFor(percentilesProcessorFactory, {
      window: '1h', // one window for the whole run: nothing is emitted or late mid-measurement
      dimensions: ['service.name', 'span.name', 'gen_ai.request.model'],
      span_attributes: ['gen_ai.usage.cost', 'gen_ai.usage.output_tokens'],
      ...extra,
    }),
  ) as Processor;
}

/**
 * Runs `batches` through `head` repeatedly for about `ms`; returns wall ns per span, spans/s, and CPU ns
 * per span (this process's user + system time: moved less than wall time by other work on a loaded machine).
 */
async function measure(head: (b: Batch) => Promise<void>, batches: Batch[], ms: number): Promise<{ nsPerSpan: number; spansPerSec: number; cpuNsPerSpan: number }> {
  // warm-up: one pass over every batch, so that the measured passes are alike (each span then carries
  // the cost attributes, overwritten in place; with a 20-batch warm-up the first pass, which appends
  // them to 44 of the 64 batches, fell inside the measurement, and under load it was much of it)
  for (const b of batches) await head(b);
  let spans = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let i = 0;
  while (process.hrtime.bigint() < until) {
    for (let j = 0; j < 10; j++) {
      await head(batches[i++ % batches.length]!);
      spans += BATCH;
    }
  }
  const ns = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpu0);
  return { nsPerSpan: ns / spans, spansPerSec: (spans / ns) * 1e9, cpuNsPerSpan: ((cpu.user + cpu.system) * 1000) / spans };
}

/** Memory after two full collections, MiB: RSS, JS heap used, array buffers (typed arrays' backing stores). */
function memoryMiB(gc: () => void): { rss: number; heap: number; heapTotal: number; arrayBuffers: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, heapTotal: m.heapTotal / 2 ** 20, arrayBuffers: m.arrayBuffers / 2 ** 20 };
}

export async function run(): Promise<void> {
  const batches = makeBatches(64);
  const discard: Consumer = NOOP_CONSUMER;
  const rows: [string, string, string][] = [];

  const cost = makeCost();
  await cost.start({ reportFatal: () => {} });
  const costAlone = await measure((b) => cost.process(b, discard), batches, 2000);
  rows.push(['cost alone', `${costAlone.nsPerSpan.toFixed(0)} ns/span (CPU ${costAlone.cpuNsPerSpan.toFixed(0)})`, `${Math.round(costAlone.spansPerSec).toLocaleString('en-US')} spans/s`]);

  const pct = makePercentiles();
  await pct.start({ reportFatal: () => {} });
  const pctAlone = await measure((b) => pct.process(b, discard), batches, 2000);
  const heldAlone = (pct as PercentilesProcessor).seriesHeld();
  rows.push([`percentiles alone (${heldAlone} series held)`, `${pctAlone.nsPerSpan.toFixed(0)} ns/span (CPU ${pctAlone.cpuNsPerSpan.toFixed(0)})`, `${Math.round(pctAlone.spansPerSec).toLocaleString('en-US')} spans/s`]);

  // a fresh percentiles processor for the chain, so the series it holds are the chain's own
  const pct2 = makePercentiles();
  await pct2.start({ reportFatal: () => {} });
  const toPct: Consumer = { consume: (b) => pct2.process(b, discard) };
  const chain = await measure((b) => cost.process(b, toPct), batches, 3000);
  const heldChain = (pct2 as PercentilesProcessor).seriesHeld();
  rows.push([`cost -> percentiles -> discard (${heldChain} series held)`, `${chain.nsPerSpan.toFixed(0)} ns/span (CPU ${chain.cpuNsPerSpan.toFixed(0)})`, `${Math.round(chain.spansPerSec).toLocaleString('en-US')} spans/s`]);
  await cost.shutdown();
  await pct.shutdown();
  await pct2.shutdown();

  // memory at 100,000 live series: a unique key per series, 8 spans per series (lognormal durations)
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const SERIES = 100_000;
  // the batches are built one at a time as they are sent (as requests arrive), so that what the series keep
  // of the input (their key strings, as a decoded request's strings would be) is counted and the input
  // itself is not
  const before = memoryMiB(gc);
  const big = makePercentiles({ dimensions: ['service.name', 'request.key'], span_attributes: [], max_series: 200_000 }) as PercentilesProcessor;
  for (const b of batchStream(Math.ceil((SERIES * 8) / BATCH), 7, (k) => `k${k % SERIES}`)) await big.process(b, discard);
  const after = memoryMiB(gc);
  const held = big.seriesHeld();
  const rssMiB = after.rss - before.rss;
  const heapMiB = after.heap - before.heap;
  const abMiB = after.arrayBuffers - before.arrayBuffers;
  const heapTotalMiB = after.heapTotal - before.heapTotal;
  const perSeries = (mib: number) => `${((mib * 2 ** 20) / held).toFixed(0)} B`;
  rows.push([
    `memory at ${held.toLocaleString('en-US')} live series (after GC): RSS / JS heap used / array buffers (heap total grew ${heapTotalMiB.toFixed(0)} MiB)`,
    `${rssMiB.toFixed(0)} / ${heapMiB.toFixed(0)} / ${abMiB.toFixed(0)} MiB`,
    `${perSeries(rssMiB)} / ${perSeries(heapMiB)} / ${perSeries(abMiB)} a series`,
  ]);
  await big.shutdown();

  const header: [string, string, string] = ['measure', 'per span / total', 'rate'];
  const w = [0, 1, 2].map((c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r[0]!.padEnd(w[0]!)} | ${r[1]!.padStart(w[1]!)} | ${r[2]!.padStart(w[2]!)} |`;
  console.log(line(header));
  console.log(`|${'-'.repeat(w[0]! + 2)}|${'-'.repeat(w[1]! + 2)}|${'-'.repeat(w[2]! + 2)}|`);
  for (const r of rows) console.log(line(r));
  const goals = {
    costNs: goalNumber('cost / percentiles processors alone', /cost alone <= ([\d,]+) ns/),
    chainSpans: goalNumber('cost / percentiles processors alone', /chained >= ([\d,]+) spans\/s/),
    memMiB: goalNumber('percentiles at 100,000 live series', /RSS < (\d+) MiB/),
  };
  const verdict = (ok: boolean) => (ok ? 'meets' : 'MISSES');
  console.log(
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; goals (README): cost alone ${costAlone.nsPerSpan.toFixed(0)} ns/span wall (<= ${goals.costNs}: ${verdict(costAlone.nsPerSpan <= goals.costNs)}; CPU ${costAlone.cpuNsPerSpan.toFixed(0)}: ${verdict(costAlone.cpuNsPerSpan <= goals.costNs)}); ` +
      `chain ${Math.round(chain.spansPerSec).toLocaleString('en-US')} spans/s wall (>= ${goals.chainSpans.toLocaleString('en-US')}: ${verdict(chain.spansPerSec >= goals.chainSpans)}; ` +
      `${Math.round(1e9 / chain.cpuNsPerSpan).toLocaleString('en-US')} per CPU-second: ${verdict(1e9 / chain.cpuNsPerSpan >= goals.chainSpans)}); ` +
      `RSS growth at ${held.toLocaleString('en-US')} series ${rssMiB.toFixed(0)} MiB (< ${goals.memMiB}: ${verdict(rssMiB < goals.memMiB)}), heap ${heapMiB.toFixed(0)} MiB beside it`,
  );
  fs.rmSync(stateDir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
