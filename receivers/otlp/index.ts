import type { ConfigIssue, Factory } from '../../src/component.ts';
import { validateTls } from '../../src/otlp/intake.ts';
import { type OtlpReceiverConfig, OtlpReceiverConfigSchema, enabledProtocols } from './config.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

/**
 * The factory of the `otlp` receiver (OTLP/gRPC and OTLP/HTTP with protobuf or JSON, all three signals); its
 * config is refused when no protocol is enabled or the TLS files are unusable.
 */
export const otlpReceiverFactory: Factory<OtlpReceiverConfig> = {
  type: 'otlp',
  kind: 'receiver',
  schema: OtlpReceiverConfigSchema,
  signals: ['traces', 'metrics', 'logs'],
  example: { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } },
  validate(config): ConfigIssue[] {
    const issues = validateTls(config.tls);
    const { grpc, http } = enabledProtocols(config);
    if (!grpc && !http) issues.push({ path: ['protocols'], message: 'enable at least one protocol: grpc or http' });
    return issues;
  },
  endpoints(config) {
    const { grpc, http } = enabledProtocols(config);
    return [grpc, http].filter((e): e is string => e !== undefined);
  },
  create: (settings, config) => new OtlpReceiver(settings, config),
};
