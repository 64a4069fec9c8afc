/**
 * Annotation and label templates of alert rules, in vigil's one template language (src/template/).
 *
 * Variables: `value` (the rule's value at this evaluation), `threshold`, `labels.NAME` (the alert's labels;
 * NAME may contain dots: `labels.service.name`), and the Prometheus spellings `$value`, `$labels.NAME`,
 * `.Value`, `.Labels.NAME`, and the labels whole for `index` (`{{ index $labels "service.name" }}`). As in
 * Prometheus, `$labels` and `.Labels` are the labels of the rule's result (the group's), not the rule's own
 * labels, `alertname` or `severity`. Functions: see
 * src/template/template.ts (`title` is Prometheus's, strings.Title). A template that does not compile is a
 * config error.
 */
import { Template, type Vocabulary } from '../../src/template/template.ts';

export { formatNumber, humanize, humanize1024, humanizeDuration } from '../../src/template/template.ts';

/** What an annotation or label template is rendered with. */
export interface TemplateVars {
  /** The rule's value at this evaluation. */
  value: number;
  /** The rule's threshold (undefined: NaN when rendered). */
  threshold: number | undefined;
  /** The alert's labels (vigil's own `labels.NAME`). */
  labels: Readonly<Record<string, string>>;
  /**
   * The labels of the rule's result for the group, without the rule's labels, `alertname` and `severity`:
   * what the Prometheus spellings `$labels` and `.Labels` read, as Prometheus's `$labels` holds the labels
   * of the result sample only (rules/alerting.go). Undefined: `labels`.
   */
  groupLabels?: Readonly<Record<string, string>> | undefined;
}

const value = (v: TemplateVars) => v.value;
const labels = (v: TemplateVars, key: string) => v.labels[key];
const resultLabels = (v: TemplateVars, key: string) => (v.groupLabels ?? v.labels)[key];

/** The variables of annotation and label templates. */
export const ANNOTATION_VOCABULARY: Vocabulary<TemplateVars> = {
  scalars: { value, $value: value, '.Value': value, threshold: (v) => v.threshold ?? NaN },
  maps: { labels, $labels: resultLabels, '.Labels': resultLabels },
  unsupported: {
    externalURL: 'externalURL is not available in annotation templates (notification templates have {{ externalURL }})',
    pathPrefix: 'pathPrefix is not available in annotation templates',
    $externalLabels: 'vigil has no external labels: write the value itself, or a rule label',
    '.ExternalLabels': 'vigil has no external labels: write the value itself, or a rule label',
  },
  title: 'strings',
};

/** A compiled annotation or label template. */
export type CompiledTemplate = Template<TemplateVars>;

/** Compiles an annotation or label template; throws an Error naming the problem and its character. */
export function compileTemplate(source: string): CompiledTemplate {
  return Template.compile(source, ANNOTATION_VOCABULARY);
}
