/**
 * Silences: alerts matching every matcher of an active silence are not notified (their resolve still
 * reaches `file` exporters). They come from the config (`silences:`) and from the state directory's
 * `silences.json`, which `vigil silence add|list|expire` edits through the functions below and which the
 * running daemon re-reads whenever it changes (checked at every evaluation).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stateDirFor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { readJsonSync, writeFileAtomicSync } from '../../src/atomic-file.ts';
import { type Matcher, matchAll, parseMatcher } from './matchers.ts';

/** A stored silence. Times are RFC 3339. */
export interface Silence {
  id: string;
  /** `name=value`, `name!=value`, `name=~regex`, `name!~regex` (regexes fully anchored). */
  matchers: string[];
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  createdAt: string;
}

/** What `addSilence` takes: matchers and either `endsAt` or `duration` (a duration string or milliseconds). */
export interface SilenceInput {
  matchers: string[];
  startsAt?: string | Date;
  endsAt?: string | Date;
  duration?: string | number;
  comment?: string;
  createdBy?: string;
}

export type SilenceStatus = 'active' | 'pending' | 'expired';

/** The file the daemon and the CLI share for one alerts processor. */
export function silencesFile(stateDir: string, alertsProcessorId: string): string {
  return path.join(stateDirFor({ stateDir: path.resolve(stateDir), kind: 'processor', id: alertsProcessorId }), 'silences.json');
}

