/**
 * Side by side with a real Alertmanager (Debian's prometheus-alertmanager, installed by
 * .ci/steps/40-alertmanager.sh): the same alert life goes into Alertmanager through its v2 API and into
 * vigil through metric events (http_json receiver -> alerts processor -> webhook exporter), both with the
 * same route (group_by [alertname], group_wait 1s, group_interval 1s) and the same inhibition rule. The
 * webhook bodies both deliver are compared field by field. They differ only in the documented ways:
 * `receiver` (Alertmanager's receiver name; vigil's exporter ID), `externalURL`, each alert's `startsAt` /
 * `endsAt` (each side's own clock), vigil's extra `value`, and vigil's earlier resolve (at the evaluation
 * at which the condition cleared, not at the next group_interval tick: the same notification, sooner).
 *
 * The life: three alerts fire (a, b, c); c resolves; aa joins; a critical alert for a inhibits a's
 * warning, then clears; everything resolves.
 *
 * Then the notification timing, each case on a fresh pair (group_wait 1s, group_interval 2s; Alertmanager
 * takes whole-second timers fine): alerts during group_wait and batches after the first notification;
 * two groups of one route; resolves with send_resolved true and false, a flap inside one group_interval
 * and a group that all resolves; repeat_interval longer and shorter than group_interval; a continue: true
 * route beside its siblings; a group whose only alert is inhibited for a while. What each side sent is
 * compared per group key, in order, with the gap to the group's previous notification in whole seconds
 * where the case is about timers (scheduling jitter is a fraction of a second).
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startService } from './helpers/service.ts';
import { tempDir, waitFor } from './helpers/index.ts';
import { freePort } from './helpers/daemon.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';
import { AlertmanagerProcess, alertmanagerBinary } from './doubles/alertmanager.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const bin = alertmanagerBinary();
if (!bin) console.warn('\n!!!!! prometheus-alertmanager is NOT installed: the side-by-side test is SKIPPED. Install it with .ci/steps/40-alertmanager.sh. !!!!!\n');

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  value?: number | null;
}
interface Payload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

const GENERATOR = 'http://vigil.test';
const rule = (name: string) => `${GENERATOR}/alerts?rule=${name}`;

/** A body without the fields that differ by design (see the file comment). */
function comparable(p: Payload): unknown {
  const { receiver: _r, externalURL: _e, alerts, ...rest } = p;
  return { ...rest, alerts: alerts.map(({ startsAt: _s, endsAt: _n, value: _v, ...a }) => a) };
}

/** `text` with every line indented by `n` spaces. */
const indent = (text: string, n: number) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

type AlertName = 'HighErrorRate' | 'ServiceDown';
type Change = { alert: AlertName; service: string; fire: boolean };
const HER: AlertName = 'HighErrorRate';
const SD: AlertName = 'ServiceDown';

/** The rules' window: a resolve is read only once the window has been observed since the start (README, State and restarts). */
const WINDOW_MS = 1000;

/**
 * Alertmanager and vigil with the same route tree (`route`: an Alertmanager `route:` block whose receivers are
 * all `compare`; vigil reads it with `receivers: [{name: compare, exporters: [webhook/compare]}]`), the same
 * `send_resolved` (Alertmanager's webhook_configs, vigil's root route) and, with `inhibit`, the same
 * inhibition rule (a critical alert mutes the warning of its service). `step` makes the same alert changes
 * on both sides; `both(n)` waits until each side sent at least n notifications.
 */
/**
 * Starts a real Alertmanager and a vigil side by side with the same route, each posting to a webhook of its own.
 * `finally_`: where to register their stop (a concurrent test's own onTestFinished; by default the file's afterEach).
 */
