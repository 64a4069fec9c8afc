import { type Static } from '@sinclair/typebox';
import { Endpoint, Obj } from '../../src/config/types.ts';
import { intakeSchemaProps } from '../../src/otlp/intake.ts';

export const HttpJsonReceiverConfigSchema = Obj({
  endpoint: Endpoint('localhost:4319'),
  ...intakeSchemaProps(),
});
export type HttpJsonReceiverConfig = Static<typeof HttpJsonReceiverConfigSchema>;
