/**
 * The pipeline graph: one instance per component ID, shared by every pipeline that lists it; fan-in from
 * several receivers, fan-out to several exporters; a pipeline named after a signal takes only that signal
 * from its receivers.
 * Data a processor derives reaches the rest of its pipelines whatever their signal. Starts exporters, then
 * processors, then receivers (rolling back on a failed start) and shuts down in
 * the reverse order so that in-flight data drains downstream. It knows nothing of any particular component.
 */
import { type Component, type ComponentKind, type Consumer, type Exporter, type Factory, type Host, type Processor, type ServiceView, type SpanReads, READS_NO_SPAN_FIELDS, exporterCapabilities } from './component.ts';
import { parseComponentId, pipelineSignal, type ServiceConfig } from './config/load.ts';
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Logger } from './logger.ts';
import { type Batch, cloneBatch, countItems, isEmpty, pickSignal, type SignalName } from './model.ts';
import { decodeEncoded, decodedCovers } from './otlp/proto.ts';
import { StaleDecodeError } from './errors.ts';
import type { ComponentRegistry } from './registry.ts';
import type { SilenceSource } from './silence-store.ts';
import type { ComponentStatus } from './status.ts';
import type { ServiceTelemetry } from './telemetry.ts';
import { timerDelay } from './timer-delay.ts';

interface Node {
  kind: ComponentKind;
  id: string;
  component: Component;
  /** The `emit` the component was created with (receivers and processors): a reload re-points it. */
  relay: Relay | undefined;
  /** Taken over running from the graph a reload replaced: not started again here. */
  reused: boolean;
}

/** A running component a reload carries over to the next graph, with its `emit`. */
export interface CarriedComponent {
  component: Component;
  relay: Relay | undefined;
}

/**
 * The `emit` of a receiver or processor: a consumer whose target a reload can swap, so that a component
 * whose config did not change is kept running (its listening sockets and keep-alive connections, its
 * stored series and windows) while the pipelines behind it are replaced. `hold()` makes new calls wait
 * (instead of failing) until `release()`; `idle()` resolves once no call is in flight.
 */
export class Relay implements Consumer {
  private held: { promise: Promise<void>; release: () => void } | undefined;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(public target: Consumer) {}

  get acceptsEncoded(): boolean {
    return this.target.acceptsEncoded === true;
  }

  get spanReads(): SpanReads | undefined {
    return this.target.spanReads;
  }

  consume(batch: Batch): Promise<void> {
    if (this.held) return this.afterHold(batch);
    // a request decoded for the pipelines before a reload, which read less of a span than these
    if (!decodedCovers(batch, this.target.spanReads)) return Promise.reject(new StaleDecodeError());
    this.inflight++;
    let p: Promise<void>;
    try {
      p = this.target.consume(batch);
    } catch (e) {
      this.done();
      return Promise.reject(e);
    }
    return p.finally(() => this.done());
  }

  private async afterHold(batch: Batch): Promise<void> {
    while (this.held) await this.held.promise;
    return this.consume(batch);
  }

  private done(): void {
    if (--this.inflight === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
  }

  hold(): void {
    if (this.held) return;
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.held = { promise, release };
  }

  release(): void {
    const h = this.held;
    this.held = undefined;
    h?.release();
  }

  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }
}

/** JSON with object keys sorted, so that two equal configs give the same text. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.keys(val as object).sort().map((k) => [k, (val as Record<string, unknown>)[k]]))
      : val,
  );
}

/**
 * What a component's behaviour depends on: its own config, the state folder, and for a processor what it
 * reads of the service (the exporters of the pipelines listing it, the exporter IDs, the telemetry endpoint).
 * Two configs giving a component the same text let a reload keep it running.
 */
