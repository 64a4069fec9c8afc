/**
 * The open/closed state of each incident an on-call exporter (pagerduty, opsgenie) manages, followed in
 * the order notifications ARRIVE, not the order their deliveries finish, and kept on disk so that a restart
 * keeps it.
 *
 * Why: an incident is opened by a trigger and closed by a resolve that carry the same key (PagerDuty's
 * `dedup_key`, Opsgenie's `alias`). Deliveries run concurrently and retry, so a trigger that failed once can
 * come out after the resolve queued behind it, and would re-open an incident that is over; and a
 * notification can report some alerts of a group resolved while others still fire. So each key holds the
 * fingerprints of its alerts that fire, as of the last notification accepted; an incident is `firing` while
 * that set is not empty. An exporter sends a notification only when its status is the incident's current
 * one (a stale trigger after the resolve, or a partial resolve while the group still fires, is skipped).
 *
 * File: `<exporter state dir>/incidents.json`, rewritten atomically after accepted notifications, without
 * blocking and once for all the notifications accepted while a write runs (./state-file-writer.ts): `accept`
 * resolves once the state it applied is on disk, and the exporter queues the notifications after that. A save
 * that fails (disk full) keeps the previous file, is reported (`onSaveState`: /readyz names the exporter's
 * state file) and retried every `retryMs`, at the next change and at close, until it works. A
 * reload takes over the state held in memory by the exporter it replaces (newer than the file when saves
 * failed). Bounded: at most `maxKeys` incidents; closed ones are forgotten after `keepClosedMs`, and the
 * oldest closed (then the oldest open) go first when the bound is reached.
 */
import path from 'node:path';
import type { Logger } from '../logger.ts';
import type { AlertNotification } from '../model.ts';
import { readStateFile, removeStaleTemps } from '../atomic-file.ts';
import { StateFileWriter } from './state-file-writer.ts';

interface Incident {
  /** Fingerprints of the group's alerts that fire. */
  firing: string[];
  /** Last change (ms since the epoch). */
  at: number;
}

/** An incident's status, as the alert notification that opens or closes it says (`firing` or `resolved`). */
export type IncidentStatus = 'firing' | 'resolved';

/** Bounds, clock and save-failure reporting of an {@link IncidentState}. */
export interface IncidentStateOptions {
  /** Incidents held at most (default 10 000). */
  maxKeys?: number;
  /** How long a closed incident is remembered (ms, default 7 days). */
  keepClosedMs?: number;
  now?: () => number;
  /** Called with why when a save starts failing (and at each failed retry), with undefined once a save works again. */
  onSaveState?: (problem: string | undefined) => void;
  /** How often a save that failed is tried again (ms, default 5 s). */
  retryMs?: number;
}

/**
 * The open/closed state of an on-call exporter's incidents, in arrival order (see this file's comment), kept in
 * `<dir>/incidents.json`; at most `maxKeys` incidents (default 10 000), closed ones kept `keepClosedMs` (default 7 days).
 */
export class IncidentState {
  private readonly incidents = new Map<string, Incident>();
  private readonly file: string;
  private readonly maxKeys: number;
  private readonly keepClosedMs: number;
  private readonly now: () => number;
  /** The state was loaded (from the file or a previous instance): only then is it worth taking over. */
  private loaded = false;
  /** The last save failed: the file is older than the state in memory. */
  private saveFailing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly writer: StateFileWriter;

  constructor(
    dir: string,
    private readonly logger: Logger,
    private readonly opts: IncidentStateOptions = {},
  ) {
    this.file = path.join(dir, 'incidents.json');
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.keepClosedMs = opts.keepClosedMs ?? 7 * 24 * 3600_000;
    this.now = opts.now ?? Date.now;
    this.writer = new StateFileWriter(this.file, () => JSON.stringify(Object.fromEntries(this.incidents)), (err) => this.written(err));
  }

