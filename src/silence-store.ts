/**
 * Silences, as Alertmanager keeps them: one set for the whole daemon, created, updated and expired through
 * the v2 API (`/api/v2/silences`, used by amtool, Grafana, the status page and `vigil silence`), persisted in
 * `<state_dir>/silences.json` with atomic writes (temp file, fsync, rename). Writes are serialised (one at a
 * time, each on top of the previous), so concurrent API calls never lose one another. Alerts processors read
 * the set through {@link SilenceSource} and apply a change at their next evaluation.
 *
 * Validation follows Alertmanager's `silence.validateSilence`: at least one matcher, valid regexes, not every
 * matcher matching the empty label (which would silence everything), endsAt after startsAt and not in the
 * past. Expired silences are kept for `retentionMs` (Alertmanager's --data.retention, 120h) then dropped.
 *
 * Bounded (Alertmanager's --silences.max-silences and --silences.max-silence-size-bytes, here always on): one
 * silence takes at most {@link SilenceLimits.maxSilenceBytes} (its JSON), the active and pending ones are at
 * most {@link SilenceLimits.maxSilences} and {@link SilenceLimits.maxBytes} in all (beyond, a new one is
 * refused with 400), and expired ones are kept only within the same two bounds, the longest expired dropped
 * first: creating and expiring silences in a loop neither grows the set without end nor blocks new silences.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readJsonSync, readStateFile, removeStaleTemps, writeFileAtomic } from './atomic-file.ts';
import { type AmMatcher, MatcherError, compileAmMatcher, parseAmMatcher } from './api/matchers.ts';
import { ErrorCodes, VigilError } from './errors.ts';
import { parseApiTime } from './rfc3339.ts';

/** A stored silence (Alertmanager's gettableSilence without its status, which depends on the time). */
export interface StoredSilence {
  id: string;
  matchers: AmMatcher[];
  /** RFC 3339. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  updatedAt: string;
}

/** A silence's state at a time, as Alertmanager's `silenceStatus.state`. */
export type SilenceState = 'active' | 'pending' | 'expired';

/** Alertmanager's postableSilence: `id` set means "update that silence". */
export interface SilenceInput {
  id?: string;
  matchers: AmMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** Read access for the alerts processors. */
export interface SilenceSource {
  /** Changes whenever a silence is added, updated or expired (compare it to skip recompiling). */
  readonly version: number;
  /** Every stored silence, expired ones included; callers check the times. */
  list(): readonly StoredSilence[];
}

/** Bad input (the API answers 400). */
export class SilenceInputError extends VigilError {
  /**
   * `message`: what is wrong. `openApiCode`: set when Alertmanager's OpenAPI validation refuses the same body
   * (a required field missing: 602; too few items: 612), which its API answers with 422 and
   * `{"code": openApiCode, "message": ...}` rather than 400.
   */
  constructor(
    message: string,
    readonly openApiCode?: number,
  ) {
    super(ErrorCodes.SILENCE_INVALID, message);
    this.name = 'SilenceInputError';
  }
}

/** A postableSilence's required fields, in the order Alertmanager's OpenAPI validation reports them (by name). */
const REQUIRED_SILENCE_FIELDS = ['comment', 'createdBy', 'endsAt', 'matchers', 'startsAt'] as const;
/** A matcher's required fields, likewise. */
const REQUIRED_MATCHER_FIELDS = ['isRegex', 'name', 'value'] as const;

/**
 * What Alertmanager's OpenAPI validation refuses with 422 before it reads the silence (api/v2/models, go-openapi's
 * codes): the first required field missing (602, `createdBy in body is required`, `matchers.0.name in body is
 * required`), then an empty matcher list (612). Fields of the wrong type are refused by the JSON decoding before,
 * with 400 (the checks of {@link validateSilenceInput}).
 */
function openApiProblem(o: Record<string, unknown>): SilenceInputError | undefined {
  for (const f of REQUIRED_SILENCE_FIELDS) if (o[f] === undefined || o[f] === null) return new SilenceInputError(`${f} in body is required`, 602);
  if (Array.isArray(o.matchers)) {
    for (const [i, m] of o.matchers.entries()) {
      if (typeof m !== 'object' || m === null) continue;
      for (const f of REQUIRED_MATCHER_FIELDS) if ((m as Record<string, unknown>)[f] === undefined || (m as Record<string, unknown>)[f] === null) return new SilenceInputError(`matchers.${i}.${f} in body is required`, 602);
    }
    if (o.matchers.length === 0) return new SilenceInputError('matchers in body should have at least 1 items', 612);
  }
  return undefined;
}

/** No silence with that id (the API answers 404). */
export class SilenceNotFoundError extends VigilError {
  constructor(id: string) {
    super(ErrorCodes.SILENCE_NOT_FOUND, `silence ${id} not found`);
    this.name = 'SilenceNotFoundError';
  }
}

/**
 * A silence's state at `nowMs` (Unix ms), as Alertmanager decides it: expired once `endsAt` <= now, pending
 * while `startsAt` > now, active otherwise.
 */
export function silenceState(s: Pick<StoredSilence, 'startsAt' | 'endsAt'>, nowMs: number): SilenceState {
  if (Date.parse(s.endsAt) <= nowMs) return 'expired';
  if (Date.parse(s.startsAt) > nowMs) return 'pending';
  return 'active';
}

const RETENTION_MS = 120 * 3_600_000;
const MAX_TEXT = 4096;

/** Bounds of the silence set (see this file's comment); {@link DEFAULT_SILENCE_LIMITS} unless a test says otherwise. */
export interface SilenceLimits {
  /** Silences held at most (active and pending: beyond, a new one is refused; expired ones fill what is left). */
  maxSilences: number;
  /** Bytes of one silence at most (its stored JSON: matchers, comment, createdBy, times). */
  maxSilenceBytes: number;
  /** Bytes of all the silences held at most (counted as maxSilenceBytes is). */
  maxBytes: number;
}

/** 10,000 silences of at most 32 KiB each, 32 MiB in all (what `silences.json` and `GET /api/v2/silences` hold at most). */
export const DEFAULT_SILENCE_LIMITS: Readonly<SilenceLimits> = Object.freeze({ maxSilences: 10_000, maxSilenceBytes: 32 * 1024, maxBytes: 32 * 1024 * 1024 });

/** Bytes a silence takes, as counted against the limits: the UTF-8 length of its JSON. */
export function silenceBytes(s: StoredSilence): number {
  return Buffer.byteLength(JSON.stringify(s));
}

function isoOf(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new SilenceInputError(`${what} is required (an RFC 3339 time)`);
  // Alertmanager's strfmt.DateTime reads "" as the Unix epoch: an empty startsAt is long past (the silence
  // starts now), an empty endsAt is before any start (refused below)
  if (v === '') return new Date(0).toISOString();
  const ms = parseApiTime(v);
  if (ms === undefined || Number.isNaN(ms)) throw new SilenceInputError(`${what} ${JSON.stringify(v)} is not an RFC 3339 time (such as 2026-11-30T12:00:00Z)`);
  return new Date(ms).toISOString();
}

/**
 * Alertmanager's `matchesEmpty` (silence.go), which decides that a silence would mute every alert: `=` with an
 * empty value, `=~` with a regex that matches the empty string; a negative matcher (`!=`, `!~`) never counts,
 * so `severity!="critical"` alone is a valid silence there, and here.
 */
function matchesEmpty(m: AmMatcher): boolean {
  if (!m.isEqual) return false;
  return compileAmMatcher(m).test({});
}

/** Checks and normalises a postable silence; throws SilenceInputError saying what is wrong. */
export function validateSilenceInput(input: unknown, nowMs: number): SilenceInput {
  if (input === null) input = {}; // a JSON null decodes as an empty postableSilence in Alertmanager (422: comment missing)
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SilenceInputError('expected a JSON object (a postableSilence)');
  const o = input as Record<string, unknown>;
  // wrong types first (Alertmanager's JSON decoding: 400), then what its OpenAPI validation refuses (422)
  if (o.matchers !== undefined && o.matchers !== null && !Array.isArray(o.matchers)) throw new SilenceInputError('matchers: expected a list of matchers');
  for (const f of ['createdBy', 'comment'] as const) if (o[f] !== undefined && o[f] !== null && typeof o[f] !== 'string') throw new SilenceInputError(`${f}: expected a string`);
  const missing = openApiProblem(o);
  if (missing) throw missing;
  if (!Array.isArray(o.matchers) || o.matchers.length === 0) throw new SilenceInputError('matchers: at least one matcher is required');
  const matchers: AmMatcher[] = o.matchers.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw new SilenceInputError(`matchers[${i}]: expected {name, value, isRegex, isEqual}`);
    const r = m as Record<string, unknown>;
    if (typeof r.name !== 'string' || r.name === '') throw new SilenceInputError(`matchers[${i}].name: a label name is required`);
    if (typeof r.value !== 'string') throw new SilenceInputError(`matchers[${i}].value: a string is required`);
    if (typeof r.isRegex !== 'boolean') throw new SilenceInputError(`matchers[${i}].isRegex: true or false is required`);
    // isEqual is optional (a pointer in Alertmanager's model): missing or null is true
    if (r.isEqual !== undefined && r.isEqual !== null && typeof r.isEqual !== 'boolean') throw new SilenceInputError(`matchers[${i}].isEqual: true or false expected`);
    const am: AmMatcher = { name: r.name, value: r.value, isRegex: r.isRegex, isEqual: r.isEqual !== false };
    try {
      compileAmMatcher(am);
    } catch (e) {
      throw new SilenceInputError(`matchers[${i}]: ${(e as Error).message}`);
    }
    return am;
  });
  if (matchers.every(matchesEmpty)) throw new SilenceInputError('matchers: at least one matcher must not match the empty string (this silence would mute every alert)');
  const startsAt = isoOf(o.startsAt, 'startsAt');
  if (o.endsAt === '') throw new SilenceInputError('endsAt is empty: give the time the silence ends (RFC 3339)');
  const endsAt = isoOf(o.endsAt, 'endsAt');
  if (Date.parse(endsAt) <= Date.parse(startsAt)) throw new SilenceInputError(`endsAt (${endsAt}) must be after startsAt (${startsAt})`);
  if (Date.parse(endsAt) <= nowMs) throw new SilenceInputError(`endsAt (${endsAt}) is in the past`);
  // an empty createdBy is taken, as Alertmanager takes it (amtool fills it in from the user's name)
  if (typeof o.createdBy !== 'string') throw new SilenceInputError('createdBy is required');
  if (typeof o.comment !== 'string') throw new SilenceInputError('comment is required (a string)');
  if (o.createdBy.length > MAX_TEXT || o.comment.length > MAX_TEXT) throw new SilenceInputError(`createdBy and comment are limited to ${MAX_TEXT} characters`);
  // id is optional: missing, null and "" all mean "a new silence", as in Alertmanager
  if (o.id !== undefined && o.id !== null && typeof o.id !== 'string') throw new SilenceInputError('id: a string expected');
  const id = typeof o.id === 'string' && o.id !== '' ? o.id : undefined;
  return { ...(id ? { id } : {}), matchers, startsAt, endsAt, createdBy: o.createdBy, comment: o.comment };
}

