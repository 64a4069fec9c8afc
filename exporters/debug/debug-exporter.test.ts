import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { parseOtlpJson } from '../../src/otlp/json.ts';
import { configFor, testSettings } from '../../test/helpers/index.ts';
import fs from 'node:fs';
import path from 'node:path';
import { debugExporterFactory } from './index.ts';
import type { Exporter } from '../../src/component.ts';
import { validateComponentConfig } from '../../src/config/ajv.ts';
import { DebugExporter } from './debug-exporter.ts';
import type { DebugConfig } from './config.ts';

const trace = fs.readFileSync(path.join(import.meta.dirname, '../../test/fixtures/otlp-examples/trace.json'), 'utf8');

/** A logger whose JSON lines are collected in `lines`. */
function lineSink() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(c: Buffer, _e, cb) {
        for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  );
  return { logger, lines };
}

/** A debug exporter of `verbosity` (sampling at its defaults) writing into `lines`. */
function run(verbosity: string) {
  const { logger, lines } = lineSink();
  const exp = debugExporterFactory.create(testSettings('exporter', 'debug', { logger }), configFor(debugExporterFactory, { verbosity })) as Exporter;
  return { exp, lines };
}

describe('debug exporter', () => {
  it('prints a line per span with its service, name and ids', async () => {
    const { exp, lines } = run('normal');
    await exp.consume(parseOtlpJson('traces', trace));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', message: 'span', service: 'my.service', name: 'I\'m a server span', traceId: '5b8efff798038103d269b633813fc60c' });
  });

  it('prints the whole request in OTLP/JSON when detailed', async () => {
    const { exp, lines } = run('detailed');
    await exp.consume(parseOtlpJson('traces', trace));
    expect(lines[0]!['message']).toBe('traces');
    expect(JSON.stringify(lines[0]!['resourceSpans'])).toContain('"spanId":"eee19b7ec3c1b174"');
  });

  it('prints counts per batch when basic', async () => {
    const { exp, lines } = run('basic');
    await exp.consume(parseOtlpJson('traces', trace));
    expect(lines[0]).toMatchObject({ message: 'batch', traces: 1, metrics: 0, logs: 0, alerts: 0 });
  });

  describe('sampling (the Collector\'s sampling_initial and sampling_thereafter)', () => {
    function sampled(config: Record<string, unknown>) {
      const { logger, lines } = lineSink();
      let ms = 5_000;
      const settings = testSettings('exporter', 'debug', { logger });
      const exp = new DebugExporter(configFor(debugExporterFactory, config) as DebugConfig, settings.logger, settings.telemetry, () => ms);
      return { exp, lines, advance: (by: number) => (ms += by) };
    }
    const batch = () => parseOtlpJson('traces', trace);

    it('prints every batch by default', async () => {
      const { exp, lines } = sampled({ verbosity: 'basic' });
      for (let i = 0; i < 25; i++) await exp.consume(batch());
      expect(lines.filter((l) => l['message'] === 'batch')).toHaveLength(25);
    });

    it('prints the first sampling_initial lines each second, then every sampling_thereafter-th, and starts again each second', async () => {
      const { exp, lines, advance } = sampled({ verbosity: 'basic', sampling_initial: 2, sampling_thereafter: 3 });
      for (let i = 0; i < 10; i++) await exp.consume(batch());
      // lines 1 and 2, then 5 and 8 (every 3rd after the first 2)
      expect(lines).toHaveLength(4);
      advance(400);
      await exp.consume(batch()); // the 11th of the same second: (11 - 2) % 3 === 0
      expect(lines).toHaveLength(5);
      await exp.consume(batch());
      expect(lines).toHaveLength(5);
      advance(1_000);
      await exp.consume(batch());
      await exp.consume(batch());
      expect(lines).toHaveLength(7);
    });

    it('opens a second at the first line after the last one closed, as zap does (not on a fixed grid)', async () => {
      const { exp, lines, advance } = sampled({ verbosity: 'basic', sampling_initial: 1, sampling_thereafter: 0 });
      advance(900);
      await exp.consume(batch()); // opens [5.9 s, 6.9 s)
      advance(200);
      await exp.consume(batch()); // 6.1 s: the same second
      expect(lines).toHaveLength(1);
      advance(800);
      await exp.consume(batch()); // 6.9 s: a new one
      expect(lines).toHaveLength(2);
    });

    it('prints none after the first lines of a second when sampling_thereafter is 0', async () => {
      const { exp, lines, advance } = sampled({ verbosity: 'basic', sampling_initial: 3, sampling_thereafter: 0 });
      for (let i = 0; i < 50; i++) await exp.consume(batch());
      expect(lines).toHaveLength(3);
      advance(1_000);
      await exp.consume(batch());
      expect(lines).toHaveLength(4);
    });

    it('samples each kind of line on its own (per span lines of verbosity normal)', async () => {
      const { exp, lines } = sampled({ verbosity: 'normal', sampling_initial: 1, sampling_thereafter: 0 });
      await exp.consume(batch());
      await exp.consume(parseOtlpJson('metrics', fs.readFileSync(path.join(import.meta.dirname, '../../test/fixtures/otlp-examples/metrics.json'), 'utf8')));
      await exp.consume(batch());
      expect(lines.map((l) => l['message'])).toEqual(['span', 'metric']);
    });

    it('refuses a negative or fractional setting, naming it', () => {
      const where = (config: Record<string, unknown>) => validateComponentConfig(debugExporterFactory, config).map((i) => i.path.join('.'));
      expect(where({ sampling_thereafter: -1 })).toEqual(['sampling_thereafter']);
      expect(where({ sampling_initial: 1.5 })).toEqual(['sampling_initial']);
      expect(where({ sampling_initial: 5, sampling_thereafter: 200 })).toEqual([]);
    });
  });
});
