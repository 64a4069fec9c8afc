import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../processors/alerts/template.ts';

const render = (src: string, value = 1234.5678, labels: Record<string, string> = { 'service.name': 'checkout', team: 'pay' }) =>
  compileTemplate(src).render({ value, threshold: 2000, labels });

describe('annotation templates', () => {
  it.each([
    ['p95 of {{ labels.service.name }} is {{ value }} ms', 'p95 of checkout is 1234.5678 ms'],
    ['{{$labels.team}} {{ $value | printf "%.2f" }}', 'pay 1234.57'],
    // a Prometheus spelling is a Go float64: %d does not fit it (Go's fmt); vigil's own value is read leniently
    ['{{ .Labels.team }}/{{ .Value | printf "%d" }}|{{ value | printf "%d" }}', 'pay/%!d(float64=1234.5678)|1234'],
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
    ['{{ value | printf %d }}', /%d at character 1 is not a variable, a number or a quoted string \(text is written in quotes: "%d"\)/],
    ['{{ value | printf $labels.team }}', /printf needs its format as a quoted string at character 1/],
    ['{{ value | printf "%d %d" }}', /exactly one verb/],
    ['{{ value | printf "%q" }}', /unsupported verb/],
    ['{{ value | humanize 3 }}', /wrong number of arguments for humanize at character 1: want 1 \(humanize X\), got 2/],
    // Go's control flow: vigil has none, and says what to write instead
    ['{{ range .Alerts }}{{ .Labels.x }}{{ end }}', /"range" at character 1: vigil templates have no loops \(range\).*\{\{ len \.Alerts\.Firing \}\}/],
    ['x {{ if $value }}y{{ end }}', /"if" at character 3: vigil templates have no conditionals \(if\)/],
    ['{{ with $labels.team }}{{ . }}{{ end }}', /"with" at character 1: vigil templates have no blocks \(with\)/],
    ['{{ define "x" }}y{{ end }}', /"define" at character 1: vigil templates have no named templates/],
    ['{{ template "x" . }}', /"template" at character 1: vigil templates have no named templates/],
    ['{{ $x := $value }}', /template variables \(\$x := \.\.\.\) are not supported at character 1/],
    ['{{ query "up" | first | value }}', /unsupported function "query" at character 1: vigil templates cannot run queries/],
    ['{{ if eq $value 1.0 }}', /"if" at character 1/],
    ['{{ eq $value 1.0 }}', /unsupported function "eq" at character 1: vigil templates have no conditionals/],
    ['{{ $labels.team | trimSpace }}', /unsupported function "trimSpace" at character 1: trimSpace is not in Alertmanager 0\.25 or Prometheus 2\.42/],
    ['{{ toTime $value }}', /unsupported function "toTime" at character 1: .*humanizeTimestamp/],
    ['{{ externalURL }}', /"externalURL" at character 1: externalURL is not available in annotation templates/],
    ['{{ value | first }}', /unsupported function "first" at character 1: vigil templates cannot run queries/],
    ['{{ .ExternalLabels.dc }}', /"\.ExternalLabels\.dc" at character 1: vigil has no external labels/],
    // arguments of the wrong number or kind
    ['{{ reReplaceAll "a" $labels.team }}', /wrong number of arguments for reReplaceAll at character 1: want 3 \(reReplaceAll PATTERN REPLACEMENT TEXT\), got 2/],
    ['{{ reReplaceAll $labels.team "b" "c" }}', /reReplaceAll needs its pattern as a quoted string at character 1/],
    ['ok {{ reReplaceAll "(a" "b" $labels.team }}', /reReplaceAll at character 4: invalid regex "\(a" \(RE2 syntax\): missing closing \)/],
    ['{{ match "a(?=b)" $labels.team }}', /match at character 1: invalid regex/],
    ['{{ join "," $labels.team }}', /join takes a list of text at character 1/],
    ['{{ len $value }}', /len takes a list or text at character 1 \(e\.g\. len \.Alerts\.Firing\), but \$value may be a number/],
    ['{{ index $labels.team "x" }}', /index takes a map and a key at character 1/],
    ['{{ $labels }}', /\$labels is a map at character 1: write \$labels\.NAME, or index \$labels "NAME"/],
    ['{{ match "a" $labels.team | toUpper }}', /toUpper takes one value at character 1, but match is true\/false/],
    ['{{ $value $value }}', /\$value is not a function and takes no arguments at character 1/],
    ['{{ $value | $labels.team }}', /cannot pipe \$value into \$labels\.team: it is not a function \(character 1\)/],
    ['{{ humanize ($value }}', /unclosed "\(" at character 1/],
    ['{{ value | }}', /missing value or function after "\|" at character 1/],
    ['{{ "a}}', /unterminated string at character 1/],
    ['{{ "\\q" }}', /unknown escape \\q in string at character 1/],
    // a width or precision past Go's fmt limit: a string that long at every render (or V8's RangeError)
    ['{{ printf "%999999999d" $value }}', /width 999999999 in "%999999999d" is over 1,000,000, Go's fmt limit \(it prints %!\(BADWIDTH\)\) \(character 1\)/],
    ['{{ $value | printf "%.2000000f" }}', /precision 2000000 in "%\.2000000f" is over 1,000,000/],
  ])('rejects %s', (src, re) => {
    expect(() => compileTemplate(src)).toThrow(re);
  });

  it.each([
    // Go's forms: literals, nesting, several arguments, a piped value as the last argument
    ['{{ reReplaceAll "(.*)-(?P<zone>eu|us)$" "${zone}/$1" "web-eu" }}', 'eu/web'],
    ['{{ $labels.team | reReplaceAll `^(.)` "<$1>" }}', '<p>ay'],
    ['{{ toUpper (index $labels "service.name") }}', 'CHECKOUT'],
    ['{{ match "^che" .Labels.service.name }}', 'true'],
    ['{{ printf "%s is %.1f (%d%%)" $labels.team $value 7 }}', 'pay is 1234.6 (7%)'],
    ['{{ parseDuration "1h30m" }} {{ parseDuration "1y" }} {{ parseDuration "1.5h" }}', '5400 3.1536e+07 NaN'],
    ['{{ stripDomain "web-1.eu.example.com:9090" }} {{ stripPort "[::1]:80" }}', 'web-1:9090 ::1'],
    ['{{ len "héllo" }} {{ 1000000 }} {{ 1e6 }} {{ print 1 2 "x" 3 }}', '6 1000000 1e+06 1 2x3'],
    // white space trimming and comments, a `}}` inside a string
    ['a  {{- $labels.team -}}  b {{/* note */}}|{{- /* x */ -}}  |{{ "}}" }}', 'apayb ||}}'],
  ])('renders %s', (src, expected) => {
    expect(render(src)).toBe(expected);
  });

  it("never throws while rendering: a text past V8's string length limit renders as Prometheus's expansion error", () => {
    // every position of a 1 MiB label (an empty match) replaced by 600 characters: past 2^29 characters
    const t = compileTemplate(`x {{ reReplaceAll "" "${'y'.repeat(600)}" $labels.x }}`);
    expect(t.render({ value: 1, threshold: 1, labels: { x: 'a'.repeat(1 << 20) } })).toBe('<error expanding template: Invalid string length>');
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

  it("notification templates have Alertmanager's data: counts of .Alerts, lists of label names, .Receiver quoted", async () => {
    const { Template } = await import('../delivery/template.ts');
    const n = {
      status: 'firing',
      externalURL: 'http://vigil.test',
      groupLabels: { team: 'pay', alertname: 'X' },
      commonLabels: { alertname: 'X', team: 'pay', B: 'b' },
      commonAnnotations: { summary: 'hELLO wORLD' },
      alerts: [{ status: 'firing' }, { status: 'resolved' }, { status: 'firing' }],
    };
    const t = Template.parse(
      '{{ .Status | toUpper }}:{{ .Alerts.Firing | len }}/{{ len .Alerts }} {{ len .Alerts.Resolved }} {{ .GroupLabels.Names | join "," }} {{ .CommonLabels.Names }} {{ join "," .CommonLabels.Values }} {{ .Receiver }} {{ title .CommonAnnotations.summary }} {{ index .CommonLabels "team" }}',
    );
    // Alertmanager's title is cases.Title (the rest of each word in lower case), Prometheus's strings.Title
    expect(t.render(n as never, 'slack/on.call')).toBe('FIRING:2/3 1 alertname,team [alertname B team] X,b,pay slack/on\\.call Hello World pay');
    expect(compileTemplate('{{ title "hELLO wORLD" }}').render({ value: 0, threshold: 0, labels: {} })).toBe('HELLO WORLD');
    expect(() => Template.parse('{{ .Alerts.Firing }}')).toThrow(/\.Alerts\.Firing is a list of alerts and vigil templates have no loops \(range\) at character 1: write \{\{ len \.Alerts\.Firing \}\}/);
    expect(() => Template.parse('{{ range .Alerts }}x{{ end }}')).toThrow(/"range" at character 1: vigil templates have no loops/);
    expect(() => Template.parse('{{ .CommonLabels.SortedPairs }}')).toThrow(/"\.CommonLabels\.SortedPairs" at character 1: SortedPairs is for range, and vigil templates have no loops/);
    expect(() => Template.parse('{{ join "," .Alerts }}')).toThrow(/join takes a list of text at character 1 .*, but \.Alerts is a list of alerts/);
    expect(() => Template.parse('{{ index .Alerts 0 }}')).toThrow(/index takes a map and a key at character 1 .*vigil templates have no per-alert access/);
  });
});
