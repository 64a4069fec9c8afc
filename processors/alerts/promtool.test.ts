/**
 * Prometheus's own rule unit tests (cmd/promtool/testdata) and alerting-rule tests (rules/*_test.go),
 * translated into `vigil test` files (testdata/promtool/, each naming its source). Every file is run by
 * `vigil test` against config.yaml, and by the real `promtool test rules` (Debian's `prometheus` package,
 * installed by .ci/steps/45-prometheus-promtool.sh) against prometheus-rules.yml: both must give the same
 * verdict, except where a file says why promtool's version differs. The cases that cannot be translated
 * are listed in README.md ("Prometheus rule tests").
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { components } from '../../app/components.ts';
import { runRuleTests } from './rule-test.ts';

const dir = path.join(import.meta.dirname, 'testdata', 'promtool');
const run = promisify(execFile);

type Verdict = 'pass' | 'fail';

interface Case {
  file: string;
  vigil: Verdict;
  /** promtool's verdict: Prometheus 2.42 (Debian 12) and 3.x (the source's, and vigil's semantics). */
  promtool: { v2: Verdict; v3: Verdict };
}

const CASES: Case[] = [
  { file: 'unittest-alerts.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'unittest-promql-as-alerts.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // Prometheus 2 windows include their start: test_missing is still seen at 5m, 61 samples in [0, 1m]
  { file: 'left-open-windows.test.yaml', vigil: 'pass', promtool: { v2: 'fail', v3: 'pass' } },
  { file: 'failing.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  { file: 'manager-alerting-rule.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'keep-firing-for.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'empty-label.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // the default group interval became the evaluation_interval in Prometheus 2.49 (before: no default)
  { file: 'no-test-group-interval.test.yaml', vigil: 'pass', promtool: { v2: 'fail', v3: 'pass' } },
  { file: 'evaluation-interval-default.test.yaml', vigil: 'pass', promtool: { v2: 'fail', v3: 'pass' } },
  // a zero duration is not given: evaluation_interval 0 is 1m (every version), interval 0 the evaluation_interval (2.49 on)
  { file: 'zero-evaluation-interval.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'zero-interval.test.yaml', vigil: 'pass', promtool: { v2: 'fail', v3: 'pass' } },
  { file: 'long-period.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // start_timestamp came after 2.42, whose strict reading refuses it
  { file: 'start-timestamp.test.yaml', vigil: 'pass', promtool: { v2: 'fail', v3: 'pass' } },
  { file: 'bad-input-series.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  { file: 'unknown-keys.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  // the same series twice: the later replaces the earlier whole (promql/test.go loadCmd.set, unchanged in 3.x)
  { file: 'duplicate-series.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // label values as PromQL strings: single quotes, backquotes, Go escapes (promql/parser lexer)
  { file: 'series-label-quoting.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // promtool sets alertname in exp_labels over any value given there (cmd/promtool/unittest.go)
  { file: 'exp-labels-alertname.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // a name before the braces wins over __name__ inside them; a label name given twice is refused
  { file: 'series-name-and-labels.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'duplicate-label-name.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  { file: 'series-name-space.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  // external_labels serve only templates ($externalLabels), which vigil's config refuses: accepted, no effect
  { file: 'external-labels.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // a line break inside values: promtool's load command reads the text after it as another series
  { file: 'values-line-break.test.yaml', vigil: 'fail', promtool: { v2: 'fail', v3: 'fail' } },
  { file: 'values-block.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  // a trailing "---" is an empty document; a second one with tests is skipped by promtool, refused by vigil (deliberate)
  { file: 'trailing-document-marker.test.yaml', vigil: 'pass', promtool: { v2: 'pass', v3: 'pass' } },
  { file: 'multiple-documents.test.yaml', vigil: 'fail', promtool: { v2: 'pass', v3: 'pass' } },
  // deliberate: a file with no `tests:` checks nothing; promtool says SUCCESS, vigil refuses it
  { file: 'no-tests-key.test.yaml', vigil: 'fail', promtool: { v2: 'pass', v3: 'pass' } },
  // NaN and Inf are samples to promtool; vigil never stores a non-finite point, so vigil test refuses them
  { file: 'non-finite-values.test.yaml', vigil: 'fail', promtool: { v2: 'pass', v3: 'pass' } },
];

async function vigil(file: string): Promise<{ ok: boolean; output: string }> {
  const r = await runRuleTests([path.join(dir, 'config.yaml')], [path.join(dir, file)], components);
  return { ok: r.ok, output: r.output.replaceAll(dir + path.sep, '') };
}

async function promtoolVersion(): Promise<number[]> {
  const { stdout } = await run('promtool', ['--version']).catch((e: Error) => {
    throw new Error(`promtool is needed (Debian package "prometheus", see .ci/steps/45-prometheus-promtool.sh): ${e.message}`);
  });
  const m = /version (\d+)\.(\d+)/.exec(stdout);
  if (!m) throw new Error(`cannot read promtool's version from ${JSON.stringify(stdout)}`);
  return [Number(m[1]), Number(m[2])];
}

describe('Prometheus rule tests translated into vigil test files', () => {
  it.each(CASES)('vigil test $file: $vigil', async (c) => {
    const r = await vigil(c.file);
    expect(r.ok, r.output).toBe(c.vigil === 'pass');
    if (c.vigil === 'pass') expect(r.output).not.toContain('FAIL');
  });

  it('failing.test.yaml fails each check, with what was expected and what fired', async () => {
    expect((await vigil('failing.test.yaml')).output).toBe(
      [
        'FAIL failing.test.yaml: tests[0] (Failing alert test) alert_rule_test[0] InstanceDown at 5m',
        '  expected 0 firing alert(s), got 1',
        '  unexpected alert {alertname="InstanceDown", job="test", severity="page"} (firing, value 0)',
        'FAIL failing.test.yaml: tests[1] (wrong test) alert_rule_test[0] TestIsOne at 0',
        '  expected 1 firing alert(s), got 0',
        '  missing alert {alertname="TestIsOne", severity="warning"} (expected firing, not firing)',
        'FAILED',
      ].join('\n'),
    );
  });

  it('bad input and unknown keys are reported with file:line:col', async () => {
    expect((await vigil('bad-input-series.test.yaml')).output).toBe(
      [
        'FAIL bad-input-series.test.yaml: the test file is not valid',
        '  bad-input-series.test.yaml:6:17: tests[0].input_series[0].series: bad series "up{job=\\"prometheus\\", instance=\\"localhost:9090\\"": expected name{label="value", ...}',
        'FAILED',
      ].join('\n'),
    );
    expect((await vigil('non-finite-values.test.yaml')).output).toBe(
      [
        'FAIL non-finite-values.test.yaml: the test file is not valid',
        '  non-finite-values.test.yaml:11:17: tests[0].input_series[0].values: value 2 is NaN: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker',
        '  non-finite-values.test.yaml:19:17: tests[1].input_series[0].values: value 1 is Infinity: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker',
        'FAILED',
      ].join('\n'),
    );
    expect((await vigil('values-line-break.test.yaml')).output).toBe(
      [
        'FAIL values-line-break.test.yaml: the test file is not valid',
        '  values-line-break.test.yaml:10:17: tests[0].input_series[0].values: a line break before more text: promtool writes "series values" as one line of its load command and reads the text after a line break as another series, so this input fails there; write it on one line (or fold it with ">")',
        'FAILED',
      ].join('\n'),
    );
    expect((await vigil('multiple-documents.test.yaml')).output).toBe(
      [
        'FAIL multiple-documents.test.yaml: the test file is not valid',
        '  multiple-documents.test.yaml:14:1: a second YAML document ("---"): promtool reads only the first one and silently skips the tests of the others; put every test group under one "tests:"',
        'FAILED',
      ].join('\n'),
    );
    expect((await vigil('unknown-keys.test.yaml')).output).toBe(
      [
        'FAIL unknown-keys.test.yaml: the test file is not valid',
        '  unknown-keys.test.yaml:9:5: tests[0].alert_rule_tests: unknown key "alert_rule_tests" (known: name, interval, start_timestamp, external_url, external_labels, input_series, alert_rule_test, route_test, exp_routes)',
        'FAILED',
      ].join('\n'),
    );
  });

  it('vigil test uses the streams and exit codes promtool test rules does: failures and errors on stderr, exit 1', async () => {
    const { main } = await import('../../app/cli.ts');
    const shape = (code: number, stdout: string, stderr: string) => ({ code, stderr: stderr !== '', stdoutFails: /FAIL/.test(stdout) });
    for (const files of [['unittest-alerts.test.yaml'], ['failing.test.yaml'], ['bad-input-series.test.yaml'], ['unittest-alerts.test.yaml', 'no-such.test.yaml']]) {
      const p = await run('promtool', ['test', 'rules', ...files], { cwd: dir }).then(
        (r) => shape(0, r.stdout, r.stderr),
        (e: { code?: number; stdout: string; stderr: string }) => shape(e.code ?? -1, e.stdout, e.stderr),
      );
      let out = '';
      let err = '';
      const code = await main(['test', '--config', path.join(dir, 'config.yaml'), ...files.map((f) => path.join(dir, f))], { out: (t) => (out += t), err: (t) => (err += t) });
      expect([files, shape(code, out, err)]).toEqual([files, p]);
    }
  });

  it('promtool gives the same verdicts on the same files (with prometheus-rules.yml)', async () => {
    const [major] = await promtoolVersion();
    const got: Record<string, Verdict> = {};
    const want: Record<string, Verdict> = {};
    for (const c of CASES) {
      const code = await run('promtool', ['test', 'rules', c.file], { cwd: dir }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? -1,
      );
      got[c.file] = code === 0 ? 'pass' : 'fail';
      want[c.file] = major! >= 3 ? c.promtool.v3 : c.promtool.v2;
    }
    expect(got).toEqual(want);
  });
});
