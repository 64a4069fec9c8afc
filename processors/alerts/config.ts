/** The alerts processor's config: rules, routes, inhibition, silences. Cross-field checks live in validate.ts. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

/** A `where` value: equality on a plain value, or one operator object. */
const WhereValue = Type.Union([
  Type.String(),
  Type.Number(),
  Type.Boolean(),
  Type.Object(
    {
      '=': Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
      '!=': Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
      '=~': Type.Optional(Type.String()),
      '!~': Type.Optional(Type.String()),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
]);
/**
 * The schema of a `where` map (attribute name -> a value for equality, or one `{"=", "!=", "=~", "!~": value}`
 * operator object); default `{}`.
 */
export const WhereSchema = Type.Record(Type.String(), WhereValue, { default: {} });
/** A validated `where` map (see {@link WhereSchema}). */
export type Where = Static<typeof WhereSchema>;

/**
 * The schema of a selection (a ratio's numerator/denominator, an SLO's good/bad/total): a metric name, or a
 * list of names whose values are added, and a `where`.
 */
export const SelectionSchema = Type.Object(
  {
    metric: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'a metric name, or a list whose values are added',
    }),
    where: WhereSchema,
  },
  { additionalProperties: false },
);
/** A validated selection (see {@link SelectionSchema}). */
export type Selection = Static<typeof SelectionSchema>;

/**
 * The schema of one SLO burn-rate window pair: `long` and `short` durations, the burn-rate `factor` both must
 * exceed, and an optional severity (default: the rule's). After the Google SRE Workbook's multiwindow,
 * multi-burn-rate alerts.
 */
export const SloWindowSchema = Type.Object(
  {
    long: Duration(),
    short: Duration(),
    factor: Type.Number({ exclusiveMinimum: 0 }),
    severity: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
/** One validated SLO window pair (durations still strings). */
export type SloWindow = Static<typeof SloWindowSchema>;

/**
 * The schema of a rule's `slo`: `objective` in (0, 1), `good` or `bad` and `total` selections, and optional
 * window pairs (default {@link DEFAULT_SLO_WINDOWS}); see the README's "SLO burn-rate rules".
 */
export const SloSchema = Type.Object(
  {
    objective: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
    good: Type.Optional(SelectionSchema),
    bad: Type.Optional(SelectionSchema),
    total: SelectionSchema,
    windows: Type.Optional(Type.Array(SloWindowSchema, { minItems: 1 })),
  },
  { additionalProperties: false },
);

/** The comparison operators a rule's `op` may be (`value op threshold`), as PromQL's comparison operators. */
export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;

/**
 * What a group with no data (no point in the window, a zero ratio denominator, a series gone) means:
 * `keep_state` (the default: a firing alert stays firing, a pending one pending), `resolve` (as
 * Prometheus: the series dropped out of the result, so its alert resolves, keep_firing_for applying),
 * `alerting` (as Grafana's no-data state "Alerting": no data counts as the condition holding; `for`
 * applies), or `no_data_alert` (as Grafana's no-data state "NoData": the group's alert lapses and a
 * separate alert `alertname="DatasourceNoData", rulename="<rule>"` fires, `for` applying, until data is back).
 */
export const NO_DATA = ['keep_state', 'resolve', 'alerting', 'no_data_alert'] as const;

/** The alertname of a `no_data: no_data_alert` alert (Grafana's). */
export const NO_DATA_ALERTNAME = 'DatasourceNoData';
/** One of {@link NO_DATA}. */
export type NoData = (typeof NO_DATA)[number];

/**
 * The schema of one alert rule (TypeBox; defaults applied by Ajv): one of `metric` (with `stat`), `ratio` or
 * `slo`; `where`, `group_by`, `window` (default 5m), `op` and `threshold`, `for` and `keep_firing_for` (as
 * Prometheus), `no_data`, `absent_for`, severity (default warning), labels, annotations (templates),
 * `repeat_interval` and `limit` (default 500). Cross-field checks are in compileRule.
 */
export const RuleSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z_:][A-Za-z0-9_:.-]*$' }),
    metric: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])),
    where: WhereSchema,
    ratio: Type.Optional(Type.Object({ numerator: SelectionSchema, denominator: SelectionSchema }, { additionalProperties: false })),
    slo: Type.Optional(SloSchema),
    stat: Type.Optional(Type.String()),
    group_by: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    window: Duration('5m'),
    op: Type.Optional(Type.String()),
    threshold: Type.Optional(Type.Number()),
    for: Duration('0s'),
    keep_firing_for: Duration('0s'),
    no_data: Type.Union(NO_DATA.map((v) => Type.Literal(v)), { default: 'keep_state' }),
    absent_for: Type.Optional(Duration()),
    severity: Type.String({ minLength: 1, default: 'warning' }),
    labels: Type.Record(Type.String(), Type.String(), { default: {} }),
    annotations: Type.Record(Type.String(), Type.String(), { default: {} }),
    repeat_interval: Type.Optional(Duration()),
    limit: Type.Integer({
      minimum: 0,
      default: 500,
      description:
        "most alerts (pending and firing) the rule may have, as Prometheus's rule `limit`; beyond it the rule's alerts are withdrawn and one RuleLimitExceeded alert says how many there would be; 0: no limit",
    }),
  },
  { additionalProperties: false },
);
/** One validated rule, defaults applied (durations still strings). */
export type RuleConfig = Static<typeof RuleSchema>;

