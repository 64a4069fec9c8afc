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
export const WhereSchema = Type.Record(Type.String(), WhereValue, { default: {} });
export type Where = Static<typeof WhereSchema>;

export const SelectionSchema = Type.Object(
  {
    metric: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'a metric name, or a list whose values are added',
    }),
    where: WhereSchema,
  },
  { additionalProperties: false },
);
export type Selection = Static<typeof SelectionSchema>;

export const SloWindowSchema = Type.Object(
  {
    long: Duration(),
    short: Duration(),
    factor: Type.Number({ exclusiveMinimum: 0 }),
    severity: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type SloWindow = Static<typeof SloWindowSchema>;

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
export type NoData = (typeof NO_DATA)[number];

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
export type TimeIntervalConfig = Static<typeof TimeIntervalSchema>;

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
export type InhibitConfig = Static<typeof InhibitSchema>;

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
export type SilenceConfig = Static<typeof SilenceConfigSchema>;

export const AlertsConfigSchema = Obj({
  interval: Duration('10s', 'how often every rule is evaluated'),
  external_url: Type.String({
    default: '',
    description: 'base of generatorURL and externalURL; empty: http://<service.telemetry.endpoint>, else http://localhost:8888',
  }),
  max_series: Type.Integer({ minimum: 1, default: 50_000 }),
  max_points_per_series: Type.Integer({ minimum: 16, default: 4096 }),
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
  route_defaults: Type.Optional(Type.Object(RouteOptions, { additionalProperties: false, description: 'shorthand: the root route options' })),
  routes: Type.Optional(Type.Array(RouteSchema, { description: 'shorthand: the root route children' })),
  inhibit: Type.Array(InhibitSchema, { default: [] }),
  silences: Type.Array(SilenceConfigSchema, { default: [] }),
});
export type AlertsConfig = Static<typeof AlertsConfigSchema>;
