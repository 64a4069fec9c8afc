/**
 * The components that keep a state file, each with a config that starts it on loopback (targets that refuse
 * connections) and its state file's path below the state folder: for the tests of what every state loader does
 * (temp files left by a crash, a file that cannot be read back).
 */
import type { Factory } from '../../src/component.ts';
import { alertsProcessorFactory } from '../../processors/alerts/index.ts';
import { costProcessorFactory } from '../../processors/cost/index.ts';
import { alertmanagerExporterFactory } from '../../exporters/alertmanager/index.ts';
import { prometheusExporterFactory } from '../../exporters/prometheus/index.ts';
import { pagerdutyExporterFactory } from '../../exporters/pagerduty/index.ts';
import { opsgenieExporterFactory } from '../../exporters/opsgenie/index.ts';

/** [id, factory, kind, raw config, state file relative to the state folder] */
export const STATEFUL_COMPONENTS: [string, Factory, 'processor' | 'exporter', Record<string, unknown>, string][] = [
  ['alerts', alertsProcessorFactory as Factory, 'processor', {}, 'processors/alerts/state.json'],
  ['cost', costProcessorFactory as Factory, 'processor', { budgets: [{ name: 'daily', period: 'day', limit_usd: 10 }] }, 'processors/cost/budgets.json'],
  ['alertmanager', alertmanagerExporterFactory as Factory, 'exporter', { url: 'http://127.0.0.1:9' }, 'exporters/alertmanager/active.json'],
  ['prometheus', prometheusExporterFactory as Factory, 'exporter', { endpoint: '127.0.0.1:0' }, 'exporters/prometheus/alerts.json'],
  ['pagerduty', pagerdutyExporterFactory as Factory, 'exporter', { url: 'http://127.0.0.1:9/v2/enqueue', routing_key: 'R0UT1NGKEY0000000000000000000000' }, 'exporters/pagerduty/incidents.json'],
  ['opsgenie', opsgenieExporterFactory as Factory, 'exporter', { api_url: 'http://127.0.0.1:9', api_key: '00000000-0000-0000-0000-000000000000' }, 'exporters/opsgenie/incidents.json'],
];