/**
 * The daemon's silence set (see this file's comment): validated writes, serialised and persisted atomically in
 * `<state_dir>/silences.json`. Invalid input throws a `SilenceInputError`.
 */
export class SilenceStore implements SilenceSource {
  private silences: StoredSilence[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  version = 0;

  private constructor(
    readonly file: string,
    private readonly limits: SilenceLimits,
  ) {}

  /**
   * Opens the store of a state directory. A missing file is an empty set; one that cannot be read back is
   * reported through `warn` and, when it is not JSON, moved aside (`.corrupt`: atomic-file.ts readStateFile). Silences that `vigil silence add` wrote before
   * the API existed (`<state_dir>/processors/<alerts id>/silences.json`) are taken over once.
   */
  static open(stateDir: string, warn: (message: string) => void = () => undefined, limits: SilenceLimits = DEFAULT_SILENCE_LIMITS): SilenceStore {
    const store = new SilenceStore(path.join(stateDir, 'silences.json'), limits);
    removeStaleTemps(store.file);
    const { value, problem } = readStateFile(store.file);
    if (problem) warn(`${problem}; starting with no silences`);
    const raw = value === undefined ? legacySilences(stateDir, warn) : value;
    const list = (raw as { silences?: unknown } | undefined)?.silences;
    if (Array.isArray(list)) {
      for (const s of list) {
        try {
          const m = s as StoredSilence;
          const matchers = (m.matchers as unknown[]).map((x) => (typeof x === 'string' ? parseAmMatcher(x) : (x as AmMatcher)));
          for (const x of matchers) compileAmMatcher(x);
          if (typeof m.id !== 'string' || Number.isNaN(Date.parse(m.startsAt)) || Number.isNaN(Date.parse(m.endsAt))) continue;
          store.silences.push({
            id: m.id,
            matchers,
            startsAt: m.startsAt,
            endsAt: m.endsAt,
            createdBy: String(m.createdBy ?? ''),
            comment: String(m.comment ?? ''),
            updatedAt: typeof m.updatedAt === 'string' ? m.updatedAt : m.startsAt,
          });
        } catch (e) {
          warn(`${store.file}: a silence was skipped: ${(e as Error).message}`);
        }
      }
    }
    store.version = 1;
    return store;
  }

  list(): readonly StoredSilence[] {
    return this.silences;
  }

  get(id: string): StoredSilence | undefined {
    return this.silences.find((s) => s.id === id);
  }

  /**
   * Creates a silence, or updates the one named by `input.id` as Alertmanager does: in place while that
   * is possible (same matchers; an active one keeps its start, a pending one may move it but not before now),
   * otherwise by expiring it and creating a new one. Resolves with the id once the set is on disk. Rejects with SilenceInputError
   * (bad input), SilenceNotFoundError (unknown id) or the write's error (the set is then unchanged).
   */
  upsert(raw: unknown, nowMs = Date.now()): Promise<string> {
    return this.serialised(() => {
      const input = validateSilenceInput(raw, nowMs);
      const now = new Date(nowMs).toISOString();
      const next = this.silences.map((s) => ({ ...s }));
      if (input.id) {
        const old = next.find((s) => s.id === input.id);
        if (!old) throw new SilenceNotFoundError(input.id);
        const state = silenceState(old, nowMs);
        const sameMatchers = JSON.stringify(old.matchers) === JSON.stringify(input.matchers);
        // Alertmanager's silences.canUpdate: an active silence keeps its start (a different one, even in the
        // past, makes a new silence), a pending one may move its start but not before now; expired never
        const canUpdate =
          sameMatchers &&
          ((state === 'active' && Date.parse(old.startsAt) === Date.parse(input.startsAt)) || (state === 'pending' && Date.parse(input.startsAt) >= nowMs));
        if (canUpdate) {
          Object.assign(old, { startsAt: input.startsAt, endsAt: input.endsAt, comment: input.comment, createdBy: input.createdBy, updatedAt: now });
          this.checkSize(old);
          return { next, result: old.id };
        }
        if (state !== 'expired') Object.assign(old, { endsAt: now, updatedAt: now, ...(state === 'pending' ? { startsAt: now } : {}) });
      }
      const startsAt = Date.parse(input.startsAt) < nowMs ? now : input.startsAt;
      const created: StoredSilence = { id: crypto.randomUUID(), matchers: input.matchers, startsAt, endsAt: input.endsAt, createdBy: input.createdBy, comment: input.comment, updatedAt: now };
      this.checkSize(created);
      next.push(created);
      return { next, result: created.id };
    }, nowMs);
  }

  /**
   * Ends a silence now. Rejects with SilenceNotFoundError. One that already expired is left as it is and
   * resolves (Alertmanager answers 200 to expiring it again, and keeps its times).
   */
  expire(id: string, nowMs = Date.now()): Promise<StoredSilence> {
    return this.serialised(() => {
      const next = this.silences.map((s) => ({ ...s }));
      const s = next.find((x) => x.id === id);
      if (!s) throw new SilenceNotFoundError(id);
      if (silenceState(s, nowMs) === 'expired') return { next, result: s };
      const now = new Date(nowMs).toISOString();
      if (silenceState(s, nowMs) === 'pending') s.startsAt = now;
      s.endsAt = now;
      s.updatedAt = now;
      return { next, result: s };
    }, nowMs);
  }

  private checkSize(s: StoredSilence): void {
    const bytes = silenceBytes(s);
    if (bytes > this.limits.maxSilenceBytes)
      throw new SilenceInputError(`the silence takes ${bytes} bytes, over the limit of ${this.limits.maxSilenceBytes} (its matchers, comment and createdBy): use fewer or shorter matchers, or a shorter comment`);
  }

  /**
   * `silences` within the limits: throws SilenceInputError when the active and pending ones alone exceed them;
   * otherwise drops the expired ones that do not fit, those that ended first first (the order is kept).
   */
  private bounded(silences: StoredSilence[], nowMs: number): StoredSilence[] {
    const { maxSilences, maxBytes } = this.limits;
    const sizes = new Map<StoredSilence, number>();
    let liveCount = 0;
    let liveBytes = 0;
    const expired: StoredSilence[] = [];
    for (const s of silences) {
      const bytes = silenceBytes(s);
      sizes.set(s, bytes);
      if (silenceState(s, nowMs) === 'expired') expired.push(s);
      else {
        liveCount++;
        liveBytes += bytes;
      }
    }
    if (liveCount > maxSilences) throw new SilenceInputError(`too many active and pending silences (limit ${maxSilences}); expire some first`);
    if (liveBytes > maxBytes) throw new SilenceInputError(`the active and pending silences would take ${liveBytes} bytes (limit ${maxBytes}); expire some first`);
    // the expired ones that ended last are kept while they fit
    expired.sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt));
    const dropped = new Set<StoredSilence>();
    let count = liveCount;
    let bytes = liveBytes;
    for (const s of expired) {
      const b = sizes.get(s)!;
      if (count + 1 > maxSilences || bytes + b > maxBytes) dropped.add(s);
      else {
        count++;
        bytes += b;
      }
    }
    return dropped.size ? silences.filter((s) => !dropped.has(s)) : silences;
  }

  /** Runs one change after the previous one settled; writes the new set, then swaps it in. */
  private serialised<T>(change: () => { next: StoredSilence[]; result: T }, nowMs: number): Promise<T> {
    const run = this.chain.then(async () => {
      const { next, result } = change();
      const kept = this.bounded(
        next.filter((s) => Date.parse(s.endsAt) > nowMs - RETENTION_MS),
        nowMs,
      );
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, silences: kept }, null, 1));
      this.silences = kept;
      this.version++;
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Silences from the per-processor files of earlier versions, merged (undefined when there are none). */
function legacySilences(stateDir: string, warn: (message: string) => void): { silences: unknown[] } | undefined {
  const dir = path.join(stateDir, 'processors');
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const out: unknown[] = [];
  for (const e of entries) {
    const f = path.join(dir, e, 'silences.json');
    try {
      const raw = readJsonSync(f) as { silences?: unknown[] } | undefined;
      if (Array.isArray(raw?.silences)) out.push(...raw.silences);
    } catch (err) {
      warn(`${f}: ${(err as Error).message}`);
    }
  }
  return out.length ? { silences: out } : undefined;
}

export { MatcherError };
