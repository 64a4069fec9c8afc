import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../processors/alerts/template.ts';

const render = (src: string, value = 1234.5678, labels: Record<string, string> = { 'service.name': 'checkout', team: 'pay' }) =>
  compileTemplate(src).render({ value, threshold: 2000, labels });

describe('annotation templates', () => {
  it.each([
    ['p95 of {{ labels.service.name }} is {{ value }} ms', 'p95 of checkout is 1234.5678 ms'],
    ['{{$labels.team}} {{ $value | printf "%.2f" }}', 'pay 1234.57'],
    ['{{ .Labels.team }}/{{ .Value | printf "%d" }}', 'pay/1234'],
    ['{{ value | humanize }}', '1.235k'],
    ['{{ value | round 1 }} > {{ threshold }}', '1234.6 > 2000'],
    ['{{ labels.absent }}|', '|'],
    ['no placeholders', 'no placeholders'],
    ['{{ value | printf "%.1e" }} and 100%% literal', '1.2e+03 and 100%% literal'],
  ])('%s', (src, expected) => {
    expect(render(src)).toBe(expected);
  });
  it('humanize filters', () => {
    expect(render('{{ value | humanizeDuration }}', 3725)).toBe('1h 2m 5s');
    expect(render('{{ value | humanizeDuration }}', 0.25)).toBe('250ms');
    expect(render('{{ value | humanizeMillis }}', 2500)).toBe('2.5s');
    expect(render('{{ value | humanizePercentage }}', 0.0525)).toBe('5.25%');
    // Prometheus: fmt.Sprintf("%.4g%%", v*100) (Go's %g: 4 significant digits, exponent below 1e-4 / from 1e4)
    expect(render('{{ value | humanizePercentage }}', 1 / 7)).toBe('14.29%');
    expect(render('{{ value | humanizePercentage }}', 0.8)).toBe('80%');
    expect(render('{{ value | humanizePercentage }}', 1)).toBe('100%');
    expect(render('{{ value | humanizePercentage }}', 0.123456789)).toBe('12.35%');
    expect(render('{{ value | humanizePercentage }}', 123.456)).toBe('1.235e+04%');
    expect(render('{{ value | humanizePercentage }}', 1e-7)).toBe('1e-05%');
    expect(render('{{ value | humanizePercentage }}', 0)).toBe('0%');
    expect(render('{{ value | humanize1024 }}', 2048)).toBe('2ki'); // Prometheus's first binary prefix is "ki" (promtool-templates.test.ts)
    expect(render('{{ value | humanize }}', 0.005)).toBe('5m');
    expect(render('{{ value }}', NaN)).toBe('NaN');
  });
  it.each([
    ['{{ value', /unclosed "\{\{"/],
    ['{{ }}', /empty/],
    ['{{ nope }}', /unknown variable "nope" at character 1; known: value, \$value, \.Value, threshold, labels\.NAME/],
    ['{{ value | shout }}', /unknown filter "shout"/],
    ['{{ value | printf %d }}', /printf needs a quoted format/],
    ['{{ value | printf "%d %d" }}', /exactly one verb/],
    ['{{ value | printf "%q" }}', /unsupported verb/],
    ['{{ value | humanize 3 }}', /takes no argument/],
  ])('rejects %s', (src, re) => {
    expect(() => compileTemplate(src)).toThrow(re);
  });
});

describe('one language for annotations and notifications', () => {
  it('notification templates take the same filters, and {{{{ is a literal {{', async () => {
    const { Template } = await import('../delivery/template.ts');
    const n = {
      status: 'firing',
      groupKey: '{}:{alertname="X"}',
      groupLabels: { alertname: 'X' },
      commonLabels: { alertname: 'X', 'service.name': 'checkout' },
      commonAnnotations: { value: '1234.5678' },
      alerts: [{ status: 'firing' }, { status: 'resolved' }],
    };
    const t = Template.parse('{{ STATUS }} {{ labels.service.name | upper }} {{ commonAnnotations.value | humanize }} {{ firing }}/{{ count }} {{{{x}}');
    expect(t.render(n as never, 'slack/oncall')).toBe('FIRING CHECKOUT 1.235k 1/2 {{x}}');
    expect(() => Template.parse('{{ value }}')).toThrow(/unknown variable "value" at character 1; known: status, STATUS/);
    expect(() => Template.parse('{{ status | shout }}')).toThrow(/unknown filter "shout" at character 1/);
  });
});