function identityOf(config: ServiceConfig, kind: ComponentKind, id: string): string | undefined {
  const section = kind === 'receiver' ? config.receivers : kind === 'processor' ? config.processors : config.exporters;
  if (!(id in section)) return undefined;
  const { pipelines } = config.service;
  const listed = Object.keys(pipelines).filter((n) => (pipelines[n]![`${kind}s` as 'receivers' | 'processors' | 'exporters'] as readonly string[]).includes(id));
  if (!listed.length) return undefined;
  const view =
    kind === 'processor'
      ? {
          exporterIds: Object.keys(config.exporters).sort(),
          telemetry: config.service.telemetry.endpoint,
          pipelines: listed.map((n) => [n, pipelines[n]!.exporters]),
        }
      : undefined;
  return stableJson({ config: section[id], stateDir: config.service.state_dir, view });
}

/** Waits for every delivery, then rejects with the first failure (each target gets its chance first). */
async function settleAll(deliveries: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(deliveries);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Calls every consumer with the batch, waits for all; rejects with the first error once all are done. */
export function fanOut(consumers: Consumer[]): Consumer {
  if (consumers.length === 1) return consumers[0]!;
  return declaring(
    (batch: Batch) => settleAll(consumers.map((c) => c.consume(batch))),
    () => consumers.every((c) => c.acceptsEncoded === true),
    () => unionOfSpanReads(consumers.map((c) => c.spanReads)),
  );
}

/**
 * What several consumers read of each span together ({@link Consumer.spanReads}): undefined (anything) when
 * one of them may read anything; else any attribute when one reads any, else each key once; the ids when one
 * reads them.
 */
export function unionOfSpanReads(reads: readonly (SpanReads | undefined)[]): SpanReads | undefined {
  if (reads.some((r) => r === undefined)) return undefined;
  const all = reads as readonly SpanReads[];
  const ids = all.some((r) => r.ids);
  if (all.some((r) => r.attributes === undefined)) return { ids };
  return { attributes: [...new Set(all.flatMap((r) => r.attributes!))], ids };
}

/** A consumer that runs `consume` around `inner`'s and declares what `inner` declares. */
function around(inner: Consumer, consume: (b: Batch) => Promise<void>): Consumer {
  return {
    consume,
    get acceptsEncoded() {
      return inner.acceptsEncoded === true;
    },
    get spanReads() {
      return inner.spanReads;
    },
  };
}

/**
 * A consumer whose `acceptsEncoded` and `spanReads` are worked out on first read (components are all created
 * by then; they are not yet when the graph wires them) and then kept.
 */
function declaring(consume: (b: Batch) => Promise<void>, accepts: () => boolean, reads: () => SpanReads | undefined): Consumer {
  let known: boolean | undefined;
  let knownReads: { reads: SpanReads | undefined } | undefined;
  return {
    consume,
    get acceptsEncoded() {
      known ??= accepts();
      return known;
    },
    get spanReads() {
      knownReads ??= { reads: reads() };
      return knownReads.reads;
    },
  };
}

/**
 * `consume` for a component: an encoded batch is decoded first unless the component takes encoded ones
 * (receivers only send them where every consumer takes them; this keeps any other path correct). The
 * consumer takes encoded batches when the component does, and `next` (the rest of the pipeline after a
 * processor) too.
 */
function decodingFor(component: () => { acceptsEncoded?: boolean; spanReads?: SpanReads }, consume: (b: Batch) => Promise<void>, next?: Consumer): Consumer {
  let takes: boolean | undefined;
  const own = () => (takes ??= component().acceptsEncoded === true);
  return declaring(
    (b: Batch) => consume(b.encoded && !own() ? decodeEncoded(b) : b),
    () => own() && (next === undefined || next.acceptsEncoded === true),
    () => unionOfSpanReads(next === undefined ? [component().spanReads] : [component().spanReads, next.spanReads]),
  );
}

/** Passes on only the pipeline's signal (all of them when unrestricted); skips empty batches. */
function restrictTo(signal: SignalName | undefined, next: Consumer): Consumer {
  if (!signal) return next;
  return declaring(
    (batch: Batch): Promise<void> => {
      const part = pickSignal(batch, signal);
      return isEmpty(part) ? Promise.resolve() : next.consume(part);
    },
    () => next.acceptsEncoded === true,
    // a pipeline of another signal is never given spans: it reads none
    () => (signal === 'traces' ? next.spanReads : READS_NO_SPAN_FIELDS),
  );
}

/** One pipeline a batch is delivered to: the signal it takes (all when undefined) and its rest from here on. */
interface PipelineEntry {
  signal: SignalName | undefined;
  consumer: Consumer;
  /** Whether something in this rest of the pipeline changes the data (a processor with `mutatesData`). */
  mutates: boolean;
}

/**
 * Delivers one batch to several pipelines. Pipelines whose rest only reads share the batch; each one
 * that changes data gets a copy of its own, except that when every pipeline changes data the last one
 * takes the original (nobody else reads it then). (Collector `internal/fanoutconsumer`.)
 */
function toPipelines(entries: PipelineEntry[]): Consumer {
  if (entries.length === 1) return restrictTo(entries[0]!.signal, entries[0]!.consumer);
  const allMutate = entries.every((e) => e.mutates);
  return declaring(
    (batch: Batch): Promise<void> => {
      const parts = entries
        .map((e) => ({ consumer: e.consumer, mutates: e.mutates, part: e.signal ? pickSignal(batch, e.signal) : batch }))
        .filter((p) => !isEmpty(p.part));
      const last = parts.length - 1;
      return settleAll(parts.map((p, i) => p.consumer.consume(p.mutates && !(allMutate && i === last) ? cloneBatch(p.part) : p.part)));
    },
    () => entries.every((e) => e.consumer.acceptsEncoded === true),
    () => unionOfSpanReads(entries.map((e) => (e.signal === undefined || e.signal === 'traces' ? e.consumer.spanReads : READS_NO_SPAN_FIELDS))),
  );
}

/** `consumer` with a span around each call when there is a tracer (see {@link GraphOptions.tracer}). */
function traced(tracer: Tracer | undefined, name: string, attrs: Record<string, string>, consumer: Consumer): Consumer {
  if (!tracer) return consumer;
  return around(
    consumer,
    (batch: Batch) =>
      tracer.startActiveSpan(name, { attributes: attrs }, async (span) => {
        const n = countItems(batch);
        span.setAttributes({ 'vigil.items.traces': n.traces, 'vigil.items.metrics': n.metrics, 'vigil.items.logs': n.logs, 'vigil.items.alerts': n.alerts });
        try {
          await consumer.consume(batch);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      }),
  );
}

/** A receiver's consumer that records how long each batch takes through the pipelines (vigil_pipeline_duration_seconds). */
function timed(inner: Consumer, telemetry: ServiceTelemetry, receiver: string): Consumer {
  const attrs = { receiver };
  return around(inner, async (batch: Batch): Promise<void> => {
    const t0 = performance.now();
    try {
      await inner.consume(batch);
    } finally {
      telemetry.pipelineDuration.record((performance.now() - t0) / 1000, attrs);
    }
  });
}

/** What a {@link Graph} is built with besides the config. */
export interface GraphOptions {
  logger: Logger;
  /** Where factories are found; every type the config names must already be loaded (`loadConfig` does that). */
  registry: ComponentRegistry;
  /**
   * When given, each batch a receiver hands on is a span (`receive <id>`) and each exporter's part of it a
   * child span (`export <id>`), with the signal and item count; failures are recorded on them.
   */
  tracer?: Tracer;
  telemetry: ServiceTelemetry;
  host: Host;
  /** The daemon's silences, handed to every component (the alerts processors read them). */
  silences?: SilenceSource;
  /** Running components carried over from the graph a reload replaces (see {@link Graph.detach}), by `kind:id`. */
  reuse?: ReadonlyMap<string, CarriedComponent>;
  /** The graph a reload replaced (shut down): a new component may take over state of the one it replaces. */
  previous?: Graph;
}

/**
 * The pipeline graph of one config (see this file's comment): builds one instance per component ID, starts
 * them exporters first, and shuts them down receivers first. A reload builds a new graph that may take over
 * running components of the old one.
 */
export class Graph {
  private readonly nodes = new Map<string, Node>();
  /** Components in start order: exporters, processors (downstream first), receivers. */
  private readonly order: Node[] = [];
  private started: Node[] = [];
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    private readonly config: ServiceConfig,
    private readonly opts: GraphOptions,
  ) {
    this.build();
  }

  private key(kind: ComponentKind, id: string): string {
    return `${kind}:${id}`;
  }

  private instance<T extends Component>(kind: ComponentKind, id: string): T {
    const n = this.nodes.get(this.key(kind, id));
    if (!n) throw new Error(`internal: ${kind} ${id} was not created`);
    return n.component as T;
  }

  /**
   * The component `kind` `id`, looked up on the first call and kept: the graph wires consumers before it creates
   * the components, and a graph's components never change after (a reload builds a new graph), so a batch does
   * not pay a key string and a map lookup per component.
   */
  private resolver<T extends Component>(kind: ComponentKind, id: string): () => T {
    let component: T | undefined;
    return () => (component ??= this.instance<T>(kind, id));
  }

  /** The consumer that runs a pipeline from processor index `i` on. */
  private chain(pipeline: string, i: number): Consumer {
    const p = this.config.service.pipelines[pipeline]!;
    if (i >= p.processors.length) {
      const exporters = p.exporters.map((id) => {
        const exporter = this.resolver<Exporter>('exporter', id);
        return traced(this.opts.tracer, `export ${id}`, { 'vigil.exporter': id }, decodingFor(exporter, (b) => exporter().consume(b)));
      });
      return fanOut(exporters);
    }
    const id = p.processors[i]!;
    const next = this.chain(pipeline, i + 1);
    const processor = this.resolver<Processor>('processor', id);
    return decodingFor(processor, (b) => processor().process(b, next), next);
  }

  private build(): void {
    const { pipelines } = this.config.service;
    const names = Object.keys(pipelines);
    const view: ServiceView = {
      componentIds: {
        receiver: Object.keys(this.config.receivers),
        processor: Object.keys(this.config.processors),
        exporter: Object.keys(this.config.exporters),
      },
      telemetryEndpoint: this.config.service.telemetry.endpoint,
      pipelines,
      exporterCapabilities: Object.fromEntries(
        Object.keys(this.config.exporters).flatMap((id) => {
          const f = this.opts.registry.loaded('exporter', parseComponentId(id)!.type) as Factory | undefined;
          return f ? [[id, exporterCapabilities(f, this.config.exporters[id])]] : [];
        }),
      ),
    };
    const factoryOf = (kind: ComponentKind, id: string): Factory | undefined => this.opts.registry.loaded(kind, parseComponentId(id)!.type) as Factory | undefined;
    /** Whether a processor from index `i` on in the pipeline changes data. */
    const mutatesFrom = (pipeline: string, i: number): boolean =>
      pipelines[pipeline]!.processors.slice(i).some((id) => factoryOf('processor', id)?.capabilities?.mutatesData === true);
    const create = (kind: ComponentKind, id: string, target: Consumer): void => {
      if (this.nodes.has(this.key(kind, id))) return;
      const carried = this.opts.reuse?.get(this.key(kind, id));
      if (carried) {
        // kept running across the reload: only what it emits into is re-pointed (released by the service)
        if (carried.relay) carried.relay.target = target;
        this.nodes.set(this.key(kind, id), { kind, id, component: carried.component, relay: carried.relay, reused: true });
        return;
      }
      const relay = kind === 'exporter' ? undefined : new Relay(target);
      const emit: Consumer = relay ?? target;
      const type = parseComponentId(id)!.type;
      const factory = this.opts.registry.loaded(kind, type) as Factory | undefined;
      if (!factory) throw new Error(`internal: ${kind} type "${type}" is not loaded in the registry`);
      const section = kind === 'receiver' ? this.config.receivers : kind === 'processor' ? this.config.processors : this.config.exporters;
      const component = factory.create(
        {
          id,
          kind,
          logger: this.opts.logger.child({ component: `${kind}/${id}` }),
          telemetry: this.opts.telemetry.forComponent(kind, id),
          stateDir: this.config.service.state_dir,
          emit,
          service: view,
          ...(this.opts.silences ? { silences: this.opts.silences } : {}),
          previous: this.opts.previous?.get(kind, id),
        },
        section[id] as never,
      );
      const node: Node = { kind, id, component, relay, reused: false };
      this.nodes.set(this.key(kind, id), node);
    };

    // exporters
    for (const name of names) for (const id of pipelines[name]!.exporters) create('exporter', id, { consume: () => Promise.resolve() });
    // processors: what they derive goes into the rest of every pipeline listing them, whatever its signal
    // (a typed pipeline restricts what its receivers bring in, not what its processors derive)
    for (const name of names) {
      for (const id of pipelines[name]!.processors) {
        const entries = names.flatMap((n) => {
          const idx = pipelines[n]!.processors.indexOf(id);
          return idx < 0 ? [] : [{ signal: undefined, consumer: this.chain(n, idx + 1), mutates: mutatesFrom(n, idx + 1) }];
        });
        create('processor', id, toPipelines(entries));
      }
    }
    // receivers: feed every pipeline listing them
    for (const name of names) {
      for (const id of pipelines[name]!.receivers) {
        const entries = names
          .filter((n) => pipelines[n]!.receivers.includes(id))
          .map((n) => ({ signal: pipelineSignal(n), consumer: this.chain(n, 0), mutates: mutatesFrom(n, 0) }));
        create('receiver', id, timed(traced(this.opts.tracer, `receive ${id}`, { 'vigil.receiver': id }, toPipelines(entries)), this.opts.telemetry, id));
      }
    }

    const byKind = (k: ComponentKind) => [...this.nodes.values()].filter((n) => n.kind === k);
    this.order.push(...byKind('exporter'), ...this.processorStartOrder(), ...byKind('receiver'));
  }

  /** Processors ordered so that every processor starts after those downstream of it (shutdown: upstream first). */
  private processorStartOrder(): Node[] {
    const { pipelines } = this.config.service;
    const downstream = new Map<string, Set<string>>();
    for (const p of Object.values(pipelines)) {
      p.processors.forEach((id, i) => {
        if (!downstream.has(id)) downstream.set(id, new Set());
        for (const later of p.processors.slice(i + 1)) if (later !== id) downstream.get(id)!.add(later);
      });
    }
    const out: string[] = [];
    const visiting = new Set<string>();
    const visit = (id: string) => {
      if (out.includes(id) || visiting.has(id)) return;
      visiting.add(id);
      for (const d of downstream.get(id) ?? []) visit(d);
      out.push(id);
    };
    for (const id of downstream.keys()) visit(id);
    return out.map((id) => this.nodes.get(this.key('processor', id))!);
  }

  /** Starts every component; on a failure shuts down what was started and rejects naming the component. */
  async start(): Promise<void> {
    for (const node of this.order) {
      if (node.reused) {
        this.started.push(node);
        continue;
      }
      try {
        await node.component.start(this.opts.host);
        this.started.push(node);
      } catch (err) {
        const e = new Error(`failed to start ${node.kind} "${node.id}": ${(err as Error).message}`, { cause: err });
        // what was carried over from the previous graph keeps running (the service gives it to the next try)
        await this.shutdown(this.reusedKeys()).catch(() => undefined);
        throw e;
      }
    }
  }

  private reusedKeys(): Set<string> {
    return new Set([...this.nodes.entries()].filter(([, n]) => n.reused).map(([k]) => k));
  }

  /** The relays of components carried over from the previous graph (the service releases them once this graph runs). */
  carriedRelays(): Relay[] {
    return [...this.nodes.values()].filter((n) => n.reused && n.relay).map((n) => n.relay!);
  }

  /**
   * The components (`kind:id`) a reload to `next` can keep running: those whose config, state folder and
   * (processors) view of the service are the same in both configs, except processors that hold batches
   * for later (`capabilities.holdsBatches`).
   */
  keepableIn(next: ServiceConfig): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes.values()) {
      // a processor that holds batches for its `next` must flush them into the old pipelines: not kept
      const factory = this.opts.registry.loaded(n.kind, parseComponentId(n.id)!.type) as Factory | undefined;
      if (factory?.capabilities?.holdsBatches) continue;
      const now = identityOf(this.config, n.kind, n.id);
      if (now !== undefined && now === identityOf(next, n.kind, n.id)) out.add(this.key(n.kind, n.id));
    }
    // A processor may hold data for its `next` (the batch processor's pending batches): it is kept only
    // when everything after it, in every pipeline of either config, is kept too; otherwise what it holds
    // would flush into components the reload shut down. Repeat until nothing more drops out.
    for (let changed = true; changed; ) {
      changed = false;
      for (const cfg of [this.config, next]) {
        for (const p of Object.values(cfg.service.pipelines)) {
          p.processors.forEach((id, i) => {
            const k = this.key('processor', id);
            if (!out.has(k)) return;
            const after = [...p.processors.slice(i + 1).map((x) => this.key('processor', x)), ...p.exporters.map((x) => this.key('exporter', x))];
            if (after.every((x) => out.has(x))) return;
            out.delete(k);
            changed = true;
          });
        }
      }
    }
    return out;
  }

  /**
   * For a reload: holds the `emit` of the components in `keep` (their new calls wait), waits up to
   * `timeoutMs` for their calls in flight into this graph to finish, shuts down everything else (receivers
   * first, so that what they accepted drains), and returns the kept components, still running, for the
   * next graph ({@link GraphOptions.reuse}).
   */
  async detach(keep: ReadonlySet<string>, timeoutMs: number): Promise<Map<string, CarriedComponent>> {
    const carried = new Map<string, CarriedComponent>();
    for (const k of keep) {
      const n = this.nodes.get(k);
      if (!n) continue;
      n.relay?.hold();
      carried.set(k, { component: n.component, relay: n.relay });
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...carried.values()].map((c) => c.relay?.idle())),
      new Promise<void>((r) => {
        timer = setTimeout(r, timerDelay(timeoutMs));
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    await this.shutdown(keep);
    return carried;
  }

  /**
   * Shuts down receivers first, then processors from upstream to downstream, then exporters, so that data
   * in flight drains through to the exporters. Collects every error. Idempotent. Components in `keep`
   * (`kind:id`) are left running: a reload carries them over.
   */
  shutdown(keep?: ReadonlySet<string>): Promise<void> {
    this.shutdownPromise ??= (async () => {
      const errors: Error[] = [];
      const toStop = [...this.order].reverse().filter((n) => !keep?.has(this.key(n.kind, n.id)));
      for (const node of toStop) {
        try {
          await node.component.shutdown();
        } catch (err) {
          errors.push(new Error(`${node.kind} "${node.id}": ${(err as Error).message}`));
        }
        this.opts.telemetry.forget(node.kind, node.id);
      }
      this.started = [];
      if (errors.length) throw new AggregateError(errors, `shutdown: ${errors.map((e) => e.message).join('; ')}`);
    })();
    return this.shutdownPromise;
  }

  /**
   * What every component with the status capability reports at `nowMs`, in start order (exporters,
   * processors, receivers). A reporter that throws is left out with its error, never failing the others.
   */
  statuses(nowMs: number): { kind: ComponentKind; id: string; status?: ComponentStatus; error?: string }[] {
    const out: { kind: ComponentKind; id: string; status?: ComponentStatus; error?: string }[] = [];
    for (const n of this.order) {
      if (typeof n.component.status !== 'function') continue;
      try {
        out.push({ kind: n.kind, id: n.id, status: n.component.status(nowMs) });
      } catch (e) {
        out.push({ kind: n.kind, id: n.id, error: (e as Error).message });
      }
    }
    return out;
  }

  /** The relay (emit) of a component by `kind:id`, if it has one. */
  relayOf(key: string): Relay | undefined {
    return this.nodes.get(key)?.relay;
  }

  /** The component instance of an ID (tests and the service use it). */
  get(kind: ComponentKind, id: string): Component | undefined {
    return this.nodes.get(this.key(kind, id))?.component;
  }
}
