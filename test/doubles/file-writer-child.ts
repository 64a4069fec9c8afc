/** Child process for the file exporter crash test: writes alert lines in a loop until killed. */
import { fileExporterFactory } from '../../exporters/file/index.ts';
import { configFor, testSettings } from '../helpers/index.ts';
import { makeAlert, makeNotification } from './alerts.ts';

const [file, stateDir] = process.argv.slice(2);
const exp = fileExporterFactory.create(testSettings('exporter', 'file/alerts', { stateDir }), configFor(fileExporterFactory, { path: file, fsync: false }));
await exp.start({ reportFatal: () => undefined });
const big = 'y'.repeat(200_000);
process.send?.('ready');
for (let i = 0; ; i++) {
  const a = makeAlert({ alertname: 'Crash', severity: 'warning', i: String(i) }, { annotations: { summary: big } });
  await (exp as unknown as { consume(b: unknown): Promise<void> }).consume({ alerts: [makeNotification(['file/alerts'], { alerts: [a] })] });
}
