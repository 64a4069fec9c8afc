import { Type, type Static } from '@sinclair/typebox';
import { Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/**
 * The schema of the email exporter's `smtp:` block (TypeBox; defaults applied by Ajv): server, port (default
 * 587), implicit TLS or STARTTLS policy (default required), AUTH credentials, CA file, EHLO name.
 */
export const SmtpSchema = Obj({
  host: Type.String({ minLength: 1, description: 'SMTP server host name' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 587, description: 'SMTP port (587 submission, 465 implicit TLS, 25 relay)' }),
  secure: Type.Boolean({ default: false, description: 'implicit TLS from the first byte (port 465)' }),
  starttls: Type.Union([Type.Literal('required'), Type.Literal('opportunistic'), Type.Literal('never')], {
    default: 'required',
    description: 'STARTTLS on a plain connection: required (fail without it), opportunistic (use it when offered), never',
  }),
  username: Type.String({ default: '', description: 'AUTH user name; empty: no AUTH' }),
  password: Type.String({ default: '', description: 'AUTH password (use ${env:SMTP_PASSWORD})' }),
  tls_insecure_skip_verify: Type.Boolean({ default: false, description: 'accept any server certificate (testing only)' }),
  ca_file: Type.String({ default: '', description: 'PEM file of CA certificates to trust for the server certificate' }),
  hello: Type.String({ default: '', description: 'name sent in EHLO; empty: the machine host name' }),
});

const Address = Type.String({ minLength: 3, pattern: '^[^\\r\\n]*@[^\\r\\n]*$' });

/**
 * The schema of the email exporter's config (TypeBox; defaults applied by Ajv): `smtp`, `from`, `to`, `cc`
 * (addresses without CR/LF), subject template, `send_resolved` (default true) and the shared delivery keys.
 */
export const EmailConfigSchema = Obj({
  smtp: SmtpSchema,
  from: Type.String({ minLength: 3, pattern: '^[^\\r\\n]*@[^\\r\\n]*$', description: 'From: address, e.g. "vigil <vigil@example.com>"' }),
  to: Type.Array(Address, { minItems: 1, description: 'recipients' }),
  cc: Type.Array(Address, { default: [], description: 'carbon-copy recipients' }),
  subject: Type.String({ default: '{{ subject }}', description: 'subject template (default: as Alertmanager writes it)' }),
  send_resolved: Type.Boolean({ default: true, description: 'also mail when a group resolves' }),
  ...deliveryConfigProps,
});
/** The email exporter's validated config, defaults applied. */
export type EmailConfig = Static<typeof EmailConfigSchema>;
