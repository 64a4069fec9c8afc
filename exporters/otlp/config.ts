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
    enabled: Type.Boolean({ default: true }),
    initial_interval: Duration('1s'),
    max_interval: Duration('30s'),
    max_elapsed_time: Duration('1h', 'give up on a request after this long (0: never)'),
  }),
  sending_queue: Obj({
    enabled: Type.Boolean({ default: true, description: 'false: send inside consume() and pass failures upstream' }),
    queue_size: Type.Integer({ minimum: 1, default: 1000, description: 'requests held in memory at most (one per signal of a batch)' }),
    num_consumers: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'concurrent requests' }),
    drain_timeout: Duration('10s', 'how long shutdown keeps sending what is queued'),
  }),
});
export type OtlpExporterConfig = Static<typeof OtlpExporterConfigSchema>;
