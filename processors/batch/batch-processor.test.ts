import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Consumer } from '../../src/component.ts';
import { type Batch, countItems } from '../../src/model.ts';
import { decodeEncoded, encodeExportRequest } from '../../src/otlp/proto.ts';
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

  it('joins encoded requests into one request per signal, and decodes them when decoded data of the signal is held too', async () => {
    const p = make({ send_batch_size: 1000, timeout: '1h' });
    const sink = new EncodedSink();
    const lent = (n: number): Batch => {
      const bytes = encodeExportRequest(logs(n), 'logs');
      return { encoded: { signal: 'logs', bytes: Buffer.from(bytes), items: n } };
    };
    const a = lent(2);
    await p.process(a, sink);
    a.encoded!.bytes.fill(0); // lent bytes: the processor must have kept its own copy
    await p.process(lent(3), sink);
    await p.shutdown();
    expect(sink.batches).toHaveLength(1);
    const one = sink.batches[0]!;
    expect(one.encoded?.items).toBe(5);
    expect(countItems(decodeEncoded(one)).logs).toBe(5);
    expect(decodeEncoded(one).resourceLogs!.map((r) => r.scopeLogs[0]!.logRecords.length)).toEqual([2, 3]);

    const q = make({ send_batch_size: 1000, timeout: '1h' });
    const sink2 = new EncodedSink();
    await q.process(lent(2), sink2);
    await q.process(logs(4), sink2);
    await q.shutdown();
    expect(sink2.batches).toHaveLength(1);
    expect(sink2.batches[0]!.encoded).toBeUndefined();
    expect(countItems(sink2.batches[0]!).logs).toBe(6);

    // A downstream that does not take encoded batches gets them decoded.
    const r = make({ send_batch_size: 1000, timeout: '1h' });
    const plain = new SinkConsumer();
    await r.process(lent(2), plain);
    await r.shutdown();
    expect(plain.logRecords).toHaveLength(2);
  });
});

class EncodedSink implements Consumer {
  readonly acceptsEncoded = true;
  readonly batches: Batch[] = [];
  async consume(b: Batch): Promise<void> {
    this.batches.push(b);
  }
}
