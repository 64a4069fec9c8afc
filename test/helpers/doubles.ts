/** Components for wiring tests, registered under test-only types. */
import { Type } from '@sinclair/typebox';
import type { Component, Consumer, Exporter, Factory, Processor } from '../../src/component.ts';
import { components } from '../../app/components.ts';
import { type Batch, SIGNALS } from '../../src/model.ts';

const empty = Type.Object({ fail_start: Type.Boolean({ default: false }), delay_ms: Type.Integer({ default: 0 }) }, { additionalProperties: false, default: {} });
type Cfg = { fail_start: boolean; delay_ms: number };

/** Every instance created, by ID, and a log of lifecycle events in order. */
export const created = new Map<string, Component & { received: Batch[]; emit: Consumer }>();
export const events: string[] = [];

function lifecycle(kind: string, id: string, cfg: Cfg) {
  return {
    start: async () => {
      if (cfg.fail_start) throw new Error('told to fail');
      events.push(`start ${kind} ${id}`);
    },
    shutdown: async () => {
      events.push(`shutdown ${kind} ${id}`);
    },
  };
}

export const sourceFactory: Factory<Cfg> = {
  type: 'testsource',
  kind: 'receiver',
  schema: empty,
  signals: SIGNALS,
  create: (s, cfg) => {
    const c = { ...lifecycle('receiver', s.id, cfg), received: [], emit: s.emit };
    created.set(s.id, c);
    return c;
  },
};

const sinkSchema = Type.Object({ ...empty.properties, span_attributes: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false, default: {} });
type SinkCfg = Cfg & { span_attributes?: string[] };

/** Keeps every batch it is given; with `span_attributes`, declares that it reads only those of a span (and no ids). */
export const sinkFactory: Factory<SinkCfg> = {
  type: 'testsink',
  kind: 'exporter',
  schema: sinkSchema,
  signals: SIGNALS,
  create: (s, cfg): Exporter => {
    const c = {
      ...lifecycle('exporter', s.id, cfg),
      received: [] as Batch[],
      emit: s.emit,
      spanReads: cfg.span_attributes ? { attributes: cfg.span_attributes, ids: false } : undefined,
      consume: async (b: Batch) => {
        if (cfg.delay_ms) await new Promise((r) => setTimeout(r, cfg.delay_ms));
        c.received.push(b);
      },
    };
    created.set(s.id, c);
    return c;
  },
};

/** Renames every span to `<name>+<id>`: shows whether pipelines share or copy batches. */
export const mutateFactory: Factory<Cfg> = {
  type: 'testmutate',
  kind: 'processor',
  schema: empty,
  signals: SIGNALS,
  capabilities: { mutatesData: true },
  create: (s, cfg): Processor => {
    const c = {
      ...lifecycle('processor', s.id, cfg),
      received: [] as Batch[],
      emit: s.emit,
      process: async (b: Batch, next: Consumer) => {
        c.received.push(b);
        for (const rs of b.resourceSpans ?? []) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.name += `+${s.id}`;
        return next.consume(b);
      },
    };
    created.set(s.id, c);
    return c;
  },
};

/** The application's components plus the doubles (`testsource`, `testsink`, `testmutate`). */
export const testRegistry = components.with(sourceFactory, sinkFactory, mutateFactory);
