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
});