const RouteOptions = {
  group_by: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: "labels that make a group; ['...'] means every label" })),
  group_wait: Type.Optional(Duration()),
  group_interval: Type.Optional(Duration()),
  repeat_interval: Type.Optional(Duration()),
  send_resolved: Type.Optional(Type.Boolean()),
};

/** One node of the route tree: Alertmanager's `route`, with receivers written as exporter lists. */
export const RouteNodeSchema = Type.Recursive(
  (This) =>
    Type.Object(
      {
        exporters: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'the receiver: exporter IDs (inherited when unset)' })),
        receiver: Type.Optional(Type.String({ minLength: 1, description: 'a name from `receivers` (instead of exporters)' })),
        matchers: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        match: Type.Optional(Type.Record(Type.String(), Type.String())),
        match_re: Type.Optional(Type.Record(Type.String(), Type.String())),
        continue: Type.Optional(Type.Boolean()),
        mute_time_intervals: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        active_time_intervals: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        routes: Type.Optional(Type.Array(This)),
        ...RouteOptions,
      },
      { additionalProperties: false },
    ),
  { $id: 'AlertsRoute' },
);
/** One validated node of the route tree (see {@link RouteNodeSchema}). */
export type RouteNodeConfig = Static<typeof RouteNodeSchema>;

/** A legacy flat-list route (`routes:`), read as a child of the root route. */
export const RouteSchema = Type.Object(
  {
    matchers: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    match: Type.Record(Type.String(), Type.String(), { default: {} }),
    match_re: Type.Record(Type.String(), Type.String(), { default: {} }),
    exporters: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    continue: Type.Boolean({ default: false }),
    mute_time_intervals: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    active_time_intervals: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    ...RouteOptions,
  },
  { additionalProperties: false },
);
/** One validated legacy flat-list route (see {@link RouteSchema}). */
export type RouteConfig = Static<typeof RouteSchema>;

