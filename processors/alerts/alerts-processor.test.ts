import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import { SinkConsumer, configFor, tempDir, testSettings } from '../../test/helpers/index.ts';
import { alertsProcessorFactory } from './index.ts';
import type { AlertsProcessor } from './alerts-processor.ts';
import { externalUrlOf } from './alert-engine.ts';
import { batchOf, gauge } from './testdata/batches.ts';
import { startAlertsProcessor } from './testdata/queue-backlog.ts';
import type { Batch } from '../../src/model.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('alerts processor', () => {
  it('passes batches on unchanged and evaluates on its own timer every interval', async () => {
    const { proc, emitted } = await startAlertsProcessor(dirs, {
      interval: '10s',
      rules: [{ name: 'Budget', metric: 'llm.budget.utilization', where: { budget: 'daily' }, stat: 'last', op: '>=', threshold: 0.8, annotations: { summary: '{{ value | humanizePercentage }} spent' } }],
      route_defaults: { group_wait: '0s' },
    });
    const next = new SinkConsumer();
    const batch = batchOf([gauge('llm.budget.utilization', { budget: 'daily' }, 0.85, Date.now())]);
    await proc.process(batch, next);
    expect(next.batches).toEqual([batch]);
    expect(emitted.alerts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(10_000);
    // no routes: the exporters of the pipelines that list the processor
    expect(emitted.alerts.map((n) => [n.exporters, n.alerts[0]!.annotations.summary])).toEqual([[['webhook/ops'], '85% spent']]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(emitted.alerts).toHaveLength(1); // not repeated inside repeat_interval
    await proc.shutdown();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(emitted.alerts).toHaveLength(1);
  });

  it('shutdown is safe without start and idempotent', async () => {
    const proc = alertsProcessorFactory.create(testSettings('processor', 'alerts'), configFor(alertsProcessorFactory, {}));
    await proc.shutdown();
    await proc.shutdown();
  });

  it('malformed metrics never throw out of process', async () => {
    const proc = alertsProcessorFactory.create(testSettings('processor', 'alerts'), configFor(alertsProcessorFactory, { rules: [{ name: 'R', metric: 'm', stat: 'avg', op: '>', threshold: 1 }] })) as AlertsProcessor;
    const next = new SinkConsumer();
    const bad = batchOf([{ name: 'm', description: '', unit: '', metadata: [], data: { type: 'gauge', dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: 0n, value: NaN, exemplars: [], flags: 0 }] } }]);
    const weird = { resourceMetrics: [{ resource: { attributes: [{ key: 'k', value: { kvlist: [{ key: 'x', value: new Uint8Array([1]) }] } }], droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', metrics: [{ name: 'm', description: '', unit: '', metadata: [], data: undefined }] }] }] };
    await proc.process(bad, next);
    await proc.process(weird, next);
    expect(next.batches).toHaveLength(2);
    await proc.tick(Date.now());
    await proc.shutdown();
  });

  it('without external_url, generatorURL and externalURL are served from service.telemetry.endpoint', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const urls = async (endpoint: string | undefined, raw: Record<string, unknown> = {}) => {
      const settings = testSettings('processor', 'alerts', {
        stateDir: dir,
        service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: {}, telemetryEndpoint: endpoint },
      });
      const proc = alertsProcessorFactory.create(
        settings,
        configFor(alertsProcessorFactory, {
          ...raw,
          rules: [{ name: 'Budget', metric: 'g', stat: 'last', op: '>', threshold: 0 }],
          routes: [{ exporters: ['webhook/ops'], group_wait: '0s' }],
        }),
      ) as AlertsProcessor;
      proc.engine.ingest(batchOf([gauge('g', {}, 1, 1000)]), 1000);
      const [n] = proc.engine.evaluate(1000).notifications;
      return [n!.externalURL, n!.alerts[0]!.generatorURL];
    };
    expect(await urls('vigil.internal:9464')).toEqual(['http://vigil.internal:9464', 'http://vigil.internal:9464/alerts?rule=Budget']);
    expect(await urls('0.0.0.0:9464')).toEqual(['http://localhost:9464', 'http://localhost:9464/alerts?rule=Budget']);
    expect(await urls(undefined)).toEqual(['http://localhost:8888', 'http://localhost:8888/alerts?rule=Budget']);
    expect(await urls('vigil.internal:9464', { external_url: 'https://alerts.example/' })).toEqual(['https://alerts.example', 'https://alerts.example/alerts?rule=Budget']);
    expect(externalUrlOf('', '[::]:8888')).toBe('http://localhost:8888');
    expect(externalUrlOf('', '[::1]:8888')).toBe('http://[::1]:8888');
  });
});

describe('alerts processor: handing notifications to an exporter', () => {
  it("issues an exporter's notifications of a round all at once, in order; a refused one comes back next round, an accepted one does not", async () => {
    const N = 60;
    let inFlight = 0;
    let maxInFlight = 0;
    const calls: string[] = [];
    let refuse = (_svc: string) => false;
    const emit = {
      consume: async (b: Batch) => {
        const n = b.alerts![0]!;
        const svc = n.alerts[0]!.labels.svc!;
        calls.push(svc);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // answered later, as a disk queue answers after its fdatasync
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (refuse(svc)) throw new Error(`refused ${svc}`);
      },
    };
    const { proc } = await startAlertsProcessor(
      dirs,
      {
        interval: '10s',
        rules: [{ name: 'High', metric: 'x', stat: 'last', op: '>', threshold: 1, group_by: ['svc'] }],
        route_defaults: { group_wait: '0s', group_by: ['svc'] },
      },
      emit,
    );
    const svcs = Array.from({ length: N }, (_, i) => `s${String(i).padStart(3, '0')}`);
    await proc.process(batchOf(svcs.map((svc) => gauge('x', { svc }, 5, Date.now()))), new SinkConsumer());
    refuse = (svc) => Number(svc.slice(1)) % 3 === 0;
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(100); // the answers (5 ms later)
    expect(calls).toHaveLength(N);
    // all N were in flight together (one at a time would make this 1)
    expect(maxInFlight).toBe(N);
    expect(calls).toEqual(svcs); // issued in the round's order
    // later rounds: only the refused ones again (their groups were not committed), once each
    const refused = svcs.filter((s) => Number(s.slice(1)) % 3 === 0);
    calls.length = 0;
    refuse = () => false;
    for (let i = 0; i < 36; i++) {
      await proc.process(batchOf(svcs.map((svc) => gauge('x', { svc }, 5, Date.now()))), new SinkConsumer());
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect([...calls].sort()).toEqual(refused);
    await proc.shutdown();
  });
});
