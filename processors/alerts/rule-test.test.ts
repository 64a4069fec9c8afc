import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSeriesSelector, parseValues } from './series-notation.ts';
import { components } from '../../app/components.ts';
import { parsePrometheusDuration } from './rule-test-file.ts';
import { inferType, readTestFile, runRuleTests } from './rule-test.ts';

const td = (f: string) => path.join(import.meta.dirname, 'testdata', f);

describe('promtool series notation', () => {
  it.each([
    ['0+10x3', [0, 10, 20, 30]],
    ['5-2x2', [5, 3, 1]],
    ['1x2', [1, 1, 1]],
    ['1 _ 3 stale', [1, undefined, 3, 'stale']],
    ['0x10', Array(11).fill(0)],
    ['1e3 1_000 010 08 .5 5m -Inf nan', [1000, 1000, 8, 8, 0.5, 300, -Infinity, NaN]],
    ['0.1+0.1x2', [0.1, 0.2, 0.30000000000000004]],
    ['_ _x0 1', [undefined, 1]],
    ['_x2 -1.5e1', [undefined, undefined, -15]],
    ['-2+4x1', [-2, 2]],
  ])('%s', (text, expected) => {
    expect(parseValues(text)).toEqual(expected);
  });
  it('rejects what it cannot read', () => {
    expect(() => parseValues('1 two')).toThrow('bad value "two"');
    expect(() => parseValues('0o7')).toThrow('bad value "0o7"');
    expect(() => parseValues('0x1F')).toThrow('bad value "0x1F"');
    expect(() => parseValues('1+2')).toThrow('bad value "1+2"');
    expect(() => parseValues('{{schema:1 count:2}}')).toThrow('native histogram');
  });
  it('series selectors with dotted names and label names', () => {
    expect(parseSeriesSelector('span.calls{service.name="checkout", status.code="error"}')).toEqual({
      name: 'span.calls',
      labels: { 'service.name': 'checkout', 'status.code': 'error' },
    });
    expect(() => parseSeriesSelector('m{a=b}')).toThrow(/labels must be name="value"/);
  });
  it('label values are PromQL strings: quotes, backquotes and Go escapes, as promtool reads them', () => {
    expect(parseSeriesSelector(String.raw`m{a='it\'s', b=${'`'}C:\dir${'`'}, c="\x41\101\u00e9\xc3\xbc\t\"", d="\U0001F600"}`).labels).toEqual({
      a: "it's",
      b: 'C:\\dir',
      c: 'AAéü\t"',
      d: '😀',
    });
    expect(() => parseSeriesSelector(String.raw`m{a="\q"}`)).toThrow('bad series "m{a=\\"\\\\q\\"}": label a: unknown escape "\\q" in a double-quoted string');
    expect(() => parseSeriesSelector(String.raw`m{a="\x4"}`)).toThrow('label a: bad escape "\\x4"');
    expect(() => parseSeriesSelector(String.raw`m{a="\400"}`)).toThrow('label a: bad octal escape');
    expect(() => parseSeriesSelector(String.raw`m{a='\"'}`)).toThrow('unknown escape');
  });
  it('a name before the braces wins over __name__; a label name given twice is refused, as promtool does', () => {
    expect(parseSeriesSelector('other{__name__="test", a="1"}')).toEqual({ name: 'other', labels: { a: '1' } });
    expect(parseSeriesSelector('{__name__="test"}')).toEqual({ name: 'test', labels: {} });
    expect(() => parseSeriesSelector('m{a="1", b="2", a="1"}')).toThrow('label name "a" is given twice');
    expect(() => parseSeriesSelector('{__name__="m", __name__="m"}')).toThrow('label name "__name__" is given twice');
    expect(() => parseSeriesSelector('m {a="1"}')).toThrow('bad series "m {a=\\"1\\"}": no space may come between the name and "{"');
    expect(parseSeriesSelector(' m{ a = "1" , } ')).toEqual({ name: 'm', labels: { a: '1' } });
  });
  it('input types by name', () => {
    expect([inferType('span.duration'), inferType('x.distribution'), inferType('span.calls'), inferType('reqs_total'), inferType('llm.budget.utilization')]).toEqual([
      'histogram',
      'histogram',
      'delta',
      'counter',
      'gauge',
    ]);
  });
});

