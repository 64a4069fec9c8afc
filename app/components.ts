/**
 * The components this build of vigil ships: one line per component, each loaded only when a config names
 * its type. This list is the only place that names every component; the core (src/) is handed it.
 * Adding a component: a folder under receivers/, processors/ or exporters/ and one line here (ARCHITECTURE.md).
 */
import { ComponentRegistry } from '../src/registry.ts';

// Keep each kind sorted by type.
export const components = new ComponentRegistry([
  { kind: 'receiver', type: 'http_json', load: async () => (await import('../receivers/http_json/index.ts')).httpJsonReceiverFactory },
  { kind: 'receiver', type: 'nop', load: async () => (await import('../receivers/nop/index.ts')).nopReceiverFactory },
  { kind: 'receiver', type: 'otlp', load: async () => (await import('../receivers/otlp/index.ts')).otlpReceiverFactory },

  { kind: 'processor', type: 'alerts', load: async () => (await import('../processors/alerts/index.ts')).alertsProcessorFactory },
  { kind: 'processor', type: 'batch', load: async () => (await import('../processors/batch/index.ts')).batchProcessorFactory },
  { kind: 'processor', type: 'cost', load: async () => (await import('../processors/cost/index.ts')).costProcessorFactory },
  { kind: 'processor', type: 'memory_limiter', load: async () => (await import('../processors/memory_limiter/index.ts')).memoryLimiterProcessorFactory },
  { kind: 'processor', type: 'percentiles', load: async () => (await import('../processors/percentiles/index.ts')).percentilesProcessorFactory },

  { kind: 'exporter', type: 'alertmanager', load: async () => (await import('../exporters/alertmanager/index.ts')).alertmanagerExporterFactory },
  { kind: 'exporter', type: 'debug', load: async () => (await import('../exporters/debug/index.ts')).debugExporterFactory },
  { kind: 'exporter', type: 'email', load: async () => (await import('../exporters/email/index.ts')).emailExporterFactory },
  { kind: 'exporter', type: 'file', load: async () => (await import('../exporters/file/index.ts')).fileExporterFactory },
  { kind: 'exporter', type: 'nop', load: async () => (await import('../exporters/nop/index.ts')).nopExporterFactory },
  { kind: 'exporter', type: 'opsgenie', load: async () => (await import('../exporters/opsgenie/index.ts')).opsgenieExporterFactory },
  { kind: 'exporter', type: 'otlp', load: async () => (await import('../exporters/otlp/index.ts')).otlpExporterFactory },
  { kind: 'exporter', type: 'pagerduty', load: async () => (await import('../exporters/pagerduty/index.ts')).pagerdutyExporterFactory },
  { kind: 'exporter', type: 'prometheus', load: async () => (await import('../exporters/prometheus/index.ts')).prometheusExporterFactory },
  { kind: 'exporter', type: 'slack', load: async () => (await import('../exporters/slack/index.ts')).slackExporterFactory },
  { kind: 'exporter', type: 'webhook', load: async () => (await import('../exporters/webhook/index.ts')).webhookExporterFactory },
]);
