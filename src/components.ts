/**
 * The registry: every factory vigil knows. The graph builder and the config loader look components up
 * here by kind and type; nothing else in the core names a particular component.
 */
import type { ComponentKind, Factory } from './component.ts';
import { debugExporterFactory } from '../exporters/debug/index.ts';
import { nopExporterFactory } from '../exporters/nop/index.ts';

// One line per component; keep each list sorted.
export const receiverFactories: Factory<any>[] = [];
export const processorFactories: Factory<any>[] = [];
export const exporterFactories: Factory<any>[] = [debugExporterFactory, nopExporterFactory];

export const allFactories: Factory<any>[] = [...receiverFactories, ...processorFactories, ...exporterFactories];

/** The factory for `type` of `kind`, or undefined. */
export function findFactory(kind: ComponentKind, type: string): Factory<any> | undefined {
  const list = kind === 'receiver' ? receiverFactories : kind === 'processor' ? processorFactories : exporterFactories;
  return list.find((f) => f.type === type);
}