describe('vigil test', () => {
  it('passes the passing file', async () => {
    const r = await runRuleTests([td('rules-config.yaml')], [td('rules-pass.test.yaml')], components);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('fails the failing file with a diff per alert and label', async () => {
    const r = await runRuleTests([td('rules-config.yaml')], [td('rules-fail.test.yaml')], components);
    expect(r.ok).toBe(false);
    const out = r.output.replaceAll(td('') + path.sep, '');
    expect(out).toContain(
      [
        'FAIL rules-fail.test.yaml: tests[0] (wrong expectations) alert_rule_test[0] HighErrorRate at 5m',
        '  expected 1 firing alert(s), got 1',
        '  alert expected {alertname="HighErrorRate", service.name="cart", severity="warning"}',
        '         got      {alertname="HighErrorRate", service.name="checkout", severity="warning"}',
        '    label service.name: expected "cart", got "checkout"',
        '    annotation summary: expected "cart fails 10% of calls", got "checkout fails 10% of calls"',
      ].join('\n'),
    );
    expect(out).toContain(
      [
        'alert_rule_test[1] HighErrorRate at 5m',
        '  alert {alertname="HighErrorRate", service.name="checkout", severity="warning"}:',
        '    annotation summary: expected "checkout fails 5% of calls", got "checkout fails 10% of calls"',
      ].join('\n'),
    );
    expect(out).toContain(
      [
        'alert_rule_test[2] HighErrorRate at 1m',
        '  expected 1 firing alert(s), got 0',
        '  missing alert {alertname="HighErrorRate", service.name="checkout", severity="warning"} (expected firing, not firing)',
      ].join('\n'),
    );
    expect(out).toContain(['route_test[0] HighErrorRate at 5m', '  exporters expected [debug/oncall], got [nop/tickets]', '    missing: debug/oncall', '    unexpected: nop/tickets'].join('\n'));
    expect(out.endsWith('FAILED')).toBe(true);
  });

  it('reports config errors from the loader', async () => {
    const r = await runRuleTests([td('does-not-exist.yaml')], [td('rules-pass.test.yaml')], components);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/does-not-exist\.yaml/);
  });
});

/** Runs a test file given as text against testdata/semantics-config.yaml; the output without the temp path. */
async function runText(text: string): Promise<{ ok: boolean; output: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-rule-test-'));
  const file = path.join(dir, 't.test.yaml');
  fs.writeFileSync(file, text);
  try {
    const r = await runRuleTests([td('semantics-config.yaml')], [file], components);
    return { ok: r.ok, output: r.output.replaceAll(file, 't.test.yaml') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A test file of one group: `series` lines, then alert checks `[eval_time, alertname, firing label sets]`. */
function testFile(opts: { evaluationInterval?: string; interval?: string; series: [string, string][]; checks: [string, string, Record<string, string>[]][] }): string {
  const lines = [...(opts.evaluationInterval ? [`evaluation_interval: ${opts.evaluationInterval}`] : []), 'tests:', '  - input_series:'];
  if (opts.interval) lines.splice(lines.length - 1, 1, `  - interval: ${opts.interval}`, '    input_series:');
  for (const [series, values] of opts.series) lines.push(`      - series: '${series}'`, `        values: '${values}'`);
  lines.push('    alert_rule_test:');
  for (const [at, name, alerts] of opts.checks) {
    lines.push(`      - eval_time: ${at}`, `        alertname: ${name}`, `        exp_alerts: [${alerts.map((l) => `{exp_labels: ${JSON.stringify(l)}}`).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

describe('vigil test reads test files as promtool does', () => {
  it('refuses a negative value in a counter or delta series (a monotonic sum, whose negative points vigil drops), not in a gauge', () => {
    const r = readTestFile(
      't.yaml',
      ['tests:', '  - input_series:', '      - {series: reqs_total, values: "1 -2"}', '      - {series: x, type: delta, values: "-1"}', '      - {series: reqs_total, type: gauge, values: "-1"}', '      - {series: y, values: "-1"}'].join('\n'),
    );
    expect(r.errors).toEqual([
      't.yaml:3:38: tests[0].input_series[0].values: value 2 is -2: a counter series (inferred from its name) is a monotonic sum, whose negative points vigil drops as malformed, so it cannot be an input; give the series type: gauge',
      't.yaml:4:42: tests[0].input_series[1].values: value 1 is -1: a delta series (its type) is a monotonic sum, whose negative points vigil drops as malformed, so it cannot be an input; give the series type: gauge',
    ]);
  });
  it('refuses Inf, NaN and an overflowing a+bxN as input values (vigil never stores a non-finite point), naming the step', () => {
    const r = readTestFile(
      't.yaml',
      ['tests:', '  - input_series:', '      - {series: a, values: "1 NaN"}', '      - {series: b, values: "-Inf"}', '      - {series: c, values: "1e308+1e308x3"}', '      - {series: d, values: "1 _ stale 1e308"}'].join('\n'),
    );
    expect(r.errors).toEqual([
      't.yaml:3:29: tests[0].input_series[0].values: value 2 is NaN: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker',
      't.yaml:4:29: tests[0].input_series[1].values: value 1 is -Infinity: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker',
      't.yaml:5:29: tests[0].input_series[2].values: value 2 is Infinity: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker',
    ]);
  });
  it('keeps scalars as text: unquoted 0x10 is the series notation (eleven zeros), 1e3 and 010 stay as written', () => {
    const r = readTestFile(
      't.yaml',
      ['tests:', '  - input_series:', '      - {series: a, values: 0x10}', '      - {series: b, values: 1e3}', '    alert_rule_test:', '      - eval_time: 0', '        alertname: X', '        exp_alerts: [{exp_labels: {code: 010, on: yes}}]'].join('\n'),
    );
    expect(r.errors).toEqual([]);
    const g = r.file!.tests[0]!;
    expect(g.inputSeries.map((s) => s.values)).toEqual([Array(11).fill(0), [1000]]);
    expect(g.alertTests[0]!.expAlerts).toEqual([{ labels: { code: '010', on: 'yes' }, annotations: {} }]);
    expect(g.intervalMs).toBe(60_000); // no interval: the evaluation_interval (default 1m)
  });

  it.each([
    // the alias made nothing: the test passed with 0 checks (Go's yaml, promtool's: "unknown anchor")
    ['an alias with no anchor', ['tests:', '  - interval: 1m', '    input_series: *series'], 't.yaml:3:19: tests[0].input_series: YAML: the alias *series has no anchor &series before it (an alias repeats a node anchored earlier in the file)'],
    ['a list as a key', ['tests:', '  - interval: 1m', '    ? [input_series]', '    : []'], 't.yaml:3:7: tests[0]: YAML: a key must be a plain value, not a list'],
    ['a "billion laughs"', ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`), 'tests: *a9'], /^t\.yaml:11:8: tests: YAML: aliases expand the document to [\d,]+ nodes/],
  ])('refuses %s in a test file, naming where', (_what, lines, expected) => {
    const r = readTestFile('t.yaml', (lines as string[]).join('\n'));
    expect(r.file).toBeUndefined();
    expect(r.errors).toHaveLength(1);
    if (typeof expected === 'string') expect(r.errors[0]).toBe(expected);
    else expect(r.errors[0]).toMatch(expected);
  });

  it('reports a YAML mistake once, not followed by every later token of the file "in YAML stream"', () => {
    const r = readTestFile('t.yaml', ['tests:', '  - name: x', '    input_series:', '      - {series: a, values: ${x}}', '    alert_rule_test: []', 'evaluation_interval: 1m'].join('\n'));
    expect(r.errors).toEqual(['t.yaml:4:30: YAML: Unexpected flow-map-start at node end', 't.yaml:4:31: YAML: Unexpected scalar at node end']);
  });

  it('reads durations as Prometheus does (model.ParseDuration)', () => {
    expect(['0', '90s', '1h30m', '1d', '1y', '2w3d', '1m500ms'].map(parsePrometheusDuration)).toEqual([0, 90_000, 5_400_000, 86_400_000, 31_536_000_000, 1_468_800_000, 60_500]);
    expect(['1.5m', '30s1m', '1m1m', '', '5', '-1m'].map(parsePrometheusDuration)).toEqual(Array(6).fill(undefined));
  });

  it('refuses an eval_time too many evaluations away, which would run for days, as series values too long are refused', () => {
    const r = readTestFile(
      't.yaml',
      [
        'evaluation_interval: 1s',
        'tests:',
        '  - input_series: [{series: a, values: "1"}]',
        '    alert_rule_test:',
        '      - {eval_time: 1000d, alertname: X}',
        '      - {eval_time: 11d, alertname: X}',
        '    route_test:',
        '      - {eval_time: 1y, alertname: X, exp_exporters: []}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([
      't.yaml:5:21: tests[0].alert_rule_test[0].eval_time: 1000d is 86,400,000 evaluations at evaluation_interval 1s; at most 1,000,000',
      't.yaml:8:21: tests[0].route_test[0].eval_time: 1y is 31,536,000 evaluations at evaluation_interval 1s; at most 1,000,000',
    ]);
  });

  it('refuses unknown keys, promql_expr_test and bad values, all at once, each with file:line:col', () => {
    const r = readTestFile(
      't.yaml',
      [
        'evaluation_interval: 1m',
        'evalution_interval: 2m',
        'tests:',
        '  - name: only promql',
        '    input_series:',
        '      - {series: a, values: 0o7}',
        '    promql_expr_test:',
        '      - expr: a',
        '  - alert_rule_tests: []',
        '    alert_rule_test:',
        '      - eval_time: soon',
        '        alertname: X',
        '        exp_alerts: [{exp_label: {a: b}}]',
        '      - eval_time: 1m',
      ].join('\n'),
    );
    expect(r.errors).toEqual([
      't.yaml:2:1: evalution_interval: unknown key "evalution_interval" (known: evaluation_interval, processor, rule_files, tests)',
      't.yaml:6:29: tests[0].input_series[0].values: bad value "0o7": expected a number, _, stale, a+bxN, a-bxN, axN or _xN (hexadecimal is not a number in series values)',
      't.yaml:7:5: tests[0].promql_expr_test: "promql_expr_test" is not supported: vigil has no PromQL expressions to test; check the alerts they lead to with alert_rule_test',
      't.yaml:9:5: tests[1].alert_rule_tests: unknown key "alert_rule_tests" (known: name, interval, start_timestamp, external_url, external_labels, input_series, alert_rule_test, route_test, exp_routes)',
      't.yaml:11:20: tests[1].alert_rule_test[0].eval_time: invalid duration "soon": expected a Prometheus duration such as "1m", "1h30m", "1d" or "0" (units y w d h m s ms, in that order, whole numbers)',
      't.yaml:13:23: tests[1].alert_rule_test[0].exp_alerts[0].exp_label: unknown key "exp_label" (known: exp_labels, exp_annotations)',
      't.yaml:14:9: tests[1].alert_rule_test[1]: missing "alertname"',
    ]);
  });

  it('the state at eval_time is that of the last evaluation at or before it (for: 30s, evaluations every 1m: firing at 1m, not at 45s)', async () => {
    const r = await runText(
      testFile({
        series: [['g', '1x5']],
        checks: [
          ['45s', 'ForThirtySeconds', []],
          ['59s', 'ForThirtySeconds', []],
        ],
      }),
    );
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (2 checks)\nSUCCESS');
    const firing = await runText(
      ['tests:', '  - input_series: [{series: g, values: 1x5}]', '    alert_rule_test:', '      - {eval_time: 1m, alertname: ForThirtySeconds, exp_alerts: [{exp_annotations: {summary: g is 1}}]}'].join('\n'),
    );
    expect(firing.output).toBe('ok   t.test.yaml: tests[0] (1 check)\nSUCCESS');
  });

  it('an omitted exp_annotations means no annotations (promtool), so an alert that has some fails', async () => {
    const r = await runText(testFile({ series: [['g', '1x5']], checks: [['2m', 'ForThirtySeconds', [{}]]] }));
    expect(r.ok).toBe(false);
    expect(r.output).toBe(
      [
        'FAIL t.test.yaml: tests[0] alert_rule_test[0] ForThirtySeconds at 2m',
        '  alert {alertname="ForThirtySeconds", severity="warning"}:',
        '    annotation summary: expected (none), got "g is 1"',
        'FAILED',
      ].join('\n'),
    );
  });

  it('the input step defaults to the evaluation_interval', async () => {
    const r = await runText(testFile({ evaluationInterval: '30s', series: [['nd', '0 1']], checks: [['29s', 'KeepState', []], ['30s', 'KeepState', [{}]]] }));
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (2 checks)\nSUCCESS');
  });
});

