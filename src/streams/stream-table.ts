/**
 * The streams a MetricStreamReader holds: per context (resource, scope and metric, one string key built
 * once per metric of a batch) a trie over the point's attributes, sorted by key, one level for the
 * attribute's key and one for its value. Values are map keys as they are (a string, an int64 bigint, a
 * double, a boolean: `"3"`, `3n` and `3` are three streams, as the OTLP data model says); only arrays,
 * key-value lists and bytes are rendered to a string. Finding a stream builds no string and allocates
 * nothing when the attributes arrive sorted. Streams are also kept in one set, in the order of a second-chance
 * (CLOCK) approximation of least recent use: a point only sets a flag on its stream, and the eviction walks
 * from the oldest, moving a flagged stream to the end with its flag cleared, until it meets one not used
 * since it was last passed. A set kept in exact use order cost a delete and an add at every point (7% of a
 * cumulative point's cost in the three processors that read them). An idle sweep walks the set, not the tries.
 */
import { attributesKey } from '../attributes.ts';
import type { AnyValue, KeyValue } from '../model.ts';
import type { StreamState } from './cumulative.ts';

type Trie = Map<unknown, unknown>;
/** The key under which a trie node holds the stream whose attributes end there. */
const END = Symbol('stream');

/**
 * The cumulative streams a {@link MetricStreamReader} holds, per context and attributes (see this file's comment).
 */
export class StreamTable {
  private readonly roots = new Map<string, Trie>();
  private readonly all = new Set<StreamState>();

  get size(): number {
    return this.all.size;
  }

  /** The trie of one context (created when missing). */
  root(context: string): Trie {
    let r = this.roots.get(context);
    if (!r) this.roots.set(context, (r = new Map()));
    return r;
  }

  /** The stream of `attrs` under `root`, if held. */
  find(root: Trie, attrs: readonly KeyValue[]): StreamState | undefined {
    const list = sortedByKey(attrs);
    let node: Trie | undefined = root;
    for (let i = 0; i < list.length && node; i++) {
      const kv = list[i]!;
      const byValue = node.get(kv.key) as Trie | undefined;
      node = byValue?.get(valueKey(kv.value)) as Trie | undefined;
    }
    return node?.get(END) as StreamState | undefined;
  }

  /** Holds `state` as the stream of `attrs` under the context `context`. */
  add(context: string, attrs: readonly KeyValue[], state: StreamState): void {
    const list = sortedByKey(attrs);
    const path: unknown[] = [];
    let node = this.root(context);
    for (let i = 0; i < list.length; i++) {
      const kv = list[i]!;
      const vk = valueKey(kv.value);
      path.push(kv.key, vk);
      let byValue = node.get(kv.key) as Trie | undefined;
      if (!byValue) node.set(kv.key, (byValue = new Map()));
      let next = byValue.get(vk) as Trie | undefined;
      if (!next) byValue.set(vk, (next = new Map()));
      node = next;
    }
    node.set(END, state);
    state.context = context;
    state.path = path;
    this.all.add(state);
  }

  /** Forgets a stream, and the trie nodes left empty. */
  delete(state: StreamState): void {
    if (!this.all.delete(state)) return;
    const root = this.roots.get(state.context);
    if (!root) return;
    const nodes: Trie[] = [root];
    let node: Trie | undefined = root;
    const path = state.path;
    for (let i = 0; i < path.length && node; i += 2) {
      const byValue = node.get(path[i]) as Trie | undefined;
      if (!byValue) return;
      nodes.push(byValue);
      node = byValue.get(path[i + 1]) as Trie | undefined;
      if (node) nodes.push(node);
    }
    if (!node) return;
    node.delete(END);
    // walk back up, dropping maps that became empty
    for (let j = nodes.length - 1; j > 0; j--) {
      if (nodes[j]!.size !== 0) break;
      nodes[j - 1]!.delete(path[j - 1]);
    }
    if (root.size === 0) this.roots.delete(state.context);
  }

  /** Marks `state` as used: {@link oldest} passes over it once more before it can be the one evicted. */
  touch(state: StreamState): void {
    state.used = true;
  }

  /**
   * The stream to evict: the oldest in the set not used since the walk last passed it; the used ones it
   * meets first go to the end, unflagged (second chance). A stream with points is never evicted before every
   * stream idle since the last walk. Amortized O(1): each stream is moved at most once per point it had.
   */
  oldest(): StreamState | undefined {
    for (const s of this.all) {
      if (!s.used) return s;
      s.used = false;
      this.all.delete(s);
      this.all.add(s);
    }
    return undefined;
  }

  /** Every stream held, in eviction order (safe to delete from while iterating). */
  values(): IterableIterator<StreamState> {
    return this.all.values();
  }
}

function sortedByKey(attrs: readonly KeyValue[]): readonly KeyValue[] {
  for (let i = 1; i < attrs.length; i++) if (attrs[i - 1]!.key > attrs[i]!.key) return attrs.slice().sort(byKey);
  return attrs;
}

function byKey(a: KeyValue, b: KeyValue): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** A value as a map key: scalars as they are; arrays, key-value lists and bytes as a tagged string. */
function valueKey(v: AnyValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  return `\u0000${attributesKey([{ key: '', value: v }])}`;
}
