/**
 * One test over every registered factory (the Collector's generated_component_test): its default (or
 * example) config validates; create then shutdown without start; start then shutdown twice. And every
 * declared capability holds: a processor that does not declare `mutatesData` leaves the batch it is given
 * as it was; what a processor emits on its own is of the signals it declares it `derives`; an exporter that
 * takes alerts (its `alertCapabilities`) accepts a notification.
 */
import { describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { type Exporter, type Processor, exporterCapabilities } from '../src/component.ts';
import { type Batch, countItems, SIGNALS } from '../src/model.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { SinkConsumer, configFor, testSettings } from './helpers/index.ts';
import { attrs, resourceSpans, span } from './percentiles-helpers.ts';

const host = { reportFatal: () => {} };

const factories = await components.all();

describe.each(factories.map((f) => [`${f.kind} ${f.type}`, f] as const))('%s', (_name, factory) => {
  it('has a valid default or example config', () => {
    expect(() => configFor(factory, factory.example ?? {})).not.toThrow();
  });

  it('declares what it handles', () => {
    expect(factory.signals.length).toBeGreaterThan(0);
    expect(['receiver', 'processor', 'exporter']).toContain(factory.kind);
  });

  it('can be created and shut down without start', async () => {
    const c = factory.create(testSettings(factory.kind, factory.type), configFor(factory, factory.example ?? {}));
    await c.shutdown();
    await c.shutdown();
  });

  it('starts, then shuts down twice', async () => {
    const sink = new SinkConsumer();
    const c = factory.create(testSettings(factory.kind, factory.type, { emit: sink }), configFor(factory, factory.example ?? {}));
    await c.start(host);
    if (factory.kind === 'processor') await (c as Processor).process({}, sink);
    if (factory.kind === 'exporter') await (c as Exporter).consume({});
    await c.shutdown();
    await c.shutdown();
  });
});

/** A batch of what real services send: GenAI spans (one failed), and a cumulative sum and histogram. */
function realisticBatch(): Batch {
  const now = Date.now();
  const genAi = attrs({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 });
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;
  const point = { attributes: attrs({ route: '/chat' }), startTimeUnixNano: ns(now - 60_000), timeUnixNano: ns(now), flags: 0, exemplars: [] };
  return {
    resourceSpans: [resourceSpans('support-bot', [span(now, 120, { name: 'chat gpt-4o', attributes: genAi }), span(now, 900, { name: 'chat gpt-4o', status: 2, attributes: genAi })])],
    resourceMetrics: [
      {
        resource: { attributes: attrs({ 'service.name': 'support-bot' }), droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeMetrics: [
          {
            scope: { name: 'app', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            metrics: [
              { name: 'requests', description: '', unit: '1', metadata: [], data: { type: 'sum', aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ ...point, value: 42 }] } },
              {
                name: 'http.server.request.duration',
                description: '',
                unit: 's',
                metadata: [],
                data: { type: 'histogram', aggregationTemporality: 2, dataPoints: [{ ...point, count: 3, sum: 0.6, bucketCounts: [1, 2, 0], explicitBounds: [0.1, 0.5], min: 0.05, max: 0.3 }] },
              },
            ],
          },
        ],
      },
    ],
  } as unknown as Batch;
}

/** A JSON image of a batch (bigints as strings), to compare before and after. */
const image = (b: Batch) => JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

describe.each(factories.filter((f) => f.kind === 'processor').map((f) => [f.type, f] as const))('processor %s keeps its declared capabilities', (_type, factory) => {
  it(factory.capabilities?.mutatesData ? 'declares mutatesData (the graph copies batches for it)' : 'leaves the batch it is given unchanged (it does not declare mutatesData)', async () => {
    const emitted = new SinkConsumer();
    const next = new SinkConsumer();
    const c = factory.create(testSettings('processor', factory.type, { emit: emitted }), configFor(factory, factory.example ?? {})) as Processor;
    await c.start(host);
    const batch = realisticBatch();
    const before = image(batch);
    await c.process(batch, next);
    if (!factory.capabilities?.mutatesData) expect(image(batch)).toBe(before);
    await c.shutdown();
    // what it derived on its own (windows flushed at shutdown) is of the signals it declares
    const derives = new Set(factory.capabilities?.derives ?? []);
    for (const b of emitted.batches) {
      const n = countItems(b);
      for (const s of SIGNALS) if (n[s] > 0) expect(derives.has(s), `${factory.type} emitted ${s} without declaring it derives ${s}`).toBe(true);
    }
  });
});

describe.each(factories.filter((f) => f.kind === 'exporter').map((f) => [f.type, f] as const))('exporter %s keeps its declared capabilities', (type, factory) => {
  const config = configFor(factory, factory.example ?? {});
  const caps = exporterCapabilities(factory, config);
  it.skipIf(!caps.takesAlerts)('takes an alert notification routed to it', async () => {
    const c = factory.create(testSettings('exporter', type), config) as Exporter;
    await c.start(host);
    await expect(c.consume({ alerts: [makeNotification([type], { alerts: [makeAlert({ alertname: 'Conformance', severity: 'warning' })] })] })).resolves.toBeUndefined();
    await c.shutdown();
  });
  it('declares alert capabilities that agree with its signals', () => {
    if (caps.takesAlerts) expect(factory.signals).toContain('alerts');
    if (caps.keepsSilencedResolves) expect(caps.takesAlerts).toBe(true);
  });
  // an Alertmanager integration's send_resolved decides what it is notified of (notify.go DedupStage), so
  // an exporter with that key tells the alerts processor, which decides what each exporter is sent
  it.skipIf(typeof (config as Record<string, unknown>).send_resolved !== 'boolean')('declares its send_resolved as sendsResolved', () => {
    expect(caps.sendsResolved).toBe(true);
    expect(exporterCapabilities(factory, { ...(config as object), send_resolved: false }).sendsResolved).toBe(false);
  });
});
