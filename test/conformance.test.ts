/**
 * One test over every registered factory (the Collector's generated_component_test): its default (or
 * example) config validates; create then shutdown without start; start then shutdown twice.
 */
import { describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import type { Exporter, Processor } from '../src/component.ts';
import { SinkConsumer, configFor, testSettings } from './helpers/index.ts';

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
