import type { Factory } from '../../src/component.ts';
import { validateTls } from '../../src/otlp/intake.ts';
import { type HttpJsonReceiverConfig, HttpJsonReceiverConfigSchema } from './config.ts';
import { HttpJsonReceiver } from './http-json-receiver.ts';

/** The factory of the `http_json` receiver (`POST /v1/events`, plain JSON events for traces, metrics and logs). */
export const httpJsonReceiverFactory: Factory<HttpJsonReceiverConfig> = {
  type: 'http_json',
  kind: 'receiver',
  schema: HttpJsonReceiverConfigSchema,
  signals: ['traces', 'metrics', 'logs'],
  example: { endpoint: '127.0.0.1:0' },
  validate: (config) => validateTls(config.tls),
  endpoints: (config) => [config.endpoint],
  create: (settings, config) => new HttpJsonReceiver(settings, config),
};
