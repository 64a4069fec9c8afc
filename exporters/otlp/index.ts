import type { ConfigIssue, Factory } from '../../src/component.ts';
import { type OtlpExporterConfig, OtlpExporterConfigSchema } from './config.ts';
import { OtlpExporter } from './otlp-exporter.ts';

/** HTTP's token: the characters a header name may have. */
const HTTP_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What an HTTP header value may hold: tab, visible ASCII and space, obs-text; never CR, LF or NUL. */
const HTTP_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** gRPC metadata: lowercase keys of these characters, printable ASCII values. */
const GRPC_NAME = /^[0-9a-z_.-]+$/;
const GRPC_VALUE = /^[\x20-\x7e]*$/;

/**
 * Headers the protocol could not send, found at load time: otherwise every request would fail on them (a
 * token read with its trailing newline, say) and be retried until it is dead-lettered.
 */
function headerIssues(config: OtlpExporterConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const grpcProto = config.protocol === 'grpc';
  for (const [name, value] of Object.entries(config.headers)) {
    const where = ['headers', name];
    const key = name.toLowerCase();
    if (grpcProto ? !GRPC_NAME.test(key) : !HTTP_NAME.test(name))
      issues.push({ path: where, message: grpcProto ? 'not a gRPC metadata key: use letters, digits, "-", "_" and "."' : 'not an HTTP header name: use letters, digits and "-"' });
    else if (grpcProto && key.endsWith('-bin')) issues.push({ path: where, message: 'binary gRPC metadata ("-bin" keys) is not supported: use a text key' });
    else if (!(grpcProto ? GRPC_VALUE : HTTP_VALUE).test(value))
      issues.push({ path: where, message: `the value holds a character a header cannot carry${/[\r\n]/.test(value) ? ' (a line break: a token read with its trailing newline?)' : ''}` });
  }
  return issues;
}

/**
 * The factory of the `otlp` exporter (traces, metrics and logs to an OTLP/gRPC or OTLP/HTTP endpoint); the
 * config is refused when the endpoint does not suit the protocol.
 */
export const otlpExporterFactory: Factory<OtlpExporterConfig> = {
  type: 'otlp',
  kind: 'exporter',
  schema: OtlpExporterConfigSchema,
  signals: ['traces', 'metrics', 'logs'],
  example: { endpoint: 'http://127.0.0.1:4318', protocol: 'http/protobuf' },
  validate(config): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (config.protocol === 'grpc') {
      const m = /^(https?:\/\/)?(\[[^\]]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(config.endpoint);
      if (!m || Number(m[3]) > 65535)
        issues.push({ path: ['endpoint'], message: 'expected host:port or http(s)://host:port (a port from 0 to 65535) for protocol grpc' });
    } else {
      let ok = false;
      try {
        ok = /^https?:$/.test(new URL(config.endpoint).protocol);
      } catch {
        ok = false;
      }
      if (!ok) issues.push({ path: ['endpoint'], message: `expected an http:// or https:// URL for protocol ${config.protocol}` });
    }
    issues.push(...headerIssues(config));
    if (!!config.tls.cert_file !== !!config.tls.key_file) issues.push({ path: ['tls'], message: 'cert_file and key_file go together' });
    if (config.signals.length === 0) issues.push({ path: ['signals'], message: 'list at least one signal' });
    // the shared delivery block's names (src/delivery/README.md) replaced these
    if (config.sending_queue.queue_size !== undefined)
      issues.push({ path: ['sending_queue', 'queue_size'], message: `renamed: write sending_queue.max_items: ${config.sending_queue.queue_size} (the same key as every queued exporter)` });
    if (config.sending_queue.drain_timeout !== undefined)
      issues.push({ path: ['sending_queue', 'drain_timeout'], message: `renamed: write shutdown_timeout: ${config.sending_queue.drain_timeout} at the exporter's top level (the same key as every queued exporter)` });
    return issues;
  },
  create: (settings, config) => new OtlpExporter(settings, config),
};
