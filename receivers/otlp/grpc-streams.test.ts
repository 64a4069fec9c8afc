import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { SinkConsumer, configFor, testSettings } from '../../test/helpers/index.ts';
import { otlpReceiverFactory } from './index.ts';
import type { OtlpReceiver } from './otlp-receiver.ts';

async function advertisedMaxStreams(raw: Record<string, unknown>): Promise<number> {
  const r = otlpReceiverFactory.create(testSettings('receiver', 'otlp', { emit: new SinkConsumer() }), configFor(otlpReceiverFactory, raw)) as OtlpReceiver;
  await r.start({ reportFatal: () => {} });
  try {
    const session = http2.connect(`http://${r.grpcAddress}`);
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    session.close();
    return settings.maxConcurrentStreams ?? Infinity;
  } finally {
    await r.shutdown();
  }
}

describe('otlp receiver gRPC max_concurrent_streams', () => {
  it('advertises the configured limit to clients, and none by default', async () => {
    expect(await advertisedMaxStreams({ protocols: { grpc: { endpoint: '127.0.0.1:0', max_concurrent_streams: 2 } } })).toBe(2);
    expect(await advertisedMaxStreams({ protocols: { grpc: { endpoint: '127.0.0.1:0' } } })).toBeGreaterThan(1000);
  });
});
