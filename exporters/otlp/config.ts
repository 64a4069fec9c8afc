import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';
import { SendingQueueSchema, deliveryConfigProps } from '../../src/delivery/config.ts';

const Signal = Type.Union([Type.Literal('traces'), Type.Literal('metrics'), Type.Literal('logs')]);

/**
 * The schema of the otlp exporter's config (TypeBox; defaults applied by Ajv), after the Collector's otlp and
 * otlphttp exporters: endpoint, protocol (grpc, http/protobuf or http/json; default grpc), headers, gzip
 * compression, signals forwarded, client TLS, and the shared delivery keys (`max_items` counts requests here).
 */
export const OtlpExporterConfigSchema = Obj({
  endpoint: Type.String({
    minLength: 1,
    description: 'grpc: host:port or http(s)://host:port; http/*: base URL (http(s)://host:port[/prefix]), /v1/<signal> is appended',
  }),
  protocol: Type.Union([Type.Literal('grpc'), Type.Literal('http/protobuf'), Type.Literal('http/json')], { default: 'grpc' }),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'headers (gRPC metadata) sent with every request' }),
  compression: Type.Union([Type.Literal('gzip'), Type.Literal('none')], { default: 'gzip' }),
  signals: Type.Array(Signal, { default: ['traces', 'metrics', 'logs'], uniqueItems: true, description: 'signals forwarded; others are ignored' }),
  tls: Obj({
    insecure: Type.Boolean({ default: false, description: 'grpc: plain text (no TLS) for a host:port endpoint; http: accept any server certificate' }),
    ca_file: Type.String({ default: '', description: 'PEM CA bundle to verify the server with (default: the system roots)' }),
    cert_file: Type.String({ default: '', description: 'PEM client certificate, for mutual TLS' }),
    key_file: Type.String({ default: '', description: 'PEM key of cert_file' }),
  }),
  // the shared delivery block (src/delivery/README.md): timeout, shutdown_timeout, retry, sending_queue
  ...deliveryConfigProps,
  shutdown_timeout: Duration('10s', 'how long shutdown keeps sending what is queued'),
  sending_queue: Obj(
    {
      ...SendingQueueSchema.properties,
      max_items: Type.Integer({ minimum: 1, default: 1000, description: 'requests queued at most (one per signal of a batch)' }),
      // renamed to the shared block's names; still read only to say so
      queue_size: Type.Optional(Type.Integer({ description: 'renamed: sending_queue.max_items' })),
      drain_timeout: Type.Optional(Type.String({ description: 'renamed: shutdown_timeout' })),
    },
    { description: 'the queue in the exporter state folder (or in memory)' },
  ),
});
/** The otlp exporter's validated config, defaults applied. */
export type OtlpExporterConfig = Static<typeof OtlpExporterConfigSchema>;