/** Alertmanager's `time_intervals[].time_intervals[]` entry (timeinterval.TimeInterval). */
export const TimeIntervalSchema = Type.Object(
  {
    times: Type.Optional(Type.Array(Type.Object({ start_time: Type.String(), end_time: Type.String() }, { additionalProperties: false }))),
    weekdays: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    days_of_month: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    months: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    years: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    location: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
/** One validated time interval entry (see {@link TimeIntervalSchema}). */
export type TimeIntervalConfig = Static<typeof TimeIntervalSchema>;

/**
 * The schema of one inhibition rule, as Alertmanager's `inhibit_rules`: source and target matchers (or legacy
 * `*_match` / `*_match_re` maps) and the `equal` labels.
 */
export const InhibitSchema = Type.Object(
  {
    source_matchers: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    target_matchers: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    source_match: Type.Record(Type.String(), Type.String(), { default: {} }),
    source_match_re: Type.Record(Type.String(), Type.String(), { default: {} }),
    target_match: Type.Record(Type.String(), Type.String(), { default: {} }),
    target_match_re: Type.Record(Type.String(), Type.String(), { default: {} }),
    equal: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  },
  { additionalProperties: false },
);
/** One validated inhibition rule. */
export type InhibitConfig = Static<typeof InhibitSchema>;

/**
 * The schema of one silence written in the config: Alertmanager matchers (at least one), `starts_at` and
 * `ends_at` (RFC 3339) or a `duration`, comment and author (default `config`).
 */
export const SilenceConfigSchema = Type.Object(
  {
    matchers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    starts_at: Type.Optional(Type.String({ minLength: 1 })),
    ends_at: Type.Optional(Type.String({ minLength: 1 })),
    duration: Type.Optional(Duration()),
    comment: Type.String({ default: '' }),
    created_by: Type.String({ default: 'config' }),
  },
  { additionalProperties: false },
);
/** One validated config silence. */
export type SilenceConfig = Static<typeof SilenceConfigSchema>;

/**
 * The schema of the alerts processor's config (TypeBox; defaults applied by Ajv): evaluation `interval`
 * (default 10s), `external_url`, bounds (`max_series`, `max_points_per_series`, `max_aggregation_groups`), rules, the route tree (or the
 * `route_defaults` + `routes` shorthand), named receivers, time intervals, inhibition rules and silences.
 */
export const AlertsConfigSchema = Obj({
  interval: Duration('10s', 'how often every rule is evaluated'),
  external_url: Type.String({
    default: '',
    description: 'base of generatorURL and externalURL; empty: http://<service.telemetry.endpoint>, else http://localhost:8888',
  }),
  max_series: Type.Integer({ minimum: 1, default: 50_000 }),
  max_points_per_series: Type.Integer({ minimum: 16, default: 4096 }),
  max_aggregation_groups: Type.Integer({
    minimum: 1,
    default: 1000,
    description: 'notification (aggregation) groups per route; alerts that would open more go to the route\'s one overflow group, counted',
  }),
  rules: Type.Array(RuleSchema, { default: [] }),
  route: Type.Optional(RouteNodeSchema),
  receivers: Type.Array(
    Type.Object({ name: Type.String({ minLength: 1 }), exporters: Type.Array(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
    { default: [], description: 'named exporter lists, for routes that say `receiver: NAME`' },
  ),
  time_intervals: Type.Array(
    Type.Object({ name: Type.String({ minLength: 1 }), time_intervals: Type.Array(TimeIntervalSchema) }, { additionalProperties: false }),
    { default: [] },
  ),
  mute_time_intervals: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), time_intervals: Type.Array(TimeIntervalSchema) }, { additionalProperties: false }), {
      description: "Alertmanager's deprecated name of time_intervals, still read: the same list (a name may be defined in one of the two only)",
    }),
  ),
  route_defaults: Type.Optional(Type.Object(RouteOptions, { additionalProperties: false, description: 'shorthand: the root route options' })),
  routes: Type.Optional(Type.Array(RouteSchema, { description: 'shorthand: the root route children' })),
  inhibit: Type.Array(InhibitSchema, { default: [] }),
  silences: Type.Array(SilenceConfigSchema, { default: [] }),
});
/** The alerts processor's validated config, defaults applied. */
export type AlertsConfig = Static<typeof AlertsConfigSchema>;
