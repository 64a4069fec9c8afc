/** Builds an AlertEngine from a raw alerts config (defaults applied, validated) for tests. */
import { configFor } from '../../../test/helpers/index.ts';
import type { SilenceSource } from '../../../src/silence-store.ts';
import { AlertEngine } from '../alert-engine.ts';
import type { AlertsConfig } from '../config.ts';
import { alertsProcessorFactory } from '../index.ts';
import { compileConfig } from '../rules.ts';

export function engineFor(raw: unknown, opts: { startedAt?: number; observedFrom?: number; silences?: SilenceSource; defaultExporters?: string[]; sendsResolved?: (id: string) => boolean; keepsEveryResolve?: (id: string) => boolean } = {}): AlertEngine {
  const config = configFor<AlertsConfig>(alertsProcessorFactory, raw);
  const compiled = compileConfig(config);
  if (compiled.issues.length) throw new Error(JSON.stringify(compiled.issues));
  return new AlertEngine({
    config,
    compiled,
    startedAt: opts.startedAt ?? 0,
    // the unit tests model a processor that has been running for ever, unless they say otherwise
    observedFrom: opts.observedFrom ?? -Infinity,
    keepsSilencedResolves: (id) => id.startsWith('file'),
    sendsResolved: opts.sendsResolved,
    keepsEveryResolve: opts.keepsEveryResolve ?? ((id) => id.startsWith('alertmanager')),
    defaultExporters: opts.defaultExporters ?? [],
    silences: opts.silences,
  });
}

/** Evaluates and commits; returns the notifications. */
export function tick(engine: AlertEngine, now: number) {
  const r = engine.evaluate(now);
  r.commit();
  return r.notifications;
}
