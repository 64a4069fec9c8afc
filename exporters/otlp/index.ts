import type { ConfigIssue, Factory } from '../../src/component.ts';
import { type OtlpExporterConfig, OtlpExporterConfigSchema } from './config.ts';
import { OtlpExporter } from './otlp-exporter.ts';

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
