/** Shared test doubles: a sink that records batches, settings for creating one component, config with defaults. */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import type { ComponentKind, Consumer, CreateSettings, Factory } from '../../src/component.ts';
import { NOOP_CONSUMER } from '../../src/component.ts';
import { validateComponentConfig } from '../../src/config/ajv.ts';
import { Writable } from 'node:stream';
import { createLogger, type Logger, silentLogger } from '../../src/logger.ts';
import type { Batch } from '../../src/model.ts';
import { countItems } from '../../src/model.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';

/** A consumer that records every batch it is given. Set `fail` to make it refuse with that error. */
export class SinkConsumer implements Consumer {
  batches: Batch[] = [];
  fail: Error | undefined;
  async consume(batch: Batch): Promise<void> {
    if (this.fail) throw this.fail;
    this.batches.push(batch);
  }
  get spans() {
    return this.batches.flatMap((b) => (b.resourceSpans ?? []).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
  }
  get metrics() {
    return this.batches.flatMap((b) => (b.resourceMetrics ?? []).flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)));
  }
  get logRecords() {
    return this.batches.flatMap((b) => (b.resourceLogs ?? []).flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)));
  }
  get alerts() {
    return this.batches.flatMap((b) => b.alerts ?? []);
  }
  itemCount(): number {
    return this.batches.reduce((n, b) => {
      const c = countItems(b);
      return n + c.traces + c.metrics + c.logs + c.alerts;
    }, 0);
  }
  /** Resolves once `pred()` holds (polling), or rejects after `timeoutMs`. */
  async waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    return waitFor(pred, timeoutMs);
  }
}

export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The text of `url` (a /metrics page) once every pattern matches it, polling; rejects after `timeoutMs`. For
 * counters an exporter updates when its target's answer reaches it, which can be after the target has the data.
 */
export async function metricsWhen(url: string, patterns: readonly RegExp[], timeoutMs = 10_000): Promise<string> {
  let text = '';
  await waitFor(
    async () => {
      text = await (await fetch(url)).text();
      return patterns.every((p) => p.test(text));
    },
    timeoutMs,
    `${url} to show ${patterns.map(String).join(', ')}`,
  );
  return text;
}

/** A fresh temporary directory, removed by the caller's afterEach if it likes. */
export function tempDir(prefix = 'vigil-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const sharedTelemetry = new ServiceTelemetry();

/** Settings for creating one component outside a service. */
export function testSettings(kind: ComponentKind, id: string, over: Partial<CreateSettings> = {}): CreateSettings {
  return {
    id,
    kind,
    logger: silentLogger(),
    telemetry: sharedTelemetry.forComponent(kind, id),
    stateDir: over.stateDir ?? tempDir(),
    emit: NOOP_CONSUMER,
    service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {}, telemetryEndpoint: 'localhost:8888' },
    ...over,
  };
}

/** A component config with the schema's defaults applied; throws with every issue if it is invalid. */
export function configFor<C>(factory: Factory<C>, raw: unknown = {}): C {
  const config = structuredClone(raw ?? {});
  const issues = validateComponentConfig(factory as Factory, config);
  if (issues.length) throw new Error(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return config as C;
}

/** A debug-level logger whose JSON lines are kept in `lines` (to check what is logged, and what is not). */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger('debug', sink as never), lines };
}

/**
 * Closes the keep-alive connections that undici's global dispatcher holds (a test's `request` and `fetch`; Node's
 * fetch shares that dispatcher) and puts a fresh one in its place. A server's graceful shutdown then has no idle
 * client connection to wait out: the intake serves requests on open connections for its drain grace (1 s,
 * src/otlp/intake.ts) before it closes them, which a test that starts a receiver per case paid each time.
 */
export async function closeClientConnections(): Promise<void> {
  const old = getGlobalDispatcher();
  setGlobalDispatcher(new Agent());
  await old.close();
}
