/**
 * The component registry the core is handed: which receivers, processors and exporters exist, and how to
 * load each one. The core (config loading, the graph, the service) looks factories up only here and
 * imports no component; the application (app/components.ts) lists them, tests add their doubles with
 * {@link ComponentRegistry.with}. (Collector: `otelcol.Factories`, built by the distribution, not the core.)
 *
 * Entries load lazily: a factory's module (and what it imports: nodemailer, grpc-js ...) is imported only
 * when a config names its type, so `vigil validate` and start-up pay only for the components in use.
 */
import type { ComponentKind, Factory } from './component.ts';

/** One registry entry: a component type and how to load its factory. */
export interface RegistryEntry {
  kind: ComponentKind;
  type: string;
  /** Imports the component's module and returns its factory; called at most once per registry. */
  load(): Promise<Factory<any>>;
}

const key = (kind: ComponentKind, type: string): string => `${kind}:${type}`;

/** The registry of component factories, loaded lazily (see the module comment). */
export class ComponentRegistry {
  private readonly entries = new Map<string, RegistryEntry>();
  private readonly loadedFactories = new Map<string, Factory<any>>();
  private readonly loading = new Map<string, Promise<Factory<any>>>();

  /** `items`: lazy entries, or factories already loaded (tests' doubles). A later item of the same kind and type wins. */
  constructor(items: Iterable<RegistryEntry | Factory<any>> = []) {
    for (const item of items) this.add(item);
  }

  private add(item: RegistryEntry | Factory<any>): void {
    const k = key(item.kind, item.type);
    if ('create' in item) {
      this.entries.set(k, { kind: item.kind, type: item.type, load: () => Promise.resolve(item) });
      this.loadedFactories.set(k, item);
    } else {
      this.entries.set(k, item);
      this.loadedFactories.delete(k);
    }
    this.loading.delete(k);
  }

  /** A new registry with these entries or factories added (or replacing those of the same kind and type). */
  with(...items: (RegistryEntry | Factory<any>)[]): ComponentRegistry {
    const r = new ComponentRegistry(this.entries.values());
    for (const [k, f] of this.loadedFactories) r.loadedFactories.set(k, f);
    for (const item of items) r.add(item);
    return r;
  }

  /** The registered types of a kind, sorted. */
  types(kind: ComponentKind): string[] {
    return [...this.entries.values()].filter((e) => e.kind === kind).map((e) => e.type).sort();
  }

  /** Whether `type` of `kind` is registered (without loading it). */
  has(kind: ComponentKind, type: string): boolean {
    return this.entries.has(key(kind, type));
  }

  /**
   * Loads (once) and returns the factory of `type` of `kind`; undefined when no such type is registered.
   * Rejects when the component's module fails to import, or its factory names another kind or type.
   */
  load(kind: ComponentKind, type: string): Promise<Factory<any> | undefined> {
    const k = key(kind, type);
    const done = this.loadedFactories.get(k);
    if (done) return Promise.resolve(done);
    const entry = this.entries.get(k);
    if (!entry) return Promise.resolve(undefined);
    let p = this.loading.get(k);
    if (!p) {
      p = entry.load().then((f) => {
        if (f.kind !== kind || f.type !== type) throw new Error(`registry entry ${kind} "${type}" loaded the factory of ${f.kind} "${f.type}"`);
        this.loadedFactories.set(k, f);
        return f;
      });
      this.loading.set(k, p);
    }
    return p;
  }

  /** The factory of `type` of `kind` if it is already loaded (by {@link load}); undefined otherwise. */
  loaded(kind: ComponentKind, type: string): Factory<any> | undefined {
    return this.loadedFactories.get(key(kind, type));
  }

  /** Loads and returns every registered factory (the conformance test and docs use it). */
  async all(): Promise<Factory<any>[]> {
    const out: Factory<any>[] = [];
    for (const e of this.entries.values()) out.push((await this.load(e.kind, e.type))!);
    return out;
  }
}
