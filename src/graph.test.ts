import { beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type ServiceConfig } from './config/load.ts';
import { Graph, unionOfSpanReads } from './graph.ts';
import { GENAI_CALL_KEYS } from '../processors/cost/genai-call.ts';
import { encodeExportRequest } from './otlp/proto.ts';
import { silentLogger } from './logger.ts';
import type { Batch, ResourceSpans } from './model.ts';
import { ServiceTelemetry } from './telemetry.ts';
import { created, events, testRegistry } from '../test/helpers/doubles.ts';
import { resourceSpans, span } from '../test/percentiles-helpers.ts';
import { tempDir } from '../test/helpers/index.ts';

beforeEach(() => {
  created.clear();
  events.length = 0;
});

async function config(doc: unknown): Promise<ServiceConfig> {
  const dir = tempDir();
  const file = path.join(dir, 'c.yaml');
  const d = doc as { service: Record<string, unknown> };
  d.service = { state_dir: dir, telemetry: { endpoint: 'localhost:0' }, ...d.service };
  fs.writeFileSync(file, YAML.stringify(d));
  const r = await loadConfig([file], testRegistry, {});
  if (!r.config) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

function graphOf(c: ServiceConfig): Graph {
  return new Graph(c, { logger: silentLogger(), registry: testRegistry, telemetry: new ServiceTelemetry(), host: { reportFatal: () => {} } });
}

/** One resource whose spans have these names. */
const spans = (...names: string[]): ResourceSpans[] => [resourceSpans('svc', names.map((name) => span(1, 1, { name })))];

const names = (b: Batch[]) => b.flatMap((x) => (x.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))));

