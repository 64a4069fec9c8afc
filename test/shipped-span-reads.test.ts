/**
 * What the shipped pipeline pays to decode a span, as a count, not a timing (issue 21): the repository's own
 * pipelines.yaml reads a few attributes of each span (cost's GenAI call attributes, percentiles' dimensions)
 * and no ids, so its OTLP receiver's decoder builds only those attributes and the token counts, and makes no
 * hex of the ids. A component added to the shipped pipeline without saying what it reads (`spanReads`,
 * src/component.ts), or a break in how the graph works the union out, brings it all back and fails here.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { components } from '../app/components.ts';
import { loadConfig } from '../src/config/load.ts';
import { Graph } from '../src/graph.ts';
import { silentLogger } from '../src/logger.ts';
import type { Batch } from '../src/model.ts';
import { SpanDecodePlan, UNDECODED_ID, decodeExportRequest } from '../src/otlp/proto.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { genAiTracesRequest } from '../bench/_spans.ts';
import { shippedConfigEnv } from '../scripts/module-log/shipped-env.mjs';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');

const attributeKeys = (b: Batch): string[][] => b.resourceSpans!.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.attributes.map((a) => a.key))));

describe('the shipped pipeline', () => {
  it('decodes only what its components read of a span: 7 of the 14 attributes of a GenAI client span, no ids', async () => {
    const loaded = await loadConfig([path.join(root, 'pipelines.yaml')], components, shippedConfigEnv(tempDir()));
    if (!loaded.config) throw new Error(JSON.stringify(loaded.errors));
    const graph = new Graph(loaded.config, { logger: silentLogger(), registry: components, telemetry: new ServiceTelemetry(), host: { reportFatal: () => {} } });
    try {
      const reads = graph.relayOf('receiver:otlp')!.spanReads;
      expect(reads).toBeDefined();
      expect(reads!.ids).toBe(false);
      const bytes = await genAiTracesRequest(100, 2);
      const full = attributeKeys(decodeExportRequest('traces', bytes));
      const slim = decodeExportRequest('traces', bytes, undefined, undefined, new SpanDecodePlan(reads!));
      const built = attributeKeys(slim);
      // no hex made of the ids: the receiver sees them present and not zero, nothing downstream reads them
      for (const rs of slim.resourceSpans!) for (const ss of rs.scopeSpans) for (const s of ss.spans) expect([s.traceId, s.spanId]).toEqual([UNDECODED_ID, UNDECODED_ID]);
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
