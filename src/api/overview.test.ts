import { describe, expect, it } from 'vitest';
import type { AlertStatus } from '../status.ts';
import type { GettableSilence } from './alertmanager.ts';
import { OVERVIEW_MAX_LISTED, buildOverview, type OverviewInputs } from './overview.ts';

const T = Date.parse('2026-11-30T12:00:00Z');

function alert(i: number, state: 'firing' | 'pending'): AlertStatus {
  const at = new Date(T - i * 1000).toISOString();
  return { labels: { alertname: 'Storm', 'user.id': `u${i}` }, annotations: {}, state, startsAt: at, updatedAt: at, endsAt: at, fingerprint: `f${i}`, generatorURL: '', value: 1, rule: 'Storm', receivers: [], groups: [], inhibitedBy: [], silencedBy: [] };
}

function silence(i: number, state: GettableSilence['status']['state']): GettableSilence {
  const at = new Date(T).toISOString();
  return { id: `s${i}`, status: { state }, updatedAt: at, matchers: [{ name: 'user.id', value: `u${i}`, isRegex: false, isEqual: true }], startsAt: at, endsAt: at, createdBy: 'x', comment: 'y' };
}

function inputs(alerts: AlertStatus[], silences: GettableSilence[]): OverviewInputs {
  return {
    version: 'test',
    startedAt: T,
    notReadyReason: undefined,
    pipelines: {},
    componentIds: { receiver: [], processor: ['alerts'], exporter: [] },
    stats: new Map(),
    statuses: [{ kind: 'processor', id: 'alerts', status: { alerts: { alerts, rules: [], notifications: [], lastEvaluationMs: T, intervalMs: 10_000, configSilences: [], receivers: [], routes: [] } } }],
    silences,
    api: { tokenRequired: false, writable: false },
  };
}

describe('overview size', () => {
  it('an alert storm and thousands of silences: the overview lists at most OVERVIEW_MAX_LISTED of each (firing and live first) and counts the rest exactly', () => {
    const alerts = [...Array.from({ length: 3000 }, (_, i) => alert(i, 'pending')), ...Array.from({ length: 7000 }, (_, i) => alert(3000 + i, 'firing'))];
    const silences = [...Array.from({ length: 4000 }, (_, i) => silence(i, 'expired')), ...Array.from({ length: 600 }, (_, i) => silence(4000 + i, 'active'))];
    const o = buildOverview(inputs(alerts, silences), T);
    expect(o.alerts.list).toHaveLength(OVERVIEW_MAX_LISTED);
    expect(o.alerts.unlisted).toBe(10_000 - OVERVIEW_MAX_LISTED);
    expect(o.alerts.list.every((a) => a.state === 'firing')).toBe(true);
    expect(o.alerts.list[0]!.fingerprint).toBe('f9999'); // the oldest first
    expect([o.alerts.firing, o.alerts.pending]).toEqual([7000, 3000]);
    expect(o.silences).toHaveLength(OVERVIEW_MAX_LISTED);
    expect(o.silences.every((s) => s.status.state === 'active')).toBe(true);
    expect(o.silencesUnlisted).toBe(4600 - OVERVIEW_MAX_LISTED);
    expect(JSON.stringify(o).length).toBeLessThan(2_000_000);
  });

  it('lists everything when there is little', () => {
    const o = buildOverview(inputs([alert(1, 'firing')], [silence(1, 'expired')]), T);
    expect([o.alerts.list.length, o.alerts.unlisted, o.silences.length, o.silencesUnlisted]).toEqual([1, 0, 1, 0]);
  });
});
