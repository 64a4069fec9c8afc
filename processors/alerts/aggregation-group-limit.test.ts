/**
 * The dispatcher's bound on notification groups (`max_aggregation_groups` per route, after Alertmanager's
 * dispatcher group limit): alerts that would open more groups go to the route's one overflow group, are
 * still notified (nothing lost), and are counted once while they stay there; with no rule `limit` (0) an
 * alert storm over a high-cardinality group_by cannot grow the groups or the notifications without end.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configFor } from '../../test/helpers/index.ts';
import { DEFAULT_MAX_AGGREGATION_GROUPS, OVERFLOW_GROUP_LABELS } from './dispatcher.ts';
import { startQueueBacklog } from './testdata/queue-backlog.ts';
import { alertsProcessorFactory } from './index.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const setup = (extra: Record<string, unknown>) => startQueueBacklog(dirs, { limit: 0 }, extra);

describe('aggregation group limit', () => {
  it('puts the alerts past max_aggregation_groups into one overflow group per route, notified and counted once', async () => {
    const { proc, emitted, send, engine } = await setup({ max_aggregation_groups: 10 });
    await send(0, 50);
    await vi.advanceTimersByTimeAsync(10_000);
    const notes = emitted.alerts;
    // 10 ordinary groups of one alert each, and the overflow group with the other 40
    expect(notes).toHaveLength(11);
    const overflow = notes.filter((n) => n.groupLabels.group_overflow === 'true');
    expect(overflow).toHaveLength(1);
    expect(overflow[0]!.groupLabels).toEqual(OVERFLOW_GROUP_LABELS);
    expect(overflow[0]!.alerts).toHaveLength(40);
    // nothing lost: every user's alert is in some notification
    expect(new Set(notes.flatMap((n) => n.alerts.map((a) => a.labels['user.id']))).size).toBe(50);
    expect(engine.dispatcher.groupCount()).toBe(11);
    expect(engine.dispatcher.groupLimitReached).toBe(40);

    // the same alerts again: counted once while they stay in the overflow group; 500 more users: still 11 groups
    await send(0, 550);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(engine.dispatcher.groupCount()).toBe(11);
    expect(engine.dispatcher.groupLimitReached).toBe(540);
    const last = emitted.alerts.slice(11);
    expect(last.filter((n) => n.groupLabels.group_overflow === 'true').at(-1)!.alerts).toHaveLength(540);
    await proc.shutdown();
  });

  it('has a documented default, and counts the groups in the memory budget while they exist', async () => {
    expect(configFor(alertsProcessorFactory, {}).max_aggregation_groups).toBe(DEFAULT_MAX_AGGREGATION_GROUPS);
    const { proc, send, engine, emitted } = await setup({});
    const before = engine.dispatcher.budget.bytes;
    await send(0, 20);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(engine.dispatcher.groupCount()).toBe(20);
    expect(engine.dispatcher.groupLimitReached).toBe(0);
    const held = engine.dispatcher.budget.bytes - before;
    expect(held).toBeGreaterThan(20 * 500);
    // the alerts themselves are accounted too (never shed: each rule's limit bounds them)
    expect(engine.state.budget.bytes).toBeGreaterThan(20 * 900);
    // the alerts resolve (once the window is fully observed: a restart never resolves): once the resolve
    // is notified their groups go, and so do their bytes
    await vi.advanceTimersByTimeAsync(60_000);
    await send(0, 20, 0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(emitted.alerts.filter((n) => n.status === 'resolved')).toHaveLength(20);
    expect(engine.dispatcher.groupCount()).toBe(0);
    expect(engine.dispatcher.budget.bytes).toBe(before);
    expect(engine.state.budget.bytes).toBe(0);
    await proc.shutdown();
  });
});
