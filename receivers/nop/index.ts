import { Type } from '@sinclair/typebox';
import type { Factory, Receiver } from '../../src/component.ts';
import { SIGNALS } from '../../src/model.ts';

/** Receives nothing. Keeps a pipeline valid while trying a config, and wires tests. */
export const nopReceiverFactory: Factory<Record<string, never>> = {
  type: 'nop',
  kind: 'receiver',
  schema: Type.Object({}, { additionalProperties: false, default: {} }),
  signals: SIGNALS,
  create: (): Receiver => ({ start: async () => {}, shutdown: async () => {} }),
};
