/**
 * Child process for the disk-full tests: runs one exporter (`webhook`, `otlp` or `file`) whose state or
 * output is on a small tmpfs, and obeys the parent over IPC, so that the parent can fill and free the disk
 * between writes and then kill -9 it:
 *   {op: 'consume', n}  -> queues item number n (an alert, or a span for otlp) and answers
 *                          {ok, error?, retryable?, ready, queued}
 *   {op: 'status'}      -> {ready, queued}
 * `ready` is what /readyz would say (undefined when ready), `queued` the queue gauge.
 */
import type { Exporter } from '../../src/component.ts';
import { isRetryable } from '../../src/errors.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { fileExporterFactory } from '../../exporters/file/index.ts';
import { otlpExporterFactory } from '../../exporters/otlp/index.ts';
import { webhookExporterFactory } from '../../exporters/webhook/index.ts';
import { configFor, testSettings } from '../helpers/index.ts';
import { resourceSpans, span } from '../percentiles-helpers.ts';
import { makeAlert, makeNotification } from './alerts.ts';

const [kind, stateDir, target] = process.argv.slice(2) as ['webhook' | 'otlp' | 'file', string, string];
const telemetry = new ServiceTelemetry();
telemetry.phase = 'running';
const id = `${kind}/disk`;
const settings = testSettings('exporter', id, { stateDir, telemetry: telemetry.forComponent('exporter', id) });
const fast = { initial_interval: '50ms', max_interval: '200ms', max_elapsed_time: '0s' };
const exp = (
  kind === 'webhook'
    ? webhookExporterFactory.create(settings, configFor(webhookExporterFactory, { url: target, retry: fast }))
    : kind === 'otlp'
      ? otlpExporterFactory.create(settings, configFor(otlpExporterFactory, { endpoint: target, protocol: 'http/json', compression: 'none', retry: fast }))
      : fileExporterFactory.create(settings, configFor(fileExporterFactory, { path: target }))
) as Exporter & { queued?: number; size?: number };
await exp.start({ reportFatal: () => undefined });

/** ~3 KB per item, so that a write cut by a full disk leaves part of a record. */
const pad = 'p'.repeat(3000);
function batchOf(n: number) {
  if (kind === 'otlp') {
    const s = span(Date.now(), 5, { name: `op-${n}`, attributes: [{ key: 'pad', value: pad }] });
    return { resourceSpans: [resourceSpans('disk-full', [s])] };
  }
  const a = makeAlert({ alertname: 'DiskFull', severity: 'warning', n: String(n) }, { annotations: { summary: pad } });
  return { alerts: [makeNotification([id], { groupKey: `{}:{n="${n}"}`, alerts: [a] })] };
}

function queued(): number | undefined {
  const q = (exp as unknown as { delivery?: { size: number } }).delivery ?? (exp as unknown as { queue?: { size: number } }).queue;
  return q?.size;
}

process.on('message', (m: { op: string; n?: number; seq: number }) => {
  void (async () => {
    const reply: Record<string, unknown> = { seq: m.seq };
    if (m.op === 'consume') {
      try {
        await exp.consume(batchOf(m.n!));
        reply.ok = true;
      } catch (e) {
        reply.ok = false;
        reply.error = (e as Error).message;
        reply.retryable = isRetryable(e);
      }
    }
    reply.ready = telemetry.notReadyReason();
    reply.queued = queued();
    process.send!(reply);
  })();
});
process.send!({ seq: 0, started: true });
setInterval(() => undefined, 1000);
