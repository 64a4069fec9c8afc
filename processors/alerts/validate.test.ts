import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { validateComponentConfig } from '../../src/config/ajv.ts';
import { formatConfigError, loadConfig } from '../../src/config/load.ts';
import { components } from '../../app/components.ts';
import { testSettings, configFor, tempDir } from '../../test/helpers/index.ts';
import { alertsProcessorFactory } from './index.ts';
import { AMTOOL } from '../../test/doubles/alertmanager.ts';

const issues = (raw: unknown) => validateComponentConfig(alertsProcessorFactory, structuredClone(raw)).map((i) => `${i.path.join('.')}: ${i.message}`);
const base = { name: 'R', metric: 'm', stat: 'avg', op: '>', threshold: 1 };

describe('config validation', () => {
  it('testdata/valid.yaml (the product.md example) is valid', () => {
    const raw = YAML.parse(fs.readFileSync(path.join(import.meta.dirname, 'testdata/valid.yaml'), 'utf8'));
    expect(issues(raw)).toEqual([]);
  });

  it.each([
    [{ rules: [{ name: 'R' }] }, ['rules.0: rule "R" needs one of metric, ratio or slo']],
    [{ rules: [base, { ...base, stat: 'p101' }] }, ['rules.1.stat: unknown stat "p101": expected pNN (p50, p95, p99.9), avg, min, max, sum, count, rate, increase or last']],
    [{ rules: [{ ...base, op: '=>' }] }, ['rules.0.op: unknown op "=>": expected one of > >= < <= == !=']],
    [{ rules: [base, base, base, { ...base, annotations: { summary: '{{ value | nope }}' } }] }, [
      'rules.3.annotations.summary: bad template: unknown filter "nope" at character 1; known: humanize, humanize1024, humanizeDuration, humanizeMillis, humanizePercentage, humanizeTimestamp, toUpper, upper, toLower, lower, title, safeHtml, stripPort, stripDomain, parseDuration, print, println, urlquery, html, js, printf, round, reReplaceAll, match, join, stringSlice, len, index',
    ]],
    [{ rules: [{ ...base, where: { 'service.name': { '=~': 'a(' } } }] }, ['rules.0.where.service.name: invalid regex "a(" (RE2 syntax): missing closing ): `a(` at offset 0']],
    [{ rules: [{ name: 'R', ratio: { numerator: { metric: 'a', where: { k: { '!~': '[' } } }, denominator: { metric: 'b' } }, stat: 'sum', op: '>', threshold: 1 }] }, [
      'rules.0.ratio.numerator.where.k: invalid regex "[" (RE2 syntax): missing closing ]: `[` at offset 0',
    ]],
    [{ rules: [{ name: 'R', metric: 'm', stat: 'avg' }] }, ['rules.0: rule "R" needs op and threshold, or absent_for']],
    [{ rules: [{ name: 'R', metric: 'm', op: '>', threshold: 1 }] }, ['rules.0.stat: missing stat (p95, avg, sum, rate, last, ...)']],
    [{ rules: [{ name: 'R', slo: { objective: 0.99, total: { metric: 't' } } }] }, ['rules.0.slo: an slo needs exactly one of good or bad']],
    [{ rules: [{ ...base, window: '5 minutes' }] }, ['rules.0.window: expected a duration such as "500ms", "10s", "5m", "4h", "1d"']],
    [{ rules: [{ ...base, labels: { alertname: 'x' } }] }, ['rules.0.labels.alertname: label alertname is set by the rule itself']],
    [{ routes: [{ match_re: { severity: '(' }, exporters: [] }] }, ['routes.0.match_re.severity: invalid regex "(" (RE2 syntax): missing closing ): `(` at offset 0']],
    [{ inhibit: [{ source_match_re: { a: '*' } }] }, ['inhibit.0.source_match_re.a: invalid regex "*" (RE2 syntax): missing argument to repetition operator: `*` at offset 0']],
    [{ silences: [{ matchers: ['bad'], duration: '1h' }] }, ["silences.0.matchers.0: invalid matcher \"bad\" at column 4: unexpected end of input, expected an operator such as '=', '!=', '=~' or '!~'"]],
    [{ silences: [{ matchers: ['a=b'] }] }, ['silences.0: a silence needs ends_at or duration']],
    // RE2: lookarounds, backreferences, atomic groups and possessive quantifiers do not exist (a config error
    // naming the pattern, the construct, its offset, and that RE2 has no such thing)
    [{ route: { routes: [{ matchers: ['x=~"a(?=b)"'] }] } }, ['route.routes.0.matchers.0: invalid matcher "x=~\\"a(?=b)\\"": invalid regex "a(?=b)": lookahead `(?=` at offset 1: RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)']],
    [{ rules: [{ ...base, where: { host: { '=~': '[(?<=]x(?<!y)z' } } }] }, [
      'rules.0.where.host: invalid regex "[(?<=]x(?<!y)z": negative lookbehind `(?<!` at offset 7: RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)',
    ]],
    [{ routes: [{ match_re: { team: '(a|b)-\\1' }, exporters: [] }] }, ['routes.0.match_re.team: invalid regex "(a|b)-\\\\1": backreference `\\1` at offset 6: RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)']],
    [{ inhibit: [{ source_matchers: ['job=~"\\(?=x)(?>a+)"'] }] }, [
      'inhibit.0.source_matchers.0: invalid matcher "job=~\\"\\\\(?=x)(?>a+)\\"": invalid regex "\\\\(?=x)(?>a+)": atomic group `(?>` at offset 6: RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)',
    ]],
    [{ silences: [{ matchers: ['a=~"x++"'], duration: '1h' }] }, ['silences.0.matchers.0: invalid matcher "a=~\\"x++\\"": invalid regex "x++": possessive quantifier `++` at offset 2: RE2 does not support it (regexes are RE2, as in Prometheus and Alertmanager)']],
    [{ route: { routes: [{ matchers: ['{a="b" c="d"}'] }] } }, ['route.routes.0.matchers.0: invalid matcher "{a=\\"b\\" c=\\"d\\"}" at column 8: unexpected c: expected a comma or close brace']],
    [{ route: { receiver: 'nope' } }, ['route.receiver: receiver "nope" is not defined in receivers (none defined)']],
    // the shorthand: an issue of route_defaults is at route_defaults, one of a list entry at routes
    [{ route_defaults: { group_by: ['...', 'a'] }, routes: [{ group_by: ['b', 'b'], exporters: [] }] }, [
      "route_defaults.group_by: '...' groups by every label: it cannot be combined with other labels",
      'routes.0.group_by.1: duplicated label "b" in group_by (also at index 0)',
    ]],
    [{ route: { routes: [{ mute_time_intervals: ['weekends'] }] } }, ['route.routes.0.mute_time_intervals.0: time interval "weekends" is not defined in time_intervals']],
    [{ route: {}, routes: [] }, ['route: give either route: (a route tree) or the shorthand routes: / route_defaults:, not both']],
    [{ time_intervals: [{ name: 'w', time_intervals: [{ times: [{ start_time: '18:00', end_time: '09:00' }], weekdays: ['friday:monday'], location: 'Mars/Base' }] }] }, [
      'time_intervals.0.time_intervals.0.times.0: start_time must be before end_time',
      'time_intervals.0.time_intervals.0.location: unknown time zone "Mars/Base"',
      'time_intervals.0.time_intervals.0.weekdays.0: "friday:monday": the start comes after the end',
    ]],
    [{ rules: [{ ...base, severity: 'x', colour: 'red' }] }, ['rules.0.colour: unknown key "colour"']],
  ])('%j', (raw, expected) => {
    expect(issues(raw)).toEqual(expected);
  });

  it.skipIf(!AMTOOL)('a route group_by is refused where amtool check-config refuses it (a duplicated label, ... with others)', async () => {
    const dir = tempDir('vigil-group-by-');
    try {
      for (const groupBy of [['a', 'a'], ['a', 'b', 'a'], ['alertname', 'a', 'b'], ['...'], ['...', 'a'], [], ['a', 'b', 'b', 'a']]) {
        for (const nested of [false, true]) {
          const route = nested ? { receiver: 'none', routes: [{ receiver: 'none', group_by: groupBy }] } : { receiver: 'none', group_by: groupBy };
          const file = path.join(dir, 'alertmanager.yml');
          fs.writeFileSync(file, YAML.stringify({ route, receivers: [{ name: 'none' }] }));
          const am = await promisify(execFile)(AMTOOL!, ['check-config', file]).then(
            () => 'accepted',
            (e: { stdout: string }) => `refused${/duplicated label/.test(e.stdout) ? ' (duplicate)' : ''}`,
          );
          const found = issues({ route: { ...route, receiver: undefined, routes: nested ? [{ group_by: groupBy }] : undefined } });
          const vigil = found.length ? `refused${found.some((f) => f.includes('duplicated label')) ? ' (duplicate)' : ''}` : 'accepted';
          expect({ groupBy, nested, vigil }).toEqual({ groupBy, nested, vigil: am });
          for (const f of found.filter((x) => x.includes('duplicated label'))) {
            // the path is the second listing of the label, and the message names it
            const m = /^route(?:\.routes\.0)?\.group_by\.(\d+): duplicated label "(.*?)" in group_by/.exec(f);
            expect(m, f).not.toBeNull();
            expect(groupBy.indexOf(m![2]!)).toBeLessThan(Number(m![1]));
            expect(groupBy[Number(m![1])]).toBe(m![2]);
          }
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a duplicated group_by label is a config error at its file:line:col', async () => {
    const dir = tempDir('vigil-group-by-');
    try {
      const text = `receivers:\n  nop:\nprocessors:\n  alerts:\n    route:\n      group_by: [service.name, alertname, service.name]\nexporters:\n  nop:\nservice:\n  pipelines:\n    main: {receivers: [nop], processors: [alerts], exporters: [nop]}\n`;
      const file = path.join(dir, 'pipelines.yaml');
      fs.writeFileSync(file, text);
      const loaded = await loadConfig([file], components);
      const line = text.split('\n').findIndex((l) => l.includes('group_by'));
      const col = text.split('\n')[line]!.lastIndexOf('service.name') + 1;
      expect(loaded.errors.map(formatConfigError)).toEqual([
        `${file}:${line + 1}:${col}: processors.alerts.route.group_by[2]: duplicated label "service.name" in group_by (also at index 0)`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a schema error in one rule, route or inhibition (or the interval) does not hide the problems of the others', async () => {
    const file = path.join(import.meta.dirname, 'testdata', 'schema-and-rule-errors.yaml');
    const loaded = await loadConfig([file], components);
    expect(loaded.errors.map((e) => formatConfigError({ ...e, file: path.basename(e.file) }))).toEqual([
      'schema-and-rule-errors.yaml:7:15: processors.alerts.interval: expected a duration such as "500ms", "10s", "5m", "4h", "1d"',
      'schema-and-rule-errors.yaml:14:9: processors.alerts.rules[0].colour: unknown key "colour"',
      'schema-and-rule-errors.yaml:17:15: processors.alerts.rules[1].stat: unknown stat "p101": expected pNN (p50, p95, p99.9), avg, min, max, sum, count, rate, increase or last',
      'schema-and-rule-errors.yaml:18:13: processors.alerts.rules[1].op: unknown op "=>": expected one of > >= < <= == !=',
      'schema-and-rule-errors.yaml:20:17: processors.alerts.rules[1].where.x: invalid regex "a(" (RE2 syntax): missing closing ): `a(` at offset 0',
      'schema-and-rule-errors.yaml:24:22: processors.alerts.route.routes[0].matchers[0]: invalid matcher "a=~\\"(\\"": invalid regex "(" (RE2 syntax): missing closing ): `(` at offset 0',
      'schema-and-rule-errors.yaml:26:23: processors.alerts.route.routes[1].group_wait: expected a duration such as "500ms", "10s", "5m", "4h", "1d"',
      'schema-and-rule-errors.yaml:27:22: processors.alerts.route.routes[2].matchers[0]: invalid matcher "c=~\\"[\\"": invalid regex "[" (RE2 syntax): missing closing ]: `[` at offset 0',
      'schema-and-rule-errors.yaml:30:9: processors.alerts.inhibit[0].extra: unknown key "extra"',
      'schema-and-rule-errors.yaml:31:27: processors.alerts.inhibit[1].source_matchers[0]: invalid matcher "y=~\\"(\\"": invalid regex "(" (RE2 syntax): missing closing ): `(` at offset 0',
    ]);
  });

  it('a schema error outside the rules, routes, inhibitions and silences still stops the cross-field checks (a time interval may be named by a route)', () => {
    expect(issues({ time_intervals: [{ name: 'w', time_intervals: [{ weekdays: 'monday' }] }], rules: [{ ...base, op: '=>' }] })).toEqual([
      'time_intervals.0.time_intervals.0.weekdays: expected array',
    ]);
  });

  it('create refuses a route naming an exporter that does not exist', () => {
    const config = configFor(alertsProcessorFactory, { routes: [{ exporters: ['webhook/ops', 'slack/nope'] }] });
    const settings = testSettings('processor', 'alerts', { service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: {} } });
    expect(() => alertsProcessorFactory.create(settings, config)).toThrow('processor alerts: routes.0.exporters.1: exporter "slack/nope" is not defined in exporters');
  });
});
