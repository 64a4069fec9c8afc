#!/usr/bin/env node
// Runs vigil from its TypeScript source in a checkout (through tsx), or from the compiled dist/ where the
// source or tsx is absent (the production image installs runtime dependencies only).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let cli;
if (existsSync(`${root}src/cli.ts`) && (await import('tsx/esm/api').then((m) => (m.register(), true), () => false))) {
  cli = await import('../src/cli.ts');
} else {
  cli = await import('../dist/src/cli.js');
}
const code = await cli.main(process.argv.slice(2));
process.exit(code);
