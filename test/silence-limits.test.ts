import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SILENCE_LIMITS, SilenceInputError, SilenceStore, silenceState } from '../src/silence-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-silence-limits-'));
  dirs.push(d);
  return d;
}

const NOW = Date.parse('2026-11-30T12:00:00Z');
const H = 3_600_000;

function silence(matchers: { name: string; value: string; isRegex: boolean }[], comment = 'deploy') {
  return { matchers, startsAt: new Date(NOW).toISOString(), endsAt: new Date(NOW + 2 * H).toISOString(), createdBy: 'test', comment };
}

describe('silence store bounds', () => {
  it('a silence bigger than the per-silence limit (many matchers, or one huge value) is refused with a message saying so', async () => {
    const store = SilenceStore.open(tempDir());
    const many = Array.from({ length: 5000 }, (_, i) => ({ name: `l${i}`, value: 'x', isRegex: false }));
    const err = await store.upsert(silence(many), NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SilenceInputError);
    expect((err as Error).message).toMatch(new RegExp(`over the limit of ${DEFAULT_SILENCE_LIMITS.maxSilenceBytes}`));
    const huge = await store.upsert(silence([{ name: 'alertname', value: 'x'.repeat(200_000), isRegex: false }]), NOW).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(SilenceInputError);
    expect(store.list()).toHaveLength(0);
    // an ordinary one still goes in
    await store.upsert(silence([{ name: 'alertname', value: 'X', isRegex: false }]), NOW);
    expect(store.list()).toHaveLength(1);
  });

  it('creating and expiring silences in a loop keeps the set bounded and never blocks a new silence', async () => {
    const dir = tempDir();
    const store = SilenceStore.open(dir, undefined, { maxSilences: 5, maxSilenceBytes: 4096, maxBytes: 1 << 20 });
    for (let i = 0; i < 20; i++) {
      const t = NOW + i * 1000;
      const id = await store.upsert({ ...silence([{ name: 'alertname', value: `A${i}`, isRegex: false }]), startsAt: new Date(t).toISOString() }, t);
      await store.expire(id, t + 500);
    }
    const end = NOW + 20 * 1000;
    expect(store.list()).toHaveLength(5);
    // the most recently expired are the ones kept
    expect(store.list().map((s) => s.matchers[0]!.value)).toEqual(['A15', 'A16', 'A17', 'A18', 'A19']);
    expect(store.list().every((s) => silenceState(s, end) === 'expired')).toBe(true);
    // still room for live ones: they push the expired ones out
    for (let i = 0; i < 5; i++) await store.upsert(silence([{ name: 'alertname', value: `L${i}`, isRegex: false }]), end);
    expect(store.list().map((s) => silenceState(s, end))).toEqual(['active', 'active', 'active', 'active', 'active']);
    // live silences beyond the count are refused, and nothing is dropped for them
    const err = await store.upsert(silence([{ name: 'alertname', value: 'L5', isRegex: false }]), end).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SilenceInputError);
    expect((err as Error).message).toMatch(/too many active and pending silences \(limit 5\)/);
    expect(store.list()).toHaveLength(5);
    // what is on disk is what is held
    expect(SilenceStore.open(dir).list()).toHaveLength(5);
  });

  it('the bytes of all the live silences are bounded too', async () => {
    const store = SilenceStore.open(tempDir(), undefined, { maxSilences: 1000, maxSilenceBytes: 8192, maxBytes: 16_384 });
    const comment = 'c'.repeat(4000);
    let refused: unknown;
    for (let i = 0; i < 10 && !refused; i++) refused = await store.upsert(silence([{ name: 'alertname', value: `A${i}`, isRegex: false }], comment), NOW).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(SilenceInputError);
    expect((refused as Error).message).toMatch(/would take \d+ bytes \(limit 16384\)/);
    expect(store.list().length).toBe(3);
  });
});
