/**
 * The one factory contract every receiver, processor and exporter implements, and the interfaces that
 * carry data between them. The graph builder (src/graph.ts) knows nothing about any particular component.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Logger } from './logger.ts';
import type { Batch, SignalName } from './model.ts';
import type { SilenceSource } from './silence-store.ts';
import type { AlertsStatus, ComponentStatus } from './status.ts';
import type { ComponentTelemetry } from './telemetry.ts';

/**
 * The three kinds of pipeline component, as in the Collector's `receivers:` / `processors:` / `exporters:` sections.
 */
export type ComponentKind = 'receiver' | 'processor' | 'exporter';

/** Receives batches. The caller gives the batch up when it calls. */
export interface Consumer {
  /**
   * Takes a batch. Resolves once the batch is accepted downstream (for an exporter with a queue: once it
   * is queued, durably where the exporter promises that). Rejects with a {@link ConsumerError}-like error
   * when it is refused: `permanent` errors mean "do not retry this data", others mean "retry later".
   */
  consume(batch: Batch): Promise<void>;
  /**
   * True when `consume` takes batches that carry an {@link Batch.encoded} OTLP request (protobuf bytes,
   * not decoded). Receivers check their `emit` consumer's flag; the graph sets it on the consumers it
   * builds when everything downstream takes such batches, and decodes for components that do not.
   */
  readonly acceptsEncoded?: boolean;
  /**
   * What `consume` reads of each span ({@link SpanReads}); absent when it may read anything (the default).
   * The OTLP receiver reads its `emit` consumer's and has the protobuf decoder build only that (src/otlp/
   * proto-decode-common.ts `SpanDecodePlan`); the graph works it out for the consumers it builds, as the
   * union over everything downstream.
   */
  readonly spanReads?: SpanReads;
}

/**
 * What a component reads of each span besides its name, kind, times, status, events and links (those are
 * always decoded): `{ attributes: [], ids: false }` for one that takes no spans or only counts them.
 */
export interface SpanReads {
  /** The attribute keys it reads or overwrites; absent: any attribute. */
  readonly attributes?: readonly string[];
  /** Whether it reads trace_id, span_id, parent_span_id or trace_state. */
  readonly ids: boolean;
}

/** The {@link SpanReads} of a component that takes no spans, or only counts them: no attribute, no ids. */
export const READS_NO_SPAN_FIELDS: SpanReads = Object.freeze({ attributes: Object.freeze([]) as readonly string[], ids: false });

/** What every running component has. */
export interface Component {
  /**
   * Starts the component: binds ports, opens files, starts timers (all `unref()`'d). Returns quickly; on
   * failure releases whatever it acquired and rejects with an error that says what failed.
   */
  start(host: Host): Promise<void>;
  /**
   * Stops the component and flushes what it holds downstream (processors) or to its target or its
   * on-disk queue (exporters). Idempotent, safe to call without `start()`, resolves once done.
   */
  shutdown(): Promise<void>;
  /**
   * Optional capability: the component's live state for the status page, the Alertmanager-compatible API
   * and `vigil status` (src/status.ts gives the contract: on demand, cheap, no I/O, JSON-ready copies).
   */
  status?(nowMs: number): ComponentStatus;
}

/**
 * A receiver: a {@link Component} that takes data in (OTLP, HTTP JSON) and hands it to its pipelines' `emit` consumer.
 */
export type Receiver = Component;

/**
 * A processor: a {@link Component} that sits between receivers and exporters and transforms, drops or adds to batches.
 */
export interface Processor extends Component {
  /**
   * Processes a batch flowing through one pipeline and passes what remains on to `next` (that
   * pipeline's rest). One processor instance is shared by every pipeline that lists its ID, which is
   * why `next` comes with each call rather than at creation.
   */
  process(batch: Batch, next: Consumer): Promise<void>;
  /** As {@link Consumer.acceptsEncoded}: `process` takes batches that carry an encoded request. */
  readonly acceptsEncoded?: boolean;
  /**
   * As {@link Consumer.spanReads}: what `process` itself reads or writes of each span (the graph adds what the
   * rest of the pipeline reads); absent: anything.
   */
  readonly spanReads?: SpanReads;
}

/**
 * An exporter: a {@link Component} that is also a {@link Consumer}; `consume` sends (or queues) a batch to its destination.
 */
export interface Exporter extends Component, Consumer {}

/** What the service gives a component at start. */
export interface Host {
  /** Reports a fatal runtime failure of a component; /readyz turns 503. */
  reportFatal(id: string, err: Error): void;
  /**
   * What every alerts processor of the running service reports now (pending and firing alerts with their
   * labels and start times: what the alerts API serves). Absent outside a service (tests).
   */
  alertsStatuses?(nowMs: number): AlertsStatus[];
}

