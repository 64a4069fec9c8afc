/**
 * The registry: every factory vigil knows. The graph builder and the config loader look components up
 * here by kind and type; nothing else in the core names a particular component.
 */
import type { ComponentKind, Factory } from './component.ts';
import { alertmanagerExporterFactory } from '../exporters/alertmanager/index.ts';
import { debugExporterFactory } from '../exporters/debug/index.ts';
import { emailExporterFactory } from '../exporters/email/index.ts';
import { fileExporterFactory } from '../exporters/file/index.ts';
import { nopExporterFactory } from '../exporters/nop/index.ts';
import { otlpExporterFactory } from '../exporters/otlp/index.ts';
import { slackExporterFactory } from '../exporters/slack/index.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import { batchProcessorFactory } from '../processors/batch/index.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import { memoryLimiterProcessorFactory } from '../processors/memory_limiter/index.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import { httpJsonReceiverFactory } from '../receivers/http_json/index.ts';
import { nopReceiverFactory } from '../receivers/nop/index.ts';
import { otlpReceiverFactory } from '../receivers/otlp/index.ts';

// One line per component; keep each list sorted.
export const receiverFactories: Factory<any>[] = [httpJsonReceiverFactory, nopReceiverFactory, otlpReceiverFactory];
export const processorFactories: Factory<any>[] = [alertsProcessorFactory, batchProcessorFactory, costProcessorFactory, memoryLimiterProcessorFactory, percentilesProcessorFactory];
export const exporterFactories: Factory<any>[] = [
  alertmanagerExporterFactory,
  debugExporterFactory,
  emailExporterFactory,
  fileExporterFactory,
  nopExporterFactory,
  otlpExporterFactory,
  slackExporterFactory,
  webhookExporterFactory,
];

function listOf(kind: ComponentKind): Factory<any>[] {
  return kind === 'receiver' ? receiverFactories : kind === 'processor' ? processorFactories : exporterFactories;
}

/** Every registered factory. */
export function allFactories(): Factory<any>[] {
  return [...receiverFactories, ...processorFactories, ...exporterFactories];
}

/** The factory for `type` of `kind`, or undefined. */
export function findFactory(kind: ComponentKind, type: string): Factory<any> | undefined {
  return listOf(kind).find((f) => f.type === type);
}

/** Adds a factory at run time (tests register their doubles this way). */
export function registerFactory(factory: Factory<any>): void {
  const list = listOf(factory.kind);
  if (!list.some((f) => f.type === factory.type)) list.push(factory);
}
