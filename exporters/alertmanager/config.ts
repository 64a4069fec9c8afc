import { Type, type Static } from '@sinclair/typebox';
import { Duration, Obj } from '../../src/config/types.ts';
import { deliveryConfigProps } from '../../src/delivery/config.ts';

/**
 * The schema of the alertmanager exporter's config (TypeBox; defaults applied by Ajv): Alertmanager base URL,
 * extra headers, `resend_delay` (default 1m; each alert is valid for 4x it, as Prometheus sends), external
 * labels, and the shared delivery keys.
 */
export const AlertmanagerConfigSchema = Obj({
  url: Type.String({ format: 'uri', description: 'base URL of one Alertmanager (alerts go to <url>/api/v2/alerts)' }),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'extra HTTP headers (e.g. Authorization for a proxy)' }),
  resend_delay: Duration('1m', 'how often firing alerts are sent again; each is valid for 4x this long (endsAt)'),
  external_labels: Type.Record(Type.String(), Type.String(), { default: {}, description: 'labels added to every alert (an alert label of the same name wins), to tell vigil instances apart' }),
  ...deliveryConfigProps,
});
/** The alertmanager exporter's validated config, defaults applied. */
export type AlertmanagerConfig = Static<typeof AlertmanagerConfigSchema>;
