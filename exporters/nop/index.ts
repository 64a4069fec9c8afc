import { Type } from '@sinclair/typebox';
import { type Exporter, type Factory, READS_NO_SPAN_FIELDS } from '../../src/component.ts';
import { type Batch, countItems, SIGNALS } from '../../src/model.ts';

/** Discards everything it receives, counting it as sent. For benchmarks and for wiring tests. */
export const nopExporterFactory: Factory<Record<string, never>> = {
  type: 'nop',
  kind: 'exporter',
  schema: Type.Object({}, { additionalProperties: false, default: {} }),
  signals: SIGNALS,
  create: (settings): Exporter => ({
    // Reads nothing but the counts, which an encoded request carries: no need to decode it.
    acceptsEncoded: true,
    spanReads: READS_NO_SPAN_FIELDS,
    start: async () => {},
    shutdown: async () => {},
    consume: async (batch: Batch) => {
      const c = countItems(batch);
      for (const s of SIGNALS) settings.telemetry.count('sent', s, c[s]);
    },
  }),
};
