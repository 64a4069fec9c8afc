import { Type, type Static } from '@sinclair/typebox';
import { Duration, Endpoint, Obj } from '../../src/config/types.ts';
import { intakeSchemaProps } from '../../src/otlp/intake.ts';
import { DEFAULT_MAX_REQUEST_ITEMS } from '../../src/limits.ts';

/** The OTLP/gRPC receiver's default endpoint, `localhost:4317` (OTLP's default port for gRPC, as the Collector). */
export const DEFAULT_GRPC_ENDPOINT = 'localhost:4317';
/** The OTLP/HTTP receiver's default endpoint, `localhost:4318` (OTLP's default port for HTTP, as the Collector). */
export const DEFAULT_HTTP_ENDPOINT = 'localhost:4318';

/** A protocol's settings; `null` (a bare `grpc:` in YAML) means "enabled with defaults", as in the Collector. */
const GrpcSchema = Type.Union([
  Type.Null(),
  Obj({
    endpoint: Type.Optional(Endpoint(DEFAULT_GRPC_ENDPOINT)),
    max_concurrent_streams: Type.Optional(
      Type.Integer({ minimum: 1, description: 'HTTP/2 streams (exports in flight) per client connection; unset: unlimited' }),
    ),
    keepalive: Type.Optional(
      Obj(
        {
          server_parameters: Type.Optional(
            Obj({
              max_connection_idle: Duration('5m', 'a connection with no call for this long is closed (GOAWAY)'),
              max_connection_age: Duration('30m', 'a connection is closed gracefully after this long (clients reconnect, load spreads)'),
              max_connection_age_grace: Duration('30s', 'calls in flight get this long to finish after max_connection_age'),
              time: Duration('1m', 'the server pings a connection idle this long, to find dead peers'),
              timeout: Duration('20s', 'a ping not answered within this closes the connection'),
            }),
          ),
        },
        { description: 'gRPC keepalive, as the Collector names it (keepalive.server_parameters.*)' },
      ),
    ),
  }),
]);
const HttpSchema = Type.Union([Type.Null(), Obj({ endpoint: Type.Optional(Endpoint(DEFAULT_HTTP_ENDPOINT)) })]);

/**
 * The schema of the otlp receiver's config (TypeBox; defaults applied by Ajv), after the Collector's otlpreceiver:
 * `protocols.grpc` / `protocols.http` (both enabled when `protocols` is omitted) plus the keys every intake
 * receiver has.
 */
export const OtlpReceiverConfigSchema = Obj({
  protocols: Obj(
    {
      grpc: Type.Optional(GrpcSchema),
      http: Type.Optional(HttpSchema),
    },
    {
      default: { grpc: {}, http: {} },
      description: 'Protocols to serve. Omitted: both. A protocol left out of a given `protocols` map is disabled.',
    },
  ),
  ...intakeSchemaProps(
    DEFAULT_MAX_REQUEST_ITEMS,
    'Most items in one request: each element of a repeated field of messages (resource_spans, scope_spans, spans, events, links, attributes, array and kvlist values, metrics, data points, exemplars, log records...) counts one',
  ),
});
/**
 * The otlp receiver's validated config, defaults applied (see {@link enabledProtocols} for the endpoints in use).
 */
export type OtlpReceiverConfig = Static<typeof OtlpReceiverConfigSchema>;

/** The endpoints of the enabled protocols (undefined: disabled). */
export function enabledProtocols(c: OtlpReceiverConfig): { grpc: string | undefined; http: string | undefined } {
  const p = c.protocols;
  return {
    grpc: p.grpc === undefined ? undefined : (p.grpc?.endpoint ?? DEFAULT_GRPC_ENDPOINT),
    http: p.http === undefined ? undefined : (p.http?.endpoint ?? DEFAULT_HTTP_ENDPOINT),
  };
}
