import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { parseOtlpJson } from '../../src/otlp/json.ts';
import { configFor, testSettings } from '../../test/helpers/index.ts';
import fs from 'node:fs';
import path from 'node:path';
import { debugExporterFactory } from './index.ts';
import type { Exporter } from '../../src/component.ts';

const trace = fs.readFileSync(path.join(import.meta.dirname, '../../test/fixtures/otlp-examples/trace.json'), 'utf8');

function run(verbosity: string) {
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
});
