/**
 * Child process for the crash test: runs the webhook exporter against `url` (down), queues `count`
 * notifications, tells the parent "queued", and keeps retrying until it is killed.
 */
import { webhookExporterFactory } from '../../exporters/webhook/index.ts';
import { configFor, testSettings } from '../helpers/index.ts';
import { makeAlert, makeNotification } from './alerts.ts';

const [url, stateDir, countText] = process.argv.slice(2);
const count = Number(countText);
const exp = webhookExporterFactory.create(
  testSettings('exporter', 'webhook/crash', { stateDir }),
  configFor(webhookExporterFactory, { url, retry: { initial_interval: '50ms', max_interval: '200ms' }, sending_queue: { max_items: 5000 } }),
) as unknown as { start(h: unknown): Promise<void>; consume(b: unknown): Promise<void> };
await exp.start({ reportFatal: () => undefined });
const pending: Promise<void>[] = [];
for (let i = 0; i < count; i++) {
  const a = makeAlert({ alertname: 'Crash', severity: i % 10 === 0 ? 'critical' : 'warning', n: String(i) });
  pending.push(exp.consume({ alerts: [makeNotification(['webhook/crash'], { groupKey: `{}:{n="${i}"}`, alerts: [a] })] }));
}
await Promise.all(pending);
process.send!('queued');
setInterval(() => undefined, 1000);
