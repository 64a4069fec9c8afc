import { describe, expect, it } from 'vitest';
import { ConsumerError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { SinkConsumer, configFor, testSettings } from '../../test/helpers/index.ts';
import { memoryLimiterProcessorFactory } from './index.ts';
import { MemoryLimiter } from './memory-limiter.ts';

describe('memory_limiter', () => {
  it('refuses with a retryable error above the soft limit and accepts again below it', async () => {
    let used = 100 * 1048576;
    const settings = testSettings('processor', 'memory_limiter');
    const ml = new MemoryLimiter(configFor(memoryLimiterProcessorFactory, { limit_mib: 200, spike_limit_mib: 50 }), silentLogger(), settings.telemetry, () => used);
    await ml.start();
    const sink = new SinkConsumer();
    await ml.process({ resourceSpans: [] }, sink);
    expect(sink.batches).toHaveLength(1);

    used = 151 * 1048576; // above 200 - 50
    ml.check();
    const err = await ml.process({ resourceSpans: [] }, sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsumerError);
    expect((err as ConsumerError).permanent).toBe(false);
    expect((err as ConsumerError).retryAfterMs).toBe(1000);
    expect(sink.batches).toHaveLength(1);

    used = 149 * 1048576;
    ml.check();
    await ml.process({ resourceSpans: [] }, sink);
    expect(sink.batches).toHaveLength(2);
    await ml.shutdown();
  });

  it('defaults the spike limit to 20% and refuses a spike limit at or above the limit', () => {
    expect(() => configFor(memoryLimiterProcessorFactory, { limit_mib: 100, spike_limit_mib: 100 })).toThrow(
      'spike_limit_mib: must be below limit_mib (100)',
    );
    expect(() => configFor(memoryLimiterProcessorFactory, { limit_mib: 100 })).not.toThrow();
  });

  it('collects garbage before refusing: a heap of garbage is not refused, and it accepts again as soon as memory is back', async () => {
    let used = 180 * 1048576;
    let collections = 0;
    const settings = testSettings('processor', 'memory_limiter');
    const gc = () => {
      collections++;
      used = garbageOnly ? 90 * 1048576 : used;
    };
    let garbageOnly = true;
    const ml = new MemoryLimiter(configFor(memoryLimiterProcessorFactory, { limit_mib: 200, spike_limit_mib: 50 }), silentLogger(), settings.telemetry, () => used, gc);
    await ml.start();
    const sink = new SinkConsumer();
    await ml.process({ resourceSpans: [] }, sink);
    expect(collections).toBe(1);
    expect(sink.batches).toHaveLength(1);
    await ml.shutdown();

    // Live data over the soft limit: refused even after a collection.
    garbageOnly = false;
    used = 180 * 1048576;
    const ml2 = new MemoryLimiter(configFor(memoryLimiterProcessorFactory, { limit_mib: 200, spike_limit_mib: 50 }), silentLogger(), settings.telemetry, () => used, gc);
    await ml2.start();
    expect(await ml2.process({ resourceSpans: [] }, sink).catch((e: unknown) => e)).toBeInstanceOf(ConsumerError);
    expect(collections).toBe(2);
    await ml2.shutdown();
  });
});