/** Reads a silences file; a missing file is empty; a malformed one throws an Error naming the file. */
export function readSilencesFile(file: string): Silence[] {
  let raw: unknown;
  try {
    raw = readJsonSync(file);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (raw === undefined) return [];
  const list = (raw as { silences?: unknown }).silences;
  if (!Array.isArray(list)) throw new Error(`${file}: expected {"silences": [...]}`);
  return list.filter(
    (s): s is Silence =>
      typeof s === 'object' && s !== null && typeof s.id === 'string' && Array.isArray(s.matchers) && typeof s.startsAt === 'string' && typeof s.endsAt === 'string',
  );
}

function toIso(v: string | Date, what: string): string {
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  if (Number.isNaN(ms)) throw new Error(`invalid ${what} ${JSON.stringify(String(v))}: expected an RFC 3339 time`);
  return new Date(ms).toISOString();
}

export function statusOf(s: Pick<Silence, 'startsAt' | 'endsAt'>, nowMs: number): SilenceStatus {
  if (Date.parse(s.endsAt) <= nowMs) return 'expired';
  if (Date.parse(s.startsAt) > nowMs) return 'pending';
  return 'active';
}

/** Validates and stores a new silence; resolves with it. Throws with a clear message on bad input. */
export async function addSilence(stateDir: string, alertsProcessorId: string, input: SilenceInput, nowMs = Date.now()): Promise<Silence> {
  if (!input.matchers?.length) throw new Error('a silence needs at least one matcher (--matcher name=value)');
  for (const m of input.matchers) parseMatcher(m);
  const startsAt = input.startsAt !== undefined ? toIso(input.startsAt, 'start time') : new Date(nowMs).toISOString();
  let endsAt: string;
  if (input.endsAt !== undefined) {
    if (input.duration !== undefined) throw new Error('give an end time or a duration, not both');
    endsAt = toIso(input.endsAt, 'end time');
  } else if (input.duration !== undefined) {
    const ms = typeof input.duration === 'number' ? input.duration : parseDuration(input.duration);
    if (!(ms > 0)) throw new Error('a silence duration must be above 0');
    endsAt = new Date(Date.parse(startsAt) + ms).toISOString();
  } else throw new Error('a silence needs a duration (--duration 2h) or an end time');
  if (Date.parse(endsAt) <= Date.parse(startsAt)) throw new Error('a silence must end after it starts');
  const silence: Silence = {
    id: crypto.randomUUID(),
    matchers: [...input.matchers],
    startsAt,
    endsAt,
    comment: input.comment ?? '',
    createdBy: input.createdBy ?? (process.env.USER || 'cli'),
    createdAt: new Date(nowMs).toISOString(),
  };
  const file = silencesFile(stateDir, alertsProcessorId);
  // expired silences are kept a day for the record, then dropped, so the file stays small
  const kept = readSilencesFile(file).filter((s) => Date.parse(s.endsAt) > nowMs - 86_400_000);
  kept.push(silence);
  writeFileAtomicSync(file, JSON.stringify({ silences: kept }, null, 2));
  return silence;
}

/** Every stored silence with its status at `nowMs`. */
export async function listSilences(stateDir: string, alertsProcessorId: string, nowMs = Date.now()): Promise<(Silence & { status: SilenceStatus })[]> {
  return readSilencesFile(silencesFile(stateDir, alertsProcessorId)).map((s) => ({ ...s, status: statusOf(s, nowMs) }));
}

/** Ends a silence now (its id, or a unique prefix of it); resolves with the updated silence. */
export async function expireSilence(stateDir: string, alertsProcessorId: string, silenceId: string, nowMs = Date.now()): Promise<Silence> {
  const file = silencesFile(stateDir, alertsProcessorId);
  const list = readSilencesFile(file);
  const hits = list.filter((s) => s.id === silenceId || (silenceId.length >= 4 && s.id.startsWith(silenceId)));
  if (hits.length === 0) throw new Error(`no silence with id ${silenceId}`);
  if (hits.length > 1) throw new Error(`silence id prefix ${silenceId} is ambiguous`);
  const s = hits[0]!;
  const now = new Date(nowMs).toISOString();
  if (Date.parse(s.endsAt) > nowMs) s.endsAt = now;
  if (Date.parse(s.startsAt) > nowMs) s.startsAt = now;
  writeFileAtomicSync(file, JSON.stringify({ silences: list }, null, 2));
  return s;
}

interface ActiveSilence {
  id: string;
  matchers: Matcher[];
  startsMs: number;
  endsMs: number;
}

/** The silences in force (config + file), re-reading the file when its mtime or size changes. */
export class SilenceSet {
  private fromFile: ActiveSilence[] = [];
  private fileSig = '';
  /** Set when the file could not be read (kept until it reads again). */
  lastError: string | undefined;

  constructor(
    private readonly file: string | undefined,
    private readonly fromConfig: ActiveSilence[],
  ) {}

  static compile(s: Pick<Silence, 'id' | 'matchers' | 'startsAt' | 'endsAt'>): ActiveSilence {
    return { id: s.id, matchers: s.matchers.map(parseMatcher), startsMs: Date.parse(s.startsAt), endsMs: Date.parse(s.endsAt) };
  }

  /** Re-reads the file if it changed; returns true when it did. */
  refresh(): boolean {
    if (!this.file) return false;
    let sig: string;
    try {
      const st = fs.statSync(this.file);
      sig = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      sig = 'missing';
    }
    if (sig === this.fileSig) return false;
    this.fileSig = sig;
    try {
      const compiled: ActiveSilence[] = [];
      for (const s of readSilencesFile(this.file)) {
        try {
          compiled.push(SilenceSet.compile(s));
        } catch {
          // one bad entry (edited by hand) does not disable the others
        }
      }
      this.fromFile = compiled;
      this.lastError = undefined;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
    return true;
  }

  /** Whether any silence is known (active or not). */
  any(): boolean {
    return this.fromConfig.length > 0 || this.fromFile.length > 0;
  }

  /** The id of a silence muting these labels at `nowMs`, or undefined. */
  silencedBy(labels: Readonly<Record<string, string>>, nowMs: number): string | undefined {
    for (const s of this.fromConfig) if (s.startsMs <= nowMs && nowMs < s.endsMs && matchAll(s.matchers, labels)) return s.id;
    for (const s of this.fromFile) if (s.startsMs <= nowMs && nowMs < s.endsMs && matchAll(s.matchers, labels)) return s.id;
    return undefined;
  }
}
