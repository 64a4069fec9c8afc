import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';

const Signal = Type.Union([Type.Literal('traces'), Type.Literal('metrics'), Type.Literal('logs')]);

export const OtlpExporterConfigSchema = Obj({
  endpoint: Type.String({
    minLength: 1,
    description: 'grpc: host:port or http(s)://host:port; http/*: base URL (http(s)://host:port[/prefix]), /v1/<signal> is appended',
  }),
  protocol: Type.Union([Type.Literal('grpc'), Type.Literal('http/protobuf'), Type.Literal('http/json')], { default: 'grpc' }),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'headers (gRPC metadata) sent with every request' }),
  compression: Type.Union([Type.Literal('gzip'), Type.Literal('none')], { default: 'gzip' }),
  timeout: Duration('10s', 'per-attempt timeout'),
  signals: Type.Array(Signal, { default: ['traces', 'metrics', 'logs'], uniqueItems: true, description: 'signals forwarded; others are ignored' }),
  tls: Obj({
    insecure: Type.Boolean({ default: false, description: 'grpc: plain text (no TLS) for a host:port endpoint; http: accept any server certificate' }),
    ca_file: Type.String({ default: '', description: 'PEM CA bundle to verify the server with (default: the system roots)' }),
    cert_file: Type.String({ default: '', description: 'PEM client certificate, for mutual TLS' }),
    key_file: Type.String({ default: '', description: 'PEM key of cert_file' }),
  }),
  retry: Obj({
    enabled: Type.Boolean({ default: true, description: 'false: one attempt, then the dead letter' }),
    initial_interval: Duration('1s', 'wait before the first retry'),
    max_interval: Duration('30s', 'cap on one wait (a Retry-After / RetryInfo from upstream wins)'),
    max_elapsed_time: Duration('1h', 'give up on a request (dead letter) after this long (0: never)'),
    multiplier: Type.Number({ minimum: 1, default: 2, description: 'growth of the wait after each failure' }),
    randomization_factor: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'jitter: the wait is drawn from [w*(1-f), w*(1+f)]' }),
  }),
  sending_queue: Obj({
    enabled: Type.Boolean({ default: true, description: 'false: send inside consume() and pass failures upstream' }),
    storage: Type.Union([Type.Literal('disk'), Type.Literal('memory')], {
      default: 'disk',
      description: 'disk: queued and fsync\'d in the state dir before consume() resolves (survives a crash); memory: lost with the process',
    }),
    queue_size: Type.Integer({ minimum: 1, default: 1000, description: 'requests queued at most (one per signal of a batch)' }),
    max_bytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024, description: 'bytes of queued requests held at most' }),
    num_consumers: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'concurrent requests' }),
    drain_timeout: Duration('10s', 'how long shutdown keeps sending what is queued'),
  }),
});
export type OtlpExporterConfig = Static<typeof OtlpExporterConfigSchema>;