/** Everything a factory's `create` receives besides its config. */
export interface CreateSettings {
  /** The component ID, `type` or `type/name`. */
  id: string;
  kind: ComponentKind;
  /** A pino logger whose lines carry `component: <kind>/<id>`. */
  logger: Logger;
  /** Counters and gauges of this component on /metrics. */
  telemetry: ComponentTelemetry;
  /**
   * The service's state directory (absolute). A component keeps its files under
   * `stateDirFor(settings)`, a folder of its own, created on demand.
   */
  stateDir: string;
  /**
   * For processors: where data the processor derives on its own (every window, every interval) goes.
   * It reaches the rest of every pipeline that lists this processor, each restricted to its signal.
   * For receivers: where received data goes (every pipeline that lists the receiver). For exporters:
   * unused (a no-op).
   */
  emit: Consumer;
  /** The whole validated service config, read-only (the alerts processor reads exporter IDs from it). */
  service: ServiceView;
  /**
   * The daemon's silences (written through the API on the telemetry endpoint), read-only; absent where
   * a component is created outside a service (tests, `vigil test`).
   */
  silences?: SilenceSource;
  /**
   * At a reload, the instance of this kind and ID that the new one replaces (its config changed), already
   * shut down: a component may take over what it held in memory (the alerts processor its stored series).
   * Undefined at the first start. A component whose config did not change is not replaced at all: the
   * reload keeps it running.
   */
  previous?: Component;
}

/**
 * What an exporter declares it does with alert notifications, so that the alerts processor need not
 * recognise exporters by their ID.
 */
export interface ExporterCapabilities {
  /** It takes alert notifications routed to it (batches with `alerts`). */
  takesAlerts: boolean;
  /** It keeps the resolve of an alert that was silenced, so that its record is complete (the file exporter). */
  keepsSilencedResolves: boolean;
  /**
   * It takes resolved alerts (its own `send_resolved`, default true). `false` is an Alertmanager
   * integration's `send_resolved: false` (notify/notify.go DedupStage and RetryStage): the alerts processor
   * does not notify it of a resolve alone and leaves resolved alerts out of its notifications.
   */
  sendsResolved: boolean;
  /**
   * It mirrors alert state elsewhere and must learn of every resolve of the alerts of its groups (the
   * alertmanager exporter re-sends the firing alerts it was told of until told they resolved): it gets the
   * resolves of silenced and inhibited alerts, whatever its route's `send_resolved`, and those that resolve
   * while its route is time-muted once the mute ends. Without them an alert stays firing downstream for ever.
   */
  keepsEveryResolve: boolean;
}

/** An exporter's capabilities: its factory's declaration, or "takes alerts when it handles the alerts signal". */
export function exporterCapabilities(factory: Pick<Factory, 'signals' | 'alertCapabilities'>, config: unknown): ExporterCapabilities {
  const declared = factory.alertCapabilities?.(config as never) ?? {};
  return {
    takesAlerts: declared.takesAlerts ?? factory.signals.includes('alerts'),
    keepsSilencedResolves: declared.keepsSilencedResolves ?? false,
    sendsResolved: declared.sendsResolved ?? true,
    keepsEveryResolve: declared.keepsEveryResolve ?? false,
  };
}

/** What a processor's wiring check sees of the whole config (see {@link Factory.checkWiring}). */
export interface WiringContext {
  /** The processor's own ID. */
  id: string;
  componentIds: Record<ComponentKind, readonly string[]>;
  pipelines: Readonly<Record<string, { receivers: readonly string[]; processors: readonly string[]; exporters: readonly string[] }>>;
  /** The capabilities of every defined exporter whose config is valid. */
  exporterCapabilities: Readonly<Record<string, ExporterCapabilities>>;
}

/** A read-only view of the assembled config that some components need. */
export interface ServiceView {
  /** Every exporter's declared capabilities (see {@link ExporterCapabilities}); absent in some tests. */
  exporterCapabilities?: Readonly<Record<string, ExporterCapabilities>>;
  /** Every defined component ID by kind. */
  componentIds: Record<ComponentKind, readonly string[]>;
  /** `service.telemetry.endpoint` (host:port), where /metrics, /healthz and /readyz are served. */
  telemetryEndpoint?: string;
  /** Pipelines by name, with their component ID lists. */
  pipelines: Readonly<Record<string, { receivers: readonly string[]; processors: readonly string[]; exporters: readonly string[] }>>;
}

/**
 * Declared capabilities: the core acts on these, never on a component's type or ID.
 * (Collector: `consumer.Capabilities{MutatesData}` and `service/internal/graph/capabilities.go`.)
 */
