import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { parseSeriesSelector, parseValues } from './series-notation.ts';
import { components } from '../../app/components.ts';
import { inferType, runRuleTests } from './rule-test.ts';

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
