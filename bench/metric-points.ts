/**
 * Cost per received metric point of the three processors that read metric streams (percentiles, cost,
 * alerts), on cumulative streams as most OpenTelemetry SDKs send them: 2,048 streams (8 services x 2
 * replicas x 16 routes/models x 8 status/token kinds) of an explicit-bucket latency histogram
 * (`http.server.request.duration`, 9 buckets) or of `gen_ai.client.token.usage`, each stream advancing
 * by a few observations per export. Each round builds a fresh 512-point batch (the build cost is
 * measured alone and printed beside, so that it can be taken out).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOOP_CONSUMER, type Processor } from '../src/component.ts';
import { AggregationTemporality, type Batch, type HistogramDataPoint, type KeyValue, type ResourceMetrics, emptyScope } from '../src/model.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import { configFor, testSettings } from '../test/helpers/index.ts';

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));

const BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000];
const SERVICES = 8;
const REPLICAS = 2;
const PER_RESOURCE = 128; // points per resource per batch
const BATCH = SERVICES * REPLICAS * PER_RESOURCE; // 2,048 points: every stream once per batch
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash'];

/** Cumulative state of every stream (advanced by each batch). */
interface StreamState {
  counts: number[];
  count: number;
  sum: number;
}

class StreamSource {
  private readonly state: StreamState[] = [];
  private round = 0;
  private readonly start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  private seed = 1;
  constructor(private readonly metric: 'latency' | 'tokens') {
    for (let i = 0; i < BATCH; i++) this.state.push({ counts: new Array<number>(BOUNDS.length + 1).fill(0), count: 0, sum: 0 });
  }
  private rnd(): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed / 0x7fffffff;
  }
  next(): Batch {
    const time = BigInt(Date.now()) * 1_000_000n + BigInt(this.round++);
    const resourceMetrics: ResourceMetrics[] = [];
    let k = 0;
    for (let s = 0; s < SERVICES; s++) {
      for (let r = 0; r < REPLICAS; r++) {
        const points: HistogramDataPoint[] = [];
        for (let p = 0; p < PER_RESOURCE; p++, k++) {
          const st = this.state[k]!;
          for (let n = 0; n < 3; n++) {
            const v = this.metric === 'latency' ? Math.exp(3 + 1.5 * this.rnd()) : Math.floor(50 + this.rnd() * 2000);
            let b = 0;
            while (b < BOUNDS.length && v > BOUNDS[b]!) b++;
            st.counts[b]!++;
            st.count++;
            st.sum += v;
          }
          const attributes: KeyValue[] =
            this.metric === 'latency'
              ? [
                  { key: 'http.request.method', value: 'GET' },
                  { key: 'http.response.status_code', value: BigInt(200 + (p % 8)) },
                  { key: 'http.route', value: `/r${p >> 3}` },
                ]
              : [
                  { key: 'gen_ai.operation.name', value: 'chat' },
                  { key: 'gen_ai.provider.name', value: 'openai' },
                  { key: 'gen_ai.request.model', value: `${MODELS[p % 4]}-${p >> 3}` },
                  { key: 'gen_ai.token.type', value: p % 8 < 4 ? 'input' : 'output' },
                ];
          points.push({
            attributes,
            startTimeUnixNano: this.start,
            timeUnixNano: time,
            count: st.count,
            sum: st.sum,
            bucketCounts: st.counts.slice(),
            explicitBounds: BOUNDS,
            exemplars: [],
            flags: 0,
          });
        }
        resourceMetrics.push({
          resource: {
            attributes: [
              { key: 'service.name', value: `svc-${s}` },
              { key: 'service.instance.id', value: `svc-${s}-${r}` },
            ],
            droppedAttributesCount: 0,
          },
          scopeMetrics: [
            {
              scope: emptyScope('bench'),
              metrics: [
                {
                  name: this.metric === 'latency' ? 'http.server.request.duration' : 'gen_ai.client.token.usage',
                  description: '',
                  unit: this.metric === 'latency' ? 'ms' : '{token}',
                  metadata: [],
                  data: { type: 'histogram', dataPoints: points, aggregationTemporality: AggregationTemporality.Cumulative },
                },
              ],
              schemaUrl: '',
            },
          ],
          schemaUrl: '',
        });
      }
    }
    return { resourceMetrics };
  }
}


/** ns per point of `work` over about `ms` of fresh batches, and ns per point of building them alone. */
async function measure(source: () => StreamSource, work: ((b: Batch) => Promise<void>) | undefined, ms: number): Promise<number> {
  const src = source();
  for (let i = 0; i < 5; i++) {
    const b = src.next();
    if (work) await work(b);
  }
  let points = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < until) {
    const b = src.next();
    if (work) await work(b);
    points += BATCH;
  }
  return Number(process.hrtime.bigint() - start) / points;
}

export async function run(): Promise<void> {
  const rows: [string, string][] = [];
  const build = await measure(() => new StreamSource('latency'), undefined, 1500);
  rows.push(['building the batch alone', `${build.toFixed(0)} ns/point`]);

  const pct = percentilesProcessorFactory.create(
    testSettings('processor', 'percentiles', { stateDir }),
    configFor(percentilesProcessorFactory, { window: '1h', dimensions: ['service.name', 'http.route'], metrics: ['http.server.request.duration'] }),
  ) as Processor;
  await pct.start({ reportFatal: () => {} });
  const p = await measure(() => new StreamSource('latency'), (b) => pct.process(b, NOOP_CONSUMER), 2500);
  rows.push(['percentiles, cumulative histogram', `${(p - build).toFixed(0)} ns/point`]);
  await pct.shutdown();

  const cost = costProcessorFactory.create(testSettings('processor', 'cost', { stateDir }), configFor(costProcessorFactory, {})) as Processor;
  await cost.start({ reportFatal: () => {} });
  const c = await measure(() => new StreamSource('tokens'), (b) => cost.process(b, NOOP_CONSUMER), 2500);
  rows.push(['cost, cumulative gen_ai.client.token.usage', `${(c - build).toFixed(0)} ns/point`]);
  await cost.shutdown();

  const alerts = alertsProcessorFactory.create(
    { ...testSettings('processor', 'alerts', { stateDir }), service: { componentIds: { receiver: [], processor: [], exporter: ['file/x'] }, pipelines: {} } },
    configFor(alertsProcessorFactory, {
      interval: '1h',
      rules: [{ name: 'SlowRoute', metric: 'http.server.request.duration', stat: 'p95', op: '>', threshold: 500, window: '5m', group_by: ['service.name'] }],
      routes: [{ exporters: ['file/x'] }],
    }),
  ) as Processor;
  await alerts.start({ reportFatal: () => {} });
  const a = await measure(() => new StreamSource('latency'), (b) => alerts.process(b, NOOP_CONSUMER), 2500);
  rows.push(['alerts ingest, cumulative histogram', `${(a - build).toFixed(0)} ns/point`]);
  await alerts.shutdown();

  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`| ${'measure'.padEnd(w0)} | ${'per point'.padStart(w1)} |`);
  console.log(`|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|`);
  for (const r of rows) console.log(`| ${r[0].padEnd(w0)} | ${r[1].padStart(w1)} |`);
  console.log(`load average: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
  fs.rmSync(stateDir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
