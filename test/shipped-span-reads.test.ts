/**
 * What the shipped pipeline pays to decode a span, as a count, not a timing (issue 21): the repository's own
 * pipelines.yaml reads a few attributes of each span (cost's GenAI call attributes, percentiles' dimensions),
 * so its OTLP receiver's decoder builds only those and the token counts. A component added to the shipped
 * pipeline without saying what it reads (`readsSpanAttributes`, src/component.ts), or a break in how the graph
 * works the union out, brings every attribute back and fails here.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { loadConfig } from '../src/config/load.ts';
import { Graph } from '../src/graph.ts';
import { silentLogger } from '../src/logger.ts';
import type { Batch } from '../src/model.ts';
import { SpanAttributeFilter, decodeExportRequest } from '../src/otlp/proto.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { genAiTracesRequest } from '../bench/_spans.ts';
import { shippedConfigEnv } from '../scripts/module-log/shipped-env.mjs';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');

const attributeKeys = (b: Batch): string[][] => b.resourceSpans!.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.attributes.map((a) => a.key))));

describe('the shipped pipeline', () => {
  it('decodes only the span attributes its components read: 7 of the 14 of a GenAI client span', async () => {
    const loaded = await loadConfig([path.join(root, 'pipelines.yaml')], components, shippedConfigEnv(tempDir()));
    if (!loaded.config) throw new Error(JSON.stringify(loaded.errors));
    const graph = new Graph(loaded.config, { logger: silentLogger(), registry: components, telemetry: new ServiceTelemetry(), host: { reportFatal: () => {} } });
    try {
      const reads = graph.relayOf('receiver:otlp')!.readsSpanAttributes;
      expect(reads).toBeDefined();
      const bytes = await genAiTracesRequest(100, 2);
      const full = attributeKeys(decodeExportRequest('traces', bytes));
      const built = attributeKeys(decodeExportRequest('traces', bytes, undefined, undefined, new SpanAttributeFilter(reads!)));
      expect(full.every((keys) => keys.length === 14)).toBe(true);
      expect(built.length).toBe(100);
      // the call's provider, operation and models (cost, percentiles), its token counts, and its endpoint (cost)
      for (const keys of built)
        expect(keys).toEqual(['gen_ai.system', 'gen_ai.operation.name', 'gen_ai.request.model', 'gen_ai.response.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'server.address']);
    } finally {
      await graph.shutdown();
    }
  });
});
