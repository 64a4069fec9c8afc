import { describe, expect, it } from 'vitest';
import { alertLabels } from './rule-state.ts';

/** The definition `alertLabels` must equal: the spreads, then every empty label dropped. */
function definition(group: Record<string, string>, rule: Record<string, string>, alertname: string, severity: string): Record<string, string> {
  const labels: Record<string, string> = { ...group, ...rule, alertname, severity };
  for (const k in labels) if (labels[k] === '') delete labels[k];
  return labels;
}

describe('alertLabels', () => {
  const cases: [string, Record<string, string>, Record<string, string>, string, string][] = [
    ['a rule label overrides the group one in its place; an empty rule label removes it', { a: '1', b: '2', c: '3' }, { b: 'x', c: '' }, 'HighLoad', 'warning'],
    ['group labels named alertname and severity keep their place, with the rule values', { alertname: 'g', z: '1', severity: 's' }, { y: '2' }, 'HighLoad', 'critical'],
    ['integer-like names come first, as in any object', { z: '1', '10': 'ten', '2': 'two' }, { '1': 'one' }, 'HighLoad', 'warning'],
    ['__proto__ is a label like any other, not the prototype', JSON.parse('{"__proto__":"p","q":"1"}') as Record<string, string>, {}, 'HighLoad', 'warning'],
    ['an empty alertname or severity is dropped', { a: '' }, {}, '', ''],
    ['no labels at all', {}, {}, 'HighLoad', 'warning'],
  ];
  for (const [what, group, rule, alertname, severity] of cases)
    it(what, () => {
      const got = alertLabels(group, rule, alertname, severity);
      expect(Object.entries(got)).toEqual(Object.entries(definition(group, rule, alertname, severity)));
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    });
  it('leaves its inputs alone', () => {
    const group = { a: '1', b: '' };
    const rule = { c: '2' };
    alertLabels(group, rule, 'HighLoad', 'warning');
    expect(group).toEqual({ a: '1', b: '' });
    expect(rule).toEqual({ c: '2' });
  });
});
