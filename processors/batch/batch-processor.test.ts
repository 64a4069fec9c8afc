import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Batch } from '../../src/model.ts';
import { SinkConsumer, configFor, testSettings } from '../../test/helpers/index.ts';
import { batchProcessorFactory } from './index.ts';
import type { BatchProcessor } from './batch-processor.ts';

const logs = (n: number): Batch => ({
  resourceLogs: [
    {
      resource: { attributes: [], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeLogs: [
        {
          scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
          schemaUrl: '',
          logRecords: Array.from({ length: n }, (_, i) => ({
            timeUnixNano: BigInt(i),
            observedTimeUnixNano: 0n,
            severityNumber: 9,
            severityText: 'INFO',
            body: `line ${i}`,
            attributes: [],
            droppedAttributesCount: 0,
            flags: 0,
            traceId: '',
            spanId: '',
            eventName: '',
          })),
        },
      ],
    },
  ],
});

function make(raw: unknown): BatchProcessor {
  return batchProcessorFactory.create(testSettings('processor', 'batch'), configFor(batchProcessorFactory, raw)) as BatchProcessor;
}

afterEach(() => vi.useRealTimers());

describe('batch', () => {
  it('sends once send_batch_size items are held', async () => {
    const p = make({ send_batch_size: 10, timeout: '1h' });
    const sink = new SinkConsumer();
    await p.process(logs(4), sink);
    await p.process(logs(4), sink);
    expect(sink.batches).toHaveLength(0);
    await p.process(logs(4), sink);
    expect(sink.batches).toHaveLength(1);
    expect(sink.logRecords).toHaveLength(12);
    await p.shutdown();
  });

  it('sends after the timeout, one buffer per downstream', async () => {
    vi.useFakeTimers();
    const p = make({ send_batch_size: 1000, timeout: '200ms' });
    const a = new SinkConsumer();
    const b = new SinkConsumer();
    await p.process(logs(1), a);
    await p.process(logs(2), b);
    await vi.advanceTimersByTimeAsync(199);
    expect(a.batches.length + b.batches.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.logRecords).toHaveLength(1);
    expect(b.logRecords).toHaveLength(2);
    await p.shutdown();
  });

  it('flushes what it holds on shutdown', async () => {
    const p = make({ send_batch_size: 1000, timeout: '1h' });
    const sink = new SinkConsumer();
    await p.process(logs(3), sink);
    await p.shutdown();
    expect(sink.logRecords).toHaveLength(3);
  });
});
