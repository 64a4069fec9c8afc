/**
 * Silences as the alerts engine applies them: those of the config (`silences:`) and the daemon's silence
 * set (src/silence-store.ts, written through the Alertmanager-compatible API, `vigil silence` and the
 * status page). The set is re-read whenever its version changes, which the engine checks at every
 * evaluation: a new or expired silence applies at the next one.
 */
import type { SilenceSource } from '../../src/silence-store.ts';
import { type Matcher, type MatchOp, makeMatcher, matchAll, parseMatcher } from '../../src/matchers.ts';

/** A silence with text matchers (config silences). Times are RFC 3339. */
export interface Silence {
  id: string;
  /** `name=value`, `name!=value`, `name=~regex`, `name!~regex` (regexes fully anchored). */
  matchers: string[];
  startsAt: string;
  endsAt: string;
}

interface ActiveSilence {
  id: string;
  matchers: Matcher[];
  startsMs: number;
  endsMs: number;
}

/** The silences in force (config + the daemon's set), recompiled when the set's version changes. */
export class SilenceSet {
  private fromStore: ActiveSilence[] = [];
  private seenVersion = -1;
  /** Set when a stored silence could not be compiled (the others still apply). */
  lastError: string | undefined;

  constructor(
    private readonly source: SilenceSource | undefined,
    private readonly fromConfig: ActiveSilence[],
  ) {}

  static compile(s: Pick<Silence, 'id' | 'matchers' | 'startsAt' | 'endsAt'>): ActiveSilence {
    return { id: s.id, matchers: s.matchers.map(parseMatcher), startsMs: Date.parse(s.startsAt), endsMs: Date.parse(s.endsAt) };
  }

  /** Recompiles the daemon's silences if they changed; returns true when they did. */
  refresh(): boolean {
    if (!this.source || this.source.version === this.seenVersion) return false;
    this.seenVersion = this.source.version;
    const compiled: ActiveSilence[] = [];
    this.lastError = undefined;
    for (const s of this.source.list()) {
      try {
        const matchers = s.matchers.map((m) => makeMatcher(m.name, (m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=') as MatchOp, m.value));
        compiled.push({ id: s.id, matchers, startsMs: Date.parse(s.startsAt), endsMs: Date.parse(s.endsAt) });
      } catch (e) {
        this.lastError = `silence ${s.id}: ${(e as Error).message}`; // one bad entry does not disable the others
      }
    }
    this.fromStore = compiled;
    return true;
  }

  /** The config's silences with their ids and times (Unix ms). */
  get config(): readonly { id: string; startsMs: number; endsMs: number }[] {
    return this.fromConfig;
  }

  /** Whether any silence is known (active or not). */
  any(): boolean {
    return this.fromConfig.length > 0 || this.fromStore.length > 0;
  }

  /** The id of a silence muting these labels at `nowMs`, or undefined. */
  silencedBy(labels: Readonly<Record<string, string>>, nowMs: number): string | undefined {
    for (const s of this.fromConfig) if (s.startsMs <= nowMs && nowMs < s.endsMs && matchAll(s.matchers, labels)) return s.id;
    for (const s of this.fromStore) if (s.startsMs <= nowMs && nowMs < s.endsMs && matchAll(s.matchers, labels)) return s.id;
    return undefined;
  }

  /** The ids of every silence muting these labels at `nowMs` (for the API's silencedBy). */
  allSilencing(labels: Readonly<Record<string, string>>, nowMs: number): string[] {
    const out: string[] = [];
    for (const s of [...this.fromConfig, ...this.fromStore]) if (s.startsMs <= nowMs && nowMs < s.endsMs && matchAll(s.matchers, labels)) out.push(s.id);
    return out;
  }
}