  /**
   * Reads the saved state; a missing file is an empty state, an unreadable one is logged and ignored. Given the
   * state of the exporter a reload replaces (same file), takes over what it holds in memory instead, and saves it
   * when its last save had failed.
   */
  load(previous?: IncidentState): void {
    this.loaded = true;
    if (previous && previous.loaded && previous.file === this.file) {
      for (const [k, v] of previous.incidents) this.incidents.set(k, v);
      if (previous.saveFailing) void this.writer.save();
      return;
    }
    removeStaleTemps(this.file);
    const { value, problem } = readStateFile(this.file, (v) => (v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'expected a JSON object of incidents by key'));
    if (problem) this.logger.warn({ err: problem, file: this.file }, 'cannot read the saved incident state; starting without it');
    for (const [k, v] of Object.entries((value ?? {}) as Record<string, Incident>)) {
      if (v && Array.isArray(v.firing) && typeof v.at === 'number') this.incidents.set(k, { firing: v.firing.filter((f) => typeof f === 'string'), at: v.at });
    }
  }

  /**
   * Applies notifications in arrival order (`key` gives each one's incident key) and saves the state; resolves
   * (never rejects) once a save that includes them has ended, worked or not (a failed one is retried).
   */
  accept(ns: readonly AlertNotification[], key: (n: AlertNotification) => string): Promise<void> {
    const now = this.now();
    for (const n of ns) {
      const k = key(n);
      const inc = this.incidents.get(k) ?? { firing: [], at: now };
      const set = new Set(inc.firing);
      for (const a of n.alerts ?? []) {
        if (a.status === 'firing') set.add(a.fingerprint);
        else set.delete(a.fingerprint);
      }
      // A firing notification whose alerts carry no fingerprint still opens the incident.
      if (n.status === 'firing' && set.size === 0) set.add('');
      if (n.status === 'resolved' && set.size === 1 && set.has('')) set.clear();
      this.incidents.delete(k); // re-insert: Map order is then "least recently changed first"
      this.incidents.set(k, { firing: [...set], at: now });
    }
    this.prune(now);
    return this.writer.save();
  }

  /** The incident's status as of the last accepted notification (`resolved` when unknown). */
  status(key: string): IncidentStatus {
    const inc = this.incidents.get(key);
    return inc && inc.firing.length ? 'firing' : 'resolved';
  }

  /** Incidents held (tests). */
  get size(): number {
    return this.incidents.size;
  }

  /** Whether the state in memory is not in the file (its last save failed). */
  get unsaved(): boolean {
    return this.saveFailing;
  }

  /** Waits for the saves under way; a state that could not be saved is tried once more (at shutdown); stops the retry timer. */
  async close(): Promise<void> {
    await this.writer.idle();
    if (this.saveFailing) await this.writer.save();
    this.stopRetry();
  }

  private prune(now: number): void {
    for (const [k, v] of this.incidents) if (!v.firing.length && now - v.at > this.keepClosedMs) this.incidents.delete(k);
    if (this.incidents.size <= this.maxKeys) return;
    for (const [k, v] of this.incidents) {
      if (this.incidents.size <= this.maxKeys) return;
      if (!v.firing.length) this.incidents.delete(k);
    }
    for (const k of this.incidents.keys()) {
      if (this.incidents.size <= this.maxKeys) return;
      this.incidents.delete(k);
    }
  }

  /** The outcome of a save: reported, and retried on a timer while it fails. */
  private written(err: Error | undefined): void {
    if (err) {
      const message = err.message;
      if (!this.saveFailing)
        this.logger.error({ err: message, file: this.file }, 'cannot save the incident state (the previous file is kept; retried until it works, at the next change and at shutdown)');
      this.saveFailing = true;
      this.opts.onSaveState?.(`cannot save the incident state: ${message}`);
      if (!this.retryTimer) {
        this.retryTimer = setInterval(() => void this.writer.save(), this.opts.retryMs ?? 5000);
        this.retryTimer.unref();
      }
      return;
    }
    this.stopRetry();
    if (!this.saveFailing) return;
    this.saveFailing = false;
    this.logger.info({ file: this.file }, 'the incident state is saved again');
    this.opts.onSaveState?.(undefined);
  }

  private stopRetry(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }
}
