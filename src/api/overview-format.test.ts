import { describe, expect, it } from 'vitest';
import { pipelineChain } from './overview-format.ts';

describe('pipelineChain', () => {
  it('shows receivers and exporters side by side (fan-in, fan-out), processors in order', () => {
    expect(pipelineChain({ receivers: ['otlp', 'http_json'], processors: ['memory_limiter', 'cost'], exporters: ['debug', 'file/alerts'] })).toBe(
      'otlp, http_json -> memory_limiter -> cost -> debug, file/alerts',
    );
    expect(pipelineChain({ receivers: ['otlp'], processors: [], exporters: ['nop'] })).toBe('otlp -> nop');
  });
});