export interface Capabilities {
  /**
   * Processors: `process` changes the batch it is given (adds attributes, drops items). Where one batch
   * goes to several pipelines, the graph gives such a pipeline a copy of its own; pipelines whose
   * processors only read share the batch.
   */
  mutatesData?: boolean;
  /**
   * Processors: the signals it derives and emits on its own (`percentiles`: metrics; `alerts`: alerts).
   * Derived data reaches the rest of every pipeline that lists the processor, whatever the pipeline's name,
   * and counts as what the pipeline carries when exporters are checked.
   */
  derives?: readonly SignalName[];
  /**
   * Processors: `process` may resolve before the batch went on to the `next` it was given (it holds
   * batches and sends them later, as `batch` does). A reload never keeps such a processor running: it is
   * shut down, which sends what it holds into the pipelines it was given, before their exporters stop.
   */
  holdsBatches?: boolean;
}

/** A path-scoped config problem a factory's `validate` reports (path relative to the component's config). */
export interface ConfigIssue {
  /** JSON-pointer-like list of keys/indices below the component's own config, e.g. ['rules', 2, 'where']. */
  path: (string | number)[];
  message: string;
}

/**
 * The factory every component has. `schema` (a TypeBox schema, i.e. JSON Schema) is compiled by Ajv with
 * defaults applied and unknown keys rejected; `Static<typeof schema>` is the config type.
 */
export interface Factory<C = unknown> {
  /** The type name used in component IDs (`otlp`, `slack`, ...). */
  type: string;
  kind: ComponentKind;
  schema: TSchema;
  /** The signals the component handles; the others pass through a processor unchanged. */
  signals: readonly SignalName[];
  /** What the graph and the config checks may assume of the component (none declared: none of them). */
  capabilities?: Capabilities;
  /**
   * Cross-field checks the schema cannot express (a regex that does not compile, a template that does
   * not parse). Called after schema validation and defaults; each issue is reported with its position.
   */
  validate?(config: C): ConfigIssue[];
  /**
   * Keys of lists (at any depth: `rules`, `routes`) whose items stand alone, named by nothing else in the
   * config. When the schema refuses an item of one, `validate` still runs, on the config without that item,
   * so that the problems of the other items are reported in the same run (paths point into the config as
   * written). Without it, a schema error leaves `validate` out.
   */
  independentItems?: readonly string[];
  /**
   * Checks that need the rest of the config (a route naming an exporter): called once every component's
   * own config is valid; each issue is reported at its position in the component's config.
   */
  checkWiring?(config: C, context: WiringContext): ConfigIssue[];
  /**
   * For exporters: what it does with alert notifications, which may depend on its config (see
   * {@link ExporterCapabilities}); by default it takes alerts when its `signals` include them.
   */
  alertCapabilities?(config: C): Partial<ExporterCapabilities>;
  /** Network endpoints (host:port) the config binds, for the "endpoint used twice" check. */
  endpoints?(config: C): string[];
  create(settings: CreateSettings, config: C): Component;
  /**
   * A small raw config the conformance test creates and starts the component with, when `{}` is not
   * enough (a required URL) or would bind a fixed port: loopback targets, port 0. Defaults to `{}`.
   */
  example?: Record<string, unknown>;
}

/**
 * Folder of a component's own state below the service's state directory: `<state_dir>/<kind>s/<name>`, where
 * `<name>` is {@link stateDirName} of its id.
 */
export function stateDirFor(settings: Pick<CreateSettings, 'stateDir' | 'kind' | 'id'>): string {
  return `${settings.stateDir}/${settings.kind}s/${stateDirName(settings.id)}`;
}

/**
 * The folder name of component id `type[/name]`: `type_name`, each character of the name outside
 * `[A-Za-z0-9_.-]` written `%XX` (ASCII, hex) or `%uXXXX` (any other UTF-16 unit), so that two ids never share a
 * folder (`webhook/a@b` is `webhook_a%40b`, `webhook/a_b` is `webhook_a_b`). Ids of those characters only keep
 * the name vigil always gave them.
 */
export function stateDirName(id: string): string {
  const slash = id.indexOf('/');
  if (slash < 0) return escapeName(id);
  return `${escapeName(id.slice(0, slash))}_${escapeName(id.slice(slash + 1))}`;
}

function escapeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, (c) => {
    const unit = c.charCodeAt(0);
    return unit < 0x80 ? `%${unit.toString(16).toUpperCase().padStart(2, '0')}` : `%u${unit.toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/**
 * The folder name versions before 2026-11-30 gave component id `id` (every character outside `[A-Za-z0-9_.-]`
 * written `_`, so `webhook/a@b` and `webhook/a_b` shared one): where the state of an id with such characters is
 * found after an upgrade.
 */
export function legacyStateDirName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** A consumer that drops everything (for an exporter's `emit`). */
export const NOOP_CONSUMER: Consumer = { consume: () => Promise.resolve() };