async function startPair(opts: { route: string; sendResolved?: boolean; inhibit?: boolean }, finally_: (fn: () => Promise<void>) => void = (fn) => cleanup.push(fn)) {
  const sendResolved = opts.sendResolved ?? true;
  const amHook = await new WebhookReceiver().start();
  const vigilHook = await new WebhookReceiver().start();
  finally_(async () => void (await amHook.close()));
  finally_(async () => void (await vigilHook.close()));
  const inhibitRule = `- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [service]`;
  const am = new AlertmanagerProcess(
    bin!,
    `route:
${indent(opts.route, 2)}
${opts.inhibit ? `inhibit_rules:\n${indent(inhibitRule, 2)}\n` : ''}receivers:
  - name: compare
    webhook_configs:
      - url: ${amHook.url}/hook
        send_resolved: ${sendResolved}
`,
  );
  const dir = tempDir('vigil-side-by-side-');
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonPort = await freePort();
  const started = Date.now();
  const [, service] = await Promise.all([
    am.start(),
    startService(
      dir,
      `receivers:
  http_json: {endpoint: 127.0.0.1:${jsonPort}}
processors:
  alerts:
    interval: 100ms
    external_url: ${GENERATOR}
    rules:
      - name: HighErrorRate
        metric: errors
        group_by: [service]
        stat: last
        window: ${WINDOW_MS}ms
        op: ">"
        threshold: 0.5
        severity: warning
        annotations: {summary: "errors in {{ labels.service }}"}
      - name: ServiceDown
        metric: up
        group_by: [service]
        stat: last
        window: ${WINDOW_MS}ms
        op: "<"
        threshold: 1
        severity: critical
        annotations: {summary: "{{ labels.service }} is down"}
    route:
${indent(opts.route, 6)}
${sendResolved ? '' : '      send_resolved: false\n'}    receivers: [{name: compare, exporters: [webhook/compare]}]
${opts.inhibit ? `    inhibit:\n${indent(inhibitRule, 6)}\n` : ''}exporters:
  webhook/compare:
    url: ${vigilHook.url}/hook
service:
  state_dir: ${dir}/state
  telemetry:
    logs: {level: error}
    endpoint: 127.0.0.1:0
  pipelines:
    main:
      receivers: [http_json]
      processors: [alerts]
      exporters: [webhook/compare]
`,
    ),
  ]);
  finally_(async () => void (await am.stop()));
  finally_(async () => void (await service.shutdown()));
  await sleep(Math.max(0, started + WINDOW_MS + 200 - Date.now()));

  // one step of an alert life, on both sides: metric events into vigil, alerts into Alertmanager's v2 API
  const firing = new Map<string, { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; generatorURL: string }>();
  const step = async (changes: Change[]) => {
    const events = changes.map((c) => ({
      kind: 'metric',
      name: c.alert === HER ? 'errors' : 'up',
      value: c.alert === HER ? (c.fire ? 1 : 0) : c.fire ? 0 : 1,
      attributes: { service: c.service },
    }));
    const r = await fetch(`http://127.0.0.1:${jsonPort}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(r.status).toBe(200);
    const now = new Date().toISOString();
    const posted = changes.map((c) => {
      const key = `${c.alert}/${c.service}`;
      if (c.fire) {
        firing.set(key, {
          labels: { alertname: c.alert, service: c.service, severity: c.alert === HER ? 'warning' : 'critical' },
          annotations: { summary: c.alert === HER ? `errors in ${c.service}` : `${c.service} is down` },
          startsAt: now,
          generatorURL: rule(c.alert),
        });
        return firing.get(key)!;
      }
      const a = firing.get(key)!;
      firing.delete(key);
      return { ...a, endsAt: now };
    });
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(posted) });
    expect(res.status).toBe(200);
  };
  const sent = () => ({ am: amHook.payloads<Payload>(), vigil: vigilHook.payloads<Payload>() });
  const both = async (n: number, what: string, key?: string) => {
    const count = (ps: Payload[]) => (key ? ps.filter((p) => p.groupKey === key).length : ps.length);
    await waitFor(() => count(sent().am) >= n && count(sent().vigil) >= n, 30_000, `${what} (${n} notifications${key ? ` of ${key}` : ''} on each side)`).catch((e: Error) => {
      throw new Error(`${e.message}; Alertmanager sent ${JSON.stringify(sent().am)}, vigil sent ${JSON.stringify(sent().vigil)}`);
    });
  };
  /**
   * Per group key, each notification as `status: alert states` and, after the first, how many whole seconds
   * after the group's previous notification it came (rounded: the timers are whole seconds, scheduling
   * jitter is a fraction of one).
   */
  const timeline = (side: 'am' | 'vigil', withGaps = true) => {
    const reqs = (side === 'am' ? amHook : vigilHook).accepted;
    const out: Record<string, string[]> = {};
    const last = new Map<string, number>();
    for (const r of reqs) {
      const p = r.json as Payload;
      const prev = last.get(p.groupKey);
      last.set(p.groupKey, r.at);
      const gap = withGaps && prev !== undefined ? ` (+${Math.round((r.at - prev) / 1000)}s)` : '';
      (out[p.groupKey] ??= []).push(`${p.status}: ${p.alerts.map((a) => `${a.status === 'firing' ? '' : '-'}${a.labels.alertname === HER ? '' : `${a.labels.alertname}/`}${a.labels.service}`).join(' ')}${gap}`);
    }
    return out;
  };
  /** Every body field by field but for the documented differences, in each group's order. */
  const sameBodies = () => {
    const byGroup = (ps: Payload[]) => {
      const m = new Map<string, unknown[]>();
      for (const p of ps) (m.get(p.groupKey) ?? m.set(p.groupKey, []).get(p.groupKey)!).push(comparable(p));
      return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    };
    expect(byGroup(sent().vigil)).toEqual(byGroup(sent().am));
  };
  return { step, both, sent, timeline, sameBodies };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('vigil beside a real Alertmanager', () => {
  it.skipIf(!bin)('the same alert life gives the same webhook bodies, field by field, but for the documented differences', async () => {
    const { step, both, sent } = await startPair({
      route: `receiver: compare
group_by: [alertname]
group_wait: 1s
group_interval: 1s
repeat_interval: 1h`,
      inhibit: true,
    });

    await step([{ alert: HER, service: 'a', fire: true }, { alert: HER, service: 'b', fire: true }, { alert: HER, service: 'c', fire: true }]);
    await both(1, 'three alerts fire');
    await step([{ alert: HER, service: 'c', fire: false }]);
    await both(2, 'one resolves');
    await step([{ alert: HER, service: 'aa', fire: true }]);
    await both(3, 'one joins');
    await step([{ alert: SD, service: 'a', fire: true }]);
    await both(4, 'a critical fires and inhibits a warning');
    await step([{ alert: SD, service: 'a', fire: false }]);
    await both(5, 'the critical clears');
    await step([{ alert: HER, service: 'a', fire: false }, { alert: HER, service: 'aa', fire: false }, { alert: HER, service: 'b', fire: false }]);
    await both(6, 'everything resolves');
    // a few more group intervals: neither side sends anything else (the inhibited warning is not re-sent)
    await sleep(3000);

    const { am: amBodies, vigil: vigilBodies } = sent();
    const summary = (ps: Payload[]) => ps.map((p) => `${p.status} ${p.groupKey} ${p.alerts.map((a) => `${a.status}:${a.labels.service}`).join(',')}`);
    expect(summary(vigilBodies)).toEqual(summary(amBodies));
    expect(summary(amBodies)).toEqual([
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:b,firing:c',
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:b,resolved:c',
      'firing {}:{alertname="HighErrorRate"} firing:a,firing:aa,firing:b',
      'firing {}:{alertname="ServiceDown"} firing:a',
      'resolved {}:{alertname="ServiceDown"} resolved:a',
      'resolved {}:{alertname="HighErrorRate"} resolved:a,resolved:aa,resolved:b',
    ]);
    // field by field
    for (let i = 0; i < amBodies.length; i++) expect({ i, body: comparable(vigilBodies[i]!) }).toEqual({ i, body: comparable(amBodies[i]!) });
    // and the fields that differ by design are there on both sides, in the same format
    for (const [a, v] of amBodies.map((b, i) => [b, vigilBodies[i]!] as const)) {
      expect(a.receiver).toBe('compare');
      expect(v.receiver).toBe('webhook/compare');
      for (const [x, y] of a.alerts.map((al, j) => [al, v.alerts[j]!] as const)) {
        expect(Number.isNaN(Date.parse(y.startsAt))).toBe(false);
        expect(y.endsAt.startsWith('0001-')).toBe(x.endsAt.startsWith('0001-'));
        expect(typeof y.value).toBe('number');
      }
    }
  }, 120_000);
});

// The timing cases are independent pairs that mostly wait on their timers: they run concurrently (each registers
// its own cleanup), so the file takes about one case's time rather than six.
describe.concurrent('notification timing beside a real Alertmanager (group_wait 1s, group_interval 2s)', () => {
  const ROOT = 'receiver: compare\ngroup_by: [alertname]\ngroup_wait: 1s\ngroup_interval: 2s\nrepeat_interval: 1h';
  const HERK = '{}:{alertname="HighErrorRate"}';
  const SDK = '{}:{alertname="ServiceDown"}';
  const fire = (alert: AlertName, service: string): Change => ({ alert, service, fire: true });
  const clear = (alert: AlertName, service: string): Change => ({ alert, service, fire: false });

  it.skipIf(!bin)('alerts arriving (and resolving) during group_wait are all in the first notification; later batches wait for the next group_interval tick; two groups of one route keep their own timers', async ({ onTestFinished }) => {
    const { step, both, timeline } = await startPair({ route: ROOT }, onTestFinished);
    await step([fire(HER, 'a')]);
    await sleep(300);
    await step([fire(HER, 'b'), fire(HER, 'z')]); // during the group's group_wait
    await sleep(300);
    await step([clear(HER, 'z'), fire(SD, 'a')]); // z resolves before the first notification; a second group of the same route, 0.6s later
    await both(1, 'the first notification of HighErrorRate', HERK);
    await step([fire(HER, 'c')]); // two batches after the first notification: both at the next tick
    await sleep(500);
    await step([fire(HER, 'd')]);
    await both(1, 'the first notification of ServiceDown', SDK);
    await step([fire(SD, 'b')]);
    await both(2, 'the second notification of HighErrorRate', HERK);
    await step([fire(HER, 'e')]);
    await both(3, 'the third notification of HighErrorRate', HERK);
    await both(2, 'the second notification of ServiceDown', SDK);
    await sleep(2500); // more ticks of both groups: nothing changed, nothing sent
    expect(timeline('vigil')).toEqual(timeline('am'));
    expect(timeline('am')).toEqual({
      [HERK]: ['firing: a b -z', 'firing: a b c d (+2s)', 'firing: a b c d e (+2s)'],
      [SDK]: ['firing: ServiceDown/a', 'firing: ServiceDown/a ServiceDown/b (+2s)'],
    });
  }, 60_000);

  it.skipIf(!bin)('send_resolved true: a resolve while others fire; an alert that resolves and fires again within one group_interval; a group that all resolves, then a new alert', async ({ onTestFinished }) => {
    const { step, both, timeline, sameBodies } = await startPair({ route: ROOT }, onTestFinished);
    await step([fire(HER, 'a'), fire(HER, 'b')]);
    await both(1, 'two alerts fire');
    await step([clear(HER, 'a')]);
    await both(2, 'one resolves, the other still fires');
    sameBodies();
    await step([clear(HER, 'b')]);
    await sleep(400);
    await step([fire(HER, 'b')]); // back within the same group_interval
    await sleep(4500); // two ticks
    // Alertmanager's next tick sees b firing, as it was told: nothing to send. vigil sent the resolve when
    // it happened (README: vigil's resolve is sooner), so the firing b is news again at its next tick.
    expect(timeline('am', false)).toEqual({ [HERK]: ['firing: a b', 'firing: -a b'] });
    expect(timeline('vigil', false)).toEqual({ [HERK]: ['firing: a b', 'firing: -a b', 'resolved: -b', 'firing: b'] });
    const before = { am: timeline('am', false)[HERK]!.length, vigil: timeline('vigil', false)[HERK]!.length };
    await step([clear(HER, 'b')]); // the group all resolves ...
    await both(before.am + 1, 'the last resolve');
    await step([fire(HER, 'c')]); // ... then a new alert of the same group
    await both(before.am + 2, 'a new alert after the group resolved');
    await sleep(2500);
    expect(timeline('am', false)[HERK]!.slice(before.am)).toEqual(['resolved: -b', 'firing: c']);
    expect(timeline('vigil', false)[HERK]!.slice(before.vigil)).toEqual(timeline('am', false)[HERK]!.slice(before.am));
  }, 60_000);

  it.skipIf(!bin)('send_resolved false: a resolve alone sends nothing; an alert the receiver never heard resolve is not news when it fires again; all resolved, then a new alert', async ({ onTestFinished }) => {
    const { step, both, timeline, sameBodies } = await startPair({ route: ROOT, sendResolved: false }, onTestFinished);
    await step([fire(HER, 'a'), fire(HER, 'b')]);
    await both(1, 'two alerts fire');
    await step([clear(HER, 'a')]);
    await sleep(2500); // a tick with only a resolve: nothing on either side
    await step([fire(HER, 'a')]);
    await sleep(2500); // a tick with a back: it was never told resolved, so nothing changed
    await step([fire(HER, 'c')]);
    await both(2, 'a new alert joins');
    await step([clear(HER, 'a'), clear(HER, 'b'), clear(HER, 'c')]);
    await sleep(2500); // all resolved: logged, not sent
    await step([fire(HER, 'a')]);
    await both(3, 'a fires again after the group resolved');
    await sleep(2500);
    expect(timeline('am', false)).toEqual({ [HERK]: ['firing: a b', 'firing: a b c', 'firing: a'] });
    expect(timeline('vigil', false)).toEqual(timeline('am', false));
    sameBodies();
  }, 60_000);

  it.skipIf(!bin)('repeat_interval with nothing changed is counted in group_interval ticks; shorter than group_interval, every tick repeats', async ({ onTestFinished }) => {
    const route = `${ROOT}
routes:
  - matchers: [alertname="HighErrorRate"]
    repeat_interval: 3s
  - matchers: [alertname="ServiceDown"]
    repeat_interval: 1s`;
    const { step, both, timeline } = await startPair({ route }, onTestFinished);
    await step([fire(HER, 'a'), fire(SD, 'a')]);
    const her = '{}/{alertname="HighErrorRate"}:{alertname="HighErrorRate"}';
    const sd = '{}/{alertname="ServiceDown"}:{alertname="ServiceDown"}';
    await both(3, 'two repeats of HighErrorRate', her);
    await both(4, 'three repeats of ServiceDown', sd);
    const first = (t: Record<string, string[]>) => ({ [her]: t[her]!.slice(0, 3), [sd]: t[sd]!.slice(0, 4) });
    expect(first(timeline('vigil'))).toEqual(first(timeline('am')));
    expect(first(timeline('am'))).toEqual({
      [her]: ['firing: a', 'firing: a (+4s)', 'firing: a (+4s)'],
      [sd]: ['firing: ServiceDown/a', 'firing: ServiceDown/a (+2s)', 'firing: ServiceDown/a (+2s)', 'firing: ServiceDown/a (+2s)'],
    });
  }, 60_000);

  it.skipIf(!bin)('a continue: true route and its siblings each keep their own groups and timers', async ({ onTestFinished }) => {
    const route = `${ROOT}
routes:
  - matchers: [severity="critical"]
    continue: true
    group_interval: 3s
  - matchers: ['service=~"a|b"']
    group_wait: 2s`;
    const { step, both, timeline, sameBodies } = await startPair({ route }, onTestFinished);
    const crit = '{}/{severity="critical"}:{alertname="ServiceDown"}';
    await step([fire(SD, 'a'), fire(HER, 'b'), fire(HER, 'c')]);
    await both(1, 'the critical route', crit);
    await step([fire(SD, 'b')]); // the critical route's group waits group_interval (3s); the sibling's is still in its group_wait (2s)
    await sleep(1500);
    await step([fire(HER, 'a')]); // the sibling's HighErrorRate group, after its first notification
    await both(2, 'the critical route again', crit);
    await sleep(2500);
    const am = timeline('am');
    const keys = Object.keys(am).sort();
    const sibling = keys.filter((k) => k.startsWith('{}/{service'));
    expect(keys).toEqual([HERK, ...sibling, crit].sort());
    expect(timeline('vigil')).toEqual(am);
    expect(am[HERK]).toEqual(['firing: c']);
    expect(am[crit]).toEqual(['firing: ServiceDown/a', 'firing: ServiceDown/a ServiceDown/b (+3s)']);
    expect(sibling.map((k) => am[k])).toEqual([['firing: b', 'firing: a b (+2s)'], ['firing: ServiceDown/a ServiceDown/b']]);
    sameBodies();
  }, 60_000);

  it.skipIf(!bin)('a group whose only alert is inhibited for a while is not notified again when the inhibition ends', async ({ onTestFinished }) => {
    const { step, both, timeline, sameBodies } = await startPair({ route: ROOT, inhibit: true }, onTestFinished);
    await step([fire(HER, 'a')]);
    await both(1, 'the warning');
    await step([fire(SD, 'a')]); // inhibits the warning, the only alert of its group
    await both(2, 'the critical');
    await sleep(2500); // a tick of the warning's group with every alert muted
    await step([clear(SD, 'a')]);
    await both(3, 'the critical resolves');
    await sleep(4500); // two ticks of the warning's group: it was told of a, and a still fires
    expect(timeline('am', false)).toEqual({ [HERK]: ['firing: a'], [SDK]: ['firing: ServiceDown/a', 'resolved: -ServiceDown/a'] });
    expect(timeline('vigil', false)).toEqual(timeline('am', false));
    sameBodies();
  }, 60_000);
});
