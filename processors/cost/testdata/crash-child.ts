/**
 * Child process for the kill -9 test (test/cost-budgets.test.ts): prices one call into a budget, waits
 * until the spend is on disk, says so on stdout, then idles until it is killed.
 */
import fs from 'node:fs';
import { silentLogger } from '../../../src/logger.ts';
import { StatusCode } from '../../../src/model.ts';
import { ServiceTelemetry } from '../../../src/telemetry.ts';
import { NOOP_CONSUMER } from '../../../src/component.ts';
import { configFor } from '../../../test/helpers/index.ts';
import { costProcessorFactory } from '../index.ts';
import type { CostProcessor } from '../cost-processor.ts';

const stateDir = process.argv[2]!;
const telemetry = new ServiceTelemetry();
const proc = costProcessorFactory.create(
  {
    id: 'cost',
    kind: 'processor',
    logger: silentLogger(),
    telemetry: telemetry.forComponent('processor', 'cost'),
    stateDir,
    emit: NOOP_CONSUMER,
    service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {} },
  },
  configFor(costProcessorFactory, { persist_interval: '50ms', budgets: [{ name: 'daily', period: 'day', limit_usd: 10 }] }),
) as CostProcessor;
await proc.start();
const now = BigInt(Date.now()) * 1_000_000n;
await proc.process(
  {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: 'bot' }], droppedAttributesCount: 0 },
        scopeSpans: [
          {
            scope: { name: 'child', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              {
                traceId: '',
                spanId: '',
                traceState: '',
                parentSpanId: '',
                flags: 0,
                name: 'chat',
                kind: 3,
                startTimeUnixNano: now - 1_000_000n,
                endTimeUnixNano: now,
                attributes: [
                  { key: 'gen_ai.request.model', value: 'gpt-4o' },
                  { key: 'gen_ai.usage.input_tokens', value: 1_000_000n },
                ],
                droppedAttributesCount: 0,
                events: [],
                droppedEventsCount: 0,
                links: [],
                droppedLinksCount: 0,
                status: { code: StatusCode.Ok, message: '' },
              },
            ],
          },
        ],
        schemaUrl: '',
      },
    ],
  },
  NOOP_CONSUMER,
);
const poll = setInterval(() => {
  if (fs.existsSync(proc.budgetFile)) {
    clearInterval(poll);
    process.stdout.write('persisted\n');
    setInterval(() => {}, 1000); // idle until SIGKILL
  }
}, 10);