describe('Graph', () => {
  it('fans in from several receivers and out to several exporters, each getting every batch', async () => {
    const g = graphOf(
      await config({
        receivers: { 'testsource/a': {}, 'testsource/b': {} },
        exporters: { 'testsink/1': {}, 'testsink/2': { delay_ms: 20 } },
        service: { pipelines: { main: { receivers: ['testsource/a', 'testsource/b'], exporters: ['testsink/1', 'testsink/2'] } } },
      }),
    );
    await g.start();
    await created.get('testsource/a')!.emit.consume({ resourceSpans: spans('a1') });
    await created.get('testsource/b')!.emit.consume({ resourceSpans: spans('b1') });
    expect(names(created.get('testsink/1')!.received)).toEqual(['a1', 'b1']);
    expect(names(created.get('testsink/2')!.received)).toEqual(['a1', 'b1']);
    await g.shutdown();
  });

  it('shares one instance per ID across pipelines and gives each pipeline its own copy', async () => {
    const g = graphOf(
      await config({
        receivers: { testsource: {} },
        processors: { 'testmutate/x': {}, 'testmutate/shared': {} },
        exporters: { 'testsink/a': {}, 'testsink/b': {} },
        service: {
          pipelines: {
            'traces/a': { receivers: ['testsource'], processors: ['testmutate/x', 'testmutate/shared'], exporters: ['testsink/a'] },
            'traces/b': { receivers: ['testsource'], processors: ['testmutate/shared'], exporters: ['testsink/b'] },
          },
        },
      }),
    );
    await g.start();
    await created.get('testsource')!.emit.consume({ resourceSpans: spans('s') });
    expect(created.get('testmutate/shared')!.received).toHaveLength(2);
    expect(names(created.get('testsink/a')!.received)).toEqual(['s+testmutate/x+testmutate/shared']);
    expect(names(created.get('testsink/b')!.received)).toEqual(['s+testmutate/shared']);
    await g.shutdown();
  });

  it('restricts a pipeline named after a signal to that signal', async () => {
    const g = graphOf(
      await config({
        receivers: { testsource: {} },
        exporters: { 'testsink/traces': {}, 'testsink/logs': {}, 'testsink/all': {} },
        service: {
          pipelines: {
            traces: { receivers: ['testsource'], exporters: ['testsink/traces'] },
            'logs/x': { receivers: ['testsource'], exporters: ['testsink/logs'] },
            everything: { receivers: ['testsource'], exporters: ['testsink/all'] },
          },
        },
      }),
    );
    await g.start();
    const logs = [{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeLogs: [] }];
    await created.get('testsource')!.emit.consume({ resourceSpans: spans('t'), resourceLogs: logs });
    expect(created.get('testsink/traces')!.received.map((b) => Object.keys(b))).toEqual([['resourceSpans']]);
    expect(created.get('testsink/logs')!.received.map((b) => Object.keys(b))).toEqual([['resourceLogs']]);
    expect(created.get('testsink/all')!.received.map((b) => Object.keys(b).sort())).toEqual([['resourceLogs', 'resourceSpans']]);
    await g.shutdown();
  });

  it('keeps a processor across a reload only when everything after it is kept (a batch holds data for its next)', async () => {
    const dir = tempDir();
    const cfg = (delay: number) =>
      config({
        receivers: { testsource: {} },
        processors: { batch: { timeout: '10s' }, testmutate: {} },
        exporters: { 'testsink/changed': { delay_ms: delay }, 'testsink/same': {} },
        service: {
          state_dir: dir,
          pipelines: {
            a: { receivers: ['testsource'], processors: ['batch'], exporters: ['testsink/changed'] },
            b: { receivers: ['testsource'], processors: ['testmutate'], exporters: ['testsink/same'] },
          },
        },
      });
    const g = graphOf(await cfg(0));
    // the batch processor's config is the same, but what it flushes into changed: it is not kept
    const keep = g.keepableIn(await cfg(5));
    expect([...keep].sort()).toEqual(['exporter:testsink/same', 'processor:testmutate', 'receiver:testsource']);
  });

  it('lets what a processor derives flow on in a pipeline named after another signal', async () => {
    const g = graphOf(
      await config({
        receivers: { testsource: {} },
        processors: { 'testmutate/p': {} },
        exporters: { 'testsink/t': {} },
        service: { pipelines: { traces: { receivers: ['testsource'], processors: ['testmutate/p'], exporters: ['testsink/t'] } } },
      }),
    );
    await g.start();
    const logs = [{ resource: { attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', scopeLogs: [] }];
    // intake is restricted to traces ...
    await created.get('testsource')!.emit.consume({ resourceSpans: spans('in'), resourceLogs: logs });
    // ... what the processor derives is not
    await created.get('testmutate/p')!.emit.consume({ resourceLogs: logs });
    expect(created.get('testsink/t')!.received.map((b) => Object.keys(b).sort())).toEqual([['resourceSpans'], ['resourceLogs']]);
    await g.shutdown();
  });

  it('shares a batch between pipelines that only read it, and copies it for one that changes data', async () => {
    const g = graphOf(
      await config({
        receivers: { testsource: {} },
        processors: { testmutate: {} },
        exporters: { 'testsink/a': {}, 'testsink/b': {}, 'testsink/m': {} },
        service: {
          pipelines: {
            a: { receivers: ['testsource'], exporters: ['testsink/a'] },
            b: { receivers: ['testsource'], exporters: ['testsink/b'] },
            m: { receivers: ['testsource'], processors: ['testmutate'], exporters: ['testsink/m'] },
          },
        },
      }),
    );
    await g.start();
    const batch = { resourceSpans: spans('s') };
    await created.get('testsource')!.emit.consume(batch);
    expect(created.get('testsink/a')!.received[0]).toBe(batch);
    expect(created.get('testsink/b')!.received[0]).toBe(batch);
    expect(created.get('testsink/m')!.received[0]).not.toBe(batch);
    expect(names([batch])).toEqual(['s']);
    expect(names(created.get('testsink/m')!.received)).toEqual(['s+testmutate']);
    await g.shutdown();
  });

  it("routes a processor's own output to the rest of every pipeline that lists it", async () => {
    const g = graphOf(
      await config({
        receivers: { testsource: {} },
        processors: { 'testmutate/p': {}, 'testmutate/after': {} },
        exporters: { 'testsink/a': {}, 'testsink/b': {} },
        service: {
          pipelines: {
            a: { receivers: ['testsource'], processors: ['testmutate/p', 'testmutate/after'], exporters: ['testsink/a'] },
            b: { receivers: ['testsource'], processors: ['testmutate/p'], exporters: ['testsink/b'] },
          },
        },
      }),
    );
    await g.start();
    await created.get('testmutate/p')!.emit.consume({ resourceSpans: spans('derived') });
    expect(names(created.get('testsink/a')!.received)).toEqual(['derived+testmutate/after']);
    expect(names(created.get('testsink/b')!.received)).toEqual(['derived']);
    await g.shutdown();
  });

  it('starts exporters, processors, receivers; shuts down in reverse; rolls back a failed start', async () => {
    const c = await config({
      receivers: { testsource: {} },
      processors: { 'testmutate/first': {}, 'testmutate/second': {} },
      exporters: { testsink: {} },
      service: { pipelines: { main: { receivers: ['testsource'], processors: ['testmutate/first', 'testmutate/second'], exporters: ['testsink'] } } },
    });
    const g = graphOf(c);
    await g.start();
    await g.shutdown();
    await g.shutdown();
    expect(events).toEqual([
      'start exporter testsink',
      'start processor testmutate/second',
      'start processor testmutate/first',
      'start receiver testsource',
      'shutdown receiver testsource',
      'shutdown processor testmutate/first',
      'shutdown processor testmutate/second',
      'shutdown exporter testsink',
    ]);

    events.length = 0;
    const bad = await config({
      receivers: { testsource: { fail_start: true } },
      exporters: { testsink: {} },
      service: { pipelines: { main: { receivers: ['testsource'], exporters: ['testsink'] } } },
    });
    await expect(graphOf(bad).start()).rejects.toThrow('failed to start receiver "testsource": told to fail');
    expect(events).toEqual(['start exporter testsink', 'shutdown receiver testsource', 'shutdown exporter testsink']);
  });

  it('passes encoded requests only where every consumer downstream takes them, and decodes them for the others', async () => {
    const g = graphOf(
      await config({
        receivers: { 'testsource/nop': {}, 'testsource/limited': {}, 'testsource/mixed': {}, 'testsource/batched': {} },
        processors: { memory_limiter: {}, batch: {} },
        exporters: { nop: {}, testsink: {} },
        service: {
          pipelines: {
            'traces/nop': { receivers: ['testsource/nop'], exporters: ['nop'] },
            'traces/limited': { receivers: ['testsource/limited'], processors: ['memory_limiter'], exporters: ['nop'] },
            'traces/mixed': { receivers: ['testsource/mixed'], exporters: ['nop', 'testsink'] },
            'traces/batched': { receivers: ['testsource/batched'], processors: ['batch'], exporters: ['nop'] },
          },
        },
      }),
    );
    await g.start();
    const emit = (id: string) => created.get(`testsource/${id}`)!.emit;
    expect(emit('nop').acceptsEncoded).toBe(true);
    expect(emit('limited').acceptsEncoded).toBe(true);
    expect(emit('mixed').acceptsEncoded).toBe(false);
    expect(emit('batched').acceptsEncoded).toBe(true);
    // Given one anyway (a receiver should not), the exporter that reads the model gets it decoded.
    const bytes = encodeExportRequest({ resourceSpans: spans('e1', 'e2') }, 'traces');
    await emit('mixed').consume({ encoded: { signal: 'traces', bytes: Buffer.from(bytes), items: 2 } });
    const got = created.get('testsink')!.received;
    expect(got[0]!.encoded).toBeUndefined();
    expect(names(got)).toEqual(['e1', 'e2']);
    await g.shutdown();
  });

  it('works out the span attributes everything behind a receiver reads, for its decoder', async () => {
    const dir = tempDir();
    const g = graphOf(
      await config({
        receivers: { 'testsource/derived': {}, 'testsource/forward': {}, 'testsource/typed': {}, 'testsource/normal': {}, 'testsource/sink': {} },
        processors: {
          memory_limiter: {},
          batch: {},
          cost: { budgets: [{ name: 'per-team', period: 'day', limit_usd: 5, group_by: ['team.name'] }] },
          percentiles: { dimensions: ['service.name', 'span.name', 'deployment.environment'], span_attributes: ['gen_ai.usage.cost', 'queue.depth'] },
        },
        exporters: {
          debug: { verbosity: 'basic' },
          'debug/normal': {},
          'file/metrics': { path: path.join(dir, 'm.jsonl'), signals: ['metrics', 'logs'] },
          'file/traces': { path: path.join(dir, 't.jsonl'), signals: ['traces'] },
          nop: {},
          testsink: {},
        },
        service: {
          pipelines: {
            // derived metrics only: what cost and percentiles read
            'traces/derived': { receivers: ['testsource/derived'], processors: ['memory_limiter', 'cost', 'percentiles', 'batch'], exporters: ['debug', 'file/metrics', 'nop'] },
            // spans written whole: every attribute
            'traces/forward': { receivers: ['testsource/forward'], processors: ['percentiles'], exporters: ['nop', 'file/traces'] },
            // a pipeline of another signal takes no spans, whatever it would print
            'traces/typed': { receivers: ['testsource/typed'], processors: ['percentiles'], exporters: ['nop'] },
            'metrics/typed': { receivers: ['testsource/typed'], exporters: ['debug/normal'] },
            'traces/normal': { receivers: ['testsource/normal'], exporters: ['debug/normal'] },
            // a component that declares nothing may read anything
            'traces/sink': { receivers: ['testsource/sink'], exporters: ['nop', 'testsink'] },
          },
        },
      }),
    );
    await g.start();
    const reads = (id: string) => created.get(`testsource/${id}`)!.emit.spanReads;
    const costKeys = [...GENAI_CALL_KEYS.keys()];
    const pctKeys = ['service.name', 'span.name', 'deployment.environment', 'gen_ai.usage.cost', 'queue.depth'];
    const derived = reads('derived')!;
    expect(new Set(derived.attributes)).toEqual(new Set([...costKeys, 'team.name', ...pctKeys]));
    expect(derived.attributes!.length).toBe(new Set(derived.attributes).size);
    expect(derived.ids).toBe(false);
    expect(reads('forward')).toBeUndefined();
    expect(new Set(reads('typed')!.attributes)).toEqual(new Set(pctKeys));
    expect(reads('typed')!.ids).toBe(false);
    expect(reads('normal')).toBeUndefined();
    expect(reads('sink')).toBeUndefined();
    await g.shutdown();
  });

  it('unions what consumers read of spans: anything, any attribute, the ids', () => {
    const none = { attributes: [], ids: false };
    expect(unionOfSpanReads([none, { attributes: ['a', 'b'], ids: false }, { attributes: ['b', 'c'], ids: false }])).toEqual({ attributes: ['a', 'b', 'c'], ids: false });
    expect(unionOfSpanReads([none, { attributes: ['a'], ids: true }])).toEqual({ attributes: ['a'], ids: true });
    expect(unionOfSpanReads([{ attributes: ['a'], ids: false }, { ids: false }])).toEqual({ ids: false });
    expect(unionOfSpanReads([{ ids: true }, none])).toEqual({ ids: true });
    expect(unionOfSpanReads([none, undefined])).toBeUndefined();
    expect(unionOfSpanReads([none])).toEqual(none);
  });
});
