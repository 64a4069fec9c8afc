import { type Static } from '@sinclair/typebox';
import { Endpoint, Obj } from '../../src/config/types.ts';
import { intakeSchemaProps } from '../../src/otlp/intake.ts';
import { DEFAULT_MAX_REQUEST_VALUES } from '../../src/limits.ts';

/**
 * The schema of the http_json receiver's config (TypeBox; defaults applied by Ajv): `endpoint` (default
 * `localhost:4319`) plus the keys every intake receiver has (body size in bytes, read timeout, TLS, auth...).
 */
export const HttpJsonReceiverConfigSchema = Obj({
  endpoint: Endpoint('localhost:4319'),
  ...intakeSchemaProps(DEFAULT_MAX_REQUEST_VALUES, 'Most JSON values in one request: the body itself (or each NDJSON line), and each member of an object and element of an array in it'),
});
/** The http_json receiver's validated config, defaults applied. */
export type HttpJsonReceiverConfig = Static<typeof HttpJsonReceiverConfigSchema>;
