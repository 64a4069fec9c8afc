/**
 * A child process for the kill -9 test: runs one alerts processor on a state directory and obeys JSON
 * lines on stdin: {"feed": value, "t": ms} stores a gauge point of metric `load`; {"tick": ms} evaluates
 * at that time and answers with {"tick": ms, "notifications": [...]} once the state is saved.
 */
import readline from 'node:readline';
import { configFor, testSettings, SinkConsumer } from '../../../test/helpers/index.ts';
import type { AlertNotification } from '../../../src/model.ts';
import { alertsProcessorFactory } from '../index.ts';
import type { AlertsProcessor } from '../alerts-processor.ts';
import { batchOf, gauge } from './batches.ts';

const stateDir = process.argv[2]!;
const emitted: AlertNotification[] = [];
const settings = testSettings('processor', 'alerts', {
  stateDir,
  emit: { consume: async (b) => void emitted.push(...(b.alerts ?? [])) },
  service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: {} },
});
const config = configFor(alertsProcessorFactory, {
  interval: '1h', // the parent drives evaluations
  rules: [{ name: 'HighLoad', metric: 'load', stat: 'last', window: '1m', op: '>', threshold: 10, severity: 'critical' }],
  routes: [{ exporters: ['webhook/ops'], group_wait: '0s', repeat_interval: '4h' }],
});
const proc = alertsProcessorFactory.create(settings, config) as AlertsProcessor;
await proc.start({ reportFatal: () => undefined });
const sink = new SinkConsumer();
process.stdout.write('{"ready":true}\n');
for await (const line of readline.createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { feed?: number; t?: number; tick?: number };
  if (msg.feed !== undefined) await proc.process(batchOf([gauge('load', {}, msg.feed, msg.t!)]), sink);
  if (msg.tick !== undefined) {
    emitted.length = 0;
    await proc.tick(msg.tick);
    process.stdout.write(`${JSON.stringify({ tick: msg.tick, notifications: emitted })}\n`);
  }
}