describe('no_data, and stale as a staleness marker, in vigil test', () => {
  it('stale: keep_state stays firing; resolve resolves at the marker; alerting stays firing', async () => {
    const r = await runText(
      testFile({
        series: [['nd', '1 1 stale']],
        checks: [
          ['1m', 'KeepState', [{}]],
          ['1m', 'Resolve', [{}]],
          ['2m', 'KeepState', [{}]],
          ['2m', 'Resolve', []],
          ['2m', 'Alerting', [{}]],
          ['20m', 'KeepState', [{}]],
          ['20m', 'Resolve', []],
          ['20m', 'Alerting', [{}]],
        ],
      }),
    );
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (8 checks)\nSUCCESS');
  });

  it('a missing sample is no staleness marker: resolve waits until the last point leaves the 5m window', async () => {
    const r = await runText(
      testFile({
        series: [['nd', '1 _x10']],
        checks: [
          ['4m', 'Resolve', [{}]],
          ['5m', 'Resolve', []],
          ['5m', 'KeepState', [{}]],
        ],
      }),
    );
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (3 checks)\nSUCCESS');
  });

  it('alerting: no data counts as the condition holding, for applies (pending at 5m, firing at 6m), data back resolves it', async () => {
    const r = await runText(
      testFile({
        series: [['nd', '0 _x6 0']],
        checks: [
          ['4m', 'Alerting', []],
          ['5m', 'Alerting', []],
          ['6m', 'Alerting', [{}]],
          ['7m', 'Alerting', []],
        ],
      }),
    );
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (4 checks)\nSUCCESS');
  });

  it('no_data_alert: a staleness marker resolves the rule\'s alert and fires DatasourceNoData with its rulename', async () => {
    const r = await runText(
      testFile({
        series: [['nd{job="api"}', '1 stale _ 1']],
        checks: [
          ['0', 'NoDataAlert', [{ severity: 'critical' }]],
          ['0', 'DatasourceNoData', []],
          ['1m', 'NoDataAlert', []],
          ['1m', 'DatasourceNoData', [{ rulename: 'NoDataAlert', severity: 'critical' }]],
          ['3m', 'DatasourceNoData', []],
          ['3m', 'NoDataAlert', [{ severity: 'critical' }]],
        ],
      }),
    );
    expect(r.output).toBe('ok   t.test.yaml: tests[0] (6 checks)\nSUCCESS');
  });
});

