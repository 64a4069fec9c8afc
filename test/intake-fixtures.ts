/** The official OTLP/JSON examples in test/fixtures/otlp-examples, and the signal each one carries. */
import fs from 'node:fs';
import type { OtlpSignal } from '../src/otlp/json.ts';

export const FIXTURES_LIST: [string, OtlpSignal][] = [
  ['trace.json', 'traces'],
  ['metrics.json', 'metrics'],
  ['logs.json', 'logs'],
  ['events.json', 'logs'],
];

export const fixturePath = (name: string) => new URL(`./fixtures/otlp-examples/${name}`, import.meta.url);

export function readFixtureFile(name: string): unknown {
  return JSON.parse(fs.readFileSync(fixturePath(name), 'utf8'));
}
